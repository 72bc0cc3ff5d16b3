/* outq — a connection's queue of response bytes: memory runs and file spans.
 *
 * Response heads and small bodies are formatted straight into one growable
 * memory area; file bodies are queued as (fd, offset, length) and leave
 * through the transport's send_file (sendfile over TCP). outq_flush sends as
 * much as the transport takes: consecutive memory runs in one write (a
 * pipelined batch leaves in one call), with "more follows" when a file
 * follows so a head and its file share packets (MSG_MORE over TCP).
 */
#ifndef LINGERD_OUTQ_H
#define LINGERD_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct transport;

#define OUTQ_SEGS_MAX 64

struct outq_seg {
    int fd;           /* -1: memory mem[off .. off+len); else a file span */
    uint64_t off;
    uint64_t len;
};

/* Owned by its connection; outq_fini closes queued fds and frees memory. */
struct outq {
    char *mem;
    size_t mem_len;
    size_t mem_cap;
    struct outq_seg segs[OUTQ_SEGS_MAX];
    unsigned first;   /* index of the oldest unsent segment */
    unsigned count;
    uint64_t pending; /* bytes queued and not yet sent */
    uint64_t queued;  /* bytes ever queued: changes with every commit or file */
};

void outq_init(struct outq *q);
void outq_fini(struct outq *q);

static inline bool outq_is_empty(const struct outq *q)
{
    return q->count == 0;
}

/* Room for n more bytes of memory; returns where to write them, or NULL with
 * -ENOMEM semantics. Bytes count once outq_commit(q, n) is called. */
char *outq_reserve(struct outq *q, size_t n);
void outq_commit(struct outq *q, size_t n);

/* Append bytes (copies). 0 or -ENOMEM. */
int outq_append(struct outq *q, const void *data, size_t n);

/* Queue len bytes of fd from off; the queue takes ownership of fd and closes
 * it once sent or at outq_fini. 0, or -ENOSPC if no segment is free (the fd is
 * then still the caller's). */
int outq_add_file(struct outq *q, int fd, uint64_t off, uint64_t len);

/* Send what the transport takes. 0: all sent. -EAGAIN: the rest waits for
 * the transport to be ready. Other -errno: the connection is broken. *sent
 * gets the bytes sent by this call. fin_follows: the caller ends the stream
 * (transport_shut_write) or closes as soon as this returns 0, so the last
 * bytes may wait for the end of stream and leave with it (MSG_MORE over TCP:
 * the FIN rides in their segment); the shutdown or close pushes them. */
int outq_flush(struct outq *q, struct transport *t, uint64_t *sent, bool fin_follows);

/* Copy up to len queued bytes from the front into buf (a file span is read
 * with pread: one copy), as a frame's payload is built (HTTP/2). Returns the
 * bytes copied (0: nothing queued), -EIO if a file ended early, or -errno. */
ssize_t outq_take(struct outq *q, void *buf, size_t len);

/* The front of the queue is a file span: its fd, offset and length. */
bool outq_front_file(const struct outq *q, int *fd, uint64_t *off, uint64_t *len);

/* The first n bytes of the front file span (n <= its length) leave the
 * queue unread: the caller read them itself (HTTP/2's read-ahead). */
void outq_skip_file(struct outq *q, size_t n);

/* Drop everything queued (closing fds) but keep the memory for reuse. */
void outq_clear(struct outq *q);


#endif
