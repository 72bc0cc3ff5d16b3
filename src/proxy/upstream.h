/* upstream — one outgoing HTTP/1.1 connection to an application server, and
 * the per-worker pool of idle ones.
 *
 * The connection is a small state machine driven by the worker's loop and
 * deadlines, like a client connection (conn.c):
 *
 *   state       waits for                          deadline
 *   CONNECT     the TCP or unix connect            proxy_connect_timeout
 *   SEND        room to send the request head and  proxy_send_timeout while bytes
 *               body; reads too: an early answer   wait (else the client's
 *               stops the sending                  body_timeout bounds the wait)
 *   READ_HEAD   the response head                  proxy_read_timeout
 *   READ_BODY   response body bytes                proxy_read_timeout (paused:
 *                                                  the client's send_timeout)
 *   IDLE        in the pool, for the next request  proxy_keepalive_timeout
 *   CLOSED      nothing: freed after this loop iteration
 *
 *   CONNECT -> SEND -> READ_HEAD -> READ_BODY -> IDLE -> SEND (reused) ...
 *   SEND -> READ_BODY directly when the head arrives before the request ends;
 *   any state -> CLOSED.
 *
 * A failed write of the request (EPIPE, ECONNRESET) means "the upstream
 * stopped reading", not "the upstream failed": the sending stops and the
 * response is read all the same; what the kernel received before a reset is
 * still readable. Only when no response byte can be read does the exchange
 * fail (on_error), and then it says whether a retry is safe: the connection
 * was reused from the pool and no response byte arrived.
 *
 * The user of a connection (proxy.c's exchange) supplies request bytes with
 * upstream_send and gets the response through struct upstream_ops. Buffers
 * are the connection's: a send buffer of proxy_buffer_bytes and a receive
 * buffer of the same size (at least proxy_header_max_bytes).
 */
#ifndef LINGERD_UPSTREAM_H
#define LINGERD_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy_addr.h"
#include "proxy_response.h"
#include "stats.h"

struct server;
struct upstream;

enum upstream_state {
    UPSTREAM_CONNECT,
    UPSTREAM_SEND,
    UPSTREAM_READ_HEAD,
    UPSTREAM_READ_BODY,
    UPSTREAM_IDLE,
    UPSTREAM_CLOSED,
    UPSTREAM_STATE_COUNT
};

/* One configured upstream address, with its pool and counters. Owned by
 * proxy.c's per-worker table. */
struct upstream_peer {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char name[PROXY_ADDR_NAME_MAX]; /* as written, or "name(numeric)" (proxy_addr.h) */
    struct upstream *idle;   /* the pool: idle connections, most recent first */
    uint32_t idle_count;
    /* passive health: failures in a row, and until when it is skipped */
    uint32_t fails;
    uint64_t down_until_ms;
    /* for /metrics: this worker's counters, in its shared stats row (summed
     * over the workers there), or in spare when past STATS_UPSTREAMS_MAX */
    struct stats_upstream *st;
    struct stats_upstream spare;
};

/* Why an exchange failed; the status the client gets. */
enum upstream_error {
    UPSTREAM_ERR_CONNECT,     /* refused, unreachable: 502 */
    UPSTREAM_ERR_RESET,       /* closed or reset before a whole head: 502 */
    UPSTREAM_ERR_BAD_HEAD,    /* a malformed or ambiguous head: 502 */
    UPSTREAM_ERR_BAD_BODY,    /* bad chunked framing, or cut short: 502 if no byte went out */
    UPSTREAM_ERR_TIMEOUT,     /* connect, send or read timeout: 504 */
    UPSTREAM_ERR_COUNT
};

const char *upstream_error_name(enum upstream_error e);

struct upstream_ops {
    /* The send buffer has room again (request body back-pressure). */
    void (*on_send_room)(void *ctx);
    /* The upstream answered 100 Continue: it wants the body. */
    void (*on_continue)(void *ctx);
    /* The response head; r's slices are into buf, valid during the call.
     * early: the request was not wholly sent (the rest will not be). */
    void (*on_head)(void *ctx, const struct proxy_response *r, const char *buf, bool early);
    /* Response body bytes (chunked framing already removed). Return false to
     * pause reading (upstream_resume restarts it). */
    bool (*on_body)(void *ctx, const char *data, size_t len);
    /* Bytes of a chunked response's trailer field lines ("Name: value\r\n",
     * checked), in pieces as they arrive, before on_end. Return false to fail
     * the exchange (no memory for them). */
    bool (*on_trailer)(void *ctx, const char *data, size_t len);
    /* The response body is complete; the connection went back to the pool or
     * closed and is no longer the exchange's. */
    void (*on_end)(void *ctx);
    /* The exchange failed; the connection is closed and no longer the
     * exchange's. retry_safe: reused and no response byte arrived. reason is
     * static text for the error log. */
    void (*on_error)(void *ctx, enum upstream_error err, const char *reason, bool retry_safe);
};

/* How upstream_open may use the pool. */
enum upstream_reuse {
    UPSTREAM_FRESH,       /* a new connection (a retry) */
    UPSTREAM_REUSE,       /* an idle one checked open (a peek) before reuse */
    UPSTREAM_REUSE_FAST,  /* an idle one without the check: for a request the
                           * retry rule sends again on a fresh connection if
                           * the idle one turns out closed (docs/proxy.md) */
};

/* A connection to peer for one exchange: an idle pooled one (see how), else
 * a new connect. NULL with errno if no socket could be made (the caller
 * answers 502). head_request: the response has no body. Nothing is called
 * back before upstream_kick. */
struct upstream *upstream_open(struct server *srv, struct upstream_peer *peer,
                               const struct upstream_ops *ops, void *ctx, bool head_request,
                               enum upstream_reuse how);
/* Start (after the first bytes are queued): callbacks may come at once. */
void upstream_kick(struct upstream *u);

/* Queue request bytes (copied); false if they do not fit (see
 * upstream_send_room). Sending starts at once if it can. */
bool upstream_send(struct upstream *u, const void *data, size_t len);
/* Bytes the send buffer takes now; 0: wait for on_send_room. */
size_t upstream_send_room(struct upstream *u);
/* Where the next request bytes go: *room bytes at the result, to be written
 * by the caller and queued with upstream_send_commit (no copy). */
char *upstream_send_space(struct upstream *u, size_t *room);
/* Queue the len bytes written at upstream_send_space; unlike upstream_send,
 * nothing is sent before the next upstream_send, upstream_send_end or
 * upstream_kick, so a head and the body after it go out in one write. */
void upstream_send_commit(struct upstream *u, size_t len);
/* After the bytes queued (the head), send len bytes of the file fd from its
 * start (sendfile); fd stays the caller's and open until the exchange ends.
 * Then upstream_send_end. */
void upstream_send_file(struct upstream *u, int fd, uint64_t len);
/* The request is wholly queued: after it is sent, read the response. */
void upstream_send_end(struct upstream *u);
/* Whether every request byte queued so far is still in the buffer from the
 * first (the request could be sent again on another connection). */
bool upstream_is_replayable(const struct upstream *u);
/* Whether the whole request went out (ended, every byte written). */
bool upstream_request_sent(const struct upstream *u);
/* Copy the request queued so far (head and body) into another connection. */
bool upstream_replay_into(const struct upstream *from, struct upstream *to);

/* The request asks to switch protocols (Upgrade): a 101 answer is given to
 * on_head (not refused as unasked), after which the user takes the socket
 * with upstream_detach. */
void upstream_want_upgrade(struct upstream *u);
/* After a 101: take the socket (still open, no longer watched or timed) and
 * the bytes that came after the 101's head (*pending, valid until the loop
 * iteration ends). u is closed and no longer the user's. */
int upstream_detach(struct upstream *u, const char **pending, size_t *pending_len);

/* Read the response body again after on_body returned false. */
void upstream_resume(struct upstream *u);

/* The exchange gives the connection up before its end: close it. */
void upstream_abort(struct upstream *u);

/* Free connections closed during this loop iteration (after dispatch). */
void upstream_free_closed(struct server *srv);
/* Close every pooled connection of peer (worker shutdown). */
void upstream_peer_close_idle(struct upstream_peer *peer);

#endif
