/* lru — an intrusive list ordered by last use, for the worker's caches.
 *
 * A cached item embeds a struct lru_link; the list knows only links, and
 * the cache gets its item back with LRU_ITEM (container_of). Every
 * operation is O(1) and touches no memory but the links. No allocation,
 * no locking: a cache belongs to one worker.
 */
#ifndef LINGERD_LRU_H
#define LINGERD_LRU_H

#include <stddef.h>

struct lru_link {
    struct lru_link *newer;
    struct lru_link *older;
};

struct lru_list {
    struct lru_link *oldest; /* the next to evict; NULL when empty */
    struct lru_link *newest;
};

/* The item of type that embeds link l as its field member. */
#define LRU_ITEM(l, type, member) ((type *)(void *)((char *)(l) - offsetof(type, member)))

/* Take l out of the list. */
static inline void lru_unlink(struct lru_list *list, struct lru_link *l)
{
    if (l->newer)
        l->newer->older = l->older;
    else
        list->newest = l->older;
    if (l->older)
        l->older->newer = l->newer;
    else
        list->oldest = l->newer;
    l->newer = l->older = NULL;
}

/* Put l (not in the list) at the newest end. */
static inline void lru_push_newest(struct lru_list *list, struct lru_link *l)
{
    l->older = list->newest;
    l->newer = NULL;
    if (list->newest)
        list->newest->newer = l;
    else
        list->oldest = l;
    list->newest = l;
}

/* l (in the list) was just used: make it the newest. */
static inline void lru_touch(struct lru_list *list, struct lru_link *l)
{
    if (list->newest != l) {
        lru_unlink(list, l);
        lru_push_newest(list, l);
    }
}

#endif
