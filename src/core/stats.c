/* stats — names of the counted states and outcomes, for logs and pages. */
#include "stats.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static const char *const stats_state_names[] = {
    [STATS_READ_HEAD] = "read_head",
    [STATS_READ_BODY] = "read_body",
    [STATS_WAIT_IO] = "wait_io",
    [STATS_RESPOND] = "respond",
    [STATS_IDLE] = "idle",
    [STATS_LINGER] = "linger",
    [STATS_PROXY_HEADER] = "proxy_header",
};
static_assert(sizeof stats_state_names / sizeof stats_state_names[0] == STATS_STATE_COUNT,
              "a state without a name");

static const char *const stats_outcome_names[] = {
    [STATS_CLOSE_PLAIN] = "plain",
    [STATS_CLOSE_CLIENT_CLOSED] = "client_closed",
    [STATS_CLOSE_WENT_SILENT] = "went_silent",
    [STATS_CLOSE_STILL_SENDING] = "still_sending",
    [STATS_CLOSE_SHED] = "shed",
    [STATS_CLOSE_RESET] = "reset",
    [STATS_CLOSE_SEND_TIMEOUT] = "send_timeout",
};
static_assert(sizeof stats_outcome_names / sizeof stats_outcome_names[0] == STATS_OUTCOME_COUNT,
              "an outcome without a name");

static const char *const stats_tls_failure_names[] = {
    [STATS_TLS_FAIL_TIMEOUT] = "timeout",
    [STATS_TLS_FAIL_PLAIN_HTTP] = "plain_http",
    [STATS_TLS_FAIL_PROTOCOL] = "protocol",
    [STATS_TLS_FAIL_CLOSED] = "closed",
};
static_assert(sizeof stats_tls_failure_names / sizeof stats_tls_failure_names[0] ==
                  STATS_TLS_FAIL_COUNT,
              "a handshake failure without a name");

static const char *const stats_tls_version_names[] = {
    [STATS_TLS_V12] = "TLSv1.2",
    [STATS_TLS_V13] = "TLSv1.3",
};
static_assert(sizeof stats_tls_version_names / sizeof stats_tls_version_names[0] ==
                  STATS_TLS_VERSION_COUNT,
              "a TLS version without a name");

const char *stats_tls_failure_name(enum stats_tls_failure f)
{
    return f < STATS_TLS_FAIL_COUNT ? stats_tls_failure_names[f] : "?";
}

static const char *const stats_proxy_failure_names[] = {
    [STATS_PROXY_FAIL_UNTRUSTED] = "untrusted",
    [STATS_PROXY_FAIL_MALFORMED] = "malformed",
    [STATS_PROXY_FAIL_OVERSIZED] = "oversized",
    [STATS_PROXY_FAIL_TRUNCATED] = "truncated",
    [STATS_PROXY_FAIL_TIMEOUT] = "timeout",
};
static_assert(sizeof stats_proxy_failure_names / sizeof stats_proxy_failure_names[0] ==
                  STATS_PROXY_FAIL_COUNT,
              "a PROXY failure without a name");

const char *stats_proxy_failure_name(enum stats_proxy_failure f)
{
    return f < STATS_PROXY_FAIL_COUNT ? stats_proxy_failure_names[f] : "?";
}

const char *stats_tls_version_name(enum stats_tls_version v)
{
    return v < STATS_TLS_VERSION_COUNT ? stats_tls_version_names[v] : "?";
}

const char *stats_state_name(enum stats_state s)
{
    return s < STATS_STATE_COUNT ? stats_state_names[s] : "?";
}

const char *stats_outcome_name(enum stats_outcome o)
{
    return o < STATS_OUTCOME_COUNT ? stats_outcome_names[o] : "?";
}

struct stats_table *stats_table_new(void)
{
    void *p = mmap(NULL, sizeof(struct stats_table), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void stats_table_free(struct stats_table *t)
{
    if (t)
        munmap(t, sizeof *t);
}

struct stats *stats_table_claim(struct stats_table *t, unsigned worker, uint64_t generation,
                                uint64_t pid)
{
    for (size_t i = 0; i < STATS_ROWS_MAX; i++) {
        struct stats *r = &t->rows[i];
        if (__atomic_load_n(&r->in_use, __ATOMIC_ACQUIRE))
            continue;
        memset(r, 0, sizeof *r);
        r->worker = worker;
        r->generation = generation;
        r->pid = pid;
        __atomic_store_n(&r->in_use, 1, __ATOMIC_RELEASE);
        return r;
    }
    errno = ENOSPC;
    return NULL;
}

/* Counters add up; gauges (conns[], gzip_cache_bytes) describe live workers only. */
static void stats_add_counters(struct stats *to, const struct stats *from)
{
    to->accepted += from->accepted;
    to->requests += from->requests;
    to->bytes_out += from->bytes_out;
    to->bytes_in += from->bytes_in;
    for (size_t i = 0; i < STATS_OUTCOME_COUNT; i++)
        to->closes[i] += from->closes[i];
    to->client_closes += from->client_closes;
    to->lingered += from->lingered;
    to->linger_discarded_bytes += from->linger_discarded_bytes;
    to->fin_wait2_bounded += from->fin_wait2_bounded;
    to->accept_errors += from->accept_errors;
    for (size_t i = 0; i < 6; i++)
        to->responses_by_class[i] += from->responses_by_class[i];
    to->tls_handshakes_full += from->tls_handshakes_full;
    to->tls_handshakes_resumed += from->tls_handshakes_resumed;
    for (size_t i = 0; i < STATS_TLS_FAIL_COUNT; i++)
        to->tls_handshake_failures[i] += from->tls_handshake_failures[i];
    for (size_t i = 0; i < STATS_TLS_VERSION_COUNT; i++)
        to->tls_versions[i] += from->tls_versions[i];
    to->tls_alpn_http11 += from->tls_alpn_http11;
    to->tls_alpn_none += from->tls_alpn_none;
    to->tls_alpn_h2 += from->tls_alpn_h2;
    to->requests_h2 += from->requests_h2;
    to->h2_connections += from->h2_connections;
    to->h2_streams += from->h2_streams;
    for (size_t i = 0; i < STATS_H2_CODES; i++) {
        to->h2_goaway_sent[i] += from->h2_goaway_sent[i];
        to->h2_goaway_received[i] += from->h2_goaway_received[i];
        to->h2_rst_sent[i] += from->h2_rst_sent[i];
        to->h2_rst_received[i] += from->h2_rst_received[i];
    }
    to->h2_discarded_bytes += from->h2_discarded_bytes;
    for (size_t i = 0; i < STATS_H2_ABUSE_COUNT; i++)
        to->h2_abuse[i] += from->h2_abuse[i];
    to->gzip_cache_hits += from->gzip_cache_hits;
    to->gzip_cache_misses += from->gzip_cache_misses;
    to->gzip_cache_evictions += from->gzip_cache_evictions;
    for (size_t i = 0; i < 2; i++)
        to->proxy_headers[i] += from->proxy_headers[i];
    to->proxy_local += from->proxy_local;
    for (size_t i = 0; i < STATS_PROXY_FAIL_COUNT; i++)
        to->proxy_failures[i] += from->proxy_failures[i];
    to->real_ip_used += from->real_ip_used;
}

static void stats_add_upstreams(struct stats_upstream *to, const struct stats_upstream *from)
{
    for (size_t i = 0; i < STATS_UPSTREAMS_MAX; i++) {
        to[i].requests += from[i].requests;
        to[i].failures += from[i].failures;
        to[i].retries += from[i].retries;
        to[i].time_ms += from[i].time_ms;
    }
}

void stats_table_release(struct stats_table *t, struct stats *row)
{
    stats_add_counters(&t->retired, row);
    if (row->generation == t->generation)
        stats_add_upstreams(t->retired.upstreams, row->upstreams);
    __atomic_store_n(&row->in_use, 0, __ATOMIC_RELEASE);
}

void stats_table_sum(const struct stats_table *t, struct stats *out)
{
    memset(out, 0, sizeof *out);
    stats_add_counters(out, &t->retired);
    for (size_t i = 0; i < STATS_ROWS_MAX; i++) {
        const struct stats *r = &t->rows[i];
        if (!__atomic_load_n(&r->in_use, __ATOMIC_ACQUIRE))
            continue;
        stats_add_counters(out, r);
        for (size_t s = 0; s < STATS_STATE_COUNT; s++)
            out->conns[s] += r->conns[s];
        out->gzip_cache_bytes += r->gzip_cache_bytes;
    }
}

void stats_table_sum_upstreams(const struct stats_table *t, uint64_t generation,
                               struct stats_upstream out[STATS_UPSTREAMS_MAX])
{
    memset(out, 0, STATS_UPSTREAMS_MAX * sizeof *out);
    if (generation == __atomic_load_n(&t->generation, __ATOMIC_RELAXED))
        stats_add_upstreams(out, t->retired.upstreams);
    for (size_t i = 0; i < STATS_ROWS_MAX; i++) {
        const struct stats *r = &t->rows[i];
        if (!__atomic_load_n(&r->in_use, __ATOMIC_ACQUIRE) || r->generation != generation)
            continue;
        stats_add_upstreams(out, r->upstreams);
        for (size_t k = 0; k < STATS_UPSTREAMS_MAX; k++)
            out[k].idle_conns += r->upstreams[k].idle_conns;
    }
}

void stats_table_new_generation(struct stats_table *t, uint64_t generation)
{
    memset(t->retired.upstreams, 0, sizeof t->retired.upstreams);
    t->generation = generation;
}

const char *stats_h2_code_name(unsigned code)
{
    static const char *const names[STATS_H2_CODES] = {
        "NO_ERROR",        "PROTOCOL_ERROR",     "INTERNAL_ERROR",     "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT", "STREAM_CLOSED",     "FRAME_SIZE_ERROR",   "REFUSED_STREAM",
        "CANCEL",          "COMPRESSION_ERROR",  "CONNECT_ERROR",      "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
    };
    return code < STATS_H2_CODES ? names[code] : "UNKNOWN";
}

const char *stats_h2_abuse_name(enum stats_h2_abuse a)
{
    static const char *const names[STATS_H2_ABUSE_COUNT] = {
        [STATS_H2_RAPID_RESET] = "rapid_reset",     [STATS_H2_CONTINUATION] = "continuation",
        [STATS_H2_HEADER_LIST] = "header_list",     [STATS_H2_CONTROL_FLOOD] = "control_flood",
        [STATS_H2_STALL] = "stall",                 [STATS_H2_STREAM_IDS] = "stream_ids",
    };
    return a < STATS_H2_ABUSE_COUNT ? names[a] : "?";
}
