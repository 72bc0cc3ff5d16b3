/* stats — counters and gauges one worker keeps for the status page.
 *
 * A plain struct of integers, written only by its worker's loop; readers (the
 * status page, the master) see whole 64-bit values because each counter is
 * one aligned word updated with a relaxed atomic store. Where the struct
 * lives (private memory or a shared-memory row) is the owner's choice.
 */
#ifndef LINGERD_STATS_H
#define LINGERD_STATS_H

#include <stdint.h>

/* Connection states, as counted by the gauges. Mirrors enum conn_state. */
enum stats_state {
    STATS_READ_HEAD,
    STATS_READ_BODY,
    STATS_RESPOND,
    STATS_IDLE,
    STATS_LINGER,
    STATS_PROXY_HEADER,
    STATS_WAIT_IO, /* last: the pages list it after the others */
    STATS_STATE_COUNT
};

/* How a close the server started ended. */
enum stats_outcome {
    STATS_CLOSE_PLAIN,          /* closed at once: lingering off or not needed */
    STATS_CLOSE_CLIENT_CLOSED,  /* lingered until the client's FIN */
    STATS_CLOSE_WENT_SILENT,    /* lingered until the per-read timeout */
    STATS_CLOSE_STILL_SENDING,  /* still sending at the time or byte cap */
    STATS_CLOSE_SHED,           /* shed under pressure (lingering_max_conns) */
    STATS_CLOSE_RESET,          /* the client reset the connection */
    STATS_CLOSE_SEND_TIMEOUT,   /* response could not be flushed in time */
    STATS_OUTCOME_COUNT
};

/* Why a TLS handshake failed. */
enum stats_tls_failure {
    STATS_TLS_FAIL_TIMEOUT,     /* not done within tls_handshake_timeout */
    STATS_TLS_FAIL_PLAIN_HTTP,  /* plain HTTP sent to a TLS port (answered 400) */
    STATS_TLS_FAIL_PROTOCOL,    /* refused: version, ciphers, a bad message */
    STATS_TLS_FAIL_CLOSED,      /* the client closed or reset during it */
    STATS_TLS_FAIL_COUNT
};

/* Why a connection on a proxy_protocol listener was cut before its header
 * was read: no answer is sent, the balancer sees the close. */
enum stats_proxy_failure {
    STATS_PROXY_FAIL_UNTRUSTED, /* its source is not in proxy_protocol_from */
    STATS_PROXY_FAIL_MALFORMED, /* a field breaks the syntax (or it is not a header) */
    STATS_PROXY_FAIL_OVERSIZED, /* past 107 bytes (v1) or proxy_protocol_max_bytes (v2) */
    STATS_PROXY_FAIL_TRUNCATED, /* the peer ended its stream inside the header */
    STATS_PROXY_FAIL_TIMEOUT,   /* not whole within proxy_protocol_timeout */
    STATS_PROXY_FAIL_COUNT
};

/* HTTP/2 error codes counted (RFC 9113 §7), in their numeric order. */
#define STATS_H2_CODES 14

/* The HTTP/2 abuses cut (docs/http2.md). */
enum stats_h2_abuse {
    STATS_H2_RAPID_RESET,  /* http2_max_resets */
    STATS_H2_CONTINUATION, /* http2_max_continuations */
    STATS_H2_HEADER_LIST,  /* http2_max_header_list_size: 431 */
    STATS_H2_CONTROL_FLOOD, /* http2_max_control_frames, or nghttp2's own flood limits */
    STATS_H2_STALL,        /* send_timeout with a window closed */
    STATS_H2_STREAM_IDS,   /* the client ran out of stream ids */
    STATS_H2_ABUSE_COUNT
};

const char *stats_h2_code_name(unsigned code);
const char *stats_h2_abuse_name(enum stats_h2_abuse a);

/* TLS protocol versions counted; lingerd accepts nothing older. */
enum stats_tls_version {
    STATS_TLS_V12,
    STATS_TLS_V13,
    STATS_TLS_VERSION_COUNT
};

const char *stats_state_name(enum stats_state s);
const char *stats_tls_failure_name(enum stats_tls_failure f);
const char *stats_tls_version_name(enum stats_tls_version v);
const char *stats_proxy_failure_name(enum stats_proxy_failure f);
const char *stats_outcome_name(enum stats_outcome o);

/* Upstreams counted per worker row: proxy_pass addresses numbered in the
 * order of the configuration (the same in every worker of a generation);
 * addresses past the last slot are not counted. */
#define STATS_UPSTREAMS_MAX 64

/* One upstream address's counters in one worker. */
struct stats_upstream {
    uint64_t requests;            /* sent to it, retries included */
    uint64_t failures;            /* refused, reset or timed out */
    uint64_t retries;             /* sent again on a fresh connection */
    uint64_t time_ms;             /* from choosing it to its answer's end */
    uint64_t idle_conns;          /* gauge: idle connections in the pool */
};

struct stats {
    uint64_t in_use;              /* 1 while a worker owns this row */
    uint64_t worker;              /* worker number (0..workers-1) */
    uint64_t generation;          /* configuration generation (reloads) */
    uint64_t started_s;           /* wall clock at start */
    uint64_t pid;
    uint64_t accepted;
    uint64_t requests;
    uint64_t bytes_out;
    uint64_t bytes_in;
    uint64_t conns[STATS_STATE_COUNT];   /* gauges */
    uint64_t closes[STATS_OUTCOME_COUNT];
    uint64_t client_closes;       /* closes the client started (EOF seen first) */
    uint64_t lingered;            /* half-closes done */
    uint64_t linger_discarded_bytes;
    uint64_t fin_wait2_bounded;   /* closed in FIN_WAIT_2: TCP_LINGER2 bounds them */
    uint64_t accept_errors;
    uint64_t responses_by_class[6]; /* [1]=1xx ... [5]=5xx */
    uint64_t tls_handshakes_full;
    uint64_t tls_handshakes_resumed;
    uint64_t tls_handshake_failures[STATS_TLS_FAIL_COUNT];
    uint64_t tls_versions[STATS_TLS_VERSION_COUNT];
    uint64_t tls_alpn_http11;     /* handshakes that chose http/1.1 by ALPN */
    uint64_t tls_alpn_none;       /* handshakes without ALPN */
    uint64_t tls_alpn_h2;         /* handshakes that chose h2 */
    uint64_t requests_h2;         /* of requests, those carried by HTTP/2 */
    uint64_t h2_connections;      /* connections that spoke HTTP/2 */
    uint64_t h2_streams;          /* streams opened by clients */
    uint64_t h2_goaway_sent[STATS_H2_CODES];
    uint64_t h2_goaway_received[STATS_H2_CODES];
    uint64_t h2_rst_sent[STATS_H2_CODES];
    uint64_t h2_rst_received[STATS_H2_CODES];
    uint64_t h2_discarded_bytes;  /* DATA after an early answer, thrown away */
    uint64_t h2_abuse[STATS_H2_ABUSE_COUNT];
    uint64_t gzip_cache_hits;     /* on-the-fly gzip answered from the cache */
    uint64_t gzip_cache_misses;   /* ... compressed first */
    uint64_t gzip_cache_evictions;
    uint64_t gzip_cache_bytes;    /* gauge: bytes the cache holds */
    uint64_t proxy_headers[2];    /* PROXY headers read: [0] v1, [1] v2 */
    uint64_t proxy_local;         /* of those, LOCAL or without a client address */
    uint64_t proxy_failures[STATS_PROXY_FAIL_COUNT];
    uint64_t real_ip_used;        /* requests whose address came from real_ip_header */
    struct stats_upstream upstreams[STATS_UPSTREAMS_MAX];
};

/* Rows for every worker that may run at once: the current generation and
 * those still draining after reloads. */
#define STATS_ROWS_MAX 256

/* One table per server, in shared memory made by the master before it
 * forks, so any worker's status page sees every worker. A worker writes
 * only its own row; the master folds a row into `retired` when its worker
 * exits, so totals survive worker restarts and reloads. */
struct stats_table {
    uint64_t started_s;           /* master start, wall clock */
    uint64_t master_pid;
    uint64_t generation;          /* current configuration generation */
    uint64_t reloads;
    uint64_t worker_restarts;
    uint64_t health_down;         /* 1 from SIGQUIT on: health_path fails (drain_delay) */
    struct stats retired;         /* counters of exited workers (gauges 0); its
                                   * upstreams[]: the current generation's only,
                                   * zeroed at a reload (the numbering changes) */
    struct stats rows[STATS_ROWS_MAX];
};

/* A zeroed table in MAP_SHARED anonymous memory, or NULL with errno. */
struct stats_table *stats_table_new(void);
void stats_table_free(struct stats_table *t);

/* Claim a free row for a worker; NULL if all are in use. */
struct stats *stats_table_claim(struct stats_table *t, unsigned worker, uint64_t generation,
                                uint64_t pid);
/* Fold an exited worker's counters into `retired` and free its row. */
void stats_table_release(struct stats_table *t, struct stats *row);

/* Sum every live row and the retired counters into *out (not upstreams[]). */
void stats_table_sum(const struct stats_table *t, struct stats *out);
/* Sum the upstream counters of generation's live rows, and the retired ones
 * if it is the current generation, into out[]. */
void stats_table_sum_upstreams(const struct stats_table *t, uint64_t generation,
                               struct stats_upstream out[STATS_UPSTREAMS_MAX]);
/* A new generation numbers upstreams anew: forget the retired ones (the
 * master, at a reload). */
void stats_table_new_generation(struct stats_table *t, uint64_t generation);

static inline void stats_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

static inline void stats_sub(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, *counter - n, __ATOMIC_RELAXED);
}

#endif
