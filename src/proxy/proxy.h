/* proxy — the reverse-proxy handler: a location with proxy_pass answers its
 * requests from an upstream HTTP/1.1 server.
 *
 * Seen from the connection it is one more handler (like static.c and
 * upload.c): it reads the request body through a sink (conn_read_body) and
 * answers later (conn_defer), relaying the upstream's answer; the close of
 * both sides follows the connection's rules. docs/proxy.md is the guide.
 */
#ifndef LINGERD_PROXY_H
#define LINGERD_PROXY_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct config_location;
struct server;
struct stats_upstream;

/* Answer the current request from loc's upstreams (loc->proxy_pass set). */
void proxy_handle(struct conn *c, const struct config_location *loc);

/* Per worker: the upstream table from the configuration. 0 or -errno. */
int proxy_init(struct server *srv);
/* Close pooled connections and free the table. */
void proxy_fini(struct server *srv);
/* After each loop iteration: free upstream connections closed during it. */
void proxy_after_iteration(struct server *srv);

/* Prometheus lines for every upstream into out[0..cap), from sum (the
 * counters of every worker of this generation, by stats slot:
 * stats_table_sum_upstreams); returns the length written (truncated output
 * stays well-formed line by line). Upstreams past STATS_UPSTREAMS_MAX in
 * the configuration are not listed. */
size_t proxy_format_metrics(const struct stats_upstream *sum, char *out, size_t cap);

#endif
