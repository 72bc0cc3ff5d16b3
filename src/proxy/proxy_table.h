/* proxy_table — one worker's upstreams: a group of addresses per location
 * with proxy_pass (round-robin, passive health, the keep-alive pools), made
 * from the configuration when the worker starts, and their /metrics lines.
 *
 * The groups sit at site * CONFIG_LOCATION_MAX + the location's index in its
 * site; each address has a stats slot (stats.h) numbered in the
 * configuration's order, so every worker of a generation counts an address
 * in the same slot of its shared row and /metrics sums them.
 */
#ifndef LINGERD_PROXY_TABLE_H
#define LINGERD_PROXY_TABLE_H

#include <stddef.h>

struct config_location;
struct server;
struct upstream_peer;

struct proxy_group {
    struct upstream_peer *peers;
    size_t count;
    size_t next;        /* round-robin */
    const char *prefix; /* the location's, for /metrics */
    const char *server; /* its server block's first name, for /metrics; NULL: none */
    size_t slot;        /* peers[0]'s stats slot; the others follow */
};

/* loc's group in this worker's table, or NULL (the table was made for
 * another configuration, or loc has no proxy_pass). */
struct proxy_group *proxy_table_group(const struct server *srv,
                                      const struct config_location *loc);

#endif
