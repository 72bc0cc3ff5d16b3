/* upload — PUT, POST and DELETE of files beneath the document root.
 *
 * A PUT or POST streams its body into an unnamed file in the target's
 * directory (O_TMPFILE), one write(2) per received chunk, so memory stays
 * bounded by the read buffer. Every upload_writeback_bytes the writeback of
 * what was written is started (sync_file_range, SYNC_FILE_RANGE_WRITE), so
 * the disk works while the body arrives. When the body is complete: fsync
 * the file (by then only the last step and the metadata are left),
 * give it a temporary name (".lingerd-put-" and 12 random hex digits, by
 * linkat of /proc/self/fd/N), rename that over the target (PUT) or onto a
 * new name that must not exist yet (POST), fsync the directory. The file
 * has a name only between the link and the rename, so a worker killed
 * mid-upload (SIGKILL, OOM) leaves nothing behind: the kernel frees an
 * unnamed file with its last descriptor. Any failure before the rename
 * (client gone, body timeout, bad chunk, body over body_max_bytes, disk
 * full) closes the file, or unlinks the temporary name if it was given:
 * the old file stays intact. DELETE unlinks a file.
 *
 * A file system without O_TMPFILE (EOPNOTSUPP, EISDIR or EINVAL from
 * openat: NFS before 4.2, FUSE servers that lack it, vfat) gets a named
 * temporary file from the start instead, created with O_EXCL beside the
 * target; there a killed worker does leave one behind, which the reserved
 * prefix keeps out of reach of clients.
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
 *   - One struct upload per body being read: made just before
 *     conn_read_body, freed by exactly one of on_end / on_abort.
 *
 * Leaves out: Content-Range on PUT (RFC 9110 §14.5: not supported, the
 * header is ignored), preconditions on POST (a collection has no
 * validators here), sweeping temporary files that a killed worker left
 * on a file system without O_TMPFILE, and moving the fsyncs off the event
 * loop (the early writeback makes the final one short; it is measured and
 * logged, see upload_commit).
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
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "http1.h"
#include "log.h"
#include "server.h"
#include "static.h"

/* Every name beginning like this belongs to the server (temporary files). */
#define UPLOAD_TMP_PREFIX ".lingerd-put-"
/* 48 random bits: a collision with another live temporary file is
 * negligible, and O_EXCL catches it anyway. */
#define UPLOAD_TMP_RANDOM_HEX 12
/* A POST's new file name: 64 random bits, so names cannot be guessed. */
#define UPLOAD_POST_NAME_HEX 16
/* Names tried before giving up; more than one collision means the random
 * source or the directory is broken, not bad luck. */
#define UPLOAD_NAME_TRIES 8
/* Directories made by create_dirs (the umask still applies). */
#define UPLOAD_DIR_MODE 0755
/* An fsync slower than this blocked the loop long enough for an operator
 * to want to know: it is logged as a warning, not only at debug. */
#define UPLOAD_FSYNC_WARN_MS 100

#define UPLOAD_TMP_NAME_SIZE (sizeof UPLOAD_TMP_PREFIX + UPLOAD_TMP_RANDOM_HEX)

/* One body being received. Created by upload_put/upload_post just before
 * conn_read_body; the sink's on_end or on_abort frees it (exactly one runs). */
struct upload {
    int dir_fd;               /* the target's directory, O_RDONLY (for fsync) */
    int tmp_fd;               /* -1 once closed */
    bool tmp_unnamed;         /* tmp_fd is an O_TMPFILE file: no name until committed */
    bool tmp_exists;          /* tmp_name is still in dir_fd: unlink on failure */
    bool post;
    bool conditional;         /* PUT had preconditions: recheck the target at the end */
    bool existed;             /* the target existed when the head was checked */
    struct stat seen;         /* the target then (valid if existed) */
    uint64_t bytes;
    uint64_t writeback_step;  /* upload_writeback_bytes; 0: all left to the fsync */
    uint64_t writeback_from;  /* the bytes before this have their writeback started */
    uint64_t writeback_us;    /* time spent starting it */
    uint64_t start_ms;
    char tmp_name[UPLOAD_TMP_NAME_SIZE];
    size_t path_len;          /* path[0..path_len): the decoded request path */
    size_t name_off;          /* PUT: the target's name is path + name_off */
    char path[];              /* POST: room for the new name after the path */
};

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
static int upload_random_hex(char *out, size_t n)
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
static int upload_status_for_errno(int err)
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
static int upload_status_for_dir_errno(int err, bool for_delete)
{
    if (err == ENOENT || err == ENOTDIR)
        return for_delete ? 404 : 409;
    return upload_status_for_errno(err);
}

/* An error-log line about the upload of path, with the path escaped. */
static void upload_log(struct conn *c, enum log_level level, const char *path, size_t len,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void upload_log(struct conn *c, enum log_level level, const char *path, size_t len,
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
    conn_log(c, level, "upload %s: %s", where, what);
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
             * the new directory would be lost with it. Rare (only when a
             * directory is created), so done here in the loop. */
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
static int upload_open_dir(int root_fd, const char *rel, size_t len, bool create)
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
static int upload_stat_target(int dir_fd, const char *name, struct stat *st)
{
    if (fstatat(dir_fd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 404 : upload_status_for_errno(errno);
    if (S_ISREG(st->st_mode))
        return 0;
    return S_ISDIR(st->st_mode) ? 409 : 403;
}

static bool upload_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* ---- the temporary file ---- */

/* Make a random temporary name for dir_fd: ".lingerd-put-" and hex digits. */
static int upload_temp_name(char name[UPLOAD_TMP_NAME_SIZE])
{
    static const size_t prefix_len = sizeof UPLOAD_TMP_PREFIX - 1;
    memcpy(name, UPLOAD_TMP_PREFIX, prefix_len);
    return upload_random_hex(name + prefix_len, UPLOAD_TMP_RANDOM_HEX);
}

/* Create a new temporary file in dir_fd; its name goes to name. fd or
 * -errno. Plain openat, not static_open_beneath: the name is one component
 * we made, O_CREAT|O_EXCL never follows a symlink, and openat2 would need
 * the mode passed in struct open_how. */
static int upload_create_temp(int dir_fd, unsigned mode, char name[UPLOAD_TMP_NAME_SIZE])
{
    for (int tries = 0; tries < UPLOAD_NAME_TRIES; tries++) {
        int rc = upload_temp_name(name);
        if (rc < 0)
            return rc;
        int fd = openat(dir_fd, name,
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                        (mode_t)mode);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* Create an unnamed file in dir_fd (O_TMPFILE). fd, -EOPNOTSUPP if the
 * file system cannot (the kernel says so with EOPNOTSUPP, or EISDIR and
 * EINVAL where O_TMPFILE is not understood at all), or another -errno. */
static int upload_create_unnamed(int dir_fd, unsigned mode)
{
    int fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_NOCTTY | O_CLOEXEC, (mode_t)mode);
    if (fd >= 0)
        return fd;
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
        return -EOPNOTSUPP;
    return -errno;
}

/* Give the unnamed file u->tmp_fd a temporary name in u->dir_fd. linkat
 * through /proc/self/fd, not AT_EMPTY_PATH: that one needs
 * CAP_DAC_READ_SEARCH, which a worker running as a user does not have.
 * linkat never replaces a name, so a collision is EEXIST. 0 or -errno. */
static int upload_name_unnamed(struct upload *u)
{
    char proc[sizeof "/proc/self/fd/" + 3 * sizeof(int)];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", u->tmp_fd);
    for (int tries = 0; tries < UPLOAD_NAME_TRIES; tries++) {
        int rc = upload_temp_name(u->tmp_name);
        if (rc < 0)
            return rc;
        if (linkat(AT_FDCWD, proc, u->dir_fd, u->tmp_name, AT_SYMLINK_FOLLOW) == 0) {
            u->tmp_exists = true;
            return 0;
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

static void upload_free(struct conn *c, struct upload *u)
{
    if (u->tmp_fd >= 0)
        close(u->tmp_fd);
    if (u->tmp_exists && unlinkat(u->dir_fd, u->tmp_name, 0) < 0)
        upload_log(c, LOG_ERROR, u->path, u->path_len, "unlink %s: %s", u->tmp_name,
                   strerror(errno));
    if (u->dir_fd >= 0)
        close(u->dir_fd);
    free(u);
}

/* ---- the sink ---- */

static uint64_t upload_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Start the disk writes of the body that arrived since the last call. It
 * only starts them, but the kernel may wait for room in the device's queue
 * first, so it is timed like the fsyncs; a failure shows again at the fsync,
 * which decides the answer. */
static void upload_start_writeback(struct conn *c, struct upload *u)
{
    uint64_t t0 = upload_clock_us();
    (void)sync_file_range(u->tmp_fd, (off_t)u->writeback_from,
                          (off_t)(u->bytes - u->writeback_from), SYNC_FILE_RANGE_WRITE);
    uint64_t us = upload_clock_us() - t0;
    if (us >= UPLOAD_FSYNC_WARN_MS * 1000u)
        upload_log(c, LOG_WARN, u->path, u->path_len,
                   "starting the writeback of %llu bytes took %llu ms",
                   (unsigned long long)(u->bytes - u->writeback_from),
                   (unsigned long long)(us / 1000));
    u->writeback_us += us;
    u->writeback_from = u->bytes;
}

static int upload_on_data(struct conn *c, void *ctx, const char *data, size_t len)
{
    struct upload *u = ctx;
    while (len > 0) {
        ssize_t n = write(u->tmp_fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO; /* 0 for a regular file: never loop on it */
            int st = upload_status_for_errno(err);
            upload_log(c, st == 500 ? LOG_ERROR : LOG_WARN, u->path, u->path_len,
                       "write after %llu bytes: %s; %d sent", (unsigned long long)u->bytes,
                       strerror(err), st);
            return st; /* conn_body.c answers it and calls on_abort */
        }
        data += n;
        len -= (size_t)n;
        u->bytes += (uint64_t)n;
    }
    if (u->writeback_step && u->bytes - u->writeback_from >= u->writeback_step)
        upload_start_writeback(c, u);
    return 0;
}

static void upload_on_abort(struct conn *c, void *ctx)
{
    struct upload *u = ctx;
    upload_log(c, LOG_INFO, u->path, u->path_len, "abandoned after %llu bytes; %s",
               (unsigned long long)u->bytes,
               u->tmp_unnamed ? "unnamed file dropped" : "temporary file removed");
    upload_free(c, u);
}

/* Give a POST's temporary file its final name: a new random one in path
 * (after the collection), never replacing an existing file. 0 or -errno. */
static int upload_link_new_name(struct upload *u)
{
    char *name = u->path + u->name_off;
    for (int tries = 0; tries < UPLOAD_NAME_TRIES; tries++) {
        int rc = upload_random_hex(name, UPLOAD_POST_NAME_HEX);
        if (rc < 0)
            return rc;
        if (renameat2(u->dir_fd, u->tmp_name, u->dir_fd, name, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno == EINVAL) {
            /* The file system has no RENAME_NOREPLACE: link, which never
             * replaces either, then drop the temporary name. */
            if (linkat(u->dir_fd, u->tmp_name, u->dir_fd, name, 0) == 0) {
                if (unlinkat(u->dir_fd, u->tmp_name, 0) < 0)
                    return -errno;
                return 0;
            }
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* Make the received body the target: fsync, rename, fsync the directory.
 * Returns the status to answer (201, 204 or an error); *st_out is the new
 * file's stat on success. The fsyncs block the loop: they are timed, logged
 * at debug, and at warn past UPLOAD_FSYNC_WARN_MS. */
static int upload_commit(struct conn *c, struct upload *u, struct stat *st_out)
{
    uint64_t t0 = upload_clock_us();
    if (fsync(u->tmp_fd) < 0 || fstat(u->tmp_fd, st_out) < 0) {
        int err = errno;
        upload_log(c, LOG_ERROR, u->path, u->path_len, "fsync: %s", strerror(err));
        return upload_status_for_errno(err); /* ENOSPC may first show here */
    }
    uint64_t t1 = upload_clock_us();
    int rc;
    if (u->tmp_unnamed) {
        rc = upload_name_unnamed(u);
        if (rc < 0) {
            upload_log(c, LOG_ERROR, u->path, u->path_len, "naming the unnamed file: %s",
                       strerror(-rc));
            return upload_status_for_errno(-rc);
        }
    }
    rc = close(u->tmp_fd);
    u->tmp_fd = -1;
    if (rc < 0) {
        int err = errno;
        upload_log(c, LOG_ERROR, u->path, u->path_len, "close: %s", strerror(err));
        return upload_status_for_errno(err);
    }

    int status;
    if (u->post) {
        rc = upload_link_new_name(u);
        if (rc < 0) {
            upload_log(c, LOG_ERROR, u->path, u->path_len, "naming the new file: %s",
                       strerror(-rc));
            return upload_status_for_errno(-rc);
        }
        u->path_len = u->name_off + UPLOAD_POST_NAME_HEX;
        status = 201;
    } else {
        const char *name = u->path + u->name_off;
        struct stat now;
        int pre = upload_stat_target(u->dir_fd, name, &now);
        if (pre != 0 && pre != 404)
            return pre; /* became a directory or a symlink meanwhile */
        bool exists = pre == 0;
        /* A conditional PUT was checked against the file as it was when the
         * head arrived. If it changed while the body came in, the condition
         * no longer holds: do not overwrite the change (lost update). */
        if (u->conditional &&
            (exists != u->existed || (exists && !upload_same_file(&now, &u->seen))))
            return 412;
        if (renameat(u->dir_fd, u->tmp_name, u->dir_fd, name) < 0) {
            int err = errno;
            upload_log(c, LOG_ERROR, u->path, u->path_len, "rename: %s", strerror(err));
            return upload_status_for_errno(err);
        }
        status = exists ? 204 : 201;
    }
    u->tmp_exists = false;
    if (fsync(u->dir_fd) < 0) {
        /* The new file is in place but may not survive a crash: say so,
         * and let the client retry (PUT is idempotent). */
        int err = errno;
        upload_log(c, LOG_ERROR, u->path, u->path_len, "fsync of the directory: %s",
                   strerror(err));
        return 500;
    }
    uint64_t t2 = upload_clock_us();
    uint64_t fsync_us = t1 - t0;
    enum log_level level = fsync_us >= UPLOAD_FSYNC_WARN_MS * 1000u ? LOG_WARN : LOG_DEBUG;
    upload_log(c, level, u->path, u->path_len,
               "%llu bytes in %llu ms; fsync %llu.%03llu ms, rename and directory fsync "
               "%llu.%03llu ms; writeback started in %llu.%03llu ms while receiving",
               (unsigned long long)u->bytes,
               (unsigned long long)(conn_now_ms(c) - u->start_ms),
               (unsigned long long)(fsync_us / 1000), (unsigned long long)(fsync_us % 1000),
               (unsigned long long)((t2 - t1) / 1000), (unsigned long long)((t2 - t1) % 1000),
               (unsigned long long)(u->writeback_us / 1000),
               (unsigned long long)(u->writeback_us % 1000));
    return status;
}

/* Answer 201 Created (Location: path, encoded again where unsafe) or 204,
 * with the new file's ETag: the body was stored as sent (RFC 9110 §9.3.4). */
static void upload_answer_stored(struct conn *c, int status, const char *path, size_t len,
                                 const struct stat *st)
{
    char etag[48];
    size_t etag_len = static_format_etag(st, etag, sizeof etag);
    conn_resp_begin(c, status);
    if (status == 201) {
        static const char hex[] = "0123456789ABCDEF";
        char loc[3 * PATH_MAX];
        size_t o = 0;
        for (size_t i = 0; i < len && o + 3 <= sizeof loc; i++) {
            unsigned char ch = (unsigned char)path[i];
            if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '"' || ch == '?' || ch == '#') {
                loc[o++] = '%';
                loc[o++] = hex[ch >> 4];
                loc[o++] = hex[ch & 15];
            } else {
                loc[o++] = (char)ch;
            }
        }
        conn_resp_field(c, "Location", loc, o);
    }
    conn_resp_field(c, "ETag", etag, etag_len);
    /* 204 has no body and no Content-Length (RFC 9110 §8.6). */
    conn_resp_end(c, status == 204 ? -1 : 0);
}

static void upload_on_end(struct conn *c, void *ctx)
{
    struct upload *u = ctx;
    struct stat st;
    int status = upload_commit(c, u, &st);
    if (status == 201 || status == 204)
        upload_answer_stored(c, status, u->path, u->path_len, &st);
    else
        conn_resp_error(c, status, NULL);
    upload_free(c, u);
}

static const struct conn_body_sink upload_sink = {
    .on_data = upload_on_data,
    .on_end = upload_on_end,
    .on_abort = upload_on_abort,
};

/* ---- the handlers ---- */

/* A Content-Length over the location's limit is refused from the head; a
 * chunked body is capped by conn_body.c as it arrives. */
static bool upload_too_large(const struct http1_request *req, const struct config_location *loc)
{
    return req->framing == HTTP1_BODY_LENGTH && req->content_length > loc->body_max_bytes;
}

/* Create the file for the body in u->dir_fd (unnamed if the file system
 * can, else named) and start reading the body into it. Owns u from here:
 * on failure it answers and frees u. */
static int upload_create_body_file(struct upload *u, unsigned mode)
{
    int fd = upload_create_unnamed(u->dir_fd, mode);
    u->tmp_unnamed = fd >= 0;
    if (fd == -EOPNOTSUPP)
        fd = upload_create_temp(u->dir_fd, mode, u->tmp_name);
    return fd;
}

static void upload_start(struct conn *c, const struct config_location *loc, struct upload *u)
{
    int fd = upload_create_body_file(u, loc->file_mode);
    if (fd < 0 && server_retry_open(conn_server(c), fd))
        fd = upload_create_body_file(u, loc->file_mode);
    if (fd < 0) {
        int st = upload_status_for_errno(-fd);
        upload_log(c, st == 507 ? LOG_WARN : LOG_ERROR, u->path, u->path_len,
                   "temporary file: %s; %d sent", strerror(-fd), st);
        conn_resp_error(c, st, NULL);
        upload_free(c, u);
        return;
    }
    u->tmp_fd = fd;
    u->tmp_exists = !u->tmp_unnamed;
    u->writeback_step = conn_server(c)->cfg->upload_writeback_bytes;
    u->start_ms = conn_now_ms(c);
    conn_read_body(c, &upload_sink, u, loc->body_max_bytes);
}

static struct upload *upload_new(const char *path, size_t len, size_t extra)
{
    struct upload *u = malloc(sizeof *u + len + extra + 1);
    if (!u)
        return NULL;
    memset(u, 0, sizeof *u);
    u->dir_fd = -1;
    u->tmp_fd = -1;
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
    u->dir_fd = upload_open_dir(server_site_of(conn_server(c), loc)->root_fd, path + 1,
                                u->name_off - 1, loc->create_dirs);
    if (u->dir_fd < 0) {
        st = upload_status_for_dir_errno(-u->dir_fd, false);
        if (st == 500)
            upload_log(c, LOG_ERROR, path, len, "opening the directory: %s",
                       strerror(-u->dir_fd));
        goto out_refuse;
    }

    st = upload_stat_target(u->dir_fd, u->path + u->name_off, &u->seen);
    if (st != 0 && st != 404)
        goto out_refuse;
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
    upload_start(c, loc, u);
    return;

out_refuse:
    conn_resp_error(c, st, NULL);
    upload_free(c, u);
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
    u->dir_fd = upload_open_dir(server_site_of(conn_server(c), loc)->root_fd, path + 1, dir_len,
                                loc->create_dirs);
    if (u->dir_fd < 0) {
        st = upload_status_for_dir_errno(-u->dir_fd, false);
        if (st == 500)
            upload_log(c, LOG_ERROR, path, len, "opening the collection: %s",
                       strerror(-u->dir_fd));
        conn_resp_error(c, st, NULL);
        upload_free(c, u);
        return;
    }
    upload_start(c, loc, u);
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
    if (unlinkat(dir_fd, name, 0) < 0) {
        int err = errno;
        st = err == ENOENT ? 404 : upload_status_for_errno(err);
        if (st == 500)
            upload_log(c, LOG_ERROR, path, len, "unlink: %s", strerror(err));
        goto out_refuse;
    }
    /* Make the removal durable before saying it happened. */
    if (fsync(dir_fd) < 0) {
        upload_log(c, LOG_ERROR, path, len, "fsync of the directory: %s", strerror(errno));
        st = 500;
        goto out_refuse;
    }
    close(dir_fd);
    conn_resp_begin(c, 204);
    conn_resp_end(c, -1);
    return;

out_refuse:
    close(dir_fd);
    conn_resp_error(c, st, NULL);
}
