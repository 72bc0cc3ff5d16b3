/* loop — the event loop: epoll readiness, deadlines and a cached clock.
 *
 * One loop per worker process, single-threaded. The loop never blocks except
 * in epoll_wait, which sleeps until the earliest deadline. The clock is read
 * once per iteration (loop_now_ms) so every handler in an iteration agrees on
 * "now" and no handler pays a syscall for it.
 */
#ifndef LINGERD_LOOP_H
#define LINGERD_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "timer.h"

struct loop;
struct loop_watch;
struct loop_timer;

typedef void loop_io_fn(struct loop_watch *w, uint32_t events);
typedef void loop_timer_fn(struct loop_timer *t);
typedef void loop_hook_fn(void *arg);

/* An fd the loop watches; embedded in its owner, found again by container_of. */
struct loop_watch {
    int fd;
    loop_io_fn *on_io;
};

/* A deadline; embedded in its owner. */
struct loop_timer {
    struct timer_node node;
    loop_timer_fn *on_expiry;
};

/* A new loop, or NULL with errno set. */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch w->fd for events (EPOLLIN, EPOLLOUT, EPOLLET, ...). 0 or -errno. */
int loop_watch(struct loop *l, struct loop_watch *w, uint32_t events);
/* Stop watching w->fd; events already fetched for it in this iteration are
 * still delivered, so owners must check their own state (conn.c does). */
void loop_unwatch(struct loop *l, struct loop_watch *w);

static inline void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn)
{
    timer_node_init(&t->node);
    t->on_expiry = fn;
}

/* Make room for n armed timers so that loop_arm cannot fail. 0 or -ENOMEM. */
int loop_reserve_timers(struct loop *l, size_t n);
/* Arm t to fire at deadline_ms (monotonic), replacing any earlier deadline. */
void loop_arm(struct loop *l, struct loop_timer *t, uint64_t deadline_ms);
void loop_disarm(struct loop *l, struct loop_timer *t);

/* Monotonic milliseconds and wall-clock seconds, read once per iteration. */
uint64_t loop_now_ms(const struct loop *l);
time_t loop_wall_s(const struct loop *l);

/* Call fn(arg) after each iteration's dispatch (deferred frees, log flush). */
void loop_set_after(struct loop *l, loop_hook_fn *fn, void *arg);

/* Make the next wait return at once (work is pending outside epoll). */
void loop_poll_next(struct loop *l);

/* Run until loop_stop. 0, or -errno if epoll_wait fails for good. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
