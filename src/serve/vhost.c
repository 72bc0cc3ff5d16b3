/* vhost — which server block answers a request, by its Host.
 *
 * Two sorted arrays: exact names, and wildcard suffixes (".example" for
 * "*.example"). A lookup normalises the host into a stack buffer, binary
 * searches the exact names, then tries each suffix that starts at a dot,
 * leftmost first, so the longest wildcard wins (as nginx's). Names are
 * compared by length, then bytes, which is all the order a search needs.
 *
 * Not here: checking the host's grammar (http1.c does it before routing)
 * and anything about listeners: every server block answers on every
 * listener, and the configuration names the default.
 */
#include "vhost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vhost_entry {
    char *name; /* normalised; a wildcard without its '*': ".example" */
    size_t len;
    uint32_t server;
};

struct vhost_list {
    struct vhost_entry *v;
    size_t n, cap;
};

struct vhost_table {
    struct vhost_list exact, wild;
    uint32_t default_server;
};

static char vhost_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

size_t vhost_normalize(const char *host, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    if (len > 0 && host[0] == '[') {
        const char *end = memchr(host, ']', len);
        n = end ? (size_t)(end - host) + 1 : len;
    } else {
        while (n < len && host[n] != ':')
            n++;
    }
    if (n > 1 && host[n - 1] == '.')
        n--; /* "example.com." is the same name, fully qualified */
    if (n == 0 || n > cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = vhost_lower(host[i]);
    return n;
}

static bool vhost_is_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

int vhost_name_check(const char *name, char *err, size_t errlen)
{
    size_t len = strlen(name), i = 0;

    if (len == 0 || len > VHOST_NAME_MAX + 2) {
        snprintf(err, errlen, "a server name has 1 to %d characters", VHOST_NAME_MAX);
        return -1;
    }
    if (name[0] == '[') {
        for (i = 1; i < len - 1; i++) {
            char c = name[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.')) {
                snprintf(err, errlen, "'%s' is not an IPv6 literal like [::1]", name);
                return -1;
            }
        }
        if (len < 3 || name[len - 1] != ']') {
            snprintf(err, errlen, "'%s' is not an IPv6 literal like [::1]", name);
            return -1;
        }
        return 0;
    }
    if (name[0] == '*') {
        if (name[1] != '.' || name[2] == '\0') {
            snprintf(err, errlen, "'%s': a wildcard is a leading \"*.\" before a name", name);
            return -1;
        }
        i = 2;
    }
    if (len > 1 && name[len - 1] == '.')
        len--; /* the fully qualified form names the same host */
    for (size_t label = 0; i < len; i++) {
        if (name[i] == '.') {
            if (label == 0)
                break;
            label = 0;
        } else if (vhost_is_label_char(name[i])) {
            label++;
        } else {
            snprintf(err, errlen,
                     "'%s': a server name has letters, digits, '-', '_' and dots (a '*' only as "
                     "a leading \"*.\")", name);
            return -1;
        }
    }
    if (i < len || name[len - 1] == '.') {
        snprintf(err, errlen, "'%s' has an empty label", name);
        return -1;
    }
    return 0;
}

struct vhost_table *vhost_table_new(uint32_t default_server)
{
    struct vhost_table *t = calloc(1, sizeof *t);
    if (t)
        t->default_server = default_server;
    return t;
}

static void vhost_list_fini(struct vhost_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

void vhost_table_free(struct vhost_table *t)
{
    if (!t)
        return;
    vhost_list_fini(&t->exact);
    vhost_list_fini(&t->wild);
    free(t);
}

static int vhost_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

static int vhost_entry_cmp(const void *a, const void *b)
{
    const struct vhost_entry *x = a, *y = b;
    return vhost_cmp(x->name, x->len, y->name, y->len);
}

static const struct vhost_entry *vhost_find(const struct vhost_list *l, const char *name,
                                            size_t len)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = vhost_cmp(name, len, l->v[mid].name, l->v[mid].len);
        if (c == 0)
            return &l->v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int vhost_table_add(struct vhost_table *t, const char *name, uint32_t server, uint32_t *owner)
{
    char err[8], norm[VHOST_NAME_MAX + 1];
    bool wild = name[0] == '*';
    struct vhost_list *l = wild ? &t->wild : &t->exact;

    if (vhost_name_check(name, err, sizeof err) < 0)
        return -EINVAL;
    size_t len = vhost_normalize(name + wild, strlen(name + wild), norm, sizeof norm);
    if (len == 0)
        return -EINVAL;
    /* the table is unsorted until sealed, and small: a linear check */
    for (size_t i = 0; i < l->n; i++) {
        if (vhost_cmp(norm, len, l->v[i].name, l->v[i].len) == 0) {
            if (owner)
                *owner = l->v[i].server;
            return -EEXIST;
        }
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct vhost_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, norm, len);
    copy[len] = '\0';
    l->v[l->n++] = (struct vhost_entry){ .name = copy, .len = len, .server = server };
    return 0;
}

void vhost_table_seal(struct vhost_table *t)
{
    if (t->exact.n)
        qsort(t->exact.v, t->exact.n, sizeof *t->exact.v, vhost_entry_cmp);
    if (t->wild.n)
        qsort(t->wild.v, t->wild.n, sizeof *t->wild.v, vhost_entry_cmp);
}

uint32_t vhost_select(const struct vhost_table *t, const char *host, size_t len)
{
    char norm[VHOST_NAME_MAX + 1];
    size_t n = vhost_normalize(host, len, norm, sizeof norm);
    const struct vhost_entry *e;

    if (n == 0)
        return t->default_server;
    e = vhost_find(&t->exact, norm, n);
    if (e)
        return e->server;
    /* ".example" for "a.b.example": ".b.example" first, the longer suffix */
    for (size_t i = 1; i < n && t->wild.n; i++) {
        if (norm[i] != '.')
            continue;
        e = vhost_find(&t->wild, norm + i, n - i);
        if (e)
            return e->server;
    }
    return t->default_server;
}
