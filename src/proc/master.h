/* master — the supervising process: sockets, workers, reload, upgrade. */
#ifndef LINGERD_MASTER_H
#define LINGERD_MASTER_H

struct cli;
struct config;

/* Run the master until it stops. cfg is heap-allocated and becomes the
 * master's (freed at exit); cli is kept to rebuild the configuration on
 * SIGHUP; argv is reused to start a new binary on SIGUSR2. Returns the
 * process exit status. */
int master_run(const struct cli *cli, struct config *cfg, char **argv);

/* Raise RLIMIT_NOFILE to cfg->rlimit_nofile (as far as allowed). */
void master_raise_nofile(const struct config *cfg);

#endif
