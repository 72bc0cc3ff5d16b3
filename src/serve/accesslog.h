/* accesslog — one line per response: Combined Log Format, JSON, or $fields.
 *
 * conn_respond.c fills a struct accesslog_entry when a response is complete and
 * calls accesslog_write; the line is formatted into a per-process buffer and
 * written out once per loop iteration (accesslog_flush), never a write per
 * request. Each worker process has its own buffer and opens the file with
 * O_APPEND, and writes whole lines only, so workers' lines never interleave.
 */
#ifndef LINGERD_ACCESSLOG_H
#define LINGERD_ACCESSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config;
struct http1_request;

/* Longest line written; longer lines are cut (and still end in '\n'). */
#define ACCESSLOG_LINE_MAX 8192
/* Items (fields and literal runs) of a custom format. */
#define ACCESSLOG_ITEMS_MAX 64

/* What one response was. Slices of req index buf; req NULL when no request
 * head was parsed (a 400 for a malformed head, a 408 for a slow one). */
struct accesslog_entry {
    const char *buf;
    const struct http1_request *req;
    uint8_t peer_family;        /* 4 or 6 */
    uint8_t peer_addr[16];
    uint16_t peer_port;
    uint8_t balancer_family;    /* 4 or 6: the balancer that named the client; 0: none */
    uint8_t balancer_addr[16];
    uint64_t conn_id;
    uint32_t conn_requests;     /* this request's number on its connection */
    int status;
    uint64_t bytes_sent;        /* head and body, as queued */
    uint64_t body_bytes_sent;
    uint64_t request_length;    /* head and body bytes read */
    uint64_t duration_ms;       /* head's first byte to response complete */
    time_t wall_s;
    const char *close_reason;   /* NULL: the connection stays open */
    bool tls;                   /* https: the client speaks TLS to us */
    const char *tls_version;    /* "TLSv1.3"; NULL when not TLS or unknown */
    const char *tls_cipher;     /* OpenSSL's name of the cipher; NULL likewise */
    const char *sni;            /* the name the client asked for; NULL: none sent */
    int32_t site;               /* config.sites index: its access_log; -1: the main one */
    const char *upstream_addr;  /* proxied: the upstream that answered; NULL: not proxied */
    int upstream_status;        /* its status; 0: none came (502, 504) */
    uint64_t upstream_time_ms;  /* from the choice of upstream to its last byte */
};

/* A compiled format: literal runs and fields, in order. */
struct accesslog_format {
    bool json;
    size_t count;
    struct accesslog_item {
        uint8_t field;          /* enum accesslog_field; 0 = literal */
        uint16_t off, len;      /* literal: text[off .. off+len) */
    } items[ACCESSLOG_ITEMS_MAX];
    char text[1024];
};

/* Compile "combined", "json" or a format with $name / ${name} fields ("$$"
 * is a '$'). Pure. 0, or -1 with the reason in err (an unknown field names
 * it). */
int accesslog_format_compile(struct accesslog_format *f, const char *spec, char *err,
                             size_t errlen);

/* accesslog_format_compile, for the configuration's check of the directive. */
int accesslog_format_check(const char *spec, char *err, size_t errlen);

/* Format e as one line ending in '\n' into out[0..cap) (cap >= 2). Pure: no
 * clock, no I/O. Returns the length. */
size_t accesslog_format_line(const struct accesslog_format *f, const struct accesslog_entry *e,
                             char *out, size_t cap);

/* Open cfg's access_log (a path, "stderr" or "off") with its format, the
 * main level's and each site's (sites with the same path and format share
 * one file and buffer); a process calls it once before serving. Calling it
 * again keeps the files already open on the same paths (a worker may
 * inherit them from the master). 0 or -errno; the formats were checked
 * when the configuration was read. */
int accesslog_open(const struct config *cfg);

/* Reopen the same paths (SIGUSR1, after logrotate renamed the files): lines
 * buffered so far go to the old files first. 0, or the first -errno (that
 * file is then kept). */
int accesslog_reopen(void);

/* Write buffered lines out (once per loop iteration). */
void accesslog_flush(void);

/* Flush and close (at exit). */
void accesslog_close(void);

/* Is a line wanted? conn_respond.c checks before filling an entry. */
static inline bool accesslog_enabled(void)
{
    extern bool accesslog_on;
    return accesslog_on;
}

/* Buffer one line for e (flushing first if the buffer is full). */
void accesslog_write(const struct accesslog_entry *e);

#endif
