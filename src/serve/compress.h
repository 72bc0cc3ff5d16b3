/* compress — which representation of a file answers: the file itself, a
 * precompressed sibling (FILE.br, FILE.gz) or gzip made here and cached.
 *
 * static.c calls in only where a location has precompressed or gzip on
 * (compress_is_on), so compression costs nothing where it is off. The
 * choice follows Accept-Encoding (accept_encoding.c); the bytes of a chosen
 * sibling are served by static.c like any file (ranges, conditionals,
 * sendfile, the file cache), on-the-fly gzip is answered here from the
 * worker's compress_cache.
 */
#ifndef LINGERD_COMPRESS_H
#define LINGERD_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "accept_encoding.h"
#include "config.h"

struct conn;
struct filecache_entry;

/* Bits of a file's variants: (1u << ACCEPT_BR), (1u << ACCEPT_GZIP) for a
 * usable sibling, and this one when gzip on the fly applies to it. */
#define COMPRESS_SIBLINGS ((1u << ACCEPT_BR) | (1u << ACCEPT_GZIP))
#define COMPRESS_DYNAMIC (1u << ACCEPT_CODING_COUNT)

/* What a response carries besides the file's own fields. */
struct compress_answer {
    enum accept_coding coding; /* Content-Encoding unless identity */
    bool vary;                 /* Vary: Accept-Encoding (another variant exists) */
};

/* A precompressed sibling that may answer: fd open, or -1. */
struct compress_sibling {
    int fd;
    struct stat st;
};

/* Does loc compress at all? One test on the hot path where it is off. */
static inline bool compress_is_on(const struct config_location *loc)
{
    return (loc->precompressed & COMPRESS_SIBLINGS) || loc->gzip;
}

/* Every Accept-Encoding line of the request into ae. */
void compress_read_accept(const struct conn *c, struct accept_encoding *ae);

/* The variants of the regular file rel (decoded path, leading '/') with stat
 * st and media type type: opens its usable siblings into sib[] (indexed by
 * coding; fd -1 where none) and says whether gzip on the fly applies.
 * A sibling is usable when it is a regular file not older than the file. */
unsigned compress_variants(struct conn *c, const struct config_location *loc, const char *rel,
                           size_t rel_len, const struct stat *st, const char *type,
                           struct compress_sibling sib[ACCEPT_IDENTITY]);

/* Close the siblings compress_variants opened (except fd -1). */
void compress_close_siblings(struct compress_sibling sib[ACCEPT_IDENTITY]);

/* The coding to answer with, from variants: a range request never gets
 * gzip made on the fly; a sibling wins over on-the-fly gzip. *dynamic says
 * the answer is gzip made here. */
enum accept_coding compress_choose(const struct accept_encoding *ae, unsigned variants,
                                   bool range, bool *dynamic);

/* The file cache key of a sibling: path, '\n', the coding's name (a
 * decoded path holds no control byte, so it cannot collide with a file).
 * Its length, or 0 if it does not fit. */
size_t compress_sibling_key(const char *path, size_t len, enum accept_coding coding, char *out,
                            size_t cap);

/* A sibling's strong ETag: its own validator with the coding appended, so it
 * never equals the file's even if size and time agree. Its length. */
size_t compress_sibling_etag(const struct stat *st, enum accept_coding coding, char *out,
                             size_t cap);

/* The header lines of a, "Content-Encoding: ...\r\n" (unless identity or
 * with_encoding is false) and "Vary: Accept-Encoding\r\n", into out. */
size_t compress_head_lines(const struct compress_answer *a, bool with_encoding, char *out,
                           size_t cap);

/* Answer with gzip made on the fly for the file st (type, identity ETag
 * etag): from the worker's cache, else compressed from body (the file's
 * bytes, when the caller has them) or read from fd (borrowed). Conditionals
 * apply to the gzip representation (weak ETag W/"...-gzip"). */
void compress_send_dynamic(struct conn *c, const struct config_location *loc,
                           const struct stat *st, const char *type, const char *etag,
                           size_t etag_len, const char *body, int fd);

/* For a fresh cached file e: the entry that answers (e itself, or its cached
 * sibling), or NULL when it answered already (gzip on the fly; *answered
 * true) or the sibling it chose is not cached (go to the disk). */
const struct filecache_entry *compress_pick_cached(struct conn *c,
                                                   const struct config_location *loc,
                                                   const struct accept_encoding *ae,
                                                   const char *path, size_t len,
                                                   const struct filecache_entry *e,
                                                   bool *answered);

#endif
