/* conn_respond — the response to the current request: status line, header
 * fields, the head's end (Content-Length, keep-alive or close), bodies from
 * memory or a file, the small HTML error responses;
 * the access-log line of each response.
 *
 * Leaves out: sending (conn_buf.c flushes the output queue) and what happens
 * after the response (conn.c's conn_request_done).
 *
 * Invariants: heads are formatted straight into the output queue, never
 * through a buffer of their own; a failed allocation never drops a response
 * silently, it ends the connection after this response instead
 * (CONN_CLOSE_ERROR). The head's Connection field and the connection's fate
 * are one decision: conn_resp_end writes what c->keep_alive says, after
 * settling an unread body. Whether the connection may stay is decided
 * when the head arrives (conn.c's conn_decide_keep_alive).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "accesslog.h"
#include "conn_internal.h"
#include "http2.h"
#include "httpdate.h"
#include "outq.h"
#include "server.h"
#include "stats.h"

/* The access-log line of the response just completed (queued, with its
 * body read or given up). No syscall: the line is buffered and the clocks
 * are the loop's. */
void conn_log_access(struct conn *c)
{
    struct conn_work *w = c->w;
    if (!w || !w->log_pending)
        return;
    w->log_pending = false;
    bool has_head = w->log_has_head;
    w->log_has_head = false;
    if (!accesslog_enabled())
        return;
    uint64_t now = conn_now_ms(c);
    struct accesslog_entry e = {
        .buf = w->in + w->head_start,
        .req = has_head ? &w->req : NULL,
        .peer_port = c->peer_port,
        .conn_id = c->id,
        .conn_requests = c->requests,
        .status = w->log_status,
        .bytes_sent = w->log_bytes,
        .body_bytes_sent = w->log_body_bytes,
        .request_length = w->log_head_bytes + w->body_bytes,
        .duration_ms = now > w->log_start_ms ? now - w->log_start_ms : 0,
        .wall_s = loop_wall_s(c->srv->loop),
        .close_reason =
            c->keep_alive ? NULL : conn_close_reason_name((enum conn_close_reason)c->close_why),
        .tls = conn_is_tls(c),
        .tls_version = conn_tls_version(c),
        .tls_cipher = conn_tls_cipher(c),
        .sni = conn_tls_sni(c),
        .site = w->loc ? (int32_t)w->loc->site : -1,
        .upstream_addr = w->log_upstream_addr,
        .upstream_status = w->log_upstream_status,
        .upstream_time_ms = w->log_upstream_ms,
    };
    uint16_t balancer_port;
    e.peer_family = (uint8_t)conn_peer_addr(c, e.peer_addr);
    e.balancer_family = (uint8_t)conn_balancer_addr(c, e.balancer_addr, &balancer_port);
    accesslog_write(&e);
}

/* ---- responses ---- */

static const char *conn_reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 205: return "Reset Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 402: return "Payment Required";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 410: return "Gone";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 451: return "Unavailable For Legal Reasons";
    case 502: return "Bad Gateway";
    case 504: return "Gateway Timeout";
    case 506: return "Variant Also Negotiates";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

/* "HTTP/1.1 200 OK\r\n", formatted once per status and process. */
static const char *conn_status_line(int status, size_t *len)
{
    static char lines[600][56];
    static uint8_t lens[600];
    if (status < 100 || status > 599)
        status = 500;
    if (!lens[status]) {
        int n = snprintf(lines[status], sizeof lines[status], "HTTP/1.1 %d %s\r\n", status,
                         conn_reason_phrase(status));
        lens[status] = (uint8_t)n;
    }
    *len = lens[status];
    return lines[status];
}

void conn_out(struct conn *c, const void *data, size_t len)
{
    if (outq_append(&c->w->out, data, len) < 0)
        conn_want_close(c, CONN_CLOSE_ERROR); /* out of memory: end after this */
}

void conn_resp_raw(struct conn *c, const char *bytes, size_t len)
{
    conn_out(c, bytes, len);
}

void conn_resp_field(struct conn *c, const char *name, const char *value, size_t value_len)
{
    size_t nlen = strlen(name);
    char *p = outq_reserve(&c->w->out, nlen + value_len + 4);
    if (!p) {
        conn_want_close(c, CONN_CLOSE_ERROR);
        return;
    }
    memcpy(p, name, nlen);
    memcpy(p + nlen, ": ", 2);
    memcpy(p + nlen + 2, value, value_len);
    memcpy(p + nlen + 2 + value_len, "\r\n", 2);
    outq_commit(&c->w->out, nlen + value_len + 4);
}

void conn_resp_begin(struct conn *c, int status)
{
    struct conn_work *w = c->w;
    w->responded = true;
    w->log_pending = true;
    w->log_status = status;
    w->log_mark = w->out.pending;
    if (!w->log_has_head)
        w->log_start_ms = c->since_ms; /* a 400 or 408: since the head began */
    if (status >= 100 && status < 600)
        stats_add(&c->srv->stats->responses_by_class[status / 100], 1);
    /* Status line, Date and Server in one copy: each is prebuilt. An HTTP/2
     * stream's head collects as field lines (its status is log_status) and
     * becomes HEADERS at conn_resp_end. */
    size_t slen, dlen;
    const char *sline = conn_status_line(status, &slen);
    const char *date = server_date_line(c->srv, &dlen);
    if (c->h2s)
        slen = 0;
    size_t total = slen + dlen + c->srv->server_len;
    char *p = outq_reserve(&w->out, total);
    if (!p) {
        conn_want_close(c, CONN_CLOSE_ERROR);
        return;
    }
    memcpy(p, sline, slen);
    memcpy(p + slen, date, dlen);
    memcpy(p + slen + dlen, c->srv->server_line, c->srv->server_len);
    outq_commit(&w->out, total);
}

/* Decide what becomes of a body the response did not wait for: read and
 * discard it if it is small and its length known (the connection stays), or
 * close through the lingering close. A client that asked for 100-continue
 * may never send the body, so reading it could hang or misparse: close. */
void conn_settle_unread_body(struct conn *c)
{
    struct conn_work *w = c->w;
    if (w->sink || w->body_done || w->body_framing == HTTP1_BODY_NONE)
        return;
    if (w->body_framing == HTTP1_BODY_LENGTH && !w->req.expect_continue &&
        w->body_left <= conn_cfg(c)->discard_body_max_bytes)
        w->discard_after = true;
    else
        conn_want_close(c, CONN_CLOSE_UNREAD_BODY);
}

/* The statuses add_header (without always) and expires apply to: nginx's
 * list, so a configuration carried over means the same. */
static bool conn_status_takes_site_fields(int status)
{
    switch (status) {
    case 200: case 201: case 204: case 206: case 301: case 302: case 303: case 304: case 307:
    case 308:
        return true;
    default:
        return false;
    }
}

/* expires (RFC 9111 §5.3 Expires, §5.2.2.1 max-age): both, so HTTP/1.0
 * caches and current ones agree. */
static void conn_resp_expires(struct conn *c, int64_t expires_s)
{
    char line[96], date[HTTPDATE_LEN + 1];
    int n;
    if (expires_s == CONFIG_EXPIRES_EPOCH) {
        static const char epoch[] = "Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\n"
                                    "Cache-Control: no-cache\r\n";
        conn_out(c, epoch, sizeof epoch - 1);
        return;
    }
    if (expires_s == CONFIG_EXPIRES_MAX) {
        /* as nginx: the last date every 32-bit time_t can still hold */
        static const char max[] = "Expires: Thu, 31 Dec 2037 23:55:55 GMT\r\n"
                                  "Cache-Control: max-age=315360000\r\n";
        conn_out(c, max, sizeof max - 1);
        return;
    }
    httpdate_format(loop_wall_s(c->srv->loop) + (time_t)expires_s, date);
    n = snprintf(line, sizeof line, "Expires: %s\r\nCache-Control: max-age=%lld\r\n", date,
                 (long long)expires_s);
    conn_out(c, line, (size_t)n);
}

/* add_header and expires of the request's location. */
static void conn_resp_site_fields(struct conn *c, const struct config_location *loc)
{
    if (conn_status_takes_site_fields(c->w->log_status)) {
        if (loc->headers.ok)
            conn_out(c, loc->headers.ok, strlen(loc->headers.ok));
        if (loc->expires_s != CONFIG_EXPIRES_OFF)
            conn_resp_expires(c, loc->expires_s);
    }
    if (loc->headers.always)
        conn_out(c, loc->headers.always, strlen(loc->headers.always));
}

void conn_set_location(struct conn *c, const struct config_location *loc)
{
    c->w->loc = loc;
}

void conn_resp_end(struct conn *c, int64_t content_length)
{
    struct server *srv = c->srv;
    struct conn_work *w = c->w;
    if (c->h2s) {
        if (w->loc && w->loc->adds_fields)
            conn_resp_site_fields(c, w->loc);
        http2_stream_resp_end(c, content_length);
        w->log_body_bytes = content_length > 0 && !w->head_only ? (uint64_t)content_length : 0;
        w->log_body_streamed = content_length < 0 && !w->head_only;
        return;
    }
    conn_settle_unread_body(c);
    if (w->loc && w->loc->adds_fields)
        conn_resp_site_fields(c, w->loc);
    /* The end of a head in one copy: Content-Length, the connection's
     * fate, the empty line. */
    char end[224];
    size_t n = 0;
    if (content_length >= 0) {
        memcpy(end, "Content-Length: ", 16);
        n = 16 + http1_format_u64((uint64_t)content_length, end + 16);
        end[n++] = '\r';
        end[n++] = '\n';
    }
    if (!c->keep_alive) {
        memcpy(end + n, "Connection: close\r\n", 19);
        n += 19;
    } else {
        if (w->req.version_minor == 0) {
            memcpy(end + n, "Connection: keep-alive\r\n", 24);
            n += 24;
        }
        memcpy(end + n, srv->keep_alive_line, srv->keep_alive_len);
        n += srv->keep_alive_len;
    }
    if (srv->hsts_len && conn_is_tls(c)) {
        /* RFC 6797 §7.2: only over a secure transport. */
        memcpy(end + n, srv->hsts_line, srv->hsts_len);
        n += srv->hsts_len;
    }
    end[n++] = '\r';
    end[n++] = '\n';
    conn_out(c, end, n);
    w->log_body_bytes = content_length > 0 && !w->head_only ? (uint64_t)content_length : 0;
    w->log_bytes = w->out.pending - w->log_mark + w->log_body_bytes;
    w->log_body_streamed = content_length < 0 && w->deferred;
}

bool conn_frames_body(const struct conn *c)
{
    return c->h2s != NULL;
}

bool conn_resp_trailers(struct conn *c, const char *lines, size_t len)
{
    if (!c->h2s || c->w->head_only)
        return false;
    return http2_stream_resp_trailers(c, lines, len);
}

void conn_resp_tunnel_head(struct conn *c)
{
    struct conn_work *w = c->w;
    conn_out(c, "\r\n", 2);
    w->log_bytes = w->out.pending - w->log_mark;
    w->log_body_streamed = false;
}

void conn_resp_body(struct conn *c, const void *data, size_t len)
{
    struct conn_work *w = c->w;
    if (w->head_only || !len)
        return;
    conn_out(c, data, len);
    if (w->log_body_streamed) {
        w->log_body_bytes += len;
        w->log_bytes += len;
    }
    if (c->h2s)
        http2_stream_resp_more(c);
}

/* ---- a response that comes later ---- */

void conn_note_upstream(struct conn *c, const char *addr, int status, uint64_t time_ms)
{
    struct conn_work *w = c->w;
    w->log_upstream_addr = addr;
    w->log_upstream_status = status;
    w->log_upstream_ms = time_ms;
}

void conn_defer(struct conn *c, const struct conn_deferred *d, void *ctx)
{
    struct conn_work *w = c->w;
    w->deferred = d;
    w->deferred_ctx = ctx;
    w->deferred_done = false;
    w->room_wanted = false;
}

bool conn_resp_has_room(struct conn *c)
{
    struct conn_work *w = c->w;
    bool room = w->out.pending < CONN_DEFERRED_ROOM_BYTES &&
                w->out.count + CONN_SEGS_PER_RESPONSE <= OUTQ_SEGS_MAX;
    if (!room)
        w->room_wanted = true;
    return room;
}

void conn_wake(struct conn *c)
{
    if (c->h2s)
        http2_stream_wake(c);
    else
        conn_yield(c);
}

void conn_resp_done(struct conn *c)
{
    c->w->deferred_done = true;
    conn_wake(c);
}

void conn_offer_room(struct conn *c)
{
    struct conn_work *w = c->w;
    if (!w || !w->deferred || w->deferred_done || !w->room_wanted ||
        c->state == CONN_CLOSED || c->state == CONN_LINGER)
        return;
    if (w->out.pending >= CONN_DEFERRED_ROOM_BYTES)
        return;
    w->room_wanted = false;
    w->deferred->on_room(c, w->deferred_ctx);
}

void conn_cancel_deferred(struct conn *c)
{
    struct conn_work *w = c->w;
    if (!w || !w->deferred)
        return;
    const struct conn_deferred *d = w->deferred;
    bool done = w->deferred_done;
    w->deferred = NULL;
    if (done)
        return;
    if (w->responded)
        conn_want_close(c, CONN_CLOSE_ERROR); /* a response cut short: only a close says so */
    d->on_abort(c, w->deferred_ctx);
}

/* AWAIT: send what the handler queued; once it is done, go on as after any
 * response. */
void conn_on_await(struct conn *c, bool timeout)
{
    struct conn_work *w = c->w;
    if (timeout) {
        if (!conn_deadline_passed(c))
            return;
        if (outq_is_empty(&w->out)) {
            /* Nothing waits for the client: the handler's deadlines bound
             * this wait, not send_timeout. */
            c->progress_ms = conn_now_ms(c);
            conn_arm_deadline(c);
            return;
        }
        c->close_why = CONN_CLOSE_SEND_TIMEOUT;
        conn_finish(c, STATS_CLOSE_SEND_TIMEOUT);
        return;
    }
    if (c->tunnel) {
        conn_set_state(c, CONN_TUNNEL);
        return;
    }
    if (w->sink && !w->body_done && !w->deferred_done) {
        /* The handler asked for the body only now (the upstream's 100). */
        conn_set_state(c, CONN_READ_BODY);
        return;
    }
    int rc = conn_flush(c);
    if (rc < 0 && rc != -EAGAIN) {
        conn_peer_gone(c, true);
        return;
    }
    if (w->deferred_done)
        conn_request_done(c);
}

void conn_resp_file(struct conn *c, int fd, uint64_t off, uint64_t len)
{
    if (c->w->head_only || len == 0 || outq_add_file(&c->w->out, fd, off, len) < 0) {
        close(fd);
        return;
    }
    if (c->h2s)
        http2_stream_resp_more(c);
}

static bool conn_status_loses_framing(int status)
{
    switch (status) {
    case 400: case 408: case 411: case 413: case 414: case 417: case 431: case 501: case 505:
        return true;
    default:
        return false;
    }
}

void conn_resp_text(struct conn *c, int status, const char *extra, const char *text)
{
    size_t n = strlen(text);
    if (conn_status_loses_framing(status))
        conn_want_close(c, CONN_CLOSE_ERROR);
    conn_resp_begin(c, status);
    conn_out(c, "Content-Type: text/plain\r\n", 26);
    if (extra)
        conn_out(c, extra, strlen(extra));
    conn_resp_end(c, (int64_t)n);
    conn_resp_body(c, text, n);
}

void conn_resp_error(struct conn *c, int status, const char *extra)
{
    char body[256];
    const char *phrase = conn_reason_phrase(status);
    int n = snprintf(body, sizeof body,
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
                     "<body><h1>%d %s</h1></body></html>\n",
                     status, phrase, status, phrase);
    if (conn_status_loses_framing(status))
        conn_want_close(c, CONN_CLOSE_ERROR);
    if (status == 503 && !extra)
        extra = "Retry-After: 1\r\n"; /* a passing shortage (descriptors, memory) */
    /* error_page of the request's location; the page is a file, served once:
     * nothing there can call back here */
    const struct config_location *loc = c->w->loc;
    if (loc && loc->error_pages.n && c->srv->error_page &&
        c->srv->error_page(c, loc, status, extra))
        return;
    conn_resp_begin(c, status);
    conn_out(c, "Content-Type: text/html\r\n", 25);
    if (extra)
        conn_out(c, extra, strlen(extra));
    conn_resp_end(c, n);
    conn_resp_body(c, body, (size_t)n);
}
