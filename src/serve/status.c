/* status — render the shared counters as HTML, Apache ?auto text and
 * Prometheus metrics (status_answer.c answers status_path and metrics_path).
 *
 * One snapshot per page: status_render sums the table once (live rows plus
 * retired workers) and every figure on the page comes from that sum, so the
 * page agrees with itself even while workers keep counting. A worker's row
 * may move on mid-read: each word is read whole, and the page is as exact as
 * a moment's snapshot can be. Rendering writes into the caller's buffer
 * (status_answer.c: one static buffer per process) and allocates nothing.
 *
 * Names on the pages: Apache's ?auto keys where they mean the same thing
 * (Total Accesses, Total kBytes, ConnsTotal, ConnsAsyncWriting,
 * ConnsAsyncKeepAlive, ConnsAsyncClosing, Uptime, ...), so existing
 * collectors read them; lingerd's own keys for what Apache lacks (each
 * state, each close outcome, TLS). Metrics are lingerd_*, labelled state=,
 * outcome=, reason= and version= with the names of stats.c.
 *
 * TLS: the handshake counters are on every page, zero on a plain server (a
 * zero is harmless to a collector, and a series that appears only later is
 * harder to graph). Which TLS listeners there are and how their records are
 * encrypted (kTLS or OpenSSL in the worker) is shown only when there are
 * any; the HTML page's TLS section and per-worker TLS columns likewise, or
 * while counts from an earlier configuration remain.
 */
#include "status.h"
#include "proxy.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "status_internal.h"

/* ---- bounded text output, cut at a line boundary ---- */

void status_printf(struct status_out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->full = true;
        o->len = o->line_end;
        return;
    }
    o->len += (size_t)n;
    for (size_t i = o->len; i > o->line_end; i--)
        if (o->p[i - 1] == '\n') {
            o->line_end = i;
            break;
        }
}

/* Text for HTML: & < > " ' escaped. */
static void status_html_text(struct status_out *o, const char *s)
{
    for (; *s && !o->full; s++) {
        switch (*s) {
        case '&': status_printf(o, "&amp;"); break;
        case '<': status_printf(o, "&lt;"); break;
        case '>': status_printf(o, "&gt;"); break;
        case '"': status_printf(o, "&quot;"); break;
        case '\'': status_printf(o, "&#39;"); break;
        default: status_printf(o, "%c", *s); break;
        }
    }
}

/* ---- the snapshot ---- */

struct status_snapshot {
    struct stats sum;
    uint64_t workers;     /* live rows */
    uint64_t started_s;
    uint64_t uptime_s;
};

/* Shown as responding rather than reading its head: the asking connection. */
static void status_move_self(uint64_t *conns)
{
    if (conns[STATS_READ_HEAD] > 0) {
        conns[STATS_READ_HEAD]--;
        conns[STATS_RESPOND]++;
    }
}

static void status_take(const struct stats_table *t, const struct status_view *v,
                        struct status_snapshot *s)
{
    stats_table_sum(t, &s->sum);
    s->workers = 0;
    for (size_t i = 0; i < STATS_ROWS_MAX; i++)
        if (__atomic_load_n(&t->rows[i].in_use, __ATOMIC_ACQUIRE))
            s->workers++;
    if (v->self_row)
        status_move_self(s->sum.conns);
    s->started_s = __atomic_load_n(&t->started_s, __ATOMIC_RELAXED);
    for (size_t i = 0; s->started_s == 0 && i < STATS_ROWS_MAX; i++)
        if (__atomic_load_n(&t->rows[i].in_use, __ATOMIC_ACQUIRE))
            s->started_s = t->rows[i].started_s; /* no master start: the first worker's */
    uint64_t started = s->started_s;
    s->uptime_s = (uint64_t)v->now_s > started ? (uint64_t)v->now_s - started : 0;
}

static uint64_t status_conns_total(const struct stats *st)
{
    uint64_t n = 0;
    for (size_t i = 0; i < STATS_STATE_COUNT; i++)
        n += st->conns[i];
    return n;
}

/* ---- labels ---- */

static const char *const status_state_labels[] = {
    [STATS_READ_HEAD] = "reading head",
    [STATS_READ_BODY] = "reading body",
    [STATS_WAIT_IO] = "waiting for disk",
    [STATS_RESPOND] = "responding",
    [STATS_IDLE] = "idle keep-alive",
    [STATS_LINGER] = "lingering",
    [STATS_PROXY_HEADER] = "reading PROXY header",
};
static_assert(sizeof status_state_labels / sizeof status_state_labels[0] == STATS_STATE_COUNT,
              "a state without a label");

/* ?auto keys of lingerd's own, CamelCase like Apache's. */
static const char *const status_state_keys[] = {
    [STATS_READ_HEAD] = "ConnsReadingHead",
    [STATS_READ_BODY] = "ConnsReadingBody",
    [STATS_WAIT_IO] = "ConnsWaitingIO",
    [STATS_RESPOND] = "ConnsResponding",
    [STATS_IDLE] = "ConnsIdleKeepAlive",
    [STATS_LINGER] = "ConnsLingering",
    [STATS_PROXY_HEADER] = "ConnsReadingProxyHeader",
};
static_assert(sizeof status_state_keys / sizeof status_state_keys[0] == STATS_STATE_COUNT,
              "a state without a key");

static const struct {
    const char *label, *key, *help;
} status_outcomes[] = {
    [STATS_CLOSE_PLAIN] = { "closed at once", "ClosesPlain",
                            "no lingering needed, or lingering_close off" },
    [STATS_CLOSE_CLIENT_CLOSED] = { "client closed", "ClosesClientClosed",
                                    "lingered until the client's FIN" },
    [STATS_CLOSE_WENT_SILENT] = { "went silent", "ClosesWentSilent",
                                  "lingered until lingering_timeout passed without a byte" },
    [STATS_CLOSE_STILL_SENDING] = { "still sending at the cap", "ClosesStillSending",
                                    "lingering_time or lingering_max_bytes reached" },
    [STATS_CLOSE_SHED] = { "shed under pressure", "ClosesShed",
                           "closed at once to make room (lingering_max_conns, "
                           "connections_max, descriptors)" },
    [STATS_CLOSE_RESET] = { "reset by the client", "ClosesReset",
                            "the client reset the connection while it closed" },
    [STATS_CLOSE_SEND_TIMEOUT] = { "send timed out", "ClosesSendTimeout",
                                   "the response could not be flushed within send_timeout" },
};
static_assert(sizeof status_outcomes / sizeof status_outcomes[0] == STATS_OUTCOME_COUNT,
              "an outcome without a label");

static const struct {
    const char *label, *key, *help;
} status_tls_failures[] = {
    [STATS_TLS_FAIL_TIMEOUT] = { "timed out", "TLSHandshakeFailuresTimeout",
                                 "not done within tls_handshake_timeout" },
    [STATS_TLS_FAIL_PLAIN_HTTP] = { "plain HTTP to a TLS port", "TLSHandshakeFailuresPlainHTTP",
                                    "answered with a plain-text 400" },
    [STATS_TLS_FAIL_PROTOCOL] = { "refused", "TLSHandshakeFailuresProtocol",
                                  "a protocol version, cipher or message the server refuses" },
    [STATS_TLS_FAIL_CLOSED] = { "client left", "TLSHandshakeFailuresClosed",
                                "the client closed or reset during the handshake" },
};
static_assert(sizeof status_tls_failures / sizeof status_tls_failures[0] ==
                  STATS_TLS_FAIL_COUNT,
              "a handshake failure without a label");

static const struct {
    const char *name, *why;
} status_tls_paths[] = {
    [STATUS_TLS_KTLS] = { "ktls", "the kernel encrypts (kTLS): file bodies go by sendfile" },
    [STATUS_TLS_USER_OFF] = { "user-space", "OpenSSL encrypts in the worker: ktls off" },
    [STATUS_TLS_USER_KERNEL] = { "user-space", "OpenSSL encrypts in the worker: the kernel "
                                               "does not offer the tls module" },
};
static_assert(sizeof status_tls_paths / sizeof status_tls_paths[0] == STATUS_TLS_PATH_COUNT,
              "a TLS path without a name");

const char *status_tls_path_name(enum status_tls_path p)
{
    return p < STATUS_TLS_PATH_COUNT ? status_tls_paths[p].name : "?";
}

static const char *status_tls_path_why(enum status_tls_path p)
{
    return p < STATUS_TLS_PATH_COUNT ? status_tls_paths[p].why : "?";
}

enum status_tls_path status_tls_path_for(bool ktls_on, bool kernel_has_ktls)
{
    if (!ktls_on)
        return STATUS_TLS_USER_OFF;
    return kernel_has_ktls ? STATUS_TLS_KTLS : STATUS_TLS_USER_KERNEL;
}

static uint64_t status_tls_handshakes(const struct stats *st)
{
    return st->tls_handshakes_full + st->tls_handshakes_resumed;
}

static uint64_t status_tls_failures_total(const struct stats *st)
{
    uint64_t n = 0;
    for (size_t i = 0; i < STATS_TLS_FAIL_COUNT; i++)
        n += st->tls_handshake_failures[i];
    return n;
}

/* The HTML page's TLS parts: for TLS listeners, or counts they left. */
static bool status_tls_shown(const struct status_view *v, const struct stats *st)
{
    return v->tls_listener_count > 0 || status_tls_handshakes(st) > 0 ||
           status_tls_failures_total(st) > 0;
}

/* "Tuesday, 02-Jan-2024 10:00:00 UTC", as Apache writes CurrentTime. */
static void status_time_text(time_t s, char *buf, size_t cap)
{
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, cap, "%A, %d-%b-%Y %H:%M:%S UTC", &tm);
}

/* "1 day 2 hours 3 minutes 4 seconds", as Apache writes ServerUptime. */
static void status_uptime_text(uint64_t s, char *buf, size_t cap)
{
    static const struct {
        const char *unit;
        uint64_t secs;
    } parts[] = { { "day", 86400 }, { "hour", 3600 }, { "minute", 60 }, { "second", 1 } };
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        uint64_t k = s / parts[i].secs;
        s %= parts[i].secs;
        if (k == 0 && !(i == 3 && n == 0))
            continue;
        int w = snprintf(buf + n, cap - n, "%s%llu %s%s", n ? " " : "", (unsigned long long)k,
                         parts[i].unit, k == 1 ? "" : "s");
        if (w < 0 || (size_t)w >= cap - n)
            return;
        n += (size_t)w;
    }
}

/* ---- ?auto ---- */

static void status_render_auto(struct status_out *o, const struct stats_table *t,
                               const struct status_view *v, const struct status_snapshot *s)
{
    const struct stats *st = &s->sum;
    char now[64], restart[64], up[96];
    uint64_t up_s = s->uptime_s ? s->uptime_s : 1;
    uint64_t bytes = st->bytes_out;

    status_time_text(v->now_s, now, sizeof now);
    status_time_text((time_t)s->started_s, restart, sizeof restart);
    status_uptime_text(s->uptime_s, up, sizeof up);
    status_printf(o, "%s\n", v->server_name);
    status_printf(o, "ServerVersion: lingerd/%s\n", v->version);
    status_printf(o, "ServerMPM: lingerd\n");
    status_printf(o, "CurrentTime: %s\n", now);
    status_printf(o, "RestartTime: %s\n", restart);
    status_printf(o, "ParentServerConfigGeneration: %llu\n",
                  (unsigned long long)t->generation);
    status_printf(o, "ServerUptimeSeconds: %llu\n", (unsigned long long)s->uptime_s);
    status_printf(o, "ServerUptime: %s\n", up);
    status_printf(o, "Total Accesses: %llu\n", (unsigned long long)st->requests);
    status_printf(o, "Total kBytes: %llu\n", (unsigned long long)(bytes / 1024));
    status_printf(o, "Uptime: %llu\n", (unsigned long long)s->uptime_s);
    status_printf(o, "ReqPerSec: %g\n", (double)st->requests / (double)up_s);
    status_printf(o, "BytesPerSec: %g\n", (double)bytes / (double)up_s);
    status_printf(o, "BytesPerReq: %g\n",
                  st->requests ? (double)bytes / (double)st->requests : 0.0);
    status_printf(o, "Processes: %llu\n", (unsigned long long)s->workers);
    status_printf(o, "ConnsTotal: %llu\n", (unsigned long long)status_conns_total(st));
    status_printf(o, "ConnsAsyncWriting: %llu\n", (unsigned long long)st->conns[STATS_RESPOND]);
    status_printf(o, "ConnsAsyncKeepAlive: %llu\n", (unsigned long long)st->conns[STATS_IDLE]);
    status_printf(o, "ConnsAsyncClosing: %llu\n", (unsigned long long)st->conns[STATS_LINGER]);
    /* lingerd's own */
    for (size_t i = 0; i < STATS_STATE_COUNT; i++)
        status_printf(o, "%s: %llu\n", status_state_keys[i], (unsigned long long)st->conns[i]);
    for (size_t i = 0; i < STATS_OUTCOME_COUNT; i++)
        status_printf(o, "%s: %llu\n", status_outcomes[i].key, (unsigned long long)st->closes[i]);
    status_printf(o, "ClosesByClient: %llu\n", (unsigned long long)st->client_closes);
    status_printf(o, "Lingered: %llu\n", (unsigned long long)st->lingered);
    status_printf(o, "LingerDiscardedBytes: %llu\n",
                  (unsigned long long)st->linger_discarded_bytes);
    status_printf(o, "FinWait2Bounded: %llu\n", (unsigned long long)st->fin_wait2_bounded);
    status_printf(o, "Accepted: %llu\n", (unsigned long long)st->accepted);
    status_printf(o, "AcceptErrors: %llu\n", (unsigned long long)st->accept_errors);
    status_printf(o, "BytesReceived: %llu\n", (unsigned long long)st->bytes_in);
    status_printf(o, "BytesSent: %llu\n", (unsigned long long)st->bytes_out);
    for (size_t i = 1; i < 6; i++)
        status_printf(o, "Responses%zuxx: %llu\n", i,
                      (unsigned long long)st->responses_by_class[i]);
    status_printf(o, "ProxyHeadersV1: %llu\nProxyHeadersV2: %llu\nProxyLocal: %llu\n",
                  (unsigned long long)st->proxy_headers[0],
                  (unsigned long long)st->proxy_headers[1], (unsigned long long)st->proxy_local);
    for (size_t i = 0; i < STATS_PROXY_FAIL_COUNT; i++)
        status_printf(o, "ProxyFailures_%s: %llu\n",
                      stats_proxy_failure_name((enum stats_proxy_failure)i),
                      (unsigned long long)st->proxy_failures[i]);
    status_printf(o, "RealIPUsed: %llu\nHealthDown: %llu\n",
                  (unsigned long long)st->real_ip_used, (unsigned long long)t->health_down);
    status_printf(o, "Reloads: %llu\n", (unsigned long long)t->reloads);
    status_printf(o, "WorkerRestarts: %llu\n", (unsigned long long)t->worker_restarts);
    status_printf(o, "TLSHandshakesFull: %llu\n", (unsigned long long)st->tls_handshakes_full);
    status_printf(o, "TLSHandshakesResumed: %llu\n",
                  (unsigned long long)st->tls_handshakes_resumed);
    for (size_t i = 0; i < STATS_TLS_FAIL_COUNT; i++)
        status_printf(o, "%s: %llu\n", status_tls_failures[i].key,
                      (unsigned long long)st->tls_handshake_failures[i]);
    for (size_t i = 0; i < STATS_TLS_VERSION_COUNT; i++)
        status_printf(o, "%sHandshakes: %llu\n",
                      stats_tls_version_name((enum stats_tls_version)i),
                      (unsigned long long)st->tls_versions[i]);
    status_printf(o, "TLSALPNHttp11: %llu\n", (unsigned long long)st->tls_alpn_http11);
    status_printf(o, "TLSALPNNone: %llu\n", (unsigned long long)st->tls_alpn_none);
    status_printf(o, "TLSALPNH2: %llu\n", (unsigned long long)st->tls_alpn_h2);
    status_printf(o, "GzipCacheHits: %llu\nGzipCacheMisses: %llu\nGzipCacheEvictions: %llu\n"
                     "GzipCacheBytes: %llu\n",
                  (unsigned long long)st->gzip_cache_hits,
                  (unsigned long long)st->gzip_cache_misses,
                  (unsigned long long)st->gzip_cache_evictions,
                  (unsigned long long)st->gzip_cache_bytes);
    status_render_http2_auto(o, st);
    if (v->tls_listener_count == 0)
        return;
    status_printf(o, "TLSListeners:");
    for (size_t i = 0; i < v->tls_listener_count; i++)
        status_printf(o, " %s", v->tls_listeners[i]);
    status_printf(o, "\nTLSEncryption: %s (%s)\n", status_tls_path_name(v->tls_path),
                  status_tls_path_why(v->tls_path));
}

/* ---- /metrics ---- */

void status_metric_head(struct status_out *o, const char *name, const char *type,
                        const char *help)
{
    status_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void status_metric(struct status_out *o, const char *name, const char *type, const char *help,
                   uint64_t value)
{
    status_metric_head(o, name, type, help);
    status_printf(o, "%s %llu\n", name, (unsigned long long)value);
}

void status_metric_family(struct status_out *o, const char *name, const char *type,
                          const char *help, const char *label, status_label_fn *label_of,
                          const uint64_t *values, unsigned count)
{
    status_metric_head(o, name, type, help);
    for (unsigned i = 0; i < count; i++)
        status_printf(o, "%s{%s=\"%s\"} %llu\n", name, label, label_of(i),
                      (unsigned long long)values[i]);
}

/* The enums' names by index, for status_metric_family. */
static const char *status_state_label(unsigned i)
{
    return stats_state_name((enum stats_state)i);
}

static const char *status_outcome_label(unsigned i)
{
    return stats_outcome_name((enum stats_outcome)i);
}

static const char *status_tls_failure_label(unsigned i)
{
    return stats_tls_failure_name((enum stats_tls_failure)i);
}

static const char *status_tls_version_label(unsigned i)
{
    return stats_tls_version_name((enum stats_tls_version)i);
}

static const char *status_proxy_failure_label(unsigned i)
{
    return stats_proxy_failure_name((enum stats_proxy_failure)i);
}

/* A label value: \\, \" and \n escaped, as the exposition format asks. */
static void status_label_value(struct status_out *o, const char *s)
{
    for (; *s && !o->full; s++) {
        switch (*s) {
        case '\\': status_printf(o, "\\\\"); break;
        case '"': status_printf(o, "\\\""); break;
        case '\n': status_printf(o, "\\n"); break;
        default: status_printf(o, "%c", *s); break;
        }
    }
}

static void status_render_tls_metrics(struct status_out *o, const struct status_view *v,
                                      const struct stats *st)
{
    status_metric_head(o, "lingerd_tls_handshakes_total", "counter",
                       "TLS handshakes completed: full, or resumed from a session ticket.");
    status_printf(o, "lingerd_tls_handshakes_total{result=\"full\"} %llu\n"
                     "lingerd_tls_handshakes_total{result=\"resumed\"} %llu\n",
                  (unsigned long long)st->tls_handshakes_full,
                  (unsigned long long)st->tls_handshakes_resumed);
    status_metric_family(o, "lingerd_tls_handshake_failures_total", "counter",
                         "TLS handshakes that failed, by reason.", "reason",
                         status_tls_failure_label, st->tls_handshake_failures,
                         STATS_TLS_FAIL_COUNT);
    status_metric_family(o, "lingerd_tls_versions_total", "counter",
                         "TLS handshakes completed, by protocol version.", "version",
                         status_tls_version_label, st->tls_versions, STATS_TLS_VERSION_COUNT);
    status_metric_head(o, "lingerd_tls_alpn_total", "counter",
                       "TLS handshakes completed, by the protocol ALPN chose (none: no ALPN).");
    status_printf(o, "lingerd_tls_alpn_total{protocol=\"http/1.1\"} %llu\n"
                     "lingerd_tls_alpn_total{protocol=\"none\"} %llu\n"
                     "lingerd_tls_alpn_total{protocol=\"h2\"} %llu\n",
                  (unsigned long long)st->tls_alpn_http11,
                  (unsigned long long)st->tls_alpn_none, (unsigned long long)st->tls_alpn_h2);
    if (v->tls_listener_count == 0)
        return;
    status_metric_head(o, "lingerd_tls_listener_info", "gauge",
                       "TLS listeners and how their records are encrypted (ktls or user-space).");
    for (size_t i = 0; i < v->tls_listener_count; i++) {
        status_printf(o, "lingerd_tls_listener_info{listen=\"");
        status_label_value(o, v->tls_listeners[i]);
        status_printf(o, "\",encryption=\"%s\"} 1\n", status_tls_path_name(v->tls_path));
    }
}

static void status_render_metrics(struct status_out *o, const struct stats_table *t,
                                  const struct status_view *v, const struct status_snapshot *s)
{
    const struct stats *st = &s->sum;

    status_metric_family(o, "lingerd_connections", "gauge",
                         "Open connections by state (the scraping one counts as respond).",
                         "state", status_state_label, st->conns, STATS_STATE_COUNT);
    status_metric_family(o, "lingerd_closes_total", "counter",
                         "Closes the server started, by how they ended.", "outcome",
                         status_outcome_label, st->closes, STATS_OUTCOME_COUNT);
    status_metric(o, "lingerd_client_closes_total", "counter",
                  "Closes the client started (its FIN or reset came first).", st->client_closes);
    status_metric(o, "lingerd_lingered_total", "counter",
                  "Lingering closes started: half-closed, then drained.", st->lingered);
    status_metric(o, "lingerd_linger_discarded_bytes_total", "counter",
                  "Bytes read and discarded while lingering.", st->linger_discarded_bytes);
    status_metric(o, "lingerd_fin_wait2_bounded_total", "counter",
                  "Sockets closed in FIN_WAIT_2, bounded by fin_wait2_timeout (TCP_LINGER2).",
                  st->fin_wait2_bounded);
    status_metric(o, "lingerd_accepted_total", "counter", "Connections accepted.",
                  st->accepted);
    status_metric(o, "lingerd_accept_errors_total", "counter",
                  "accept() failures for lack of descriptors or memory.", st->accept_errors);
    status_metric(o, "lingerd_requests_total", "counter", "Requests whose head was parsed.",
                  st->requests);
    status_render_http2_metrics(o, st);
    status_metric_head(o, "lingerd_responses_total", "counter", "Responses by status class.");
    for (size_t i = 1; i < 6; i++)
        status_printf(o, "lingerd_responses_total{class=\"%zuxx\"} %llu\n", i,
                      (unsigned long long)st->responses_by_class[i]);
    status_metric(o, "lingerd_received_bytes_total", "counter", "Bytes read from clients.",
                  st->bytes_in);
    status_metric(o, "lingerd_sent_bytes_total", "counter", "Bytes sent to clients.",
                  st->bytes_out);
    status_metric(o, "lingerd_workers", "gauge", "Worker processes running.", s->workers);
    status_metric(o, "lingerd_start_time_seconds", "gauge",
                  "Start of the server (master), seconds since the Unix epoch.", s->started_s);
    status_metric(o, "lingerd_uptime_seconds", "gauge", "Seconds since the server started.",
                  s->uptime_s);
    status_metric(o, "lingerd_config_generation", "gauge",
                  "Configuration generation (1 more per reload).", t->generation);
    status_metric(o, "lingerd_reloads_total", "counter", "Configuration reloads.", t->reloads);
    status_metric(o, "lingerd_worker_restarts_total", "counter",
                  "Workers restarted after exiting unexpectedly.", t->worker_restarts);
    status_metric(o, "lingerd_gzip_cache_hits_total", "counter",
                  "gzip on the fly answered from the workers' caches.", st->gzip_cache_hits);
    status_metric(o, "lingerd_gzip_cache_misses_total", "counter",
                  "gzip on the fly that had to compress the file first.", st->gzip_cache_misses);
    status_metric(o, "lingerd_gzip_cache_evictions_total", "counter",
                  "Compressed files dropped to make room (gzip_cache_size).",
                  st->gzip_cache_evictions);
    status_metric(o, "lingerd_gzip_cache_bytes", "gauge",
                  "Bytes the workers' gzip caches hold.", st->gzip_cache_bytes);
    status_metric_head(o, "lingerd_proxy_headers_total", "counter",
                       "PROXY protocol headers read, by version.");
    status_printf(o, "lingerd_proxy_headers_total{version=\"1\"} %llu\n"
                     "lingerd_proxy_headers_total{version=\"2\"} %llu\n",
                  (unsigned long long)st->proxy_headers[0],
                  (unsigned long long)st->proxy_headers[1]);
    status_metric(o, "lingerd_proxy_local_total", "counter",
                  "PROXY headers without a client address (LOCAL, UNKNOWN, UNSPEC, AF_UNIX).",
                  st->proxy_local);
    status_metric_family(o, "lingerd_proxy_failures_total", "counter",
                         "Connections cut before their PROXY header was read, by reason.",
                         "reason", status_proxy_failure_label, st->proxy_failures,
                         STATS_PROXY_FAIL_COUNT);
    status_metric(o, "lingerd_real_ip_total", "counter",
                  "Requests whose client address was read from real_ip_header.",
                  st->real_ip_used);
    status_metric(o, "lingerd_health_down", "gauge",
                  "1 once drain_delay began: health_path answers 503.", t->health_down);
    status_render_tls_metrics(o, v, st);
    /* Upstreams: summed over this generation's workers (each has its own
     * pools; a reload numbers the upstreams anew). */
    if (!o->full && o->cap > o->len) {
        struct stats_upstream up[STATS_UPSTREAMS_MAX];
        stats_table_sum_upstreams(t, v->self_row ? v->self_row->generation : t->generation, up);
        o->len += proxy_format_metrics(up, o->p + o->len, o->cap - o->len);
        o->line_end = o->len;
    }
}

/* ---- HTML ---- */

static const char status_css[] =
    "body{font:15px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:64em;padding:0 1em;color:#1d2433;background:#fff}"
    "h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .5em;"
    "border-bottom:1px solid #d8dde6;padding-bottom:.2em}"
    "p.meta{color:#5a6478;margin:0}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.3em .7em;border-bottom:1px solid #eceff4}"
    "th{background:#f4f6fa;font-weight:600}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "td.note{color:#5a6478;font-size:.9em}"
    ".bar{display:inline-block;height:.7em;background:#4a7bd0;border-radius:2px;"
    "vertical-align:middle}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(11em,1fr));gap:.8em}"
    ".card{border:1px solid #d8dde6;border-radius:6px;padding:.6em .8em}"
    ".card b{display:block;font-size:1.4em;font-variant-numeric:tabular-nums}"
    ".card span{color:#5a6478;font-size:.9em}"
    "footer{margin-top:2em;color:#8a93a6;font-size:.85em}";

static void status_card(struct status_out *o, const char *label, uint64_t value,
                        const char *id)
{
    status_printf(o, "<div class=\"card\"><b id=\"%s\">%llu</b><span>%s</span></div>\n", id,
                  (unsigned long long)value, label);
}

/* A row of a two-column table with a bar scaled to max. */
static void status_bar_row(struct status_out *o, const char *label, const char *id,
                           uint64_t value, uint64_t max, const char *note)
{
    unsigned width = max ? (unsigned)(value * 200 / max) : 0;
    status_printf(o,
                  "<tr><td>%s</td><td class=\"n\" id=\"%s\">%llu</td>"
                  "<td><span class=\"bar\" style=\"width:%upx\"></span></td>"
                  "<td class=\"note\">%s</td></tr>\n",
                  label, id, (unsigned long long)value, width, note ? note : "");
}

/* The TLS section: listeners and their encryption, then the handshakes. */
static void status_render_tls_html(struct status_out *o, const struct status_view *v,
                                   const struct stats *st)
{
    uint64_t max = 0;

    status_printf(o, "<h2>TLS</h2>\n");
    if (v->tls_listener_count > 0) {
        status_printf(o, "<table id=\"tls-listeners\">\n<tr><th>listener</th>"
                         "<th>encryption</th><th>why</th></tr>\n");
        for (size_t i = 0; i < v->tls_listener_count; i++) {
            status_printf(o, "<tr><td>");
            status_html_text(o, v->tls_listeners[i]);
            status_printf(o, "</td><td class=\"tls-path\">%s</td><td class=\"note\">%s</td>"
                             "</tr>\n",
                          status_tls_path_name(v->tls_path), status_tls_path_why(v->tls_path));
        }
        status_printf(o, "</table>\n");
    } else {
        status_printf(o, "<p class=\"meta\">No TLS listener now; the counts are from "
                         "earlier configurations.</p>\n");
    }

    max = st->tls_handshakes_full > st->tls_handshakes_resumed ? st->tls_handshakes_full
                                                               : st->tls_handshakes_resumed;
    for (size_t i = 0; i < STATS_TLS_FAIL_COUNT; i++)
        max = st->tls_handshake_failures[i] > max ? st->tls_handshake_failures[i] : max;
    status_printf(o, "<table id=\"tls\">\n<tr><th>handshake</th><th class=\"n\">total</th>"
                     "<th></th><th>meaning</th></tr>\n");
    status_bar_row(o, "full", "tls-full", st->tls_handshakes_full, max,
                   "certificate and key exchange");
    status_bar_row(o, "resumed", "tls-resumed", st->tls_handshakes_resumed, max,
                   "from a session ticket: no certificate, no signature");
    for (size_t i = 0; i < STATS_TLS_FAIL_COUNT; i++) {
        char id[40], label[64];
        snprintf(id, sizeof id, "tls-fail-%s",
                 stats_tls_failure_name((enum stats_tls_failure)i));
        snprintf(label, sizeof label, "failed: %s", status_tls_failures[i].label);
        status_bar_row(o, label, id, st->tls_handshake_failures[i], max,
                       status_tls_failures[i].help);
    }
    status_printf(o, "</table>\n<p class=\"meta\">");
    for (size_t i = 0; i < STATS_TLS_VERSION_COUNT; i++)
        status_printf(o, "%s: <span id=\"tls-version-%s\">%llu</span> &middot; ",
                      stats_tls_version_name((enum stats_tls_version)i),
                      stats_tls_version_name((enum stats_tls_version)i),
                      (unsigned long long)st->tls_versions[i]);
    status_printf(o, "ALPN h2: <span id=\"tls-alpn-h2\">%llu</span> &middot; "
                     "ALPN http/1.1: <span id=\"tls-alpn-http11\">%llu</span> &middot; "
                     "no ALPN: <span id=\"tls-alpn-none\">%llu</span></p>\n",
                  (unsigned long long)st->tls_alpn_h2, (unsigned long long)st->tls_alpn_http11,
                  (unsigned long long)st->tls_alpn_none);
}

static void status_render_html(struct status_out *o, const struct stats_table *t,
                               const struct status_view *v, const struct status_snapshot *s)
{
    const struct stats *st = &s->sum;
    char now[64], up[96];
    uint64_t max = 0;
    bool tls = status_tls_shown(v, st);

    status_time_text(v->now_s, now, sizeof now);
    status_uptime_text(s->uptime_s, up, sizeof up);
    status_printf(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
                     "<title>lingerd status: ");
    status_html_text(o, v->server_name);
    status_printf(o, "</title>\n<style>%s</style></head><body>\n<h1>", status_css);
    status_html_text(o, v->server_name);
    status_printf(o, " &mdash; lingerd status</h1>\n<p class=\"meta\">lingerd/%s &middot; %s "
                     "&middot; up %s &middot; configuration generation %llu &middot; %llu "
                     "worker%s</p>\n",
                  v->version, now, up, (unsigned long long)t->generation,
                  (unsigned long long)s->workers, s->workers == 1 ? "" : "s");

    status_printf(o, "<h2>Totals</h2>\n<div class=\"grid\">\n");
    status_card(o, "requests", st->requests, "requests");
    status_card(o, "connections accepted", st->accepted, "accepted");
    status_card(o, "open connections", status_conns_total(st), "conns-total");
    status_card(o, "kB sent", st->bytes_out / 1024, "kb-sent");
    status_card(o, "kB received", st->bytes_in / 1024, "kb-received");
    status_card(o, "lingering closes", st->lingered, "lingered");
    status_printf(o, "</div>\n");

    for (size_t i = 0; i < STATS_STATE_COUNT; i++)
        max = st->conns[i] > max ? st->conns[i] : max;
    status_printf(o, "<h2>Connections by state</h2>\n<table id=\"states\">\n"
                     "<tr><th>state</th><th class=\"n\">now</th><th></th><th></th></tr>\n");
    for (size_t i = 0; i < STATS_STATE_COUNT; i++) {
        char id[32];
        snprintf(id, sizeof id, "state-%s", stats_state_name((enum stats_state)i));
        status_bar_row(o, status_state_labels[i], id, st->conns[i], max,
                       i == STATS_RESPOND ? "includes this request" : NULL);
    }
    status_printf(o, "</table>\n");

    max = st->fin_wait2_bounded;
    for (size_t i = 0; i < STATS_OUTCOME_COUNT; i++)
        max = st->closes[i] > max ? st->closes[i] : max;
    status_printf(o, "<h2>How closes ended</h2>\n<table id=\"outcomes\">\n"
                     "<tr><th>outcome</th><th class=\"n\">total</th><th></th>"
                     "<th>meaning</th></tr>\n");
    for (size_t i = 0; i < STATS_OUTCOME_COUNT; i++) {
        char id[32];
        snprintf(id, sizeof id, "outcome-%s", stats_outcome_name((enum stats_outcome)i));
        status_bar_row(o, status_outcomes[i].label, id, st->closes[i], max,
                       status_outcomes[i].help);
    }
    status_bar_row(o, "FIN_WAIT_2 bound reached", "fin-wait2-bounded", st->fin_wait2_bounded,
                   max, "closed with the client's FIN missing; fin_wait2_timeout bounds it");
    status_bar_row(o, "closed by the client", "client-closes", st->client_closes, max,
                   "the client's FIN or reset came first: nothing to linger for");
    status_printf(o, "</table>\n<p class=\"meta\">%llu bytes discarded while lingering.</p>\n",
                  (unsigned long long)st->linger_discarded_bytes);

    status_printf(o, "<h2>Requests and bytes</h2>\n<table id=\"traffic\">\n"
                     "<tr><th>what</th><th class=\"n\">total</th></tr>\n");
    status_printf(o, "<tr><td>requests</td><td class=\"n\">%llu</td></tr>\n",
                  (unsigned long long)st->requests);
    for (size_t i = 1; i < 6; i++)
        status_printf(o, "<tr><td>%zuxx responses</td><td class=\"n\">%llu</td></tr>\n", i,
                      (unsigned long long)st->responses_by_class[i]);
    status_printf(o, "<tr><td>bytes sent</td><td class=\"n\">%llu</td></tr>\n"
                     "<tr><td>bytes received</td><td class=\"n\">%llu</td></tr>\n"
                     "<tr><td>accept errors</td><td class=\"n\">%llu</td></tr>\n"
                     "<tr><td>reloads / worker restarts</td><td class=\"n\">%llu / %llu</td>"
                     "</tr>\n<tr><td>gzip cache hits / misses / evictions</td>"
                     "<td class=\"n\" id=\"gzip-cache\">%llu / %llu / %llu</td></tr>\n",
                  (unsigned long long)st->bytes_out, (unsigned long long)st->bytes_in,
                  (unsigned long long)st->accept_errors, (unsigned long long)t->reloads,
                  (unsigned long long)t->worker_restarts,
                  (unsigned long long)st->gzip_cache_hits,
                  (unsigned long long)st->gzip_cache_misses,
                  (unsigned long long)st->gzip_cache_evictions);
    status_printf(o, "<tr><td>PROXY headers v1 / v2 (without a client)</td>"
                     "<td class=\"n\" id=\"proxy-headers\">%llu / %llu (%llu)</td></tr>\n",
                  (unsigned long long)st->proxy_headers[0],
                  (unsigned long long)st->proxy_headers[1], (unsigned long long)st->proxy_local);
    for (size_t i = 0; i < STATS_PROXY_FAIL_COUNT; i++) {
        const char *name = stats_proxy_failure_name((enum stats_proxy_failure)i);
        status_printf(o, "<tr><td>PROXY cut: %s</td><td class=\"n\" id=\"proxy-fail-%s\">"
                         "%llu</td></tr>\n",
                      name, name, (unsigned long long)st->proxy_failures[i]);
    }
    status_printf(o, "<tr><td>addresses from real_ip_header</td><td class=\"n\">%llu</td>"
                     "</tr>\n</table>\n",
                  (unsigned long long)st->real_ip_used);

    if (tls)
        status_render_tls_html(o, v, st);
    status_render_http2_html(o, st);

    status_printf(o, "<h2>Workers</h2>\n<table id=\"workers\">\n<tr><th>worker</th><th>pid</th>"
                     "<th class=\"n\">gen</th><th class=\"n\">accepted</th>"
                     "<th class=\"n\">requests</th><th class=\"n\">kB sent</th>");
    for (size_t i = 0; i < STATS_STATE_COUNT; i++)
        status_printf(o, "<th class=\"n\">%s</th>", status_state_labels[i]);
    if (tls)
        status_printf(o, "<th class=\"n\">TLS handshakes</th><th class=\"n\">TLS failures"
                         "</th>");
    status_printf(o, "</tr>\n");
    for (size_t r = 0; r < STATS_ROWS_MAX; r++) {
        const struct stats *row = &t->rows[r];
        if (!__atomic_load_n(&row->in_use, __ATOMIC_ACQUIRE))
            continue;
        uint64_t conns[STATS_STATE_COUNT];
        for (size_t i = 0; i < STATS_STATE_COUNT; i++)
            conns[i] = __atomic_load_n(&row->conns[i], __ATOMIC_RELAXED);
        if (row == v->self_row)
            status_move_self(conns);
        status_printf(o, "<tr><td>%llu</td><td>%llu</td><td class=\"n\">%llu</td>"
                         "<td class=\"n\">%llu</td><td class=\"n\">%llu</td>"
                         "<td class=\"n\">%llu</td>",
                      (unsigned long long)row->worker, (unsigned long long)row->pid,
                      (unsigned long long)row->generation, (unsigned long long)row->accepted,
                      (unsigned long long)row->requests,
                      (unsigned long long)(row->bytes_out / 1024));
        for (size_t i = 0; i < STATS_STATE_COUNT; i++)
            status_printf(o, "<td class=\"n\">%llu</td>", (unsigned long long)conns[i]);
        if (tls)
            status_printf(o, "<td class=\"n\">%llu</td><td class=\"n\">%llu</td>",
                          (unsigned long long)status_tls_handshakes(row),
                          (unsigned long long)status_tls_failures_total(row));
        status_printf(o, "</tr>\n");
    }
    status_printf(o, "</table>\n<footer>Machine-readable: <code>?auto</code> (Apache "
                     "mod_status keys) and the Prometheus metrics path.</footer>\n"
                     "</body></html>\n");
}

size_t status_render(enum status_page page, const struct stats_table *t,
                     const struct status_view *v, char *out, size_t cap, bool *truncated)
{
    struct status_out o = { out, 0, cap, 0, false };
    struct status_snapshot s;

    status_take(t, v, &s);
    switch (page) {
    case STATUS_HTML: status_render_html(&o, t, v, &s); break;
    case STATUS_AUTO: status_render_auto(&o, t, v, &s); break;
    case STATUS_METRICS: status_render_metrics(&o, t, v, &s); break;
    }
    *truncated = o.full;
    return o.len;
}
