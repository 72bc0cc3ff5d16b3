/* compress_cache — each worker's store of files it compressed on the fly.
 *
 * A hot text file is compressed once, not on every request: an entry holds
 * the compressed bytes and their response header fragment, keyed by the
 * file's identity (device, inode, size, modification time in ns) and the
 * compression level, so a file replaced or edited in place gets a new key
 * and is compressed again; the stale entry ages out. The total of entry
 * bytes is bounded; the least recently used entries go first. No I/O here.
 */
#ifndef LINGERD_COMPRESS_CACHE_H
#define LINGERD_COMPRESS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct compress_cache;

struct compress_cache_entry {
    const char *head;  /* "Content-Type: ...\r\n...Vary: Accept-Encoding\r\n" */
    size_t head_len;
    const char *etag;  /* W/"..." */
    size_t etag_len;
    const char *body;  /* the compressed bytes */
    size_t body_len;
};

/* Counters for the status page, kept by the cache. */
struct compress_cache_counts {
    uint64_t hits, misses, evictions, bytes, entries;
};

/* A cache of at most max_bytes (entries' bytes and bookkeeping), or NULL
 * with errno set; max_bytes 0 gives NULL with errno 0 (keep nothing). */
struct compress_cache *compress_cache_new(uint64_t max_bytes);
void compress_cache_free(struct compress_cache *cc);

/* The entry for the file st at level, or NULL; counts a hit or a miss. */
const struct compress_cache_entry *compress_cache_find(struct compress_cache *cc,
                                                       const struct stat *st, unsigned level);

/* Keep a copy of head, etag and body for st at level, evicting the least
 * recently used entries to make room. NULL when it cannot fit (larger than
 * the whole cache) or memory runs out; the caller then answers from its own
 * buffer. */
const struct compress_cache_entry *compress_cache_store(struct compress_cache *cc,
                                                        const struct stat *st, unsigned level,
                                                        const char *head, size_t head_len,
                                                        const char *etag, size_t etag_len,
                                                        const char *body, size_t body_len);

/* hits, misses, evictions since start; bytes and entries now. */
struct compress_cache_counts compress_cache_counts(const struct compress_cache *cc);

#endif
