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

const char *stats_state_name(enum stats_state s);
const char *stats_outcome_name(enum stats_outcome o);

struct stats {
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
};

static inline void stats_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

static inline void stats_sub(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, *counter - n, __ATOMIC_RELAXED);
}

#endif
