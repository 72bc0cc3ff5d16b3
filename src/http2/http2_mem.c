/* http2_mem — the allocator a worker gives its nghttp2 sessions.
 *
 * Why: nghttp2 allocates and frees a few small blocks for every stream (on
 * the 1 KiB h2 workload (o): five a request, of 53, 152, 152, 224 and 332
 * bytes, counted through an nghttp2_mem), through malloc/free by default. glibc spent about 80 instructions a call there,
 * 950 a request; these lists spend about 15 (callgrind, bench/run's (o):
 * 24,230 -> 23,350 instructions a request). The blocks a stream frees are
 * the ones the next stream asks for.
 *
 * How: a block is a 16-byte header and the caller's bytes. Blocks up to
 * HTTP2_MEM_CLASSES steps of HTTP2_MEM_STEP_BYTES (header included) belong
 * to the class of their rounded size; a freed one goes on its class's list
 * if the lists then hold at most keep_max_bytes, else back to libc. Larger requests go to libc, the header marking them large. The
 * header carries the class, so free and realloc need no size from nghttp2
 * (its free gives none), and realloc is right for any block: a small one
 * stays put while the new size fits it, else moves.
 *
 * What not: no thread safety (one worker's loop is the only caller of its
 * sessions' nghttp2 calls; the iopool threads never touch a session), no
 * return of kept memory on idle (the cap bounds it), no pooling for
 * OpenSSL (its allocator is process-wide and shared with everything else).
 * Under AddressSanitizer every call goes straight to libc, so a use after
 * free or an overflow in nghttp2's or our use of these blocks is reported.
 */
#include "http2_mem.h"

#include <assert.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The class of a block too large for the lists. */
#define HTTP2_MEM_LARGE SIZE_MAX

/* In front of every block: 16 bytes, so the caller's bytes keep malloc's
 * alignment. */
struct http2_mem_head {
    size_t cls; /* class index, or HTTP2_MEM_LARGE */
    union {
        void *next;         /* on a free list: the next block of its class */
        size_t large_bytes; /* large: the caller's size */
    } u;
};
#define HTTP2_MEM_HEAD_BYTES sizeof(struct http2_mem_head)
static_assert(sizeof(struct http2_mem_head) == 16, "block header is 16 bytes");
static_assert(alignof(max_align_t) <= 16, "the caller's bytes keep malloc's alignment");
#define HTTP2_MEM_SMALL_MAX (HTTP2_MEM_CLASSES * HTTP2_MEM_STEP_BYTES - HTTP2_MEM_HEAD_BYTES)

void http2_mem_init(struct http2_mem *m, size_t keep_max_bytes)
{
    memset(m, 0, sizeof *m);
    m->keep_max_bytes = keep_max_bytes;
}

void http2_mem_fini(struct http2_mem *m)
{
    for (size_t i = 0; i < HTTP2_MEM_CLASSES; i++) {
        struct http2_mem_head *h = m->free_first[i];
        while (h) {
            struct http2_mem_head *next = h->u.next;
            free(h);
            h = next;
        }
        m->free_first[i] = NULL;
    }
    m->kept_bytes = 0;
}

bool http2_mem_keeps_blocks(void)
{
#ifdef HTTP2_ASAN
    return false;
#else
    return true;
#endif
}

#ifdef HTTP2_ASAN

static void *http2_mem_malloc(size_t n, void *user)
{
    (void)user;
    return malloc(n);
}

static void http2_mem_free_block(void *p, void *user)
{
    (void)user;
    free(p);
}

static void *http2_mem_calloc(size_t count, size_t n, void *user)
{
    (void)user;
    if (n && count > SIZE_MAX / n)
        return NULL; /* as below (ASan's calloc would abort instead) */
    return calloc(count, n);
}

static void *http2_mem_realloc(void *p, size_t n, void *user)
{
    (void)user;
    return realloc(p, n);
}

#else

/* The bytes of a whole block of class cls, header included. */
static size_t http2_mem_class_bytes(size_t cls)
{
    return (cls + 1) * HTTP2_MEM_STEP_BYTES;
}

static struct http2_mem_head *http2_mem_head_of(void *p)
{
    return (struct http2_mem_head *)((char *)p - HTTP2_MEM_HEAD_BYTES);
}

static void *http2_mem_malloc(size_t n, void *user)
{
    struct http2_mem *m = user;
    struct http2_mem_head *h;
    if (n <= HTTP2_MEM_SMALL_MAX) {
        size_t cls = (n + HTTP2_MEM_HEAD_BYTES - 1) / HTTP2_MEM_STEP_BYTES;
        h = m->free_first[cls];
        if (h) {
            m->free_first[cls] = h->u.next;
            m->kept_bytes -= http2_mem_class_bytes(cls);
        } else {
            h = malloc(http2_mem_class_bytes(cls));
            if (!h)
                return NULL;
            h->cls = cls;
        }
        return h + 1;
    }
    if (n > SIZE_MAX - HTTP2_MEM_HEAD_BYTES)
        return NULL;
    h = malloc(HTTP2_MEM_HEAD_BYTES + n);
    if (!h)
        return NULL;
    h->cls = HTTP2_MEM_LARGE;
    h->u.large_bytes = n;
    return h + 1;
}

static void http2_mem_free_block(void *p, void *user)
{
    struct http2_mem *m = user;
    if (!p)
        return;
    struct http2_mem_head *h = http2_mem_head_of(p);
    if (h->cls != HTTP2_MEM_LARGE) {
        size_t bytes = http2_mem_class_bytes(h->cls);
        if (m->kept_bytes + bytes <= m->keep_max_bytes) {
            h->u.next = m->free_first[h->cls];
            m->free_first[h->cls] = h;
            m->kept_bytes += bytes;
            return;
        }
    }
    free(h);
}

static void *http2_mem_calloc(size_t count, size_t n, void *user)
{
    if (n && count > SIZE_MAX / n)
        return NULL;
    void *p = http2_mem_malloc(count * n, user);
    if (p)
        memset(p, 0, count * n); /* a kept block holds its last user's bytes */
    return p;
}

static void *http2_mem_realloc(void *p, size_t n, void *user)
{
    if (!p)
        return http2_mem_malloc(n, user);
    struct http2_mem_head *h = http2_mem_head_of(p);
    size_t old_bytes;
    if (h->cls == HTTP2_MEM_LARGE) {
        if (n > HTTP2_MEM_SMALL_MAX) {
            if (n > SIZE_MAX - HTTP2_MEM_HEAD_BYTES)
                return NULL;
            struct http2_mem_head *moved = realloc(h, HTTP2_MEM_HEAD_BYTES + n);
            if (!moved)
                return NULL;
            moved->u.large_bytes = n;
            return moved + 1;
        }
        old_bytes = h->u.large_bytes;
    } else {
        old_bytes = http2_mem_class_bytes(h->cls) - HTTP2_MEM_HEAD_BYTES;
        if (n <= old_bytes)
            return p; /* it fits: nothing moves (a shrunk block keeps its class) */
    }
    void *q = http2_mem_malloc(n, user);
    if (!q)
        return NULL; /* p is left as it was, as realloc leaves it */
    memcpy(q, p, old_bytes < n ? old_bytes : n);
    http2_mem_free_block(p, user);
    return q;
}

#endif

nghttp2_mem http2_mem_nghttp2(struct http2_mem *m)
{
    return (nghttp2_mem){
        .mem_user_data = m,
        .malloc = http2_mem_malloc,
        .free = http2_mem_free_block,
        .calloc = http2_mem_calloc,
        .realloc = http2_mem_realloc,
    };
}
