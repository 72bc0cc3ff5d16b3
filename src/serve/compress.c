/* compress — precompressed siblings and gzip on the fly.
 *
 * Siblings: for FILE, FILE.br and FILE.gz (those `precompressed` names) are
 * opened beneath the root like FILE itself. One answers when the client
 * accepts its coding more than the others offered, and it is a regular file
 * whose mtime is not older than FILE's: a sibling older than its original
 * was made from an earlier version, and serving it would undo an edit. The
 * sibling is then a representation of its own: its bytes, its length, its
 * ETag (the sibling's validator plus the coding), its Last-Modified; ranges
 * and conditionals apply to it.
 *
 * On the fly: gzip_types files of gzip_min_length..gzip_cache_max_file
 * bytes are compressed in one call to zlib and kept in the worker's
 * compress_cache, keyed by the file's identity; later requests copy the
 * bytes. Never for a range request (the identity answers it), never when a
 * sibling answers, never above gzip_cache_max_file: a larger file would
 * hold the worker for tens of milliseconds per MiB, so it goes uncompressed
 * (precompress it). The ETag is weak, W/"<file's>-gzip": zlib's output for
 * the same bytes can change with the level or the library version.
 *
 * Vary: Accept-Encoding is on every answer for a file that has another
 * variant, the identity one included, so a shared cache never hands gzip to
 * a client that did not ask for it.
 */
#include "compress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "compress_cache.h"
#include "conn.h"
#include "filecache.h"
#include "http1.h"
#include "httpdate.h"
#include "server.h"
#include "static.h"
#include "stats.h"

static const char *const compress_sibling_ext[ACCEPT_IDENTITY] = {
    [ACCEPT_BR] = ".br",
    [ACCEPT_GZIP] = ".gz",
};

void compress_read_accept(const struct conn *c, struct accept_encoding *ae)
{
    const struct http1_request *req = conn_request(c);
    const char *buf = conn_request_buf(c);
    accept_encoding_init(ae);
    for (uint32_t i = 0; i < req->field_count; i++)
        if (http1_slice_equals(buf, req->fields[i].name, "accept-encoding"))
            accept_encoding_add(ae, buf + req->fields[i].value.off, req->fields[i].value.len);
}

/* Is type (as mime_lookup gives it) in the space-separated list? Entries
 * are "type/subtype", "type/" followed by a star, or a star alone. */
static bool compress_type_listed(const char *list, const char *type)
{
    size_t tlen = strlen(type);
    const char *slash = strchr(type, '/');
    size_t major = slash ? (size_t)(slash - type) + 1 : tlen;
    for (const char *p = list; p && *p;) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if ((n == 1 && p[0] == '*') || (n == tlen && strncasecmp(p, type, n) == 0) ||
            (n == major + 1 && p[n - 1] == '*' && strncasecmp(p, type, major) == 0))
            return true;
        p = sp ? sp + 1 : NULL;
    }
    return false;
}

static bool compress_not_older(const struct stat *sib, const struct stat *st)
{
    return sib->st_mtim.tv_sec > st->st_mtim.tv_sec ||
           (sib->st_mtim.tv_sec == st->st_mtim.tv_sec &&
            sib->st_mtim.tv_nsec >= st->st_mtim.tv_nsec);
}

unsigned compress_variants(struct conn *c, const struct config_location *loc, const char *rel,
                           size_t rel_len, const struct stat *st, const char *type,
                           struct compress_sibling sib[ACCEPT_IDENTITY])
{
    const struct server *srv = conn_server(c);
    unsigned variants = 0;
    for (unsigned k = 0; k < ACCEPT_IDENTITY; k++) {
        sib[k].fd = -1;
        if (!(loc->precompressed & (1u << k)))
            continue;
        char name[PATH_MAX];
        int n = snprintf(name, sizeof name, "%.*s%s", (int)rel_len - 1, rel + 1,
                         compress_sibling_ext[k]);
        if (n < 0 || (size_t)n >= sizeof name)
            continue;
        int fd = static_open_beneath(srv->root_fd, name, O_RDONLY | O_NOCTTY);
        if (fd < 0)
            continue; /* none, or unreadable: the file answers */
        if (fstat(fd, &sib[k].st) < 0 || !S_ISREG(sib[k].st.st_mode) ||
            !compress_not_older(&sib[k].st, st)) {
            close(fd);
            continue;
        }
        sib[k].fd = fd;
        variants |= 1u << k;
    }
    uint64_t size = (uint64_t)st->st_size;
    if (loc->gzip && size >= loc->gzip_min_length && size <= srv->cfg->gzip_cache_max_file &&
        compress_type_listed(loc->gzip_types, type))
        variants |= COMPRESS_DYNAMIC;
    return variants;
}

void compress_close_siblings(struct compress_sibling sib[ACCEPT_IDENTITY])
{
    for (unsigned k = 0; k < ACCEPT_IDENTITY; k++) {
        if (sib[k].fd >= 0)
            close(sib[k].fd);
        sib[k].fd = -1;
    }
}

enum accept_coding compress_choose(const struct accept_encoding *ae, unsigned variants,
                                   bool range, bool *dynamic)
{
    unsigned offered = variants & COMPRESS_SIBLINGS;
    if ((variants & COMPRESS_DYNAMIC) && !range)
        offered |= 1u << ACCEPT_GZIP;
    enum accept_coding coding = accept_encoding_choose(ae, offered);
    *dynamic = coding == ACCEPT_GZIP && !(variants & (1u << ACCEPT_GZIP));
    return coding;
}

size_t compress_sibling_key(const char *path, size_t len, enum accept_coding coding, char *out,
                            size_t cap)
{
    int n = snprintf(out, cap, "%.*s\n%s", (int)len, path, accept_coding_name(coding));
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t compress_sibling_etag(const struct stat *st, enum accept_coding coding, char *out,
                             size_t cap)
{
    char tag[64];
    size_t n = static_format_etag(st, tag, sizeof tag); /* "\"...\"" */
    int w = snprintf(out, cap, "%.*s-%s\"", (int)(n ? n - 1 : 0), tag,
                     accept_coding_name(coding));
    return w < 0 || (size_t)w >= cap ? 0 : (size_t)w;
}

size_t compress_head_lines(const struct compress_answer *a, bool with_encoding, char *out,
                           size_t cap)
{
    int n = snprintf(out, cap, "%s%s%s%s",
                     with_encoding && a->coding != ACCEPT_IDENTITY ? "Content-Encoding: " : "",
                     with_encoding && a->coding != ACCEPT_IDENTITY
                         ? accept_coding_name(a->coding) : "",
                     with_encoding && a->coding != ACCEPT_IDENTITY ? "\r\n" : "",
                     a->vary ? "Vary: Accept-Encoding\r\n" : "");
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* gzip (RFC 1952) of in[0..len) at level into a malloc'ed buffer; NULL if
 * zlib or memory fails. One deflate call: the input is bounded by
 * gzip_cache_max_file. */
static char *compress_gzip(const char *in, size_t len, int level, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 16: the largest window, with a gzip header and trailer */
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong bound = deflateBound(&z, (uLong)len);
    char *out = malloc(bound);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* The worker's cache counters into its status row. */
static void compress_note_counts(struct server *srv)
{
    if (!srv->gzips)
        return;
    struct compress_cache_counts k = compress_cache_counts(srv->gzips);
    __atomic_store_n(&srv->stats->gzip_cache_hits, k.hits, __ATOMIC_RELAXED);
    __atomic_store_n(&srv->stats->gzip_cache_misses, k.misses, __ATOMIC_RELAXED);
    __atomic_store_n(&srv->stats->gzip_cache_evictions, k.evictions, __ATOMIC_RELAXED);
    __atomic_store_n(&srv->stats->gzip_cache_bytes, k.bytes, __ATOMIC_RELAXED);
}

/* Compress the file and keep it: the entry, or *tmp filled (pointing into
 * *owned, which the caller frees) when the cache is off or full. */
static const struct compress_cache_entry *
compress_make(struct server *srv, const struct config_location *loc, const struct stat *st,
              const char *type, const char *etag, size_t etag_len, const char *body, int fd,
              struct compress_cache_entry *tmp, char **owned)
{
    char *file = NULL;
    size_t size = (size_t)st->st_size;
    if (!body) {
        file = malloc(size ? size : 1);
        if (!file || pread(fd, file, size, 0) != (ssize_t)size) {
            free(file); /* unreadable, or changed under us */
            return NULL;
        }
        body = file;
    }
    size_t zlen;
    char *z = compress_gzip(body, size, (int)loc->gzip_level, &zlen);
    free(file);
    if (!z)
        return NULL;
    char tag[80], lm[HTTPDATE_LEN + 1], head[512];
    int tn = snprintf(tag, sizeof tag, "W/%.*s-gzip\"", (int)(etag_len ? etag_len - 1 : 0),
                      etag);
    httpdate_format(st->st_mtim.tv_sec, lm);
    int hn = snprintf(head, sizeof head,
                      "Content-Type: %s\r\nLast-Modified: %s\r\nETag: %s\r\n"
                      "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n",
                      type, lm, tag);
    if (tn < 0 || (size_t)tn >= sizeof tag || hn < 0 || (size_t)hn >= sizeof head) {
        free(z);
        return NULL;
    }
    const struct compress_cache_entry *e = NULL;
    if (srv->gzips)
        e = compress_cache_store(srv->gzips, st, loc->gzip_level, head, (size_t)hn, tag,
                                 (size_t)tn, z, zlen);
    if (e) {
        free(z);
        return e;
    }
    /* Not kept: answer from our own buffer, head and tag included. */
    char *all = realloc(z, zlen + (size_t)hn + (size_t)tn);
    if (!all) {
        free(z);
        return NULL;
    }
    memcpy(all + zlen, head, (size_t)hn);
    memcpy(all + zlen + hn, tag, (size_t)tn);
    *owned = all;
    *tmp = (struct compress_cache_entry){
        .head = all + zlen, .head_len = (size_t)hn, .etag = all + zlen + hn,
        .etag_len = (size_t)tn, .body = all, .body_len = zlen,
    };
    return tmp;
}

void compress_send_dynamic(struct conn *c, const struct config_location *loc,
                           const struct stat *st, const char *type, const char *etag,
                           size_t etag_len, const char *body, int fd)
{
    struct server *srv = conn_server(c);
    struct compress_cache_entry tmp;
    char *owned = NULL;
    const struct compress_cache_entry *e =
        srv->gzips ? compress_cache_find(srv->gzips, st, loc->gzip_level) : NULL;
    if (!e)
        e = compress_make(srv, loc, st, type, etag, etag_len, body, fd, &tmp, &owned);
    compress_note_counts(srv);
    if (!e) {
        conn_resp_error(c, 500, NULL);
        return;
    }
    /* The tag is weak: If-Match compares strongly and never matches it
     * (RFC 9110 §13.1.1) unless it is "*"; If-None-Match compares the
     * opaque part, after W/. */
    const struct http1_request *req = conn_request(c);
    const char *buf = conn_request_buf(c);
    int pre = req->if_match.len && !(req->if_match.len == 1 && buf[req->if_match.off] == '*')
                  ? 412
                  : static_check_preconditions(req, buf, st, e->etag + 2, e->etag_len - 2,
                                               true);
    if (pre == 304) {
        char lm[HTTPDATE_LEN + 1];
        httpdate_format(st->st_mtim.tv_sec, lm);
        conn_resp_begin(c, 304);
        conn_resp_field(c, "Last-Modified", lm, HTTPDATE_LEN);
        conn_resp_field(c, "ETag", e->etag, e->etag_len);
        conn_resp_raw(c, "Vary: Accept-Encoding\r\n", 23);
        conn_resp_end(c, -1);
    } else if (pre) {
        conn_resp_error(c, pre, NULL);
    } else {
        conn_resp_begin(c, 200);
        conn_resp_raw(c, e->head, e->head_len);
        conn_resp_end(c, (int64_t)e->body_len);
        conn_resp_body(c, e->body, e->body_len);
    }
    free(owned);
}

const struct filecache_entry *compress_pick_cached(struct conn *c,
                                                   const struct config_location *loc,
                                                   const struct accept_encoding *ae,
                                                   const char *path, size_t len,
                                                   const struct filecache_entry *e,
                                                   bool *answered)
{
    struct server *srv = conn_server(c);
    bool dynamic;
    *answered = false;
    enum accept_coding coding = compress_choose(ae, e->variants, false, &dynamic);
    if (coding == ACCEPT_IDENTITY)
        return e;
    if (dynamic) {
        compress_send_dynamic(c, loc, &e->st, e->type, e->etag, e->etag_len, e->body, -1);
        *answered = true;
        return NULL;
    }
    char key[PATH_MAX + 16];
    size_t klen = compress_sibling_key(path, len, coding, key, sizeof key);
    const struct filecache_entry *s = klen ? filecache_find(srv->files, key, klen) : NULL;
    if (s && conn_now_ms(c) - s->checked_ms < srv->cfg->file_cache_valid_ms)
        return s;
    return NULL;
}
