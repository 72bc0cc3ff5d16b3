/* server — one worker's serving state: listeners, connections, shared caches.
 *
 * A worker runs one loop; struct server holds what its connections share:
 * the configuration, the document root, the MIME table, the pool of read
 * buffers, the list of lingering connections (oldest first, for shedding),
 * the cached Date line and the counters.
 */
#ifndef LINGERD_SERVER_H
#define LINGERD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "http1.h"
#include "http2_mem.h"
#include "loop.h"
#include "stats.h"

struct conn;
struct iopool;
struct compress_cache;
struct mime_table;
struct tls_store;

struct server_listener {
    struct loop_watch watch;
    struct server *srv;
    bool paused; /* accept backs off (EMFILE) until a deadline */
    bool tls;    /* its connections speak TLS (listen ... tls) */
    bool proxy_protocol; /* its connections start with a PROXY header */
    uint32_t events;
};

/* What a worker keeps per site (config.sites[i]): its root, opened once,
 * and its own file cache (the same path names a different file on another
 * site; a cache per site keeps the lookup's key the bare path). */
struct server_site {
    int root_fd;
    struct filecache *files;   /* NULL when off */
};

struct server {
    struct loop *loop;
    const struct config *cfg;
    struct stats *stats;       /* this worker's row of table */
    struct stats_table *table; /* every worker's rows (shared memory) */
    struct mime_table *mime;
    struct server_site sites[CONFIG_SERVER_MAX]; /* cfg->site_count of them */
    struct compress_cache *gzips; /* files gzipped on the fly, keyed by inode (not by
                                   * path: one cache serves every site); NULL when off */
    struct http1_limits limits;

    struct server_listener listeners[CONFIG_LISTEN_MAX];
    size_t listener_count;
    struct loop_timer accept_retry; /* armed while accepting is paused */

    uint32_t conn_count;
    uint32_t upstream_count;   /* proxy timers armed (upstream connections, exchanges
                                * waiting for 100-continue): room kept for them */
    uint64_t next_conn_id;
    struct conn *all_first;    /* every open connection */
    struct conn *closed;       /* closed this iteration, freed after dispatch */
    struct conn *ready_first;  /* yielded with work left: resumed after dispatch */
    struct conn *linger_first; /* lingering connections, oldest first */
    struct conn *linger_last;
    uint32_t linger_count;

    /* Read buffers of the standard size, reused (STYLE §7). */
    void **buf_free;
    uint32_t buf_free_count;
    uint32_t buf_free_cap;
    uint32_t buf_size;
    /* HTTP/2 stream objects, reused (http2_request.c; allocated with the
     * first one returned, freed by http2_stream_pool_fini). */
    void **h2_stream_free;
    uint32_t h2_stream_free_count;
    /* nghttp2's small blocks, kept for the next streams (http2_mem.c). */
    struct http2_mem h2_mem;

    /* "Date: ...\r\n", rebuilt once per second. */
    time_t date_s;
    char date_line[48];
    size_t date_len;
    char keep_alive_line[48];
    size_t keep_alive_len;
    char server_line[80];
    size_t server_len;
    char hsts_line[64];        /* "Strict-Transport-Security: ...", or empty */
    size_t hsts_len;
    uint16_t https_port;       /* the first tls listener's, for https_redirect */

    struct tls_store *tls;     /* certificates, for TLS listeners (borrowed) */
    struct iopool *io;         /* threads for file calls that may block (uploads) */
    struct loop_watch io_watch; /* its completions */
    /* error_page: answers an error of a routed request with the site's page,
     * true if it did (the connection layer never includes serve/) */
    bool (*error_page)(struct conn *c, const struct config_location *loc, int status,
                       const char *extra);
    bool stopping;
    uint64_t drain_start_ms; /* when stopping began (loop clock) */
};

/* The site of a location (its server block, or the top level). */
static inline struct server_site *server_site_of(struct server *srv,
                                                 const struct config_location *loc)
{
    return &srv->sites[loc->site];
}

/* Set up srv for cfg: open each site's root, load MIME types, bind nothing (the
 * listening fds are given by server_add_listener). 0 or -errno. */
int server_init(struct server *srv, struct loop *loop, const struct config *cfg,
                struct stats_table *table, struct stats *stats);
void server_fini(struct server *srv);

/* Watch a bound, listening, non-blocking socket; shared: other processes
 * accept on it too; l: its options (tls: its connections speak TLS, and
 * srv->tls must be set; proxy_protocol). 0 or -errno. */
int server_add_listener(struct server *srv, int fd, bool shared, const struct config_listen *l);

/* Stop accepting and close every connection through its close path
 * (graceful) or at once. */
void server_stop_accepting(struct server *srv);

/* Before a graceful stop: accept what waits in the listen queues now. Those
 * connections were made before the stop, by clients that will send (with
 * defer_accept, have sent) a request; left there, a full stop resets them
 * when the listening sockets close. A reload's new workers would have taken
 * them; taking them here costs those nothing. */
void server_accept_queued(struct server *srv);
void server_close_all(struct server *srv, bool graceful);

/* Jobs of the I/O threads not yet finished and delivered (a drain waits
 * for them). */
size_t server_io_in_flight(const struct server *srv);

/* After each loop iteration: free closed connections, resume a paused
 * accept if there is room again, flush the error log. */
void server_after_iteration(struct server *srv);

/* Out of descriptors: close the oldest lingering connection (it only waits
 * for a client's FIN) so a new client or a request in hand can have its fd.
 * false if none lingers. */
bool server_shed_lingering(struct server *srv);

/* After an open that failed with rc (a negative errno): true if it was for
 * want of a descriptor (EMFILE, ENFILE) and a lingering connection gave one
 * up, so the open is worth one more try. Lingering never keeps a request in
 * hand from its answer. */
bool server_retry_open(struct server *srv, int rc);

/* Make room in the loop's timer heap for one timer per client connection
 * and per upstream connection (or exchange timer) counted now, more on top,
 * and the server's own few: arming a timer then never finds the heap full.
 * 0, or -ENOMEM. */
int server_reserve_timers(struct server *srv, size_t more);

/* The Date line for this second ("Date: ...\r\n"). */
const char *server_date_line(struct server *srv, size_t *len);

/* A work area of srv->buf_size bytes (zeroed when new), or NULL. */
void *server_buf_get(struct server *srv);
/* Keep buf for reuse; false if the pool is full (the caller frees it). */
bool server_buf_put(struct server *srv, void *buf);

#endif
