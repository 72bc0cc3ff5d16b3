/* upstream_internal — what upstream.c (the state machine, sending, the pool)
 * and upstream_read.c (reading the response) share; private to those two.
 */
#ifndef LINGERD_UPSTREAM_INTERNAL_H
#define LINGERD_UPSTREAM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http1.h"
#include "loop.h"
#include "proxy_response.h"
#include "upstream.h"

/* Reads per wake-up before yielding to other connections (fairness). */
#define UPSTREAM_READS_PER_WAKE 16

struct upstream {
    struct loop_watch watch;
    struct loop_timer timer;
    struct server *srv;
    struct upstream_peer *peer;
    const struct upstream_ops *ops;
    void *ctx;
    enum upstream_state state;
    bool reused;
    bool rd_ready, wr_ready, rd_eof;
    bool rd_hup;              /* the upstream's end was announced (no short-read rule) */
    bool send_ended;          /* upstream_send_end: no more request bytes */
    bool send_failed;         /* a write failed: the upstream stopped reading */
    bool send_compacted;      /* sent bytes were dropped: no replay */
    bool paused;              /* on_body asked to wait */
    bool got_bytes;           /* a response byte arrived */
    bool head_request;
    bool upgrade;             /* upstream_want_upgrade: a 101 is expected */
    int connect_err;          /* a connect that failed at once */
    bool run_soon;            /* the timer fires now to run the state (upstream_run_soon) */
    uint64_t since_ms, progress_ms;
    struct upstream *next;    /* pool, or the closed list */
    /* request bytes: out[out_sent .. out_len) wait to be sent */
    char *out;
    size_t out_len, out_sent, cap;
    /* a buffered request body: file_fd's [file_off .. file_len) waits to be
     * sent after out[] (upstream_send_file); file_fd is the user's */
    int file_fd;
    uint64_t file_off, file_len;
    /* response bytes: in[in_start .. in_len) are unread */
    char *in;
    size_t in_start, in_len;
    struct proxy_response_parser parser;
    struct proxy_response resp;
    enum proxy_body body;
    uint64_t body_left;
    struct http1_chunked chunked;
    struct http1_header *fields;
};

/* Every request byte queued so far went out (the buffer, then the file). */
static inline bool upstream_all_sent(const struct upstream *u)
{
    return u->out_sent == u->out_len && u->file_off == u->file_len;
}

/* ---- upstream.c ---- */

uint64_t upstream_now(const struct upstream *u);
/* Move to state to: since_ms, progress_ms, the state's deadline. */
void upstream_set_state(struct upstream *u, enum upstream_state to);
/* The exchange failed: close u, then tell its user (who no longer owns it). */
void upstream_fail(struct upstream *u, enum upstream_error err, const char *reason);
/* The response is complete: pool or close u, then tell its user. */
void upstream_finish(struct upstream *u);
/* Run the state after this iteration's dispatch (its timer fires now), so
 * that no callback reaches the user inside the user's own call. */
void upstream_run_soon(struct upstream *u);
/* Sending ends (all sent, or a write failed); the response is read next. */
void upstream_enter_read_head(struct upstream *u);

/* ---- upstream_read.c ---- */

/* Read into the receive buffer: > 0 bytes, 0 at the upstream's end,
 * -EAGAIN, -ENOBUFS (full), -errno. */
ssize_t upstream_fill(struct upstream *u);
/* Parse what arrived of the head (SEND or READ_HEAD). false: u failed or
 * moved on. */
bool upstream_parse_head(struct upstream *u);
/* Read and act until the socket is empty, the user pauses or u moves on. */
void upstream_read(struct upstream *u);

#endif
