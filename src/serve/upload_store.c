/* upload_store — an upload's body on its way to disk: the temporary file,
 * the writes, the writeback while the body arrives, and the commit, with
 * every call that may wait for the disk on the worker's I/O threads. This
 * file is the loop's side (when a job is handed over, what its done does);
 * what the jobs run on a thread is upload_job.c.
 *
 * The start is a job too (the open job): it makes the directories that
 * create_dirs asks for (mkdir, fsync of the parent) and creates the body's
 * file (upload_file.c); the connection waits in WAIT_IO, reading nothing,
 * and the body is read (100 Continue sent) only once the file exists.
 *
 * The loop only copies the body into memory: it is gathered in two
 * buffers of upload_buffer_bytes, and while the loop fills one, a job on
 * an I/O thread writes the other into the file (pwrite). Every
 * upload_writeback_bytes that job also starts the disk writes of that step
 * (sync_file_range WRITE, no wait), so the disk works while the body
 * arrives; it waits only for what is more than upload_dirty_max_bytes
 * behind (WAIT_BEFORE|WRITE|WAIT_AFTER).
 * That alone leaves the disk's own write cache full: sync_file_range never
 * flushes it, and emptying it was most of the final fsync (measured: about
 * 0.8 ms per MiB written since the last flush, whatever the writeback had
 * done). So once a step's worth is written, a second job of the upload, the
 * flush, runs fdatasync on another thread while the writes go on, and the
 * final fsync only has what came after the last flush.
 * A body that fills half a buffer while the other is still being written
 * stops reading (the connection waits in WAIT_IO) until the job is done:
 * the upload goes at the disk's speed, its memory stays at two buffers, and
 * the loop never waits in the file system (a write(2) there was half the
 * loop's time with four uploads, and ext4 may make it wait).
 *
 * When the body is complete, the commit job runs on a thread: write the
 * last buffer, fsync the file, give it a temporary name (".lingerd-put-" and 12 random hex digits,
 * by linkat of /proc/self/fd/N), rename that over the target (PUT) or onto
 * a new name that must not exist yet (POST), fsync the directory; any
 * failure unlinks the temporary name it gave. The connection waits in
 * WAIT_IO meanwhile and is answered from the job's done, on the loop. With
 * upload_fsync off the two fsyncs and the writeback are left out: the
 * replace is still atomic, but a crash may lose what the client was told
 * was stored.
 *
 * The file has a name only between the link and the rename, so a worker
 * killed mid-upload leaves nothing behind: the kernel frees an unnamed file
 * with its last descriptor. A file system without O_TMPFILE (EOPNOTSUPP,
 * EISDIR or EINVAL: NFS before 4.2, some FUSE servers, vfat) gets a named
 * temporary file from the start, created with O_EXCL beside the target.
 *
 * Ownership (the upload outlives its connection while a job runs): the
 * connection holds the upload as its sink's context, or, waiting for the
 * commit, through conn_wait_io's cancel. When the connection goes
 * (on_abort, or the cancel), u->conn becomes NULL; the job in flight, if
 * any, is never dropped: its done sees no connection and discards or frees.
 * An upload has up to two jobs at once (a write or the commit, and a
 * flush); whatever needs the file closed (the commit, a discard, a failed
 * write's answer) waits for both, and the last done carries on.
 * A job never touches the connection; done runs on the loop's thread.
 *
 * Leaves out: sweeping temporary files that a killed worker left on a file
 * system without O_TMPFILE.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "server.h"
#include "static.h"
#include "upload_internal.h"

/* An operation slower than this is worth an operator's attention: the
 * client waited that long (the loop did not). */
#define UPLOAD_SLOW_MS 100


/* ---- the job: one per upload at a time ---- */

static void upload_job_done(struct iopool_job *job);
static void upload_on_room(struct iopool_waiter *waiter);
static void upload_open_done(struct upload *u);

/* ---- the flush while the body arrives ---- */

static void upload_flush_done(struct iopool_job *job);

/* A step's worth is written since the last flush, and none runs: hand a
 * flush of everything written so far to a thread. Not once the body is
 * complete (the commit's fsync does it) or after a failed write. A full
 * pool skips it: the next write tries again, the final fsync covers it. */
static void upload_maybe_flush(struct upload *u, uint64_t written_end)
{
    if (!u->durable || !u->writeback_step || u->flush_busy || !u->conn || u->commit_wanted ||
        u->write_err || written_end - u->flushed_to < u->writeback_step)
        return;
    u->flush_job.run = upload_run_flush;
    u->flush_job.done = upload_flush_done;
    if (iopool_submit(u->pool, &u->flush_job) == 0) {
        u->flush_busy = true;
        u->flushed_to = written_end;
    }
}

/* Hand the job of kind over. 0, or -EAGAIN when the pool is full. */
static int upload_submit(struct upload *u, enum upload_job_kind kind)
{
    u->kind = kind;
    u->job.run = upload_run_job;
    u->job.done = upload_job_done;
    int rc = iopool_submit(u->pool, &u->job);
    if (rc == 0)
        u->job_busy = true;
    return rc;
}

/* Hand the job of kind over, or wait for room (io_queue_full wait). 0, or
 * -EAGAIN if the pool is full and io_queue_full is refuse. */
static int upload_submit_or_wait(struct upload *u, enum upload_job_kind kind)
{
    if (upload_submit(u, kind) == 0)
        return 0;
    if (u->when_full == CONFIG_IO_FULL_REFUSE)
        return -EAGAIN;
    iopool_wait_room(u->pool, &u->room);
    return 0;
}

/* ---- ending: answered, abandoned, discarded ---- */

static void upload_free(struct upload *u)
{
    if (u->room.waiting)
        iopool_unwait_room(u->pool, &u->room);
    upload_close_pipes(u);
    free(u->buf[0]);
    free(u->buf[1]);
    free(u);
}

/* Drop the file of an upload that will not land and free u. With a client
 * still to be answered, now, on the loop: the answer must find the old
 * state of the disk back (no temporary name, the space of a full disk
 * given back), so the client's next request sees it. Without one (its
 * connection went while a job ran), on a thread if one is free: the
 * unlink, and the close of a large file, wait for the disk. */
static void upload_discard(struct upload *u, bool now)
{
    u->conn = NULL;
    if (u->room.waiting)
        iopool_unwait_room(u->pool, &u->room);
    if (!now && upload_submit(u, UPLOAD_JOB_DISCARD) == 0)
        return; /* done frees */
    int err = upload_drop_files(u);
    if (err)
        upload_log(NULL, LOG_ERROR, u->path, u->path_len, "unlink %s: %s", u->tmp_name,
                   strerror(err));
    upload_free(u);
}

/* The connection goes away: the sink's on_abort (the body did not
 * complete) or conn_wait_io's cancel (it closed while the commit waited or
 * ran). A job in flight finishes first; its done sees no connection. */
static void upload_abandon(struct conn *c, struct upload *u)
{
    upload_log(c, LOG_INFO, u->path, u->path_len, "abandoned after %llu bytes%s",
               (unsigned long long)u->bytes,
               u->job_busy && u->kind == UPLOAD_JOB_COMMIT ? " while committing" : "");
    u->conn = NULL;
    /* No more work for it: a wait for room (a paused body's next write) ends
     * here, or another upload's completion would resume a connection that
     * is gone. */
    if (u->room.waiting)
        iopool_unwait_room(u->pool, &u->room);
    if (u->job_busy || u->flush_busy) {
        if (u->job_busy)
            iopool_cancel(&u->job);
        if (u->flush_busy)
            iopool_cancel(&u->flush_job);
        return; /* the last done discards */
    }
    upload_discard(u, true); /* the body failed: answered after this */
}

static void upload_on_abort(struct conn *c, void *ctx)
{
    upload_abandon(c, ctx);
}

static void upload_on_cancel(struct conn *c, void *ctx)
{
    upload_abandon(c, ctx);
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

/* The commit's done: log, answer if the connection still waits, free. */
static void upload_commit_done(struct upload *u)
{
    struct conn *c = u->conn;
    bool stored = u->status == 201 || u->status == 204;
    if (u->failed)
        upload_log(c, u->status == 500 ? LOG_ERROR : LOG_WARN, u->path, u->path_len,
                   "%s: %s; %d sent", u->failed, strerror(u->err), u->status);
    if (stored) {
        enum log_level level = u->fsync_us + u->rename_us >= UPLOAD_SLOW_MS * 1000u
                                   ? LOG_WARN : LOG_DEBUG;
        /* Spliced: how often a pipe filled (page slots) before half its size. */
        char pipes[80] = "";
        if (u->pipe_rd[0] >= 0)
            snprintf(pipes, sizeof pipes, " (%u pipes full early, the smallest at %zu bytes)",
                     (unsigned)u->pipes_full_early, u->pipe_full_early_min);
        upload_log(c, level, u->path, u->path_len,
                   "%llu bytes in %llu ms; fsync %llu.%03llu ms, rename and directory fsync "
                   "%llu.%03llu ms (on an I/O thread); writes while receiving %llu.%03llu ms, "
                   "flushes %llu.%03llu ms; body %s%s",
                   (unsigned long long)u->bytes,
                   (unsigned long long)(c ? conn_now_ms(c) - u->start_ms : 0),
                   (unsigned long long)(u->fsync_us / 1000),
                   (unsigned long long)(u->fsync_us % 1000),
                   (unsigned long long)(u->rename_us / 1000),
                   (unsigned long long)(u->rename_us % 1000),
                   (unsigned long long)(u->write_us / 1000),
                   (unsigned long long)(u->write_us % 1000),
                   (unsigned long long)(u->flush_us / 1000),
                   (unsigned long long)(u->flush_us % 1000),
                   u->pipe_rd[0] >= 0 ? "spliced" : "read", pipes);
    }
    if (c) {
        if (stored)
            upload_answer_stored(c, u->status, u->path, u->path_len, &u->stored);
        else
            conn_resp_error(c, u->status, NULL);
        u->conn = NULL;
        conn_io_done(c);
    }
    if (u->dir_fd >= 0)
        close(u->dir_fd);
    upload_free(u);
}

/* ---- the commit ---- */

/* The body is complete and no job runs: hand the commit (with the last
 * buffer) over, or wait for room (io_queue_full wait). 0, or -EAGAIN if
 * the pool is full and io_queue_full is refuse. */
static int upload_try_commit(struct upload *u)
{
    u->job_slot = u->fill;
    return upload_submit_or_wait(u, UPLOAD_JOB_COMMIT);
}

/* Answer an upload that will not be committed, and drop its body: 503 for
 * a full I/O queue (io_queue_full refuse), or the status of a failed write. */
static void upload_refuse(struct conn *c, struct upload *u, int status)
{
    if (status == 503)
        upload_log(c, LOG_WARN, u->path, u->path_len,
                   "the I/O queue is full (io_queue_max); 503 sent");
    upload_discard(u, true);
    conn_want_close(c, CONN_CLOSE_ERROR); /* the client retries later, afresh */
    conn_resp_error(c, status, NULL);
}

/* A write failed with err: log it and give the status that answers it. */
static int upload_write_failed(const struct conn *c, const struct upload *u, int err)
{
    int st = upload_status_for_errno(err);
    upload_log(c, st == 500 ? LOG_ERROR : LOG_WARN, u->path, u->path_len,
               "write after %llu bytes%s: %s; %d sent", (unsigned long long)u->buf_off[u->fill],
               u->pipe_rd[0] >= 0 ? " (spliced)" : "", strerror(err), st);
    return st;
}

static void upload_on_end(struct conn *c, void *ctx)
{
    struct upload *u = ctx;
    u->paused = false;
    bool idle = !u->job_busy && !u->flush_busy;
    if (idle && u->write_err) {
        upload_refuse(c, u, upload_write_failed(c, u, u->write_err));
        return;
    }
    u->commit_wanted = true;
    if (idle && upload_try_commit(u) < 0) {
        upload_refuse(c, u, 503); /* answered now: no wait */
        return;
    }
    /* The connection waits for the answer, holding u through the cancel
     * instead of the sink; the commit comes after any write or flush in
     * flight (the commit closes the file they use). */
    conn_wait_io(c, upload_on_cancel, u);
}

/* ---- the body while it arrives ---- */

/* How full the fill slot must be to be handed over: half of what it
 * holds (a buffer's or a pipe's size), or anything at all when
 * hand_over_now (a pipe that filled early, bytes buffered before a splice). */
static size_t upload_hand_over_at(const struct upload *u)
{
    if (u->hand_over_now)
        return 1;
    return (u->piped[u->fill] ? u->pipe_cap : u->buf_cap) / 2;
}

/* The fill slot half full or more: hand it to a write job if none runs (and
 * switch to the other slot). A full pool leaves it: the next bytes, or the
 * room waiter, try again. */
void upload_maybe_write(struct upload *u)
{
    int f = u->fill;
    if (u->job_busy || u->write_err || u->buf_len[f] < upload_hand_over_at(u))
        return;
    u->job_slot = u->fill;
    if (upload_submit(u, UPLOAD_JOB_WRITE) < 0)
        return;
    u->hand_over_now = false;
    u->fill = !f;
    u->buf_off[!f] = u->buf_off[f] + u->buf_len[f];
    u->buf_len[!f] = 0;
    u->piped[!f] = false;
}

/* Must the body stop reading? Its slot is full enough while the other one
 * is still being written (the disk is behind), or could not be handed
 * over (the pool is full). Not after a failed write: that is answered.
 * write_err is the job's while it runs: read only when none does. */
bool upload_must_pause(const struct upload *u)
{
    return u->buf_len[u->fill] >= upload_hand_over_at(u) && (u->job_busy || !u->write_err);
}

int upload_after_failed_write(struct conn *c, struct upload *u)
{
    /* write_err is the job's while it runs: read only when none does. */
    if (u->job_busy || !u->write_err)
        return 0;
    if (u->flush_busy) {
        /* The answer must find the file dropped: wait for the flush that
         * uses it (its done resumes the body). */
        u->paused = true;
        conn_wait_io(c, NULL, NULL);
        return -1;
    }
    return upload_write_failed(c, u, u->write_err);
}

void upload_pause(struct conn *c, struct upload *u)
{
    u->paused = true;
    if (!u->job_busy)
        iopool_wait_room(u->pool, &u->room);
    conn_wait_io(c, NULL, NULL); /* the sink's on_abort covers a close */
}

/* The body is complete and neither a write nor a flush runs any more:
 * answer a failed write, or hand the commit over. */
static void upload_commit_ready(struct upload *u)
{
    struct conn *c = u->conn;
    if (u->write_err) {
        upload_refuse(c, u, upload_write_failed(c, u, u->write_err));
        conn_io_done(c);
    } else if (upload_try_commit(u) < 0) {
        upload_refuse(c, u, 503);
        conn_io_done(c);
    }
}

static void upload_write_done(struct upload *u)
{
    if (!u->conn) {
        if (!u->flush_busy)
            upload_discard(u, false);
        return; /* else the flush's done discards */
    }
    if (u->commit_wanted) {
        if (!u->flush_busy)
            upload_commit_ready(u);
        return;
    }
    upload_maybe_flush(u, u->buf_off[u->job_slot] + u->buf_len[u->job_slot]);
    upload_maybe_write(u);
    if (u->paused && (u->job_busy || !upload_must_pause(u) || u->write_err)) {
        u->paused = false;
        conn_io_done(u->conn); /* read on: a failed write is answered by on_data */
    } else if (u->paused) {
        iopool_wait_room(u->pool, &u->room); /* the pool is full: wait for room */
    }
}

static void upload_job_done(struct iopool_job *job)
{
    struct upload *u = (struct upload *)job;
    u->job_busy = false;
    switch (u->kind) {
    case UPLOAD_JOB_WRITE:
        upload_write_done(u);
        break;
    case UPLOAD_JOB_COMMIT:
        upload_commit_done(u);
        break;
    case UPLOAD_JOB_DISCARD:
        if (u->err)
            upload_log(NULL, LOG_ERROR, u->path, u->path_len, "unlink %s: %s", u->tmp_name,
                       strerror(u->err));
        upload_free(u);
        break;
    case UPLOAD_JOB_OPEN:
        upload_open_done(u);
        break;
    }
}

/* The flush's done: if the upload's other job is done too, carry on with
 * what waited for both (discard, commit, or a failed write's answer). */
static void upload_flush_done(struct iopool_job *job)
{
    struct upload *u = upload_of_flush(job);
    u->flush_busy = false;
    if (u->job_busy)
        return; /* the write's (or the commit's) done carries on */
    if (!u->conn) {
        upload_discard(u, false);
        return;
    }
    if (u->commit_wanted) {
        upload_commit_ready(u);
        return;
    }
    if (u->paused && u->write_err) {
        u->paused = false;
        conn_io_done(u->conn); /* on_data answers the failed write now */
    }
}

/* Room in the pool for the job this upload waits to hand over: the commit,
 * or the write of a paused body's buffer. */
static void upload_on_room(struct iopool_waiter *waiter)
{
    struct upload *u = (struct upload *)((char *)waiter - offsetof(struct upload, room));
    if (u->opening) {
        if (upload_submit(u, UPLOAD_JOB_OPEN) < 0)
            iopool_wait_room(u->pool, &u->room); /* taken by another meanwhile */
        return;
    }
    if (u->commit_wanted) {
        /* A write or flush still running hands the commit over from its
         * done (the commit closes the file they use): not twice. */
        if (!u->job_busy && !u->flush_busy)
            (void)upload_try_commit(u); /* waited: io_queue_full is wait */
        return;
    }
    upload_maybe_write(u);
    if (!u->job_busy) {
        iopool_wait_room(u->pool, &u->room); /* taken by another meanwhile */
        return;
    }
    if (u->paused) {
        u->paused = false;
        conn_io_done(u->conn);
    }
}

/* Copy the bytes into the buffer being filled (writing it here, on the
 * loop, only in the case that cannot happen with the sizes the directives
 * allow: more bytes than half a buffer while the other is written). */
static int upload_on_data(struct conn *c, void *ctx, const char *data, size_t len)
{
    struct upload *u = ctx;
    int failed = upload_after_failed_write(c, u);
    if (failed)
        return failed < 0 ? 0 : failed; /* a status: conn_body.c answers, on_abort */
    if (u->piped[u->fill] && u->buf_len[u->fill]) {
        /* conn_body.c never reads into its buffer once it splices. */
        upload_log(c, LOG_ERROR, u->path, u->path_len, "body bytes after a splice; 500 sent");
        return 500;
    }
    while (len > 0) {
        int f = u->fill;
        if (!u->buf[f]) {
            u->buf[f] = malloc(u->buf_cap);
            if (!u->buf[f]) {
                upload_log(c, LOG_ERROR, u->path, u->path_len, "out of memory for a buffer");
                return 503;
            }
        }
        size_t room = u->buf_cap - u->buf_len[f];
        if (room == 0) {
            /* A job may be writing the other buffer: its fields are its own. */
            int err = upload_pwrite(u->tmp_fd, u->buf[f], u->buf_len[f], u->buf_off[f]);
            if (err)
                return upload_write_failed(c, u, err);
            u->buf_off[f] += u->buf_len[f];
            u->buf_len[f] = 0;
            continue;
        }
        size_t n = len < room ? len : room;
        memcpy(u->buf[f] + u->buf_len[f], data, n);
        u->buf_len[f] += n;
        u->bytes += n;
        data += n;
        len -= n;
        upload_maybe_write(u);
    }
    if (upload_must_pause(u))
        upload_pause(c, u); /* the disk is behind: read no more for now */
    return 0;
}

static const struct conn_body_sink upload_sink = {
    .on_data = upload_on_data,
    .on_end = upload_on_end,
    .on_abort = upload_on_abort,
    .on_splice = upload_on_splice,
    .on_trailer = NULL, /* a file has no place for them: ignored */
};

/* ---- the start ---- */

/* The open job's done: answer a failure, or start reading the body. */
static void upload_open_done(struct upload *u)
{
    struct conn *c = u->conn;
    if (!c) {
        upload_discard(u, false); /* gone meanwhile: drop the new file on a thread */
        return;
    }
    int err = u->err;
    if (err == EMFILE || err == ENFILE) {
        /* Out of descriptors: a lingering connection may give one back. */
        if (!u->open_retried && server_retry_open(conn_server(c), -err)) {
            u->open_retried = true;
            if (upload_submit_or_wait(u, UPLOAD_JOB_OPEN) < 0) {
                upload_refuse(c, u, 503);
                conn_io_done(c);
            }
            return;
        }
    }
    if (err) {
        int st = u->dir_fd < 0 ? upload_status_for_dir_errno(err, false)
                               : upload_status_for_errno(err);
        if (u->dir_fd >= 0 || st == 500)
            upload_log(c, st == 507 ? LOG_WARN : LOG_ERROR, u->path, u->path_len,
                       "%s: %s; %d sent", u->failed, strerror(err), st);
        upload_discard(u, true);
        conn_resp_error(c, st, NULL);
        conn_io_done(c);
        return;
    }
    u->opening = false;
    u->start_ms = conn_now_ms(c);
    conn_io_done_read_body(c, &upload_sink, u, u->body_max);
}

void upload_store_start(struct conn *c, const struct config_location *loc, struct upload *u)
{
    struct server *srv = conn_server(c);
    u->conn = c;
    u->pool = srv->io;
    u->when_full = srv->cfg->io_queue_full;
    u->room.on_room = upload_on_room;
    u->durable = loc->upload_fsync;
    u->body_max = loc->body_max_bytes;
    u->file_mode = loc->file_mode;
    u->buf_cap = srv->cfg->upload_buffer_bytes;
    u->splice = srv->cfg->upload_splice;
    u->writeback_step = u->durable ? srv->cfg->upload_writeback_bytes : 0;
    u->dirty_max = srv->cfg->upload_dirty_max_bytes;
    u->opening = true;
    if (upload_submit_or_wait(u, UPLOAD_JOB_OPEN) < 0) {
        upload_refuse(c, u, 503); /* answered now: no wait */
        return;
    }
    conn_wait_io(c, upload_on_cancel, u);
}
