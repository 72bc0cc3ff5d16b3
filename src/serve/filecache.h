/* filecache — small files kept in memory with their response headers.
 *
 * A GET of a small file otherwise costs open, fstat, pread and close, and
 * formatting its validators. A cached entry holds the file's bytes, its
 * stat and a prebuilt header fragment (Content-Type, Last-Modified, ETag,
 * Accept-Ranges), so a hit is a hash lookup and two copies. Entries are
 * trusted for file_cache_valid; after that the next request re-opens the
 * file beneath the root and the entry is refreshed if it changed (nginx's
 * open_file_cache_valid has the same trade-off). Least recently used
 * entries are evicted past file_cache_entries.
 */
#ifndef LINGERD_FILECACHE_H
#define LINGERD_FILECACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct filecache;

struct filecache_entry {
    struct stat st;
    uint64_t checked_ms;  /* when the file was last seen to match */
    const char *head;     /* "Content-Type: ...\r\n...Accept-Ranges: bytes\r\n" */
    size_t head_len;
    const char *etag;
    size_t etag_len;
    const char *body;
    size_t body_len;
    const char *type;     /* the media type, for compress.c */
    unsigned variants;    /* compress.c's variants when stored (0: none) */
};

/* A cache of at most entries files of at most file_max_bytes each, or NULL
 * (errno set). entries 0 gives NULL with errno 0: caching is off. */
struct filecache *filecache_new(uint32_t entries, uint64_t file_max_bytes);
void filecache_free(struct filecache *fc);

/* The entry for the decoded request path, or NULL. */
const struct filecache_entry *filecache_find(struct filecache *fc, const char *path, size_t len);

/* Cache the open regular file fd (stat st) under path: reads its bytes and
 * builds its header fragment with content type type, the given ETag and
 * the raw lines extra ("" for none: compress.c's Content-Encoding and
 * Vary), noting variants. Replaces an older entry for path. NULL if it is
 * too large or memory runs out (the caller serves the file without the
 * cache). */
const struct filecache_entry *filecache_store(struct filecache *fc, const char *path, size_t len,
                                              int fd, const struct stat *st, const char *type,
                                              const char *etag, size_t etag_len,
                                              const char *extra, unsigned variants,
                                              uint64_t now_ms);

/* Is the file behind e still the one cached (same inode, size, mtime)? */
int filecache_same_file(const struct filecache_entry *e, const struct stat *st);

/* Mark e checked at now_ms (after filecache_same_file said yes). */
void filecache_touch(struct filecache *fc, const struct filecache_entry *e, uint64_t now_ms);

#endif
