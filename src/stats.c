/* stats — names of the counted states and outcomes, for logs and pages. */
#include "stats.h"

#include <assert.h>

static const char *const stats_state_names[] = {
    [STATS_READ_HEAD] = "read_head",
    [STATS_READ_BODY] = "read_body",
    [STATS_RESPOND] = "respond",
    [STATS_IDLE] = "idle",
    [STATS_LINGER] = "linger",
};
static_assert(sizeof stats_state_names / sizeof stats_state_names[0] == STATS_STATE_COUNT,
              "a state without a name");

static const char *const stats_outcome_names[] = {
    [STATS_CLOSE_PLAIN] = "plain",
    [STATS_CLOSE_CLIENT_CLOSED] = "client_closed",
    [STATS_CLOSE_WENT_SILENT] = "went_silent",
    [STATS_CLOSE_STILL_SENDING] = "still_sending",
    [STATS_CLOSE_SHED] = "shed",
    [STATS_CLOSE_RESET] = "reset",
    [STATS_CLOSE_SEND_TIMEOUT] = "send_timeout",
};
static_assert(sizeof stats_outcome_names / sizeof stats_outcome_names[0] == STATS_OUTCOME_COUNT,
              "an outcome without a name");

const char *stats_state_name(enum stats_state s)
{
    return s < STATS_STATE_COUNT ? stats_state_names[s] : "?";
}

const char *stats_outcome_name(enum stats_outcome o)
{
    return o < STATS_OUTCOME_COUNT ? stats_outcome_names[o] : "?";
}
