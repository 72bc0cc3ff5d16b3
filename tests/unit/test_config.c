/* Unit tests for config: value parsing, defaults, the file parser and its
 * messages, locations, and the generated reference staying in step with the
 * table. Files are written to a mkdtemp() directory removed after each test. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_table.h"
#include "http1.h"

/* htpasswd line for user "test", password "test" (bcrypt, cost 5). */
#define USER_LINE "test:$2y$05$TxUGpZBJBxHdBEaKAwveluKA9krA70Lr46HLtT0fs2lb69eDFroqG\n"

struct fixture {
    char dir[64];
};

static int fixture_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    strcpy(fx->dir, "/tmp/lingerd-config-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int fixture_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;

    nftw(fx->dir, fixture_remove, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* Write dir/name (creating one level of subdirectory) and return its path. */
static char *write_file(const struct fixture *fx, const char *name, const char *data, size_t len)
{
    char *path;
    const char *slash = strchr(name, '/');
    FILE *f;

    if (slash) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s/%.*s", fx->dir, (int)(slash - name), name);
        mkdir(sub, 0700);
    }
    assert_true(asprintf(&path, "%s/%s", fx->dir, name) > 0);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static char *write_text(const struct fixture *fx, const char *name, const char *text)
{
    return write_file(fx, name, text, strlen(text));
}

/* Write a file whose path is not needed. */
static void put_text(const struct fixture *fx, const char *name, const char *text)
{
    free(write_text(fx, name, text));
}

/* Load path over defaults; *errs gets everything printed (caller frees). */
static int load(struct config *cfg, const char *path, char **errs)
{
    size_t len;
    FILE *f = open_memstream(errs, &len);
    int rc;

    assert_non_null(f);
    assert_int_equal(config_init_defaults(cfg), 0);
    rc = config_load_file(cfg, path, f);
    fclose(f);
    return rc;
}

static int finish(struct config *cfg, char **errs)
{
    size_t len;
    FILE *f = open_memstream(errs, &len);
    int rc;

    assert_non_null(f);
    rc = config_finish(cfg, f);
    fclose(f);
    return rc;
}

/* Replace each '@' in pattern with path. */
static char *expand(const char *pattern, const char *path)
{
    size_t len = 0;
    char *out;
    FILE *f = open_memstream(&out, &len);

    assert_non_null(f);
    for (const char *p = pattern; *p; p++) {
        if (*p == '@')
            fputs(path, f);
        else
            fputc(*p, f);
    }
    fclose(f);
    return out;
}

static void value_equal(const struct config *cfg, const struct config_location *loc,
                        const char *name, const char *want)
{
    char buf[256];

    assert_int_equal(config_format_value(cfg, loc, name, buf, sizeof buf), 0);
    if (strcmp(buf, want) != 0)
        fail_msg("%s: got '%s', want '%s'", name, buf, want);
}

/* ---- values ------------------------------------------------------------- */

static const struct value_case {
    const char *text;
    int rc;
    uint64_t value;
} duration_cases[] = {
    { "0", 0, 0 },
    { "500ms", 0, 500 },
    { "2s", 0, 2000 },
    { "1m", 0, 60000 },
    { "1h", 0, 3600000 },
    { "0ms", 0, 0 },
    { "007s", 0, 7000 },
    { "18446744073709551615ms", 0, UINT64_MAX },
    { "18446744073709551616ms", -1, 0 }, /* digits overflow */
    { "18446744073709551615s", -1, 0 },  /* unit overflow */
    { "5124095576030432h", -1, 0 },
    { "5", -1, 0 },                      /* a unit is required */
    { "", -1, 0 },
    { "s", -1, 0 },
    { "ms", -1, 0 },
    { "-1s", -1, 0 },
    { "+1s", -1, 0 },
    { " 1s", -1, 0 },
    { "1s ", -1, 0 },
    { "1 s", -1, 0 },
    { "1.5s", -1, 0 },
    { "1S", -1, 0 },
    { "1d", 0, 86400000 },
    { "7d", 0, 604800000 },
    { "213503982334602d", -1, 0 },       /* unit overflow */
    { "1w", -1, 0 },
    { "1msx", -1, 0 },
    { "1m30s", -1, 0 },
    { "0x10s", -1, 0 },
};

static void test_config_parse_duration_ms_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof duration_cases / sizeof *duration_cases; i++) {
        const struct value_case *c = &duration_cases[i];
        uint64_t v = 12345;
        int rc = config_parse_duration_ms(c->text, &v);
        if (rc != c->rc || (rc == 0 && v != c->value))
            fail_msg("'%s': rc %d value %llu", c->text, rc, (unsigned long long)v);
        if (rc < 0 && v != 12345)
            fail_msg("'%s': output written on failure", c->text);
    }
}

static const struct value_case size_cases[] = {
    { "0", 0, 0 },
    { "512", 0, 512 },
    { "8k", 0, 8192 },
    { "8K", 0, 8192 },
    { "1m", 0, 1048576 },
    { "1M", 0, 1048576 },
    { "1g", 0, 1073741824 },
    { "1t", 0, 1099511627776 },
    { "18446744073709551615", 0, UINT64_MAX },
    { "18446744073709551616", -1, 0 },
    { "16777216t", -1, 0 }, /* 2^64 */
    { "16777215t", 0, 16777215ull << 40 },
    { "17179869184g", -1, 0 },
    { "", -1, 0 },
    { "k", -1, 0 },
    { "1kb", -1, 0 },
    { "1 k", -1, 0 },
    { "-1", -1, 0 },
    { "1.5m", -1, 0 },
    { "1x", -1, 0 },
    { "1p", -1, 0 },
    { " 1", -1, 0 },
};

static void test_config_parse_size_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof size_cases / sizeof *size_cases; i++) {
        const struct value_case *c = &size_cases[i];
        uint64_t v = 12345;
        int rc = config_parse_size(c->text, &v);
        if (rc != c->rc || (rc == 0 && v != c->value))
            fail_msg("'%s': rc %d value %llu", c->text, rc, (unsigned long long)v);
        if (rc < 0 && v != 12345)
            fail_msg("'%s': output written on failure", c->text);
    }
}

/* ---- defaults ----------------------------------------------------------- */

/* The specification, written out once more by hand: the table must agree. */
static void test_config_init_defaults_match_spec(void **state)
{
    struct config cfg;
    char *errs = NULL;
    (void)state;

    assert_int_equal(config_init_defaults(&cfg), 0);
    assert_string_equal(cfg.top.root, "www");
    assert_string_equal(cfg.top.index, "index.html");
    assert_string_equal(cfg.mime_types_file, "/etc/mime.types");
    assert_string_equal(cfg.server_header, "lingerd");
    assert_int_equal(cfg.request_line_max_bytes, 8192);
    assert_int_equal(cfg.field_line_max_bytes, 8192);
    assert_int_equal(cfg.header_max_bytes, 32768);
    assert_int_equal(cfg.header_fields_max, 100);
    assert_int_equal(cfg.chunk_line_max_bytes, 4096);
    assert_int_equal(cfg.trailer_max_bytes, 8192);
    assert_int_equal(cfg.discard_body_max_bytes, 65536);
    assert_int_equal(cfg.pipeline_max_bytes, 262144);
    assert_int_equal(cfg.connections_max, 10000);
    assert_int_equal(cfg.ranges_max, 16);
    assert_int_equal(cfg.header_timeout_ms, 20000);
    assert_int_equal(cfg.body_timeout_ms, 60000);
    assert_int_equal(cfg.send_timeout_ms, 60000);
    assert_true(cfg.keepalive);
    assert_int_equal(cfg.keepalive_timeout_ms, 15000);
    assert_int_equal(cfg.keepalive_requests, 1000);
    assert_true(cfg.keepalive_header);
    assert_int_equal(cfg.nokeepalive_count, 0);
    assert_int_equal(cfg.lingering_close, CONFIG_LINGER_ON);
    assert_int_equal(cfg.lingering_time_ms, 30000);
    assert_int_equal(cfg.lingering_timeout_ms, 2000);
    assert_int_equal(cfg.lingering_max_bytes, 64ull << 20);
    assert_int_equal(cfg.lingering_max_conns, 4096);
    assert_int_equal(cfg.idle_close_linger_ms, 1000);
    assert_int_equal(cfg.fin_wait2_timeout_ms, 10000);
    assert_int_equal(cfg.proxy_keepalive_timeout_ms, 1000); /* below gunicorn's 2 s */
    assert_int_equal(cfg.proxy_header_max_bytes, 16384);
    assert_int_equal(cfg.proxy_buffer_bytes, 65536);
    assert_true(cfg.so_linger_ms < 0);
    assert_int_equal(cfg.methods, (1u << HTTP1_METHOD_GET) | (1u << HTTP1_METHOD_HEAD) |
                                      (1u << HTTP1_METHOD_OPTIONS));
    assert_int_equal(cfg.body_max_bytes, 1u << 20);
    assert_false(cfg.create_dirs);
    assert_int_equal(cfg.file_mode, 0644);
    assert_int_equal(cfg.listen_count, 0); /* the default listen waits for finish */
    assert_int_equal(cfg.top.location_count, 0);

    assert_int_equal(finish(&cfg, &errs), 0);
    assert_string_equal(errs, "");
    assert_int_equal(cfg.listen_count, 1);
    assert_string_equal(cfg.listens[0].text, "127.0.0.1:8080");
    assert_int_equal(cfg.listens[0].backlog, 511);
    assert_int_equal(cfg.top.location_count, 1);
    assert_string_equal(cfg.top.locations[0].prefix, "/");
    assert_int_equal(cfg.top.locations[0].methods, cfg.methods);
    assert_int_equal(cfg.top.locations[0].file_mode, 0644);
    assert_int_equal(cfg.top.locations[0].body_max_bytes, 1u << 20);
    assert_null(cfg.top.locations[0].auth_realm);
    free(errs);
    config_fini(&cfg);
}

/* Every default in the table is what the struct holds after init (+ finish,
 * for the default listen): the value init left equals the default text set
 * alone on an empty config. */
static void test_config_defaults_equal_table(void **state)
{
    struct config cfg, one;
    char *errs = NULL, got[256], want[256], err[256];
    size_t n = config_directive_count();
    (void)state;

    assert_int_equal(n, 134);
    assert_int_equal(config_init_defaults(&cfg), 0);
    assert_int_equal(finish(&cfg, &errs), 0);
    for (size_t i = 0; i < n; i++) {
        const char *name = config_directive_name(i), *def = config_directive_default(i);
        const struct config_location *loc = NULL;
        const struct config_directive *d = config_directive_find(name);
        if (!config_allowed_main(d) && !config_allowed_location(d))
            continue; /* server-only: test_config_server_block_defaults */
        if (config_format_value(&cfg, NULL, name, got, sizeof got) < 0)
            loc = &cfg.top.locations[0]; /* location-only */
        assert_int_equal(config_format_value(&cfg, loc, name, got, sizeof got), 0);
        if (!def) {
            if (got[0] != '\0')
                fail_msg("%s: no default, but the config holds '%s'", name, got);
            continue;
        }
        char text[256], *args[16], *save = NULL;
        size_t nargs = 0;
        snprintf(text, sizeof text, "%s", def);
        for (char *w = strtok_r(text, " ", &save); w && nargs < 16; w = strtok_r(NULL, " ", &save))
            args[nargs++] = w;
        memset(&one, 0, sizeof one);
        if (config_set(&one, NULL, name, (const char *const *)args, nargs, err, sizeof err) < 0)
            fail_msg("%s: default '%s' does not parse: %s", name, def, err);
        assert_int_equal(config_format_value(&one, NULL, name, want, sizeof want), 0);
        if (strcmp(got, want) != 0)
            fail_msg("%s: default '%s' is '%s', but the config holds '%s'", name, def, want, got);
        config_fini(&one);
    }
    assert_null(config_directive_name(n));
    free(errs);
    config_fini(&cfg);
}

/* ---- the file ----------------------------------------------------------- */

static void test_config_load_file_blocks_include_comments(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, *path, *users, *text;
    const struct config_location *up, *pub;

    users = write_text(fx, "users", USER_LINE);
    put_text(fx, "conf.d/10-limits.conf",
               "header_timeout 5s;   # short\n"
               "body_max_bytes 2m;   # main default for locations\n");
    put_text(fx, "conf.d/20-listen.conf", "listen [::1]:8081 backlog=64;\n");
    put_text(fx, "conf.d/readme.txt", "this is not included;\n");
    put_text(fx, "loc.inc", "create_dirs on;\nfile_mode 0600;\n");
    assert_true(asprintf(&text,
                         "# lingerd test configuration\n"
                         "listen 127.0.0.1:9000;\n"
                         "listen *:9001;\n"
                         "root \"/srv/my \\\"site\\\"\";  # quoted, escaped\n"
                         "server_header \"a;b{c}#d\\\\\";\n"
                         "nokeepalive_user_agent \"^Mozilla/4\\.0\" \"MSIE 5\";\n"
                         "include conf.d/*.conf;\n"
                         "include conf.d/none-*.conf;    # a pattern may match nothing\n"
                         "methods GET HEAD;\n"
                         "lingering_close always;\n"
                         "so_linger 1500ms;\n"
                         "fin_wait2_timeout 1ms;\n"
                         "\n"
                         "location /upload/ {\n"
                         "    methods GET HEAD PUT DELETE;\n"
                         "    auth_basic \"Upload area\";\n"
                         "    auth_user_file %s;\n"
                         "    include loc.inc;\n"
                         "    lingering_close on;\n"
                         "}\n"
                         "location /pub { keepalive off; }\n",
                         users) > 0);
    path = write_text(fx, "main.conf", text);

    assert_int_equal(load(&cfg, path, &errs), 0);
    assert_string_equal(errs, "");
    free(errs);
    assert_int_equal(finish(&cfg, &errs), 0);
    assert_string_equal(errs, "");

    assert_string_equal(cfg.top.root, "/srv/my \"site\"");
    assert_string_equal(cfg.server_header, "a;b{c}#d\\");
    assert_int_equal(cfg.header_timeout_ms, 5000);
    assert_int_equal(cfg.body_max_bytes, 2u << 20);
    assert_int_equal(cfg.so_linger_ms, 2000);       /* rounded up to seconds */
    assert_int_equal(cfg.fin_wait2_timeout_ms, 1000);
    assert_int_equal(cfg.lingering_close, CONFIG_LINGER_ALWAYS);
    assert_int_equal(cfg.listen_count, 3);
    assert_string_equal(cfg.listens[0].text, "127.0.0.1:9000");
    assert_string_equal(cfg.listens[1].text, "*:9001");
    assert_string_equal(cfg.listens[2].text, "[::1]:8081");
    assert_int_equal(cfg.listens[2].backlog, 64);
    assert_int_equal(cfg.listens[2].addr.ss_family, AF_INET6);
    assert_int_equal(ntohs(((struct sockaddr_in *)&cfg.listens[1].addr)->sin_port), 9001);
    assert_int_equal(((struct sockaddr_in *)&cfg.listens[1].addr)->sin_addr.s_addr,
                     htonl(INADDR_ANY));

    value_equal(&cfg, NULL, "listen", "127.0.0.1:9000\n*:9001\n[::1]:8081 backlog=64");
    value_equal(&cfg, NULL, "so_linger", "2s");
    value_equal(&cfg, NULL, "methods", "GET HEAD");
    assert_int_equal(cfg.nokeepalive_count, 2);
    assert_string_equal(cfg.nokeepalive_user_agents[0], "^Mozilla/4\\.0");
    assert_string_equal(cfg.nokeepalive_user_agents[1], "MSIE 5");
    assert_int_equal(regexec(&cfg.nokeepalive_re[0], "mozilla/4.0 (compatible)", 0, NULL, 0), 0);
    assert_int_not_equal(regexec(&cfg.nokeepalive_re[0], "Mozilla/4x0", 0, NULL, 0), 0);

    assert_int_equal(cfg.top.location_count, 3);
    assert_string_equal(cfg.top.locations[0].prefix, "/");
    up = config_find_location(&cfg.top, "/upload/a.txt", 13);
    assert_string_equal(up->prefix, "/upload/");
    assert_int_equal(up->methods, (1u << HTTP1_METHOD_GET) | (1u << HTTP1_METHOD_HEAD) |
                                      (1u << HTTP1_METHOD_PUT) | (1u << HTTP1_METHOD_DELETE));
    assert_string_equal(up->auth_realm, "Upload area");
    assert_non_null(up->users);
    assert_true(up->create_dirs);
    assert_int_equal(up->file_mode, 0600);
    assert_int_equal(up->lingering_close, CONFIG_LINGER_ON);
    assert_int_equal(up->body_max_bytes, 2u << 20); /* inherited from main */
    assert_true(up->keepalive);

    pub = config_find_location(&cfg.top, "/pub/x", 6);
    assert_string_equal(pub->prefix, "/pub");
    assert_false(pub->keepalive);
    assert_int_equal(pub->methods, (1u << HTTP1_METHOD_GET) | (1u << HTTP1_METHOD_HEAD));
    assert_int_equal(pub->lingering_close, CONFIG_LINGER_ALWAYS);
    assert_null(pub->users);
    assert_int_equal(cfg.top.locations[0].lingering_close, CONFIG_LINGER_ALWAYS);
    value_equal(&cfg, up, "methods", "GET HEAD PUT DELETE");
    value_equal(&cfg, up, "file_mode", "0600");
    value_equal(&cfg, up, "auth_basic", "Upload area");

    free(errs);
    free(text);
    free(path);
    free(users);
    config_fini(&cfg);
}

static void test_config_find_location_longest_prefix(void **state)
{
    static const char *const prefixes[] = { "/a", "/a/b/", "/ab", "/a/b/c", "/" };
    static const struct {
        const char *path, *want;
    } cases[] = {
        { "/", "/" },           { "/x", "/" },         { "/a", "/a" },
        { "/a/", "/a" },        { "/a/b", "/a" },      { "/a/b/", "/a/b/" },
        { "/a/b/c", "/a/b/c" }, { "/a/b/cd", "/a/b/c" }, { "/ab", "/ab" },
        { "/abc", "/ab" },      { "", "/" },
    };
    struct config cfg;
    char err[256], *errs = NULL;
    (void)state;

    assert_int_equal(config_init_defaults(&cfg), 0);
    assert_null(config_find_location(&cfg.top, "/", 1));
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        assert_non_null(config_add_location(&cfg, prefixes[i], err, sizeof err));
    assert_int_equal(finish(&cfg, &errs), 0);
    assert_string_equal(cfg.top.locations[0].prefix, "/");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct config_location *loc =
            config_find_location(&cfg.top, cases[i].path, strlen(cases[i].path));
        if (strcmp(loc->prefix, cases[i].want) != 0)
            fail_msg("'%s': got '%s', want '%s'", cases[i].path, loc->prefix, cases[i].want);
    }
    /* the length bounds the match, not a NUL */
    assert_string_equal(config_find_location(&cfg.top, "/a/b/c", 3)->prefix, "/a");
    free(errs);
    config_fini(&cfg);
}

static void test_config_set_command_line(void **state)
{
    struct config cfg;
    char err[256];
    const char *www[] = { "site" }, *bad[] = { "2x" }, *two[] = { "a", "b" };
    (void)state;

    assert_int_equal(config_init_defaults(&cfg), 0);
    assert_int_equal(config_set(&cfg, NULL, "root", www, 1, err, sizeof err), 0);
    assert_string_equal(cfg.top.root, "site");
    assert_int_equal(config_set(&cfg, NULL, "root", www, 1, err, sizeof err), 0); /* may repeat */
    assert_int_equal(config_set(&cfg, NULL, "roots", www, 1, err, sizeof err), -1);
    assert_string_equal(err, "unknown directive 'roots', did you mean 'root'?");
    assert_int_equal(config_set(&cfg, NULL, "send_timeout", bad, 1, err, sizeof err), -1);
    assert_string_equal(err, "bad value '2x' for 'send_timeout': "
                             "expected a duration like 500ms, 2s, 1m");
    assert_int_equal(config_set(&cfg, NULL, "index", two, 2, err, sizeof err), -1);
    assert_string_equal(err, "wrong number of arguments for 'index' (usage: index NAME)");
    assert_int_equal(config_set(&cfg, NULL, "index", two, 0, err, sizeof err), -1);
    assert_string_equal(cfg.top.index, "index.html");
    config_fini(&cfg);
}

static void test_config_listen_forms(void **state)
{
    static const struct {
        const char *text;
        int family;
        const char *addr;
        unsigned port;
    } cases[] = {
        { "127.0.0.1:8080", AF_INET, "127.0.0.1", 8080 },
        { "[::1]:8080", AF_INET6, "::1", 8080 },
        { "[::]:80", AF_INET6, "::", 80 },
        { "*:8080", AF_INET, "0.0.0.0", 8080 },
        { "8080", AF_INET, "0.0.0.0", 8080 },
        { "10.1.2.3:65535", AF_INET, "10.1.2.3", 65535 },
    };
    static const char *const bad[] = { "", "localhost:80", "1.2.3:80", "[::1]80", "::1:80",
                                       "1.2.3.4:", "1.2.3.4:http", "[::1:80", "80 ",
                                       "1.2.3.4:-1" };
    struct config cfg;
    char err[256], text[64];
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *args[] = { cases[i].text };
        assert_int_equal(config_init_defaults(&cfg), 0);
        if (config_set(&cfg, NULL, "listen", args, 1, err, sizeof err) < 0)
            fail_msg("'%s': %s", cases[i].text, err);
        assert_int_equal(cfg.listens[0].addr.ss_family, cases[i].family);
        if (cases[i].family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&cfg.listens[0].addr;
            inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
            assert_int_equal(ntohs(sin->sin_port), cases[i].port);
            assert_int_equal(cfg.listens[0].addr_len, sizeof *sin);
        } else {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg.listens[0].addr;
            inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
            assert_int_equal(ntohs(sin6->sin6_port), cases[i].port);
            assert_int_equal(cfg.listens[0].addr_len, sizeof *sin6);
        }
        assert_string_equal(text, cases[i].addr);
        assert_int_equal(cfg.listens[0].backlog, 511);
        config_fini(&cfg);
    }
    assert_int_equal(config_init_defaults(&cfg), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *args[] = { bad[i] };
        if (config_set(&cfg, NULL, "listen", args, 1, err, sizeof err) == 0)
            fail_msg("'%s' accepted", bad[i]);
    }
    assert_int_equal(cfg.listen_count, 0);
    config_fini(&cfg);
}

/* The TLS directives: listen's flag beside backlog in either order, the
 * certificates in order with their FILE:LINE, and the checks of finish. */
/* Behind a load balancer: the listen flag, the trust lists, the enum, and
 * a proxy_protocol listener that says nobody may send the header. */
static void test_config_balancer_directives(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, *path, *want;

    path = write_text(fx, "lb.conf",
                      "listen 127.0.0.1:9080 proxy_protocol backlog=8;\n"
                      "listen 127.0.0.1:9081;\n"
                      "proxy_protocol_from 10.0.0.5 fd00::/8;\n"
                      "proxy_protocol_timeout 250ms;\n"
                      "proxy_protocol_max_bytes 1k;\n"
                      "real_ip_from 10.1.0.0/16;\n"
                      "real_ip_header X-Real-IP;\n"
                      "health_path /healthz;\n"
                      "drain_delay 3s;\n");
    assert_int_equal(load(&cfg, path, &errs), 0);
    assert_string_equal(errs, "");
    free(errs);
    assert_int_equal(finish(&cfg, &errs), 0);
    assert_string_equal(errs, "");
    free(errs);
    assert_true(cfg.listens[0].proxy_protocol && !cfg.listens[1].proxy_protocol);
    value_equal(&cfg, NULL, "listen", "127.0.0.1:9080 backlog=8 proxy_protocol\n127.0.0.1:9081");
    value_equal(&cfg, NULL, "proxy_protocol_from", "10.0.0.5 fd00::/8");
    assert_int_equal(cfg.proxy_protocol_timeout_ms, 250);
    assert_int_equal(cfg.proxy_protocol_max_bytes, 1024);
    assert_int_equal(cfg.real_ip_header, CONFIG_REAL_IP_X_REAL_IP);
    assert_string_equal(cfg.health_path, "/healthz");
    assert_int_equal(cfg.drain_delay_ms, 3000);
    static const uint8_t balancer[4] = { 10, 0, 0, 5 }, other[4] = { 10, 0, 0, 6 };
    assert_true(config_cidr_match(cfg.proxy_protocol_from, cfg.proxy_protocol_from_count, 4,
                                  balancer));
    assert_false(config_cidr_match(cfg.proxy_protocol_from, cfg.proxy_protocol_from_count, 4,
                                   other));
    config_fini(&cfg);
    free(path);

    /* An IPv4-mapped entry is its IPv4 address (matching compares mapped
     * addresses as IPv4, so an IPv6 entry would match nothing). */
    path = write_text(fx, "mapped.conf", "real_ip_from ::ffff:10.2.0.0/112 ::ffff:10.3.0.7;\n");
    assert_int_equal(load(&cfg, path, &errs), 0);
    assert_string_equal(errs, "");
    free(errs);
    value_equal(&cfg, NULL, "real_ip_from", "10.2.0.0/16 10.3.0.7");
    static const uint8_t in_net[4] = { 10, 2, 3, 4 }, host[4] = { 10, 3, 0, 7 };
    assert_true(config_cidr_match(cfg.real_ip_from, cfg.real_ip_from_count, 4, in_net));
    assert_true(config_cidr_match(cfg.real_ip_from, cfg.real_ip_from_count, 4, host));
    config_fini(&cfg);
    free(path);

    path = write_text(fx, "nofrom.conf", "root www;\nlisten 127.0.0.1:9080 proxy_protocol;\n");
    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), -1);
    want = expand("@:2: listen 127.0.0.1:9080 proxy_protocol: no proxy_protocol_from says "
                  "which balancers may send the header\n", path);
    assert_string_equal(errs, want);
    free(want);
    free(errs);
    config_fini(&cfg);
    free(path);

    /* bounds: a v2 header must hold AF_UNIX's addresses */
    path = write_text(fx, "small.conf", "proxy_protocol_max_bytes 100;\n");
    assert_int_equal(load(&cfg, path, &errs), -1);
    assert_non_null(strstr(errs, "proxy_protocol_max_bytes"));
    free(errs);
    config_fini(&cfg);
    free(path);
}

static void test_config_tls_directives(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, *path, *want;

    path = write_text(fx, "tls.conf",
                      "listen 127.0.0.1:9443 tls backlog=64;\n"
                      "listen 127.0.0.1:9444 backlog=32 tls;\n"
                      "listen 127.0.0.1:9080;\n"
                      "tls_certificate a.pem a.key;\n"
                      "tls_certificate b.pem b.key;\n"
                      "tls_protocols TLSv1.3;\n"
                      "hsts 1500ms;\n"
                      "https_redirect on;\n");
    assert_int_equal(load(&cfg, path, &errs), 0);
    assert_string_equal(errs, "");
    free(errs);
    assert_int_equal(finish(&cfg, &errs), 0);
    assert_string_equal(errs, "");
    free(errs);
    assert_true(cfg.listens[0].tls && cfg.listens[1].tls && !cfg.listens[2].tls);
    assert_int_equal(cfg.listens[0].backlog, 64);
    assert_true(config_has_tls_listener(&cfg));
    value_equal(&cfg, NULL, "listen",
                "127.0.0.1:9443 backlog=64 tls\n127.0.0.1:9444 backlog=32 tls\n127.0.0.1:9080");
    assert_int_equal(cfg.tls_certificate_count, 2);
    assert_string_equal(cfg.tls_certificates[0].cert_file, "a.pem");
    assert_string_equal(cfg.tls_certificates[1].key_file, "b.key");
    want = expand("@:5", path);
    assert_string_equal(cfg.tls_certificates[1].where, want);
    free(want);
    value_equal(&cfg, NULL, "tls_certificate", "a.pem a.key\nb.pem b.key");
    assert_int_equal(cfg.tls_protocols, 1u << CONFIG_TLS_1_3);
    value_equal(&cfg, NULL, "tls_protocols", "TLSv1.3");
    assert_int_equal(cfg.hsts_ms, 2000); /* max-age counts whole seconds */
    assert_true(cfg.tls_session_tickets && cfg.ktls);
    assert_int_equal(cfg.tls_ticket_key_rotation_ms, 12ull * 3600 * 1000);
    assert_int_equal(cfg.tls_handshake_timeout_ms, 10000);
    assert_int_equal(cfg.tls_protocols & (1u << CONFIG_TLS_1_2), 0);
    config_fini(&cfg);
    free(path);

    /* a tls listener needs a certificate; a redirect needs a tls listener */
    path = write_text(fx, "nocert.conf", "root www;\nlisten 127.0.0.1:9443 tls;\n");
    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), -1);
    want = expand("@:2: listen 127.0.0.1:9443 tls: no tls_certificate is configured\n", path);
    assert_string_equal(errs, want);
    free(want);
    free(errs);
    config_fini(&cfg);
    free(path);
    path = write_text(fx, "redirect.conf", "https_redirect on;\n");
    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), -1);
    assert_string_equal(errs, "https_redirect on needs a listener with the tls flag to "
                              "redirect to\n");
    free(errs);
    config_fini(&cfg);
    free(path);

    /* defaults: both protocols, tickets on, no certificate */
    assert_int_equal(config_init_defaults(&cfg), 0);
    assert_int_equal(cfg.tls_protocols, (1u << CONFIG_TLS_1_2) | (1u << CONFIG_TLS_1_3));
    assert_int_equal(cfg.tls_certificate_count, 0);
    assert_true(cfg.hsts_ms < 0);
    assert_false(cfg.https_redirect);
    config_fini(&cfg);
}

/* Each case: file text and exactly what is printed, '@' standing for its path. */
static const struct error_case {
    const char *name, *text, *errs;
} error_cases[] = {
    { "unknown, close", "rot www;\n", "@:1: unknown directive 'rot', did you mean 'root'?\n" },
    { "unknown, prefix", "\n\nlingering on;\n",
      "@:3: unknown directive 'lingering', did you mean 'lingering_close'?\n" },
    { "unknown, include typo", "inclde x;\n",
      "@:1: unknown directive 'inclde', did you mean 'include'?\n" },
    { "unknown, far", "frobnicate 1;\n", "@:1: unknown directive 'frobnicate'\n" },
    { "no arguments", "root;\n",
      "@:1: wrong number of arguments for 'root' (usage: root PATH)\n" },
    { "too many arguments", "keepalive on off;\n",
      "@:1: wrong number of arguments for 'keepalive' (usage: keepalive on|off)\n" },
    { "enum arguments", "lingering_close;\n",
      "@:1: wrong number of arguments for 'lingering_close' "
      "(usage: lingering_close on|always|off)\n" },
    { "bad duration", "header_timeout 5;\n",
      "@:1: bad value '5' for 'header_timeout': expected a duration like 500ms, 2s, 1m\n" },
    { "bad size", "header_max_bytes 1x;\n",
      "@:1: bad value '1x' for 'header_max_bytes': expected a size like 512, 8k, 1m, 1g\n" },
    { "bad number", "ranges_max 1k;\n",
      "@:1: bad value '1k' for 'ranges_max': expected a whole number like 100\n" },
    { "bad bool", "keepalive yes;\n",
      "@:1: bad value 'yes' for 'keepalive': expected on or off\n" },
    { "bad enum", "lingering_close maybe;\n",
      "@:1: bad value 'maybe' for 'lingering_close': expected one of on, always, off\n" },
    { "bad mode", "file_mode 0644x;\n",
      "@:1: bad value '0644x' for 'file_mode': expected an octal mode like 0644\n" },
    { "octal digit", "file_mode 0648;\n",
      "@:1: bad value '0648' for 'file_mode': expected an octal mode like 0644\n" },
    { "bad so_linger", "so_linger on;\n",
      "@:1: bad value 'on' for 'so_linger': expected off or a duration like 500ms, 2s, 1m\n" },
    { "empty path", "root \"\";\n",
      "@:1: bad value '' for 'root': expected a non-empty path\n" },
    { "unknown method", "methods GET FETCH;\n",
      "@:1: bad value 'FETCH' for 'methods': expected method names: "
      "GET HEAD POST PUT DELETE OPTIONS TRACE CONNECT PATCH\n" },
    { "method case", "methods get;\n",
      "@:1: bad value 'get' for 'methods': expected method names: "
      "GET HEAD POST PUT DELETE OPTIONS TRACE CONNECT PATCH\n" },
    { "bad listen", "listen 1.2.3:80;\n",
      "@:1: bad value '1.2.3:80' for 'listen': expected an address like 127.0.0.1:8080, "
      "[::1]:8080, *:8080 or 8080\n" },
    { "listen port", "listen 70000;\n",
      "@:1: 'listen' port in '70000' is out of bounds (1..65535)\n" },
    { "listen backlog", "listen 80 backlog=0;\n",
      "@:1: 'listen' value 'backlog=0' is out of bounds (backlog=1..65535)\n" },
    { "listen backlog form", "listen 80 queue=5;\n",
      "@:1: bad value 'queue=5' for 'listen': expected backlog=N, tls or "
      "proxy_protocol, each at most once\n" },
    { "listen tls twice", "listen 80 tls tls;\n",
      "@:1: bad value 'tls' for 'listen': expected backlog=N, tls or "
      "proxy_protocol, each at most once\n" },
    { "listen backlog twice", "listen 80 backlog=5 backlog=6;\n",
      "@:1: bad value 'backlog=6' for 'listen': expected backlog=N, tls or "
      "proxy_protocol, each at most once\n" },
    { "old TLS", "tls_protocols TLSv1.1 TLSv1.2;\n",
      "@:1: bad value 'TLSv1.1' for 'tls_protocols': expected one of TLSv1.2, TLSv1.3\n" },
    { "cipher list with a space", "tls_ciphers \"ECDHE-RSA-AES128-GCM-SHA256 X\";\n",
      "@:1: bad value 'ECDHE-RSA-AES128-GCM-SHA256 X' for 'tls_ciphers': "
      "' ' cannot appear in an OpenSSL cipher list\n" },
    { "certificate without key", "tls_certificate a.pem;\n",
      "@:1: wrong number of arguments for 'tls_certificate' "
      "(usage: tls_certificate CERT.pem KEY.pem)\n" },
    { "ticket rotation bounds", "tls_ticket_key_rotation 10s;\n",
      "@:1: 'tls_ticket_key_rotation' value '10s' is out of bounds (1m..168h)\n" },
    { "duplicate listen", "listen 8080;\nlisten *:8080;\n",
      "@:2: duplicate listen address '*:8080' (same as '8080')\n" },
    { "duration bounds", "header_timeout 2h;\n",
      "@:1: 'header_timeout' value '2h' is out of bounds (10ms..1h)\n" },
    { "duration low", "lingering_timeout 5ms;\n",
      "@:1: 'lingering_timeout' value '5ms' is out of bounds (10ms..10m)\n" },
    { "so_linger bounds", "so_linger 0;\n",
      "@:1: 'so_linger' value '0' is out of bounds (1s..1m)\n" },
    { "size bounds", "request_line_max_bytes 100;\n",
      "@:1: 'request_line_max_bytes' value '100' is out of bounds (256..1m)\n" },
    { "size bounds t", "body_max_bytes 2t;\n",
      "@:1: 'body_max_bytes' value '2t' is out of bounds (0..1t)\n" },
    { "number bounds", "header_fields_max 0;\n",
      "@:1: 'header_fields_max' value '0' is out of bounds (1..10000)\n" },
    { "mode bounds", "file_mode 01777;\n",
      "@:1: 'file_mode' value '01777' is out of bounds (0..0777)\n" },
    { "main-only in location", "location / {\n    listen 80;\n}\n",
      "@:2: 'listen' is not allowed inside location\n" },
    { "location rows at main: the implicit server", "auth_basic x;\nauth_basic y;\n",
      "@:2: 'auth_basic' is already set in this block\n" },
    { "return checks",
      "location /a { return 301; }\nlocation /b { return 302 \"/a b\"; }\n"
      "location /c { return 307 $uri; }\nlocation /d { return 304 /x; }\n"
      "location /e { return 204 text; }\nlocation /f { return 20; }\n"
      "location /g { return 600; }\nlocation /h { return 301 /ok; return 302 /again; }\n",
      "@:1: 'return 301' needs the URL to redirect to\n"
      "@:2: bad URL '/a b' for 'return': byte 0x20 cannot appear in a URL (RFC 3986): "
      "percent-encode it\n"
      "@:3: bad URL '$uri' for 'return': unknown variable at '$uri' (known: $scheme, $host, "
      "$request_uri)\n"
      "@:4: bad value '304' for 'return': expected a status: 301, 302, 303, 307 or 308 with a "
      "URL; 200, 204 or 400-599, with an optional text (not for 204)\n"
      "@:5: 'return 204' has no body: leave the text out\n"
      "@:6: bad value '20' for 'return': expected a status: 301, 302, 303, 307 or 308 with a "
      "URL; 200, 204 or 400-599, with an optional text (not for 204)\n"
      "@:7: bad value '600' for 'return': expected a status: 301, 302, 303, 307 or 308 with a "
      "URL; 200, 204 or 400-599, with an optional text (not for 204)\n"
      "@:8: 'return' is already set in this block\n" },
    { "error_page checks",
      "error_page 404 404.html;\nerror_page 399 /a.html;\nerror_page 404 /a?b;\n"
      "error_page 404 /a.html;\nerror_page 500 404 /b.html;\nerror_page /c.html;\n",
      "@:1: bad path '404.html' for 'error_page': a plain path starting with '/'\n"
      "@:2: bad value '399' for 'error_page': expected statuses from 400 to 599, then a path "
      "starting with '/'\n"
      "@:3: bad path '/a?b' for 'error_page': a plain path starting with '/'\n"
      "@:5: 'error_page' for 404 is already set in this block\n"
      "@:6: wrong number of arguments for 'error_page' (usage: error_page CODE... PATH)\n" },
    { "fallback checks", "fallback index.html;\nlocation /a { fallback \"/a?b\"; }\n",
      "@:1: bad value 'index.html' for 'fallback': must start with '/'\n"
      "@:2: bad value '/a?b' for 'fallback': must be a plain path, without '?'\n" },
    { "duplicate", "root a;\n# again\nroot b;\n", "@:3: 'root' is already set in this block\n" },
    { "duplicate in location", "location /a {\n methods GET;\n methods PUT;\n}\n",
      "@:3: 'methods' is already set in this block\n" },
    { "main and location are two blocks", "methods GET;\nlocation /a { methods PUT; }\n", "" },
    { "duplicate location", "location /a { }\nlocation /a { }\n",
      "@:2: duplicate location '/a'\n" },
    { "bad prefix", "location a { }\n", "@:1: location prefix must start with '/': 'a'\n" },
    { "location args", "location { }\n",
      "@:1: wrong number of arguments for 'location' (usage: location PREFIX { ... })\n" },
    { "location without block", "location /a;\n",
      "@:1: 'location' needs a block: location PREFIX { ... }\n" },
    { "nested location", "location /a {\n  location /a/b { }\n}\n",
      "@:2: location blocks cannot be nested\n" },
    { "unterminated string", "root \"www;\n\nindex x;\n", "@:1: unterminated string\n" },
    { "unterminated block", "\nlocation /a {\n  create_dirs on;\n",
      "@:2: unterminated block: missing '}' for location '/a'\n" },
    { "unexpected close", "root a;\n}\n", "@:2: unexpected '}'\n" },
    { "unexpected semicolon", ";\n", "@:1: unexpected ';'\n" },
    { "unexpected block", "root a {\n index b;\n}\nindex c;\n",
      "@:1: unexpected '{' after 'root'\n" },
    { "missing semicolon at end", "root www", "@:1: missing ';' after 'root'\n" },
    { "missing semicolon in block", "location /a {\n  create_dirs on\n}\n",
      "@:2: missing ';' after 'create_dirs'\n" },
    { "include arguments", "include;\n",
      "@:1: wrong number of arguments for 'include' (usage: include PATH)\n" },
    { "too many patterns",
      "nokeepalive_user_agent a b c d e f g h i j k l m n o p;\nnokeepalive_user_agent q;\n",
      "@:2: too many 'nokeepalive_user_agent' patterns (max 16)\n" },
    /* one run reports every error, and recovers at ';' and '}' */
    { "every error",
      "rot a;\nheader_timeout 5;\nlocation /x {\n  listen 80;\n  body_max_bytes 2t;\n}\n"
      "keepalive maybe;\nroot ok;\n",
      "@:1: unknown directive 'rot', did you mean 'root'?\n"
      "@:2: bad value '5' for 'header_timeout': expected a duration like 500ms, 2s, 1m\n"
      "@:4: 'listen' is not allowed inside location\n"
      "@:5: 'body_max_bytes' value '2t' is out of bounds (0..1t)\n"
      "@:7: bad value 'maybe' for 'keepalive': expected on or off\n" },
    { "errors inside a rejected block", "location x {\n  rot a;\n}\n",
      "@:1: location prefix must start with '/': 'x'\n"
      "@:2: unknown directive 'rot', did you mean 'root'?\n" },
    { "string line counting", "server_header \"a\nb\";\nrot x;\n",
      "@:3: unknown directive 'rot', did you mean 'root'?\n" },
    /* server blocks: where each directive may go, and the block syntax */
    { "server-only directives", "server_name a.example;\ndefault_server on;\n",
      "@:1: 'server_name' is only allowed inside server\n"
      "@:2: 'default_server' is only allowed inside server\n" },
    { "main-only inside server", "server {\n  listen 80;\n  workers 2;\n}\n",
      "@:2: 'listen' is not allowed inside server\n"
      "@:3: 'workers' is not allowed inside server\n" },
    { "server inside location or server",
      "server {\n  server {\n  }\n  location / {\n    server { }\n  }\n}\n",
      "@:2: server blocks go at the top level, not inside server\n"
      "@:5: server blocks go at the top level, not inside location\n" },
    { "server without a block", "server;\nserver x { }\n",
      "@:1: 'server' needs a block: server { ... }\n"
      "@:2: 'server' takes no arguments (usage: server { server_name NAME; ... })\n" },
    { "bad server names", "server {\n  server_name a*.example;\n  server_name \"a b\";\n}\n",
      "@:2: bad value for 'server_name': 'a*.example': a server name has letters, digits, "
      "'-', '_' and dots (a '*' only as a leading \"*.\")\n"
      "@:3: bad value for 'server_name': 'a b': a server name has letters, digits, '-', '_' "
      "and dots (a '*' only as a leading \"*.\")\n" },
    { "repeated in a server block", "server {\n  root a;\n  root b;\n  methods GET;\n"
      "  methods GET;\n}\n",
      "@:3: 'root' is already set in this block\n@:5: 'methods' is already set in this block\n" },
    { "unterminated server", "server {\n  root a;\n",
      "@:1: unterminated block: missing '}' for server\n" },
    /* response fields: checked as RFC 9110 field lines at load */
    { "add_header checks",
      "add_header \"X Y\" v;\nadd_header X-A \"a\rb\";\nadd_header X-B \" v\";\n"
      "add_header Content-Length 5;\nadd_header date x;\nadd_header X-C v sometimes;\n"
      "add_header X-D \"\";\nadd_header X-E;\n",
      "@:1: bad field name 'X Y' for 'add_header': a token (letters, digits and "
      "!#$%&'*+-.^_`|~)\n"
      "@:2: bad value for 'add_header X-A': visible characters, spaces and tabs only, none at "
      "either end\n"
      "@:3: bad value for 'add_header X-B': visible characters, spaces and tabs only, none at "
      "either end\n"
      "@:4: 'add_header' cannot set Content-Length: the server writes that field\n"
      "@:5: 'add_header' cannot set date: the server writes that field\n"
      "@:6: bad value 'sometimes' for 'add_header': expected a field name, its value and "
      "optionally always\n"
      "@:7: bad value for 'add_header X-D': empty (leave the line out to send nothing)\n"
      "@:8: wrong number of arguments for 'add_header' (usage: add_header NAME VALUE "
      "[always])\n" },
    { "expires and default_type checks",
      "expires soon;\nexpires 3651d;\ndefault_type text;\ndefault_type \"a b/c\";\n",
      "@:1: bad value 'soon' for 'expires': expected off, epoch, max or a duration like 1h, "
      "7d\n"
      "@:2: 'expires' value '3651d' is out of bounds (0..87600h)\n"
      "@:3: bad value 'text' for 'default_type': a media type is type/subtype, both tokens, "
      "like text/plain\n"
      "@:4: bad value 'a b/c' for 'default_type': a media type is type/subtype, both tokens, "
      "like text/plain\n" },
};

static void test_config_load_file_error_messages(void **state)
{
    struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof error_cases / sizeof *error_cases; i++) {
        const struct error_case *c = &error_cases[i];
        struct config cfg;
        char *errs = NULL, *path = write_text(fx, "t.conf", c->text);
        char *want = expand(c->errs, path);
        int rc = load(&cfg, path, &errs);
        if (strcmp(errs, want) != 0)
            fail_msg("%s:\n got: %s\nwant: %s", c->name, errs, want);
        if (rc != (c->errs[0] ? -1 : 0))
            fail_msg("%s: rc %d", c->name, rc);
        free(errs);
        free(want);
        free(path);
        config_fini(&cfg);
    }
}

/* Two server blocks over a top level: what each level inherits, which site
 * a Host selects, and what the blocks' own defaults are. */
static void test_config_server_block_inheritance(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL;
    char *path;
    char *pw = write_text(fx, "users", USER_LINE);
    char *text = expand("root top;\nmethods GET HEAD PUT;\nbody_max_bytes 2k;\n"
                        "server {\n  server_name a.example *.a.example;\n  root a;\n"
                        "  body_max_bytes 5k;\n  auth_basic site;\n"
                        "  auth_user_file @;\n"
                        "  location /x {\n    methods GET;\n  }\n}\n"
                        "server {\n  server_name B.example.;\n  index home.html;\n"
                        "  default_server on;\n}\n", pw);
    path = write_text(fx, "t.conf", text);

    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), 0);
    free(errs);
    assert_int_equal(cfg.server_count, 2);
    assert_int_equal(cfg.site_count, 2);
    assert_int_equal(cfg.default_site, 1);
    assert_int_equal(cfg.top.location_count, 0); /* the top level is no site now */

    const struct config_server *a = cfg.servers[0], *b = cfg.servers[1];
    assert_string_equal(a->root, "a");
    assert_string_equal(a->index, "index.html"); /* from the top level's default */
    assert_string_equal(b->root, "top");          /* from the top level */
    assert_string_equal(b->index, "home.html");
    assert_false(a->default_server);
    assert_true(b->default_server);

    const struct config_location *ax = config_find_location(a, "/x/y", 4);
    const struct config_location *aroot = config_find_location(a, "/z", 2);
    const struct config_location *broot = config_find_location(b, "/x/y", 4);
    assert_string_equal(ax->prefix, "/x");
    assert_int_equal(ax->methods, 1u << HTTP1_METHOD_GET);  /* its own */
    assert_int_equal(ax->body_max_bytes, 5 * 1024);         /* the server's */
    assert_string_equal(ax->auth_realm, "site");            /* server -> location */
    assert_non_null(ax->users);
    assert_int_equal(aroot->methods, cfg.methods);           /* main -> server -> location */
    assert_int_equal(broot->body_max_bytes, 2 * 1024);       /* main -> location */
    assert_null(broot->auth_realm);
    assert_int_equal(ax->site, 0);
    assert_int_equal(broot->site, 1);

    static const struct {
        const char *host;
        size_t site;
    } hosts[] = {
        { "a.example", 0 }, { "A.EXAMPLE", 0 }, { "w.a.example", 0 },
        { "b.example", 1 }, { "b.example.", 1 }, { "c.example", 1 }, { "", 1 },
    };
    for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
        const struct config_server *got =
            config_find_site(&cfg, hosts[i].host, strlen(hosts[i].host));
        if (got != cfg.sites[hosts[i].site])
            fail_msg("host '%s': site %u, want %zu", hosts[i].host, got->site, hosts[i].site);
    }
    config_fini(&cfg);
    free(text);
    free(path);
    free(pw);
}

/* add_header as nginx inherits it: a level with any add_header replaces the
 * list above; expires and default_type inherit value by value. */
static void test_config_add_header_inheritance(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, got[256];
    char *path = write_text(fx, "t.conf",
                            "add_header X-Main 1;\nexpires 1h;\n"
                            "server {\n  server_name a;\n  add_header X-A \"a b\";\n"
                            "  add_header X-A2 2 always;\n  default_type text/plain;\n"
                            "  error_page 500 502 /50x.html;\n  error_page 404 /a404.html;\n"
                            "  location /x {\n    expires epoch;\n  }\n}\n"
                            "server {\n  server_name b;\n  location /y {\n"
                            "    add_header X-L l always;\n    expires max;\n"
                            "    error_page 403 /no.html;\n  }\n}\n");

    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), 0);
    free(errs);
    const struct config_location *ax = config_find_location(cfg.servers[0], "/x", 2);
    const struct config_location *aroot = config_find_location(cfg.servers[0], "/", 1);
    const struct config_location *by = config_find_location(cfg.servers[1], "/y", 2);
    const struct config_location *broot = config_find_location(cfg.servers[1], "/", 1);
    assert_string_equal(ax->headers.ok, "X-A: a b\r\n");          /* the server's, not main's */
    assert_string_equal(ax->headers.always, "X-A2: 2\r\n");
    assert_int_equal(ax->expires_s, CONFIG_EXPIRES_EPOCH);
    assert_string_equal(ax->default_type, "text/plain");
    assert_int_equal(aroot->expires_s, 3600);
    assert_string_equal(broot->headers.ok, "X-Main: 1\r\n");      /* main's */
    assert_null(broot->headers.always);
    assert_string_equal(broot->default_type, "application/octet-stream");
    assert_null(by->headers.ok);                                   /* replaced */
    assert_string_equal(by->headers.always, "X-L: l\r\n");
    assert_int_equal(by->expires_s, CONFIG_EXPIRES_MAX);
    assert_int_equal(config_format_value(&cfg, ax, "add_header", got, sizeof got), 0);
    assert_string_equal(got, "X-A a b\nX-A2 2 always");
    assert_int_equal(config_format_value(&cfg, by, "expires", got, sizeof got), 0);
    assert_string_equal(got, "max");
    assert_int_equal(config_format_value(&cfg, ax, "error_page", got, sizeof got), 0);
    assert_string_equal(got, "500 /50x.html\n502 /50x.html\n404 /a404.html");
    assert_int_equal(by->error_pages.n, 1); /* its own list only */
    assert_int_equal(by->error_pages.status[0], 403);
    assert_int_equal(broot->error_pages.n, 0);
    config_fini(&cfg);
    free(path);
}

/* Without server blocks the top level is the server: a location row with no
 * main field (return, fallback) set there reaches every location that has
 * none of its own; with blocks, every block that has none. */
static void test_config_top_level_is_the_implicit_server(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL;
    char *path = write_text(fx, "t.conf", "fallback /index.html;\nreturn 301 https://$host/;\n"
                                          "location /own {\n  return 404;\n}\n");

    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), 0);
    free(errs);
    const struct config_location *root = config_find_location(&cfg.top, "/", 1);
    const struct config_location *own = config_find_location(&cfg.top, "/own", 4);
    assert_string_equal(root->fallback, "/index.html");
    assert_int_equal(root->ret.status, 301);
    assert_true(root->ret.redirect);
    assert_string_equal(root->ret.text, "https://$host/");
    assert_string_equal(own->fallback, "/index.html");
    assert_int_equal(own->ret.status, 404);
    assert_null(own->ret.text);
    config_fini(&cfg);
    free(path);

    path = write_text(fx, "t.conf", "fallback /index.html;\nserver {\n}\n"
                                    "server {\n  fallback /app.html;\n}\n");
    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), 0);
    free(errs);
    assert_string_equal(cfg.servers[0]->locations[0].fallback, "/index.html");
    assert_string_equal(cfg.servers[1]->locations[0].fallback, "/app.html");
    assert_int_equal(cfg.servers[0]->locations[0].ret.status, 0);
    config_fini(&cfg);
    free(path);
}

/* The rows only a server block has get their table defaults in each block;
 * without default_server, the first block is the default. */
static void test_config_server_block_defaults(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL;
    char *path = write_text(fx, "t.conf", "server {\n}\nserver {\n  server_name x;\n}\n");
    char got[64];

    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), 0);
    free(errs);
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        if (config_allowed_main(d) || config_allowed_location(d) || !d->def)
            continue;
        assert_int_equal(d->type, CONFIG_T_BOOL); /* default_server, the only one today */
        snprintf(got, sizeof got, "%s",
                 *(const bool *)((const char *)cfg.servers[0] + d->srv_off) ? "on" : "off");
        assert_string_equal(got, d->def);
    }
    assert_int_equal(cfg.default_site, 0);
    assert_ptr_equal(config_find_site(&cfg, "unknown", 7), cfg.servers[0]);
    assert_ptr_equal(config_find_site(&cfg, "x", 1), cfg.servers[1]);
    config_fini(&cfg);
    free(path);
}

/* What config_finish refuses about server blocks, with FILE:LINE. */
static void test_config_server_block_finish_errors(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *name, *text, *errs;
    } cases[] = {
        { "duplicate name",
          "server {\n  server_name a.example;\n}\nserver {\n  server_name x A.Example.;\n}\n",
          "@:5: duplicate server_name 'A.Example.' (also in the server block at @:1)\n" },
        { "duplicate wildcard", "server {\n  server_name *.a;\n}\nserver {\n  server_name *.A;\n}\n",
          "@:5: duplicate server_name '*.A' (also in the server block at @:1)\n" },
        { "two defaults",
          "server {\n  default_server on;\n}\nserver {\n  default_server on;\n}\n",
          "@:4: default_server is already set for the server block at @:1\n" },
        { "top-level location with servers", "location /x {\n}\nserver {\n}\n",
          "@:1: location blocks go inside the server blocks when there are any\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct config cfg;
        char *errs = NULL, *path = write_text(fx, "t.conf", cases[i].text);
        char *want = expand(cases[i].errs, path);
        assert_int_equal(load(&cfg, path, &errs), 0);
        free(errs);
        int rc = finish(&cfg, &errs);
        if (rc != -1 || strcmp(errs, want) != 0)
            fail_msg("%s: rc %d\n got: %s\nwant: %s", cases[i].name, rc, errs, want);
        free(errs);
        free(want);
        free(path);
        config_fini(&cfg);
    }
}

static void test_config_load_file_bad_regex(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, *path = write_text(fx, "t.conf", "nokeepalive_user_agent \"(\";\n");
    char *want = expand("@:1: bad value '(' for 'nokeepalive_user_agent': ", path);

    assert_int_equal(load(&cfg, path, &errs), -1);
    assert_memory_equal(errs, want, strlen(want));
    assert_int_equal(cfg.nokeepalive_count, 0);
    free(errs);
    free(want);
    free(path);
    config_fini(&cfg);
}

static void test_config_load_file_include_loop(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, *want;
    char *a = write_text(fx, "a.conf", "root a;\ninclude b.conf;\n");
    char *b = write_text(fx, "b.conf", "\ninclude a.conf;\nindex b;\n");
    char *self = write_text(fx, "self.conf", "include self.conf;\n");

    assert_int_equal(load(&cfg, a, &errs), -1);
    want = expand("@/b.conf:2: include loop: '@/a.conf' is already being read\n", fx->dir);
    assert_string_equal(errs, want);
    assert_string_equal(cfg.top.index, "b"); /* the rest of b.conf was read */
    free(errs);
    free(want);
    config_fini(&cfg);

    assert_int_equal(load(&cfg, self, &errs), -1);
    want = expand("@:1: include loop: '@' is already being read\n", self);
    assert_string_equal(errs, want);
    free(errs);
    free(want);
    config_fini(&cfg);
    free(a);
    free(b);
    free(self);
}

static void test_config_load_file_include_depth(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, *want, name[32], text[64];
    char *top = NULL;

    /* d0 includes d1 ... d16: the 17th file is one too deep */
    for (int i = 0; i <= 16; i++) {
        char *p;
        snprintf(name, sizeof name, "d%d.conf", i);
        snprintf(text, sizeof text, i < 16 ? "include d%d.conf;\n" : "root deep;\n", i + 1);
        p = write_text(fx, name, text);
        if (i == 0)
            top = p;
        else
            free(p);
    }
    assert_int_equal(load(&cfg, top, &errs), -1);
    want = expand("@/d15.conf:1: includes nested too deeply (max 16)\n", fx->dir);
    assert_string_equal(errs, want);
    free(errs);
    free(want);
    free(top);
    config_fini(&cfg);
}

static void test_config_load_file_unreadable(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, *want, *path = write_text(fx, "t.conf", "root a;\ninclude nope.conf;\n");
    char *dir = write_text(fx, "sub/x.conf", "");
    char *incdir = write_text(fx, "d.conf", "include sub;\n");

    assert_int_equal(load(&cfg, path, &errs), -1);
    want = expand("@/t.conf:2: include '@/nope.conf': No such file or directory\n", fx->dir);
    assert_string_equal(errs, want);
    free(errs);
    free(want);
    config_fini(&cfg);

    assert_int_equal(load(&cfg, incdir, &errs), -1);
    want = expand("@/d.conf:1: include '@/sub': is a directory\n", fx->dir);
    assert_string_equal(errs, want);
    free(errs);
    free(want);
    config_fini(&cfg);

    free(path);
    assert_true(asprintf(&path, "%s/missing.conf", fx->dir) > 0);
    assert_int_equal(load(&cfg, path, &errs), -1);
    want = expand("@: No such file or directory\n", path);
    assert_string_equal(errs, want);
    free(errs);
    free(want);
    config_fini(&cfg);
    free(path);
    free(dir);
    free(incdir);
}

static void test_config_load_file_nul_byte(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    static const char text[] = "root a;\n# fine\nindex \0x;\n";
    char *errs = NULL, *path = write_file(fx, "t.conf", text, sizeof text - 1);
    char *want = expand("@:3: NUL byte in file\n", path);

    assert_int_equal(load(&cfg, path, &errs), -1);
    assert_string_equal(errs, want);
    free(errs);
    free(want);
    free(path);
    config_fini(&cfg);
}

static void test_config_load_file_too_large(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    size_t len = (1u << 20) + 1;
    char *text = malloc(len), *errs = NULL, *want, *big, *top, *exact;

    assert_non_null(text);
    memset(text, '#', len); /* one long comment: fine but for its size */
    big = write_file(fx, "big.conf", text, len);
    exact = write_file(fx, "exact.conf", text, len - 1);
    top = write_text(fx, "top.conf", "include big.conf;\n");

    assert_int_equal(load(&cfg, big, &errs), -1);
    want = expand("@: file too large (max 1048576 bytes)\n", big);
    assert_string_equal(errs, want);
    free(errs);
    free(want);
    config_fini(&cfg);

    assert_int_equal(load(&cfg, top, &errs), -1);
    want = expand("@:1: include '", top);
    assert_memory_equal(errs, want, strlen(want));
    assert_non_null(strstr(errs, "big.conf': file too large (max 1048576 bytes)\n"));
    free(errs);
    free(want);
    config_fini(&cfg);

    assert_int_equal(load(&cfg, exact, &errs), 0); /* exactly 1 MiB is allowed */
    free(errs);
    config_fini(&cfg);
    free(text);
    free(big);
    free(top);
    free(exact);
}

/* Compression and listing rows: a location inherits main's value unless
 * it sets its own; gzip_types is a word list checked word by word. */
static void test_config_compress_directives(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, *path, err[256];
    const char *types[] = { "text/css", "application/*" }, *bad_type[] = { "text" },
               *bad_char[] = { "text/c;ss" }, *bad_coding[] = { "zstd" },
               *off_and[] = { "gzip", "off" };

    path = write_text(fx, "t.conf",
                      "precompressed br gzip;\ngzip on;\ngzip_types text/css image/svg+xml;\n"
                      "location /raw/ {\n  precompressed off;\n  gzip off;\n  autoindex on;\n"
                      "  autoindex_max_entries 5;\n}\n"
                      "location /js/ {\n  gzip_types application/javascript *;\n"
                      "  gzip_level 9;\n}\n");
    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), 0);
    const struct config_location *root = config_find_location(&cfg.top, "/a", 2);
    const struct config_location *raw = config_find_location(&cfg.top, "/raw/x", 6);
    const struct config_location *js = config_find_location(&cfg.top, "/js/x", 5);
    value_equal(&cfg, root, "precompressed", "br gzip");
    assert_true(root->gzip && !root->autoindex);
    value_equal(&cfg, root, "gzip_types", "text/css image/svg+xml");
    value_equal(&cfg, raw, "precompressed", "off");
    assert_true(!raw->gzip && raw->autoindex && raw->autoindex_max_entries == 5);
    value_equal(&cfg, js, "gzip_types", "application/javascript *");
    assert_int_equal(js->gzip_level, 9);
    assert_int_equal(root->gzip_level, 6);
    value_equal(&cfg, NULL, "gzip_cache_size", "16m");
    config_fini(&cfg);
    free(errs);
    free(path);

    assert_int_equal(config_init_defaults(&cfg), 0);
    value_equal(&cfg, NULL, "precompressed", "off");
    assert_int_equal(config_set(&cfg, NULL, "gzip_types", types, 2, err, sizeof err), 0);
    assert_string_equal(cfg.gzip_types, "text/css application/*");
    assert_int_equal(config_set(&cfg, NULL, "gzip_types", bad_type, 1, err, sizeof err), -1);
    assert_string_equal(err, "bad value 'text' for 'gzip_types': expected a media type like "
                             "text/css, text/* or *");
    assert_int_equal(config_set(&cfg, NULL, "gzip_types", bad_char, 1, err, sizeof err), -1);
    assert_string_equal(err, "bad value 'text/c;ss' for 'gzip_types': ';' cannot appear in a "
                             "media type");
    assert_string_equal(cfg.gzip_types, "text/css application/*"); /* unchanged */
    assert_int_equal(config_set(&cfg, NULL, "precompressed", bad_coding, 1, err, sizeof err),
                     -1);
    assert_string_equal(err, "bad value 'zstd' for 'precompressed': expected one of br, gzip, "
                             "off");
    assert_int_equal(config_set(&cfg, NULL, "precompressed", off_and, 2, err, sizeof err), -1);
    assert_string_equal(err, "'off' cannot be combined with other values for 'precompressed'");
    config_fini(&cfg);
}

static void test_config_finish_cross_field_errors(void **state)
{
    struct fixture *fx = *state;
    struct config cfg;
    char *errs = NULL, *want, *path;

    path = write_text(fx, "t.conf",
                      "header_max_bytes 4k;\nfield_line_max_bytes 8k;\n"
                      "location /a {\n  auth_basic a;\n}\n"
                      "location /b {\n  auth_basic b;\n  auth_user_file missing-users;\n}\n");
    assert_int_equal(load(&cfg, path, &errs), 0);
    free(errs);
    assert_int_equal(finish(&cfg, &errs), -1);
    want = expand("@:3: location '/a' has auth_basic without auth_user_file\n"
                  "@:8: auth_user_file: ",
                  path);
    assert_memory_equal(errs, want, strlen(want));
    assert_non_null(strstr(errs, "missing-users"));
    assert_non_null(strstr(errs, "header_max_bytes 4k is smaller than field_line_max_bytes 8k\n"));
    free(errs);
    free(want);
    free(path);
    config_fini(&cfg);
}

/* The reference in docs/ and the example conf/lingerd.conf are generated from
 * the table; editing one without the other fails here. Regenerate with
 * tools/gen_reference (make docs). */
static void check_generated(const char *format, const char *rel)
{
    const char *src = getenv("LINGERD_SOURCE_DIR");
    char *path, *want = NULL, *got = NULL;
    size_t want_len = 0, got_len = 0;
    FILE *f, *out;

    assert_true(asprintf(&path, "%s/%s", src ? src : ".", rel) > 0);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s (set LINGERD_SOURCE_DIR to the source tree)", path);
    out = open_memstream(&want, &want_len);
    for (int c; (c = fgetc(f)) != EOF;)
        fputc(c, out);
    fclose(out);
    fclose(f);
    out = open_memstream(&got, &got_len);
    config_print_reference(out, format);
    fclose(out);
    if (want_len != got_len || memcmp(want, got, got_len) != 0)
        fail_msg("%s differs from config_print_reference(\"%s\"): regenerate it with "
                 "tools/gen_reference %s > %s",
                 path, format, format, rel);
    free(want);
    free(got);
    free(path);
}

static void test_config_print_reference_matches_docs(void **state)
{
    (void)state;
    check_generated("markdown", "docs/directives.md");
    check_generated("man", "docs/man/lingerd.conf.5");
    check_generated("conf", "conf/lingerd.conf");
}

/* Each group of the reference stands in one place: its rows are contiguous
 * in the table, so its heading appears once. */
static void test_config_reference_groups_appear_once(void **state)
{
    char *got = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&got, &len);
    (void)state;

    config_print_reference(out, "markdown");
    fclose(out);
    for (const char *h = strstr(got, "\n## "); h; h = strstr(h + 1, "\n## ")) {
        const char *end = strchr(h + 1, '\n');
        assert_non_null(end);
        char heading[128];
        snprintf(heading, sizeof heading, "%.*s\n", (int)(end - h), h);
        const char *again = strstr(end, heading);
        if (again)
            fail_msg("group heading '%.*s' appears twice", (int)(end - h - 1), h + 1);
    }
    free(got);
}

static void test_config_print_reference_text(void **state)
{
    char *got = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&got, &len);
    (void)state;

    config_print_reference(out, "text");
    fclose(out);
    for (size_t i = 0; i < config_directive_count(); i++) {
        char line[128];
        snprintf(line, sizeof line, "\n  %s ", config_directive_name(i));
        if (!strstr(got, line))
            fail_msg("-h text lacks %s", config_directive_name(i));
    }
    assert_non_null(strstr(got, "\n  header_timeout DURATION"));
    assert_non_null(strstr(got, " 20s "));
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_parse_duration_ms_table),
        cmocka_unit_test(test_config_parse_size_table),
        cmocka_unit_test(test_config_init_defaults_match_spec),
        cmocka_unit_test(test_config_defaults_equal_table),
        cmocka_unit_test_setup_teardown(test_config_load_file_blocks_include_comments,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test(test_config_find_location_longest_prefix),
        cmocka_unit_test(test_config_set_command_line),
        cmocka_unit_test(test_config_listen_forms),
        cmocka_unit_test_setup_teardown(test_config_balancer_directives, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_tls_directives, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_file_error_messages, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_file_bad_regex, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_server_block_inheritance, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_server_block_defaults, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_add_header_inheritance, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_top_level_is_the_implicit_server,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_server_block_finish_errors, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_file_include_loop, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_file_include_depth, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_file_unreadable, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_file_nul_byte, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_file_too_large, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_compress_directives, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config_finish_cross_field_errors, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test(test_config_print_reference_matches_docs),
        cmocka_unit_test(test_config_print_reference_text),
        cmocka_unit_test(test_config_reference_groups_appear_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
