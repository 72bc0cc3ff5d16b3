/* status — /server-status (HTML, and ?auto in Apache mod_status's key: value
 * form) and /metrics (Prometheus text exposition format 0.0.4).
 *
 * The pages read the shared struct stats_table: every worker's row and the
 * counters of workers that have exited, so any worker answers for all of
 * them. Reading takes no lock and never waits for a worker (each counter is
 * one aligned word, stored atomically by its writer). Rendering is pure and
 * fills a caller's bounded buffer; status_answer is the thin shell that
 * routes, checks status_allow and queues the response.
 */
#ifndef LINGERD_STATUS_H
#define LINGERD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "stats.h"

struct conn;
struct config_cidr;

enum status_page {
    STATUS_HTML,    /* for people, in a browser */
    STATUS_AUTO,    /* ?auto: Apache's "Key: value" lines */
    STATUS_METRICS, /* Prometheus */
};

/* How a TLS listener's records are encrypted. The same for every TLS
 * listener of a configuration: the ktls setting and the kernel decide. */
enum status_tls_path {
    STATUS_TLS_KTLS,        /* ktls on, the kernel offers the tls module */
    STATUS_TLS_USER_OFF,    /* OpenSSL in the worker: ktls off */
    STATUS_TLS_USER_KERNEL, /* OpenSSL in the worker: no kTLS in the kernel */
    STATUS_TLS_PATH_COUNT
};

/* "kTLS" or "user-space", for the pages and labels. */
const char *status_tls_path_name(enum status_tls_path p);

/* The path for a ktls setting and what the kernel offers. Pure. */
enum status_tls_path status_tls_path_for(bool ktls_on, bool kernel_has_ktls);

/* What the pages show besides the counters. */
struct status_view {
    const char *server_name;  /* escaped for HTML by the renderer */
    const char *version;
    time_t now_s;             /* wall clock */
    /* The connection asking is in READ_HEAD while it is answered; it is shown
     * as responding (as Apache shows its own status request, "W"). This is
     * the row it is counted in, or NULL. */
    const struct stats *self_row;
    /* The TLS listeners as written ("0.0.0.0:443"); none on a plain server. */
    const char *const *tls_listeners;
    size_t tls_listener_count;
    enum status_tls_path tls_path;
};

/* Render page for table t into out[0..cap). Pure: no I/O, no clock, no
 * malloc. Returns the length; if cap was too small the page is cut at a
 * line boundary and *truncated is set. */
size_t status_render(enum status_page page, const struct stats_table *t,
                     const struct status_view *v, char *out, size_t cap, bool *truncated);

/* Is addr (4 or 16 bytes, network order, family 4 or 6) in one of the
 * networks? An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches as IPv4. */
bool status_allowed(const struct config_cidr *list, size_t n, int family, const uint8_t *addr);

/* If the decoded path is status_path or metrics_path, answer the request
 * (200, 403, 405) and return true; otherwise false and nothing is sent. */
bool status_answer(struct conn *c, const char *path, size_t len);

#endif
