/* outq — response byte queue: memory runs in one area, file spans by fd.
 *
 * Invariants: segs[first .. first+count) (mod OUTQ_SEGS_MAX) are unsent, in
 * order; memory segments refer to mem by offset, so growing mem with realloc
 * moves nothing that matters; consecutive memory appends extend the last
 * segment. When the queue empties, mem_len returns to 0; when a long-lived
 * queue has sent a large prefix, outq_reserve moves the unsent rest down.
 */
#include "outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "transport.h"

#define OUTQ_MIN_CAP 4096
#define OUTQ_IOV_MAX 64
/* A file span moves at most this much per call (sendfile, over TCP), so one
 * big file cannot hold the loop for long; the socket's buffer rarely takes
 * more anyway. */
#define OUTQ_SENDFILE_CHUNK (1u << 20)

static struct outq_seg *outq_seg_at(struct outq *q, unsigned i)
{
    return &q->segs[(q->first + i) % OUTQ_SEGS_MAX];
}

void outq_init(struct outq *q)
{
    /* The segment array needs no clearing: only [first, first+count) is read. */
    q->mem = NULL;
    q->mem_len = 0;
    q->mem_cap = 0;
    q->first = 0;
    q->count = 0;
    q->pending = 0;
    q->queued = 0;
}

void outq_clear(struct outq *q)
{
    for (unsigned i = 0; i < q->count; i++) {
        struct outq_seg *s = outq_seg_at(q, i);
        if (s->fd >= 0)
            close(s->fd);
    }
    q->first = 0;
    q->count = 0;
    q->pending = 0;
    q->mem_len = 0;
}

void outq_fini(struct outq *q)
{
    outq_clear(q);
    free(q->mem);
    q->mem = NULL;
    q->mem_cap = 0;
}

/* Move unsent memory down to offset 0 when the sent prefix is most of it. */
static void outq_compact(struct outq *q)
{
    size_t lowest = q->mem_len;
    for (unsigned i = 0; i < q->count; i++) {
        struct outq_seg *s = outq_seg_at(q, i);
        if (s->fd < 0 && s->off < lowest)
            lowest = (size_t)s->off;
    }
    if (lowest == 0 || lowest < q->mem_len / 2)
        return;
    memmove(q->mem, q->mem + lowest, q->mem_len - lowest);
    q->mem_len -= lowest;
    for (unsigned i = 0; i < q->count; i++) {
        struct outq_seg *s = outq_seg_at(q, i);
        if (s->fd < 0)
            s->off -= lowest;
    }
}

char *outq_reserve(struct outq *q, size_t n)
{
    if (q->mem_len + n > q->mem_cap && q->count > 0)
        outq_compact(q);
    if (q->mem_len + n > q->mem_cap) {
        size_t cap = q->mem_cap ? q->mem_cap : OUTQ_MIN_CAP;
        while (cap < q->mem_len + n) {
            if (cap > SIZE_MAX / 2)
                return NULL;
            cap *= 2;
        }
        char *mem = realloc(q->mem, cap);
        if (!mem)
            return NULL;
        q->mem = mem;
        q->mem_cap = cap;
    }
    return q->mem + q->mem_len;
}

void outq_commit(struct outq *q, size_t n)
{
    if (n == 0)
        return;
    struct outq_seg *last = q->count ? outq_seg_at(q, q->count - 1) : NULL;
    if (last && last->fd < 0 && last->off + last->len == q->mem_len) {
        last->len += n;
    } else {
        /* The connection stops queueing before the segments run out
         * (conn_output_full). */
        if (q->count >= OUTQ_SEGS_MAX)
            abort();
        struct outq_seg *s = outq_seg_at(q, q->count++);
        s->fd = -1;
        s->off = q->mem_len;
        s->len = n;
    }
    q->mem_len += n;
    q->pending += n;
    q->queued += n;
}

int outq_append(struct outq *q, const void *data, size_t n)
{
    char *p = outq_reserve(q, n);
    if (!p)
        return -ENOMEM;
    memcpy(p, data, n);
    outq_commit(q, n);
    return 0;
}

int outq_add_file(struct outq *q, int fd, uint64_t off, uint64_t len)
{
    if (q->count >= OUTQ_SEGS_MAX)
        return -ENOSPC;
    struct outq_seg *s = outq_seg_at(q, q->count++);
    s->fd = fd;
    s->off = off;
    s->len = len;
    q->pending += len;
    q->queued += len;
    return 0;
}

static void outq_pop(struct outq *q)
{
    struct outq_seg *s = outq_seg_at(q, 0);
    if (s->fd >= 0)
        close(s->fd);
    q->first = (q->first + 1) % OUTQ_SEGS_MAX;
    q->count--;
    if (q->count == 0) {
        q->first = 0;
        q->mem_len = 0;
    }
}

/* Advance past n sent bytes of the leading memory segments. */
static void outq_consume_mem(struct outq *q, size_t n)
{
    q->pending -= n;
    while (n > 0) {
        struct outq_seg *s = outq_seg_at(q, 0);
        if (n < s->len) {
            s->off += n;
            s->len -= n;
            return;
        }
        n -= (size_t)s->len;
        outq_pop(q);
    }
}

static int outq_send_mem(struct outq *q, struct transport *t, uint64_t *sent, bool fin_follows)
{
    struct iovec iov[OUTQ_IOV_MAX];
    unsigned n = 0;
    size_t total = 0;
    while (n < q->count && n < OUTQ_IOV_MAX) {
        struct outq_seg *s = outq_seg_at(q, n);
        if (s->fd >= 0)
            break;
        iov[n].iov_base = q->mem + s->off;
        iov[n].iov_len = (size_t)s->len;
        total += (size_t)s->len;
        n++;
    }
    if (n == 0)
        return 0; /* (never: the caller saw memory first; says so to the compiler) */
    /* A file right behind this head: let the kernel join them in packets.
     * The last bytes before a FIN: let the FIN ride in their segment (one
     * packet less through both stacks for every closed connection). */
    ssize_t w = transport_write(t, iov, n, n < q->count || fin_follows);
    if (w < 0)
        return (int)w;
    outq_consume_mem(q, (size_t)w);
    *sent += (uint64_t)w;
    return (size_t)w < total ? -EAGAIN : 0;
}

static int outq_send_file(struct outq *q, struct transport *t, uint64_t *sent)
{
    struct outq_seg *s = outq_seg_at(q, 0);
    size_t chunk = s->len < OUTQ_SENDFILE_CHUNK ? (size_t)s->len : OUTQ_SENDFILE_CHUNK;
    ssize_t w = transport_send_file(t, s->fd, s->off, chunk);
    if (w < 0)
        return (int)w;
    if (w == 0)
        return -EIO; /* the file shrank under us: the framing is lost */
    s->off += (uint64_t)w;
    s->len -= (uint64_t)w;
    q->pending -= (uint64_t)w;
    *sent += (uint64_t)w;
    if (s->len == 0)
        outq_pop(q);
    return 0;
}

int outq_flush(struct outq *q, struct transport *t, uint64_t *sent, bool fin_follows)
{
    *sent = 0;
    while (q->count > 0) {
        int rc = outq_seg_at(q, 0)->fd < 0 ? outq_send_mem(q, t, sent, fin_follows)
                                            : outq_send_file(q, t, sent);
        if (rc < 0)
            return rc;
    }
    return 0;
}

bool outq_front_file(const struct outq *q, int *fd, uint64_t *off, uint64_t *len)
{
    if (q->count == 0 || q->segs[q->first].fd < 0)
        return false;
    const struct outq_seg *s = &q->segs[q->first];
    *fd = s->fd;
    *off = s->off;
    *len = s->len;
    return true;
}

void outq_skip_file(struct outq *q, size_t n)
{
    struct outq_seg *s = outq_seg_at(q, 0);
    s->off += n;
    s->len -= n;
    q->pending -= n;
    if (s->len == 0)
        outq_pop(q);
}

ssize_t outq_take(struct outq *q, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len && q->count > 0) {
        struct outq_seg *s = outq_seg_at(q, 0);
        size_t want = len - done < s->len ? len - done : (size_t)s->len;
        if (s->fd < 0) {
            memcpy((char *)buf + done, q->mem + s->off, want);
            outq_consume_mem(q, want);
            done += want;
            continue;
        }
        ssize_t n;
        do
            n = pread(s->fd, (char *)buf + done, want, (off_t)s->off);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* the file shrank under us: the length sent is wrong */
        outq_skip_file(q, (size_t)n);
        done += (size_t)n;
    }
    return (ssize_t)done;
}
