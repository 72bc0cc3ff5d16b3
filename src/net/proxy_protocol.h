/* proxy_protocol — read the PROXY protocol header (HAProxy's specification,
 * versions 1 and 2) that a load balancer puts before a connection's first
 * byte to say which client it carries. Pure: no I/O, no allocation, no
 * clock; the connection (conn.c) peeks at the socket and asks this module
 * how long the header is before it takes exactly those bytes.
 *
 * Not here: who may send a header (the trusted source list, conn.c and
 * server.c), the CRC32C and SSL TLVs of version 2 (skipped, never trusted:
 * lingerd's own TLS carries the TLS facts it logs).
 */
#ifndef LINGERD_PROXY_PROTOCOL_H
#define LINGERD_PROXY_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

/* Version 1's longest line, CRLF included (the specification's bound). */
#define PROXY_V1_MAX_BYTES 107
/* Version 2's fixed part: signature, version and command, family, length. */
#define PROXY_V2_FIXED_BYTES 16
/* Version 2's address block for AF_UNIX: two 108-byte paths. */
#define PROXY_V2_UNIX_BYTES 216

enum proxy_rc {
    PROXY_NEED_MORE, /* a valid beginning: call again with more bytes */
    PROXY_DONE,      /* a whole header: see struct proxy_header */
    PROXY_INVALID,   /* not a header, or a broken one: cut the connection */
};

/* What a complete header says. */
enum proxy_command {
    PROXY_CMD_LOCAL, /* the balancer's own connection (a health check), or v1
                      * UNKNOWN, or v2 UNSPEC/AF_UNIX: keep the socket's addresses */
    PROXY_CMD_PROXY, /* relayed for the client at src */
};

/* Why a header was refused (counted apart on the status page). */
enum proxy_fault {
    PROXY_FAULT_MALFORMED, /* a field that breaks the syntax */
    PROXY_FAULT_OVERSIZED, /* longer than 107 bytes (v1) or than max_bytes (v2) */
};

struct proxy_header {
    uint32_t length;         /* bytes of the header: the stream's own bytes follow */
    uint8_t version;         /* 1 or 2 */
    uint8_t command;         /* enum proxy_command */
    uint8_t family;          /* PROXY: 4 or 6; LOCAL: 0, or 1 for AF_UNIX (v2) */
    uint16_t src_port, dst_port;
    uint8_t src_addr[16];    /* network order; 4 or 16 bytes used */
    uint8_t dst_addr[16];
    uint8_t fault;           /* enum proxy_fault, when PROXY_INVALID */
    const char *reason;      /* PROXY_INVALID: a short static reason for the log */
};

/* Parse buf[0..len), the first bytes of a connection. max_bytes bounds a v2
 * header (16 + its length field; at least 16 + PROXY_V2_UNIX_BYTES); v1 is
 * bounded by PROXY_V1_MAX_BYTES. Never reads past len, nor past the header.
 * PROXY_NEED_MORE: what is there can still begin a header (bytes that cannot
 * are refused at once, so a client speaking HTTP is not left waiting). */
enum proxy_rc proxy_protocol_parse(const uint8_t *buf, size_t len, size_t max_bytes,
                                   struct proxy_header *out);

const char *proxy_command_name(enum proxy_command c);

#endif
