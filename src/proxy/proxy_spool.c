/* proxy_spool — a buffered request body: two memory buffers and an unnamed
 * file, written by the worker's I/O threads (see proxy_spool.h).
 *
 * Why the threads: a write(2) into the page cache usually returns at once,
 * but a busy disk or a file system under memory pressure makes it wait, and
 * the loop never waits (docs/uploads.md measured the same for uploads). The
 * open (O_TMPFILE: it allocates an inode) and the final close (closing the
 * last descriptor of an unnamed file frees its blocks, up to body_max_bytes
 * of them) go to the threads too. One job at a time per spool, in order:
 * open, the writes, close; bytes put while the file is being opened wait in
 * the memory buffers.
 *
 * Ownership: the owner (proxy.c's exchange) holds the spool; a job in
 * flight is never dropped (iopool.h): proxy_spool_close while one runs
 * marks the spool orphaned, and after that job the file is closed on a
 * thread and the spool freed. The owner bounds how long it waits
 * (proxy_spool_is_waiting, io_wait_timeout).
 */
#include "proxy_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iopool.h"

struct proxy_spool {
    struct iopool_job job;     /* first: the job's done finds the spool */
    struct iopool_waiter room; /* waiting for room in the pool */
    struct iopool *pool;
    proxy_spool_fn *on_progress;
    void *ctx;
    int fd;                    /* -1 until the open job is done */
    const char *dir;           /* where the file is made (the configuration's) */
    char *buf[2];
    size_t len[2];
    size_t cap;
    unsigned cur;              /* the buffer being filled */
    uint64_t size;             /* bytes put */
    uint64_t written;          /* bytes in the file */
    /* the write in flight: buf[job_buf][0 .. job_len) at job_off */
    unsigned job_buf;
    size_t job_len;
    uint64_t job_off;
    int job_err;
    int job_fd;                /* the open job's result */
    int err;
    bool busy, ended, orphan;
    bool closing;              /* the close job waits for room in the pool */
};

static void proxy_spool_free(struct proxy_spool *s)
{
    if (s->room.waiting)
        iopool_unwait_room(s->pool, &s->room);
    if (s->fd >= 0)
        close(s->fd);
    free(s->buf[0]);
    free(s->buf[1]);
    free(s);
}

/* On an I/O thread: the whole buffer at its offset. */
static void proxy_spool_run(struct iopool_job *job)
{
    struct proxy_spool *s = (struct proxy_spool *)job;
    const char *p = s->buf[s->job_buf];
    size_t left = s->job_len;
    uint64_t off = s->job_off;
    s->job_err = 0;
    while (left) {
        ssize_t n = pwrite(s->fd, p, left, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->job_err = n < 0 ? errno : EIO;
            return;
        }
        p += n;
        left -= (size_t)n;
        off += (uint64_t)n;
    }
}

static void proxy_spool_done(struct iopool_job *job);
static void proxy_spool_start_open(struct proxy_spool *s);

/* Write the filled buffer (or, once ended, the last part) if no write runs. */
static void proxy_spool_kick(struct proxy_spool *s)
{
    if (s->busy || s->err || s->room.waiting || s->fd < 0)
        return;
    size_t len = s->len[s->cur];
    if (len == 0 || (len < s->cap && !s->ended))
        return;
    s->job.run = proxy_spool_run;
    s->job.done = proxy_spool_done;
    s->job.cancelled = false;
    s->job_buf = s->cur;
    s->job_len = len;
    s->job_off = s->written;
    if (iopool_submit(s->pool, &s->job) < 0) {
        iopool_wait_room(s->pool, &s->room); /* the pool is full */
        return;
    }
    s->busy = true;
    s->cur ^= 1u;
    s->len[s->cur] = 0;
}

/* ---- the close: on a thread, then free ---- */

static void proxy_spool_run_close(struct iopool_job *job)
{
    struct proxy_spool *s = (struct proxy_spool *)job;
    close(s->fd);
}

static void proxy_spool_closed(struct iopool_job *job)
{
    struct proxy_spool *s = (struct proxy_spool *)job;
    s->fd = -1;
    proxy_spool_free(s);
}

/* The owner is gone and no job runs: close the file on a thread (when the
 * pool has room), then free. */
static void proxy_spool_retire(struct proxy_spool *s)
{
    if (s->fd < 0) {
        proxy_spool_free(s);
        return;
    }
    s->job.run = proxy_spool_run_close;
    s->job.done = proxy_spool_closed;
    s->job.cancelled = false;
    if (iopool_submit(s->pool, &s->job) < 0) {
        s->closing = true;
        iopool_wait_room(s->pool, &s->room);
        return;
    }
    s->closing = false;
    s->busy = true;
}

static void proxy_spool_on_room(struct iopool_waiter *w)
{
    struct proxy_spool *s =
        (struct proxy_spool *)((char *)w - offsetof(struct proxy_spool, room));
    if (s->closing)
        proxy_spool_retire(s);
    else if (s->fd < 0)
        proxy_spool_start_open(s);
    else
        proxy_spool_kick(s);
}

static void proxy_spool_done(struct iopool_job *job)
{
    struct proxy_spool *s = (struct proxy_spool *)job;
    s->busy = false;
    if (s->orphan) {
        proxy_spool_retire(s);
        return;
    }
    if (s->job_err)
        s->err = s->job_err;
    else
        s->written += s->job_len;
    proxy_spool_kick(s);
    s->on_progress(s->ctx);
}

/* ---- the open: on a thread ---- */

static int proxy_spool_open_file(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    /* No O_TMPFILE here: a name, removed at once. */
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.lingerd-proxy-XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static void proxy_spool_run_open(struct iopool_job *job)
{
    struct proxy_spool *s = (struct proxy_spool *)job;
    s->job_fd = proxy_spool_open_file(s->dir);
    s->job_err = s->job_fd < 0 ? errno : 0;
}

static void proxy_spool_opened(struct iopool_job *job)
{
    struct proxy_spool *s = (struct proxy_spool *)job;
    s->busy = false;
    s->fd = s->job_fd; /* -1 if it failed */
    if (s->orphan) {
        proxy_spool_retire(s);
        return;
    }
    if (s->job_err)
        s->err = s->job_err;
    proxy_spool_kick(s);
    s->on_progress(s->ctx);
}

static void proxy_spool_start_open(struct proxy_spool *s)
{
    s->job.run = proxy_spool_run_open;
    s->job.done = proxy_spool_opened;
    s->job.cancelled = false;
    if (iopool_submit(s->pool, &s->job) < 0) {
        iopool_wait_room(s->pool, &s->room); /* the pool is full */
        return;
    }
    s->busy = true;
}

struct proxy_spool *proxy_spool_open(struct iopool *pool, const char *dir, size_t buf_bytes,
                                     proxy_spool_fn *on_progress, void *ctx)
{
    struct proxy_spool *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fd = -1;
    s->dir = dir;
    s->pool = pool;
    s->on_progress = on_progress;
    s->ctx = ctx;
    s->room.on_room = proxy_spool_on_room;
    s->cap = buf_bytes;
    s->buf[0] = malloc(buf_bytes);
    s->buf[1] = malloc(buf_bytes);
    if (!s->buf[0] || !s->buf[1]) {
        proxy_spool_free(s);
        errno = ENOMEM;
        return NULL;
    }
    proxy_spool_start_open(s);
    return s;
}

size_t proxy_spool_room(const struct proxy_spool *s)
{
    return s->err || s->ended ? 0 : s->cap - s->len[s->cur];
}

void proxy_spool_put(struct proxy_spool *s, const char *data, size_t len)
{
    memcpy(s->buf[s->cur] + s->len[s->cur], data, len);
    s->len[s->cur] += len;
    s->size += len;
    proxy_spool_kick(s);
}

void proxy_spool_end(struct proxy_spool *s)
{
    s->ended = true;
    proxy_spool_kick(s);
}

bool proxy_spool_is_complete(const struct proxy_spool *s)
{
    return s->ended && !s->err && s->written == s->size;
}

int proxy_spool_error(const struct proxy_spool *s)
{
    return s->err;
}

int proxy_spool_fd(const struct proxy_spool *s)
{
    return s->fd;
}

uint64_t proxy_spool_size(const struct proxy_spool *s)
{
    return s->size;
}

bool proxy_spool_is_waiting(const struct proxy_spool *s)
{
    return s->busy || s->room.waiting;
}

void proxy_spool_close(struct proxy_spool *s)
{
    if (!s)
        return;
    if (s->busy) {
        s->orphan = true;
        iopool_cancel(&s->job);
        return;
    }
    if (s->room.waiting)
        iopool_unwait_room(s->pool, &s->room);
    proxy_spool_retire(s);
}
