/* accesslog — format access-log lines and buffer them per process.
 *
 * A format compiles once into items (literal runs and field numbers);
 * formatting a line is then a walk over the items into the buffer, with no
 * allocation and no syscall: the wall clock comes from the loop (entry's
 * wall_s) and the local-time text is rebuilt once per second. Client bytes
 * are escaped as Apache does ("\"", "\\", \xHH for anything unprintable) or,
 * in JSON, as \" \\ and \u00HH, so no CR, LF or ESC reaches the log and each
 * JSON line parses (bytes >= 0x80 read as Latin-1). A string field is cut at
 * ACCESSLOG_FIELD_MAX output bytes, so a JSON line always fits and stays
 * valid. Not here: deciding when a response is complete (conn.c).
 */
#include "accesslog.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "http1.h"

#define ACCESSLOG_BUFFER_BYTES (64 * 1024)
/* Output bytes of one escaped string field, at most (6 string fields of
 * JSON plus the rest stay under ACCESSLOG_LINE_MAX). */
#define ACCESSLOG_FIELD_MAX 1024

#define ACCESSLOG_COMBINED                                                                    \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "        \
    "\"$http_referer\" \"$http_user_agent\" $request_time_ms $close_reason"

enum accesslog_field {
    ACCESSLOG_LITERAL,
    ACCESSLOG_REMOTE_ADDR,
    ACCESSLOG_REMOTE_PORT,
    ACCESSLOG_REMOTE_USER,
    ACCESSLOG_TIME_LOCAL,
    ACCESSLOG_TIME_ISO8601,
    ACCESSLOG_REQUEST,
    ACCESSLOG_REQUEST_METHOD,
    ACCESSLOG_REQUEST_URI,
    ACCESSLOG_URI,
    ACCESSLOG_QUERY_STRING,
    ACCESSLOG_PROTOCOL,
    ACCESSLOG_HOST,
    ACCESSLOG_STATUS,
    ACCESSLOG_BYTES_SENT,
    ACCESSLOG_BODY_BYTES_SENT,
    ACCESSLOG_REQUEST_LENGTH,
    ACCESSLOG_REQUEST_TIME_MS,
    ACCESSLOG_HTTP_REFERER,
    ACCESSLOG_HTTP_USER_AGENT,
    ACCESSLOG_CONNECTION,
    ACCESSLOG_CONNECTION_REQUESTS,
    ACCESSLOG_CLOSE_REASON,
    ACCESSLOG_SCHEME,
    ACCESSLOG_TLS_VERSION,
    ACCESSLOG_TLS_CIPHER,
    ACCESSLOG_SNI,
    ACCESSLOG_BALANCER_ADDR,
    ACCESSLOG_UPSTREAM_ADDR,
    ACCESSLOG_UPSTREAM_STATUS,
    ACCESSLOG_UPSTREAM_TIME_MS,
    ACCESSLOG_FIELD_COUNT
};

static const char *const accesslog_field_names[] = {
    [ACCESSLOG_LITERAL] = NULL,
    [ACCESSLOG_REMOTE_ADDR] = "remote_addr",
    [ACCESSLOG_REMOTE_PORT] = "remote_port",
    [ACCESSLOG_REMOTE_USER] = "remote_user",
    [ACCESSLOG_TIME_LOCAL] = "time_local",
    [ACCESSLOG_TIME_ISO8601] = "time_iso8601",
    [ACCESSLOG_REQUEST] = "request",
    [ACCESSLOG_REQUEST_METHOD] = "request_method",
    [ACCESSLOG_REQUEST_URI] = "request_uri",
    [ACCESSLOG_URI] = "uri",
    [ACCESSLOG_QUERY_STRING] = "query_string",
    [ACCESSLOG_PROTOCOL] = "server_protocol",
    [ACCESSLOG_HOST] = "host",
    [ACCESSLOG_STATUS] = "status",
    [ACCESSLOG_BYTES_SENT] = "bytes_sent",
    [ACCESSLOG_BODY_BYTES_SENT] = "body_bytes_sent",
    [ACCESSLOG_REQUEST_LENGTH] = "request_length",
    [ACCESSLOG_REQUEST_TIME_MS] = "request_time_ms",
    [ACCESSLOG_HTTP_REFERER] = "http_referer",
    [ACCESSLOG_HTTP_USER_AGENT] = "http_user_agent",
    [ACCESSLOG_CONNECTION] = "connection",
    [ACCESSLOG_CONNECTION_REQUESTS] = "connection_requests",
    [ACCESSLOG_CLOSE_REASON] = "close_reason",
    [ACCESSLOG_SCHEME] = "scheme",
    [ACCESSLOG_TLS_VERSION] = "tls_version",
    [ACCESSLOG_TLS_CIPHER] = "tls_cipher",
    [ACCESSLOG_SNI] = "sni",
    [ACCESSLOG_BALANCER_ADDR] = "balancer_addr",
    [ACCESSLOG_UPSTREAM_ADDR] = "upstream_addr",
    [ACCESSLOG_UPSTREAM_STATUS] = "upstream_status",
    [ACCESSLOG_UPSTREAM_TIME_MS] = "upstream_response_time_ms",
};
static_assert(sizeof accesslog_field_names / sizeof accesslog_field_names[0] ==
                  ACCESSLOG_FIELD_COUNT,
              "a field without a name");

/* Output into a fixed buffer; what does not fit is dropped. */
struct accesslog_out {
    char *p;
    size_t len, cap;
};

static void accesslog_put(struct accesslog_out *o, const char *s, size_t n)
{
    if (n > o->cap - o->len)
        n = o->cap - o->len;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void accesslog_puts(struct accesslog_out *o, const char *s)
{
    accesslog_put(o, s, strlen(s));
}

static void accesslog_put_u64(struct accesslog_out *o, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do
        tmp[--i] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    accesslog_put(o, tmp + i, sizeof tmp - i);
}

/* Client bytes, escaped: Apache's way, or JSON's. Cut at ACCESSLOG_FIELD_MAX
 * output bytes, never inside an escape. */
static void accesslog_put_escaped(struct accesslog_out *o, const char *s, size_t n, bool json)
{
    static const char hex[] = "0123456789abcdef";
    size_t budget = ACCESSLOG_FIELD_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[6];
        size_t k = 0;
        if (ch == '"' || ch == '\\') {
            esc[k++] = '\\';
            esc[k++] = (char)ch;
        } else if (ch >= 0x20 && ch < 0x7f) {
            esc[k++] = (char)ch;
        } else if (json) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            k = 6;
        } else {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[ch >> 4];
            esc[3] = hex[ch & 15];
            k = 4;
        }
        if (k > budget || k > o->cap - o->len)
            return;
        budget -= k;
        accesslog_put(o, esc, k);
    }
}

/* The user name of Basic credentials, or 0 if there are none. */
static size_t accesslog_basic_user(const struct accesslog_entry *e, char *user, size_t cap)
{
    const struct http1_request *r = e->req;
    if (!r || r->authorization.len < 7 ||
        strncasecmp(e->buf + r->authorization.off, "Basic ", 6) != 0)
        return 0;
    const char *b64 = e->buf + r->authorization.off + 6;
    size_t len = r->authorization.len - 6;
    while (len && *b64 == ' ') {
        b64++;
        len--;
    }
    unsigned char dec[384];
    if (len > 4 * (sizeof dec / 3))
        return 0;
    long n = auth_base64_decode(b64, len, dec, sizeof dec);
    if (n <= 0)
        return 0;
    const unsigned char *colon = memchr(dec, ':', (size_t)n);
    size_t ulen = colon ? (size_t)(colon - dec) : 0;
    if (ulen == 0 || ulen > cap)
        return 0;
    memcpy(user, dec, ulen);
    return ulen;
}

/* "10/Oct/2000:13:55:36 +0000" and "2000-10-10T13:55:36+00:00", for one
 * second at a time: local time is formatted once per second, not per line. */
static struct {
    time_t s;
    char local[40];
    char iso[40];
} accesslog_clock = { .s = -1 };

static void accesslog_clock_set(time_t s)
{
    if (s == accesslog_clock.s)
        return;
    struct tm tm;
    localtime_r(&s, &tm);
    strftime(accesslog_clock.local, sizeof accesslog_clock.local, "%d/%b/%Y:%H:%M:%S %z", &tm);
    size_t n = strftime(accesslog_clock.iso, sizeof accesslog_clock.iso, "%Y-%m-%dT%H:%M:%S%z",
                        &tm);
    /* ISO 8601 extended: +hh:mm, not +hhmm */
    if (n == 24) {
        accesslog_clock.iso[25] = '\0';
        accesslog_clock.iso[24] = accesslog_clock.iso[23];
        accesslog_clock.iso[23] = accesslog_clock.iso[22];
        accesslog_clock.iso[22] = ':';
    }
    accesslog_clock.s = s;
}

/* One field's value. Text and numbers; absent values are "-" (null in JSON). */
static void accesslog_put_field(struct accesslog_out *o, enum accesslog_field f,
                                const struct accesslog_entry *e, bool json)
{
    const struct http1_request *r = e->req;
    const char *str = NULL, *cstr = NULL; /* a slice (str, len), or a C string */
    size_t len = 0;
    bool number = false;
    uint64_t num = 0;
    char tmp[INET6_ADDRSTRLEN];

    switch (f) {
    case ACCESSLOG_LITERAL:
    case ACCESSLOG_FIELD_COUNT:
        return;
    case ACCESSLOG_REMOTE_ADDR:
        if (inet_ntop(e->peer_family == 6 ? AF_INET6 : AF_INET, e->peer_addr, tmp, sizeof tmp)) {
            str = tmp;
            len = strlen(tmp);
        }
        break;
    case ACCESSLOG_REMOTE_PORT: number = true; num = e->peer_port; break;
    case ACCESSLOG_BALANCER_ADDR: /* the PROXY header's or real_ip_header's sender */
        if (e->balancer_family &&
            inet_ntop(e->balancer_family == 6 ? AF_INET6 : AF_INET, e->balancer_addr, tmp,
                      sizeof tmp)) {
            str = tmp;
            len = strlen(tmp);
        }
        break;
    case ACCESSLOG_REMOTE_USER: {
        char user[256];
        len = accesslog_basic_user(e, user, sizeof user);
        if (len) {
            if (json)
                accesslog_put(o, "\"", 1);
            accesslog_put_escaped(o, user, len, json);
            if (json)
                accesslog_put(o, "\"", 1);
            return;
        }
        break;
    }
    case ACCESSLOG_TIME_LOCAL:
        accesslog_clock_set(e->wall_s);
        str = accesslog_clock.local;
        len = strlen(str);
        break;
    case ACCESSLOG_TIME_ISO8601:
        accesslog_clock_set(e->wall_s);
        str = accesslog_clock.iso;
        len = strlen(str);
        break;
    case ACCESSLOG_REQUEST:
        if (r) {
            /* The request line as it came: method, target, version. */
            if (json)
                accesslog_put(o, "\"", 1);
            accesslog_put_escaped(o, e->buf + r->method_token.off, r->method_token.len, json);
            accesslog_put(o, " ", 1);
            accesslog_put_escaped(o, e->buf + r->target.off, r->target.len, json);
            accesslog_puts(o, r->http2 ? " HTTP/2.0" : r->version_minor == 0 ? " HTTP/1.0"
                                                                               : " HTTP/1.1");
            if (json)
                accesslog_put(o, "\"", 1);
            return;
        }
        break;
    case ACCESSLOG_REQUEST_METHOD:
        if (r) {
            str = e->buf + r->method_token.off;
            len = r->method_token.len;
        }
        break;
    case ACCESSLOG_REQUEST_URI:
        if (r) {
            str = e->buf + r->target.off;
            len = r->target.len;
        }
        break;
    case ACCESSLOG_URI:
        if (r && r->path.len) {
            str = e->buf + r->path.off;
            len = r->path.len;
        }
        break;
    case ACCESSLOG_QUERY_STRING:
        if (r && r->query.len) {
            str = e->buf + r->query.off;
            len = r->query.len;
        }
        break;
    case ACCESSLOG_PROTOCOL:
        if (r) {
            str = r->http2 ? "HTTP/2.0" : r->version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
            len = 8;
        }
        break;
    case ACCESSLOG_HOST:
        if (r && r->host.len) {
            str = e->buf + r->host.off;
            len = r->host.len;
        }
        break;
    case ACCESSLOG_STATUS: number = true; num = (uint64_t)e->status; break;
    case ACCESSLOG_BYTES_SENT: number = true; num = e->bytes_sent; break;
    case ACCESSLOG_BODY_BYTES_SENT: number = true; num = e->body_bytes_sent; break;
    case ACCESSLOG_REQUEST_LENGTH: number = true; num = e->request_length; break;
    case ACCESSLOG_REQUEST_TIME_MS: number = true; num = e->duration_ms; break;
    case ACCESSLOG_HTTP_REFERER:
        if (r && r->referer.len) {
            str = e->buf + r->referer.off;
            len = r->referer.len;
        }
        break;
    case ACCESSLOG_HTTP_USER_AGENT:
        if (r && r->user_agent.len) {
            str = e->buf + r->user_agent.off;
            len = r->user_agent.len;
        }
        break;
    case ACCESSLOG_CONNECTION: number = true; num = e->conn_id; break;
    case ACCESSLOG_CONNECTION_REQUESTS: number = true; num = e->conn_requests; break;
    case ACCESSLOG_CLOSE_REASON: cstr = e->close_reason; break;
    case ACCESSLOG_SCHEME: cstr = e->tls ? "https" : "http"; break;
    case ACCESSLOG_TLS_VERSION: cstr = e->tls_version; break;
    case ACCESSLOG_TLS_CIPHER: cstr = e->tls_cipher; break;
    case ACCESSLOG_SNI: cstr = e->sni; break; /* the client's bytes: escaped below */
    case ACCESSLOG_UPSTREAM_ADDR: cstr = e->upstream_addr; break;
    case ACCESSLOG_UPSTREAM_STATUS:
        number = e->upstream_addr && e->upstream_status;
        num = (uint64_t)e->upstream_status;
        break;
    case ACCESSLOG_UPSTREAM_TIME_MS:
        number = e->upstream_addr != NULL;
        num = e->upstream_time_ms;
        break;
    }
    if (cstr) {
        str = cstr;
        len = strlen(cstr);
    }
    if (number) {
        accesslog_put_u64(o, num);
    } else if (!str) {
        accesslog_puts(o, json ? "null" : "-");
    } else {
        if (json)
            accesslog_put(o, "\"", 1);
        accesslog_put_escaped(o, str, len, json);
        if (json)
            accesslog_put(o, "\"", 1);
    }
}

static enum accesslog_field accesslog_field_find(const char *name, size_t len)
{
    /* $protocol: the name other servers' formats use for $server_protocol */
    if (len == 8 && memcmp(name, "protocol", 8) == 0)
        return ACCESSLOG_PROTOCOL;
    for (size_t i = 1; i < ACCESSLOG_FIELD_COUNT; i++)
        if (strlen(accesslog_field_names[i]) == len &&
            memcmp(accesslog_field_names[i], name, len) == 0)
            return (enum accesslog_field)i;
    return ACCESSLOG_LITERAL;
}

static bool accesslog_is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static int accesslog_add_item(struct accesslog_format *f, enum accesslog_field field, size_t off,
                              size_t len, char *err, size_t errlen)
{
    if (field == ACCESSLOG_LITERAL && len == 0)
        return 0;
    if (f->count == ACCESSLOG_ITEMS_MAX) {
        snprintf(err, errlen, "more than %d fields and literal runs", ACCESSLOG_ITEMS_MAX);
        return -1;
    }
    f->items[f->count++] = (struct accesslog_item){ (uint8_t)field, (uint16_t)off,
                                                    (uint16_t)len };
    return 0;
}

int accesslog_format_compile(struct accesslog_format *f, const char *spec, char *err,
                             size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (strcmp(spec, "json") == 0) {
        f->json = true;
        return 0;
    }
    if (strcmp(spec, "combined") == 0)
        spec = ACCESSLOG_COMBINED;
    size_t n = strlen(spec);
    if (n >= sizeof f->text) {
        snprintf(err, errlen, "longer than %zu bytes", sizeof f->text - 1);
        return -1;
    }
    memcpy(f->text, spec, n + 1);
    size_t lit = 0; /* start of the current literal run */
    for (size_t i = 0; i < n;) {
        if (f->text[i] != '$') {
            i++;
            continue;
        }
        if (accesslog_add_item(f, ACCESSLOG_LITERAL, lit, i - lit, err, errlen) < 0)
            return -1;
        if (f->text[i + 1] == '$') { /* "$$": a literal '$' */
            lit = i + 1;
            i += 2;
            continue;
        }
        bool braced = f->text[i + 1] == '{';
        size_t start = i + 1 + braced, end = start;
        while (end < n && accesslog_is_name_char(f->text[end]))
            end++;
        if (braced && f->text[end] != '}') {
            snprintf(err, errlen, "'${' without a closing '}'");
            return -1;
        }
        enum accesslog_field field = accesslog_field_find(f->text + start, end - start);
        if (field == ACCESSLOG_LITERAL) {
            snprintf(err, errlen, "unknown field '$%.*s'", (int)(end - start), f->text + start);
            return -1;
        }
        if (accesslog_add_item(f, field, 0, 0, err, errlen) < 0)
            return -1;
        i = end + braced;
        lit = i;
    }
    return accesslog_add_item(f, ACCESSLOG_LITERAL, lit, n - lit, err, errlen);
}

int accesslog_format_check(const char *spec, char *err, size_t errlen)
{
    static struct accesslog_format scratch; /* config-time only; 1.4 KiB off the stack */
    return accesslog_format_compile(&scratch, spec, err, errlen);
}

size_t accesslog_format_line(const struct accesslog_format *f, const struct accesslog_entry *e,
                             char *out, size_t cap)
{
    assert(cap >= 2);
    struct accesslog_out o = { out, 0, cap - 1 }; /* room for the '\n' */
    if (f->json) {
        for (size_t i = 1; i < ACCESSLOG_FIELD_COUNT; i++) {
            if (i == ACCESSLOG_TIME_LOCAL)
                continue; /* time_iso8601 says it without ambiguity */
            accesslog_puts(&o, i == 1 ? "{\"" : ",\"");
            accesslog_puts(&o, accesslog_field_names[i]);
            accesslog_puts(&o, "\":");
            accesslog_put_field(&o, (enum accesslog_field)i, e, true);
        }
        accesslog_put(&o, "}", 1);
    } else {
        for (size_t i = 0; i < f->count; i++) {
            const struct accesslog_item *it = &f->items[i];
            if (it->field == ACCESSLOG_LITERAL)
                accesslog_put(&o, f->text + it->off, it->len);
            else
                accesslog_put_field(&o, (enum accesslog_field)it->field, e, false);
        }
    }
    out[o.len++] = '\n';
    return o.len;
}

/* ---- the files: one per distinct path and format, written once per loop
 * iteration. Sites share a sink when they log the same way; each sink has
 * its own buffer, so a site's lines stay together and in order. ---- */

#define ACCESSLOG_SINKS_MAX (CONFIG_SERVER_MAX + 1)

struct accesslog_sink {
    char *path;   /* NULL: unused slot */
    char *spec;   /* the format as configured */
    int fd;
    struct accesslog_format fmt;
    char *buf;    /* ACCESSLOG_BUFFER_BYTES */
    size_t len;
};

bool accesslog_on;
static struct accesslog_sink accesslog_sinks[ACCESSLOG_SINKS_MAX];
static int accesslog_site_sink[CONFIG_SERVER_MAX]; /* index in accesslog_sinks; -1: off */
static int accesslog_main_sink = -1;               /* responses no site answered */

static int accesslog_open_path(const char *path)
{
    if (strcmp(path, "stderr") == 0)
        return 2;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    return fd < 0 ? -errno : fd;
}

static void accesslog_sink_flush(struct accesslog_sink *k)
{
    size_t off = 0;
    while (off < k->len && k->fd >= 0) {
        ssize_t n = write(k->fd, k->buf + off, k->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* a full disk must not stop the server: the lines are dropped */
        off += (size_t)n;
    }
    k->len = 0;
}

static void accesslog_sink_fini(struct accesslog_sink *k)
{
    accesslog_sink_flush(k);
    if (k->fd > 2)
        close(k->fd);
    free(k->path);
    free(k->spec);
    free(k->buf);
    memset(k, 0, sizeof *k);
    k->fd = -1;
}

/* The sink in next[] for (path, spec), made if new: an already open file of
 * the same path in old[] is taken over. Its index, -1 for off, or -errno. */
static int accesslog_sink_for(struct accesslog_sink *next, struct accesslog_sink *old,
                              const char *path, const char *spec)
{
    char err[128];
    size_t i;

    if (!path || strcmp(path, "off") == 0)
        return -1;
    for (i = 0; i < ACCESSLOG_SINKS_MAX && next[i].path; i++)
        if (strcmp(next[i].path, path) == 0 && strcmp(next[i].spec, spec) == 0)
            return (int)i;
    if (i == ACCESSLOG_SINKS_MAX)
        return -ENOSPC; /* cannot happen: one per site and the main one */
    struct accesslog_sink *k = &next[i];
    k->fd = -1;
    if (accesslog_format_compile(&k->fmt, spec, err, sizeof err) < 0)
        return -EINVAL;
    k->path = strdup(path);
    k->spec = strdup(spec);
    k->buf = malloc(ACCESSLOG_BUFFER_BYTES);
    if (!k->path || !k->spec || !k->buf)
        return -ENOMEM;
    for (size_t j = 0; j < ACCESSLOG_SINKS_MAX; j++) {
        if (old[j].path && old[j].fd >= 0 && strcmp(old[j].path, path) == 0) {
            accesslog_sink_flush(&old[j]);
            k->fd = old[j].fd > 2 ? dup(old[j].fd) : old[j].fd;
            if (k->fd < 0)
                return -errno;
            return (int)i;
        }
    }
    k->fd = accesslog_open_path(path);
    return k->fd < 0 ? k->fd : (int)i;
}

int accesslog_open(const struct config *cfg)
{
    static struct accesslog_sink next[ACCESSLOG_SINKS_MAX];
    int rc = 0, main_sink, site_sink[CONFIG_SERVER_MAX];

    memset(next, 0, sizeof next);
    main_sink = accesslog_sink_for(next, accesslog_sinks, cfg->top.access_log,
                                   cfg->top.access_log_format);
    rc = main_sink < -1 ? main_sink : 0;
    for (size_t i = 0; i < cfg->site_count && rc == 0; i++) {
        const struct config_server *site = cfg->sites[i];
        site_sink[i] = accesslog_sink_for(next, accesslog_sinks, site->access_log,
                                          site->access_log_format);
        rc = site_sink[i] < -1 ? site_sink[i] : 0;
    }
    if (rc < 0) {
        for (size_t i = 0; i < ACCESSLOG_SINKS_MAX; i++)
            if (next[i].path || next[i].buf)
                accesslog_sink_fini(&next[i]);
        return rc;
    }
    accesslog_close();
    memcpy(accesslog_sinks, next, sizeof next);
    accesslog_main_sink = main_sink;
    for (size_t i = 0; i < CONFIG_SERVER_MAX; i++)
        accesslog_site_sink[i] = i < cfg->site_count ? site_sink[i] : -1;
    accesslog_on = accesslog_sinks[0].path != NULL;
    return 0;
}

int accesslog_reopen(void)
{
    int rc = 0;
    for (size_t i = 0; i < ACCESSLOG_SINKS_MAX && accesslog_sinks[i].path; i++) {
        struct accesslog_sink *k = &accesslog_sinks[i];
        int fd = accesslog_open_path(k->path);
        if (fd < 0) {
            rc = rc ? rc : fd;
            continue;
        }
        accesslog_sink_flush(k);
        if (k->fd > 2 && k->fd != fd)
            close(k->fd);
        k->fd = fd;
    }
    return rc;
}

void accesslog_flush(void)
{
    for (size_t i = 0; i < ACCESSLOG_SINKS_MAX && accesslog_sinks[i].path; i++)
        accesslog_sink_flush(&accesslog_sinks[i]);
}

void accesslog_close(void)
{
    for (size_t i = 0; i < ACCESSLOG_SINKS_MAX; i++)
        if (accesslog_sinks[i].path || accesslog_sinks[i].buf)
            accesslog_sink_fini(&accesslog_sinks[i]);
    for (size_t i = 0; i < CONFIG_SERVER_MAX; i++)
        accesslog_site_sink[i] = -1;
    accesslog_main_sink = -1;
    accesslog_on = false;
}

void accesslog_write(const struct accesslog_entry *e)
{
    int s = e->site >= 0 && e->site < CONFIG_SERVER_MAX ? accesslog_site_sink[e->site]
                                                        : accesslog_main_sink;
    if (!accesslog_on || s < 0)
        return;
    struct accesslog_sink *k = &accesslog_sinks[s];
    if (k->len + ACCESSLOG_LINE_MAX > ACCESSLOG_BUFFER_BYTES)
        accesslog_sink_flush(k);
    k->len += accesslog_format_line(&k->fmt, e, k->buf + k->len, ACCESSLOG_LINE_MAX);
}
