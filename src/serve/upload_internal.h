/* upload_internal — what upload.c (the handlers: checks, directories) and
 * upload_store.c (the body's file: writes, writeback, commit on the I/O
 * threads) share. Private to upload*.c.
 */
#ifndef LINGERD_UPLOAD_INTERNAL_H
#define LINGERD_UPLOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "config.h"
#include "iopool.h"
#include "log.h"

struct conn;

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

#define UPLOAD_TMP_NAME_SIZE (sizeof UPLOAD_TMP_PREFIX + UPLOAD_TMP_RANDOM_HEX)

/* What the upload's one I/O-thread job does this time. */
enum upload_job_kind {
    UPLOAD_JOB_OPEN,    /* make missing directories (create_dirs), create the body's file */
    UPLOAD_JOB_WRITE,   /* write a full buffer; start and wait for writeback steps */
    UPLOAD_JOB_COMMIT,  /* write the last buffer, fsync, name, rename, fsync the directory */
    UPLOAD_JOB_DISCARD, /* close the file, unlink a temporary name */
};

/* One body being received. Made by upload_put/upload_post; from
 * upload_store_start on, upload_store.c owns it. Its connection holds it as
 * the sink's context (or, waiting for the commit, through conn_wait_io's
 * cancel); the I/O job holds it while job_busy. It is freed when neither
 * does: conn is NULL (the connection is gone or answered) and no job runs.
 * While job_busy, the fields marked (job) belong to the thread. */
struct upload {
    struct iopool_job job;    /* first: the job's done finds the upload */
    struct iopool_waiter room; /* waiting for room in the pool */
    struct conn *conn;        /* NULL once the connection no longer waits */
    struct iopool *pool;
    enum config_io_full when_full;
    enum upload_job_kind kind;
    bool job_busy;            /* the job is submitted and its done not called */
    bool paused;              /* the body waits for the write in flight (WAIT_IO) */
    bool commit_wanted;       /* body complete: commit once the write is done */
    bool durable;             /* upload_fsync: fsync before answering */
    bool make_dirs;           /* the directory is missing: the open job makes it */
    bool opening;             /* the open job is to run or runs: no body read yet */
    bool open_retried;        /* the file's create was tried again (out of descriptors) */
    int root_fd;              /* the document root (not owned), for make_dirs */
    size_t dir_len;           /* path[1..1+dir_len): the directory, relative to the root */
    uint64_t body_max;        /* the location's body_max_bytes */
    unsigned file_mode;       /* the location's file_mode */
    int dir_fd;               /* the target's directory, O_RDONLY (for fsync) (job) */
    int tmp_fd;               /* -1 once closed (job) */
    bool tmp_unnamed;         /* tmp_fd is an O_TMPFILE file: no name until committed */
    bool tmp_exists;          /* tmp_name is still in dir_fd: unlink on failure (job) */
    bool post;
    bool conditional;         /* PUT had preconditions: recheck the target at the end */
    bool existed;             /* the target existed when the head was checked */
    struct stat seen;         /* the target then (valid if existed) */
    uint64_t bytes;           /* body bytes received */
    /* Two slots: the loop fills one while a job writes the other. A slot's
     * bytes are in its buffer, or (spliced: upload_splice.c) in its pipe,
     * never in both: a slot changes kind only while empty. */
    char *buf[2];
    size_t buf_len[2];        /* bytes in the slot (buffer or pipe) */
    uint64_t buf_off[2];      /* the file offset of each slot's first byte */
    size_t buf_cap;           /* upload_buffer_bytes */
    int fill;                 /* the slot the loop fills */
    int write_err;            /* errno of a failed write (job); answered next */
    bool hand_over_now;       /* hand the fill slot over however little it holds */
    /* splice: a pipe per slot, made at the first splice */
    bool splice;              /* upload_splice, and not given up */
    bool piped[2];            /* the slot's bytes are in its pipe */
    int pipe_rd[2], pipe_wr[2]; /* -1: none */
    size_t pipe_cap;          /* bytes a pipe was sized for */
    /* For the log: pipes handed over full before half their size, and the
     * fewest bytes one of them held. */
    uint32_t pipes_full_early;
    size_t pipe_full_early_min;
    /* (job) the slot to write and the writeback while the body arrives */
    int job_slot;             /* its buf/buf_len/buf_off/piped stay as they are while
                               * the job runs: the loop fills only the other slot */
    uint64_t writeback_step;  /* upload_writeback_bytes; 0: all left to the fsync */
    uint64_t wb_started_to;   /* bytes before this have their writeback started */
    uint64_t written_to;      /* bytes before this were handed to the disk (waited for) */
    uint64_t dirty_max;       /* upload_dirty_max_bytes; 0: no wait */
    uint64_t write_us;        /* time the write jobs took, in all */
    /* The flush while the body arrives: a second job, on another thread,
     * fdatasync()s what is written so far, so the disk's cache is emptied
     * while the next bytes arrive instead of all at the final fsync. */
    struct iopool_job flush_job;
    bool flush_busy;          /* flush_job is submitted and its done not called */
    int flush_err;            /* errno of a failed flush (job); fails the commit */
    uint64_t flushed_to;      /* bytes before this were flushed, or are being (loop) */
    uint64_t flush_us;        /* time the flush jobs took, in all (job) */
    uint64_t start_ms;
    /* the commit's result (job) */
    int status;               /* 201, 204 or an error status */
    int err;                  /* errno of the step that failed, or 0 */
    const char *failed;       /* what failed, for the log */
    struct stat stored;       /* the new file */
    uint64_t fsync_us, rename_us;
    char tmp_name[UPLOAD_TMP_NAME_SIZE];
    size_t path_len;          /* path[0..path_len): the decoded request path */
    size_t name_off;          /* PUT: the target's name is path + name_off */
    char path[];              /* POST: room for the new name after the path */
};

/* ---- upload.c ---- */

/* out = n random lowercase hex digits and a NUL. 0 or -errno. */
int upload_random_hex(char *out, size_t n);
/* The status for an errno from writing, syncing, creating or renaming. */
int upload_status_for_errno(int err);
/* The status for an errno from upload_open_dir (a PUT or POST: 409 for a
 * missing directory; a DELETE: 404). */
int upload_status_for_dir_errno(int err, bool for_delete);
/* Open the directory rel[0..len) beneath root_fd, one component at a time,
 * never through a symlink; with create, make the missing ones (and fsync
 * their parents). May wait for the disk when it creates. fd or -errno. */
int upload_open_dir(int root_fd, const char *rel, size_t len, bool create);
/* An error-log line about the upload of path (escaped); c may be NULL once
 * the connection is gone. */
void upload_log(const struct conn *c, enum log_level level, const char *path, size_t len,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Look at name in dir_fd without following it: 0 for a regular file, 404
 * for nothing, else the status that refuses it. */
int upload_stat_target(int dir_fd, const char *name, struct stat *st);
bool upload_same_file(const struct stat *a, const struct stat *b);

/* ---- upload_file.c (on an I/O thread) ---- */

/* Create the body's file in u->dir_fd: unnamed if the file system can (sets
 * u->tmp_unnamed), else with a temporary name in u->tmp_name. fd or -errno. */
int upload_create_body_file(struct upload *u, unsigned mode);
/* Give the unnamed file u->tmp_fd a temporary name in u->dir_fd. 0 or -errno. */
int upload_name_unnamed(struct upload *u);
/* Give a POST's temporary file a new random name after the collection's
 * path, never replacing a file. 0 or -errno. */
int upload_link_new_name(struct upload *u);
/* Close the file and the directory, unlink a temporary name. The errno of
 * a failed unlink, or 0. */
int upload_drop_files(struct upload *u);

/* ---- upload_job.c (on an I/O thread) ---- */

/* Monotonic microseconds, for the log line's timings. */
uint64_t upload_clock_us(void);
/* Write data[0..len) at off of fd. 0 or an errno. */
int upload_pwrite(int fd, const char *data, size_t len, uint64_t off);
/* The upload's job (u->job): what u->kind says. */
void upload_run_job(struct iopool_job *job);
/* The upload's flush (u->flush_job): fdatasync what is written so far. */
void upload_run_flush(struct iopool_job *job);
/* The upload whose flush_job job is. */
struct upload *upload_of_flush(struct iopool_job *job);

/* ---- upload_splice.c ---- */

/* The sink's on_splice (see struct conn_body_sink). */
ssize_t upload_on_splice(struct conn *c, void *ctx, int sock, size_t max, int *status);
/* (thread) Write the job's slot: its buffer, or its pipe's bytes. 0 or an errno. */
int upload_write_slot(struct upload *u);
/* Close the pipes (the upload is freed). */
void upload_close_pipes(struct upload *u);

/* ---- upload_store.c ---- */

/* Hand the fill slot to a write job if none runs and it holds enough (or
 * anything, with hand_over_now), and switch to the other slot. */
void upload_maybe_write(struct upload *u);
/* Must the body stop reading until the write in flight is done? */
bool upload_must_pause(const struct upload *u);
/* Stop reading the body until the write in flight is done (or, the pool
 * being full, until there is room for one). */
void upload_pause(struct conn *c, struct upload *u);
/* Before taking more of the body: 0 if no write failed (or one still runs);
 * -1 if one failed and the flush in flight must end first (the body waits in
 * WAIT_IO, the flush's done resumes it); else the status that answers the
 * failed write (logged). */
int upload_after_failed_write(struct conn *c, struct upload *u);

/* On an I/O thread: make the directory if u->make_dirs, create the body's
 * file; then, on the loop, start reading the body into it. The connection
 * waits in WAIT_IO meanwhile. Owns u from here: on failure it answers and
 * frees u. */
void upload_store_start(struct conn *c, const struct config_location *loc, struct upload *u);

#endif
