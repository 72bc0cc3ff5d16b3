/* config — setting one directive, defaults, inheritance and the final checks.
 *
 * The rows live in config_table.c, one value's parsing and formatting in
 * config_value.c. Here: config_set (the command line and the file parser's
 * one statement), defaults, inheritance into locations, the cross-checks of
 * config_finish, and the lookup of the location for a path.
 *
 * Not here: the file syntax (config_file.c), reload (the master loads a
 * fresh struct config) and anything that touches sockets; listen addresses
 * are parsed, never bound.
 */
#include "config_table.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog.h"
#include "auth.h"
#include "http1.h"

static bool config_is_string(const struct config_directive *d)
{
    return d->type == CONFIG_T_STRING || d->type == CONFIG_T_PATH || d->type == CONFIG_T_WORDS;
}

/* Levenshtein distance of two short names; SIZE_MAX past 63 characters. */
static size_t config_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];

    if (la >= ARRAY_LEN(row) || lb >= ARRAY_LEN(row))
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest known name (distance <= 2, else one that starts with what was
 * typed), or NULL. "include" and "location" are names too. */
static const char *config_suggest(const char *typed)
{
    static const char *const extra[] = { "include", "location" };
    const char *best = NULL, *prefixed = NULL;
    size_t best_d = 3, n = strlen(typed);

    for (size_t i = 0; i < config_directive_count() + ARRAY_LEN(extra); i++) {
        const char *name = i < config_directive_count() ? config_directives[i].name
                                                 : extra[i - config_directive_count()];
        size_t d = config_distance(typed, name);
        if (d < best_d) {
            best_d = d;
            best = name;
        }
        if (!prefixed && n >= 3 && strncmp(name, typed, n) == 0)
            prefixed = name;
    }
    return best ? best : prefixed;
}

void config_note_where(struct config *cfg, struct config_location *loc,
                       const struct config_directive *d, const char *path, unsigned line)
{
    if (loc && d->loc_size && d->loc_off == offsetof(struct config_location, auth_user_file)) {
        free(loc->auth_user_file_where);
        if (asprintf(&loc->auth_user_file_where, "%s:%u", path, line) < 0)
            loc->auth_user_file_where = NULL;
    } else if (!loc && d->type == CONFIG_T_LISTEN && cfg->listen_count > 0) {
        struct config_listen *l = &cfg->listens[cfg->listen_count - 1];
        snprintf(l->where, sizeof l->where, "%s:%u", path, line);
    } else if (!loc && d->type == CONFIG_T_CERTS && cfg->tls_certificate_count > 0) {
        struct config_tls_cert *c = &cfg->tls_certificates[cfg->tls_certificate_count - 1];
        snprintf(c->where, sizeof c->where, "%s:%u", path, line);
    }
}

bool config_has_tls_listener(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->listen_count; i++)
        if (cfg->listens[i].tls)
            return true;
    return false;
}

/* A both-scope value from main into a location that did not set it. */
static int config_inherit(const struct config_directive *d, const struct config *cfg,
                          struct config_location *loc)
{
    const char *src = (const char *)cfg + d->main_off;
    char *dst = (char *)loc + d->loc_off;

    assert(d->main_size == d->loc_size);
    if (config_is_string(d)) {
        const char *s = *(char *const *)src;
        char *copy = s ? strdup(s) : NULL;
        if (s && !copy)
            return -ENOMEM;
        free(*(char **)dst);
        *(char **)dst = copy;
        return 0;
    }
    memcpy(dst, src, d->loc_size);
    return 0;
}

int config_set(struct config *cfg, struct config_location *loc, const char *name,
               const char *const *args, size_t nargs, char *err, size_t errlen)
{
    const struct config_directive *d = config_directive_find(name);
    const struct config_type_info *t;

    if (!d) {
        const char *hint = config_suggest(name);
        if (hint)
            snprintf(err, errlen, "unknown directive '%s', did you mean '%s'?", name, hint);
        else
            snprintf(err, errlen, "unknown directive '%s'", name);
        return -1;
    }
    if (loc && d->loc_size == 0) {
        snprintf(err, errlen, "'%s' is not allowed inside location", name);
        return -1;
    }
    if (!loc && d->main_size == 0) {
        snprintf(err, errlen, "'%s' is only allowed inside location", name);
        return -1;
    }
    t = &config_types[d->type];
    if (nargs < t->nargs_min || nargs > t->nargs_max) {
        char synopsis[128];
        struct config_out o = { synopsis, sizeof synopsis, 0, false };
        if (d->args)
            config_out_add(&o, "%s", d->args);
        else if (t->synopsis)
            config_out_add(&o, "%s", t->synopsis);
        else
            for (size_t i = 0; d->names[i]; i++)
                config_out_add(&o, "%s%s", i ? "|" : "", d->names[i]);
        snprintf(err, errlen, "wrong number of arguments for '%s' (usage: %s %s)", name, name,
                 synopsis);
        return -1;
    }
    if (loc) {
        if (config_store(cfg, d, (char *)loc, d->loc_off, d->loc_size, args, nargs, err,
                         errlen) < 0)
            return -1;
        loc->set_mask |= config_directive_bit(d);
        return 0;
    }
    return config_store(cfg, d, (char *)cfg, d->main_off, d->main_size, args, nargs, err,
                        errlen);
}

/* Split a default ("GET HEAD OPTIONS") into words and set it like the file. */
static int config_set_default(struct config *cfg, struct config_location *loc,
                              const struct config_directive *d)
{
    char text[256], err[CONFIG_ERR_MAX], *save = NULL;
    const char *args[CONFIG_WORDS_MAX];
    size_t n = 0;

    assert(strlen(d->def) < sizeof text);
    snprintf(text, sizeof text, "%s", d->def);
    for (char *w = strtok_r(text, " ", &save); w && n < CONFIG_WORDS_MAX;
         w = strtok_r(NULL, " ", &save))
        args[n++] = w;
    if (config_set(cfg, loc, d->name, args, n, err, sizeof err) < 0) {
        assert(strcmp(err, "out of memory") == 0); /* a default that does not parse is our bug */
        return strcmp(err, "out of memory") == 0 ? -ENOMEM : -EINVAL;
    }
    return 0;
}

int config_init_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        int rc;
        /* the bounds must fit the field: a 1t maximum in a uint32_t would wrap */
        assert(d->main_size == 0 || d->main_size >= 8 || d->max < 1ull << (8 * d->main_size));
        if (!d->def || d->main_size == 0 || config_is_repeatable(d))
            continue; /* repeatable defaults apply in config_finish, if none was given */
        rc = config_set_default(cfg, NULL, d);
        if (rc < 0) {
            config_fini(cfg);
            return rc;
        }
    }
    return 0;
}

void config_location_fini(struct config_location *loc)
{
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        if (d->loc_size && config_is_string(d))
            free(*(char **)((char *)loc + d->loc_off));
    }
    free(loc->prefix);
    free(loc->where);
    free(loc->auth_user_file_where);
    if (loc->users)
        auth_users_free(loc->users);
    memset(loc, 0, sizeof *loc);
}

void config_fini(struct config *cfg)
{
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        if (d->main_size && config_is_string(d))
            free(*(char **)((char *)cfg + d->main_off));
    }
    for (size_t i = 0; i < cfg->nokeepalive_count; i++) {
        free(cfg->nokeepalive_user_agents[i]);
        regfree(&cfg->nokeepalive_re[i]);
    }
    for (size_t i = 0; i < cfg->tls_certificate_count; i++) {
        free(cfg->tls_certificates[i].cert_file);
        free(cfg->tls_certificates[i].key_file);
    }
    for (size_t i = 0; i < cfg->location_count; i++)
        config_location_fini(&cfg->locations[i]);
    memset(cfg, 0, sizeof *cfg);
}

static struct config_location *config_location_find(struct config *cfg, const char *prefix)
{
    for (size_t i = 0; i < cfg->location_count; i++)
        if (strcmp(cfg->locations[i].prefix, prefix) == 0)
            return &cfg->locations[i];
    return NULL;
}

struct config_location *config_add_location(struct config *cfg, const char *prefix, char *err,
                                            size_t errlen)
{
    struct config_location *loc;

    if (prefix[0] != '/') {
        snprintf(err, errlen, "location prefix must start with '/': '%s'", prefix);
        return NULL;
    }
    if (config_location_find(cfg, prefix)) {
        snprintf(err, errlen, "duplicate location '%s'", prefix);
        return NULL;
    }
    if (cfg->location_count == CONFIG_LOCATION_MAX) {
        snprintf(err, errlen, "too many locations (max %d)", CONFIG_LOCATION_MAX);
        return NULL;
    }
    loc = &cfg->locations[cfg->location_count];
    memset(loc, 0, sizeof *loc);
    loc->prefix = strdup(prefix);
    if (!loc->prefix) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    loc->prefix_len = strlen(prefix);
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        if (d->def && d->loc_size && !d->main_size && config_set_default(cfg, loc, d) < 0) {
            config_location_fini(loc);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
    }
    loc->set_mask = 0; /* defaults are not "set in this block" */
    cfg->location_count++;
    return loc;
}

/* ---- finishing ---------------------------------------------------------- */

static const struct config_directive *config_directive_at(size_t off)
{
    for (size_t i = 0; i < config_directive_count(); i++)
        if (config_directives[i].main_size && config_directives[i].main_off == off)
            return &config_directives[i];
    return NULL;
}

/* a >= b for two size rows, else print why. */
static int config_check_at_least(const struct config *cfg, size_t off_a, size_t off_b,
                                 FILE *errs)
{
    const struct config_directive *a = config_directive_at(off_a), *b = config_directive_at(off_b);
    uint64_t va = config_get_uint((const char *)cfg + off_a, a->main_size);
    uint64_t vb = config_get_uint((const char *)cfg + off_b, b->main_size);
    char ta[32], tb[32];
    struct config_out oa = { ta, sizeof ta, 0, false }, ob = { tb, sizeof tb, 0, false };

    if (va >= vb)
        return 0;
    config_format_number(&oa, a, va);
    config_format_number(&ob, b, vb);
    fprintf(errs, "%s %s is smaller than %s %s\n", a->name, ta, b->name, tb);
    return -1;
}

/* [0] is "/"; the rest by prefix length, longest first, so the first match wins. */
static void config_order_locations(struct config *cfg)
{
    struct config_location tmp;

    for (size_t i = 0; i < cfg->location_count; i++) {
        if (strcmp(cfg->locations[i].prefix, "/") == 0) {
            tmp = cfg->locations[i];
            memmove(&cfg->locations[1], &cfg->locations[0], i * sizeof tmp);
            cfg->locations[0] = tmp;
            break;
        }
    }
    for (size_t i = 2; i < cfg->location_count; i++) { /* insertion sort: stable, n <= 64 */
        size_t j = i;
        tmp = cfg->locations[i];
        for (; j > 1 && cfg->locations[j - 1].prefix_len < tmp.prefix_len; j--)
            cfg->locations[j] = cfg->locations[j - 1];
        cfg->locations[j] = tmp;
    }
}

int config_finish(struct config *cfg, FILE *errs)
{
    char err[CONFIG_ERR_MAX];
    int rc = 0;

    if (cfg->listen_count == 0) {
        const struct config_directive *d = config_directive_find("listen");
        if (config_set_default(cfg, NULL, d) < 0) {
            fprintf(errs, "out of memory\n");
            return -1;
        }
    }
    if (cfg->status_allow_count == 0) {
        const struct config_directive *d = config_directive_find("status_allow");
        if (config_set_default(cfg, NULL, d) < 0) {
            fprintf(errs, "out of memory\n");
            return -1;
        }
    }
    if (!config_location_find(cfg, "/") && !config_add_location(cfg, "/", err, sizeof err)) {
        fprintf(errs, "%s\n", err);
        return -1;
    }
    config_order_locations(cfg);

    for (size_t i = 0; i < cfg->location_count; i++) {
        struct config_location *loc = &cfg->locations[i];
        const char *where = loc->where ? loc->where : "location";

        for (size_t k = 0; k < config_directive_count(); k++) {
            const struct config_directive *d = &config_directives[k];
            if (d->main_size && d->loc_size && !(loc->set_mask & config_directive_bit(d))
                && config_inherit(d, cfg, loc) < 0) {
                fprintf(errs, "out of memory\n");
                return -1;
            }
        }
        if (!loc->auth_realm != !loc->auth_user_file) {
            fprintf(errs, "%s: location '%s' has %s without %s\n", where, loc->prefix,
                    loc->auth_realm ? "auth_basic" : "auth_user_file",
                    loc->auth_realm ? "auth_user_file" : "auth_basic");
            rc = -1;
        }
        if (loc->auth_user_file && !loc->users) {
            loc->users = auth_users_load(loc->auth_user_file, err, sizeof err);
            if (!loc->users) {
                fprintf(errs, "%s: auth_user_file: %s\n",
                        loc->auth_user_file_where ? loc->auth_user_file_where : where, err);
                rc = -1;
            } else {
                auth_users_set_cache_time(loc->users, (long long)cfg->auth_cache_time_ms);
            }
        }
    }
    for (size_t i = 0; i < cfg->listen_count; i++) {
        const struct config_listen *l = &cfg->listens[i];
        if (l->proxy_protocol && cfg->proxy_protocol_from_count == 0) {
            fprintf(errs, "%s%slisten %s proxy_protocol: no proxy_protocol_from says which "
                          "balancers may send the header\n", l->where, l->where[0] ? ": " : "",
                    l->text);
            rc = -1;
        }
        if (l->tls && cfg->tls_certificate_count == 0) {
            fprintf(errs, "%s%slisten %s tls: no tls_certificate is configured\n", l->where,
                    l->where[0] ? ": " : "", l->text);
            rc = -1;
        }
    }
    if (cfg->https_redirect && !config_has_tls_listener(cfg)) {
        fprintf(errs, "https_redirect on needs a listener with the tls flag to redirect to\n");
        rc = -1;
    }
    if (config_check_at_least(cfg, offsetof(struct config, header_max_bytes),
                              offsetof(struct config, request_line_max_bytes), errs) < 0)
        rc = -1;
    if (config_check_at_least(cfg, offsetof(struct config, header_max_bytes),
                              offsetof(struct config, field_line_max_bytes), errs) < 0)
        rc = -1;
    return rc;
}

const struct config_location *config_find_location(const struct config *cfg, const char *path,
                                                   size_t len)
{
    if (cfg->location_count == 0)
        return NULL;
    for (size_t i = 1; i < cfg->location_count; i++) {
        const struct config_location *loc = &cfg->locations[i];
        if (loc->prefix_len <= len && memcmp(loc->prefix, path, loc->prefix_len) == 0)
            return loc;
    }
    return &cfg->locations[0];
}
