/* vhost — which server block answers a request, by its Host.
 *
 * Two hash tables: exact names, and wildcard suffixes (".example" for
 * "*.example"), both stored in lower case. A lookup, given the name without
 * its port (the parser found where it ends), loads its first and last eight
 * bytes as two words, lowers them with a few word operations (vhost_lower8),
 * and probes
 * the exact table with their mix; a candidate matches if its length and
 * words are equal (and, past 16 bytes, the words between). Only when no
 * exact name matches does it probe the wildcard table, once per dot,
 * leftmost first, so the longest wildcard wins (as nginx's). Nothing is
 * copied and no byte loop runs for a name of up to 16 bytes: this is on
 * the path of every request of a configuration with server blocks.
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
    uint32_t hash;
    uint64_t head, tail; /* vhost_ends of name: with len, all of a name up to 16 bytes */
};

/* Open addressing, linear probing, at most half full; the entries' own
 * array is the list the duplicate check walks while the table is built. */
struct vhost_list {
    struct vhost_entry *v;
    size_t n, cap;
    uint32_t *slots; /* index + 1 into v; 0: empty */
    uint32_t mask;
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
    free(l->slots);
}

void vhost_table_free(struct vhost_table *t)
{
    if (!t)
        return;
    vhost_list_fini(&t->exact);
    vhost_list_fini(&t->wild);
    free(t);
}

/* Names are compared a word at a time: the first and the last eight bytes
 * (overlapping when shorter than 16; assembled when shorter than 8), in lower
 * case, decide a name of up to 16 bytes together with its length, and the
 * bytes between are compared the same way. Their mix is the hash. */
static uint64_t vhost_load(const char *s, size_t n)
{
    uint64_t v = 0;
    uint32_t lo, hi;

    if (n >= 8) {
        memcpy(&v, s, 8);
    } else if (n >= 4) {
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        v = (uint64_t)hi << 32 | lo;
    } else {
        for (size_t i = 0; i < n; i++)
            v = v << 8 | (unsigned char)s[i];
    }
    return v;
}

/* ASCII upper case to lower case in each byte of x, others untouched: a
 * byte's high bit stays clear through the two additions (at most 0x7f +
 * 0x3f), so no carry crosses bytes. */
static uint64_t vhost_lower8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x80 * ones;
    uint64_t seven = x & (0x7f * ones);
    uint64_t at_least_a = seven + (0x80 - 'A') * ones;
    uint64_t past_z = seven + (0x80 - 'Z' - 1) * ones;
    return x | ((at_least_a & ~past_z & ~x & high) >> 2);
}

struct vhost_ends {
    uint64_t head, tail;
};

static inline __attribute__((always_inline)) struct vhost_ends vhost_ends(const char *s,
                                                                          size_t n)
{
    return (struct vhost_ends){
        .head = vhost_lower8(vhost_load(s, n < 8 ? n : 8)),
        .tail = n > 8 ? vhost_lower8(vhost_load(s + n - 8, 8)) : 0,
    };
}

static uint32_t vhost_mix(struct vhost_ends e, size_t n)
{
    uint64_t k = (e.head ^ (e.tail * 0x9E3779B97F4A7C15ull) ^ n) * 0xFF51AFD7ED558CCDull;
    return (uint32_t)(k >> 32);
}

/* The bytes between the first and the last eight of a name past 16 bytes.
 * Out of line: the common short name then needs no spare registers. */
__attribute__((noinline)) static bool vhost_equal_middle(const char *host, const char *name,
                                                         size_t len)
{
    for (size_t i = 8; i + 8 < len; i += 8)
        if (vhost_lower8(vhost_load(host + i, 8)) != vhost_load(name + i, 8))
            return false;
    return true;
}

/* host[0..len) equals the entry's name (lower case), ignoring case. */
static bool vhost_equal(const struct vhost_entry *e, const char *host, size_t len,
                        struct vhost_ends ends)
{
    if (e->len != len || e->head != ends.head || e->tail != ends.tail)
        return false;
    return len <= 16 || vhost_equal_middle(host, e->name, len);
}

static inline __attribute__((always_inline)) const struct vhost_entry *
vhost_find(const struct vhost_list *l,
                                                   const char *host, size_t len)
{
    struct vhost_ends ends = vhost_ends(host, len);
    for (uint32_t i = vhost_mix(ends, len) & l->mask;; i = (i + 1) & l->mask) {
        uint32_t k = l->slots[i];
        if (k == 0)
            return NULL;
        if (vhost_equal(&l->v[k - 1], host, len, ends))
            return &l->v[k - 1];
    }
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
    /* no index until sealed; the names are few: a linear check */
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].len == len && memcmp(norm, l->v[i].name, len) == 0) {
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
    struct vhost_ends ends = vhost_ends(copy, len);
    l->v[l->n++] = (struct vhost_entry){
        .name = copy, .len = len, .server = server, .hash = vhost_mix(ends, len),
        .head = ends.head, .tail = ends.tail,
    };
    return 0;
}

/* The index of a list: a power of two at least twice its size. */
static int vhost_list_index(struct vhost_list *l)
{
    uint32_t cap = 8;

    if (l->n == 0)
        return 0;
    while (cap < 2 * l->n)
        cap *= 2;
    l->slots = calloc(cap, sizeof *l->slots);
    if (!l->slots)
        return -ENOMEM;
    l->mask = cap - 1;
    for (size_t k = 0; k < l->n; k++) {
        uint32_t i = l->v[k].hash & l->mask;
        while (l->slots[i])
            i = (i + 1) & l->mask;
        l->slots[i] = (uint32_t)k + 1;
    }
    return 0;
}

int vhost_table_seal(struct vhost_table *t)
{
    if (vhost_list_index(&t->exact) < 0 || vhost_list_index(&t->wild) < 0)
        return -ENOMEM;
    return 0;
}

/* The server of the longest wildcard covering host[0..n) (a name that
 * matched no exact one), else the default: ".a.b.example", ".b.example",
 * ...: the first hit, from the leftmost dot, is the longest. Reached by a
 * tail call, so the exact lookup saves no registers for it. */
__attribute__((noinline)) static uint32_t vhost_select_wild(const struct vhost_table *t,
                                                            const char *host, size_t n)
{
    for (size_t i = 1; i < n && t->wild.slots; i++) {
        if (host[i] != '.')
            continue;
        const struct vhost_entry *e = vhost_find(&t->wild, host + i, n - i);
        if (e)
            return e->server;
    }
    return t->default_server;
}

uint32_t vhost_select(const struct vhost_table *t, const char *host, size_t n)
{
    const struct vhost_entry *e;

    if (n > 1 && host[n - 1] == '.')
        n--; /* "example.com." is example.com */
    if (n == 0 || n > VHOST_NAME_MAX)
        return t->default_server;
    if (t->exact.slots && (e = vhost_find(&t->exact, host, n)))
        return e->server;
    return vhost_select_wild(t, host, n);
}
