/* iopool — a few threads per worker for the file calls that may block on a
 * slow disk (fsync, rename, unlink), so that the event loop never waits.
 *
 * The loop hands a job over (iopool_submit); a pool thread runs its run
 * function; the completion comes back to the loop through an eventfd the
 * loop watches (iopool_fd), and iopool_deliver calls each job's done
 * function on the loop's thread. The pool knows nothing about HTTP: uploads
 * use it today, TLS key loading and the proxy's request buffering later.
 *
 * Ownership: the job (and whatever it embeds in) belongs to its owner, who
 * must keep it alive until done has been called. A job is never dropped:
 * once submitted its run is what leaves the disk consistent, so it always
 * runs to its end and done is always called. An owner that no longer wants
 * the result (its connection went away) marks it with iopool_cancel; done
 * then sees job->cancelled and only cleans up.
 *
 * Bound: at most threads + queue_max jobs are in flight (submitted and done
 * not yet called). A full pool refuses a submit with -EAGAIN; the owner may
 * wait for room (iopool_wait_room), which is called back in order of
 * waiting as completions free room. Nothing here blocks the loop's thread
 * except iopool_drain, which is for the process's exit.
 */
#ifndef LINGERD_IOPOOL_H
#define LINGERD_IOPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct iopool;
struct iopool_job;
struct iopool_waiter;

/* On a pool thread: the blocking work. Must not touch loop-owned state. */
typedef void iopool_run_fn(struct iopool_job *job);
/* On the loop's thread, once run has returned. */
typedef void iopool_done_fn(struct iopool_job *job);
/* On the loop's thread: the pool has room for one more job. */
typedef void iopool_room_fn(struct iopool_waiter *waiter);

struct iopool_job {
    iopool_run_fn *run;
    iopool_done_fn *done;
    bool cancelled;          /* the owner no longer wants the result */
    struct iopool_job *next; /* private to the pool */
};

struct iopool_waiter {
    iopool_room_fn *on_room;
    struct iopool_waiter *next; /* private to the pool */
    bool waiting;               /* on the pool's list */
};

/* A pool of threads (>= 1) admitting queue_max waiting jobs beyond one per
 * thread. NULL with errno set. The threads block every signal. */
struct iopool *iopool_new(unsigned threads, unsigned queue_max);

/* Finish every job in flight (iopool_drain), stop and join the threads,
 * close the eventfd and free. NULL is allowed. */
void iopool_free(struct iopool *p);

/* Hand job over (job->run and job->done set). 0, or -EAGAIN when the pool
 * is full (nothing was taken). */
int iopool_submit(struct iopool *p, struct iopool_job *job);

/* The owner gives up on the result; done is still called (loop thread). */
static inline void iopool_cancel(struct iopool_job *job)
{
    job->cancelled = true;
}

/* Whether a submit would be taken now. */
bool iopool_has_room(const struct iopool *p);

/* Jobs submitted whose done has not been called yet. */
size_t iopool_in_flight(const struct iopool *p);

/* Call waiter->on_room once, when a completion frees room (waiters are
 * called in the order they began to wait; each should submit or wait
 * again). Waiting twice is a no-op. */
void iopool_wait_room(struct iopool *p, struct iopool_waiter *waiter);
/* Stop waiting (the owner goes away). A waiter not waiting is a no-op. */
void iopool_unwait_room(struct iopool *p, struct iopool_waiter *waiter);

/* The fd that becomes readable when completions are ready (for epoll). */
int iopool_fd(const struct iopool *p);

/* On the loop's thread, when iopool_fd is readable (or any time): call done
 * for every finished job, then the room waiters while there is room.
 * Returns the number of jobs delivered. */
size_t iopool_deliver(struct iopool *p);

/* Block until every job in flight is done and delivered: for a worker's
 * exit, so that no upload is left half-renamed. */
void iopool_drain(struct iopool *p);

#endif
