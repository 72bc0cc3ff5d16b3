/* proxy_internal — what proxy.c (the exchange: upstream, response, end)
 * and proxy_body.c (the request body on its way to the upstream, and the
 * request body file's deadline) share: the exchange and the calls each
 * makes of the other. Private to those two files.
 */
#ifndef LINGERD_PROXY_INTERNAL_H
#define LINGERD_PROXY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "http1.h"
#include "loop.h"
#include "proxy_trailer.h"
#include "upstream.h"

struct proxy_exchange {
    struct conn *c;
    struct server *srv;
    struct proxy_group *group;
    struct upstream_peer *peer;
    struct upstream *u;
    uint64_t start_ms;
    unsigned connect_tries;  /* upstreams tried after connect failures */
    bool retried;            /* the one retry on a fresh connection was used */
    bool idempotent;
    bool head_request;
    bool upgrade;            /* GET with Upgrade named by Connection: a tunnel may follow */
    struct http1_slice upgrade_value; /* the client's Upgrade field */
    bool body_chunked;       /* the request body goes chunked */
    bool body_ended;         /* the client's body ended (sink on_end) */
    bool body_abandoned;
    bool relaying;           /* the response head went to the client */
    bool resp_chunked;       /* we re-frame the response body as chunked */
    bool resp_trailers;      /* the answer's trailer fields can reach the client */
    struct proxy_trailer req_trailer, resp_trailer; /* each way's, as they come */
    int upstream_status;     /* for the access log; 0: none came */
    char *spill;             /* body bytes the send buffer could not take yet */
    size_t spill_len, spill_cap;
    /* Expect: 100-continue, passed on: the body is asked for once the
     * upstream says 100, or after proxy_continue_timeout */
    bool wait_continue;
    struct loop_timer continue_timer;
    uint64_t body_max;
    /* proxy_request_buffering: the body goes to this file first (spooling),
     * then to the upstream with sendfile */
    struct proxy_spool *spool;
    bool spooling;
    /* a file operation of the spool is bounded by io_wait_timeout from its
     * start or the last one's end; the timer's room is kept while spooling */
    struct loop_timer spool_timer;
    bool spool_timer_room;
};

/* ---- proxy.c ---- */

/* Answer status with the reason in the error log, and end the exchange. */
void proxy_fail(struct proxy_exchange *ex, int status, const char *reason);

/* Open a connection to ex->peer (fresh: not from the pool) and queue the
 * request head, or the failed connection's bytes (replay). */
void proxy_start_upstream(struct proxy_exchange *ex, bool fresh, const struct upstream *replay);

/* ---- proxy_body.c ---- */

/* The connection's sink for the client's body. */
extern const struct conn_body_sink proxy_body_sink;

/* Move spilled body bytes on; resume the client's body once all went. */
void proxy_drain_spill(struct proxy_exchange *ex);

/* Arm the spool's deadline when a file operation waits, disarm it when none
 * does; progressed: one ended, the wait starts again. */
void proxy_spool_watch(struct proxy_exchange *ex, bool progressed);

/* The spool's deadline passed (ex->spool_timer's callback). */
void proxy_on_spool_timer(struct loop_timer *t);

/* The spool's callback: a file operation ended. */
void proxy_spool_on_progress(void *ctx);

#endif
