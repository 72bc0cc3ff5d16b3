/* autoindex — directory listings.
 *
 * What is listed: regular files and directories whose names do not start
 * with '.', so dot-files, lingerd's own ".lingerd-*" upload temporaries and
 * anything else hidden never show; symbolic links, sockets and devices are
 * left out (a link may point outside the tree, and its size or date would
 * tell about what it points to). Directories first, then files, each by
 * name in byte order (stable and locale-free: what `ls` does under LC_ALL=C).
 * A parent link "../" everywhere but at the location's own root.
 *
 * Cost: the worker reads the directory (getdents) and stats each visible
 * entry while it serves nothing else, so autoindex_max_entries bounds the
 * work: at most that many entries are read and shown (the first the
 * directory returns, then sorted), and the page says when it was cut short.
 * About 1 µs per entry on a warm dentry cache, far more on a cold disk.
 *
 * Formats: HTML, or JSON for ?format=json or an Accept that weighs
 * application/json above text/html (a browser's Accept, and curl's
 * wildcard, get HTML); Vary: Accept says so to caches.
 * No validators: a listing changes with every upload.
 */
#include "autoindex.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "http1.h"

/* ---- escaping (pure) ---------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s[0..len) (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0; *cp gets the
 * code point. */
static size_t autoindex_utf8(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t n;
    uint32_t v, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
        n = 2, v = b & 0x1f, min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3, v = b & 0x0f, min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4, v = b & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* Append s[0..n) at *o of out (cap), counting what does not fit. */
static void autoindex_put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, (*o)++)
        if (*o + 1 < cap)
            out[*o] = s[i];
}

static size_t autoindex_end(char *out, size_t cap, size_t o)
{
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
    return o;
}

#define AUTOINDEX_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

size_t autoindex_escape_html(const char *in, size_t len, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = autoindex_utf8(s + i, len - i, &cp);
        if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
            autoindex_put(out, cap, &o, AUTOINDEX_REPLACEMENT, 3);
            i += n ? n : 1;
            continue;
        }
        switch (cp) {
        case '&': autoindex_put(out, cap, &o, "&amp;", 5); break;
        case '<': autoindex_put(out, cap, &o, "&lt;", 4); break;
        case '>': autoindex_put(out, cap, &o, "&gt;", 4); break;
        case '"': autoindex_put(out, cap, &o, "&quot;", 6); break;
        case '\'': autoindex_put(out, cap, &o, "&#39;", 5); break;
        default: autoindex_put(out, cap, &o, in + i, n); break;
        }
        i += n;
    }
    return autoindex_end(out, cap, o);
}

size_t autoindex_escape_href(const char *in, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            autoindex_put(out, cap, &o, in + i, 1);
        } else {
            char pct[3] = { '%', hex[ch >> 4], hex[ch & 15] };
            autoindex_put(out, cap, &o, pct, 3);
        }
    }
    return autoindex_end(out, cap, o);
}

size_t autoindex_escape_json(const char *in, size_t len, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = autoindex_utf8(s + i, len - i, &cp);
        if (n == 0) {
            autoindex_put(out, cap, &o, "\\ufffd", 6);
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\') {
            char esc[2] = { '\\', (char)cp };
            autoindex_put(out, cap, &o, esc, 2);
        } else if (cp < 0x20 || cp == 0x7f) {
            char esc[7];
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            autoindex_put(out, cap, &o, esc, 6);
        } else {
            autoindex_put(out, cap, &o, in + i, n);
        }
        i += n;
    }
    return autoindex_end(out, cap, o);
}

/* ---- reading the directory ---------------------------------------------- */

struct autoindex_entry {
    char *name;
    size_t name_len;
    bool dir;
    uint64_t size;
    time_t mtime;
};

struct autoindex_list {
    struct autoindex_entry *v;
    size_t n;
    bool truncated;
};

static int autoindex_compare(const void *a, const void *b)
{
    const struct autoindex_entry *x = a, *y = b;
    if (x->dir != y->dir)
        return x->dir ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void autoindex_list_free(struct autoindex_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* Read at most max visible entries of dirfd (taken). 0 or -errno. */
static int autoindex_read(int dirfd, uint32_t max, struct autoindex_list *l)
{
    memset(l, 0, sizeof *l);
    DIR *d = fdopendir(dirfd);
    if (!d) {
        int e = errno;
        close(dirfd);
        return -e;
    }
    l->v = calloc(max, sizeof *l->v);
    if (!l->v) {
        closedir(d);
        return -ENOMEM;
    }
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", dot-files, ".lingerd-*" */
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
            continue;
        if (l->n == max) {
            l->truncated = true;
            break;
        }
        struct autoindex_entry *e = &l->v[l->n];
        e->name_len = strlen(de->d_name);
        e->name = strdup(de->d_name);
        if (!e->name) {
            closedir(d);
            autoindex_list_free(l);
            return -ENOMEM;
        }
        e->dir = S_ISDIR(st.st_mode);
        e->size = e->dir ? 0 : (uint64_t)st.st_size;
        e->mtime = st.st_mtim.tv_sec;
        l->n++;
    }
    closedir(d);
    qsort(l->v, l->n, sizeof *l->v, autoindex_compare);
    return 0;
}

/* ---- the page ----------------------------------------------------------- */

/* A growing response body; a failed allocation is remembered. */
struct autoindex_out {
    char *p;
    size_t len, cap;
    bool failed;
};

static char *autoindex_room(struct autoindex_out *o, size_t n)
{
    if (o->failed)
        return NULL;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->failed = true;
            return NULL;
        }
        o->p = p;
        o->cap = cap;
    }
    return o->p + o->len;
}

/* Formatted into the room left; only when it does not fit, grow and again. */
__attribute__((format(printf, 2, 3)))
static void autoindex_printf(struct autoindex_out *o, const char *fmt, ...)
{
    va_list ap;
    char *at = autoindex_room(o, 0);
    if (!at)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(at, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= o->cap - o->len) {
        at = autoindex_room(o, (size_t)n);
        if (!at)
            return;
        va_start(ap, fmt);
        vsnprintf(at, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    o->len += (size_t)n;
}

typedef size_t autoindex_escape_fn(const char *in, size_t len, char *out, size_t cap);

static void autoindex_escaped(struct autoindex_out *o, autoindex_escape_fn *esc, const char *s,
                              size_t len)
{
    size_t need = len * AUTOINDEX_ESCAPE_MAX;
    char *at = autoindex_room(o, need);
    if (at)
        o->len += esc(s, len, at, need + 1);
}

/* UTC, "2026-12-06 15:04" for people or RFC 3339 for JSON. */
static void autoindex_time(time_t t, char *out, size_t cap, bool rfc3339)
{
    struct tm tm;
    size_t n = 0;
    if (gmtime_r(&t, &tm))
        n = rfc3339 ? strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm)
                    : strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
    if (n == 0)
        snprintf(out, cap, "-");
}

static void autoindex_html(struct autoindex_out *o, const struct autoindex_list *l,
                           const char *path, size_t len, bool parent, uint32_t max)
{
    autoindex_printf(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
                        "<title>Index of ");
    autoindex_escaped(o, autoindex_escape_html, path, len);
    autoindex_printf(o, "</title>\n<style>body{font-family:system-ui,sans-serif;margin:2em}"
                        "table{border-collapse:collapse}td,th{padding:.2em 1em;text-align:left}"
                        "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
                        "tr:nth-child(even){background:#f4f4f4}</style></head>\n<body>\n"
                        "<h1>Index of ");
    autoindex_escaped(o, autoindex_escape_html, path, len);
    autoindex_printf(o, "</h1>\n<table>\n<thead><tr><th>Name</th><th class=\"n\">Size "
                        "(bytes)</th><th>Modified (UTC)</th></tr></thead>\n<tbody>\n");
    if (parent)
        autoindex_printf(o, "<tr><td><a href=\"../\">../</a></td><td class=\"n\"></td>"
                            "<td></td></tr>\n");
    for (size_t i = 0; i < l->n; i++) {
        const struct autoindex_entry *e = &l->v[i];
        char when[32];
        autoindex_time(e->mtime, when, sizeof when, false);
        autoindex_printf(o, "<tr><td><a href=\"");
        autoindex_escaped(o, autoindex_escape_href, e->name, e->name_len);
        autoindex_printf(o, "%s\">", e->dir ? "/" : "");
        autoindex_escaped(o, autoindex_escape_html, e->name, e->name_len);
        if (e->dir)
            autoindex_printf(o, "/</a></td><td class=\"n\">-</td><td>%s</td></tr>\n", when);
        else
            autoindex_printf(o, "</a></td><td class=\"n\">%" PRIu64 "</td><td>%s</td></tr>\n",
                             e->size, when);
    }
    autoindex_printf(o, "</tbody>\n</table>\n");
    if (l->truncated)
        autoindex_printf(o, "<p id=\"truncated\">This directory has more entries: only the "
                            "first %" PRIu32 " read are listed (autoindex_max_entries).</p>\n",
                         max);
    autoindex_printf(o, "</body></html>\n");
}

static void autoindex_json(struct autoindex_out *o, const struct autoindex_list *l,
                           const char *path, size_t len)
{
    autoindex_printf(o, "{\"path\":\"");
    autoindex_escaped(o, autoindex_escape_json, path, len);
    autoindex_printf(o, "\",\"truncated\":%s,\"entries\":[", l->truncated ? "true" : "false");
    for (size_t i = 0; i < l->n; i++) {
        const struct autoindex_entry *e = &l->v[i];
        char when[32];
        autoindex_time(e->mtime, when, sizeof when, true);
        autoindex_printf(o, "%s\n{\"name\":\"", i ? "," : "");
        autoindex_escaped(o, autoindex_escape_json, e->name, e->name_len);
        autoindex_printf(o, "\",\"href\":\"");
        autoindex_escaped(o, autoindex_escape_href, e->name, e->name_len);
        autoindex_printf(o, "%s\",\"type\":\"%s\",", e->dir ? "/" : "",
                         e->dir ? "directory" : "file");
        if (!e->dir)
            autoindex_printf(o, "\"size\":%" PRIu64 ",", e->size);
        autoindex_printf(o, "\"mtime\":\"%s\"}", when);
    }
    autoindex_printf(o, "]}\n");
}

void autoindex_accept_init(struct autoindex_accept *a)
{
    *a = (struct autoindex_accept){ -1, -1, 0, 0 };
}

/* The weight of "q=..." in params p[0..n) (";a=b;q=0.5"), 1000 without one,
 * or -1 if it is malformed. */
static int autoindex_accept_weight(const char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        while (i < n && (p[i] == ';' || p[i] == ' ' || p[i] == '\t'))
            i++;
        size_t s = i;
        while (i < n && p[i] != ';')
            i++;
        size_t e = i;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        if (e - s < 2 || (p[s] != 'q' && p[s] != 'Q') || p[s + 1] != '=')
            continue;
        const char *v = p + s + 2;
        size_t vl = e - s - 2;
        if (vl == 0 || vl > 5 || (v[0] != '0' && v[0] != '1') || (vl > 1 && v[1] != '.'))
            return -1;
        int q = (v[0] - '0') * 1000, scale = 100;
        for (size_t k = 2; k < vl; k++, scale /= 10) {
            if (v[k] < '0' || v[k] > '9')
                return -1;
            q += (v[k] - '0') * scale;
        }
        return q > 1000 ? -1 : q;
    }
    return 1000;
}

/* How specifically range r[0..n) ("type/sub") matches want ("type/sub"):
 * 3 exact, 2 "type/" and a star, 1 two stars, 0 not at all. */
static int autoindex_accept_rank(const char *r, size_t n, const char *want)
{
    size_t wl = strlen(want), major = (size_t)(strchr(want, '/') - want) + 1;
    if (n == wl && strncasecmp(r, want, n) == 0)
        return 3;
    if (n == major + 1 && r[n - 1] == '*' && strncasecmp(r, want, major) == 0)
        return 2;
    return n == 3 && memcmp(r, "*/*", 3) == 0 ? 1 : 0;
}

void autoindex_accept_add(struct autoindex_accept *a, const char *value, size_t len)
{
    for (size_t i = 0; i < len;) {
        const char *comma = memchr(value + i, ',', len - i);
        size_t end = comma ? (size_t)(comma - value) : len;
        size_t s = i;
        while (s < end && (value[s] == ' ' || value[s] == '\t'))
            s++;
        size_t t = s;
        while (t < end && value[t] != ';' && value[t] != ' ' && value[t] != '\t')
            t++;
        int q = autoindex_accept_weight(value + t, end - t);
        if (q >= 0) {
            int jr = autoindex_accept_rank(value + s, t - s, "application/json");
            int hr = autoindex_accept_rank(value + s, t - s, "text/html");
            if (jr > a->json_rank) {
                a->json_rank = jr;
                a->json_q = q;
            }
            if (hr > a->html_rank) {
                a->html_rank = hr;
                a->html_q = q;
            }
        }
        i = end + 1;
    }
}

bool autoindex_accept_json(const struct autoindex_accept *a)
{
    return a->json_q > 0 && a->json_q > a->html_q;
}

/* ?format=json (one of the &-separated parameters), or an Accept field
 * that weighs application/json above text/html. */
static bool autoindex_wants_json(const struct http1_request *req, const char *buf)
{
    const char *q = buf + req->query.off, *end = q + req->query.len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        size_t n = amp ? (size_t)(amp - q) : (size_t)(end - q);
        if (n == 11 && memcmp(q, "format=json", 11) == 0)
            return true;
        q += n + 1;
    }
    struct autoindex_accept a;
    autoindex_accept_init(&a);
    for (uint32_t i = 0; i < req->field_count; i++)
        if (http1_slice_equals(buf, req->fields[i].name, "accept"))
            autoindex_accept_add(&a, buf + req->fields[i].value.off, req->fields[i].value.len);
    return autoindex_accept_json(&a);
}

void autoindex_answer(struct conn *c, const struct config_location *loc, int dirfd,
                      const char *path, size_t len)
{
    const struct http1_request *req = conn_request(c);
    struct autoindex_list l;
    int rc = autoindex_read(dirfd, loc->autoindex_max_entries, &l);
    if (rc < 0) {
        conn_resp_error(c, rc == -EACCES ? 403 : rc == -ENOMEM || rc == -EMFILE ? 503 : 500,
                        NULL);
        return;
    }
    bool json = autoindex_wants_json(req, conn_request_buf(c));
    struct autoindex_out o = { 0 };
    if (json)
        autoindex_json(&o, &l, path, len);
    else
        autoindex_html(&o, &l, path, len, len != loc->prefix_len,
                       loc->autoindex_max_entries);
    autoindex_list_free(&l);
    if (o.failed) {
        free(o.p);
        conn_resp_error(c, 503, NULL);
        return;
    }
    conn_resp_begin(c, 200);
    if (json)
        conn_resp_raw(c, "Content-Type: application/json\r\n", 32);
    else
        conn_resp_raw(c, "Content-Type: text/html; charset=utf-8\r\n", 40);
    conn_resp_raw(c, "Vary: Accept\r\nCache-Control: no-cache\r\n", 39);
    conn_resp_end(c, (int64_t)o.len);
    conn_resp_body(c, o.p, o.len);
    free(o.p);
}
