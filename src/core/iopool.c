/* iopool — blocking file calls on a few threads, completions through an
 * eventfd (the interface and the ownership rules are in iopool.h).
 *
 * Two lists under one mutex: the queue of submitted jobs (FIFO, taken by
 * the threads) and the list of finished ones (taken by the loop in
 * iopool_deliver). The in-flight count and the room waiters are the loop's
 * alone: only its thread submits and delivers, so they need no lock. A
 * thread that finishes a job adds one to the eventfd; the loop, woken by
 * epoll, reads it to zero and delivers everything finished so far.
 *
 * Leaves out: priorities, per-job timeouts (a blocked fsync cannot be
 * interrupted; the connection's own deadline bounds the client's wait), and
 * growing the thread count under load.
 */
#include "iopool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

/* A thread only calls the kernel and a job's run function: a small stack
 * is plenty and keeps a worker's address space lean. */
#define IOPOOL_STACK_BYTES (256 * 1024)
/* How much lower than the loop the threads run (a nice increment). */
#define IOPOOL_NICE 10

struct iopool {
    pthread_mutex_t lock;
    pthread_cond_t work;        /* signalled when the queue gains a job or on stop */
    struct iopool_job *queue_first, *queue_last; /* submitted, not yet running */
    struct iopool_job *finished; /* run returned; done not called (LIFO) */
    bool stopping;
    /* the loop's thread only */
    size_t in_flight;
    size_t capacity;            /* threads + queue_max */
    struct iopool_waiter *wait_first, *wait_last;
    int efd;
    unsigned thread_count;
    pthread_t threads[];
};

static void *iopool_thread(void *arg)
{
    struct iopool *p = arg;
    /* The loop comes first: a thread busy copying an upload into the page
     * cache must not keep the loop off a shared core (measured with
     * bench/upload_stall.sh on two cores: GETs waited tens of ms behind
     * these threads at the same priority). Linux nices threads one by one;
     * failing to is harmless. */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), IOPOOL_NICE);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->queue_first && !p->stopping)
            pthread_cond_wait(&p->work, &p->lock);
        struct iopool_job *job = p->queue_first;
        if (!job)
            break; /* stopping with nothing queued */
        p->queue_first = job->next;
        if (!p->queue_first)
            p->queue_last = NULL;
        pthread_mutex_unlock(&p->lock);

        job->run(job);

        pthread_mutex_lock(&p->lock);
        job->next = p->finished;
        p->finished = job;
        uint64_t one = 1;
        /* Cannot fail short of the counter's overflow (2^64 - 2 jobs). */
        (void)!write(p->efd, &one, sizeof one);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct iopool *iopool_new(unsigned threads, unsigned queue_max)
{
    if (threads == 0) {
        errno = EINVAL;
        return NULL;
    }
    struct iopool *p = calloc(1, sizeof *p + threads * sizeof p->threads[0]);
    if (!p)
        return NULL;
    p->capacity = (size_t)threads + queue_max;
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0)
        goto out_free;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, IOPOOL_STACK_BYTES);
    /* Signals are the loop's (signalfd): the threads inherit a full mask. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (; p->thread_count < threads; p->thread_count++) {
        rc = pthread_create(&p->threads[p->thread_count], &attr, iopool_thread, p);
        if (rc != 0)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        iopool_free(p);
        errno = rc;
        return NULL;
    }
    return p;

out_free:
    free(p);
    return NULL;
}

void iopool_free(struct iopool *p)
{
    if (!p)
        return;
    iopool_drain(p);
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->thread_count; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    close(p->efd);
    free(p);
}

bool iopool_has_room(const struct iopool *p)
{
    return p->in_flight < p->capacity;
}

size_t iopool_in_flight(const struct iopool *p)
{
    return p->in_flight;
}

int iopool_submit(struct iopool *p, struct iopool_job *job)
{
    if (!iopool_has_room(p))
        return -EAGAIN;
    job->cancelled = false;
    job->next = NULL;
    p->in_flight++;
    pthread_mutex_lock(&p->lock);
    if (p->queue_last)
        p->queue_last->next = job;
    else
        p->queue_first = job;
    p->queue_last = job;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void iopool_wait_room(struct iopool *p, struct iopool_waiter *waiter)
{
    if (waiter->waiting)
        return;
    waiter->waiting = true;
    waiter->next = NULL;
    if (p->wait_last)
        p->wait_last->next = waiter;
    else
        p->wait_first = waiter;
    p->wait_last = waiter;
}

void iopool_unwait_room(struct iopool *p, struct iopool_waiter *waiter)
{
    if (!waiter->waiting)
        return;
    struct iopool_waiter *prev = NULL;
    for (struct iopool_waiter *w = p->wait_first; w; prev = w, w = w->next) {
        if (w != waiter)
            continue;
        if (prev)
            prev->next = w->next;
        else
            p->wait_first = w->next;
        if (p->wait_last == w)
            p->wait_last = prev;
        break;
    }
    waiter->waiting = false;
}

int iopool_fd(const struct iopool *p)
{
    return p->efd;
}

size_t iopool_deliver(struct iopool *p)
{
    uint64_t count;
    (void)!read(p->efd, &count, sizeof count); /* EAGAIN: nothing new, fine */
    pthread_mutex_lock(&p->lock);
    struct iopool_job *list = p->finished;
    p->finished = NULL;
    pthread_mutex_unlock(&p->lock);

    /* The list is newest first: reverse it, so completions are delivered
     * in the order they finished. */
    struct iopool_job *ordered = NULL;
    while (list) {
        struct iopool_job *next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    size_t n = 0;
    while (ordered) {
        struct iopool_job *job = ordered;
        ordered = job->next;
        p->in_flight--;
        n++;
        job->done(job); /* may free the job, or submit it again */
    }
    /* Waiters are called in order while there is room, each taken off the
     * list first: it may submit (using the room) or wait again, behind the
     * others. Only as many calls as there are waiters now, so one that
     * waits again cannot keep this loop going. */
    size_t waiting = 0;
    for (const struct iopool_waiter *w = p->wait_first; w; w = w->next)
        waiting++;
    while (waiting-- > 0 && p->wait_first && iopool_has_room(p)) {
        struct iopool_waiter *w = p->wait_first;
        p->wait_first = w->next;
        if (!p->wait_first)
            p->wait_last = NULL;
        w->waiting = false;
        w->on_room(w);
    }
    return n;
}

void iopool_drain(struct iopool *p)
{
    while (p->in_flight > 0) {
        struct pollfd pfd = { .fd = p->efd, .events = POLLIN };
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            break; /* cannot happen with a valid fd; do not spin */
        iopool_deliver(p);
    }
}
