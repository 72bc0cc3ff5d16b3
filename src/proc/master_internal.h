/* master_internal — what the master's files share: struct master and its
 * workers and sockets. master.c supervises (workers, reload, stop, signals),
 * master_sockets.c keeps the listening sockets, master_upgrade.c starts a
 * new binary on SIGUSR2 and keeps the pid file. Private to master*.c: the
 * rest of the server uses master.h.
 */
#ifndef LINGERD_MASTER_INTERNAL_H
#define LINGERD_MASTER_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"
#include "loop.h"

struct cli;
struct stats;
struct stats_table;
struct tls_store;
struct tls_tickets;

#define MASTER_WORKERS_MAX 128
/* systemd's first passed descriptor (sd_listen_fds(3)): LISTEN_FDS counts from here. */
#define MASTER_SD_LISTEN_FDS_START 3

struct master_socket {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int fd;
    char text[80];
};

struct master_worker {
    pid_t pid;               /* 0: slot free */
    unsigned index;          /* worker number within its generation */
    uint64_t generation;
    uint64_t started_ms;
    uint64_t delay_ms;       /* back-off before the next restart */
    bool retiring;           /* SIGQUIT sent: draining, not to be restarted */
    uint64_t retired_ms;     /* when SIGQUIT was sent */
    struct stats *row;
    struct loop_timer restart;
};

struct master {
    const struct cli *cli;
    struct config *cfg;      /* current generation's configuration */
    struct config *old_cfgs[8];
    struct loop *loop;
    struct loop_watch signals;
    struct loop_timer grace;
    struct loop_timer drain_delay; /* armed from SIGQUIT until the graceful stop */
    struct loop_timer ticket_rotation;
    struct tls_tickets *tickets; /* shared with every worker, across reloads */
    struct tls_store *tls;   /* current generation's certificates; NULL: none */
    struct stats_table *table;
    struct master_socket sockets[CONFIG_LISTEN_MAX];
    size_t socket_count;
    int inherited[CONFIG_LISTEN_MAX];
    size_t inherited_count;
    struct master_worker workers[MASTER_WORKERS_MAX];
    unsigned worker_count;   /* workers wanted in the current generation */
    uint64_t generation;
    bool stopping;
    char exe[PATH_MAX];
    char **argv;
    pid_t upgrade_pid;       /* the new binary started by SIGUSR2, until it exits */
    char pid_file[PATH_MAX];
};

/* master_sockets.c */

/* Take the sockets handed over by systemd or by an upgrading master
 * (LISTEN_FDS, LISTEN_PID) into m->inherited, and unset those variables. */
void master_take_inherited(struct master *m);

/* Make m->sockets match cfg's listen rows. 0, or -1 (logged) with nothing
 * changed. */
int master_sync_sockets(struct master *m, const struct config *cfg);

/* master_upgrade.c */

/* Write getpid() to m->pid_file (if set) through a temporary file and a
 * rename; a failure is logged. */
void master_write_pid_file(struct master *m);

/* Rename the pid file to PID_FILE.oldbin (aside) or back (!aside). */
void master_pid_file_aside(struct master *m, bool aside);

/* SIGUSR2: start the binary at m->exe with the listening sockets as fds
 * 3.. (LISTEN_FDS); m->upgrade_pid is its pid until it exits. */
void master_upgrade(struct master *m);

#endif
