/* timer — a min-heap of deadlines (one per connection).
 *
 * Pure: no clock, no I/O. The caller passes "now"; tests advance time without
 * sleeping. Keyed by (deadline_ms, seq) so equal deadlines fire in arming
 * order. Each node stores its heap index, so arm, re-arm and disarm are
 * O(log n) and the earliest deadline is O(1): nothing ever scans all nodes.
 */
#ifndef LINGERD_TIMER_H
#define LINGERD_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMER_NOT_ARMED SIZE_MAX

/* Embedded in its owner (struct conn); the heap never owns nodes. */
struct timer_node {
    uint64_t deadline_ms;
    uint64_t seq;
    size_t index; /* position in the heap, TIMER_NOT_ARMED when disarmed */
};

struct timer_heap {
    struct timer_node **nodes;
    size_t len;
    size_t cap;
    uint64_t next_seq;
};

void timer_heap_init(struct timer_heap *h);
void timer_heap_fini(struct timer_heap *h);

/* Make room for n armed nodes so that later timer_arm calls cannot fail.
 * Returns 0 or -ENOMEM. */
int timer_heap_reserve(struct timer_heap *h, size_t n);

static inline void timer_node_init(struct timer_node *n)
{
    n->index = TIMER_NOT_ARMED;
}

static inline bool timer_is_armed(const struct timer_node *n)
{
    return n->index != TIMER_NOT_ARMED;
}

/* Arm n for deadline_ms, or move it there if armed. Room must have been
 * reserved (timer_heap_reserve) for every node that may be armed at once. */
void timer_arm(struct timer_heap *h, struct timer_node *n, uint64_t deadline_ms);

/* Disarm n; harmless if it is not armed. */
void timer_disarm(struct timer_heap *h, struct timer_node *n);

/* The earliest armed node, or NULL. */
struct timer_node *timer_peek(const struct timer_heap *h);

/* Disarm and return the earliest node if its deadline is <= now_ms, else NULL. */
struct timer_node *timer_pop_expired(struct timer_heap *h, uint64_t now_ms);

#endif
