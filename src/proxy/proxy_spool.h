/* proxy_spool — a request body on its way to an unnamed temporary file
 * (proxy_request_buffering): the loop copies body bytes into memory, the
 * worker's I/O threads (iopool.h) write them to the file; the proxy sends
 * the file to the upstream with sendfile once it is whole.
 *
 * Memory: two buffers of the given size; one fills while the other is
 * written. A spool with both full takes no more bytes (room 0) until the
 * write in flight is done, which the owner hears through on_progress.
 */
#ifndef LINGERD_PROXY_SPOOL_H
#define LINGERD_PROXY_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iopool;
struct proxy_spool;

/* On the loop's thread, after a write to the file finished: room may be
 * back, the spool may be complete, or it failed (proxy_spool_error). */
typedef void proxy_spool_fn(void *ctx);

/* An unnamed file in dir (O_TMPFILE; else a name removed at once), opened
 * on an I/O thread: bytes may be put at once, a failed open comes back
 * through on_progress (proxy_spool_error). dir must outlive the spool. NULL
 * with errno set (no memory). */
struct proxy_spool *proxy_spool_open(struct iopool *pool, const char *dir, size_t buf_bytes,
                                     proxy_spool_fn *on_progress, void *ctx);
/* Bytes proxy_spool_put takes now. */
size_t proxy_spool_room(const struct proxy_spool *s);
/* Append len <= proxy_spool_room bytes. */
void proxy_spool_put(struct proxy_spool *s, const char *data, size_t len);
/* No more bytes: write what is left. */
void proxy_spool_end(struct proxy_spool *s);
/* Ended and every byte is in the file. */
bool proxy_spool_is_complete(const struct proxy_spool *s);
/* 0, or the errno of a failed write. */
int proxy_spool_error(const struct proxy_spool *s);
/* The file and its size, for sendfile. */
int proxy_spool_fd(const struct proxy_spool *s);
uint64_t proxy_spool_size(const struct proxy_spool *s);
/* Whether a file operation (open, write) runs or waits for the pool: how
 * long it takes is the owner's to bound. */
bool proxy_spool_is_waiting(const struct proxy_spool *s);
/* The owner is done: on_progress is not called any more; the file is
 * closed on an I/O thread (after the job in flight, if any) and the spool
 * freed then. NULL is allowed. */
void proxy_spool_close(struct proxy_spool *s);

#endif
