/* status_http2 — the HTTP/2 counters on /server-status (?auto and HTML) and
 * /metrics: connections and streams, requests carried by HTTP/2, GOAWAY
 * and RST_STREAM frames by error code, DATA thrown away after early
 * answers, and the abuses cut (docs/http2.md).
 *
 * Every series is on every page, zero on a server without HTTP/2 traffic,
 * as the TLS counters are (a series that appears later is harder to
 * graph). Error codes are RFC 9113 §7's names (stats_h2_code_name).
 */
#include "status_internal.h"

static const char *const status_http2_frame_keys[4] = { "GoawaySent", "GoawayReceived",
                                                        "RstStreamSent", "RstStreamReceived" };
static const char *const status_http2_frame_metrics[4] = {
    "lingerd_http2_goaway_sent_total", "lingerd_http2_goaway_received_total",
    "lingerd_http2_rst_stream_sent_total", "lingerd_http2_rst_stream_received_total"
};
static const char *const status_http2_frame_help[4] = {
    "GOAWAY frames sent, by error code.", "GOAWAY frames received, by error code.",
    "RST_STREAM frames sent, by error code.", "RST_STREAM frames received, by error code."
};

static const uint64_t *status_http2_frames(const struct stats *st, int which)
{
    switch (which) {
    case 0: return st->h2_goaway_sent;
    case 1: return st->h2_goaway_received;
    case 2: return st->h2_rst_sent;
    default: return st->h2_rst_received;
    }
}

/* The abuse names by index, for status_metric_family. */
static const char *status_http2_abuse_label(unsigned i)
{
    return stats_h2_abuse_name((enum stats_h2_abuse)i);
}

void status_render_http2_auto(struct status_out *o, const struct stats *st)
{
    status_printf(o, "HTTP2Connections: %llu\nHTTP2Streams: %llu\nHTTP2Requests: %llu\n"
                     "HTTP2DiscardedBytes: %llu\n",
                  (unsigned long long)st->h2_connections, (unsigned long long)st->h2_streams,
                  (unsigned long long)st->requests_h2,
                  (unsigned long long)st->h2_discarded_bytes);
    /* Per code only where one was counted: fourteen codes, four frame kinds. */
    for (int k = 0; k < 4; k++) {
        const uint64_t *v = status_http2_frames(st, k);
        for (unsigned i = 0; i < STATS_H2_CODES; i++)
            if (v[i])
                status_printf(o, "HTTP2%s_%s: %llu\n", status_http2_frame_keys[k],
                              stats_h2_code_name(i), (unsigned long long)v[i]);
    }
    for (unsigned i = 0; i < STATS_H2_ABUSE_COUNT; i++)
        status_printf(o, "HTTP2Abuse_%s: %llu\n", stats_h2_abuse_name((enum stats_h2_abuse)i),
                      (unsigned long long)st->h2_abuse[i]);
}

void status_render_http2_metrics(struct status_out *o, const struct stats *st)
{
    status_metric(o, "lingerd_http2_requests_total", "counter",
                  "Requests carried by HTTP/2 streams (also counted in lingerd_requests_total).",
                  st->requests_h2);
    status_metric(o, "lingerd_http2_connections_total", "counter",
                  "Connections that spoke HTTP/2 (ALPN h2, or the preface with "
                  "http2_cleartext).",
                  st->h2_connections);
    status_metric(o, "lingerd_http2_streams_total", "counter", "HTTP/2 streams clients opened.",
                  st->h2_streams);
    for (int k = 0; k < 4; k++) {
        status_metric_family(o, status_http2_frame_metrics[k], "counter",
                             status_http2_frame_help[k], "code", stats_h2_code_name,
                             status_http2_frames(st, k), STATS_H2_CODES);
    }
    status_metric(o, "lingerd_http2_discarded_bytes_total", "counter",
                  "DATA bytes thrown away: a stream answered early, or closed, still sent them "
                  "(given back to the flow-control windows).",
                  st->h2_discarded_bytes);
    status_metric_family(o, "lingerd_http2_abuse_total", "counter",
                         "HTTP/2 connections or streams cut for abuse, by kind.", "kind",
                         status_http2_abuse_label, st->h2_abuse, STATS_H2_ABUSE_COUNT);
}

void status_render_http2_html(struct status_out *o, const struct stats *st)
{
    uint64_t goaway = 0, rst = 0, abuse = 0;
    for (unsigned i = 0; i < STATS_H2_CODES; i++) {
        goaway += st->h2_goaway_sent[i];
        rst += st->h2_rst_sent[i];
    }
    for (unsigned i = 0; i < STATS_H2_ABUSE_COUNT; i++)
        abuse += st->h2_abuse[i];
    status_printf(o, "<h2>HTTP/2</h2>\n<p class=\"meta\">connections: <span id=\"h2-conns\">%llu"
                     "</span> &middot; streams: <span id=\"h2-streams\">%llu</span> &middot; "
                     "requests: <span id=\"h2-requests\">%llu</span> &middot; GOAWAY sent: "
                     "<span id=\"h2-goaway\">%llu</span> &middot; RST_STREAM sent: <span "
                     "id=\"h2-rst\">%llu</span> &middot; DATA discarded: <span "
                     "id=\"h2-discarded\">%llu</span> B &middot; abuses cut: <span "
                     "id=\"h2-abuse\">%llu</span></p>\n",
                  (unsigned long long)st->h2_connections, (unsigned long long)st->h2_streams,
                  (unsigned long long)st->requests_h2, (unsigned long long)goaway,
                  (unsigned long long)rst, (unsigned long long)st->h2_discarded_bytes,
                  (unsigned long long)abuse);
}
