/* proxy_table — one worker's upstream table and its /metrics lines; see
 * proxy_table.h. proxy_init, proxy_fini, proxy_after_iteration and
 * proxy_format_metrics are declared in proxy.h (the server's view).
 */
#include "proxy_table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "proxy.h"
#include "proxy_addr.h"
#include "server.h"
#include "stats.h"
#include "upstream.h"

#define PROXY_GROUPS_MAX (CONFIG_SERVER_MAX * CONFIG_LOCATION_MAX)
static struct proxy_group proxy_groups[PROXY_GROUPS_MAX];
static const struct config *proxy_cfg; /* the configuration the table is made from */

struct proxy_group *proxy_table_group(const struct server *srv,
                                      const struct config_location *loc)
{
    const struct config_server *site = srv->cfg->sites[loc->site];
    size_t idx = loc->site * CONFIG_LOCATION_MAX + (size_t)(loc - site->locations);
    struct proxy_group *g = &proxy_groups[idx];
    return proxy_cfg == srv->cfg && g->count > 0 ? g : NULL;
}

int proxy_init(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    proxy_fini(srv);
    proxy_cfg = cfg;
    size_t slot = 0;
    for (size_t s = 0; s < cfg->site_count; s++) {
        const struct config_server *site = cfg->sites[s];
        for (size_t i = 0; i < site->location_count; i++) {
            /* Resolved by config_finish before the workers forked: a
             * worker never asks a resolver anything. */
            const struct proxy_addr_list *list = site->locations[i].proxy_peers;
            if (!list || list->count == 0)
                continue;
            struct proxy_group *g = &proxy_groups[s * CONFIG_LOCATION_MAX + i];
            g->prefix = site->locations[i].prefix;
            g->server = cfg->server_count && site->names.n ? site->names.v[0] : NULL;
            g->peers = calloc(list->count, sizeof *g->peers);
            if (!g->peers)
                return -ENOMEM;
            for (size_t k = 0; k < list->count; k++) {
                struct upstream_peer *peer = &g->peers[k];
                peer->addr = list->v[k].addr;
                peer->addr_len = list->v[k].addr_len;
                memcpy(peer->name, list->v[k].name, sizeof peer->name);
                /* Numbered in the configuration's order: the same slot in
                 * every worker of this generation. */
                peer->st = slot < STATS_UPSTREAMS_MAX && srv->stats ? &srv->stats->upstreams[slot]
                                                                    : &peer->spare;
                memset(peer->st, 0, sizeof *peer->st);
                if (k == 0)
                    g->slot = slot;
                slot++;
                g->count++;
            }
        }
    }
    return 0;
}

void proxy_fini(struct server *srv)
{
    for (size_t i = 0; i < PROXY_GROUPS_MAX; i++) {
        struct proxy_group *g = &proxy_groups[i];
        for (size_t k = 0; k < g->count; k++)
            upstream_peer_close_idle(&g->peers[k]);
        free(g->peers);
        memset(g, 0, sizeof *g);
    }
    upstream_free_closed(srv);
    proxy_cfg = NULL;
}

void proxy_after_iteration(struct server *srv)
{
    upstream_free_closed(srv);
}

size_t proxy_format_metrics(const struct stats_upstream *sum, char *out, size_t cap)
{
    static const struct {
        const char *name, *type, *help;
    } metrics[] = {
        { "requests_total", "counter", "Requests sent to the upstream (retries included)." },
        { "failures_total", "counter", "Refused, reset or timed-out exchanges." },
        { "retries_total", "counter", "Requests sent again on a fresh connection." },
        { "time_ms_total", "counter", "Milliseconds from choosing the upstream to its answer's end." },
        { "idle_connections", "gauge", "Idle connections in the pools." },
    };
    size_t len = 0;
    bool any = false;
    for (size_t i = 0; i < PROXY_GROUPS_MAX; i++)
        any |= proxy_groups[i].count > 0;
    if (!any)
        return 0;
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
        int n = snprintf(out + len, cap - len,
                         "# HELP lingerd_upstream_%s %s (all workers)\n"
                         "# TYPE lingerd_upstream_%s %s\n",
                         metrics[m].name, metrics[m].help, metrics[m].name, metrics[m].type);
        if (n < 0 || (size_t)n >= cap - len)
            return len;
        len += (size_t)n;
        for (size_t i = 0; i < PROXY_GROUPS_MAX; i++) {
            const struct proxy_group *g = &proxy_groups[i];
            for (size_t k = 0; k < g->count && g->slot + k < STATS_UPSTREAMS_MAX; k++) {
                const struct stats_upstream *st = &sum[g->slot + k];
                uint64_t v = m == 0 ? st->requests : m == 1 ? st->failures
                           : m == 2 ? st->retries : m == 3 ? st->time_ms : st->idle_conns;
                /* With server blocks, the location's server names it too. */
                n = snprintf(out + len, cap - len,
                             "lingerd_upstream_%s{%s%s%slocation=\"%s\",upstream=\"%s\"} %llu\n",
                             metrics[m].name, g->server ? "server=\"" : "",
                             g->server ? g->server : "", g->server ? "\"," : "", g->prefix,
                             g->peers[k].name, (unsigned long long)v);
                if (n < 0 || (size_t)n >= cap - len)
                    return len;
                len += (size_t)n;
            }
        }
    }
    return len;
}
