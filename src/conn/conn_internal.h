/* conn_internal — what the pieces of the connection share; private to conn*.c.
 *
 * The connection is one state machine split by concern: conn.c (the
 * lifecycle: states, deadlines, dispatch; read it first), conn_head.c (a
 * request head read, the protocol chosen, the request started), conn_buf.c
 * (the work area and its buffers), conn_respond.c (response heads and bodies),
 * conn_body.c (request bodies), conn_close.c (the close path), conn_proxy.c
 * (the PROXY header) and conn_addr.c (the client's address). They share
 * struct conn and struct conn_work, defined here so that no other module
 * sees their fields, and the functions below. Nothing outside conn*.c
 * includes this header: handlers use conn.h.
 */
#ifndef LINGERD_CONN_INTERNAL_H
#define LINGERD_CONN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "conn.h"
#include "http1.h"
#include "loop.h"
#include "outq.h"
#include "server.h"
#include "transport.h"

/* Bytes per call when discarding a body or lingering (nothing is copied over TCP). */
#define CONN_DISCARD_CHUNK (1u << 20)
/* Reads per wake-up in one state before yielding (fairness). */
#define CONN_READS_PER_WAKE 16
/* Body bytes one connection takes per wake-up before yielding: four
 * uploads at 16 reads of a full body buffer each held the loop for
 * milliseconds between two answers to anyone else (bench/upload_stall.sh). */
#define CONN_BODY_BYTES_PER_WAKE (512 * 1024)
/* Output queued for a deferred response before its handler waits for room
 * (conn_resp_has_room): a slow client never makes the proxy buffer more. */
#define CONN_DEFERRED_ROOM_BYTES (64 * 1024)
/* Room a response needs in the output queue: head, body and file span. */
#define CONN_SEGS_PER_RESPONSE 3

struct conn_work {
    struct conn_work *next_free;
    /* input: unconsumed bytes are in[in_start .. in_len) */
    char *in;
    uint32_t in_cap;
    uint32_t in_start;
    uint32_t in_len;
    bool in_is_large; /* in was malloc'ed past the standard size */
    uint32_t head_start;
    uint32_t head_end;  /* in[head_start .. head_end) is the current head */
    struct http1_parser parser;
    struct http1_request req;
    uint8_t real_family;    /* 4 or 6: real_ip_header named the client; 0: not */
    uint8_t real_addr[16];
    /* the request being answered */
    bool in_request;
    /* for the access log line of the response being answered */
    bool log_pending;       /* a response began and its line is not written */
    bool log_has_head;      /* req holds a parsed head (not a 400 or 408) */
    int log_status;
    uint32_t log_head_bytes; /* the request head's length */
    uint64_t log_start_ms;  /* the head's first byte, about */
    size_t log_mark;        /* out.pending when the response head began */
    uint64_t log_bytes;     /* response head and body queued */
    uint64_t log_body_bytes;
    const char *log_upstream_addr; /* conn_note_upstream; NULL: not proxied */
    int log_upstream_status;
    uint64_t log_upstream_ms;
    bool head_only;
    bool responded;
    bool discard_after; /* the body is to be read and thrown away */
    enum config_linger lingering_close;
    const struct config_location *loc; /* routed to; NULL before (a 400) */
    uint64_t body_left;
    uint64_t body_bytes;
    /* body_min_rate's clock: when the body began to be read (0: not yet),
     * moved on by the time it waited for the server (WAIT_IO, or paused by
     * its handler), so neither a resume restarts it nor the server's own
     * wait counts against the client. */
    uint64_t body_clock_ms;
    uint64_t body_max;
    enum http1_framing body_framing;
    bool body_no_splice;   /* the sink said CONN_SPLICE_NEVER for this body */
    bool body_done;
    struct http1_chunked chunked;
    const struct conn_body_sink *sink;
    void *sink_ctx;
    /* while WAIT_IO after on_end: told if the connection closes first */
    void (*io_cancel)(struct conn *c, void *ctx);
    void *io_ctx;
    bool body_paused;           /* conn_body_pause: the sink cannot take more now */
    uint64_t body_paused_ms;    /* when it paused (moves body_clock_ms on resuming) */
    /* a response its handler queues later (conn_defer) */
    const struct conn_deferred *deferred;
    void *deferred_ctx;
    bool deferred_done;         /* conn_resp_done was called */
    bool room_wanted;           /* conn_resp_has_room said no: call on_room */
    bool log_body_streamed;     /* the body's length was not in the head: count it */
    struct outq out;
    struct http1_header fields[]; /* header_fields_max entries */
};

struct conn {
    struct loop_watch watch;
    struct transport tp;      /* every read, write and close of the socket */
    struct loop_timer timer;
    struct server *srv;
    struct conn_work *w;      /* NULL while IDLE, LINGER, CLOSED */
    uint64_t id;
    uint64_t since_ms;        /* entry into the current state */
    uint64_t progress_ms;     /* last read or write that moved bytes */
    uint64_t linger_bytes;
    uint64_t linger_total_ms; /* lingering_time, or idle_close_linger */
    struct conn *prev;        /* linger list, or the closed list (next only) */
    struct conn *next;
    struct conn *all_prev;    /* every open connection of the server */
    struct conn *all_next;    /* kept when unlinked, so a walk survives closes */
    struct conn *ready_next;  /* the server's list of connections to resume */
    bool ready;               /* on that list */
    uint32_t requests;
    uint8_t state;            /* enum conn_state */
    uint8_t close_why;        /* enum conn_close_reason */
    bool keep_alive;          /* the current response keeps the connection */
    bool peer_eof;            /* the client's FIN was read */
    uint8_t linger_step;      /* enum conn_linger_step, while LINGER */
    bool ever_read;           /* any byte of the current head arrived */
    bool rd_ready;            /* the socket may hold unread bytes (see conn_fill) */
    bool rd_hup;              /* the client's FIN (or an error) is queued */
    uint8_t linger_mode;      /* enum config_linger for this close */
    uint16_t peer_port;       /* the client: the socket's peer, or a PROXY header's */
    uint8_t peer_family;
    uint8_t peer_addr[16];
    uint8_t via_family;       /* 4 or 6: the balancer whose PROXY header named the
                               * client (the socket's peer); 0: none */
    uint16_t via_port;
    uint8_t via_addr[16];
    struct conn_tunnel *tunnel; /* after a 101 (conn_tunnel.c); freed with c */
    struct http2_session *h2;   /* CONN_H2: the session this connection carries */
    struct http2_stream *h2s;   /* CONN_H2_STREAM: the stream this object presents */
    bool was_h2;                /* spoke HTTP/2: the client may send frames at any time */
    bool proto_chosen;          /* HTTP/1.1 or HTTP/2 is decided for this connection */
};

/* LINGER's steps, in this order; each but DRAIN may wait for the socket. */
enum conn_linger_step {
    CONN_LINGER_FLUSH, /* sending the queued response bytes (send_timeout) */
    CONN_LINGER_SHUT,  /* ending our stream: TCP's FIN at once; TLS's
                        * close_notify may wait for room (send_timeout) */
    CONN_LINGER_DRAIN, /* half-closed: discarding until the client's FIN
                        * (lingering_timeout, lingering_time) */
};

static inline const struct config *conn_cfg(const struct conn *c)
{
    return c->srv->cfg;
}

/* A new request: no deferred response, no paused body, no upstream noted. */
static inline void conn_work_clear_deferred(struct conn_work *w)
{
    w->body_paused = false;
    w->deferred = NULL;
    w->deferred_done = false;
    w->room_wanted = false;
    w->log_body_streamed = false;
    w->log_upstream_addr = NULL;
}

/* ---- conn.c: the lifecycle ---- */

/* Move to state to (conn_may_move must allow it): stats, since_ms, deadline. */
void conn_set_state(struct conn *c, enum conn_state to);
/* Arm the current state's deadline (after since_ms or progress_ms moved). */
void conn_arm_deadline(struct conn *c);
/* On a timer: true if the state's deadline has passed, else re-arm it. */
bool conn_deadline_passed(struct conn *c);
/* Stop with work left; the server resumes the connection after dispatch. */
void conn_yield(struct conn *c);
/* Take the connection off the server's resume list. */
void conn_unready(struct conn *c);
/* The current response is queued and its body settled: next request,
 * idle wait or close. */
void conn_request_done(struct conn *c);

/* ---- conn_addr.c: the client's address ---- */

/* The socket's peer, as accept gave it: the client until a balancer names
 * another. */
void conn_store_peer(struct conn *c, const struct sockaddr *peer, socklen_t len);

/* ---- conn_head.c: READ_HEAD ---- */

/* The READ_HEAD state's handler: read and parse heads, choose HTTP/2 on
 * the first bytes, dispatch each request (pipelined ones in turn). */
void conn_on_read_head(struct conn *c, bool timeout);

/* ---- conn_proxy.c: the PROXY protocol header ---- */

/* The PROXY_HEADER state's handler. */
void conn_on_proxy_header(struct conn *c, bool timeout);

/* ---- conn_buf.c: the work area, reading and sending ---- */

/* Take a work area from the pool (no-op if held). false: out of memory. */
bool conn_take_work(struct conn *c);
/* Log any pending response, abort any sink, give the work area back. */
void conn_drop_work(struct conn *c);
/* Give the read buffer cap bytes (a larger one of its own), or back the
 * standard one when cap is no larger; unconsumed bytes move along. false:
 * out of memory, a request in progress, or the bytes would not fit
 * (nothing changed). For a protocol between requests (HTTP/2). */
bool conn_input_resize(struct conn *c, uint32_t cap);
/* Read what the transport has into the buffer. Returns bytes read (> 0), 0
 * at the client's end of stream, -EAGAIN, -ENOBUFS (buffer full), or -errno. */
ssize_t conn_fill(struct conn *c);
/* Send what the transport takes. 0 when all is out, -EAGAIN, or -errno.
 * fin_follows: only the close path (see outq_flush). */
int conn_send_queued(struct conn *c, bool fin_follows);

/* The helpers below run for every request: inline, since they are called
 * across the files of the connection. */

static inline int conn_flush(struct conn *c)
{
    return conn_send_queued(c, false);
}

/* No room in the output queue for one more response. */
static inline bool conn_output_full(const struct conn *c)
{
    const struct outq *q = &c->w->out;
    return q->pending >= conn_cfg(c)->pipeline_max_bytes ||
           q->count + CONN_SEGS_PER_RESPONSE > OUTQ_SEGS_MAX;
}

/* ---- conn_respond.c: responses ---- */

/* Queue bytes; out of memory ends the connection after this response. */
void conn_out(struct conn *c, const void *data, size_t len);
/* Write the access-log line of the response just completed, if pending. */
void conn_log_access(struct conn *c);
/* Decide what becomes of a body the response did not wait for. */
void conn_settle_unread_body(struct conn *c);
/* The connection ends before a deferred response is done: tell its handler
 * (on_abort) and forget it. A response already begun cannot be completed:
 * the connection closes after what was queued. */
void conn_cancel_deferred(struct conn *c);
/* Call on_room if the handler waits for room and there is some. */
void conn_offer_room(struct conn *c);

/* ---- conn_body.c: request bodies ---- */

/* The sink of a body read only to be thrown away. */
extern const struct conn_body_sink conn_discard_sink;
/* The READ_BODY state's handler. */
void conn_on_read_body(struct conn *c, bool timeout);
/* The WAIT_IO state's handler: only its deadline, or a reset socket. */
void conn_on_wait_io(struct conn *c, bool timeout);
/* Tell the handler waiting in WAIT_IO, if any, that the connection closes. */
static inline void conn_cancel_io(struct conn *c)
{
    struct conn_work *w = c->w;
    if (w && w->io_cancel) {
        void (*cancel)(struct conn *, void *) = w->io_cancel;
        w->io_cancel = NULL;
        cancel(c, w->io_ctx);
    }
}
/* The AWAIT state's handler. */
void conn_on_await(struct conn *c, bool timeout);
/* Tell the handler's sink, if any, that its body will not complete. */
static inline void conn_abort_sink(struct conn *c)
{
    struct conn_work *w = c->w;
    if (w && w->sink) {
        const struct conn_body_sink *sink = w->sink;
        w->sink = NULL;
        if (sink->on_abort)
            sink->on_abort(c, w->sink_ctx);
    }
}

/* ---- conn_tunnel.c: the TUNNEL state ---- */

/* The TUNNEL state's handler. */
void conn_on_tunnel(struct conn *c, bool timeout);
/* The 101 head is out and bytes flow (deadline: proxy_tunnel_timeout). */
bool conn_tunnel_started(const struct conn *c);
/* During a drain: when an open tunnel is ended (proxy_tunnel_drain_timeout
 * after the drain began). */
uint64_t conn_tunnel_drain_deadline(const struct conn *c);
/* The connection closes: close the tunnel's upstream socket, if any. */
void conn_tunnel_end(struct conn *c);
/* Free the tunnel's record (when c itself is freed). */
void conn_tunnel_free(struct conn *c);

/* ---- conn_close.c: the close path ---- */

/* Enter LINGER: every close the client did not start comes through here. */
void conn_start_close(struct conn *c, enum conn_close_reason why);
/* The LINGER state's handler. */
void conn_on_linger(struct conn *c, bool timeout);
/* The client closed or reset first: close without lingering. */
void conn_peer_gone(struct conn *c, bool reset);
/* Close now and count the close's outcome. */
void conn_finish(struct conn *c, enum stats_outcome outcome);

#endif
