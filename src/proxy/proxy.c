/* proxy — one proxied request (an exchange): choose an upstream, send it the
 * rewritten request head and the body, relay its answer to the client.
 *
 * The request head (proxy_head.c): the client's, hop-by-hop fields removed
 * and the forwarding fields set again, written straight into the upstream
 * connection's send buffer. A body goes with its Content-Length, or chunked
 * as it came, its trailer fields in the last chunk. The upstream table is
 * proxy_table.c's.
 *
 * The response: the upstream's status and fields, hop-by-hop ones removed
 * again, Date and Server our own; the body by Content-Length, re-framed as
 * chunked when the upstream used chunked or its close (HTTP/1.0 clients get
 * it until our close instead). A chunked answer's trailer fields follow it
 * in the last chunk, or as HTTP/2's trailing HEADERS (conn_resp_trailers).
 * Trailer fields are kept (bounded by trailer_max_bytes) only when they
 * come, and only those proxy_trailer.c relays go on. Memory is bounded both
 * ways: the upstream's buffers (proxy_buffer_bytes) and the client's output
 * queue (conn_resp_has_room), each side pausing the other.
 *
 * With proxy_request_buffering the body goes to a temporary file first
 * (proxy_spool.c) and the upstream is chosen and sent the head with the
 * body's length and the file (sendfile) only once it is whole.
 *
 * A protocol switch (GET with Connection: upgrade) passes Upgrade on; a 101
 * answer turns the client's connection and the upstream socket into a byte
 * tunnel (conn_tunnel.c), and the exchange ends there.
 *
 * An early answer (the head arrives before the request body was all sent,
 * or after a failed write) stops the sending and gives the body up to the
 * connection (conn_body_abandon), which discards a small rest or ends the
 * client's side with the lingering close after the answer.
 *
 * Failures: no upstream available, 503; connect refused or reset before an
 * answer, 502 (a connect failure tries the next upstream: nothing was
 * sent); a timeout, 504. A request that failed on a reused connection
 * before any response byte is sent once more on a fresh connection if it is
 * still wholly in memory and either idempotent or not yet wholly sent (an
 * application acts on a request only once it has all of it).
 */
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "http1.h"
#include "log.h"
#include "proxy_head.h"
#include "proxy_internal.h"
#include "proxy_spool.h"
#include "proxy_table.h"
#include "proxy_trailer.h"
#include "server.h"
#include "upstream.h"

/* ---- the exchange's end ---- */

/* Stop waiting for the upstream's 100 (Expect: 100-continue passed on). */
static void proxy_stop_waiting(struct proxy_exchange *ex)
{
    if (!ex->wait_continue)
        return;
    ex->wait_continue = false;
    loop_disarm(ex->srv->loop, &ex->continue_timer);
    ex->srv->upstream_count--; /* its timer's room, see proxy_take_timer_room */
}

/* The access log's upstream fields, then free. */
static void proxy_free(struct proxy_exchange *ex)
{
    proxy_stop_waiting(ex);
    if (ex->spool_timer_room) {
        loop_disarm(ex->srv->loop, &ex->spool_timer);
        ex->srv->upstream_count--; /* its timer's room, see proxy_take_timer_room */
    }
    proxy_spool_close(ex->spool);
    if (ex->peer) {
        uint64_t ms = loop_now_ms(ex->srv->loop) - ex->start_ms;
        conn_note_upstream(ex->c, ex->peer->name, ex->upstream_status, ms);
    }
    free(ex->spill);
    proxy_trailer_free(&ex->req_trailer);
    proxy_trailer_free(&ex->resp_trailer);
    free(ex);
}

static void proxy_peer_failed(struct proxy_exchange *ex, struct upstream_peer *peer)
{
    const struct config *cfg = ex->srv->cfg;
    stats_add(&peer->st->failures, 1);
    if (++peer->fails >= cfg->proxy_fail_max) {
        peer->down_until_ms = loop_now_ms(ex->srv->loop) + cfg->proxy_fail_timeout_ms;
        peer->fails = 0;
        log_write(LOG_WARN, "upstream %s failed %u times in a row; skipped for %llums",
                  peer->name, cfg->proxy_fail_max,
                  (unsigned long long)cfg->proxy_fail_timeout_ms);
    }
}

/* Answer status with the reason in the error log, and end the exchange. */
void proxy_fail(struct proxy_exchange *ex, int status, const char *reason)
{
    struct conn *c = ex->c;
    conn_log(c, LOG_WARN, "proxy %s: %s; %d sent", ex->peer ? ex->peer->name : "-", reason,
             status);
    conn_body_abandon(c);
    if (ex->relaying) {
        /* The head is out: only a close can tell the client the body is
         * cut short (no Content-Length reached, no last chunk). */
        conn_want_close(c, CONN_CLOSE_ERROR);
    } else {
        conn_resp_error(c, status, NULL);
    }
    conn_resp_done(c);
    proxy_free(ex);
}

/* ---- choosing an upstream ---- */

static struct upstream_peer *proxy_pick(struct proxy_exchange *ex)
{
    struct proxy_group *g = ex->group;
    uint64_t now = loop_now_ms(ex->srv->loop);
    for (size_t i = 0; i < g->count; i++) {
        struct upstream_peer *p = &g->peers[g->next];
        g->next = (g->next + 1) % g->count;
        if (p->down_until_ms <= now)
            return p;
    }
    return NULL;
}

/* ---- the response: upstream -> client ---- */

static void proxy_on_send_room(void *ctx)
{
    struct proxy_exchange *ex = ctx;
    proxy_drain_spill(ex);
    if (ex->u && ex->body_ended && ex->spill_len == 0)
        upstream_send_end(ex->u);
}

/* Relay each field of the upstream's head but the hop-by-hop ones and those
 * lingerd sets itself. */
static void proxy_relay_fields(struct conn *c, const struct proxy_response *r, const char *buf)
{
    bool has_connection = proxy_head_has_connection(buf, r->fields, r->field_count);
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct http1_header *h = &r->fields[i];
        enum proxy_field k = proxy_field_of(buf, h->name);
        if (k == PROXY_F_CONTENT_LENGTH || k == PROXY_F_DATE || k == PROXY_F_SERVER ||
            proxy_head_is_hop_by_hop(buf, r->fields, r->field_count, i, k, has_connection))
            continue;
        /* "Name: value\r\n" copied into the output queue's memory at once:
         * the name's colon and the value's CRLF are the upstream's own bytes
         * when the value has no trailing whitespace (the usual case). */
        if (buf[h->name.off + h->name.len] == ':' && h->value.off == h->name.off + h->name.len + 2 &&
            buf[h->name.off + h->name.len + 1] == ' ' && buf[h->value.off + h->value.len] == '\r') {
            conn_resp_raw(c, buf + h->name.off, h->name.len + 2 + h->value.len + 2);
            continue;
        }
        conn_resp_raw(c, buf + h->name.off, h->name.len);
        conn_resp_raw(c, ": ", 2);
        conn_resp_raw(c, buf + h->value.off, h->value.len);
        conn_resp_raw(c, "\r\n", 2);
    }
}

/* Relay the upstream's fields of kind k, which proxy_relay_fields leaves
 * out, as "<name>value\r\n": a 101's Upgrade, the Trailer of an answer whose
 * trailers reach the client. */
static void proxy_relay_kind(struct conn *c, const struct proxy_response *r, const char *buf,
                             enum proxy_field k, const char *name, size_t name_len)
{
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct http1_header *h = &r->fields[i];
        if (proxy_field_of(buf, h->name) == k) {
            conn_resp_raw(c, name, name_len);
            conn_resp_raw(c, buf + h->value.off, h->value.len);
            conn_resp_raw(c, "\r\n", 2);
        }
    }
}

/* The upstream switched protocols (RFC 9110 §15.2.2): relay its 101 with
 * its Upgrade, then the client's connection and the upstream's socket
 * become a tunnel (conn_tunnel.c); the exchange ends here. */
static void proxy_switch(struct proxy_exchange *ex, const struct proxy_response *r,
                         const char *buf)
{
    struct conn *c = ex->c;
    const char *pending;
    size_t pending_len;
    int fd = upstream_detach(ex->u, &pending, &pending_len);
    ex->u = NULL;
    if (!conn_tunnel(c, fd, pending, pending_len)) {
        proxy_fail(ex, 502, "no memory for a tunnel");
        return;
    }
    ex->upstream_status = 101;
    conn_resp_begin(c, 101);
    proxy_relay_fields(c, r, buf);
    proxy_relay_kind(c, r, buf, PROXY_F_UPGRADE, "Upgrade: ", 9);
    conn_resp_raw(c, "Connection: upgrade\r\n", 21);
    conn_resp_tunnel_head(c);
    stats_add(&ex->peer->st->time_ms, loop_now_ms(ex->srv->loop) - ex->start_ms);
    conn_log(c, LOG_INFO, "proxy %s: 101; tunnel", ex->peer->name);
    proxy_free(ex); /* notes the upstream for the access log */
}

static void proxy_on_head(void *ctx, const struct proxy_response *r, const char *buf,
                          bool early)
{
    struct proxy_exchange *ex = ctx;
    struct conn *c = ex->c;
    ex->peer->fails = 0;
    proxy_stop_waiting(ex);
    if (r->status == 101) {
        proxy_switch(ex, r, buf);
        return;
    }
    if (early || !conn_body_is_done(c)) {
        /* The upstream answered before it had the whole body: stop sending,
         * and let the connection discard or linger away the rest. */
        conn_log(c, LOG_INFO, "proxy %s: early %d before the request body ended",
                 ex->peer->name, r->status);
        ex->body_abandoned = true;
        ex->spill_len = 0;
        conn_body_abandon(c);
    }
    ex->relaying = true;
    ex->upstream_status = r->status;
    /* A chunked answer's trailers reach a client whose framing carries them
     * (HTTP/1.1 chunked, HTTP/2); an HTTP/1.0 client's body ends with our
     * close, and they are dropped. */
    ex->resp_trailers = r->body == PROXY_BODY_CHUNKED && !ex->head_request &&
                        (conn_frames_body(c) || conn_request(c)->version_minor >= 1);
    conn_resp_begin(c, r->status);
    proxy_relay_fields(c, r, buf);
    if (ex->resp_trailers)
        proxy_relay_kind(c, r, buf, PROXY_F_TRAILER, "Trailer: ", 9);
    /* The upstream's Connection: close is its own: the client's connection
     * follows the client's request and lingerd's settings. */
    int64_t length = -1;
    switch (r->body) {
    case PROXY_BODY_NONE:
        if (r->has_content_length && r->status != 204 && r->status >= 200)
            length = (int64_t)r->content_length;
        break;
    case PROXY_BODY_LENGTH:
        length = (int64_t)r->content_length;
        break;
    case PROXY_BODY_CHUNKED:
    case PROXY_BODY_UNTIL_CLOSE:
        if (conn_frames_body(c)) {
            /* the client's protocol ends the body itself (HTTP/2) */
        } else if (conn_request(c)->version_minor >= 1) {
            ex->resp_chunked = true;
            conn_resp_raw(c, "Transfer-Encoding: chunked\r\n", 28);
        } else {
            conn_want_close(c, CONN_CLOSE_REQUESTED); /* the close ends the body */
        }
        break;
    }
    conn_resp_end(c, length);
    conn_wake(c);
}

static bool proxy_on_resp_body(void *ctx, const char *data, size_t len)
{
    struct proxy_exchange *ex = ctx;
    struct conn *c = ex->c;
    if (ex->resp_chunked) {
        char size[24];
        int n = snprintf(size, sizeof size, "%zx\r\n", len);
        conn_resp_body(c, size, (size_t)n);
        conn_resp_body(c, data, len);
        conn_resp_body(c, "\r\n", 2);
    } else {
        conn_resp_body(c, data, len);
    }
    conn_wake(c);
    return conn_resp_has_room(c);
}

static bool proxy_on_resp_trailer(void *ctx, const char *lines, size_t len)
{
    struct proxy_exchange *ex = ctx;
    if (!ex->resp_trailers)
        return true; /* dropped */
    return proxy_trailer_add(&ex->resp_trailer, lines, len, ex->srv->cfg->trailer_max_bytes) == 0;
}

static void proxy_on_resp_end(void *ctx)
{
    struct proxy_exchange *ex = ctx;
    struct conn *c = ex->c;
    ex->u = NULL;
    if (ex->resp_trailer.len == 0) {
        if (ex->resp_chunked)
            conn_resp_body(c, "0\r\n\r\n", 5);
    } else if (!proxy_trailer_to_client(&ex->resp_trailer, c, ex->peer->name,
                                        ex->resp_chunked)) {
        proxy_fail(ex, 502, "no memory for the trailer section");
        return;
    }
    stats_add(&ex->peer->st->time_ms, loop_now_ms(ex->srv->loop) - ex->start_ms);
    ex->peer->fails = 0;
    conn_resp_done(c);
    proxy_free(ex);
}

static bool proxy_may_retry(const struct proxy_exchange *ex, const struct upstream *failed,
                            bool retry_safe)
{
    if (!retry_safe || ex->retried || ex->relaying || !upstream_is_replayable(failed))
        return false;
    /* An application acts on a request once it has all of it: a request
     * not wholly sent cannot have been acted on. */
    return ex->idempotent || !upstream_request_sent(failed);
}

static void proxy_on_error(void *ctx, enum upstream_error err, const char *reason,
                           bool retry_safe)
{
    struct proxy_exchange *ex = ctx;
    struct upstream *failed = ex->u;
    ex->u = NULL;
    struct upstream_peer *peer = ex->peer;
    if (err != UPSTREAM_ERR_BAD_HEAD && err != UPSTREAM_ERR_BAD_BODY)
        proxy_peer_failed(ex, peer);
    if (proxy_may_retry(ex, failed, retry_safe)) {
        /* The idle-close race: the upstream closed a pooled connection as
         * we reused it. Once more, on a fresh connection, with the bytes
         * still in the failed one's buffer (freed after this iteration). */
        conn_log(ex->c, LOG_INFO, "proxy %s: %s (%s) on a reused connection; retried",
                 peer->name, reason, upstream_error_name(err));
        stats_add(&peer->st->retries, 1);
        peer->fails = 0;
        ex->retried = true;
        proxy_start_upstream(ex, true, failed);
        return;
    }
    if (err == UPSTREAM_ERR_CONNECT && ex->group->count > 1 &&
        ex->connect_tries + 1 < ex->group->count) {
        /* Nothing was sent: the next upstream may answer. */
        ex->connect_tries++;
        ex->peer = proxy_pick(ex);
        if (ex->peer) {
            proxy_start_upstream(ex, false, NULL);
            return;
        }
        proxy_fail(ex, 503, "no upstream available");
        return;
    }
    proxy_fail(ex, err == UPSTREAM_ERR_TIMEOUT ? 504 : 502, reason);
}

/* Ask the client for its body now: the upstream said 100, or did not answer
 * within proxy_continue_timeout (RFC 9110 §10.1.1 lets a client send the
 * body after a while without it). lingerd's own 100 goes to the client. */
static void proxy_ask_body(struct proxy_exchange *ex)
{
    if (!ex->wait_continue)
        return;
    proxy_stop_waiting(ex);
    conn_read_body(ex->c, &proxy_body_sink, ex, ex->body_max);
    conn_wake(ex->c);
}

static void proxy_on_continue(void *ctx)
{
    proxy_ask_body(ctx);
}

static void proxy_on_continue_timer(struct loop_timer *t)
{
    struct proxy_exchange *ex =
        (struct proxy_exchange *)((char *)t - offsetof(struct proxy_exchange, continue_timer));
    proxy_ask_body(ex);
}

static const struct upstream_ops proxy_upstream_ops = {
    proxy_on_send_room,    proxy_on_continue, proxy_on_head, proxy_on_resp_body,
    proxy_on_resp_trailer, proxy_on_resp_end, proxy_on_error,
};

/* Open a connection to ex->peer (fresh: not from the pool) and queue the
 * request head, or the failed connection's bytes (replay). */
void proxy_start_upstream(struct proxy_exchange *ex, bool fresh, const struct upstream *replay)
{
    stats_add(&ex->peer->st->requests, 1);
    /* The pool's peek before reuse only narrows the keep-alive race; a
     * request without a body that is idempotent is sent again on a fresh
     * connection when a reused one fails before any response byte, so it
     * needs no peek (docs/proxy.md, "Keep-alive and the retry rule"). */
    enum upstream_reuse how = UPSTREAM_REUSE;
    if (fresh)
        how = UPSTREAM_FRESH;
    else if (ex->idempotent && !ex->retried && conn_request(ex->c)->framing == HTTP1_BODY_NONE)
        how = UPSTREAM_REUSE_FAST;
    struct upstream *u =
        upstream_open(ex->srv, ex->peer, &proxy_upstream_ops, ex, ex->head_request, how);
    if (!u) {
        int err = errno;
        proxy_peer_failed(ex, ex->peer);
        conn_log(ex->c, LOG_ERROR, "proxy %s: cannot open a connection: %s", ex->peer->name,
                 strerror(err));
        proxy_fail(ex, 502, "no connection to the upstream");
        return;
    }
    ex->u = u;
    if (ex->upgrade)
        upstream_want_upgrade(u);
    bool queued;
    if (replay) {
        queued = upstream_replay_into(replay, u);
    } else {
        /* Written straight into the connection's send buffer. */
        const struct http1_request *req = conn_request(ex->c);
        uint8_t addr[16];
        struct proxy_head_in in = {
            .req = req,
            .buf = conn_request_buf(ex->c),
            .peer_family = conn_peer_addr(ex->c, addr) == 6 ? 6 : 4,
            .peer_addr = addr,
            .tls = conn_is_tls(ex->c),
            .keep_expect = ex->wait_continue,
            .upgrade = ex->upgrade,
            .upgrade_value = ex->upgrade_value,
            /* A buffered body, chunked or not, goes with its length. */
            .has_length = ex->spool || req->framing == HTTP1_BODY_LENGTH,
            .length = ex->spool ? proxy_spool_size(ex->spool) : req->content_length,
            .chunked = !ex->spool && req->framing == HTTP1_BODY_CHUNKED,
        };
        size_t room;
        char *out = upstream_send_space(u, &room);
        size_t len = proxy_head_build(&in, out, room);
        queued = len > 0;
        if (queued)
            upstream_send_commit(u, len);
    }
    if (!queued) {
        ex->u = NULL;
        upstream_abort(u);
        proxy_fail(ex, 502, "request head does not fit proxy_buffer_bytes");
        return;
    }
    if (ex->spool && !replay)
        upstream_send_file(u, proxy_spool_fd(ex->spool), proxy_spool_size(ex->spool));
    else if (ex->spill_len && !ex->spooling)
        proxy_drain_spill(ex); /* body bytes already read go out with the head */
    if (conn_body_is_done(ex->c) && ex->spill_len == 0)
        upstream_send_end(u);
    upstream_kick(u);
}

/* ---- the deferred response's callbacks from the connection ---- */

static void proxy_on_room(struct conn *c, void *ctx)
{
    (void)c;
    struct proxy_exchange *ex = ctx;
    if (ex->u)
        upstream_resume(ex->u);
}

static void proxy_on_abort(struct conn *c, void *ctx)
{
    (void)c;
    struct proxy_exchange *ex = ctx;
    if (ex->u)
        upstream_abort(ex->u);
    proxy_free(ex);
}

static const struct conn_deferred proxy_deferred = { proxy_on_room, proxy_on_abort };

/* A protocol switch is passed on for an HTTP/1.1 GET without a body whose
 * Connection names Upgrade (RFC 9110 §7.8); any other Upgrade field is
 * hop-by-hop and dropped. */
static void proxy_find_upgrade(struct proxy_exchange *ex, const struct http1_request *req,
                               const char *buf)
{
    if (req->method != HTTP1_METHOD_GET || req->version_minor < 1 ||
        req->framing != HTTP1_BODY_NONE ||
        !proxy_head_connection_names(buf, req->fields, req->field_count, "upgrade", 7))
        return;
    for (uint32_t i = 0; i < req->field_count; i++)
        if (proxy_field_of(buf, req->fields[i].name) == PROXY_F_UPGRADE &&
            req->fields[i].value.len) {
            ex->upgrade = true;
            ex->upgrade_value = req->fields[i].value;
            return;
        }
}

/* Room for one more timer of an exchange (the spool's deadline, or the wait
 * for the upstream's 100), besides the upstream connection's: reserved in
 * the loop's timer heap and counted in upstream_count, so that conn_open
 * keeps it too. False: no memory. Given back by upstream_count--. */
static bool proxy_take_timer_room(struct server *srv)
{
    if (server_reserve_timers(srv, 2) < 0)
        return false;
    srv->upstream_count++;
    return true;
}

void proxy_handle(struct conn *c, const struct config_location *loc)
{
    struct server *srv = conn_server(c);
    const struct http1_request *req = conn_request(c);
    struct proxy_group *g = proxy_table_group(srv, loc);
    if (!g) {
        conn_log(c, LOG_ERROR, "proxy: no upstream table for this location; 500 sent");
        conn_resp_error(c, 500, NULL);
        return;
    }
    if (req->framing == HTTP1_BODY_LENGTH && req->content_length > loc->body_max_bytes) {
        conn_resp_error(c, 413, NULL);
        return;
    }
    struct proxy_exchange *ex = calloc(1, sizeof *ex);
    if (!ex) {
        conn_resp_error(c, 503, NULL);
        return;
    }
    ex->c = c;
    ex->srv = srv;
    ex->group = g;
    ex->start_ms = loop_now_ms(srv->loop);
    ex->head_request = req->method == HTTP1_METHOD_HEAD;
    /* RFC 9110 §9.2.2 */
    ex->idempotent = req->method == HTTP1_METHOD_GET || req->method == HTTP1_METHOD_HEAD ||
                     req->method == HTTP1_METHOD_OPTIONS || req->method == HTTP1_METHOD_PUT ||
                     req->method == HTTP1_METHOD_DELETE;
    ex->body_chunked = req->framing == HTTP1_BODY_CHUNKED;
    proxy_find_upgrade(ex, req, conn_request_buf(c));
    conn_defer(c, &proxy_deferred, ex);
    ex->peer = proxy_pick(ex);
    if (!ex->peer) {
        proxy_fail(ex, 503, "every upstream is skipped after failures (proxy_fail_max)");
        return;
    }
    ex->body_max = loc->body_max_bytes;
    if (loc->proxy_request_buffering && req->framing != HTTP1_BODY_NONE) {
        /* The whole body into a file first: lingerd's own 100 Continue if
         * asked, the client's pace, and the upstream only after. */
        if (!proxy_take_timer_room(srv)) {
            ex->peer = NULL;
            proxy_fail(ex, 503, "no memory for a timer");
            return;
        }
        ex->spool_timer_room = true;
        loop_timer_init(&ex->spool_timer, proxy_on_spool_timer);
        ex->spool = proxy_spool_open(srv->io, srv->cfg->proxy_temp_path,
                                     srv->cfg->proxy_buffer_bytes, proxy_spool_on_progress, ex);
        if (!ex->spool) {
            conn_log(c, LOG_ERROR, "proxy: no request body file in %s: %s",
                     srv->cfg->proxy_temp_path, strerror(errno));
            ex->peer = NULL;
            proxy_fail(ex, 500, "no request body file");
            return;
        }
        ex->spooling = true;
        proxy_spool_watch(ex, true); /* the open runs */
        ex->body_chunked = false; /* stored decoded; sent with its length */
        conn_read_body(c, &proxy_body_sink, ex, loc->body_max_bytes);
        return; /* proxy_spool_progress goes on when the body is in */
    }
    if (req->expect_continue && req->version_minor >= 1 && !conn_body_is_done(c) &&
        proxy_take_timer_room(srv)) {
        /* Expect: 100-continue goes upstream: the client is asked for its
         * body only when the upstream wants it, so an upstream that refuses
         * at the head (401, 413) is answered without the body ever sent. */
        ex->wait_continue = true;
        loop_timer_init(&ex->continue_timer, proxy_on_continue_timer);
        loop_arm(srv->loop, &ex->continue_timer,
                 loop_now_ms(srv->loop) + srv->cfg->proxy_continue_timeout_ms);
    } else if (req->framing != HTTP1_BODY_NONE) {
        conn_read_body(c, &proxy_body_sink, ex, loc->body_max_bytes);
    }
    /* conn_read_body may have called on_end already (an empty body). */
    proxy_start_upstream(ex, false, NULL);
}
