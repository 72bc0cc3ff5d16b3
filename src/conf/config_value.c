/* config_value — one value of the directive table: parsed by its row's type
 * (durations, sizes, numbers, strings, enums here; the structured types in
 * config_compound.c), checked against the row's bounds, stored in struct
 * config or a location, and formatted back (`-T`, the reference, error
 * messages).
 */
#include "config_table.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"


static bool config_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Decimal digits at *s (at least one), overflow-checked; *s moves past them. */
int config_parse_digits(const char **s, unsigned base, uint64_t *v)
{
    const char *p = *s;
    uint64_t n = 0;

    if (!config_is_digit(*p) || (unsigned)(*p - '0') >= base)
        return -1;
    for (; config_is_digit(*p) && (unsigned)(*p - '0') < base; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - digit) / base)
            return -1;
        n = n * base + digit;
    }
    *s = p;
    *v = n;
    return 0;
}

static int config_scale(uint64_t n, uint64_t unit, uint64_t *out)
{
    if (n > UINT64_MAX / unit)
        return -1;
    *out = n * unit;
    return 0;
}

/* A unit is required (a bare "30" could mean seconds or ms), except for 0. */
int config_parse_duration_ms(const char *s, uint64_t *ms)
{
    static const struct {
        const char *suffix;
        uint64_t ms;
    } units[] = { { "ms", 1 }, { "s", MS_S }, { "m", MS_M }, { "h", MS_H }, { "d", 24 * MS_H } };
    uint64_t n;

    if (config_parse_digits(&s, 10, &n) < 0)
        return -1;
    if (*s == '\0') {
        if (n != 0)
            return -1;
        *ms = 0;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(units); i++)
        if (strcmp(s, units[i].suffix) == 0)
            return config_scale(n, units[i].ms, ms);
    return -1;
}

int config_parse_size(const char *s, uint64_t *bytes)
{
    uint64_t n, unit;

    if (config_parse_digits(&s, 10, &n) < 0)
        return -1;
    switch (*s) {
    case '\0': unit = 1; break;
    case 'k': case 'K': unit = KIB; break;
    case 'm': case 'M': unit = MIB; break;
    case 'g': case 'G': unit = GIB; break;
    case 't': case 'T': unit = TIB; break;
    default: return -1;
    }
    if (*s != '\0' && s[1] != '\0')
        return -1;
    return config_scale(n, unit, bytes);
}

void config_out_add(struct config_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = true;
        o->len = o->cap - 1;
        return;
    }
    o->len += (size_t)n;
}

/* The largest unit that divides exactly, so bounds read as they were written. */
static void config_format_duration(struct config_out *o, uint64_t ms)
{
    if (ms == 0)
        config_out_add(o, "0");
    else if (ms % MS_H == 0)
        config_out_add(o, "%lluh", (unsigned long long)(ms / MS_H));
    else if (ms % MS_M == 0)
        config_out_add(o, "%llum", (unsigned long long)(ms / MS_M));
    else if (ms % MS_S == 0)
        config_out_add(o, "%llus", (unsigned long long)(ms / MS_S));
    else
        config_out_add(o, "%llums", (unsigned long long)ms);
}

static void config_format_size(struct config_out *o, uint64_t n)
{
    static const struct {
        char suffix;
        uint64_t unit;
    } units[] = { { 't', TIB }, { 'g', GIB }, { 'm', MIB }, { 'k', KIB } };

    for (size_t i = 0; n != 0 && i < ARRAY_LEN(units); i++) {
        if (n % units[i].unit == 0) {
            config_out_add(o, "%llu%c", (unsigned long long)(n / units[i].unit),
                           units[i].suffix);
            return;
        }
    }
    config_out_add(o, "%llu", (unsigned long long)n);
}

/* A number of the row's type in the row's units. */
void config_format_number(struct config_out *o, const struct config_directive *d, uint64_t v)
{
    switch (d->type) {
    case CONFIG_T_DURATION:
    case CONFIG_T_DURATION_OFF:
    case CONFIG_T_EXPIRES: config_format_duration(o, v); break;
    case CONFIG_T_SIZE: config_format_size(o, v); break;
    case CONFIG_T_MODE: config_out_add(o, "%#llo", (unsigned long long)v); break;
    default: config_out_add(o, "%llu", (unsigned long long)v); break;
    }
}

void config_format_bounds(struct config_out *o, const struct config_directive *d)
{
    config_format_number(o, d, d->min);
    config_out_add(o, "..");
    config_format_number(o, d, d->max);
}

static void config_put_uint(void *p, size_t size, uint64_t v)
{
    switch (size) {
    case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case 8: memcpy(p, &v, 8); break;
    default: assert(0 && "field size");
    }
}

uint64_t config_get_uint(const void *p, size_t size)
{
    switch (size) {
    case 1: { uint8_t x; memcpy(&x, p, 1); return x; }
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
    case 8: { uint64_t x; memcpy(&x, p, 8); return x; }
    default: assert(0 && "field size"); return 0;
    }
}

int config_bad_value(const struct config_directive *d, const char *arg, char *err,
                     size_t errlen)
{
    const char *expected = config_types[d->type].expected;

    if (d->type == CONFIG_T_ENUM || d->type == CONFIG_T_KEYWORDS) {
        char list[128];
        struct config_out o = { list, sizeof list, 0, false };
        for (size_t i = 0; d->names[i]; i++)
            config_out_add(&o, "%s%s", i ? ", " : "", d->names[i]);
        snprintf(err, errlen, "bad value '%s' for '%s': expected one of %s", arg, d->name, list);
    } else {
        snprintf(err, errlen, "bad value '%s' for '%s': expected %s", arg, d->name, expected);
    }
    return -1;
}

int config_check_bounds(const struct config_directive *d, uint64_t v, const char *arg,
                        char *err, size_t errlen)
{
    char bounds[64];
    struct config_out o = { bounds, sizeof bounds, 0, false };

    if (v >= d->min && v <= d->max)
        return 0;
    config_format_bounds(&o, d);
    snprintf(err, errlen, "'%s' value '%s' is out of bounds (%s)", d->name, arg, bounds);
    return -1;
}

static uint64_t config_round_up_s(uint64_t ms)
{
    return (ms + MS_S - 1) / MS_S * MS_S;
}
/* Parse args as d's type and store them in the field at base + off. */
int config_store(struct config *cfg, const struct config_directive *d, char *base,
                 size_t off, size_t size, const char *const *args, size_t nargs,
                 char *err, size_t errlen)
{
    void *field = base + off;
    const char *arg = args[0];
    uint64_t v;

    switch (d->type) {
    case CONFIG_T_DURATION:
    case CONFIG_T_DURATION_OFF:
        if (d->type == CONFIG_T_DURATION_OFF && strcmp(arg, "off") == 0) {
            int64_t off_value = -1;
            memcpy(field, &off_value, sizeof off_value);
            return 0;
        }
        if (config_parse_duration_ms(arg, &v) < 0)
            return config_bad_value(d, arg, err, errlen);
        if (config_check_bounds(d, v, arg, err, errlen) < 0)
            return -1;
        if (d->flags & CONFIG_F_ROUND_S)
            v = config_round_up_s(v);
        config_put_uint(field, size, v);
        return 0;
    case CONFIG_T_SIZE:
    case CONFIG_T_NUMBER:
    case CONFIG_T_MODE: {
        const char *p = arg;
        int rc = d->type == CONFIG_T_SIZE ? config_parse_size(arg, &v)
               : config_parse_digits(&p, d->type == CONFIG_T_MODE ? 8 : 10, &v);
        if (rc < 0 || (d->type != CONFIG_T_SIZE && *p != '\0'))
            return config_bad_value(d, arg, err, errlen);
        if (config_check_bounds(d, v, arg, err, errlen) < 0)
            return -1;
        config_put_uint(field, size, v);
        return 0;
    }
    case CONFIG_T_BOOL:
        if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
            return config_bad_value(d, arg, err, errlen);
        *(bool *)field = strcmp(arg, "on") == 0;
        return 0;
    case CONFIG_T_STRING:
    case CONFIG_T_PATH: {
        char *s;
        if (d->type == CONFIG_T_PATH && arg[0] == '\0')
            return config_bad_value(d, arg, err, errlen);
        if (d->check) {
            char why[CONFIG_ERR_MAX / 2];
            if (d->check(arg, why, sizeof why) < 0) {
                snprintf(err, errlen, "bad value '%s' for '%s': %s", arg, d->name, why);
                return -1;
            }
        }
        s = strdup(arg);
        if (!s) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = s;
        return 0;
    }
    case CONFIG_T_ENUM:
        for (v = 0; d->names[v]; v++) {
            if (strcmp(arg, d->names[v]) == 0) {
                config_put_uint(field, size, v);
                return 0;
            }
        }
        return config_bad_value(d, arg, err, errlen);
    case CONFIG_T_METHODS: {
        unsigned mask;
        if (config_parse_methods(d, &mask, args, nargs, err, errlen) < 0)
            return -1;
        config_put_uint(field, size, mask);
        return 0;
    }
    case CONFIG_T_LISTEN:
        return config_add_listen(cfg, d, args, nargs, err, errlen);
    case CONFIG_T_PATTERN:
        return config_add_patterns(cfg, d, args, nargs, err, errlen);
    case CONFIG_T_CIDRS:
        return config_add_cidrs(cfg, d, args, nargs, err, errlen);
    case CONFIG_T_KEYWORDS: {
        unsigned mask;
        if (config_parse_keywords(d, &mask, args, nargs, err, errlen) < 0)
            return -1;
        config_put_uint(field, size, mask);
        return 0;
    }
    case CONFIG_T_CERTS:
        return config_add_cert(cfg, d, args, err, errlen);
    case CONFIG_T_NAMES:
        return config_add_names(d, field, args, nargs, err, errlen);
    case CONFIG_T_HEADER:
        return config_add_header(d, field, args, nargs, err, errlen);
    case CONFIG_T_EXPIRES:
        return config_set_expires(d, field, arg, err, errlen);
    case CONFIG_T_RETURN:
        return config_set_return(d, field, args, nargs, err, errlen);
    case CONFIG_T_ERROR_PAGE:
        return config_add_error_page(d, field, args, nargs, err, errlen);

    case CONFIG_T_WORDS:
        return config_store_words(d, field, args, nargs, err, errlen);
    case CONFIG_T__COUNT:
        break;
    }
    assert(0 && "directive type");
    return -1;
}


int config_format_value(const struct config *cfg, const struct config_location *loc,
                        const char *name, char *buf, size_t len)
{
    const struct config_directive *d = config_directive_find(name);
    struct config_out o = { buf, len, 0, false };
    const char *field;
    size_t size;

    if (!d || len == 0)
        return -1;
    field = loc ? (const char *)loc + d->loc_off : (const char *)cfg + d->main_off;
    size = loc ? d->loc_size : d->main_size;
    if (size == 0)
        return -1;
    buf[0] = '\0';
    switch (d->type) {
    case CONFIG_T_DURATION_OFF: {
        int64_t v;
        memcpy(&v, field, sizeof v);
        if (v < 0)
            config_out_add(&o, "off");
        else
            config_format_duration(&o, (uint64_t)v);
        break;
    }
    case CONFIG_T_DURATION:
    case CONFIG_T_SIZE:
    case CONFIG_T_NUMBER:
    case CONFIG_T_MODE: config_format_number(&o, d, config_get_uint(field, size)); break;
    case CONFIG_T_BOOL: config_out_add(&o, "%s", *(const bool *)field ? "on" : "off"); break;
    case CONFIG_T_STRING:
    case CONFIG_T_PATH:
    case CONFIG_T_WORDS: {
        const char *s = *(char *const *)field;
        config_out_add(&o, "%s", s ? s : "");
        break;
    }
    case CONFIG_T_ENUM: config_out_add(&o, "%s", d->names[config_get_uint(field, size)]); break;
    case CONFIG_T_METHODS: {
        uint64_t mask = config_get_uint(field, size);
        const char *sep = "";
        for (size_t m = 0; m < HTTP1_METHOD_COUNT; m++) {
            if (mask & (1u << m) && config_method_names[m]) {
                config_out_add(&o, "%s%s", sep, config_method_names[m]);
                sep = " ";
            }
        }
        break;
    }
    case CONFIG_T_LISTEN:
        for (size_t i = 0; i < cfg->listen_count; i++) {
            config_out_add(&o, "%s%s", i ? "\n" : "", cfg->listens[i].text);
            if (cfg->listens[i].backlog != CONFIG_BACKLOG_DEFAULT)
                config_out_add(&o, " backlog=%d", cfg->listens[i].backlog);
            if (cfg->listens[i].tls)
                config_out_add(&o, " tls");
            if (cfg->listens[i].proxy_protocol)
                config_out_add(&o, " proxy_protocol");
        }
        break;
    case CONFIG_T_KEYWORDS: {
        uint64_t mask = config_get_uint(field, size);
        const char *sep = "";
        for (size_t k = 0; d->names[k]; k++) {
            if (mask & (1u << k)) {
                config_out_add(&o, "%s%s", sep, d->names[k]);
                sep = " ";
            }
        }
        break;
    }
    case CONFIG_T_CERTS:
        for (size_t i = 0; i < cfg->tls_certificate_count; i++)
            config_out_add(&o, "%s%s %s", i ? "\n" : "", cfg->tls_certificates[i].cert_file,
                           cfg->tls_certificates[i].key_file);
        break;
    case CONFIG_T_PATTERN:
        for (size_t i = 0; i < cfg->nokeepalive_count; i++)
            config_out_add(&o, "%s%s", i ? "\n" : "", cfg->nokeepalive_user_agents[i]);
        break;
    case CONFIG_T_HEADER: {
        /* one "NAME VALUE[ always]" a line, as written */
        const struct config_headers *h = (const struct config_headers *)field;
        const char *lists[2] = { h->ok, h->always };
        const char *sep = "";
        for (size_t k = 0; k < 2; k++) {
            for (const char *p = lists[k]; p && *p;) {
                const char *colon = strchr(p, ':'), *eol = strstr(p, "\r\n");
                config_out_add(&o, "%s%.*s %.*s%s", sep, (int)(colon - p), p,
                               (int)(eol - colon - 2), colon + 2, k ? " always" : "");
                sep = "\n";
                p = eol + 2;
            }
        }
        break;
    }
    case CONFIG_T_ERROR_PAGE: {
        const struct config_error_pages *p = (const struct config_error_pages *)field;
        for (size_t i = 0; i < p->n; i++)
            config_out_add(&o, "%s%u %s", i ? "\n" : "", p->status[i], p->uri[i]);
        break;
    }
    case CONFIG_T_RETURN: {
        const struct config_return *r = (const struct config_return *)field;
        if (r->status)
            config_out_add(&o, "%d%s%s", r->status, r->text ? " " : "", r->text ? r->text : "");
        break;
    }
    case CONFIG_T_EXPIRES: {
        int64_t v;
        memcpy(&v, field, sizeof v);
        if (v == CONFIG_EXPIRES_OFF)
            config_out_add(&o, "off");
        else if (v == CONFIG_EXPIRES_EPOCH)
            config_out_add(&o, "epoch");
        else if (v == CONFIG_EXPIRES_MAX)
            config_out_add(&o, "max");
        else
            config_format_duration(&o, (uint64_t)v * 1000);
        break;
    }
    case CONFIG_T_NAMES: {
        const struct config_names *names = (const struct config_names *)field;
        for (size_t i = 0; i < names->n; i++)
            config_out_add(&o, "%s%s", i ? " " : "", names->v[i]);
        break;
    }
    case CONFIG_T_CIDRS: {
        const struct config_cidr *list = (const struct config_cidr *)field;
        size_t count = *(const size_t *)((const char *)cfg + d->count_off);
        for (size_t i = 0; i < count; i++) {
            char text[INET6_ADDRSTRLEN];
            bool host = list[i].prefix_bits == (list[i].family == 4 ? 32 : 128);
            inet_ntop(list[i].family == 4 ? AF_INET : AF_INET6, list[i].addr, text, sizeof text);
            config_out_add(&o, "%s%s", i ? " " : "", text);
            if (!host)
                config_out_add(&o, "/%u", list[i].prefix_bits);
        }
        break;
    }
    case CONFIG_T__COUNT: break;
    }
    return o.overflow ? -1 : 0;
}
