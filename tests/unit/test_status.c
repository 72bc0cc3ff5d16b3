/* Unit tests for status: the access check, and the pages rendered from a
 * table with known counters (exact ?auto lines and metric samples, the
 * asking connection shown as responding, HTML escaping, cutting, the TLS
 * counters and listeners, every labelled /metrics family whole). */
#include "status.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static struct config_cidr cidr(const char *text, unsigned bits)
{
    struct config_cidr c = { .prefix_bits = (uint8_t)bits };
    if (inet_pton(AF_INET, text, c.addr) == 1)
        c.family = 4;
    else if (inet_pton(AF_INET6, text, c.addr) == 1)
        c.family = 6;
    else
        fail_msg("bad address %s", text);
    return c;
}

static void test_status_allowed_table(void **state)
{
    const struct config_cidr list[] = { cidr("127.0.0.0", 8), cidr("::1", 128),
                                        cidr("10.1.0.0", 17) };
    static const struct {
        const char *addr;
        bool allowed;
    } cases[] = {
        { "127.0.0.1", true },   { "127.255.0.9", true },  { "128.0.0.1", false },
        { "::1", true },         { "::2", false },          { "10.1.127.255", true },
        { "10.1.128.0", false }, { "::ffff:127.0.0.1", true }, { "::ffff:10.2.0.0", false },
        { "192.0.2.1", false },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t a[16];
        int family = inet_pton(AF_INET, cases[i].addr, a) == 1 ? 4 : 6;
        if (family == 6)
            assert_int_equal(inet_pton(AF_INET6, cases[i].addr, a), 1);
        if (status_allowed(list, 3, family, a) != cases[i].allowed)
            fail_msg("%s: expected %s", cases[i].addr, cases[i].allowed ? "allowed" : "refused");
    }
    uint8_t any[16] = { 0 };
    assert_false(status_allowed(list, 0, 4, any));
}

/* Two live workers, one retired, with distinct counts. */
static struct stats_table *table_new(void)
{
    struct stats_table *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->started_s = 1000;
    t->generation = 2;
    t->reloads = 1;
    for (unsigned w = 0; w < 2; w++) {
        struct stats *r = &t->rows[w];
        r->in_use = 1;
        r->worker = w;
        r->pid = 100 + w;
        r->requests = 10 * (w + 1);
        r->bytes_out = 2048 * (w + 1);
        r->accepted = 5;
        for (size_t s = 0; s < STATS_STATE_COUNT; s++)
            r->conns[s] = s + w;
        for (size_t o = 0; o < STATS_OUTCOME_COUNT; o++)
            r->closes[o] = o;
        r->fin_wait2_bounded = 3;
        r->responses_by_class[2] = 7;
    }
    t->retired.requests = 100;
    t->retired.bytes_out = 10240;
    t->retired.closes[STATS_CLOSE_SHED] = 40;
    return t;
}

static char *render_view(enum status_page page, const struct stats_table *t,
                         const struct status_view *v)
{
    static char out[256 * 1024];
    bool cut = true;
    size_t n = status_render(page, t, v, out, sizeof out - 1, &cut);
    assert_false(cut);
    out[n] = '\0';
    return out;
}

static char *render(enum status_page page, const struct stats_table *t, const struct stats *self)
{
    struct status_view v = { .server_name = "a<b", .version = "9.9", .now_s = 1065,
                             .self_row = self };
    return render_view(page, t, &v);
}

static void assert_has(const char *page, const char *want)
{
    if (!strstr(page, want))
        fail_msg("page lacks \"%s\":\n%s", want, page);
}

static void test_status_render_auto_counts(void **state)
{
    struct stats_table *t = table_new();
    (void)state;
    /* requests 10 + 20 + 100; bytes 2k + 4k + 10k; states: head 0+1, body 1+2,
     * respond 2+3, idle 3+4, linger 4+5, proxy header 5+6, wait_io 6+7;
     * shed 4 + 4 + 40 */
    const char *p = render(STATUS_AUTO, t, NULL);
    assert_memory_equal(p, "a<b\nServerVersion: lingerd/9.9\n", 31);
    static const char *const want[] = {
        "\nTotal Accesses: 130\n", "\nTotal kBytes: 16\n", "\nUptime: 65\n",
        "\nServerUptimeSeconds: 65\n", "\nServerUptime: 1 minute 5 seconds\n",
        "\nProcesses: 2\n", "\nConnsTotal: 49\n", "\nConnsAsyncWriting: 5\n",
        "\nConnsAsyncKeepAlive: 7\n", "\nConnsAsyncClosing: 9\n", "\nConnsReadingHead: 1\n",
        "\nConnsReadingBody: 3\n", "\nConnsLingering: 9\n", "\nConnsWaitingIO: 13\n", "\nClosesShed: 48\n",
        "\nClosesWentSilent: 4\n", "\nFinWait2Bounded: 6\n", "\nParentServerConfigGeneration: 2\n",
        "\nReloads: 1\n", "\nResponses2xx: 14\n", "\nConnsReadingProxyHeader: 11\n",
        "\nProxyFailures_malformed: 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_has(p, want[i]);
    /* the asking connection moves from reading head to responding */
    p = render(STATUS_AUTO, t, &t->rows[1]);
    assert_has(p, "\nConnsReadingHead: 0\n");
    assert_has(p, "\nConnsAsyncWriting: 6\n");
    assert_has(p, "\nConnsTotal: 49\n");
    free(t);
}

static void test_status_render_metrics_counts(void **state)
{
    struct stats_table *t = table_new();
    (void)state;
    const char *p = render(STATUS_METRICS, t, NULL);
    static const char *const want[] = {
        "# HELP lingerd_connections ", "# TYPE lingerd_connections gauge\n",
        "\nlingerd_connections{state=\"read_head\"} 1\n",
        "\nlingerd_connections{state=\"linger\"} 9\n",
        "\nlingerd_connections{state=\"wait_io\"} 13\n",
        "# TYPE lingerd_closes_total counter\n",
        "\nlingerd_closes_total{outcome=\"shed\"} 48\n",
        "\nlingerd_closes_total{outcome=\"plain\"} 0\n",
        "\nlingerd_fin_wait2_bounded_total 6\n", "\nlingerd_requests_total 130\n",
        "\nlingerd_sent_bytes_total 16384\n", "\nlingerd_workers 2\n",
        "\nlingerd_uptime_seconds 65\n", "\nlingerd_responses_total{class=\"2xx\"} 14\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_has(p, want[i]);
    /* every sample line follows its family's TYPE line */
    assert_int_equal(p[strlen(p) - 1], '\n');
    free(t);
}

static void test_status_render_html_escapes_and_rows(void **state)
{
    struct stats_table *t = table_new();
    (void)state;
    const char *p = render(STATUS_HTML, t, &t->rows[0]);
    assert_has(p, "<title>lingerd status: a&lt;b</title>");
    assert_null(strstr(p, "a<b"));
    assert_has(p, "id=\"state-linger\">9<");
    assert_has(p, "id=\"state-wait_io\">13<");
    assert_has(p, "id=\"outcome-shed\">48<");
    assert_has(p, "<tr><td>0</td><td>100</td>");
    assert_has(p, "<tr><td>1</td><td>101</td>");
    assert_has(p, "</html>\n");
    free(t);
}

/* Too small a buffer: cut after a whole line, and say so. */
static void test_status_render_cut_at_line(void **state)
{
    struct stats_table *t = table_new();
    struct status_view v = { .server_name = "x", .version = "1", .now_s = 1065 };
    char out[100];
    bool cut = false;
    (void)state;
    size_t n = status_render(STATUS_AUTO, t, &v, out, sizeof out, &cut);
    assert_true(cut);
    assert_true(n > 0 && n < sizeof out);
    assert_int_equal(out[n - 1], '\n');
    free(t);
}

/* Two TLS workers' counts: full 3 + 4, resumed 1 + 2 (4 and 6 handshakes),
 * one of each failure per worker and 5 more plain-HTTP retired; TLS 1.3 4 +
 * 4, TLS 1.2 0 + 1; without ALPN 0 + 1. */
static void table_add_tls(struct stats_table *t)
{
    for (unsigned w = 0; w < 2; w++) {
        struct stats *r = &t->rows[w];
        r->tls_handshakes_full = 3 + w;
        r->tls_handshakes_resumed = 1 + w;
        for (size_t f = 0; f < STATS_TLS_FAIL_COUNT; f++)
            r->tls_handshake_failures[f] = 1;
        r->tls_versions[STATS_TLS_V12] = w;
        r->tls_versions[STATS_TLS_V13] = 4;
        r->tls_alpn_http11 = 4 + w;
        r->tls_alpn_none = w;
    }
    t->retired.tls_handshake_failures[STATS_TLS_FAIL_PLAIN_HTTP] = 5;
}

static const char *const tls_listeners[] = { "0.0.0.0:443", "[::]:8443" };

static struct status_view tls_view(enum status_tls_path path)
{
    struct status_view v = { .server_name = "x", .version = "1", .now_s = 1065,
                             .tls_listeners = tls_listeners, .tls_listener_count = 2,
                             .tls_path = path };
    return v;
}

static void test_status_tls_path_for_table(void **state)
{
    (void)state;
    assert_int_equal(status_tls_path_for(true, true), STATUS_TLS_KTLS);
    assert_int_equal(status_tls_path_for(true, false), STATUS_TLS_USER_KERNEL);
    assert_int_equal(status_tls_path_for(false, true), STATUS_TLS_USER_OFF);
    assert_int_equal(status_tls_path_for(false, false), STATUS_TLS_USER_OFF);
    assert_string_equal(status_tls_path_name(STATUS_TLS_KTLS), "ktls");
    assert_string_equal(status_tls_path_name(STATUS_TLS_USER_OFF), "user-space");
    assert_string_equal(status_tls_path_name(STATUS_TLS_USER_KERNEL), "user-space");
    assert_string_equal(status_tls_path_name(STATUS_TLS_PATH_COUNT), "?");
}

static void test_status_render_auto_tls(void **state)
{
    struct stats_table *t = table_new();
    (void)state;
    table_add_tls(t);
    struct status_view v = tls_view(STATUS_TLS_USER_KERNEL);
    const char *p = render_view(STATUS_AUTO, t, &v);
    static const char *const want[] = {
        "\nTLSHandshakesFull: 7\n", "\nTLSHandshakesResumed: 3\n",
        "\nTLSHandshakeFailuresTimeout: 2\n", "\nTLSHandshakeFailuresPlainHTTP: 7\n",
        "\nTLSHandshakeFailuresProtocol: 2\n", "\nTLSHandshakeFailuresClosed: 2\n",
        "\nTLSv1.2Handshakes: 1\n", "\nTLSv1.3Handshakes: 8\n", "\nTLSALPNHttp11: 9\n",
        "\nTLSALPNNone: 1\n", "\nTLSListeners: 0.0.0.0:443 [::]:8443\n",
        "\nTLSEncryption: user-space (OpenSSL encrypts in the worker: the kernel does not "
        "offer the tls module)\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_has(p, want[i]);
    /* A plain server: zero counters, no listener lines. */
    p = render(STATUS_AUTO, t, NULL);
    assert_has(p, "\nTLSHandshakesFull: 7\n");
    assert_null(strstr(p, "TLSListeners"));
    assert_null(strstr(p, "TLSEncryption"));
    free(t);
}

static void test_status_render_metrics_tls(void **state)
{
    struct stats_table *t = table_new();
    (void)state;
    table_add_tls(t);
    const char *names[] = { "127.0.0.1:443", "we\"ird\\" };
    struct status_view v = tls_view(STATUS_TLS_KTLS);
    v.tls_listeners = names;
    const char *p = render_view(STATUS_METRICS, t, &v);
    static const char *const want[] = {
        "# TYPE lingerd_tls_handshakes_total counter\n",
        "\nlingerd_tls_handshakes_total{result=\"full\"} 7\n",
        "\nlingerd_tls_handshakes_total{result=\"resumed\"} 3\n",
        "# TYPE lingerd_tls_handshake_failures_total counter\n",
        "\nlingerd_tls_handshake_failures_total{reason=\"timeout\"} 2\n",
        "\nlingerd_tls_handshake_failures_total{reason=\"plain_http\"} 7\n",
        "\nlingerd_tls_handshake_failures_total{reason=\"protocol\"} 2\n",
        "\nlingerd_tls_handshake_failures_total{reason=\"closed\"} 2\n",
        "\nlingerd_tls_versions_total{version=\"TLSv1.2\"} 1\n",
        "\nlingerd_tls_versions_total{version=\"TLSv1.3\"} 8\n",
        "\nlingerd_tls_alpn_total{protocol=\"http/1.1\"} 9\n",
        "\nlingerd_tls_alpn_total{protocol=\"none\"} 1\n",
        "# TYPE lingerd_tls_listener_info gauge\n",
        "\nlingerd_tls_listener_info{listen=\"127.0.0.1:443\",encryption=\"ktls\"} 1\n",
        /* a label value escapes \\ and \" */
        "\nlingerd_tls_listener_info{listen=\"we\\\"ird\\\\\",encryption=\"ktls\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_has(p, want[i]);
    /* A plain server: the counters, but no listener family at all. */
    p = render(STATUS_METRICS, t, NULL);
    assert_has(p, "\nlingerd_tls_handshakes_total{result=\"full\"} 7\n");
    assert_null(strstr(p, "lingerd_tls_listener_info"));
    free(t);
}

static void test_status_render_html_tls(void **state)
{
    struct stats_table *t = table_new();
    (void)state;
    /* Plain, with nothing counted: no TLS section, no TLS columns. */
    const char *p = render(STATUS_HTML, t, NULL);
    assert_null(strstr(p, "<h2>TLS</h2>"));
    assert_null(strstr(p, "TLS handshakes"));

    table_add_tls(t);
    struct status_view v = tls_view(STATUS_TLS_USER_OFF);
    const char *names[] = { "<x>:443" };
    v.tls_listeners = names;
    v.tls_listener_count = 1;
    p = render_view(STATUS_HTML, t, &v);
    assert_has(p, "<h2>TLS</h2>");
    assert_has(p, "<tr><td>&lt;x&gt;:443</td><td class=\"tls-path\">user-space</td>"
                  "<td class=\"note\">OpenSSL encrypts in the worker: ktls off</td></tr>");
    assert_has(p, "id=\"tls-full\">7<");
    assert_has(p, "id=\"tls-resumed\">3<");
    assert_has(p, "id=\"tls-fail-plain_http\">7<");
    assert_has(p, "id=\"tls-version-TLSv1.3\">8<");
    assert_has(p, "id=\"tls-alpn-none\">1<");
    /* worker 1: 4 full + 2 resumed, 4 failures */
    assert_has(p, "<th class=\"n\">TLS handshakes</th><th class=\"n\">TLS failures</th>");
    assert_has(p, "<td class=\"n\">6</td><td class=\"n\">4</td></tr>");

    /* No TLS listener any more, counts from before: shown, and said so. */
    v.tls_listener_count = 0;
    p = render_view(STATUS_HTML, t, &v);
    assert_has(p, "<h2>TLS</h2>");
    assert_has(p, "No TLS listener now");
    free(t);
}

/* Every family with one label, whole: its TYPE line, then one sample per
 * label in enum order with nothing between. The values differ from each
 * other, so a label paired with the wrong counter shows. */
static void test_status_render_metrics_labelled_families(void **state)
{
    static const char *const states[] = { "read_head", "read_body", "respond", "idle",
                                          "linger", "proxy_header", "wait_io" };
    static const char *const outcomes[] = { "plain", "client_closed", "went_silent",
                                            "still_sending", "shed", "reset", "send_timeout" };
    static const char *const tls_failures[] = { "timeout", "plain_http", "protocol", "closed" };
    static const char *const tls_versions[] = { "TLSv1.2", "TLSv1.3" };
    static const char *const proxy_failures[] = { "untrusted", "malformed", "oversized",
                                                  "truncated", "timeout" };
    static const char *const h2_codes[] = {
        "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
        "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    };
    static const char *const h2_abuses[] = { "rapid_reset", "continuation", "header_list",
                                             "control_flood", "stall", "stream_ids" };
    struct stats_table *t = calloc(1, sizeof *t);
    assert_non_null(t);
    struct stats *r = &t->rows[0];
    r->in_use = 1;
#define LABELS(names) names, sizeof names / sizeof names[0]
    const struct {
        const char *name, *type, *label;
        const char *const *labels;
        size_t label_count, count;
        uint64_t *values;
    } families[] = {
        { "lingerd_connections", "gauge", "state", LABELS(states), STATS_STATE_COUNT,
          r->conns },
        { "lingerd_closes_total", "counter", "outcome", LABELS(outcomes),
          STATS_OUTCOME_COUNT, r->closes },
        { "lingerd_tls_handshake_failures_total", "counter", "reason", LABELS(tls_failures),
          STATS_TLS_FAIL_COUNT, r->tls_handshake_failures },
        { "lingerd_tls_versions_total", "counter", "version", LABELS(tls_versions),
          STATS_TLS_VERSION_COUNT, r->tls_versions },
        { "lingerd_proxy_failures_total", "counter", "reason", LABELS(proxy_failures),
          STATS_PROXY_FAIL_COUNT, r->proxy_failures },
        { "lingerd_http2_goaway_sent_total", "counter", "code", LABELS(h2_codes),
          STATS_H2_CODES, r->h2_goaway_sent },
        { "lingerd_http2_goaway_received_total", "counter", "code", LABELS(h2_codes),
          STATS_H2_CODES, r->h2_goaway_received },
        { "lingerd_http2_rst_stream_sent_total", "counter", "code", LABELS(h2_codes),
          STATS_H2_CODES, r->h2_rst_sent },
        { "lingerd_http2_rst_stream_received_total", "counter", "code", LABELS(h2_codes),
          STATS_H2_CODES, r->h2_rst_received },
        { "lingerd_http2_abuse_total", "counter", "kind", LABELS(h2_abuses),
          STATS_H2_ABUSE_COUNT, r->h2_abuse },
    };
#undef LABELS
    (void)state;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        assert_int_equal(families[f].label_count, families[f].count); /* one name each */
        for (size_t i = 0; i < families[f].count; i++)
            families[f].values[i] = 100 * (f + 1) + i;
    }
    const char *p = render(STATUS_METRICS, t, NULL);
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        char want[2048];
        int n = snprintf(want, sizeof want, "# TYPE %s %s\n", families[f].name,
                         families[f].type);
        for (size_t i = 0; i < families[f].count; i++)
            n += snprintf(want + n, sizeof want - (size_t)n, "%s{%s=\"%s\"} %llu\n",
                          families[f].name, families[f].label, families[f].labels[i],
                          (unsigned long long)families[f].values[i]);
        assert_true((size_t)n < sizeof want);
        assert_has(p, want);
    }
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_allowed_table),
        cmocka_unit_test(test_status_render_auto_counts),
        cmocka_unit_test(test_status_render_metrics_counts),
        cmocka_unit_test(test_status_render_metrics_labelled_families),
        cmocka_unit_test(test_status_render_html_escapes_and_rows),
        cmocka_unit_test(test_status_render_cut_at_line),
        cmocka_unit_test(test_status_tls_path_for_table),
        cmocka_unit_test(test_status_render_auto_tls),
        cmocka_unit_test(test_status_render_metrics_tls),
        cmocka_unit_test(test_status_render_html_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
