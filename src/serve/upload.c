/* upload — PUT, POST and DELETE of files beneath the document root: the
 * checks of the path and the head, the directories, and DELETE.
 *
 * A PUT or POST is checked here (the name, the location, preconditions,
 * the size from the head), its directory opened, and then handed to
 * upload_store.c, which receives the body into a temporary file and
 * commits it (fsync, rename, directory fsync) on the worker's I/O threads.
 * Any failure before the rename (client gone, body timeout, bad chunk, body
 * over body_max_bytes, disk full, a failed fsync) leaves the old file
 * intact and no temporary name behind. DELETE unlinks a file and fsyncs
 * its directory, on an I/O thread (the connection waits in WAIT_IO).
 *
 * Every status that refuses the request (400, 403, 409, 412, 413) is
 * decided from the head, before conn_read_body: that call is what sends
 * "100 Continue", and a refused upload must not invite its body.
 *
 * Invariants:
 *   - Nothing is resolved through a symlink. Directories are opened one
 *     component at a time with O_NOFOLLOW beneath the root, and the target
 *     itself is looked at with AT_SYMLINK_NOFOLLOW; a symlink anywhere on
 *     the way is refused with 403. New files and renames happen relative
 *     to the directory fd opened that way, one name at a time.
 *   - Names starting with ".lingerd-" are reserved for temporary files: no
 *     request may create, replace or delete one (403).
 *   - The upload area's own top (the location prefix) and the root are
 *     never replaced or deleted; directories are never replaced or deleted.
 *   - One struct upload per body being read: made here, owned by
 *     upload_store.c from upload_store_start on.
 *
 * Leaves out: Content-Range on PUT (RFC 9110 §14.5: not supported, the
 * header is ignored) and preconditions on POST (a collection has no
 * validators here). The directories that create_dirs makes are made on an
 * I/O thread (upload_store.c's open job), like the body's file; opening
 * existing ones stays on the loop, as for a GET. DELETE's unlink and
 * directory fsync run on an I/O thread like an upload's commit.
 */
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "http1.h"
#include "log.h"
#include "server.h"
#include "static.h"
#include "upload_internal.h"

/* Directories made by create_dirs (the umask still applies). */
#define UPLOAD_DIR_MODE 0755

/* ---- names ---- */

int upload_check_path(const char *rel, size_t len)
{
    static const size_t reserved_len = sizeof UPLOAD_RESERVED_PREFIX - 1;
    int verdict = 0;
    size_t i = 0;

    if (len == 0)
        return 400;
    while (i <= len) {
        size_t start = i;
        for (; i < len && rel[i] != '/'; i++) {
            unsigned char ch = (unsigned char)rel[i];
            if (ch < 0x20 || ch == 0x7f)
                return 400;
        }
        size_t n = i - start;
        const char *name = rel + start;
        if (n == 0 || n > NAME_MAX || (n == 1 && name[0] == '.') ||
            (n == 2 && name[0] == '.' && name[1] == '.'))
            return 400;
        /* Keep scanning: a malformed path is 400 whatever else it names. */
        if (n >= reserved_len && memcmp(name, UPLOAD_RESERVED_PREFIX, reserved_len) == 0)
            verdict = 403;
        i++; /* past the '/' (or past the end, which ends the loop) */
    }
    return verdict;
}

/* Is path[0..len) (no trailing '/') the location's own top or the root? */
static bool upload_is_location_top(const struct config_location *loc, const char *path,
                                   size_t len)
{
    size_t top = loc->prefix_len;
    while (top > 0 && loc->prefix[top - 1] == '/')
        top--;
    while (len > 0 && path[len - 1] == '/')
        len--;
    return len <= top;
}

/* out = n random lowercase hex digits and a NUL. 0 or -errno. GRND_NONBLOCK:
 * the loop must not wait for entropy at early boot; it fails the request. */
int upload_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    size_t want = (n + 1) / 2;
    ssize_t got;

    if (want > sizeof raw)
        return -EINVAL;
    do
        got = getrandom(raw, want, GRND_NONBLOCK);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return -errno;
    if ((size_t)got != want)
        return -EIO;
    for (size_t i = 0; i < n; i++)
        out[i] = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[n] = '\0';
    return 0;
}

/* ---- statuses and logs ---- */

/* The status for an errno from writing, syncing, creating or renaming. */
int upload_status_for_errno(int err)
{
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return 507;
    case EFBIG:
        return 413; /* over the file system's or RLIMIT_FSIZE's size limit */
    case EACCES:
    case EPERM:
    case ELOOP:
        return 403;
    case EISDIR:
    case ENOTDIR:
    case ENOTEMPTY:
    case ENOENT: /* the directory went away while the body arrived */
        return 409;
    case EMFILE: /* out of descriptors or memory for now: try again soon */
    case ENFILE:
    case ENOMEM:
        return 503;
    default:
        return 500;
    }
}

/* The status for an errno from upload_open_dir. A missing directory on the
 * way is 409 for a PUT or POST (RFC 9110 §9.3.4: the client can fix it by
 * creating the parent first) and 404 for a DELETE (nothing is there). */
int upload_status_for_dir_errno(int err, bool for_delete)
{
    if (err == ENOENT || err == ENOTDIR)
        return for_delete ? 404 : 409;
    return upload_status_for_errno(err);
}

void upload_log(const struct conn *c, enum log_level level, const char *path, size_t len,
                const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char what[256];
    char where[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    log_escape(where, sizeof where, path, len);
    if (c)
        conn_log(c, level, "upload %s: %s", where, what);
    else
        log_write(level, "upload %s: %s", where, what);
}

/* ---- directories ---- */

/* Open the directory name in dir_fd, never following a symlink; with
 * create, make it first if it is missing. fd (O_RDONLY|O_DIRECTORY) or
 * -errno: -ENOENT missing, -ENOTDIR not a directory, -ELOOP a symlink. */
static int upload_open_subdir(int dir_fd, const char *name, bool create)
{
    int fd = static_open_beneath(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd == -ENOENT && create) {
        if (mkdirat(dir_fd, name, UPLOAD_DIR_MODE) == 0) {
            /* The new entry must survive a crash, or a later rename into
             * the new directory would be lost with it (on an I/O thread:
             * only the open job creates). */
            if (fsync(dir_fd) < 0)
                return -errno;
        } else if (errno != EEXIST) { /* EEXIST: a race, or a dangling symlink */
            return -errno;
        }
        fd = static_open_beneath(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    }
    if (fd == -ENOTDIR || fd == -ELOOP) {
        /* O_NOFOLLOW|O_DIRECTORY on a symlink gives one or the other
         * depending on the kernel path; say which it really is. */
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
    }
    return fd;
}

/* Open the directory rel[0..len) (relative to the root, names separated by
 * single '/'; empty for the root itself) one component at a time, so a
 * symlink anywhere on the way is refused (-ELOOP), never followed. With
 * create, missing components are made. fd or -errno. */
int upload_open_dir(int root_fd, const char *rel, size_t len, bool create)
{
    char name[NAME_MAX + 1];
    int cur = static_open_beneath(root_fd, "", O_RDONLY | O_DIRECTORY);
    size_t i = 0;

    while (cur >= 0 && i < len) {
        size_t start = i;
        while (i < len && rel[i] != '/')
            i++;
        size_t n = i - start;
        i++;
        if (n == 0)
            continue;
        if (n > NAME_MAX) {
            close(cur);
            return -ENAMETOOLONG;
        }
        memcpy(name, rel + start, n);
        name[n] = '\0';
        int fd = upload_open_subdir(cur, name, create);
        close(cur);
        cur = fd;
    }
    return cur;
}

/* Look at name in dir_fd without following it. 0 and *st for a regular
 * file, 404 if there is nothing, or the status that refuses it: 409 for a
 * directory, 403 for a symlink (never written or deleted through) or any
 * other kind of file, 500 for an error. */
int upload_stat_target(int dir_fd, const char *name, struct stat *st)
{
    if (fstatat(dir_fd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 404 : upload_status_for_errno(errno);
    if (S_ISREG(st->st_mode))
        return 0;
    return S_ISDIR(st->st_mode) ? 409 : 403;
}

bool upload_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* A refused upload, before its file exists: close the directory, free. */
static void upload_drop(struct upload *u)
{
    if (u->dir_fd >= 0)
        close(u->dir_fd);
    free(u);
}

/* ---- the handlers ---- */

/* Open the directory of u's target (path[1..1+dir_len)) on the loop, as a
 * GET opens a file. One that is missing, where create_dirs allows making
 * it, is left to the upload's open job on an I/O thread (mkdir and the
 * fsync of its parent wait for the disk): u->make_dirs. false, with the
 * status that refuses the request in *st, if it cannot be used. */
static bool upload_open_target_dir(struct conn *c, const struct config_location *loc,
                                   struct upload *u, int *st)
{
    u->root_fd = server_site_of(conn_server(c), loc)->root_fd;
    u->dir_fd = upload_open_dir(u->root_fd, u->path + 1, u->dir_len, false);
    if (u->dir_fd == -ENOENT && loc->create_dirs) {
        u->dir_fd = -1;
        u->make_dirs = true;
        return true;
    }
    if (u->dir_fd >= 0)
        return true;
    *st = upload_status_for_dir_errno(-u->dir_fd, false);
    if (*st == 500)
        upload_log(c, LOG_ERROR, u->path, u->path_len, "opening the %s: %s",
                   u->post ? "collection" : "directory", strerror(-u->dir_fd));
    return false;
}

/* A Content-Length over the location's limit is refused from the head; a
 * chunked body is capped by conn_body.c as it arrives. */
static bool upload_too_large(const struct http1_request *req, const struct config_location *loc)
{
    return req->framing == HTTP1_BODY_LENGTH && req->content_length > loc->body_max_bytes;
}

static struct upload *upload_new(const char *path, size_t len, size_t extra)
{
    struct upload *u = malloc(sizeof *u + len + extra + 1);
    if (!u)
        return NULL;
    memset(u, 0, sizeof *u);
    u->dir_fd = -1;
    u->tmp_fd = -1;
    u->pipe_rd[0] = u->pipe_rd[1] = u->pipe_wr[0] = u->pipe_wr[1] = -1;
    memcpy(u->path, path, len);
    u->path[len] = '\0';
    u->path_len = len;
    return u;
}

void upload_put(struct conn *c, const struct config_location *loc, const char *path, size_t len)
{
    const struct http1_request *req = conn_request(c);

    /* A path ending in '/' names a directory (a collection). 409, not 405:
     * PUT is allowed here, it is the target being a directory that
     * conflicts, and the client can fix that by naming a file. */
    if (path[len - 1] == '/') {
        conn_resp_error(c, 409, NULL);
        return;
    }
    if (upload_is_location_top(loc, path, len)) {
        conn_resp_error(c, 403, NULL);
        return;
    }
    int st = upload_check_path(path + 1, len - 1);
    if (st) {
        conn_resp_error(c, st, NULL);
        return;
    }
    if (upload_too_large(req, loc)) {
        conn_resp_error(c, 413, NULL);
        return;
    }

    struct upload *u = upload_new(path, len, 0);
    if (!u) {
        upload_log(c, LOG_ERROR, path, len, "out of memory");
        conn_resp_error(c, 500, NULL);
        return;
    }
    const char *slash = memrchr(path, '/', len);
    u->name_off = (size_t)(slash - path) + 1;
    u->dir_len = u->name_off - 1;
    if (!upload_open_target_dir(c, loc, u, &st))
        goto out_refuse;
    if (u->make_dirs) {
        st = 404; /* a directory to be made holds nothing yet */
    } else {
        st = upload_stat_target(u->dir_fd, u->path + u->name_off, &u->seen);
        if (st != 0 && st != 404)
            goto out_refuse;
    }
    u->existed = st == 0;
    char etag[48];
    size_t etag_len = u->existed ? static_format_etag(&u->seen, etag, sizeof etag) : 0;
    st = static_check_preconditions(req, conn_request_buf(c), &u->seen, etag, etag_len,
                                    u->existed);
    if (st) {
        st = 412; /* 304 is for GET and HEAD only (RFC 9110 §13.1.2) */
        goto out_refuse;
    }
    /* The head's slices are not valid once the body is read: keep the verdict. */
    u->conditional = req->if_match.len || req->if_none_match.len ||
                     req->if_unmodified_since.len;
    upload_store_start(c, loc, u);
    return;

out_refuse:
    conn_resp_error(c, st, NULL);
    upload_drop(u);
}

void upload_post(struct conn *c, const struct config_location *loc, const char *path, size_t len)
{
    const struct http1_request *req = conn_request(c);

    /* POST adds a member to a collection, named by a path ending in '/'.
     * Anything else is 409, not 405: POST is allowed in this location (an
     * Allow header could only repeat that), the target's state is what
     * conflicts, and the client can fix it by posting to the collection. */
    if (path[len - 1] != '/') {
        conn_resp_error(c, 409, NULL);
        return;
    }
    /* The collection relative to the root, no slashes around; empty for "/". */
    size_t dir_len = len >= 2 ? len - 2 : 0;
    int st = dir_len ? upload_check_path(path + 1, dir_len) : 0;
    if (st) {
        conn_resp_error(c, st, NULL);
        return;
    }
    if (upload_too_large(req, loc)) {
        conn_resp_error(c, 413, NULL);
        return;
    }

    struct upload *u = upload_new(path, len, UPLOAD_POST_NAME_HEX);
    if (!u) {
        upload_log(c, LOG_ERROR, path, len, "out of memory");
        conn_resp_error(c, 500, NULL);
        return;
    }
    u->post = true;
    u->name_off = len;
    u->dir_len = dir_len;
    if (!upload_open_target_dir(c, loc, u, &st)) {
        conn_resp_error(c, st, NULL);
        upload_drop(u);
        return;
    }
    upload_store_start(c, loc, u);
}

/* A DELETE's unlink and directory fsync, made on an I/O thread (an fsync
 * may wait for the disk). Made by upload_delete; from the submit (or the
 * wait for room) on, the job owns it and its done frees it; the connection
 * holds it through conn_wait_io's cancel until then. */
struct upload_unlink {
    struct iopool_job job;     /* first: the job's done finds it */
    struct iopool_waiter room; /* waiting for room in the pool */
    struct conn *conn;         /* NULL once the connection is gone */
    struct iopool *pool;
    int dir_fd;
    bool durable;              /* upload_fsync: fsync the directory */
    int status;                /* (job) 204, or the status of the failure */
    int err;                   /* (job) its errno */
    const char *failed;        /* (job) what failed, for the log */
    size_t path_len;
    char name[NAME_MAX + 1];
    char path[];
};

static void upload_unlink_run(struct iopool_job *job)
{
    struct upload_unlink *d = (struct upload_unlink *)job;
    if (unlinkat(d->dir_fd, d->name, 0) < 0) {
        d->err = errno;
        d->failed = "unlink";
        d->status = d->err == ENOENT ? 404 : upload_status_for_errno(d->err);
    } else if (d->durable && fsync(d->dir_fd) < 0) {
        /* Make the removal durable before saying it happened. */
        d->err = errno;
        d->failed = "fsync of the directory";
        d->status = 500;
    } else {
        d->status = 204;
    }
    close(d->dir_fd);
    d->dir_fd = -1;
}

static void upload_unlink_done(struct iopool_job *job)
{
    struct upload_unlink *d = (struct upload_unlink *)job;
    struct conn *c = d->conn;
    if (d->status == 500)
        upload_log(c, LOG_ERROR, d->path, d->path_len, "%s: %s", d->failed, strerror(d->err));
    if (c) {
        if (d->status == 204) {
            conn_resp_begin(c, 204);
            conn_resp_end(c, -1);
        } else {
            conn_resp_error(c, d->status, NULL);
        }
        conn_io_done(c);
    }
    free(d);
}

static void upload_unlink_free_unrun(struct upload_unlink *d)
{
    if (d->room.waiting)
        iopool_unwait_room(d->pool, &d->room);
    close(d->dir_fd);
    free(d);
}

/* The connection closed first: a job in flight finishes (the file is
 * deleted or not, as for any request cut short); one not yet handed over
 * never runs. */
static void upload_unlink_cancel(struct conn *c, void *ctx)
{
    struct upload_unlink *d = ctx;
    (void)c;
    d->conn = NULL;
    if (d->room.waiting)
        upload_unlink_free_unrun(d);
    else
        iopool_cancel(&d->job);
}

static void upload_unlink_on_room(struct iopool_waiter *waiter)
{
    struct upload_unlink *d =
        (struct upload_unlink *)((char *)waiter - offsetof(struct upload_unlink, room));
    if (iopool_submit(d->pool, &d->job) < 0)
        iopool_wait_room(d->pool, &d->room); /* taken by another meanwhile */
}

/* Hand the unlink over and wait for it (WAIT_IO); a full pool waits for
 * room or, with io_queue_full refuse, answers 503. Owns dir_fd. */
static void upload_delete_start(struct conn *c, const struct config_location *loc,
                                const char *path, size_t len, int dir_fd, const char *name)
{
    struct server *srv = conn_server(c);
    struct upload_unlink *d = calloc(1, sizeof *d + len + 1);
    if (!d) {
        upload_log(c, LOG_ERROR, path, len, "out of memory");
        close(dir_fd);
        conn_resp_error(c, 500, NULL);
        return;
    }
    d->job.run = upload_unlink_run;
    d->job.done = upload_unlink_done;
    d->room.on_room = upload_unlink_on_room;
    d->conn = c;
    d->pool = srv->io;
    d->dir_fd = dir_fd;
    d->durable = loc->upload_fsync;
    snprintf(d->name, sizeof d->name, "%s", name);
    memcpy(d->path, path, len);
    d->path_len = len;
    if (iopool_submit(d->pool, &d->job) < 0) {
        if (srv->cfg->io_queue_full == CONFIG_IO_FULL_REFUSE) {
            upload_log(c, LOG_WARN, path, len, "the I/O queue is full (io_queue_max); 503 sent");
            upload_unlink_free_unrun(d);
            conn_resp_error(c, 503, NULL);
            return;
        }
        iopool_wait_room(d->pool, &d->room);
    }
    conn_wait_io(c, upload_unlink_cancel, d);
}

void upload_delete(struct conn *c, const struct config_location *loc, const char *path,
                   size_t len)
{
    const struct http1_request *req = conn_request(c);
    char name[NAME_MAX + 1];
    struct stat st_file;
    int dir_fd, st;

    /* A directory is never deleted: 409 (see upload_put). */
    if (path[len - 1] == '/') {
        conn_resp_error(c, 409, NULL);
        return;
    }
    if (upload_is_location_top(loc, path, len)) {
        conn_resp_error(c, 403, NULL);
        return;
    }
    st = upload_check_path(path + 1, len - 1);
    if (st) {
        conn_resp_error(c, st, NULL);
        return;
    }
    const char *slash = memrchr(path, '/', len);
    size_t name_off = (size_t)(slash - path) + 1;
    memcpy(name, path + name_off, len - name_off); /* <= NAME_MAX: checked above */
    name[len - name_off] = '\0';

    dir_fd = upload_open_dir(server_site_of(conn_server(c), loc)->root_fd, path + 1, name_off - 1,
                             false);
    if (dir_fd < 0) {
        st = upload_status_for_dir_errno(-dir_fd, true);
        if (st == 500)
            upload_log(c, LOG_ERROR, path, len, "opening the directory: %s", strerror(-dir_fd));
        conn_resp_error(c, st, NULL);
        return;
    }
    st = upload_stat_target(dir_fd, name, &st_file);
    if (st)
        goto out_refuse;
    char etag[48];
    size_t etag_len = static_format_etag(&st_file, etag, sizeof etag);
    if (static_check_preconditions(req, conn_request_buf(c), &st_file, etag, etag_len, true)) {
        st = 412;
        goto out_refuse;
    }
    upload_delete_start(c, loc, path, len, dir_fd, name);
    return;

out_refuse:
    close(dir_fd);
    conn_resp_error(c, st, NULL);
}
