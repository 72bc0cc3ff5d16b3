/* config_compound — the directive values with structure or more than one
 * word: listen addresses, server name patterns, CIDR lists, certificates,
 * keyword and method sets, name lists, header lines, expires, error pages,
 * return and word lists. config_store (config_value.c) hands each its row
 * and arguments; the scalar types (durations, sizes, numbers, strings) stay
 * in config_value.c.
 */
#include "config_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "redirect.h"
#include "vhost.h"
/* "127.0.0.1:8080", "[::1]:8080", "*:8080", "8080", then the options
 * backlog=N and tls, in any order, each at most once. */
static int config_parse_listen(const struct config_directive *d, struct config_listen *l,
                               const char *const *args, size_t nargs, char *err, size_t errlen)
{
    const char *arg = args[0], *port_text;
    char host[64];
    uint64_t port, backlog = CONFIG_BACKLOG_DEFAULT;
    bool have_backlog = false;

    memset(l, 0, sizeof *l);
    if (strlen(arg) >= sizeof l->text)
        return config_bad_value(d, arg, err, errlen);
    if (arg[0] == '[') {
        const char *end = strstr(arg, "]:");
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
        size_t n = end ? (size_t)(end - arg - 1) : 0;
        if (!end || n >= sizeof host)
            return config_bad_value(d, arg, err, errlen);
        memcpy(host, arg + 1, n);
        host[n] = '\0';
        sin6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return config_bad_value(d, arg, err, errlen);
        l->addr_len = sizeof *sin6;
        port_text = end + 2;
    } else {
        const char *colon = strrchr(arg, ':');
        struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        port_text = arg;
        if (colon) {
            size_t n = (size_t)(colon - arg);
            if (n >= sizeof host)
                return config_bad_value(d, arg, err, errlen);
            memcpy(host, arg, n);
            host[n] = '\0';
            if (strcmp(host, "*") != 0 && inet_pton(AF_INET, host, &sin->sin_addr) != 1)
                return config_bad_value(d, arg, err, errlen);
            port_text = colon + 1;
        }
        l->addr_len = sizeof *sin;
    }
    if (config_parse_digits(&port_text, 10, &port) < 0 || *port_text != '\0')
        return config_bad_value(d, arg, err, errlen);
    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "'%s' port in '%s' is out of bounds (1..65535)", d->name, arg);
        return -1;
    }
    /* sin_port and sin6_port sit at the same offset, but say which we mean */
    if (l->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&l->addr)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&l->addr)->sin_port = htons((uint16_t)port);

    for (size_t i = 1; i < nargs; i++) {
        const char *p = args[i];
        if (strcmp(p, "tls") == 0 && !l->tls) {
            l->tls = true;
            continue;
        }
        if (strcmp(p, "proxy_protocol") == 0 && !l->proxy_protocol) {
            l->proxy_protocol = true;
            continue;
        }
        if (have_backlog || strncmp(p, "backlog=", 8) != 0
            || (p += 8, config_parse_digits(&p, 10, &backlog)) < 0 || *p != '\0') {
            snprintf(err, errlen, "bad value '%s' for '%s': expected backlog=N, tls or "
                     "proxy_protocol, each at most once", args[i], d->name);
            return -1;
        }
        if (backlog < d->min || backlog > d->max) {
            snprintf(err, errlen, "'%s' value '%s' is out of bounds (backlog=1..65535)",
                     d->name, args[i]);
            return -1;
        }
        have_backlog = true;
    }
    l->backlog = (int)backlog;
    snprintf(l->text, sizeof l->text, "%s", arg);
    return 0;
}

int config_add_listen(struct config *cfg, const struct config_directive *d,
                      const char *const *args, size_t nargs, char *err, size_t errlen)
{
    struct config_listen l;

    if (config_parse_listen(d, &l, args, nargs, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < cfg->listen_count; i++) {
        const struct config_listen *o = &cfg->listens[i];
        if (o->addr_len == l.addr_len && memcmp(&o->addr, &l.addr, l.addr_len) == 0) {
            snprintf(err, errlen, "duplicate listen address '%s' (same as '%s')", l.text,
                     o->text);
            return -1;
        }
    }
    if (cfg->listen_count == CONFIG_LISTEN_MAX) {
        snprintf(err, errlen, "too many '%s' directives (max %d)", d->name, CONFIG_LISTEN_MAX);
        return -1;
    }
    cfg->listens[cfg->listen_count++] = l;
    return 0;
}

/* Compiled here rather than in config_finish so a bad pattern is reported
 * with its FILE:LINE, and so the strings and the regexes always pair up. */
int config_add_patterns(struct config *cfg, const struct config_directive *d,
                        const char *const *args, size_t nargs, char *err, size_t errlen)
{
    char **strs = (char **)((char *)cfg + d->main_off);
    regex_t *res = (regex_t *)((char *)cfg + d->aux_off);
    size_t *count = (size_t *)((char *)cfg + d->count_off);

    for (size_t i = 0; i < nargs; i++) {
        int rc;
        if (*count == CONFIG_PATTERN_MAX) {
            snprintf(err, errlen, "too many '%s' patterns (max %d)", d->name,
                     CONFIG_PATTERN_MAX);
            return -1;
        }
        rc = regcomp(&res[*count], args[i], REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc != 0) {
            char why[128];
            regerror(rc, &res[*count], why, sizeof why);
            snprintf(err, errlen, "bad value '%s' for '%s': %s", args[i], d->name, why);
            return -1;
        }
        strs[*count] = strdup(args[i]);
        if (!strs[*count]) {
            regfree(&res[*count]);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        (*count)++;
    }
    return 0;
}

/* "127.0.0.0/8", "10.1.2.3", "::1", "fd00::/8"; bits past the prefix are
 * cleared, so "10.1.2.3/8" means 10.0.0.0/8. */
/* The first 12 bytes of an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
static const uint8_t config_v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int config_parse_cidr(const struct config_directive *d, const char *arg,
                             struct config_cidr *out, char *err, size_t errlen)
{
    char host[64];
    const char *slash = strchr(arg, '/');
    size_t n = slash ? (size_t)(slash - arg) : strlen(arg);
    uint64_t bits;

    memset(out, 0, sizeof *out);
    if (n == 0 || n >= sizeof host)
        return config_bad_value(d, arg, err, errlen);
    memcpy(host, arg, n);
    host[n] = '\0';
    if (inet_pton(AF_INET, host, out->addr) == 1)
        out->family = 4;
    else if (inet_pton(AF_INET6, host, out->addr) == 1)
        out->family = 6;
    else
        return config_bad_value(d, arg, err, errlen);
    bits = out->family == 4 ? 32 : 128;
    if (slash) {
        const char *p = slash + 1;
        uint64_t max = bits;
        if (config_parse_digits(&p, 10, &bits) < 0 || *p != '\0' || bits > max)
            return config_bad_value(d, arg, err, errlen);
    }
    /* ::ffff:a.b.c.d/N (N >= 96) is a.b.c.d/(N-96): config_cidr_match
     * compares an IPv4-mapped address as IPv4, so kept as IPv6 it would
     * never match anything. */
    if (out->family == 6 && bits >= 96 && memcmp(out->addr, config_v4_mapped, 12) == 0) {
        out->family = 4;
        memmove(out->addr, out->addr + 12, 4);
        memset(out->addr + 4, 0, 12);
        bits -= 96;
    }
    out->prefix_bits = (uint8_t)bits;
    for (size_t i = 0; i < 16; i++) {
        size_t first = i * 8;
        if (first >= bits)
            out->addr[i] = 0;
        else if (bits - first < 8)
            out->addr[i] &= (uint8_t)(0xff00u >> (bits - first));
    }
    return 0;
}

bool config_cidr_match(const struct config_cidr *list, size_t n, int family,
                       const uint8_t *addr)
{
    if (family == 6 && memcmp(addr, config_v4_mapped, sizeof config_v4_mapped) == 0) {
        family = 4;
        addr += 12;
    }
    for (size_t i = 0; i < n; i++) {
        const struct config_cidr *c = &list[i];
        if (c->family != family)
            continue;
        size_t full = c->prefix_bits / 8, rest = c->prefix_bits % 8;
        if (memcmp(c->addr, addr, full) != 0)
            continue;
        if (rest && ((addr[full] ^ c->addr[full]) & (0xff00u >> rest) & 0xff))
            continue;
        return true;
    }
    return false;
}

int config_add_cidrs(struct config *cfg, const struct config_directive *d,
                     const char *const *args, size_t nargs, char *err, size_t errlen)
{
    struct config_cidr *list = (struct config_cidr *)((char *)cfg + d->main_off);
    size_t *count = (size_t *)((char *)cfg + d->count_off);

    for (size_t i = 0; i < nargs; i++) {
        if (*count == CONFIG_CIDR_MAX) {
            snprintf(err, errlen, "too many '%s' addresses (max %d)", d->name, CONFIG_CIDR_MAX);
            return -1;
        }
        if (config_parse_cidr(d, args[i], &list[*count], err, errlen) < 0)
            return -1;
        (*count)++;
    }
    return 0;
}

int config_add_cert(struct config *cfg, const struct config_directive *d,
                    const char *const *args, char *err, size_t errlen)
{
    struct config_tls_cert *list = (struct config_tls_cert *)((char *)cfg + d->main_off);
    size_t *count = (size_t *)((char *)cfg + d->count_off);
    struct config_tls_cert *c;

    if (*count == CONFIG_TLS_CERT_MAX) {
        snprintf(err, errlen, "too many '%s' directives (max %d)", d->name, CONFIG_TLS_CERT_MAX);
        return -1;
    }
    if (args[0][0] == '\0' || args[1][0] == '\0')
        return config_bad_value(d, args[0][0] ? args[1] : args[0], err, errlen);
    c = &list[*count];
    memset(c, 0, sizeof *c);
    c->cert_file = strdup(args[0]);
    c->key_file = strdup(args[1]);
    if (!c->cert_file || !c->key_file) {
        free(c->cert_file);
        free(c->key_file);
        memset(c, 0, sizeof *c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    (*count)++;
    return 0;
}

/* A set of the row's names, one bit each; repeating one is harmless. */
int config_parse_keywords(const struct config_directive *d, unsigned *mask,
                          const char *const *args, size_t nargs, char *err,
                          size_t errlen)
{
    *mask = 0;
    for (size_t i = 0; i < nargs; i++) {
        size_t k;
        for (k = 0; d->names[k]; k++)
            if (strcmp(args[i], d->names[k]) == 0)
                break;
        if (!d->names[k])
            return config_bad_value(d, args[i], err, errlen);
        /* "off" (precompressed off) stands alone: "off gzip" says two things */
        if (nargs > 1 && strcmp(d->names[k], "off") == 0) {
            snprintf(err, errlen, "'off' cannot be combined with other values for '%s'",
                     d->name);
            return -1;
        }
        *mask |= 1u << k;
    }
    return 0;
}

int config_parse_methods(const struct config_directive *d, unsigned *mask,
                         const char *const *args, size_t nargs, char *err, size_t errlen)
{
    *mask = 0;
    for (size_t i = 0; i < nargs; i++) {
        size_t m;
        for (m = 0; m < HTTP1_METHOD_COUNT; m++)
            if (config_method_names[m] && strcmp(args[i], config_method_names[m]) == 0)
                break;
        if (m == HTTP1_METHOD_COUNT)
            return config_bad_value(d, args[i], err, errlen);
        *mask |= 1u << m;
    }
    return 0;
}

/* server_name: each a name vhost_name_check accepts, at most
 * CONFIG_SERVER_NAMES_MAX in a block. Duplicates are found across blocks in
 * config_finish, which knows every block. */
int config_add_names(const struct config_directive *d, struct config_names *names,
                     const char *const *args, size_t nargs, char *err, size_t errlen)
{
    for (size_t i = 0; i < nargs; i++) {
        char why[CONFIG_ERR_MAX / 2];
        if (names->n == CONFIG_SERVER_NAMES_MAX) {
            snprintf(err, errlen, "too many '%s' names in one block (max %d)", d->name,
                     CONFIG_SERVER_NAMES_MAX);
            return -1;
        }
        if (vhost_name_check(args[i], why, sizeof why) < 0) {
            snprintf(err, errlen, "bad value for '%s': %s", d->name, why);
            return -1;
        }
        names->v[names->n] = strdup(args[i]);
        if (!names->v[names->n]) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        names->where[names->n++] = NULL;
    }
    return 0;
}

/* Fields add_header may not set: the ones that frame the message or the
 * connection (a wrong one desynchronises the client), and the ones the
 * server writes itself on every response (a second Date or Server). */
static const char *const config_reserved_fields[] = {
    "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer",
    "te", "proxy-connection", "date", "server", NULL,
};

/* add_header NAME VALUE [always]: checked as a field line (RFC 9110 §5.1,
 * §5.5) and appended to its level's formatted list. */
int config_add_header(const struct config_directive *d, struct config_headers *h,
                      const char *const *args, size_t nargs, char *err, size_t errlen)
{
    const char *name = args[0], *value = args[1];
    size_t nlen = strlen(name), vlen = strlen(value), old;
    char **list;

    if (nargs == 3 && strcmp(args[2], "always") != 0)
        return config_bad_value(d, args[2], err, errlen);
    if (!http1_is_token(name, nlen)) {
        snprintf(err, errlen, "bad field name '%s' for '%s': a token (letters, digits and "
                 "!#$%%&'*+-.^_`|~)", name, d->name);
        return -1;
    }
    for (size_t i = 0; config_reserved_fields[i]; i++) {
        if (strcasecmp(name, config_reserved_fields[i]) == 0) {
            snprintf(err, errlen, "'%s' cannot set %s: the server writes that field", d->name,
                     name);
            return -1;
        }
    }
    if (vlen == 0 || !http1_is_field_value(value, vlen)) {
        snprintf(err, errlen, "bad value for '%s %s': %s", d->name, name,
                 vlen ? "visible characters, spaces and tabs only, none at either end"
                      : "empty (leave the line out to send nothing)");
        return -1;
    }
    list = nargs == 3 ? &h->always : &h->ok;
    old = *list ? strlen(*list) : 0;
    char *grown = realloc(*list, old + nlen + vlen + 5);
    if (!grown) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(grown + old, nlen + vlen + 5, "%s: %s\r\n", name, value);
    *list = grown;
    return 0;
}

/* expires off|epoch|max|DURATION: seconds, rounded up. */
int config_set_expires(const struct config_directive *d, int64_t *out, const char *arg,
                       char *err, size_t errlen)
{
    uint64_t ms;

    if (strcmp(arg, "off") == 0)
        *out = CONFIG_EXPIRES_OFF;
    else if (strcmp(arg, "epoch") == 0)
        *out = CONFIG_EXPIRES_EPOCH;
    else if (strcmp(arg, "max") == 0)
        *out = CONFIG_EXPIRES_MAX;
    else if (config_parse_duration_ms(arg, &ms) < 0)
        return config_bad_value(d, arg, err, errlen);
    else if (config_check_bounds(d, ms, arg, err, errlen) < 0)
        return -1;
    else
        *out = (int64_t)((ms + 999) / 1000);
    return 0;
}

/* error_page CODE... PATH: each status once per level. */
int config_add_error_page(const struct config_directive *d, struct config_error_pages *p,
                          const char *const *args, size_t nargs, char *err,
                          size_t errlen)
{
    const char *uri = args[nargs - 1];

    if (uri[0] != '/' || strpbrk(uri, "?#%")) {
        snprintf(err, errlen, "bad path '%s' for '%s': a plain path starting with '/'", uri,
                 d->name);
        return -1;
    }
    for (const char *q = uri; *q; q++) {
        if ((unsigned char)*q <= ' ' || *q == 0x7f) {
            snprintf(err, errlen, "bad path for '%s': no spaces or control characters",
                     d->name);
            return -1;
        }
    }
    for (size_t i = 0; i + 1 < nargs; i++) {
        const char *s = args[i];
        uint64_t code;
        if (config_parse_digits(&s, 10, &code) < 0 || *s != '\0' || code < 400 || code > 599)
            return config_bad_value(d, args[i], err, errlen);
        for (size_t k = 0; k < p->n; k++) {
            if (p->status[k] == code) {
                snprintf(err, errlen, "'%s' for %s is already set in this block", d->name,
                         args[i]);
                return -1;
            }
        }
        if (p->n == CONFIG_ERROR_PAGES_MAX) {
            snprintf(err, errlen, "too many '%s' statuses in one block (max %d)", d->name,
                     CONFIG_ERROR_PAGES_MAX);
            return -1;
        }
        p->uri[p->n] = strdup(uri);
        if (!p->uri[p->n]) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        p->status[p->n++] = (uint16_t)code;
    }
    return 0;
}

/* return CODE [URL|TEXT]. */
int config_set_return(const struct config_directive *d, struct config_return *r,
                      const char *const *args, size_t nargs, char *err, size_t errlen)
{
    const char *p = args[0];
    uint64_t code;
    bool redirect;

    if (config_parse_digits(&p, 10, &code) < 0 || *p != '\0' || strlen(args[0]) != 3)
        return config_bad_value(d, args[0], err, errlen);
    redirect = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
    if (!redirect && code != 200 && code != 204 && (code < 400 || code > 599))
        return config_bad_value(d, args[0], err, errlen);
    if (redirect && nargs != 2) {
        snprintf(err, errlen, "'%s %s' needs the URL to redirect to", d->name, args[0]);
        return -1;
    }
    if (code == 204 && nargs == 2) {
        snprintf(err, errlen, "'%s 204' has no body: leave the text out", d->name);
        return -1;
    }
    if (redirect) {
        char why[CONFIG_ERR_MAX / 2];
        if (redirect_check_template(args[1], why, sizeof why) < 0) {
            snprintf(err, errlen, "bad URL '%s' for '%s': %s", args[1], d->name, why);
            return -1;
        }
    }
    char *text = nargs == 2 ? strdup(args[1]) : NULL;
    if (nargs == 2 && !text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(r->text);
    *r = (struct config_return){ .status = (int)code, .redirect = redirect, .text = text };
    return 0;
}

/* A word list: each word through the row's check, then all of them joined
 * by one space into one owned string (readers split at the spaces). */
int config_store_words(const struct config_directive *d, void *field,
                       const char *const *args, size_t nargs, char *err, size_t errlen)
{
    size_t total = 0;
    for (size_t i = 0; i < nargs; i++) {
        char why[CONFIG_ERR_MAX / 2];
        if (args[i][0] == '\0' || strpbrk(args[i], " \t"))
            return config_bad_value(d, args[i], err, errlen);
        if (d->check && d->check(args[i], why, sizeof why) < 0) {
            snprintf(err, errlen, "bad value '%s' for '%s': %s", args[i], d->name, why);
            return -1;
        }
        total += strlen(args[i]) + 1;
    }
    char *s = malloc(total ? total : 1);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < nargs; i++) {
        size_t len = strlen(args[i]);
        if (i)
            s[n++] = ' ';
        memcpy(s + n, args[i], len);
        n += len;
    }
    s[n] = '\0';
    free(*(char **)field);
    *(char **)field = s;
    return 0;
}
