/* loop — epoll wait and dispatch, deadlines from the timer heap, cached clock.
 *
 * One iteration: sleep in epoll_wait until an fd is ready or the earliest
 * deadline; read the clock once; dispatch every ready fd; then pop every
 * expired deadline first and call the handlers after (a handler may re-arm
 * its own or another's timer; a node re-armed meanwhile is not called); then
 * run the after-hook (deferred frees). Nothing here scans all connections.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_EVENTS_PER_WAIT 256
/* Deadlines handled per iteration; the rest fire in the next one, with a
 * zero wait, so a burst of expiries cannot starve ready sockets. */
#define LOOP_EXPIRIES_PER_ITERATION 1024

struct loop {
    int epfd;
    bool stopping;
    bool poll_next;
    uint64_t now_ms;
    time_t wall_s;
    struct timer_heap timers;
    loop_hook_fn *after;
    void *after_arg;
    struct epoll_event events[LOOP_EVENTS_PER_WAIT];
    struct timer_node *expired[LOOP_EXPIRIES_PER_ITERATION];
};

static void loop_read_clock(struct loop *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    l->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    l->wall_s = ts.tv_sec;
}

struct loop *loop_new(void)
{
    struct loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        int e = errno;
        free(l);
        errno = e;
        return NULL;
    }
    timer_heap_init(&l->timers);
    loop_read_clock(l);
    return l;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    close(l->epfd);
    timer_heap_fini(&l->timers);
    free(l);
}

int loop_watch(struct loop *l, struct loop_watch *w, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = w };
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

void loop_unwatch(struct loop *l, struct loop_watch *w)
{
    /* Fails only if the fd was never watched; closing it would drop it too. */
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int loop_reserve_timers(struct loop *l, size_t n)
{
    return timer_heap_reserve(&l->timers, n);
}

void loop_arm(struct loop *l, struct loop_timer *t, uint64_t deadline_ms)
{
    timer_arm(&l->timers, &t->node, deadline_ms);
}

void loop_disarm(struct loop *l, struct loop_timer *t)
{
    timer_disarm(&l->timers, &t->node);
}

uint64_t loop_now_ms(const struct loop *l)
{
    return l->now_ms;
}

time_t loop_wall_s(const struct loop *l)
{
    return l->wall_s;
}

void loop_set_after(struct loop *l, loop_hook_fn *fn, void *arg)
{
    l->after = fn;
    l->after_arg = arg;
}

void loop_stop(struct loop *l)
{
    l->stopping = true;
}

void loop_poll_next(struct loop *l)
{
    l->poll_next = true;
}

static int loop_wait_ms(struct loop *l)
{
    if (l->poll_next) {
        l->poll_next = false;
        return 0;
    }
    const struct timer_node *first = timer_peek(&l->timers);
    if (!first)
        return -1;
    if (first->deadline_ms <= l->now_ms)
        return 0;
    uint64_t wait = first->deadline_ms - l->now_ms;
    return wait > 60000 ? 60000 : (int)wait;
}

static void loop_fire_expired(struct loop *l)
{
    size_t n = 0;
    struct timer_node *node;
    while (n < LOOP_EXPIRIES_PER_ITERATION &&
           (node = timer_pop_expired(&l->timers, l->now_ms)) != NULL)
        l->expired[n++] = node;
    for (size_t i = 0; i < n; i++) {
        node = l->expired[i];
        if (timer_is_armed(node))
            continue; /* re-armed by an earlier handler in this batch */
        struct loop_timer *t = (struct loop_timer *)((char *)node - offsetof(struct loop_timer, node));
        t->on_expiry(t);
    }
}

int loop_run(struct loop *l)
{
    while (!l->stopping) {
        int n = epoll_wait(l->epfd, l->events, LOOP_EVENTS_PER_WAIT, loop_wait_ms(l));
        if (n < 0 && errno != EINTR)
            return -errno;
        loop_read_clock(l);
        for (int i = 0; i < n; i++) {
            struct loop_watch *w = l->events[i].data.ptr;
            w->on_io(w, l->events[i].events);
        }
        loop_fire_expired(l);
        if (l->after)
            l->after(l->after_arg);
    }
    return 0;
}
