/* static — GET and HEAD of files under the document root.
 *
 * Every open is beneath the root: openat2(RESOLVE_BENEATH) where the kernel
 * has it, so no "..", absolute symlink or magic link can leave the tree;
 * on older kernels a walk that opens one component at a time with
 * O_NOFOLLOW (refusing every symlink). Validators are a strong ETag from
 * mtime and size and Last-Modified; conditionals follow RFC 9110 §13.2.2's
 * order; Range gives 206 (one span from the file by sendfile; several as
 * multipart/byteranges built in memory, or the whole file if that would be
 * large). Small files are read into the output queue so head and body
 * leave in one send; larger ones go by sendfile.
 *
 * Where the location turns them on, compress.c says which representation
 * answers (the file, a .br/.gz sibling served here like any file, or gzip
 * it makes and answers itself), and autoindex.c lists a directory that has
 * no index file; elsewhere neither is called.
 */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "autoindex.h"
#include "compress.h"
#include "conn.h"
#include "http1.h"
#include "httpdate.h"
#include "mime.h"
#include "filecache.h"
#include "range.h"
#include "redirect.h"
#include "server.h"
#include "upload.h"

/* Files up to this size are copied into the response (one send for head
 * and body) rather than sent with sendfile (a second syscall). */
#define STATIC_INLINE_MAX (16 * 1024)
#define STATIC_RANGES_CAP 64

/* -1 unknown, 0 no, 1 yes; read and written with relaxed atomics: upload
 * directories are also opened on the I/O threads. */
static int static_have_openat2 = -1;

/* Open rel (no leading '/') beneath dirfd with a per-component walk that
 * refuses symlinks: the fallback where openat2 is missing. */
static int static_open_walk(int dirfd, const char *rel, int flags)
{
    char part[256];
    int cur = dirfd;
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n >= sizeof part) {
            if (cur != dirfd)
                close(cur);
            return -ENAMETOOLONG;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        bool last = !slash || slash[1] == '\0';
        int fd = openat(cur, n ? part : ".",
                        last ? flags | O_NOFOLLOW : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        if (cur != dirfd)
            close(cur);
        if (fd < 0)
            return -e;
        if (last)
            return fd;
        cur = fd;
        p = slash + 1;
    }
}

int static_open_beneath(int dirfd, const char *rel, int flags)
{
    if (rel[0] == '\0')
        rel = ".";
    if (__atomic_load_n(&static_have_openat2, __ATOMIC_RELAXED) != 0) {
        struct open_how how = {
            .flags = (uint64_t)(unsigned)(flags | O_CLOEXEC),
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
        if (fd >= 0) {
            __atomic_store_n(&static_have_openat2, 1, __ATOMIC_RELAXED);
            return (int)fd;
        }
        if (errno != ENOSYS)
            return errno == EXDEV ? -ENOENT : -errno; /* EXDEV: it tried to leave */
        __atomic_store_n(&static_have_openat2, 0, __ATOMIC_RELAXED);
    }
    return static_open_walk(dirfd, rel, flags | O_CLOEXEC);
}

/* The open of a file to serve, tried again if shedding a lingering
 * connection freed a descriptor (server_retry_open). O_NONBLOCK: opening a
 * named pipe would otherwise wait for a writer, holding the worker; it is
 * refused after fstat like any other file that is not regular (the flag
 * changes nothing for regular files and directories). */
static int static_open_serving(struct server *srv, int dirfd, const char *rel)
{
    const int flags = O_RDONLY | O_NOCTTY | O_NONBLOCK;
    int fd = static_open_beneath(dirfd, rel, flags);
    if (fd < 0 && server_retry_open(srv, fd))
        fd = static_open_beneath(dirfd, rel, flags);
    return fd;
}

int static_status_for_errno(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case EPERM:
        return 403;
    case EMFILE: /* out of descriptors or memory for now: try again soon */
    case ENFILE:
    case ENOMEM:
        return 503;
    default:
        return 500;
    }
}

size_t static_format_etag(const struct stat *st, char *out, size_t cap)
{
    /* Nanoseconds too: an upload that replaces a file with one of the same
     * size in the same second must still change the validator. */
    int n = snprintf(out, cap, "\"%" PRIx64 ".%" PRIx64 "-%" PRIx64 "\"",
                     (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec,
                     (uint64_t)st->st_size);
    return n < 0 ? 0 : (size_t)n;
}

/* Does the field list[0..len) (entity-tags, or "*") match etag? Weak
 * comparison ignores W/ (If-None-Match); strong needs both strong (If-Match). */
bool static_etag_matches(const char *list, size_t len, const char *etag, size_t etag_len,
                         bool weak)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
            i++;
        if (i >= len)
            break;
        if (list[i] == '*')
            return true;
        bool is_weak = false;
        if (i + 1 < len && list[i] == 'W' && list[i + 1] == '/') {
            is_weak = true;
            i += 2;
        }
        if (i >= len || list[i] != '"')
            return false; /* malformed: no match */
        size_t start = i++;
        while (i < len && list[i] != '"')
            i++;
        if (i >= len)
            return false;
        i++;
        size_t tlen = i - start;
        if ((weak || !is_weak) && tlen == etag_len && memcmp(list + start, etag, tlen) == 0)
            return true;
    }
    return false;
}

static bool static_date_field(const char *buf, struct http1_slice s, time_t *t)
{
    return s.len && httpdate_parse(buf + s.off, s.len, t);
}

/* RFC 9110 §13.2.2. Returns 0 to go on, or the status to answer (304, 412). */
int static_check_preconditions(const struct http1_request *req, const char *buf,
                               const struct stat *st, const char *etag, size_t etag_len,
                               bool exists)
{
    time_t t;
    bool get_or_head = req->method == HTTP1_METHOD_GET || req->method == HTTP1_METHOD_HEAD;
    if (req->if_match.len) {
        if (!exists ||
            !static_etag_matches(buf + req->if_match.off, req->if_match.len, etag, etag_len, false))
            return 412;
    } else if (exists && static_date_field(buf, req->if_unmodified_since, &t)) {
        if (st->st_mtim.tv_sec > t)
            return 412;
    }
    if (req->if_none_match.len) {
        if (exists && static_etag_matches(buf + req->if_none_match.off, req->if_none_match.len,
                                          etag, etag_len, true))
            return get_or_head ? 304 : 412;
    } else if (get_or_head && exists && static_date_field(buf, req->if_modified_since, &t)) {
        if (st->st_mtim.tv_sec <= t)
            return 304;
    }
    return 0;
}

/* If-Range (RFC 9110 §13.1.5): the Range applies only if the validator is
 * current: a strong ETag equal to ours, or exactly our Last-Modified. */
static bool static_if_range_holds(const struct http1_request *req, const char *buf,
                                  const struct stat *st, const char *etag, size_t etag_len)
{
    if (!req->if_range.len)
        return true;
    const char *v = buf + req->if_range.off;
    if (v[0] == '"' || (req->if_range.len > 2 && v[0] == 'W' && v[1] == '/'))
        return static_etag_matches(v, req->if_range.len, etag, etag_len, false);
    time_t t;
    return httpdate_parse(v, req->if_range.len, &t) && t == st->st_mtim.tv_sec;
}

/* Last-Modified, ETag and, from compress.c's answer ca (NULL: none),
 * Content-Encoding (with_encoding: not on a 304) and Vary. */
static void static_validators(struct conn *c, const struct stat *st, const char *etag,
                              size_t etag_len, const struct compress_answer *ca,
                              bool with_encoding)
{
    char date[HTTPDATE_LEN + 1];
    httpdate_format(st->st_mtim.tv_sec, date);
    conn_resp_field(c, "Last-Modified", date, HTTPDATE_LEN);
    conn_resp_field(c, "ETag", etag, etag_len);
    if (ca && (ca->vary || (with_encoding && ca->coding != ACCEPT_IDENTITY))) {
        char lines[96];
        conn_resp_raw(c, lines, compress_head_lines(ca, with_encoding, lines, sizeof lines));
    }
}

static void static_send_whole(struct conn *c, int fd, const struct stat *st, const char *type,
                              const char *etag, size_t etag_len,
                              const struct compress_answer *ca)
{
    uint64_t size = (uint64_t)st->st_size;
    conn_resp_begin(c, 200);
    conn_resp_field(c, "Content-Type", type, strlen(type));
    static_validators(c, st, etag, etag_len, ca, true);
    conn_resp_raw(c, "Accept-Ranges: bytes\r\n", 22);
    conn_resp_end(c, (int64_t)size);
    if (conn_request(c)->method == HTTP1_METHOD_HEAD) {
        close(fd);
        return;
    }
    if (size <= STATIC_INLINE_MAX) {
        char body[STATIC_INLINE_MAX];
        ssize_t n = pread(fd, body, (size_t)size, 0);
        close(fd);
        if (n != (ssize_t)size) {
            /* The file changed under us; the length is already sent. */
            conn_want_close(c, CONN_CLOSE_ERROR);
            if (n > 0)
                conn_resp_body(c, body, (size_t)n);
            return;
        }
        conn_resp_body(c, body, (size_t)n);
        return;
    }
    conn_resp_file(c, fd, 0, size);
}

static void static_send_range(struct conn *c, int fd, const struct stat *st, const char *type,
                              const char *etag, size_t etag_len,
                              const struct compress_answer *ca, struct range_span sp)
{
    char cr[96];
    int n = snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, sp.first, sp.last,
                     (uint64_t)st->st_size);
    conn_resp_begin(c, 206);
    conn_resp_field(c, "Content-Type", type, strlen(type));
    conn_resp_field(c, "Content-Range", cr, (size_t)n);
    static_validators(c, st, etag, etag_len, ca, true);
    conn_resp_end(c, (int64_t)(sp.last - sp.first + 1));
    conn_resp_file(c, fd, sp.first, sp.last - sp.first + 1);
}

/* multipart/byteranges (RFC 9110 §14.6), built in memory for this one
 * response. Returns false (nothing sent) if it would be larger than
 * multipart_max_bytes: the caller then sends the whole file (§14.2 lets a
 * server ignore Range), so many small ranges cannot cost unbounded memory. */
static bool static_send_multipart(struct conn *c, int fd, const struct stat *st,
                                  const char *type, const char *etag, size_t etag_len,
                                  const struct compress_answer *ca,
                                  const struct range_span *sp, size_t n)
{
    static const char part_fmt[] = "\r\n--%s\r\nContent-Type: %s\r\n"
                                   "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64
                                   "\r\n\r\n";
    uint64_t max = conn_server(c)->cfg->multipart_max_bytes;
    char boundary[40];
    snprintf(boundary, sizeof boundary, "lingerd-%016" PRIx64,
             (uint64_t)st->st_mtim.tv_nsec ^ ((uint64_t)st->st_ino << 20) ^ (uint64_t)st->st_size);
    /* The exact length first: the parts' heads, their bytes, the closing line. */
    uint64_t total = 0;
    for (size_t i = 0; i < n && total <= max; i++) {
        int h = snprintf(NULL, 0, part_fmt, boundary, type, sp[i].first, sp[i].last,
                         (uint64_t)st->st_size);
        if (h < 0)
            return false;
        total += (uint64_t)h + (sp[i].last - sp[i].first + 1);
    }
    total += strlen(boundary) + 8; /* "\r\n--" boundary "--\r\n" */
    if (total > max)
        return false;
    char *body = malloc((size_t)total + 1);
    if (!body)
        return false;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t part = (size_t)(sp[i].last - sp[i].first + 1);
        len += (size_t)snprintf(body + len, (size_t)total + 1 - len, part_fmt, boundary, type,
                                sp[i].first, sp[i].last, (uint64_t)st->st_size);
        if (pread(fd, body + len, part, (off_t)sp[i].first) != (ssize_t)part) {
            free(body); /* the file changed under us: send it whole instead */
            return false;
        }
        len += part;
    }
    len += (size_t)snprintf(body + len, (size_t)total + 1 - len, "\r\n--%s--\r\n", boundary);
    char ct[96];
    int ctn = snprintf(ct, sizeof ct, "multipart/byteranges; boundary=%s", boundary);
    conn_resp_begin(c, 206);
    conn_resp_field(c, "Content-Type", ct, (size_t)ctn);
    static_validators(c, st, etag, etag_len, ca, true);
    conn_resp_end(c, (int64_t)len);
    conn_resp_body(c, body, len);
    free(body);
    close(fd);
    return true;
}

/* Answer from the file cache: the same validators and conditionals as a
 * file on disk, with the head fragment and body copied from memory. */
static void static_send_cached(struct conn *c, const struct filecache_entry *e)
{
    const struct http1_request *req = conn_request(c);
    int pre = static_check_preconditions(req, conn_request_buf(c), &e->st, e->etag,
                                         e->etag_len, true);
    if (pre == 304) {
        struct compress_answer ca = { ACCEPT_IDENTITY, e->variants != 0 };
        conn_resp_begin(c, 304);
        static_validators(c, &e->st, e->etag, e->etag_len, &ca, false);
        conn_resp_end(c, -1);
        return;
    }
    if (pre) {
        conn_resp_error(c, pre, NULL);
        return;
    }
    conn_resp_begin(c, 200);
    conn_resp_raw(c, e->head, e->head_len);
    conn_resp_end(c, (int64_t)e->body_len);
    conn_resp_body(c, e->body, e->body_len);
}

/* A directory asked for without its trailing slash: 301 to PATH/ with the
 * query kept (relative links inside resolve against the slash). The path
 * was decoded, so it is encoded again (redirect.c); absolute_redirect adds
 * the scheme and the Host as sent, both checked by the parser. */
static void static_redirect_dir(struct conn *c, const struct config_location *loc,
                                const char *path, size_t len)
{
    const struct http1_request *req = conn_request(c);
    const char *buf = conn_request_buf(c);
    size_t cap = 3 * len + req->host.len + req->query.len + 64;
    char *extra = malloc(cap), *enc = malloc(3 * len + 1);
    if (!extra || !enc || redirect_encode_path(path, len, enc, 3 * len + 1) == 0) {
        free(extra);
        free(enc);
        conn_resp_error(c, 500, NULL);
        return;
    }
    if (loc->absolute_redirect && req->host.len)
        snprintf(extra, cap, "Location: %s://%.*s%s/%s%.*s\r\n", conn_is_tls(c) ? "https" : "http",
                 (int)req->host.len, buf + req->host.off, enc, req->query.len ? "?" : "",
                 (int)req->query.len, buf + req->query.off);
    else
        snprintf(extra, cap, "Location: %s/%s%.*s\r\n", enc, req->query.len ? "?" : "",
                 (int)req->query.len, buf + req->query.off);
    conn_resp_error(c, 301, extra);
    free(extra);
    free(enc);
}

/* The file cache's entry for key (the request path, or a sibling's key):
 * the cached one if it is still this file with these variants, else a new
 * one read from fd. NULL when the file is too large or memory runs out. */
static const struct filecache_entry *
static_cache_file(struct conn *c, struct filecache *files, const char *key, size_t key_len,
                  int fd, const struct stat *st, const char *type, const char *etag,
                  size_t etag_len, const struct compress_answer *ca, unsigned variants)
{
    struct server *srv = conn_server(c);
    if ((uint64_t)st->st_size > srv->cfg->file_cache_file_max_bytes)
        return NULL;
    const struct filecache_entry *e = filecache_find(files, key, key_len);
    if (e && filecache_same_file(e, st) && e->variants == variants) {
        filecache_touch(files, e, conn_now_ms(c));
        return e;
    }
    char extra[96] = "";
    if (ca)
        compress_head_lines(ca, true, extra, sizeof extra);
    return filecache_store(files, key, key_len, fd, st, type, etag, etag_len, extra,
                           variants, conn_now_ms(c));
}

/* fallback: a GET or HEAD of something missing (404) is answered with the
 * location's fallback file instead, as try_files $uri /index.html. The
 * fallback is served under the same location, never looked up again: its
 * own absence (path is the fallback) is the 404, so there is no loop. */
static bool static_try_fallback(struct conn *c, const struct config_location *loc,
                                const char *path, int status)
{
    if (status != 404 || !loc->fallback || strcmp(path, loc->fallback) == 0)
        return false;
    static_get(c, loc, loc->fallback, strlen(loc->fallback));
    return true;
}

void static_get(struct conn *c, const struct config_location *loc, const char *path,
                size_t path_len)
{
    struct server *srv = conn_server(c);
    struct server_site *site = server_site_of(srv, loc);
    const char *index = srv->cfg->sites[loc->site]->index;
    const struct http1_request *req = conn_request(c);
    const char *buf = conn_request_buf(c);

    /* An upload in progress lives in ".lingerd-put-*" beside its target;
     * nobody may read a half-written body. */
    const char *base = strrchr(path, '/');
    if (base && strncmp(base + 1, UPLOAD_RESERVED_PREFIX, strlen(UPLOAD_RESERVED_PREFIX)) == 0) {
        conn_resp_error(c, 404, NULL);
        return;
    }
    /* Whole-file GET and HEAD may come from the cache (ranges go to disk),
     * but never where uploads can change files: every worker has its own
     * cache, and only a read-only tree may be a second stale. */
    const unsigned writes = (1u << HTTP1_METHOD_PUT) | (1u << HTTP1_METHOD_POST) |
                            (1u << HTTP1_METHOD_DELETE);
    bool cacheable = site->files && !req->range.len && !(loc->methods & writes);
    /* Compression (compress.c) only where the location turns it on. */
    bool compress = compress_is_on(loc);
    struct accept_encoding ae;
    if (compress)
        compress_read_accept(c, &ae);
    if (cacheable) {
        const struct filecache_entry *e = filecache_find(site->files, path, path_len);
        if (e && conn_now_ms(c) - e->checked_ms < srv->cfg->file_cache_valid_ms) {
            bool answered = false;
            if (compress)
                e = compress_pick_cached(c, loc, &ae, path, path_len, e, &answered);
            if (answered)
                return;
            if (e) {
                static_send_cached(c, e);
                return;
            }
        }
    }
    int fd = static_open_serving(srv, site->root_fd, path + 1);
    if (fd < 0) {
        if (!static_try_fallback(c, loc, path, static_status_for_errno(-fd)))
            conn_resp_error(c, static_status_for_errno(-fd), NULL);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        conn_resp_error(c, 500, NULL);
        return;
    }
    const char *name = path;
    size_t name_len = path_len;
    char file_path[PATH_MAX]; /* the index file's path, for its siblings */
    const char *rel = path;
    size_t rel_len = path_len;
    if (S_ISDIR(st.st_mode)) {
        if (path[path_len - 1] != '/') {
            close(fd);
            static_redirect_dir(c, loc, path, path_len);
            return;
        }
        int ifd = static_open_serving(srv, fd, index);
        if (ifd == -ENOENT && loc->autoindex) {
            autoindex_answer(c, loc, fd, path, path_len); /* takes fd */
            return;
        }
        close(fd);
        if (ifd < 0) {
            if (!static_try_fallback(c, loc, path, static_status_for_errno(-ifd)))
                conn_resp_error(c, static_status_for_errno(-ifd), NULL);
            return;
        }
        fd = ifd;
        if (fstat(fd, &st) < 0) {
            close(fd);
            conn_resp_error(c, 500, NULL);
            return;
        }
        name = index;
        name_len = strlen(name);
        int n = snprintf(file_path, sizeof file_path, "%s%s", path, name);
        rel = file_path;
        rel_len = n > 0 && (size_t)n < sizeof file_path ? (size_t)n : 0;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        conn_resp_error(c, 403, NULL);
        return;
    }

    const char *type = mime_lookup_or(srv->mime, name, name_len, loc->default_type);
    char etag[64];
    size_t etag_len = static_format_etag(&st, etag, sizeof etag);
    struct compress_answer ca = { ACCEPT_IDENTITY, false };
    unsigned variants = 0;
    char key[PATH_MAX + 16];
    const char *cache_key = path;
    size_t cache_key_len = path_len;
    if (compress && rel_len) {
        struct compress_sibling sib[ACCEPT_IDENTITY];
        bool dynamic;
        variants = compress_variants(c, loc, rel, rel_len, &st, type, sib);
        ca.coding = compress_choose(&ae, variants, req->range.len != 0, &dynamic);
        ca.vary = variants != 0;
        const char *cached_body = NULL; /* the file's bytes, if now in memory */
        if (ca.coding != ACCEPT_IDENTITY && cacheable) {
            /* Keep the file itself with its variants, so that the next
             * request is answered from memory (compress_pick_cached). */
            struct compress_answer ica = { ACCEPT_IDENTITY, ca.vary };
            const struct filecache_entry *e =
                static_cache_file(c, site->files, path, path_len, fd, &st, type, etag,
                                  etag_len, &ica, variants);
            cached_body = e ? e->body : NULL;
        }
        if (dynamic) {
            compress_close_siblings(sib);
            compress_send_dynamic(c, loc, &st, type, etag, etag_len, cached_body, fd);
            close(fd);
            return;
        }
        if (ca.coding != ACCEPT_IDENTITY) {
            close(fd);
            fd = sib[ca.coding].fd;
            st = sib[ca.coding].st;
            sib[ca.coding].fd = -1;
            etag_len = compress_sibling_etag(&st, ca.coding, etag, sizeof etag);
            cache_key_len = compress_sibling_key(path, path_len, ca.coding, key, sizeof key);
            cache_key = key;
            cacheable = cacheable && cache_key_len;
        }
        compress_close_siblings(sib);
    }
    if (cacheable) {
        const struct filecache_entry *e =
            static_cache_file(c, site->files, cache_key, cache_key_len, fd, &st, type, etag,
                              etag_len, &ca, variants);
        if (e) {
            close(fd);
            static_send_cached(c, e);
            return;
        }
    }
    int pre = static_check_preconditions(req, buf, &st, etag, etag_len, true);
    if (pre == 304) {
        close(fd);
        conn_resp_begin(c, 304);
        static_validators(c, &st, etag, etag_len, &ca, false);
        conn_resp_end(c, -1);
        return;
    }
    if (pre) {
        close(fd);
        conn_resp_error(c, pre, NULL);
        return;
    }

    if (req->method == HTTP1_METHOD_GET && req->range.len &&
        static_if_range_holds(req, buf, &st, etag, etag_len)) {
        struct range_span spans[STATIC_RANGES_CAP];
        size_t cap = srv->cfg->ranges_max < STATIC_RANGES_CAP ? srv->cfg->ranges_max
                                                               : STATIC_RANGES_CAP;
        size_t n = 0;
        enum range_rc rc = range_parse(buf + req->range.off, req->range.len,
                                       (uint64_t)st.st_size, spans, cap, &n);
        if (rc == RANGE_UNSATISFIABLE) {
            close(fd);
            char extra[96];
            char vary[32];
            struct compress_answer va = { ACCEPT_IDENTITY, ca.vary };
            compress_head_lines(&va, false, vary, sizeof vary);
            snprintf(extra, sizeof extra, "Content-Range: bytes */%" PRIu64 "\r\n%s",
                     (uint64_t)st.st_size, vary);
            conn_resp_error(c, 416, extra);
            return;
        }
        if (rc == RANGE_OK && n == 1) {
            static_send_range(c, fd, &st, type, etag, etag_len, &ca, spans[0]);
            return;
        }
        /* Parts of a compressed sibling would need their coding per part,
         * which multipart/byteranges cannot say: the whole sibling instead. */
        if (rc == RANGE_OK && n > 1 && ca.coding == ACCEPT_IDENTITY &&
            static_send_multipart(c, fd, &st, type, etag, etag_len, &ca, spans, n))
            return;
    }
    static_send_whole(c, fd, &st, type, etag, etag_len, &ca);
}
