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
#include "proxy_addr.h"
#include "vhost.h"

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

void config_note_where(struct config *cfg, struct config_server *srv,
                       struct config_location *loc, const struct config_directive *d,
                       const char *path, unsigned line)
{
    struct config_location *at = loc ? loc : srv ? &srv->defaults : &cfg->top.defaults;

    if (d->loc_size && d->loc_off == offsetof(struct config_location, auth_user_file)) {
        free(at->auth_user_file_where);
        if (asprintf(&at->auth_user_file_where, "%s:%u", path, line) < 0)
            at->auth_user_file_where = NULL;
    } else if (d->loc_size && d->loc_off == offsetof(struct config_location, proxy_pass)) {
        free(at->proxy_pass_where);
        if (asprintf(&at->proxy_pass_where, "%s:%u", path, line) < 0)
            at->proxy_pass_where = NULL;
    } else if (!loc && d->type == CONFIG_T_LISTEN && cfg->listen_count > 0) {
        struct config_listen *l = &cfg->listens[cfg->listen_count - 1];
        snprintf(l->where, sizeof l->where, "%s:%u", path, line);
    } else if (!loc && d->type == CONFIG_T_CERTS && cfg->tls_certificate_count > 0) {
        struct config_tls_cert *c = &cfg->tls_certificates[cfg->tls_certificate_count - 1];
        snprintf(c->where, sizeof c->where, "%s:%u", path, line);
    } else if (srv && !loc && d->type == CONFIG_T_NAMES) {
        for (size_t i = 0; i < srv->names.n; i++)
            if (!srv->names.where[i] && asprintf(&srv->names.where[i], "%s:%u", path, line) < 0)
                srv->names.where[i] = NULL;
    }
}

bool config_has_tls_listener(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->listen_count; i++)
        if (cfg->listens[i].tls)
            return true;
    return false;
}

/* Copy one row's value from the level above (src) into a level that did
 * not set it (dst); strings are copied, so each level owns its own. */
static int config_inherit_value(const struct config_directive *d, const char *src, char *dst,
                                size_t size)
{
    if (d->type == CONFIG_T_ERROR_PAGE) {
        const struct config_error_pages *from = (const struct config_error_pages *)src;
        struct config_error_pages copy = *from;
        for (size_t i = 0; i < from->n; i++) {
            copy.uri[i] = strdup(from->uri[i]);
            if (!copy.uri[i]) {
                copy.n = i;
                config_free_value(d, &copy);
                return -ENOMEM;
            }
        }
        config_free_value(d, dst);
        memcpy(dst, &copy, sizeof copy);
        return 0;
    }
    if (d->type == CONFIG_T_RETURN) {
        const struct config_return *from = (const struct config_return *)src;
        struct config_return copy = *from;
        copy.text = from->text ? strdup(from->text) : NULL;
        if (from->text && !copy.text)
            return -ENOMEM;
        config_free_value(d, dst);
        memcpy(dst, &copy, sizeof copy);
        return 0;
    }
    if (d->type == CONFIG_T_HEADER) {
        const struct config_headers *from = (const struct config_headers *)src;
        struct config_headers copy = {
            .ok = from->ok ? strdup(from->ok) : NULL,
            .always = from->always ? strdup(from->always) : NULL,
        };
        if ((from->ok && !copy.ok) || (from->always && !copy.always)) {
            free(copy.ok);
            free(copy.always);
            return -ENOMEM;
        }
        config_free_value(d, dst);
        memcpy(dst, &copy, sizeof copy);
        return 0;
    }
    if (config_is_string(d)) {
        const char *s = *(char *const *)src;
        char *copy = s ? strdup(s) : NULL;
        if (s && !copy)
            return -ENOMEM;
        free(*(char **)dst);
        *(char **)dst = copy;
        return 0;
    }
    memcpy(dst, src, size);
    return 0;
}

/* Where a statement at this level stores its value: base and offset, or
 * NULL with a message when the row is not allowed here. */
static char *config_target(struct config *cfg, struct config_server *srv,
                           struct config_location *loc, const struct config_directive *d,
                           size_t *off, size_t *size, char *err, size_t errlen)
{
    if (loc) {
        if (!config_allowed_location(d)) {
            snprintf(err, errlen, "'%s' is not allowed inside location", d->name);
            return NULL;
        }
        *off = d->loc_off;
        *size = d->loc_size;
        return (char *)loc;
    }
    if (srv) {
        if (!config_allowed_server(d)) {
            snprintf(err, errlen, "'%s' is not allowed inside server", d->name);
            return NULL;
        }
        if (d->srv_size) {
            *off = d->srv_off;
            *size = d->srv_size;
            return (char *)srv;
        }
        if (d->loc_size) {
            *off = d->loc_off;
            *size = d->loc_size;
            return (char *)&srv->defaults;
        }
        /* CONFIG_F_SERVER_ADDS: the block adds to the main list */
    }
    if (!config_allowed_main(d)) {
        snprintf(err, errlen, "'%s' is only allowed inside server", d->name);
        return NULL;
    }
    if (!d->main_size) { /* a location row: the top level's own value */
        *off = d->loc_off;
        *size = d->loc_size;
        return (char *)&cfg->top.defaults;
    }
    *off = d->main_off;
    *size = d->main_size;
    return (char *)cfg;
}

int config_set_in(struct config *cfg, struct config_server *srv, struct config_location *loc,
                  const char *name, const char *const *args, size_t nargs, char *err,
                  size_t errlen)
{
    const struct config_directive *d = config_directive_find(name);
    const struct config_type_info *t;
    size_t off, size;
    char *base;

    if (!d) {
        const char *hint = config_suggest(name);
        if (hint)
            snprintf(err, errlen, "unknown directive '%s', did you mean '%s'?", name, hint);
        else
            snprintf(err, errlen, "unknown directive '%s'", name);
        return -1;
    }
    base = config_target(cfg, srv, loc, d, &off, &size, err, errlen);
    if (!base)
        return -1;
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
    if (config_store(cfg, d, base, off, size, args, nargs, err, errlen) < 0)
        return -1;
    if (srv && base == (char *)srv)
        srv->set_mask |= config_directive_srv_bit(d);
    else if (base != (char *)cfg)
        ((struct config_location *)base)->set_mask |= config_directive_bit(d);
    return 0;
}

int config_set(struct config *cfg, struct config_location *loc, const char *name,
               const char *const *args, size_t nargs, char *err, size_t errlen)
{
    return config_set_in(cfg, NULL, loc, name, args, nargs, err, errlen);
}

/* Split a default ("GET HEAD OPTIONS") into words and set it like the file. */
static int config_set_default_in(struct config *cfg, struct config_server *srv,
                                 struct config_location *loc, const struct config_directive *d)
{
    char text[256], err[CONFIG_ERR_MAX], *save = NULL;
    const char *args[CONFIG_WORDS_MAX];
    size_t n = 0;

    assert(strlen(d->def) < sizeof text);
    snprintf(text, sizeof text, "%s", d->def);
    for (char *w = strtok_r(text, " ", &save); w && n < CONFIG_WORDS_MAX;
         w = strtok_r(NULL, " ", &save))
        args[n++] = w;
    if (config_set_in(cfg, srv, loc, d->name, args, n, err, sizeof err) < 0) {
        assert(strcmp(err, "out of memory") == 0); /* a default that does not parse is our bug */
        return strcmp(err, "out of memory") == 0 ? -ENOMEM : -EINVAL;
    }
    return 0;
}

static int config_set_default(struct config *cfg, struct config_location *loc,
                              const struct config_directive *d)
{
    return config_set_default_in(cfg, NULL, loc, d);
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

/* The value a level inherits for location row d: main's field, or for a row
 * with none the top level's defaults. */
static const char *config_main_value(const struct config *cfg, const struct config_directive *d)
{
    return d->main_size ? (const char *)cfg + d->main_off
                        : (const char *)&cfg->top.defaults + d->loc_off;
}

void config_location_fini(struct config_location *loc)
{
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        if (d->loc_size && config_owns_memory(d))
            config_free_value(d, (char *)loc + d->loc_off);
    }
    free(loc->prefix);
    free(loc->where);
    free(loc->auth_user_file_where);
    free(loc->proxy_pass_where);
    proxy_addr_list_release(loc->proxy_peers);
    if (loc->users)
        auth_users_free(loc->users);
    memset(loc, 0, sizeof *loc);
}

void config_server_fini(struct config_server *srv)
{
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        if (d->srv_size && config_owns_memory(d))
            config_free_value(d, (char *)srv + d->srv_off);
    }
    for (size_t i = 0; i < srv->names.n; i++) {
        free(srv->names.v[i]);
        free(srv->names.where[i]);
    }
    config_location_fini(&srv->defaults);
    for (size_t i = 0; i < srv->location_count; i++)
        config_location_fini(&srv->locations[i]);
    free(srv->where);
    memset(srv, 0, sizeof *srv);
}

void config_fini(struct config *cfg)
{
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        if (d->main_size && !d->srv_size && config_owns_memory(d))
            config_free_value(d, (char *)cfg + d->main_off);
    }
    for (size_t i = 0; i < cfg->nokeepalive_count; i++) {
        free(cfg->nokeepalive_user_agents[i]);
        regfree(&cfg->nokeepalive_re[i]);
    }
    for (size_t i = 0; i < cfg->tls_certificate_count; i++) {
        free(cfg->tls_certificates[i].cert_file);
        free(cfg->tls_certificates[i].key_file);
    }
    config_server_fini(&cfg->top); /* root and index of the main level too */
    for (size_t i = 0; i < cfg->server_count; i++) {
        config_server_fini(cfg->servers[i]);
        free(cfg->servers[i]);
    }
    vhost_table_free(cfg->vhosts);
    memset(cfg, 0, sizeof *cfg);
}

static struct config_location *config_location_find(struct config_server *srv,
                                                    const char *prefix)
{
    for (size_t i = 0; i < srv->location_count; i++)
        if (strcmp(srv->locations[i].prefix, prefix) == 0)
            return &srv->locations[i];
    return NULL;
}

struct config_location *config_add_location(struct config *cfg, const char *prefix, char *err,
                                            size_t errlen)
{
    return config_add_location_in(cfg, NULL, prefix, err, errlen);
}

/* Set the defaults of the rows that live only below this level (no value
 * above to inherit): a location's location-only rows, a server block's
 * server-only rows and its defaults' location-only rows. */
static int config_set_local_defaults(struct config *cfg, struct config_server *srv,
                                     struct config_location *loc)
{
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        if (!d->def || d->main_size)
            continue;
        if (d->loc_size && loc && config_set_default_in(cfg, NULL, loc, d) < 0)
            return -ENOMEM;
        if (d->srv_size && !loc && config_set_default_in(cfg, srv, NULL, d) < 0)
            return -ENOMEM;
        if (d->loc_size && !loc && config_set_default_in(cfg, srv, NULL, d) < 0)
            return -ENOMEM;
    }
    return 0;
}

struct config_server *config_add_server(struct config *cfg, char *err, size_t errlen)
{
    struct config_server *srv;

    if (cfg->server_count == CONFIG_SERVER_MAX) {
        snprintf(err, errlen, "too many server blocks (max %d)", CONFIG_SERVER_MAX);
        return NULL;
    }
    srv = calloc(1, sizeof *srv);
    if (!srv || config_set_local_defaults(cfg, srv, NULL) < 0) {
        if (srv)
            config_server_fini(srv);
        free(srv);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->set_mask = 0; /* defaults are not "set in this block" */
    srv->defaults.set_mask = 0;
    cfg->servers[cfg->server_count++] = srv;
    return srv;
}

struct config_location *config_add_location_in(struct config *cfg, struct config_server *srv,
                                               const char *prefix, char *err, size_t errlen)
{
    struct config_location *loc;

    if (!srv)
        srv = &cfg->top;

    if (prefix[0] != '/') {
        snprintf(err, errlen, "location prefix must start with '/': '%s'", prefix);
        return NULL;
    }
    if (config_location_find(srv, prefix)) {
        snprintf(err, errlen, "duplicate location '%s'", prefix);
        return NULL;
    }
    if (srv->location_count == CONFIG_LOCATION_MAX) {
        snprintf(err, errlen, "too many locations (max %d)", CONFIG_LOCATION_MAX);
        return NULL;
    }
    loc = &srv->locations[srv->location_count];
    memset(loc, 0, sizeof *loc);
    loc->prefix = strdup(prefix);
    if (!loc->prefix) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    loc->prefix_len = strlen(prefix);
    if (config_set_local_defaults(cfg, NULL, loc) < 0) {
        config_location_fini(loc);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    loc->set_mask = 0; /* defaults are not "set in this block" */
    srv->location_count++;
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
static void config_order_locations(struct config_server *srv)
{
    struct config_location tmp;

    for (size_t i = 0; i < srv->location_count; i++) {
        if (strcmp(srv->locations[i].prefix, "/") == 0) {
            tmp = srv->locations[i];
            memmove(&srv->locations[1], &srv->locations[0], i * sizeof tmp);
            srv->locations[0] = tmp;
            break;
        }
    }
    for (size_t i = 2; i < srv->location_count; i++) { /* insertion sort: stable, n <= 64 */
        size_t j = i;
        tmp = srv->locations[i];
        for (; j > 1 && srv->locations[j - 1].prefix_len < tmp.prefix_len; j--)
            srv->locations[j] = srv->locations[j - 1];
        srv->locations[j] = tmp;
    }
}

/* The locations of every site that may already be finished, for
 * config_resolve_proxy_pass's reuse. */
static struct config_location *config_proxy_pass_done(struct config *cfg, const char *value)
{
    struct config_server *only[] = { &cfg->top };
    struct config_server **srvs = cfg->server_count ? cfg->servers : only;
    size_t n = cfg->server_count ? cfg->server_count : 1;
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i < srvs[s]->location_count; i++) {
            struct config_location *l = &srvs[s]->locations[i];
            if ((l->proxy_peers || l->proxy_pass_failed) && strcmp(l->proxy_pass, value) == 0)
                return l;
        }
    return NULL;
}

/* Resolve loc's proxy_pass (its host names, with getaddrinfo) once per
 * value: locations that inherit or repeat a value share its list, and a
 * name that failed is reported once, not once per location. */
static int config_resolve_proxy_pass(struct config *cfg, struct config_server *srv,
                                     struct config_location *loc, const char *where, FILE *errs)
{
    if (!loc->proxy_pass || !*loc->proxy_pass || loc->proxy_peers || cfg->skip_resolve)
        return 0;
    struct config_location *done = config_proxy_pass_done(cfg, loc->proxy_pass);
    if (done) {
        loc->proxy_pass_failed = done->proxy_pass_failed;
        loc->proxy_peers = done->proxy_peers;
        if (loc->proxy_peers)
            loc->proxy_peers->refs++;
        return loc->proxy_peers ? 0 : -1;
    }
    char err[CONFIG_ERR_MAX];
    if (proxy_addr_resolve_list(loc->proxy_pass, &loc->proxy_peers, err, sizeof err) == 0)
        return 0;
    /* The line of the directive, where the location inherited it from. */
    const char *at = loc->proxy_pass_where ? loc->proxy_pass_where
                   : srv->defaults.proxy_pass_where ? srv->defaults.proxy_pass_where
                   : cfg->top.defaults.proxy_pass_where ? cfg->top.defaults.proxy_pass_where
                   : where;
    fprintf(errs, "%s: proxy_pass %s: %s\n", at, loc->proxy_pass, err);
    loc->proxy_pass_failed = true;
    return -1;
}

/* Finish one site: a server block inherits the server rows (root, index)
 * from the top level and its defaults (location rows) from main; its
 * locations inherit from those defaults, the top level's from main. Then
 * "/" exists, the order is the lookup's and user files are loaded. */
static int config_finish_site(struct config *cfg, struct config_server *srv, FILE *errs)
{
    bool block = srv != &cfg->top;
    char err[CONFIG_ERR_MAX];
    int rc = 0;

    for (size_t k = 0; block && k < config_directive_count(); k++) {
        const struct config_directive *d = &config_directives[k];
        int r = 0;
        if (d->srv_size && d->main_size && !(srv->set_mask & config_directive_srv_bit(d)))
            r = config_inherit_value(d, (const char *)&cfg->top + d->srv_off,
                                     (char *)srv + d->srv_off, d->srv_size);
        else if (d->loc_size && !(srv->defaults.set_mask & config_directive_bit(d))
                 && (d->main_size || (cfg->top.defaults.set_mask & config_directive_bit(d))))
            r = config_inherit_value(d, config_main_value(cfg, d),
                                     (char *)&srv->defaults + d->loc_off, d->loc_size);
        if (r < 0) {
            fprintf(errs, "out of memory\n");
            return -1;
        }
    }
    if (!config_location_find(srv, "/") && !config_add_location_in(cfg, srv, "/", err, sizeof err)) {
        fprintf(errs, "%s\n", err);
        return -1;
    }
    config_order_locations(srv);

    for (size_t i = 0; i < srv->location_count; i++) {
        struct config_location *loc = &srv->locations[i];
        const char *where = loc->where ? loc->where : srv->where ? srv->where : "location";

        loc->site = srv->site;
        for (size_t k = 0; k < config_directive_count(); k++) {
            const struct config_directive *d = &config_directives[k];
            const char *src = block ? (const char *)&srv->defaults + d->loc_off
                                    : config_main_value(cfg, d);
            if (d->loc_size && (block || d->main_size || (srv->defaults.set_mask &
                                                           config_directive_bit(d)))
                && !(loc->set_mask & config_directive_bit(d))
                && config_inherit_value(d, src, (char *)loc + d->loc_off, d->loc_size) < 0) {
                fprintf(errs, "out of memory\n");
                return -1;
            }
        }
        loc->adds_fields = loc->headers.ok || loc->headers.always ||
                           loc->expires_s != CONFIG_EXPIRES_OFF;
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
        if (config_resolve_proxy_pass(cfg, srv, loc, where, errs) < 0)
            rc = -1;
    }
    return rc;
}

/* The server blocks as sites: the default one, and the Host table with
 * every name once (a name in two blocks is an error, with both places). */
static int config_finish_servers(struct config *cfg, FILE *errs)
{
    const struct config_server *marked = NULL;
    int rc = 0;

    if (cfg->top.location_count > 0) {
        const char *where = cfg->top.locations[0].where;
        fprintf(errs, "%s%slocation blocks go inside the server blocks when there are any\n",
                where ? where : "", where ? ": " : "");
        rc = -1;
    }
    for (size_t i = 0; i < cfg->server_count; i++) {
        struct config_server *srv = cfg->servers[i];
        srv->site = (uint32_t)i;
        cfg->sites[i] = srv;
        if (!srv->default_server)
            continue;
        if (marked) {
            fprintf(errs, "%s: default_server is already set for the server block at %s\n",
                    srv->where ? srv->where : "server", marked->where ? marked->where : "?");
            rc = -1;
        } else {
            marked = srv;
            cfg->default_site = (uint32_t)i;
        }
    }
    cfg->site_count = cfg->server_count;
    cfg->vhosts = vhost_table_new(cfg->default_site);
    if (!cfg->vhosts) {
        fprintf(errs, "out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < cfg->server_count; i++) {
        const struct config_server *srv = cfg->servers[i];
        for (size_t k = 0; k < srv->names.n; k++) {
            uint32_t owner = 0;
            int r = vhost_table_add(cfg->vhosts, srv->names.v[k], (uint32_t)i, &owner);
            const char *where = srv->names.where[k] ? srv->names.where[k] : srv->where;
            if (r == -EEXIST) {
                const struct config_server *o = cfg->servers[owner];
                fprintf(errs, "%s: duplicate server_name '%s' (also in the server block at %s)\n",
                        where ? where : "server", srv->names.v[k], o->where ? o->where : "?");
                rc = -1;
            } else if (r < 0) {
                fprintf(errs, "%s: server_name '%s': %s\n", where ? where : "server",
                        srv->names.v[k], strerror(-r));
                rc = -1;
            }
        }
    }
    if (vhost_table_seal(cfg->vhosts) < 0) {
        fprintf(errs, "out of memory\n");
        rc = -1;
    }
    return rc;
}

int config_finish(struct config *cfg, FILE *errs)
{
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
    if (cfg->server_count == 0) {
        cfg->sites[0] = &cfg->top;
        cfg->site_count = 1;
        if (config_finish_site(cfg, &cfg->top, errs) < 0)
            rc = -1;
    } else {
        if (config_finish_servers(cfg, errs) < 0)
            rc = -1;
        for (size_t i = 0; i < cfg->server_count; i++)
            if (config_finish_site(cfg, cfg->servers[i], errs) < 0)
                rc = -1;
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

const struct config_location *config_find_location(const struct config_server *site,
                                                   const char *path, size_t len)
{
    if (site->location_count == 0)
        return NULL;
    for (size_t i = 1; i < site->location_count; i++) {
        const struct config_location *loc = &site->locations[i];
        if (loc->prefix_len <= len && memcmp(loc->prefix, path, loc->prefix_len) == 0)
            return loc;
    }
    return &site->locations[0];
}
