/* balancer — what a request sees of the load balancer in front: the health
 * answer a balancer's check reads (health_path), and the client address an
 * HTTP balancer names (real_ip_from, real_ip_header). The PROXY protocol,
 * which names the client for the whole connection, is conn_proxy.c's.
 */
#ifndef LINGERD_BALANCER_H
#define LINGERD_BALANCER_H

#include <stdbool.h>
#include <stddef.h>

struct conn;

/* Before routing: if the connection's address is in real_ip_from and
 * real_ip_header names a client, the request is that client's (logs,
 * status_allow). A field that does not parse is ignored, and logged. */
void balancer_apply_real_ip(struct conn *c);

/* If the decoded path is health_path, answer it and return true: 200 while
 * the server serves; 503 with Connection: close once a graceful stop, a
 * reload's drain or drain_delay has begun. */
bool balancer_answer_health(struct conn *c, const char *path, size_t len);

/* Whether health_path fails now (the server is draining, or drain_delay
 * runs). */
struct server;
bool balancer_health_down(const struct server *srv);

#endif
