/* timer — binary min-heap of deadlines keyed by (deadline_ms, seq).
 *
 * Invariants: nodes[i]->index == i for every i < len; a parent is never later
 * than its children. The array only grows (timer_heap_reserve), so arming a
 * node never allocates and cannot fail on the hot path.
 */
#include "timer.h"

#include <errno.h>
#include <stdlib.h>

void timer_heap_init(struct timer_heap *h)
{
    h->nodes = NULL;
    h->len = 0;
    h->cap = 0;
    h->next_seq = 0;
}

void timer_heap_fini(struct timer_heap *h)
{
    for (size_t i = 0; i < h->len; i++)
        h->nodes[i]->index = TIMER_NOT_ARMED;
    free(h->nodes);
    timer_heap_init(h);
}

int timer_heap_reserve(struct timer_heap *h, size_t n)
{
    if (n <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap : 64;
    while (cap < n) {
        if (cap > SIZE_MAX / 2 / sizeof *h->nodes)
            return -ENOMEM;
        cap *= 2;
    }
    struct timer_node **nodes = realloc(h->nodes, cap * sizeof *nodes);
    if (!nodes)
        return -ENOMEM;
    h->nodes = nodes;
    h->cap = cap;
    return 0;
}

static bool timer_before(const struct timer_node *a, const struct timer_node *b)
{
    if (a->deadline_ms != b->deadline_ms)
        return a->deadline_ms < b->deadline_ms;
    return a->seq < b->seq;
}

static void timer_place(struct timer_heap *h, size_t i, struct timer_node *n)
{
    h->nodes[i] = n;
    n->index = i;
}

static void timer_sift_up(struct timer_heap *h, size_t i)
{
    struct timer_node *n = h->nodes[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(n, h->nodes[parent]))
            break;
        timer_place(h, i, h->nodes[parent]);
        i = parent;
    }
    timer_place(h, i, n);
}

static void timer_sift_down(struct timer_heap *h, size_t i)
{
    struct timer_node *n = h->nodes[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && timer_before(h->nodes[child + 1], h->nodes[child]))
            child++;
        if (!timer_before(h->nodes[child], n))
            break;
        timer_place(h, i, h->nodes[child]);
        i = child;
    }
    timer_place(h, i, n);
}

void timer_arm(struct timer_heap *h, struct timer_node *n, uint64_t deadline_ms)
{
    n->deadline_ms = deadline_ms;
    n->seq = h->next_seq++;
    if (timer_is_armed(n)) {
        /* A re-armed node can move either way; its seq is now the newest. */
        timer_sift_up(h, n->index);
        timer_sift_down(h, n->index);
        return;
    }
    /* timer_heap_reserve guarantees the room; running out is our bug. */
    if (h->len >= h->cap)
        abort();
    timer_place(h, h->len++, n);
    timer_sift_up(h, n->index);
}

void timer_disarm(struct timer_heap *h, struct timer_node *n)
{
    if (!timer_is_armed(n))
        return;
    size_t i = n->index;
    n->index = TIMER_NOT_ARMED;
    struct timer_node *last = h->nodes[--h->len];
    if (i == h->len)
        return;
    timer_place(h, i, last);
    timer_sift_up(h, i);
    timer_sift_down(h, last->index);
}

struct timer_node *timer_peek(const struct timer_heap *h)
{
    return h->len ? h->nodes[0] : NULL;
}

struct timer_node *timer_pop_expired(struct timer_heap *h, uint64_t now_ms)
{
    struct timer_node *n = timer_peek(h);
    if (!n || n->deadline_ms > now_ms)
        return NULL;
    timer_disarm(h, n);
    return n;
}
