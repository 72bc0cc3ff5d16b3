/* proxy_body — the client's request body on its way to the upstream: into
 * the upstream connection's send buffer (chunked as it came, its trailer
 * fields in the last chunk), or with proxy_request_buffering into the
 * request body file first (proxy_spool.c), whose file operations are
 * bounded by io_wait_timeout. What the send buffer or the file cannot take
 * yet waits in the spill, and the client's body pauses until it went.
 *
 * Leaves out: choosing the upstream, the request head and the response
 * (proxy.c), the file itself (proxy_spool.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "proxy_internal.h"
#include "proxy_spool.h"
#include "proxy_trailer.h"
#include "server.h"
#include "upstream.h"

/* ---- the request body: client -> upstream ---- */

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
    if (ex->spooling) {
        proxy_spool_put(ex->spool, data, n);
        proxy_spool_watch(ex, false); /* a write may have started */
    } else
        (void)upstream_send(ex->u, data, n);
}

/* Put as much of data[0..len) as the destination takes; returns how much.
 * Again while there is room: the upstream writes what it is given at once,
 * and a socket that took everything (it never said EAGAIN) gives no
 * writable edge later, so bytes left behind now would wait for
 * proxy_send_timeout. Bytes are left only when the buffer is full: then
 * its socket said EAGAIN and on_send_room follows its writable edge (or
 * the connect's end, or the spool's write). */
static size_t proxy_body_put_all(struct proxy_exchange *ex, const char *data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t room = proxy_body_room(ex);
        if (room == 0)
            break;
        size_t n = len - done < room ? len - done : room;
        proxy_body_put(ex, data + done, n);
        done += n;
    }
    return done;
}

/* Move spilled body bytes into the send buffer; resume the client's body
 * once all of it went. */
void proxy_drain_spill(struct proxy_exchange *ex)
{
    if (!ex->u && !ex->spooling)
        return;
    size_t n = proxy_body_put_all(ex, ex->spill, ex->spill_len);
    if (n) {
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
        size_t n = proxy_body_put_all(ex, data, len);
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

/* The client's trailer fields go on only with a body that goes chunked; a
 * body sent with its length (buffered to a file, or an HTTP/2 request with
 * a content-length) has no place for them. */
static int proxy_on_body_trailer(struct conn *c, void *ctx, const char *lines, size_t len)
{
    (void)c;
    struct proxy_exchange *ex = ctx;
    if (!ex->body_chunked)
        return 0;
    int rc = proxy_trailer_add(&ex->req_trailer, lines, len, ex->srv->cfg->trailer_max_bytes);
    return rc == -E2BIG ? 400 : rc ? 500 : 0;
}

static void proxy_spool_progress(void *ctx);

static void proxy_on_body_end(struct conn *c, void *ctx)
{
    struct proxy_exchange *ex = ctx;
    ex->body_ended = true;
    if (ex->spooling) {
        proxy_spool_progress(ex); /* the end, once the spill is in */
        return;
    }
    if (ex->body_chunked) {
        /* the last chunk, with the trailer section if there is one */
        struct proxy_trailer *t = &ex->req_trailer;
        bool fields = t->len && proxy_trailer_end(t, c, ex->peer ? ex->peer->name : "-",
                                                  "request", true);
        (void)proxy_queue_body(ex, fields ? t->lines : "0\r\n\r\n", fields ? t->len : 5);
        proxy_trailer_free(t);
    }
    if (ex->u && ex->spill_len == 0)
        upstream_send_end(ex->u);
}

/* on_abort is NULL: the exchange learns of a dying connection through the
 * deferred response's on_abort, which comes first (conn_cancel_deferred). */
const struct conn_body_sink proxy_body_sink = {
    proxy_on_body_data, proxy_on_body_end, NULL, NULL, proxy_on_body_trailer,
};

/* ---- the request body file's deadline and progress ---- */

/* Arm the spool's deadline when a file operation starts waiting (again
 * after progress), disarm it when none waits. */
void proxy_spool_watch(struct proxy_exchange *ex, bool progressed)
{
    struct loop *loop = ex->srv->loop;
    if (!ex->spooling || !proxy_spool_is_waiting(ex->spool)) {
        loop_disarm(loop, &ex->spool_timer);
        return;
    }
    if (progressed || !timer_is_armed(&ex->spool_timer.node))
        loop_arm(loop, &ex->spool_timer, loop_now_ms(loop) + ex->srv->cfg->io_wait_timeout_ms);
}

void proxy_on_spool_timer(struct loop_timer *t)
{
    struct proxy_exchange *ex =
        (struct proxy_exchange *)((char *)t - offsetof(struct proxy_exchange, spool_timer));
    if (!ex->spooling)
        return;
    /* The disk did not answer: the client hears so (nothing was sent
     * upstream); the job still runs to its end and frees the spool. */
    conn_log(ex->c, LOG_WARN, "proxy: request body file in %s: no answer within "
             "io_wait_timeout=%llums", ex->srv->cfg->proxy_temp_path,
             (unsigned long long)ex->srv->cfg->io_wait_timeout_ms);
    ex->spooling = false;
    ex->peer = NULL;
    proxy_fail(ex, 503, "request body file too slow");
}

/* The spool's callback: a file operation ended. */
void proxy_spool_on_progress(void *ctx)
{
    proxy_spool_watch(ctx, true);
    proxy_spool_progress(ctx);
}

/* A file operation of the spool ended (or the body ended): move the spill
 * in, and once the whole body is in the file, go to the upstream. */
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
            loop_disarm(ex->srv->loop, &ex->spool_timer);
            ex->start_ms = loop_now_ms(ex->srv->loop);
            proxy_start_upstream(ex, false, NULL);
            return;
        }
    }
    proxy_spool_watch(ex, false);
}
