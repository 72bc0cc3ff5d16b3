/* compress_cache — a hash table of compressed files with an LRU list (lru.h).
 *
 * Chained hash on the file identity; the bucket array doubles when entries
 * outnumber it, so chains stay short whatever the byte budget. One
 * allocation per entry holds the struct, the head, the ETag and the bytes;
 * its whole size counts against the budget.
 */
#include "compress_cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"

struct compress_cache_key {
    uint64_t dev, ino, size, mtime_s, mtime_ns;
    unsigned level;
};

struct compress_cache_item {
    struct compress_cache_entry e;       /* first: callers see only this */
    struct compress_cache_key key;
    struct compress_cache_item *chain;
    struct lru_link lru;
    uint64_t hash;
    size_t cost;                         /* bytes charged to the budget */
    char data[];                         /* head, etag, body */
};

struct compress_cache {
    struct compress_cache_item **buckets;
    size_t mask;
    uint64_t max_bytes;
    struct lru_list lru;                 /* every item, least recently used first */
    struct compress_cache_counts counts;
};

#define COMPRESS_CACHE_BUCKETS_MIN 64

static struct compress_cache_key compress_cache_key_of(const struct stat *st, unsigned level)
{
    struct compress_cache_key k;
    memset(&k, 0, sizeof k); /* padding too: keys are compared with memcmp */
    k.dev = (uint64_t)st->st_dev;
    k.ino = (uint64_t)st->st_ino;
    k.size = (uint64_t)st->st_size;
    k.mtime_s = (uint64_t)st->st_mtim.tv_sec;
    k.mtime_ns = (uint64_t)st->st_mtim.tv_nsec;
    k.level = level;
    return k;
}

static uint64_t compress_cache_hash(const struct compress_cache_key *k)
{
    const unsigned char *p = (const unsigned char *)k;
    uint64_t h = 1469598103934665603u; /* FNV-1a, 64-bit */
    for (size_t i = 0; i < sizeof *k; i++) {
        h ^= p[i];
        h *= 1099511628211u;
    }
    return h;
}

struct compress_cache *compress_cache_new(uint64_t max_bytes)
{
    if (max_bytes == 0) {
        errno = 0;
        return NULL;
    }
    struct compress_cache *cc = calloc(1, sizeof *cc);
    if (!cc)
        return NULL;
    cc->buckets = calloc(COMPRESS_CACHE_BUCKETS_MIN, sizeof *cc->buckets);
    if (!cc->buckets) {
        free(cc);
        return NULL;
    }
    cc->mask = COMPRESS_CACHE_BUCKETS_MIN - 1;
    cc->max_bytes = max_bytes;
    return cc;
}

static struct compress_cache_item *compress_cache_oldest(const struct compress_cache *cc)
{
    return cc->lru.oldest ? LRU_ITEM(cc->lru.oldest, struct compress_cache_item, lru) : NULL;
}

static void compress_cache_remove(struct compress_cache *cc, struct compress_cache_item *it)
{
    struct compress_cache_item **p = &cc->buckets[it->hash & cc->mask];
    while (*p != it)
        p = &(*p)->chain;
    *p = it->chain;
    lru_unlink(&cc->lru, &it->lru);
    cc->counts.bytes -= it->cost;
    cc->counts.entries--;
    free(it);
}

void compress_cache_free(struct compress_cache *cc)
{
    if (!cc)
        return;
    while (cc->lru.oldest)
        compress_cache_remove(cc, compress_cache_oldest(cc));
    free(cc->buckets);
    free(cc);
}

/* Double the bucket array when entries outnumber buckets; on failure the
 * chains just grow longer. */
static void compress_cache_grow(struct compress_cache *cc)
{
    size_t n = (cc->mask + 1) * 2;
    struct compress_cache_item **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i <= cc->mask; i++) {
        struct compress_cache_item *it = cc->buckets[i], *next;
        for (; it; it = next) {
            next = it->chain;
            it->chain = b[it->hash & (n - 1)];
            b[it->hash & (n - 1)] = it;
        }
    }
    free(cc->buckets);
    cc->buckets = b;
    cc->mask = n - 1;
}

static struct compress_cache_item *compress_cache_lookup(const struct compress_cache *cc,
                                                         const struct compress_cache_key *k,
                                                         uint64_t h)
{
    for (struct compress_cache_item *it = cc->buckets[h & cc->mask]; it; it = it->chain)
        if (it->hash == h && memcmp(&it->key, k, sizeof *k) == 0)
            return it;
    return NULL;
}

const struct compress_cache_entry *compress_cache_find(struct compress_cache *cc,
                                                       const struct stat *st, unsigned level)
{
    struct compress_cache_key k = compress_cache_key_of(st, level);
    struct compress_cache_item *it = compress_cache_lookup(cc, &k, compress_cache_hash(&k));
    if (!it) {
        cc->counts.misses++;
        return NULL;
    }
    cc->counts.hits++;
    lru_touch(&cc->lru, &it->lru);
    return &it->e;
}

const struct compress_cache_entry *compress_cache_store(struct compress_cache *cc,
                                                        const struct stat *st, unsigned level,
                                                        const char *head, size_t head_len,
                                                        const char *etag, size_t etag_len,
                                                        const char *body, size_t body_len)
{
    size_t cost = sizeof(struct compress_cache_item) + head_len + etag_len + body_len;
    if (cost > cc->max_bytes)
        return NULL;
    struct compress_cache_key k = compress_cache_key_of(st, level);
    uint64_t h = compress_cache_hash(&k);
    struct compress_cache_item *old = compress_cache_lookup(cc, &k, h);
    if (old)
        compress_cache_remove(cc, old);
    while (cc->lru.oldest && cc->counts.bytes + cost > cc->max_bytes) {
        compress_cache_remove(cc, compress_cache_oldest(cc));
        cc->counts.evictions++;
    }
    struct compress_cache_item *it = malloc(cost);
    if (!it)
        return NULL;
    char *hd = it->data, *tag = hd + head_len, *b = tag + etag_len;
    memcpy(hd, head, head_len);
    memcpy(tag, etag, etag_len);
    if (body_len)
        memcpy(b, body, body_len);
    it->e = (struct compress_cache_entry){
        .head = hd, .head_len = head_len, .etag = tag, .etag_len = etag_len,
        .body = b, .body_len = body_len,
    };
    it->key = k;
    it->hash = h;
    it->cost = cost;
    it->chain = cc->buckets[h & cc->mask];
    cc->buckets[h & cc->mask] = it;
    lru_push_newest(&cc->lru, &it->lru);
    cc->counts.bytes += cost;
    cc->counts.entries++;
    if (cc->counts.entries > cc->mask + 1)
        compress_cache_grow(cc);
    return &it->e;
}

struct compress_cache_counts compress_cache_counts(const struct compress_cache *cc)
{
    return cc->counts;
}
