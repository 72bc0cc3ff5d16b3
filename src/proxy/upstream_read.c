/* upstream_read — reading an upstream's response: its head (interim answers
 * skipped), then its body by Content-Length, chunked (decoded here; proxy.c
 * re-frames it for the client) or until the upstream's close, handed to the
 * exchange span by span (struct upstream_ops on_body), which may pause it; a
 * chunked body's trailer field lines go to on_trailer as they are decoded.
 *
 * Leaves out: the states and sending (upstream.c), the head's syntax
 * (proxy_response.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "server.h"
#include "upstream_internal.h"

/* Read into in[]; > 0 bytes, 0 EOF, -EAGAIN, -ENOBUFS (full), -errno. */
ssize_t upstream_fill(struct upstream *u)
{
    if (!u->rd_ready)
        return -EAGAIN;
    if (u->in_start > 0 && u->state == UPSTREAM_READ_BODY) {
        memmove(u->in, u->in + u->in_start, u->in_len - u->in_start);
        u->in_len -= u->in_start;
        u->in_start = 0;
    }
    if (u->in_len == u->cap)
        return -ENOBUFS;
    size_t want = u->cap - u->in_len;
    ssize_t n;
    do
        n = recv(u->watch.fd, u->in + u->in_len, want, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            u->rd_ready = false;
            return -EAGAIN;
        }
        return -errno;
    }
    if (n == 0) {
        u->rd_eof = true;
        return 0;
    }
    /* A recv that returns less than asked emptied the receive queue; what
     * arrives later raises a new edge (conn_fill's rule): this saves the
     * recv that would only say EAGAIN. Not once the end was announced: its
     * edge is spent, and the next recv must see it. */
    if ((size_t)n < want && !u->rd_hup)
        u->rd_ready = false;
    u->got_bytes = true;
    u->in_len += (size_t)n;
    u->progress_ms = upstream_now(u);
    return n;
}

/* Hand buffered body bytes to the user. 1: the body is complete; 0: more
 * is needed or the user paused; -1: bad framing (u failed). */
static int upstream_feed_body(struct upstream *u)
{
    while (!u->paused && u->state == UPSTREAM_READ_BODY) {
        const char *in = u->in + u->in_start;
        size_t avail = u->in_len - u->in_start;
        switch (u->body) {
        case PROXY_BODY_NONE:
            return 1;
        case PROXY_BODY_LENGTH: {
            if (u->body_left == 0)
                return 1;
            if (avail == 0)
                return 0;
            size_t n = avail < u->body_left ? avail : (size_t)u->body_left;
            u->in_start += n;
            u->body_left -= n;
            if (!u->ops->on_body(u->ctx, in, n))
                u->paused = true;
            continue;
        }
        case PROXY_BODY_UNTIL_CLOSE:
            if (avail == 0)
                return u->rd_eof ? 1 : 0;
            u->in_start += avail;
            if (!u->ops->on_body(u->ctx, in, avail))
                u->paused = true;
            continue;
        case PROXY_BODY_CHUNKED: {
            if (avail == 0)
                return 0;
            size_t used = 0, off = 0, len = 0;
            enum http1_rc rc = http1_chunked_decode(&u->chunked, in, avail, &used, &off, &len);
            if (rc == HTTP1_ERROR) {
                upstream_fail(u, UPSTREAM_ERR_BAD_BODY, u->chunked.reason);
                return -1;
            }
            u->in_start += used;
            if (len && !u->ops->on_body(u->ctx, in + off, len))
                u->paused = true;
            if (u->chunked.fields_len &&
                !u->ops->on_trailer(u->ctx, in + u->chunked.fields_off, u->chunked.fields_len)) {
                upstream_fail(u, UPSTREAM_ERR_BAD_BODY, "no memory for the trailer section");
                return -1;
            }
            if (rc == HTTP1_DONE)
                return 1;
            if (used == 0 && len == 0)
                return 0;
            continue;
        }
        }
    }
    return 0;
}

/* A whole head is in in[in_start ..): act on it. false: u failed. */
static bool upstream_on_head(struct upstream *u, size_t used)
{
    const struct proxy_response *r = &u->resp;
    const char *head = u->in + u->in_start;
    u->in_start += used;
    if (r->status < 200) {
        if (r->status == 101) {
            if (!u->upgrade || !(u->send_ended && upstream_all_sent(u))) {
                /* The request carried no Upgrade (hop-by-hop, removed), or
                 * the switch came before the request was all sent. */
                upstream_fail(u, UPSTREAM_ERR_BAD_HEAD, "101 Switching Protocols unasked");
                return false;
            }
            /* The user takes the socket (upstream_detach) during the call. */
            u->got_bytes = true;
            u->ops->on_head(u->ctx, r, head, false);
            if (u->state != UPSTREAM_CLOSED)
                upstream_fail(u, UPSTREAM_ERR_BAD_HEAD, "101 not taken");
            return false;
        }
        /* Interim answers are the proxy's own business with the upstream
         * (RFC 9110 §15.2): not relayed. A 100 tells the exchange the body
         * is wanted. */
        proxy_response_init(&u->parser, u->srv->cfg->proxy_header_max_bytes, u->fields,
                            u->srv->cfg->header_fields_max, u->head_request);
        if (r->status == 100)
            u->ops->on_continue(u->ctx);
        return u->state != UPSTREAM_CLOSED;
    }
    bool early = u->state == UPSTREAM_SEND && !(u->send_ended && upstream_all_sent(u));
    early |= u->send_failed;
    if (u->state == UPSTREAM_SEND)
        u->out_len = u->out_sent = 0;
    if (early)
        u->send_failed = true; /* the request is cut short: never reuse */
    u->body = r->body;
    u->body_left = r->content_length;
    if (r->body == PROXY_BODY_CHUNKED)
        http1_chunked_init(&u->chunked, u->srv->cfg->chunk_line_max_bytes,
                           u->srv->cfg->trailer_max_bytes);
    upstream_set_state(u, UPSTREAM_READ_BODY);
    u->ops->on_head(u->ctx, r, head, early);
    return u->state != UPSTREAM_CLOSED;
}

/* Parse what arrived of the head. false: u failed or moved on. */
bool upstream_parse_head(struct upstream *u)
{
    while (u->in_start < u->in_len &&
           (u->state == UPSTREAM_READ_HEAD || u->state == UPSTREAM_SEND)) {
        size_t used = 0;
        enum http1_rc rc = proxy_response_parse(&u->parser, u->in + u->in_start,
                                                u->in_len - u->in_start, &u->resp, &used);
        if (rc == HTTP1_AGAIN)
            return true;
        if (rc == HTTP1_ERROR) {
            upstream_fail(u, UPSTREAM_ERR_BAD_HEAD, u->parser.reason);
            return false;
        }
        if (!upstream_on_head(u, used))
            return false;
    }
    return true;
}

/* Read and act until the socket is empty, the user pauses or u moves on. */
void upstream_read(struct upstream *u)
{
    for (int i = 0; i < UPSTREAM_READS_PER_WAKE; i++) {
        if (u->state == UPSTREAM_READ_BODY) {
            int fed = upstream_feed_body(u);
            if (fed < 0)
                return;
            if (fed > 0) {
                upstream_finish(u);
                return;
            }
            if (u->paused)
                return;
        } else {
            if (!upstream_parse_head(u))
                return;
            if (u->state == UPSTREAM_READ_BODY)
                continue; /* a body may be complete already: none, or empty */
        }
        if (u->state == UPSTREAM_CLOSED || u->state == UPSTREAM_IDLE)
            return;
        if (u->state == UPSTREAM_READ_BODY && u->in_start < u->in_len)
            continue;
        ssize_t n = upstream_fill(u);
        if (n > 0)
            continue;
        if (n == -EAGAIN)
            return;
        if (n == 0 && u->state == UPSTREAM_READ_BODY) {
            if (u->body == PROXY_BODY_UNTIL_CLOSE)
                continue; /* the close ends the body: fed above */
            upstream_fail(u, UPSTREAM_ERR_BAD_BODY, "upstream closed before the body ended");
            return;
        }
        if (n == 0 || n == -ECONNRESET || n == -EPIPE) {
            if (u->state == UPSTREAM_SEND && n != 0) {
                /* Reset while we were sending: whatever it answered is read
                 * above; nothing more will come. */
            }
            upstream_fail(u, UPSTREAM_ERR_RESET,
                          u->got_bytes ? "upstream closed before a whole response head"
                          : n == 0     ? "upstream closed without answering"
                                       : "upstream reset without answering");
            return;
        }
        if (n == -ENOBUFS) {
            upstream_fail(u, UPSTREAM_ERR_BAD_HEAD, "response head too large");
            return;
        }
        upstream_fail(u, UPSTREAM_ERR_RESET, "read from upstream failed");
        return;
    }
    /* Fairness: more may wait, and no new edge would say so: go on after
     * the others had their turn. */
    upstream_run_soon(u);
}

