/* worker — one serving process: an event loop over the shared listeners.
 *
 * A worker accepts on every listening socket (registered with
 * EPOLLEXCLUSIVE when it shares them with other workers, so one connection
 * wakes one worker), serves until told to stop, and exits. Signals:
 * SIGTERM/SIGINT stop at once; SIGQUIT stops gracefully (stop accepting,
 * finish requests in flight with "Connection: close", close idle
 * connections through a shortened lingering close, exit when none is left
 * or shutdown_timeout passes); SIGUSR1 reopens logs.
 */
#ifndef LINGERD_WORKER_H
#define LINGERD_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct config;
struct stats;
struct stats_table;
struct tls_store;

/* Serve until stopped. shared: other workers accept on the same sockets.
 * tls: the contexts of cfg's certificates, built before the privileges
 * were dropped (the keys are often readable by root only), or NULL when
 * cfg has none; borrowed, it outlives the worker. Returns the process exit
 * status (0 after a clean stop). */
int worker_run(const struct config *cfg, const int *listen_fds, size_t nfds,
               struct stats_table *table, struct stats *row, bool shared,
               struct tls_store *tls);

/* A listening socket for l (non-blocking, close-on-exec). fd or -errno. */
struct config_listen;
int worker_listen(const struct config_listen *l);

/* Options every accepted socket inherits from its listener: TCP_NODELAY
 * (responses leave whole; Nagle would only delay their last packet) and
 * TCP_LINGER2 = fin_wait2_timeout; and defer_accept on the listener.
 * Applied at start and on every reload. */
void worker_tune_listener(int fd, const struct config *cfg);

/* Drop root for cfg->user/group (workers only). 0, or -1 after logging. */
int worker_drop_privileges(const struct config *cfg);

#endif
