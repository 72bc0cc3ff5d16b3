/* conn_head — READ_HEAD: a request head read and parsed, the protocol
 * chosen on a connection's first bytes (HTTP/2 by ALPN or the cleartext
 * preface), keep-alive decided, and the request handed to the handlers.
 * A head that does not parse or does not come in time is refused in
 * HTTP/1.1 (400, 408, 414, 431) and the connection closes: its framing is
 * lost.
 *
 * Leaves out: what follows the dispatch (conn.c: the body's state, the
 * next request, the idle wait), the answer's bytes (conn_respond.c), the
 * close itself (conn_close.c), HTTP/2 once chosen (src/http2/).
 */
#include <errno.h>
#include <regex.h>
#include <string.h>

#include "conn_internal.h"
#include "http2.h"
#include "request.h"
#include "stats.h"
#include "transport_tls.h"

/* Pipelined requests answered per wake-up before yielding to other clients. */
#define CONN_REQUESTS_PER_WAKE 64

static bool conn_user_agent_refused(const struct conn *c, const struct http1_request *req)
{
    const struct config *cfg = conn_cfg(c);
    if (cfg->nokeepalive_count == 0 || req->user_agent.len == 0)
        return false;
    char ua[512];
    size_t len = req->user_agent.len < sizeof ua - 1 ? req->user_agent.len : sizeof ua - 1;
    memcpy(ua, conn_request_buf(c) + req->user_agent.off, len);
    ua[len] = '\0';
    for (size_t i = 0; i < cfg->nokeepalive_count; i++)
        if (regexec(&cfg->nokeepalive_re[i], ua, 0, NULL, 0) == 0)
            return true;
    return false;
}

/* Do bytes of another request follow the current one in the buffer? A
 * draining server answers every request already received and says close on
 * the last. After a chunked body it cannot tell without decoding, and says
 * close at once (the client resends the rest, as after keepalive_requests). */
static bool conn_more_requests_buffered(const struct conn *c)
{
    const struct conn_work *w = c->w;
    uint64_t after = w->in_len - w->head_end;
    switch (w->req.framing) {
    case HTTP1_BODY_NONE:
        return after > 0;
    case HTTP1_BODY_LENGTH:
        return after > w->req.content_length;
    default:
        return false;
    }
}

static void conn_decide_keep_alive(struct conn *c)
{
    const struct config *cfg = conn_cfg(c);
    const struct http1_request *req = &c->w->req;
    c->keep_alive = true;
    if (!http1_wants_keep_alive(req))
        conn_want_close(c, CONN_CLOSE_REQUESTED);
    else if (!cfg->keepalive || conn_user_agent_refused(c, req))
        conn_want_close(c, CONN_CLOSE_NOKEEPALIVE);
    else if (c->requests >= cfg->keepalive_requests)
        conn_want_close(c, CONN_CLOSE_MAX_REQUESTS);
    else if (c->srv->stopping && !conn_more_requests_buffered(c))
        conn_want_close(c, CONN_CLOSE_SHUTDOWN);
}

/* A complete head was parsed from in[in_start .. in_start+used). */
static void conn_on_head(struct conn *c, size_t used)
{
    struct conn_work *w = c->w;
    const struct config *cfg = conn_cfg(c);
    struct http1_request *req = &w->req;
    w->head_start = w->in_start;
    w->in_start += (uint32_t)used;
    w->head_end = w->in_start;
    w->in_request = true;
    w->responded = false;
    w->discard_after = false;
    w->sink = NULL;
    conn_work_clear_deferred(w);
    w->head_only = req->method == HTTP1_METHOD_HEAD;
    w->body_framing = req->framing;
    w->body_no_splice = false;
    w->body_left = req->framing == HTTP1_BODY_LENGTH ? req->content_length : 0;
    w->body_done = req->framing == HTTP1_BODY_NONE ||
                   (req->framing == HTTP1_BODY_LENGTH && req->content_length == 0);
    w->body_bytes = 0;
    w->body_clock_ms = 0;
    w->body_max = UINT64_MAX;
    w->lingering_close = cfg->lingering_close;
    w->loc = NULL;
    if (req->framing == HTTP1_BODY_CHUNKED)
        http1_chunked_init(&w->chunked, cfg->chunk_line_max_bytes, cfg->trailer_max_bytes);
    c->requests++;
    stats_add(&c->srv->stats->requests, 1);
    w->log_has_head = true;
    w->log_head_bytes = (uint32_t)used;
    w->log_start_ms = c->state == CONN_READ_HEAD ? c->since_ms : conn_now_ms(c);
    w->real_family = 0; /* real_ip_header speaks per request */
    conn_decide_keep_alive(c);

    request_dispatch(c);
    if (c->state == CONN_CLOSED || c->state == CONN_WAIT_IO)
        return; /* WAIT_IO: an empty body's on_end handed its work to a thread */
    if (!w->responded && !w->sink && !w->deferred) {
        conn_log(c, LOG_ERROR, "request left unanswered; 500 sent");
        conn_resp_error(c, 500, NULL);
    }
    if (w->body_done || (!w->sink && !w->discard_after)) {
        conn_request_done(c);
        return;
    }
    if (!w->sink)
        w->sink = &conn_discard_sink;
    conn_set_state(c, CONN_READ_BODY);
}

/* Answer a head that never became a request (it did not parse, or did not
 * arrive in time) and close: the framing is lost. The response is an
 * HTTP/1.1 error with a body, answering no method in particular. */
/* A request refused before its head could be parsed: answer as HTTP/1.1,
 * with no body to read, and close. */
static void conn_begin_refusal(struct conn *c, enum conn_close_reason why)
{
    struct conn_work *w = c->w;
    w->in_request = true;
    w->head_start = w->head_end = w->in_start;
    w->head_only = false;
    w->loc = NULL;
    w->req.version_minor = 1;
    w->body_framing = HTTP1_BODY_NONE;
    w->body_done = true;
    conn_want_close(c, why);
}

static void conn_refuse_head(struct conn *c, int status, enum conn_close_reason why)
{
    conn_begin_refusal(c, why);
    conn_resp_error(c, status, NULL);
    conn_start_close(c, why);
}

/* Plain HTTP on a TLS port: the transport is plain TCP now and the request
 * unread. Say so in words the client reads, then close through the
 * lingering close (the request is still coming in). */
static void conn_refuse_plain_http(struct conn *c)
{
    conn_log(c, LOG_INFO, "plain HTTP on a TLS port; 400 sent");
    conn_begin_refusal(c, CONN_CLOSE_ERROR);
    conn_resp_text(c, 400, NULL,
                   "400 Bad Request: this port speaks HTTPS (TLS), not plain HTTP.\n"
                   "Use an https:// URL.\n");
    conn_start_close(c, CONN_CLOSE_ERROR);
}

/* A TLS handshake that failed or timed out: there is no channel to answer
 * on, and no alert worth waiting to send. */
static void conn_handshake_failed(struct conn *c)
{
    c->close_why = CONN_CLOSE_TLS_HANDSHAKE;
    conn_finish(c, STATS_CLOSE_PLAIN);
}

void conn_on_read_head(struct conn *c, bool timeout)
{
    struct conn_work *w = c->w;
    if (timeout) {
        if (!conn_deadline_passed(c))
            return;
        if (!c->tp.established) {
            stats_add(&c->srv->stats->tls_handshake_failures[STATS_TLS_FAIL_TIMEOUT], 1);
            conn_handshake_failed(c);
            return;
        }
        if (!c->ever_read && w->in_start == w->in_len) {
            conn_start_close(c, CONN_CLOSE_HEADER_TIMEOUT);
            return;
        }
        /* RFC 9110 §15.5.9: tell the client why before closing. */
        conn_refuse_head(c, 408, CONN_CLOSE_HEADER_TIMEOUT);
        return;
    }
    int reads = 0;
    for (int served = 0; served < CONN_REQUESTS_PER_WAKE;) {
        if (!c->proto_chosen) {
            int h2 = http2_conn_chosen(c);
            if (h2 > 0) {
                if (!http2_conn_start(c))
                    conn_start_close(c, CONN_CLOSE_ERROR);
                return;
            }
            if (h2 == 0)
                goto read_more; /* the start of the preface, or the handshake */
        }
        if (w->in_start < w->in_len) {
            size_t used = 0;
            enum http1_rc rc = http1_parse_head(&w->parser, w->in + w->in_start,
                                                w->in_len - w->in_start, &w->req, &used);
            if (rc == HTTP1_DONE) {
                conn_on_head(c, used);
                served++;
                if (c->state != CONN_READ_HEAD)
                    return;
                w = c->w;
                continue;
            }
            if (rc == HTTP1_ERROR) {
                conn_log(c, LOG_INFO, "bad request: %s; %d sent", w->parser.reason,
                         w->parser.status);
                conn_refuse_head(c, w->parser.status, CONN_CLOSE_ERROR);
                return;
            }
        }
    read_more:
        if (c->peer_eof) {
            /* The client half-closed: answer what is queued, then close. */
            if (!outq_is_empty(&w->out))
                conn_start_close(c, CONN_CLOSE_PEER);
            else
                conn_peer_gone(c, false);
            return;
        }
        if (reads++ >= CONN_READS_PER_WAKE) {
            conn_yield(c);
            return;
        }
        ssize_t n = conn_fill(c);
        if (n > 0) {
            c->ever_read = true;
            continue;
        }
        if (n == -EAGAIN)
            return;
        if (n == 0)
            continue; /* peer_eof is set: handled above */
        if (n == -ENOBUFS) {
            /* The parser reports 431/414 before the buffer fills; this is
             * memory running out. */
            conn_start_close(c, CONN_CLOSE_ERROR);
            return;
        }
        if (n == TRANSPORT_TLS_PLAIN_HTTP) {
            conn_refuse_plain_http(c);
            return;
        }
        if (!c->tp.established) {
            conn_handshake_failed(c);
            return;
        }
        conn_peer_gone(c, true);
        return;
    }
    conn_yield(c); /* CONN_REQUESTS_PER_WAKE answered; more are buffered */
}

