/* filecache — a hash table of small files with an LRU list (lru.h).
 *
 * Chained hash on the request path (FNV-1a), buckets = a power of two at
 * least twice the entry cap, so chains stay short. One allocation per entry
 * holds the struct, the key, the header fragment and the file bytes.
 */
#include "filecache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpdate.h"
#include "lru.h"

struct filecache_item {
    struct filecache_entry e;      /* first: callers see only this */
    struct filecache_item *chain;  /* next in the bucket */
    struct lru_link lru;
    uint32_t hash;
    size_t key_len;
    char data[];                   /* key, head, etag, type, body */
};

struct filecache {
    struct filecache_item **buckets;
    uint32_t mask;
    uint32_t count;
    uint32_t cap;
    uint64_t file_max_bytes;
    struct lru_list lru;           /* every item, least recently used first */
};

static uint32_t filecache_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

struct filecache *filecache_new(uint32_t entries, uint64_t file_max_bytes)
{
    if (entries == 0) {
        errno = 0;
        return NULL;
    }
    struct filecache *fc = calloc(1, sizeof *fc);
    if (!fc)
        return NULL;
    uint32_t n = 16;
    while (n < entries * 2u && n < (1u << 30))
        n *= 2;
    fc->buckets = calloc(n, sizeof *fc->buckets);
    if (!fc->buckets) {
        free(fc);
        return NULL;
    }
    fc->mask = n - 1;
    fc->cap = entries;
    fc->file_max_bytes = file_max_bytes;
    return fc;
}

static struct filecache_item *filecache_oldest(const struct filecache *fc)
{
    return fc->lru.oldest ? LRU_ITEM(fc->lru.oldest, struct filecache_item, lru) : NULL;
}

static void filecache_remove(struct filecache *fc, struct filecache_item *it)
{
    struct filecache_item **p = &fc->buckets[it->hash & fc->mask];
    while (*p != it)
        p = &(*p)->chain;
    *p = it->chain;
    lru_unlink(&fc->lru, &it->lru);
    fc->count--;
    free(it);
}

void filecache_free(struct filecache *fc)
{
    if (!fc)
        return;
    while (fc->lru.oldest)
        filecache_remove(fc, filecache_oldest(fc));
    free(fc->buckets);
    free(fc);
}

static struct filecache_item *filecache_lookup(struct filecache *fc, const char *path,
                                               size_t len, uint32_t h)
{
    for (struct filecache_item *it = fc->buckets[h & fc->mask]; it; it = it->chain)
        if (it->hash == h && it->key_len == len && memcmp(it->data, path, len) == 0)
            return it;
    return NULL;
}

const struct filecache_entry *filecache_find(struct filecache *fc, const char *path, size_t len)
{
    struct filecache_item *it = filecache_lookup(fc, path, len, filecache_hash(path, len));
    if (!it)
        return NULL;
    lru_touch(&fc->lru, &it->lru);
    return &it->e;
}

int filecache_same_file(const struct filecache_entry *e, const struct stat *st)
{
    return e->st.st_ino == st->st_ino && e->st.st_dev == st->st_dev &&
           e->st.st_size == st->st_size && e->st.st_mtim.tv_sec == st->st_mtim.tv_sec &&
           e->st.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

void filecache_touch(struct filecache *fc, const struct filecache_entry *e, uint64_t now_ms)
{
    (void)fc;
    ((struct filecache_entry *)e)->checked_ms = now_ms;
}

const struct filecache_entry *filecache_store(struct filecache *fc, const char *path, size_t len,
                                              int fd, const struct stat *st, const char *type,
                                              const char *etag, size_t etag_len,
                                              const char *extra, unsigned variants,
                                              uint64_t now_ms)
{
    if (st->st_size < 0 || (uint64_t)st->st_size > fc->file_max_bytes)
        return NULL;
    size_t size = (size_t)st->st_size;
    char lm[HTTPDATE_LEN + 1];
    httpdate_format(st->st_mtim.tv_sec, lm);
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "Content-Type: %s\r\nLast-Modified: %s\r\nETag: %.*s\r\n"
                      "Accept-Ranges: bytes\r\n%s",
                      type, lm, (int)etag_len, etag, extra);
    if (hn < 0 || (size_t)hn >= sizeof head)
        return NULL;
    size_t type_len = strlen(type) + 1;
    struct filecache_item *it =
        malloc(sizeof *it + len + (size_t)hn + etag_len + type_len + size);
    if (!it)
        return NULL;
    char *key = it->data, *h = key + len, *tag = h + hn, *ty = tag + etag_len,
         *body = ty + type_len;
    ssize_t got = size ? pread(fd, body, size, 0) : 0;
    if (got != (ssize_t)size) {
        free(it); /* changed while we read: serve it uncached */
        return NULL;
    }
    memcpy(key, path, len);
    memcpy(h, head, (size_t)hn);
    memcpy(tag, etag, etag_len);
    memcpy(ty, type, type_len);
    it->e = (struct filecache_entry){
        .st = *st, .checked_ms = now_ms, .head = h, .head_len = (size_t)hn,
        .etag = tag, .etag_len = etag_len, .body = body, .body_len = size,
        .type = ty, .variants = variants,
    };
    it->hash = filecache_hash(path, len);
    it->key_len = len;
    struct filecache_item *old = filecache_lookup(fc, path, len, it->hash);
    if (old)
        filecache_remove(fc, old);
    if (fc->count >= fc->cap && fc->lru.oldest)
        filecache_remove(fc, filecache_oldest(fc));
    it->chain = fc->buckets[it->hash & fc->mask];
    fc->buckets[it->hash & fc->mask] = it;
    lru_push_newest(&fc->lru, &it->lru);
    fc->count++;
    return &it->e;
}
