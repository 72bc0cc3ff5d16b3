/* proxy — one proxied request (an exchange): choose an upstream, send it the
 * rewritten request head and the body, relay its answer to the client.
 *
 * The request head: the method and target as received, HTTP/1.1, the
 * client's Host, every field but the hop-by-hop ones (RFC 9110 §7.6.1:
 * Connection and every field it names, Keep-Alive, TE, Transfer-Encoding,
 * Upgrade, Proxy-*), and not Expect (lingerd answers 100-continue itself) nor
 * the forwarding fields, which are set again: X-Forwarded-For (the client's
 * value with its address appended), X-Forwarded-Proto, X-Forwarded-Host and
 * Forwarded (RFC 7239; an element appended to the client's). A body goes with
 * its Content-Length, or chunked as it came (trailers dropped).
 *
 * The response: the upstream's status and fields, hop-by-hop ones removed
 * again, Date and Server our own; the body by Content-Length, re-framed as
 * chunked when the upstream used chunked or its close (HTTP/1.0 clients get
 * it until our close instead). Memory is bounded both ways: the upstream's
 * buffers (proxy_buffer_bytes) and the client's output queue
 * (conn_resp_has_room), each side pausing the other.
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

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "conn.h"
#include "http1.h"
#include "log.h"
#include "proxy_addr.h"
#include "proxy_spool.h"
#include "server.h"
#include "upstream.h"

/* A request head we build: the client's head plus the forwarding fields. */
#define PROXY_HEAD_EXTRA 1024
/* Timers armed besides one per connection (the server's own), as conn.c's. */
#define PROXY_FIXED_TIMERS 8

struct proxy_group {
    struct upstream_peer *peers;
    size_t count;
    size_t next; /* round-robin */
    const char *prefix; /* the location's, for /metrics */
    const char *server; /* its server block's first name, for /metrics; NULL: none */
};

/* One worker's upstreams, one group per location with proxy_pass, at
 * site * CONFIG_LOCATION_MAX + the location's index in its site. */
#define PROXY_GROUPS_MAX (CONFIG_SERVER_MAX * CONFIG_LOCATION_MAX)
static struct proxy_group proxy_groups[PROXY_GROUPS_MAX];
static const struct config *proxy_cfg;

struct proxy_exchange {
    struct conn *c;
    struct server *srv;
    struct proxy_group *group;
    struct upstream_peer *peer;
    struct upstream *u;
    uint64_t start_ms;
    unsigned connect_tries;  /* upstreams tried after connect failures */
    bool retried;            /* the one retry on a fresh connection was used */
    bool idempotent;
    bool head_request;
    bool upgrade;            /* GET with Upgrade named by Connection: a tunnel may follow */
    struct http1_slice upgrade_value; /* the client's Upgrade field */
    bool body_chunked;       /* the request body goes chunked */
    bool body_ended;         /* the client's body ended (sink on_end) */
    bool body_abandoned;
    bool relaying;           /* the response head went to the client */
    bool resp_chunked;       /* we re-frame the response body as chunked */
    int upstream_status;     /* for the access log; 0: none came */
    char *spill;             /* body bytes the send buffer could not take yet */
    size_t spill_len, spill_cap;
    /* Expect: 100-continue, passed on: the body is asked for once the
     * upstream says 100, or after proxy_continue_timeout */
    bool wait_continue;
    struct loop_timer continue_timer;
    uint64_t body_max;
    /* proxy_request_buffering: the body goes to this file first (spooling),
     * then to the upstream with sendfile */
    struct proxy_spool *spool;
    bool spooling;
};

static void proxy_start_upstream(struct proxy_exchange *ex, bool fresh,
                                 const struct upstream *replay);

/* ---- the exchange's end ---- */

/* The access log's upstream fields, then free. */
static void proxy_stop_waiting(struct proxy_exchange *ex)
{
    if (!ex->wait_continue)
        return;
    ex->wait_continue = false;
    loop_disarm(ex->srv->loop, &ex->continue_timer);
    ex->srv->upstream_count--; /* its timer's room, see proxy_handle */
}

static void proxy_free(struct proxy_exchange *ex)
{
    proxy_stop_waiting(ex);
    proxy_spool_close(ex->spool);
    if (ex->peer) {
        uint64_t ms = loop_now_ms(ex->srv->loop) - ex->start_ms;
        conn_note_upstream(ex->c, ex->peer->name, ex->upstream_status, ms);
    }
    free(ex->spill);
    free(ex);
}

static void proxy_peer_failed(struct proxy_exchange *ex, struct upstream_peer *peer)
{
    const struct config *cfg = ex->srv->cfg;
    peer->failures++;
    if (++peer->fails >= cfg->proxy_fail_max) {
        peer->down_until_ms = loop_now_ms(ex->srv->loop) + cfg->proxy_fail_timeout_ms;
        peer->fails = 0;
        log_write(LOG_WARN, "upstream %s failed %u times in a row; skipped for %llums",
                  peer->name, cfg->proxy_fail_max,
                  (unsigned long long)cfg->proxy_fail_timeout_ms);
    }
}

/* Answer status with the reason in the error log, and end the exchange. */
static void proxy_fail(struct proxy_exchange *ex, int status, const char *reason)
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

/* ---- the request head ---- */

static bool proxy_name_is(const char *buf, struct http1_slice name, const char *lit)
{
    return http1_slice_equals(buf, name, lit);
}

/* Does some Connection field of the request name this field? */
static bool proxy_named_by_connection(const char *buf, const struct http1_header *f,
                                      uint32_t n, const char *name, size_t name_len)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!proxy_name_is(buf, f[i].name, "connection"))
            continue;
        const char *v = buf + f[i].value.off;
        size_t len = f[i].value.len, k = 0;
        while (k < len) {
            while (k < len && (v[k] == ',' || v[k] == ' ' || v[k] == '\t'))
                k++;
            size_t start = k;
            while (k < len && v[k] != ',' && v[k] != ' ' && v[k] != '\t')
                k++;
            if (k - start == name_len && strncasecmp(v + start, name, name_len) == 0)
                return true;
        }
    }
    return false;
}

/* A hop-by-hop field (RFC 9110 §7.6.1), removed in both directions. */
static bool proxy_is_hop_by_hop(const char *buf, const struct http1_header *f, uint32_t n,
                                struct http1_slice name)
{
    static const char *const hop[] = { "connection", "keep-alive", "te", "transfer-encoding",
                                       "upgrade", "trailer" };
    for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
        if (proxy_name_is(buf, name, hop[i]))
            return true;
    if (name.len >= 6 && strncasecmp(buf + name.off, "proxy-", 6) == 0)
        return true;
    return proxy_named_by_connection(buf, f, n, buf + name.off, name.len);
}

struct proxy_text {
    char *p;
    size_t len, cap;
    bool overflow;
};

static void proxy_put(struct proxy_text *t, const char *s, size_t n)
{
    if (t->len + n > t->cap) {
        t->overflow = true;
        return;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void proxy_puts(struct proxy_text *t, const char *s)
{
    proxy_put(t, s, strlen(s));
}

static void proxy_put_slice(struct proxy_text *t, const char *buf, struct http1_slice s)
{
    proxy_put(t, buf + s.off, s.len);
}

static bool proxy_build_head(struct proxy_exchange *ex, struct proxy_text *t)
{
    struct conn *c = ex->c;
    const struct http1_request *req = conn_request(c);
    const char *buf = conn_request_buf(c);
    char peer[INET6_ADDRSTRLEN];
    uint8_t addr[16];
    int family = conn_peer_addr(c, addr) == 6 ? AF_INET6 : AF_INET;
    if (!inet_ntop(family, addr, peer, sizeof peer))
        strcpy(peer, "unknown");
    const char *proto = conn_is_tls(c) ? "https" : "http";

    proxy_put_slice(t, buf, req->method_token);
    proxy_puts(t, " ");
    if (req->target.len && buf[req->target.off] == '/') {
        proxy_put_slice(t, buf, req->target);
    } else {
        /* absolute-form: the origin-form of the same resource */
        proxy_put_slice(t, buf, req->path);
        if (req->query.len) {
            proxy_puts(t, "?");
            proxy_put_slice(t, buf, req->query);
        }
    }
    proxy_puts(t, " HTTP/1.1\r\n");
    /* HTTP/1.1 needs a Host; an HTTP/1.0 client may have sent none, and then
     * it is empty (RFC 9112 §3.2: the authority is undefined). */
    proxy_puts(t, "Host: ");
    proxy_put_slice(t, buf, req->host);
    proxy_puts(t, "\r\n");
    struct http1_slice xff = { 0, 0 }, fwd = { 0, 0 };
    for (uint32_t i = 0; i < req->field_count; i++) {
        const struct http1_header *h = &req->fields[i];
        if (proxy_is_hop_by_hop(buf, req->fields, req->field_count, h->name) ||
            proxy_name_is(buf, h->name, "host") ||
            (proxy_name_is(buf, h->name, "expect") && !ex->wait_continue) ||
            proxy_name_is(buf, h->name, "content-length") ||
            proxy_name_is(buf, h->name, "x-forwarded-proto") ||
            proxy_name_is(buf, h->name, "x-forwarded-host"))
            continue;
        if (proxy_name_is(buf, h->name, "x-forwarded-for")) {
            if (!xff.len)
                xff = h->value;
            continue;
        }
        if (proxy_name_is(buf, h->name, "forwarded")) {
            if (!fwd.len)
                fwd = h->value;
            continue;
        }
        proxy_put_slice(t, buf, h->name);
        proxy_puts(t, ": ");
        proxy_put_slice(t, buf, h->value);
        proxy_puts(t, "\r\n");
    }
    proxy_puts(t, "X-Forwarded-For: ");
    if (xff.len) {
        proxy_put_slice(t, buf, xff);
        proxy_puts(t, ", ");
    }
    proxy_puts(t, peer);
    proxy_puts(t, "\r\nX-Forwarded-Proto: ");
    proxy_puts(t, proto);
    proxy_puts(t, "\r\n");
    /* RFC 7239 §6: an IPv6 node is quoted and bracketed. */
    proxy_puts(t, "Forwarded: ");
    if (fwd.len) {
        proxy_put_slice(t, buf, fwd);
        proxy_puts(t, ", ");
    }
    proxy_puts(t, family == AF_INET6 ? "for=\"[" : "for=");
    proxy_puts(t, peer);
    proxy_puts(t, family == AF_INET6 ? "]\";proto=" : ";proto=");
    proxy_puts(t, proto);
    if (req->host.len) {
        /* The host as a quoted-string: the bytes allowed in Host need no
         * escaping but a quoted port is allowed there (RFC 7239 §5.3). */
        proxy_puts(t, ";host=\"");
        proxy_put_slice(t, buf, req->host);
        proxy_puts(t, "\"\r\nX-Forwarded-Host: ");
        proxy_put_slice(t, buf, req->host);
    }
    proxy_puts(t, "\r\n");
    if (ex->upgrade) {
        /* The one hop-by-hop request passed on: asked of this hop too. */
        proxy_puts(t, "Upgrade: ");
        proxy_put_slice(t, buf, ex->upgrade_value);
        proxy_puts(t, "\r\nConnection: upgrade\r\n");
    }
    if (ex->spool || req->framing == HTTP1_BODY_LENGTH) {
        /* A buffered body, chunked or not, goes with its length. */
        char cl[40];
        snprintf(cl, sizeof cl, "Content-Length: %llu\r\n",
                 (unsigned long long)(ex->spool ? proxy_spool_size(ex->spool)
                                                : req->content_length));
        proxy_puts(t, cl);
    } else if (req->framing == HTTP1_BODY_CHUNKED) {
        proxy_puts(t, "Transfer-Encoding: chunked\r\n");
    }
    proxy_puts(t, "\r\n");
    return !t->overflow;
}

/* ---- the request body: client -> upstream ---- */

/* Move spilled body bytes into the send buffer; resume the client's body
 * once all of it went. */
/* Where body bytes go now, and how many it takes: the spool while
 * buffering, else the upstream connection (none yet: 0). */
static size_t proxy_body_room(struct proxy_exchange *ex)
{
    if (ex->spooling)
        return proxy_spool_room(ex->spool);
    return ex->u ? upstream_send_room(ex->u) : 0;
}

static void proxy_body_put(struct proxy_exchange *ex, const char *data, size_t n)
{
    if (ex->spooling)
        proxy_spool_put(ex->spool, data, n);
    else
        (void)upstream_send(ex->u, data, n);
}

static void proxy_drain_spill(struct proxy_exchange *ex)
{
    if (!ex->u && !ex->spooling)
        return;
    size_t room = proxy_body_room(ex);
    size_t n = ex->spill_len < room ? ex->spill_len : room;
    if (n) {
        proxy_body_put(ex, ex->spill, n);
        memmove(ex->spill, ex->spill + n, ex->spill_len - n);
        ex->spill_len -= n;
    }
    if (ex->spill_len == 0 && !ex->body_abandoned)
        conn_body_pause(ex->c, false);
}

/* Queue body bytes for the upstream; what does not fit waits in the spill
 * (at most one read of the client's, since the body pauses at once). */
static int proxy_queue_body(struct proxy_exchange *ex, const char *data, size_t len)
{
    if (ex->spill_len == 0 && (ex->u || ex->spooling)) {
        size_t room = proxy_body_room(ex);
        size_t n = len < room ? len : room;
        if (n)
            proxy_body_put(ex, data, n);
        data += n;
        len -= n;
    }
    if (len == 0)
        return 0;
    if (ex->spill_len + len > ex->spill_cap) {
        size_t cap = ex->spill_len + len;
        char *p = realloc(ex->spill, cap);
        if (!p)
            return 500;
        ex->spill = p;
        ex->spill_cap = cap;
    }
    memcpy(ex->spill + ex->spill_len, data, len);
    ex->spill_len += len;
    conn_body_pause(ex->c, true);
    return 0;
}

static int proxy_on_body_data(struct conn *c, void *ctx, const char *data, size_t len)
{
    (void)c;
    struct proxy_exchange *ex = ctx;
    if (!ex->body_chunked)
        return proxy_queue_body(ex, data, len);
    char size[24];
    int n = snprintf(size, sizeof size, "%zx\r\n", len);
    int st = proxy_queue_body(ex, size, (size_t)n);
    if (!st)
        st = proxy_queue_body(ex, data, len);
    if (!st)
        st = proxy_queue_body(ex, "\r\n", 2);
    return st;
}

static void proxy_spool_progress(void *ctx);

static void proxy_on_body_end(struct conn *c, void *ctx)
{
    (void)c;
    struct proxy_exchange *ex = ctx;
    ex->body_ended = true;
    if (ex->spooling) {
        proxy_spool_progress(ex); /* the end, once the spill is in */
        return;
    }
    if (ex->body_chunked)
        (void)proxy_queue_body(ex, "0\r\n\r\n", 5);
    if (ex->u && ex->spill_len == 0)
        upstream_send_end(ex->u);
}

/* on_abort is NULL: the exchange learns of a dying connection through the
 * deferred response's on_abort, which comes first (conn_cancel_deferred). */
static const struct conn_body_sink proxy_body_sink = {
    proxy_on_body_data, proxy_on_body_end, NULL,
};

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
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct http1_header *h = &r->fields[i];
        if (proxy_is_hop_by_hop(buf, r->fields, r->field_count, h->name) ||
            proxy_name_is(buf, h->name, "content-length") ||
            proxy_name_is(buf, h->name, "date") || proxy_name_is(buf, h->name, "server"))
            continue;
        /* Copied into the output queue's memory, piece by piece. */
        conn_resp_raw(c, buf + h->name.off, h->name.len);
        conn_resp_raw(c, ": ", 2);
        conn_resp_raw(c, buf + h->value.off, h->value.len);
        conn_resp_raw(c, "\r\n", 2);
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
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct http1_header *h = &r->fields[i];
        if (proxy_name_is(buf, h->name, "upgrade")) {
            conn_resp_raw(c, "Upgrade: ", 9);
            conn_resp_raw(c, buf + h->value.off, h->value.len);
            conn_resp_raw(c, "\r\n", 2);
        }
    }
    conn_resp_raw(c, "Connection: upgrade\r\n", 21);
    conn_resp_tunnel_head(c);
    ex->peer->time_ms += loop_now_ms(ex->srv->loop) - ex->start_ms;
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
    conn_resp_begin(c, r->status);
    proxy_relay_fields(c, r, buf);
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

static void proxy_on_resp_end(void *ctx)
{
    struct proxy_exchange *ex = ctx;
    struct conn *c = ex->c;
    ex->u = NULL;
    if (ex->resp_chunked)
        conn_resp_body(c, "0\r\n\r\n", 5);
    ex->peer->time_ms += loop_now_ms(ex->srv->loop) - ex->start_ms;
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
        peer->retries++;
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

/* A write to the spool finished (or the body ended): move the spill in,
 * and once the whole body is in the file, go to the upstream. */
static void proxy_spool_progress(void *ctx)
{
    struct proxy_exchange *ex = ctx;
    if (!ex->spooling)
        return;
    int err = proxy_spool_error(ex->spool);
    if (err) {
        conn_log(ex->c, LOG_ERROR, "proxy: request body file in %s: %s",
                 ex->srv->cfg->proxy_temp_path, strerror(err));
        ex->spooling = false;
        ex->peer = NULL; /* nothing was sent */
        proxy_fail(ex, err == ENOSPC ? 507 : 500, "request body file failed");
        return;
    }
    proxy_drain_spill(ex);
    if (ex->body_ended && ex->spill_len == 0) {
        proxy_spool_end(ex->spool);
        if (proxy_spool_is_complete(ex->spool)) {
            ex->spooling = false;
            ex->start_ms = loop_now_ms(ex->srv->loop);
            proxy_start_upstream(ex, false, NULL);
        }
    }
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
    proxy_on_send_room, proxy_on_continue, proxy_on_head, proxy_on_resp_body,
    proxy_on_resp_end,  proxy_on_error,
};

/* Open a connection to ex->peer (fresh: not from the pool) and queue the
 * request head, or the failed connection's bytes (replay). */
static void proxy_start_upstream(struct proxy_exchange *ex, bool fresh,
                                 const struct upstream *replay)
{
    ex->peer->requests++;
    struct upstream *u = upstream_open(ex->srv, ex->peer, &proxy_upstream_ops, ex,
                                       ex->head_request, fresh);
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
        /* What is copied from the client's head is bounded by it (its last
         * field's end), each field written "Name: value\r\n" (2 bytes more
         * at most), plus the Host twice more (Forwarded, X-Forwarded-Host)
         * and the fields of our own. */
        const struct http1_request *req = conn_request(ex->c);
        size_t head_len = req->target.off + req->target.len;
        if (req->field_count) {
            const struct http1_header *last = &req->fields[req->field_count - 1];
            head_len = last->value.off + last->value.len;
        }
        size_t cap = head_len + 2 * (size_t)req->field_count + 2 * (size_t)req->host.len +
                     PROXY_HEAD_EXTRA;
        struct proxy_text t = { malloc(cap), 0, cap, false };
        queued = t.p && proxy_build_head(ex, &t) && upstream_send(u, t.p, t.len);
        free(t.p);
    }
    if (!queued) {
        ex->u = NULL;
        upstream_abort(u);
        proxy_fail(ex, 502, "request head does not fit proxy_buffer_bytes");
        return;
    }
    if (ex->spool && !replay)
        upstream_send_file(u, proxy_spool_fd(ex->spool), proxy_spool_size(ex->spool));
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
        !proxy_named_by_connection(buf, req->fields, req->field_count, "upgrade", 7))
        return;
    for (uint32_t i = 0; i < req->field_count; i++)
        if (proxy_name_is(buf, req->fields[i].name, "upgrade") && req->fields[i].value.len) {
            ex->upgrade = true;
            ex->upgrade_value = req->fields[i].value;
            return;
        }
}

void proxy_handle(struct conn *c, const struct config_location *loc)
{
    struct server *srv = conn_server(c);
    const struct http1_request *req = conn_request(c);
    const struct config_server *site = srv->cfg->sites[loc->site];
    size_t idx = loc->site * CONFIG_LOCATION_MAX + (size_t)(loc - site->locations);
    struct proxy_group *g = &proxy_groups[idx];
    if (proxy_cfg != srv->cfg || g->count == 0) {
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
        ex->spool = proxy_spool_open(srv->io, srv->cfg->proxy_temp_path,
                                     srv->cfg->proxy_buffer_bytes, proxy_spool_progress, ex);
        if (!ex->spool) {
            conn_log(c, LOG_ERROR, "proxy: no request body file in %s: %s",
                     srv->cfg->proxy_temp_path, strerror(errno));
            ex->peer = NULL;
            proxy_fail(ex, 500, "no request body file");
            return;
        }
        ex->spooling = true;
        ex->body_chunked = false; /* stored decoded; sent with its length */
        conn_read_body(c, &proxy_body_sink, ex, loc->body_max_bytes);
        return; /* proxy_spool_progress goes on when the body is in */
    }
    if (req->expect_continue && req->version_minor >= 1 && !conn_body_is_done(c) &&
        loop_reserve_timers(srv->loop, (size_t)srv->conn_count + srv->upstream_count + 2 +
                                           PROXY_FIXED_TIMERS) == 0) {
        /* Expect: 100-continue goes upstream: the client is asked for its
         * body only when the upstream wants it, so an upstream that refuses
         * at the head (401, 413) is answered without the body ever sent. */
        ex->wait_continue = true;
        srv->upstream_count++; /* one more timer armed: room kept by conn_open too */
        loop_timer_init(&ex->continue_timer, proxy_on_continue_timer);
        loop_arm(srv->loop, &ex->continue_timer,
                 loop_now_ms(srv->loop) + srv->cfg->proxy_continue_timeout_ms);
    } else if (req->framing != HTTP1_BODY_NONE) {
        conn_read_body(c, &proxy_body_sink, ex, loc->body_max_bytes);
    }
    /* conn_read_body may have called on_end already (an empty body). */
    proxy_start_upstream(ex, false, NULL);
}

/* ---- the per-worker table ---- */

int proxy_init(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    proxy_fini(srv);
    proxy_cfg = cfg;
    for (size_t s = 0; s < cfg->site_count; s++) {
        const struct config_server *site = cfg->sites[s];
        for (size_t i = 0; i < site->location_count; i++) {
            const char *list = site->locations[i].proxy_pass;
            if (!list || !*list)
                continue;
            struct proxy_group *g = &proxy_groups[s * CONFIG_LOCATION_MAX + i];
            g->prefix = site->locations[i].prefix;
            g->server = cfg->server_count && site->names.n ? site->names.v[0] : NULL;
            g->peers = calloc(PROXY_ADDR_MAX, sizeof *g->peers);
            if (!g->peers)
                return -ENOMEM;
            for (const char *p = list; p && *p;) {
                const char *end = strchr(p, ',');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                struct upstream_peer *peer = &g->peers[g->count];
                char err[160];
                if (g->count >= PROXY_ADDR_MAX ||
                    proxy_addr_parse(p, len, &peer->addr, &peer->addr_len, err, sizeof err) < 0)
                    return -EINVAL; /* the configuration check refused it already */
                snprintf(peer->name, sizeof peer->name, "%.*s", (int)len, p);
                g->count++;
                p = end ? end + 1 : NULL;
            }
        }
    }
    return 0;
}

void proxy_fini(struct server *srv)
{
    for (size_t i = 0; i < PROXY_GROUPS_MAX; i++) {
        struct proxy_group *g = &proxy_groups[i];
        for (size_t k = 0; k < g->count; k++)
            upstream_peer_close_idle(&g->peers[k]);
        free(g->peers);
        memset(g, 0, sizeof *g);
    }
    upstream_free_closed(srv);
    proxy_cfg = NULL;
}

void proxy_after_iteration(struct server *srv)
{
    upstream_free_closed(srv);
}

size_t proxy_format_metrics(char *out, size_t cap)
{
    static const struct {
        const char *name, *type, *help;
    } metrics[] = {
        { "requests_total", "counter", "Requests sent to the upstream (retries included)." },
        { "failures_total", "counter", "Refused, reset or timed-out exchanges." },
        { "retries_total", "counter", "Requests sent again on a fresh connection." },
        { "time_ms_total", "counter", "Milliseconds from choosing the upstream to its answer's end." },
        { "idle_connections", "gauge", "Idle connections in this worker's pool." },
    };
    size_t len = 0;
    bool any = false;
    for (size_t i = 0; i < PROXY_GROUPS_MAX; i++)
        any |= proxy_groups[i].count > 0;
    if (!any)
        return 0;
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
        int n = snprintf(out + len, cap - len,
                         "# HELP lingerd_upstream_%s %s (this worker)\n"
                         "# TYPE lingerd_upstream_%s %s\n",
                         metrics[m].name, metrics[m].help, metrics[m].name, metrics[m].type);
        if (n < 0 || (size_t)n >= cap - len)
            return len;
        len += (size_t)n;
        for (size_t i = 0; i < PROXY_GROUPS_MAX; i++) {
            const struct proxy_group *g = &proxy_groups[i];
            for (size_t k = 0; k < g->count; k++) {
                const struct upstream_peer *p = &g->peers[k];
                uint64_t v = m == 0 ? p->requests : m == 1 ? p->failures
                           : m == 2 ? p->retries : m == 3 ? p->time_ms : p->idle_count;
                /* With server blocks, the location's server names it too. */
                n = snprintf(out + len, cap - len,
                             "lingerd_upstream_%s{%s%s%slocation=\"%s\",upstream=\"%s\"} %llu\n",
                             metrics[m].name, g->server ? "server=\"" : "",
                             g->server ? g->server : "", g->server ? "\"," : "", g->prefix,
                             p->name, (unsigned long long)v);
                if (n < 0 || (size_t)n >= cap - len)
                    return len;
                len += (size_t)n;
            }
        }
    }
    return len;
}
