/* proxy_protocol — see proxy_protocol.h. The specification is HAProxy's
 * doc/proxy-protocol.txt ("The PROXY protocol, Versions 1 & 2").
 *
 * Version 1 is one text line: "PROXY" SP ( "UNKNOWN" [anything] | "TCP4" SP
 * src4 SP dst4 SP sport SP dport | "TCP6" SP src6 SP dst6 SP sport SP dport )
 * CRLF, at most 107 bytes with the CRLF (§2.1). Read strictly: one space
 * between fields, addresses in their canonical text (inet_pton: dotted quad
 * without leading zeros for TCP4, RFC 4291 text for TCP6), ports in decimal
 * 0..65535 without a leading zero, no CR or LF before the CRLF.
 *
 * Version 2 is binary (§2.2): a 12-byte signature, then the version (2) and
 * command (LOCAL 0, PROXY 1) in one byte, the family (UNSPEC 0, INET 1,
 * INET6 2, UNIX 3) and transport (UNSPEC 0, STREAM 1, DGRAM 2) in the next,
 * and a 16-bit length of what follows: the addresses (12, 36 or 216 bytes),
 * then TLVs (type, 16-bit length, value). The length is checked against
 * max_bytes before anything is waited for, so a header can never make the
 * caller buffer more than it allows; every TLV must end inside the header.
 *
 * Invariant: the parser reads buf only below len and below the header's own
 * length; a header is refused as soon as its bytes show it cannot be valid.
 */
#include "proxy_protocol.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdbool.h>
#include <string.h>

static const uint8_t proxy_v1_prefix[] = "PROXY ";
#define PROXY_V1_PREFIX_BYTES (sizeof proxy_v1_prefix - 1)
static const uint8_t proxy_v2_signature[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* Version 2's address block per family (§2.2: struct proxy_addr). */
enum proxy_v2_family {
    PROXY_V2_AF_UNSPEC,
    PROXY_V2_AF_INET,
    PROXY_V2_AF_INET6,
    PROXY_V2_AF_UNIX,
};
static const uint16_t proxy_v2_addr_bytes[] = {
    [PROXY_V2_AF_UNSPEC] = 0,
    [PROXY_V2_AF_INET] = 12,
    [PROXY_V2_AF_INET6] = 36,
    [PROXY_V2_AF_UNIX] = PROXY_V2_UNIX_BYTES,
};
#define PROXY_V2_TRANSPORT_STREAM 1
#define PROXY_V2_TRANSPORT_MAX 2

static const char *const proxy_command_names[] = {
    [PROXY_CMD_LOCAL] = "LOCAL",
    [PROXY_CMD_PROXY] = "PROXY",
};
static_assert(sizeof proxy_command_names / sizeof proxy_command_names[0] == PROXY_CMD_PROXY + 1,
              "a name for every command");

const char *proxy_command_name(enum proxy_command c)
{
    return (unsigned)c <= PROXY_CMD_PROXY ? proxy_command_names[c] : "?";
}

static enum proxy_rc proxy_refuse(struct proxy_header *out, enum proxy_fault fault,
                                  const char *reason)
{
    out->fault = (uint8_t)fault;
    out->reason = reason;
    return PROXY_INVALID;
}

/* "0".."65535", no sign, no leading zero. */
static bool proxy_v1_port(const uint8_t *s, size_t n, uint16_t *port)
{
    if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

static bool proxy_v1_addr(const uint8_t *s, size_t n, int family, uint8_t addr[16])
{
    char text[INET6_ADDRSTRLEN];
    if (n == 0 || n >= sizeof text)
        return false;
    memcpy(text, s, n);
    text[n] = '\0';
    return inet_pton(family, text, addr) == 1;
}

/* The fields of a TCP4/TCP6 line, line[0..n) after "TCPx ": four fields,
 * each followed by exactly one space but the last. */
static enum proxy_rc proxy_v1_tcp(const uint8_t *line, size_t n, int family,
                                  struct proxy_header *out)
{
    const uint8_t *field[4];
    size_t field_len[4];
    size_t start = 0, count = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && line[i] != ' ')
            continue;
        if (count == 4)
            return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v1: more than four fields");
        field[count] = line + start;
        field_len[count] = i - start;
        count++;
        start = i + 1;
    }
    if (count != 4)
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v1: fewer than four fields");
    if (!proxy_v1_addr(field[0], field_len[0], family, out->src_addr))
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v1: bad source address");
    if (!proxy_v1_addr(field[1], field_len[1], family, out->dst_addr))
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v1: bad destination address");
    if (!proxy_v1_port(field[2], field_len[2], &out->src_port))
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v1: bad source port");
    if (!proxy_v1_port(field[3], field_len[3], &out->dst_port))
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v1: bad destination port");
    out->command = PROXY_CMD_PROXY;
    out->family = family == AF_INET ? 4 : 6;
    return PROXY_DONE;
}

static enum proxy_rc proxy_v1(const uint8_t *buf, size_t len, struct proxy_header *out)
{
    size_t cr = 0;
    for (size_t i = PROXY_V1_PREFIX_BYTES; i < len && i < PROXY_V1_MAX_BYTES; i++) {
        if (buf[i] == '\n')
            return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v1: LF without CR");
        if (buf[i] == '\r') {
            cr = i;
            break;
        }
    }
    if (cr == 0) {
        if (len >= PROXY_V1_MAX_BYTES)
            return proxy_refuse(out, PROXY_FAULT_OVERSIZED, "v1: no CRLF within 107 bytes");
        return PROXY_NEED_MORE;
    }
    if (cr + 1 >= PROXY_V1_MAX_BYTES)
        return proxy_refuse(out, PROXY_FAULT_OVERSIZED, "v1: no CRLF within 107 bytes");
    if (cr + 1 == len)
        return PROXY_NEED_MORE;
    if (buf[cr + 1] != '\n')
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v1: CR without LF");
    out->version = 1;
    out->length = (uint32_t)(cr + 2);

    const uint8_t *line = buf + PROXY_V1_PREFIX_BYTES;
    size_t n = cr - PROXY_V1_PREFIX_BYTES;
    /* UNKNOWN: the balancer could not tell; what follows is to be ignored
     * (§2.1), and the socket's own addresses stand. */
    if (n >= 7 && memcmp(line, "UNKNOWN", 7) == 0 && (n == 7 || line[7] == ' ')) {
        out->command = PROXY_CMD_LOCAL;
        out->family = 0;
        return PROXY_DONE;
    }
    if (n >= 5 && memcmp(line, "TCP4 ", 5) == 0)
        return proxy_v1_tcp(line + 5, n - 5, AF_INET, out);
    if (n >= 5 && memcmp(line, "TCP6 ", 5) == 0)
        return proxy_v1_tcp(line + 5, n - 5, AF_INET6, out);
    return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v1: protocol is not TCP4, TCP6 or UNKNOWN");
}

/* TLVs in tlv[0..n): each must end inside the header. Their values are not
 * used: skipping them is all the specification asks of a receiver that
 * does not know them (§2.2.7). */
static bool proxy_v2_tlvs_fit(const uint8_t *tlv, size_t n)
{
    size_t at = 0;
    while (at < n) {
        if (n - at < 3)
            return false;
        size_t value = (size_t)tlv[at + 1] << 8 | tlv[at + 2];
        if (value > n - at - 3)
            return false;
        at += 3 + value;
    }
    return true;
}

static enum proxy_rc proxy_v2(const uint8_t *buf, size_t len, size_t max_bytes,
                              struct proxy_header *out)
{
    if (len < PROXY_V2_FIXED_BYTES)
        return PROXY_NEED_MORE;
    unsigned version = buf[12] >> 4, command = buf[12] & 0x0f;
    unsigned family = buf[13] >> 4, transport = buf[13] & 0x0f;
    size_t body = (size_t)buf[14] << 8 | buf[15];
    if (version != 2)
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v2: version is not 2");
    if (command > PROXY_CMD_PROXY)
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v2: command is not LOCAL or PROXY");
    if (PROXY_V2_FIXED_BYTES + body > max_bytes)
        return proxy_refuse(out, PROXY_FAULT_OVERSIZED, "v2: length past proxy_protocol_max_bytes");
    if (len < PROXY_V2_FIXED_BYTES + body)
        return PROXY_NEED_MORE;
    out->version = 2;
    out->length = (uint32_t)(PROXY_V2_FIXED_BYTES + body);
    out->command = PROXY_CMD_LOCAL;
    out->family = 0;
    /* LOCAL: the balancer speaks for itself; the block is discarded,
     * family included (§2.2). */
    if (command == PROXY_CMD_LOCAL)
        return PROXY_DONE;
    if (family > PROXY_V2_AF_UNIX || transport > PROXY_V2_TRANSPORT_MAX)
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v2: unknown family or transport");
    if (family == PROXY_V2_AF_UNSPEC)
        return PROXY_DONE; /* relayed, but from where is not said */
    if (transport != PROXY_V2_TRANSPORT_STREAM)
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v2: not a stream (TCP) connection");
    size_t addr = proxy_v2_addr_bytes[family];
    if (body < addr)
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v2: length shorter than the addresses");
    const uint8_t *a = buf + PROXY_V2_FIXED_BYTES;
    if (!proxy_v2_tlvs_fit(a + addr, body - addr))
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "v2: a TLV runs past the header");
    if (family == PROXY_V2_AF_UNIX) {
        out->family = 1; /* no IP address to carry: the socket's stands */
        return PROXY_DONE;
    }
    size_t n = family == PROXY_V2_AF_INET ? 4 : 16;
    memcpy(out->src_addr, a, n);
    memcpy(out->dst_addr, a + n, n);
    out->src_port = (uint16_t)(a[2 * n] << 8 | a[2 * n + 1]);
    out->dst_port = (uint16_t)(a[2 * n + 2] << 8 | a[2 * n + 3]);
    out->command = PROXY_CMD_PROXY;
    out->family = family == PROXY_V2_AF_INET ? 4 : 6;
    return PROXY_DONE;
}

enum proxy_rc proxy_protocol_parse(const uint8_t *buf, size_t len, size_t max_bytes,
                                   struct proxy_header *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return PROXY_NEED_MORE;
    if (buf[0] == proxy_v1_prefix[0]) {
        size_t n = len < PROXY_V1_PREFIX_BYTES ? len : PROXY_V1_PREFIX_BYTES;
        if (memcmp(buf, proxy_v1_prefix, n) != 0)
            return proxy_refuse(out, PROXY_FAULT_MALFORMED, "not a PROXY header");
        return n < PROXY_V1_PREFIX_BYTES ? PROXY_NEED_MORE : proxy_v1(buf, len, out);
    }
    size_t n = len < sizeof proxy_v2_signature ? len : sizeof proxy_v2_signature;
    if (memcmp(buf, proxy_v2_signature, n) != 0)
        return proxy_refuse(out, PROXY_FAULT_MALFORMED, "not a PROXY header");
    return proxy_v2(buf, len, max_bytes, out);
}
