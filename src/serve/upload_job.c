/* upload_job — what an upload's jobs do on an I/O thread: write a slot
 * (with the writeback it starts and the wait past upload_dirty_max_bytes),
 * flush what is written so far, open the body's file, and commit it
 * (fsync, name, rename, fsync the directory). Every function here may wait
 * for the disk and runs on an I/O thread; none touches the connection.
 *
 * Leaves out: when a job is handed over and what its done does on the loop
 * (upload_store.c), the file's names (upload_file.c), the pipes of a
 * spliced body (upload_splice.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "upload_internal.h"

uint64_t upload_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Write data[0..len) at off of fd. 0 or an errno. */
int upload_pwrite(int fd, const char *data, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, data, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO; /* 0 for a regular file: never loop on it */
        data += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* (thread) Once a step's worth is written since the last start: start the
 * writeback of it, without waiting (a wait here stops this job, so the
 * other buffer fills and the body stops reading: measured, waiting for the
 * step before each time doubled the writes' time and cost a quarter of the
 * throughput). Only once a step more than upload_dirty_max_bytes is
 * written but not waited for does the job wait, for the oldest of it: the
 * body never gets further ahead of the disk than that. The flushes on the other
 * thread write most of it meanwhile, so the wait is usually for pages
 * already written. A failure shows again at the fsync, which decides the
 * answer. */
static void upload_writeback(struct upload *u, uint64_t end)
{
    if (!u->writeback_step)
        return;
    if (end - u->wb_started_to >= u->writeback_step) {
        (void)sync_file_range(u->tmp_fd, (off_t)u->wb_started_to,
                              (off_t)(end - u->wb_started_to), SYNC_FILE_RANGE_WRITE);
        u->wb_started_to = end;
    }
    /* Waited for a step at a time: one call per step, not per buffer. */
    if (u->dirty_max && end - u->written_to >= u->dirty_max + u->writeback_step) {
        uint64_t to = end - u->dirty_max;
        (void)sync_file_range(u->tmp_fd, (off_t)u->written_to, (off_t)(to - u->written_to),
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                  SYNC_FILE_RANGE_WAIT_AFTER);
        u->written_to = to;
    }
}

struct upload *upload_of_flush(struct iopool_job *job)
{
    return (struct upload *)((char *)job - offsetof(struct upload, flush_job));
}

/* (thread) Put what is written so far on the disk itself: fdatasync writes
 * what is still dirty and empties the disk's write cache. Its error is
 * kept for the commit: the kernel reports a writeback error once per file
 * descriptor, so the final fsync may not see it again. */
void upload_run_flush(struct iopool_job *job)
{
    struct upload *u = upload_of_flush(job);
    uint64_t t0 = upload_clock_us();
    if (fdatasync(u->tmp_fd) < 0 && !u->flush_err)
        u->flush_err = errno;
    u->flush_us += upload_clock_us() - t0;
}

/* (thread) A step of the commit failed with err: keep what the answer and
 * the log need, and leave nothing behind. */
static void upload_commit_failed(struct upload *u, const char *what, int err, int status)
{
    u->failed = what;
    u->err = err;
    u->status = status;
    (void)upload_drop_files(u);
}

/* (thread) Make the received body the target: write the last buffer,
 * fsync, name, rename, fsync the directory. Sets u->status (201, 204 or an
 * error) and u->stored. */
static void upload_run_commit(struct upload *u)
{
    int err = upload_write_slot(u);
    if (err) {
        upload_commit_failed(u, "write", err, upload_status_for_errno(err));
        return;
    }
    if (u->flush_err) {
        upload_commit_failed(u, "fdatasync", u->flush_err, upload_status_for_errno(u->flush_err));
        return;
    }
    uint64_t t0 = upload_clock_us();
    if ((u->durable && fsync(u->tmp_fd) < 0) || fstat(u->tmp_fd, &u->stored) < 0) {
        /* ENOSPC may first show here, for a file system that allocates late. */
        upload_commit_failed(u, "fsync", errno, upload_status_for_errno(errno));
        return;
    }
    uint64_t t1 = upload_clock_us();
    u->fsync_us = t1 - t0;
    int rc;
    if (u->tmp_unnamed) {
        rc = upload_name_unnamed(u);
        if (rc < 0) {
            upload_commit_failed(u, "naming the unnamed file", -rc, upload_status_for_errno(-rc));
            return;
        }
    }
    rc = close(u->tmp_fd);
    u->tmp_fd = -1;
    if (rc < 0) {
        upload_commit_failed(u, "close", errno, upload_status_for_errno(errno));
        return;
    }

    if (u->post) {
        rc = upload_link_new_name(u);
        if (rc < 0) {
            upload_commit_failed(u, "naming the new file", -rc, upload_status_for_errno(-rc));
            return;
        }
        u->path_len = u->name_off + UPLOAD_POST_NAME_HEX;
        u->status = 201;
    } else {
        const char *name = u->path + u->name_off;
        struct stat now;
        int pre = upload_stat_target(u->dir_fd, name, &now);
        if (pre != 0 && pre != 404) {
            upload_commit_failed(u, NULL, 0, pre); /* a directory or a symlink meanwhile */
            return;
        }
        bool exists = pre == 0;
        /* A conditional PUT was checked against the file as it was when the
         * head arrived. If it changed while the body came in, the condition
         * no longer holds: do not overwrite the change (lost update). */
        if (u->conditional &&
            (exists != u->existed || (exists && !upload_same_file(&now, &u->seen)))) {
            upload_commit_failed(u, NULL, 0, 412);
            return;
        }
        if (renameat(u->dir_fd, u->tmp_name, u->dir_fd, name) < 0) {
            upload_commit_failed(u, "rename", errno, upload_status_for_errno(errno));
            return;
        }
        u->status = exists ? 204 : 201;
    }
    u->tmp_exists = false;
    if (u->durable && fsync(u->dir_fd) < 0) {
        /* The new file is in place but may not survive a crash: say so,
         * and let the client retry (PUT is idempotent). */
        u->failed = "fsync of the directory";
        u->err = errno;
        u->status = 500;
    }
    u->rename_us = upload_clock_us() - t1;
}

/* (thread) The start: make the missing directories (create_dirs: mkdir and
 * the fsync of each parent), then create the body's file. On failure
 * u->err and u->failed say what; the done answers. */
static void upload_run_open(struct upload *u)
{
    u->err = 0;
    u->failed = NULL;
    if (u->dir_fd < 0) {
        int fd = upload_open_dir(u->root_fd, u->path + 1, u->dir_len, true);
        if (fd < 0) {
            u->err = -fd;
            u->failed = "making the directory";
            return;
        }
        u->dir_fd = fd;
    }
    int fd = upload_create_body_file(u, u->file_mode);
    if (fd < 0) {
        u->err = -fd;
        u->failed = "temporary file";
        return;
    }
    u->tmp_fd = fd;
    u->tmp_exists = !u->tmp_unnamed;
}

void upload_run_job(struct iopool_job *job)
{
    struct upload *u = (struct upload *)job;
    uint64_t t0 = upload_clock_us();
    switch (u->kind) {
    case UPLOAD_JOB_WRITE:
        u->write_err = upload_write_slot(u);
        if (!u->write_err)
            upload_writeback(u, u->buf_off[u->job_slot] + u->buf_len[u->job_slot]);
        u->write_us += upload_clock_us() - t0;
        break;
    case UPLOAD_JOB_COMMIT:
        upload_run_commit(u);
        break;
    case UPLOAD_JOB_DISCARD:
        u->err = upload_drop_files(u);
        break;
    case UPLOAD_JOB_OPEN:
        upload_run_open(u);
        break;
    }
}
