/* master — binds the sockets, supervises the workers, reloads, upgrades.
 *
 * The master never serves a request. It owns the listening sockets for the
 * life of the server: a reload starts new workers on the same sockets and
 * asks the old ones to drain (SIGQUIT), so no connection is ever refused.
 * Workers that die are restarted with a back-off that doubles from 100 ms
 * up to worker_restart_delay_max while they keep dying young.
 *
 * Signals: SIGHUP reload (a configuration with errors is logged and the old
 * one keeps serving); SIGQUIT graceful stop, after drain_delay if set (the
 * workers keep serving while health_path fails, so a balancer's check
 * takes the server out before any connection closes; a second SIGQUIT
 * stops at once; after a binary upgrade the new master serves the same
 * sockets and health, so no delay); SIGTERM/SIGINT fast stop;
 * SIGUSR1 reopen logs (and forward to the workers); SIGUSR2 binary upgrade
 * (master_upgrade.c: a new binary on the same sockets, beside this one).
 *
 * TLS: the master builds each generation's certificate store before it
 * forks that generation's workers (as root: keys are often readable by
 * root only), so a reload whose certificates do not load, or whose key
 * does not match, is refused like any other broken configuration. The
 * session ticket keys live in one shared page made at start and kept
 * across reloads; the master makes a new key every
 * tls_ticket_key_rotation (tls_tickets.h).
 *
 * Readiness is reported to systemd (Type=notify) as READY=1, RELOADING=1
 * and STOPPING=1 when NOTIFY_SOCKET is set.
 *
 * This file supervises: workers, reload, stop, signals. The listening
 * sockets are kept by master_sockets.c, the SIGUSR2 upgrade and the pid
 * file by master_upgrade.c; the three share struct master through
 * master_internal.h.
 */
#include "master.h"
#include "master_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "accesslog.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "stats.h"
#include "tls_store.h"
#include "tls_tickets.h"
#include "worker.h"

#define MASTER_RESTART_DELAY_MIN_MS 100
/* A worker that lived this long before dying restarts at once. */
#define MASTER_HEALTHY_LIFE_MS 5000
/* A failed ticket-key rotation (no randomness yet) is tried again this soon. */
#define MASTER_TICKET_RETRY_MS 1000u

/* One master per process; timer callbacks reach it here. */
static struct master master_instance;

static uint64_t master_now_ms(const struct master *m)
{
    return loop_now_ms(m->loop);
}

/* Open the logs here, as root and before forking: workers inherit the
 * open files and keep them (log_open and accesslog_open reuse a file
 * already open on the same path), so a worker that dropped privileges
 * still writes to a root-owned log directory. */
static void master_open_logs(const struct master *m, const struct config *cfg)
{
    enum log_level level = cfg->log_level;
    if (m->cli->level_given && m->cli->level > level)
        level = m->cli->level;
    int rc = log_open(cfg->error_log, level);
    if (rc < 0)
        log_write(LOG_ERROR, "error_log %s: %s", cfg->error_log, strerror(-rc));
    rc = accesslog_open(cfg);
    if (rc < 0)
        log_write(LOG_ERROR, "access_log: %s", strerror(-rc));
    log_reopen_also(accesslog_reopen);
}

/* ---- TLS ---- */

/* The certificate store for cfg, its warnings (expiry) logged; or NULL
 * with *failed set after printing why to errs. A cfg without
 * certificates needs none: NULL, *failed false. */
static struct tls_store *master_build_tls(struct master *m, const struct config *cfg,
                                          FILE *errs, bool *failed)
{
    char err[512], *warnings = NULL;
    size_t len = 0;
    struct tls_store *s;
    FILE *w;

    *failed = false;
    if (cfg->tls_certificate_count == 0)
        return NULL;
    s = tls_store_new(cfg, m->tickets, err, sizeof err);
    if (!s) {
        fprintf(errs, "%s\n", err);
        *failed = true;
        return NULL;
    }
    w = open_memstream(&warnings, &len);
    if (w) {
        int rc = tls_store_check(s, time(NULL), w);
        fclose(w);
        if (warnings && warnings[0])
            log_write(LOG_WARN, "%.*s", (int)(len && warnings[len - 1] == '\n' ? len - 1 : len),
                      warnings);
        free(warnings);
        if (rc < 0) {
            fprintf(errs, "a private key does not match its certificate\n");
            tls_store_free(s);
            *failed = true;
            return NULL;
        }
    }
    return s;
}

static void master_on_ticket_rotation(struct loop_timer *t)
{
    struct master *m = (struct master *)((char *)t - offsetof(struct master, ticket_rotation));
    int rc = tls_tickets_rotate(m->tickets);

    if (rc < 0)
        log_write(LOG_ERROR, "session ticket keys not rotated: %s; trying again in %u ms",
                  strerror(-rc), MASTER_TICKET_RETRY_MS);
    loop_arm(m->loop, t,
             master_now_ms(m) +
                 (rc < 0 ? MASTER_TICKET_RETRY_MS : m->cfg->tls_ticket_key_rotation_ms));
}

/* ---- workers ---- */

static void master_on_restart(struct loop_timer *t);

static unsigned master_workers_wanted(const struct config *cfg)
{
    if (cfg->workers > 0)
        return cfg->workers;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 && cores <= MASTER_WORKERS_MAX ? (unsigned)cores : 1;
}

static struct master_worker *master_free_slot(struct master *m)
{
    for (size_t i = 0; i < MASTER_WORKERS_MAX; i++) {
        struct master_worker *w = &m->workers[i];
        if (w->pid == 0 && !timer_is_armed(&w->restart.node))
            return w;
    }
    return NULL;
}

static int master_spawn(struct master *m, struct master_worker *w)
{
    struct stats *row = stats_table_claim(m->table, w->index, w->generation, 0);
    if (!row) {
        log_write(LOG_ERROR, "no counter row left for a worker");
        return -1;
    }
    log_flush();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        stats_table_release(m->table, row);
        log_write(LOG_ERROR, "fork: %s", strerror(e));
        return -1;
    }
    if (pid == 0) {
        /* The worker: the master's loop and signal fd are not ours. */
        close(m->signals.fd);
        loop_free(m->loop);
        row->pid = (uint64_t)getpid();
        int fds[CONFIG_LISTEN_MAX];
        for (size_t i = 0; i < m->socket_count; i++)
            fds[i] = m->sockets[i].fd;
        if (worker_drop_privileges(m->cfg) < 0) {
            log_flush();
            _exit(2);
        }
        int rc = worker_run(m->cfg, fds, m->socket_count, m->table, row, true, m->tls);
        log_flush();
        _exit(rc);
    }
    row->pid = (uint64_t)pid;
    w->pid = pid;
    w->row = row;
    w->started_ms = master_now_ms(m);
    w->retiring = false;
    return 0;
}

static void master_start_generation(struct master *m)
{
    m->worker_count = master_workers_wanted(m->cfg);
    for (unsigned i = 0; i < m->worker_count; i++) {
        struct master_worker *w = master_free_slot(m);
        if (!w) {
            log_write(LOG_ERROR, "too many worker processes");
            return;
        }
        w->index = i;
        w->generation = m->generation;
        w->delay_ms = 0;
        loop_timer_init(&w->restart, master_on_restart);
        if (master_spawn(m, w) < 0)
            loop_arm(m->loop, &w->restart, master_now_ms(m) + MASTER_RESTART_DELAY_MIN_MS);
    }
}

static void master_signal_workers(struct master *m, int sig, bool old_only)
{
    for (size_t i = 0; i < MASTER_WORKERS_MAX; i++) {
        struct master_worker *w = &m->workers[i];
        if (w->pid <= 0 || (old_only && w->generation == m->generation))
            continue;
        if (sig == SIGQUIT && !w->retiring) {
            w->retiring = true;
            w->retired_ms = master_now_ms(m);
        }
        if (kill(w->pid, sig) < 0)
            log_write(LOG_ERROR, "cannot signal worker %d: %s", (int)w->pid, strerror(errno));
    }
}

static void master_on_restart(struct loop_timer *t)
{
    struct master_worker *w = (struct master_worker *)((char *)t -
                                                       offsetof(struct master_worker, restart));
    struct master *m = &master_instance;
    if (m->stopping || w->generation != m->generation)
        return;
    if (master_spawn(m, w) < 0) {
        w->delay_ms = w->delay_ms ? w->delay_ms * 2 : MASTER_RESTART_DELAY_MIN_MS;
        if (w->delay_ms > m->cfg->worker_restart_delay_max_ms)
            w->delay_ms = m->cfg->worker_restart_delay_max_ms;
        loop_arm(m->loop, &w->restart, master_now_ms(m) + w->delay_ms);
    }
}

static unsigned master_live_workers(const struct master *m)
{
    unsigned n = 0;
    for (size_t i = 0; i < MASTER_WORKERS_MAX; i++)
        n += m->workers[i].pid > 0;
    return n;
}

static void master_reap(struct master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct master_worker *w = NULL;
        for (size_t i = 0; i < MASTER_WORKERS_MAX; i++)
            if (m->workers[i].pid == pid)
                w = &m->workers[i];
        if (pid == m->upgrade_pid) {
            /* The new binary ended: if it failed, this master stays in charge. */
            m->upgrade_pid = 0;
            log_write(LOG_ERROR, "SIGUSR2: the new binary (pid %d) exited with status %d; "
                                 "the old one keeps serving", (int)pid, status);
            master_pid_file_aside(m, false);
            continue;
        }
        if (!w)
            continue; /* a stranger */
        stats_table_release(m->table, w->row);
        w->row = NULL;
        w->pid = 0;
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (m->stopping || w->retiring || w->generation != m->generation) {
            if (!clean)
                log_write(LOG_WARN, "worker %d (draining) ended with status %d", (int)pid, status);
            else if (w->retiring)
                log_write(LOG_INFO, "worker %d drained in %llu ms", (int)pid,
                          (unsigned long long)(master_now_ms(m) - w->retired_ms));
            continue;
        }
        uint64_t lived = master_now_ms(m) - w->started_ms;
        if (WIFSIGNALED(status))
            log_write(LOG_ERROR, "worker %d killed by signal %d after %llu ms; restarting",
                      (int)pid, WTERMSIG(status), (unsigned long long)lived);
        else
            log_write(LOG_ERROR, "worker %d exited with status %d after %llu ms; restarting",
                      (int)pid, WEXITSTATUS(status), (unsigned long long)lived);
        __atomic_add_fetch(&m->table->worker_restarts, 1, __ATOMIC_RELAXED);
        if (lived >= MASTER_HEALTHY_LIFE_MS)
            w->delay_ms = 0;
        else if (w->delay_ms == 0)
            w->delay_ms = MASTER_RESTART_DELAY_MIN_MS;
        else if ((w->delay_ms *= 2) > m->cfg->worker_restart_delay_max_ms)
            w->delay_ms = m->cfg->worker_restart_delay_max_ms;
        loop_arm(m->loop, &w->restart, master_now_ms(m) + w->delay_ms);
    }
}

/* ---- reload, upgrade, stop ---- */

static void master_reload(struct master *m)
{
    notify_send("RELOADING=1");
    log_write(LOG_INFO, "SIGHUP: reloading %s", m->cli->conf_file ? m->cli->conf_file : "(built-in)");
    struct config *cfg = calloc(1, sizeof *cfg);
    char *errs = NULL;
    size_t errs_len = 0;
    FILE *ef = open_memstream(&errs, &errs_len);
    int rc = cfg && ef ? cli_build_config(m->cli, cfg, ef) : -1;
    struct tls_store *tls = NULL;
    bool tls_failed = false;
    if (rc == 0) {
        tls = master_build_tls(m, cfg, ef, &tls_failed);
        rc = tls_failed ? -1 : 0;
    }
    if (ef)
        fclose(ef);
    if (rc < 0 || master_sync_sockets(m, cfg) < 0) {
        tls_store_free(tls);
        log_write(LOG_ERROR, "reload refused, the running configuration stays:\n%s",
                  errs ? errs : "out of memory");
        free(errs);
        if (cfg) {
            config_fini(cfg);
            free(cfg);
        }
        notify_send("READY=1");
        return;
    }
    free(errs);
    /* Keep the previous configuration alive while its workers drain (they
     * have their own copies after fork; this is only the master's). */
    if (m->old_cfgs[7]) {
        config_fini(m->old_cfgs[7]);
        free(m->old_cfgs[7]);
    }
    memmove(m->old_cfgs + 1, m->old_cfgs, 7 * sizeof m->old_cfgs[0]);
    m->old_cfgs[0] = m->cfg;
    m->cfg = cfg;
    /* the old workers have their own copies of the old store (fork) */
    tls_store_free(m->tls);
    m->tls = tls;
    if (m->cfg->tls_ticket_key_rotation_ms != m->old_cfgs[0]->tls_ticket_key_rotation_ms)
        loop_arm(m->loop, &m->ticket_rotation,
                 master_now_ms(m) + m->cfg->tls_ticket_key_rotation_ms);
    master_open_logs(m, cfg);
    m->generation++;
    stats_table_new_generation(m->table, m->generation);
    __atomic_add_fetch(&m->table->reloads, 1, __ATOMIC_RELAXED);
    master_start_generation(m);
    master_signal_workers(m, SIGQUIT, true);
    for (size_t i = 0; i < MASTER_WORKERS_MAX; i++) {
        struct master_worker *w = &m->workers[i];
        if (w->generation != m->generation)
            loop_disarm(m->loop, &w->restart);
    }
    notify_send("READY=1");
}

static void master_stop(struct master *m, bool graceful)
{
    if (!m->stopping)
        notify_send("STOPPING=1");
    m->stopping = true;
    master_signal_workers(m, graceful ? SIGQUIT : SIGTERM, false);
    for (size_t i = 0; i < MASTER_WORKERS_MAX; i++)
        loop_disarm(m->loop, &m->workers[i].restart);
    /* Workers enforce shutdown_timeout themselves; this is the backstop. */
    loop_arm(m->loop, &m->grace, master_now_ms(m) + m->cfg->shutdown_timeout_ms + 5000);
}

static void master_on_drain_delay(struct loop_timer *t)
{
    (void)t;
    log_write(LOG_INFO, "drain_delay passed: graceful stop");
    master_stop(&master_instance, true);
}

/* SIGQUIT: health_path fails from now on (the flag is in the table every
 * worker reads); the stop itself waits drain_delay. */
static void master_quit(struct master *m)
{
    bool delaying = timer_is_armed(&m->drain_delay.node);
    if (m->stopping || delaying || m->cfg->drain_delay_ms == 0 || m->upgrade_pid > 0) {
        if (delaying)
            loop_disarm(m->loop, &m->drain_delay);
        log_write(LOG_INFO, "SIGQUIT: graceful stop");
        master_stop(m, true);
        return;
    }
    __atomic_store_n(&m->table->health_down, 1, __ATOMIC_RELAXED);
    notify_send("STOPPING=1");
    log_write(LOG_INFO, "SIGQUIT: health_path fails now; graceful stop in %llu ms (drain_delay)",
              (unsigned long long)m->cfg->drain_delay_ms);
    loop_arm(m->loop, &m->drain_delay, master_now_ms(m) + m->cfg->drain_delay_ms);
}

static void master_on_grace(struct loop_timer *t)
{
    (void)t;
    log_write(LOG_WARN, "workers still running after the grace period; killing them");
    master_signal_workers(&master_instance, SIGKILL, false);
}

static void master_on_signal(struct loop_watch *watch, uint32_t events)
{
    struct master *m = (struct master *)((char *)watch - offsetof(struct master, signals));
    (void)events;
    struct signalfd_siginfo si;
    while (read(watch->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            master_reap(m);
            break;
        case SIGHUP:
            if (!m->stopping && !timer_is_armed(&m->drain_delay.node))
                master_reload(m);
            break;
        case SIGQUIT:
            master_quit(m);
            break;
        case SIGTERM:
        case SIGINT:
            log_write(LOG_INFO, "signal %u: stopping", si.ssi_signo);
            loop_disarm(m->loop, &m->drain_delay);
            master_stop(m, false);
            break;
        case SIGUSR1:
            if (log_reopen() < 0)
                log_write(LOG_ERROR, "cannot reopen the error log: %s", strerror(errno));
            master_signal_workers(m, SIGUSR1, false);
            break;
        case SIGUSR2:
            master_upgrade(m);
            break;
        default:
            break;
        }
    }
}

static void master_after_iteration(void *arg)
{
    struct master *m = arg;
    if (m->stopping && master_live_workers(m) == 0)
        loop_stop(m->loop);
    log_flush();
}

void master_raise_nofile(const struct config *cfg)
{
    if (cfg->rlimit_nofile == 0)
        return;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = cfg->rlimit_nofile;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
        if (geteuid() == 0)
            rl.rlim_max = want;
        else
            want = rl.rlim_max;
    }
    if (want <= rl.rlim_cur)
        return;
    rlim_t hard = rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        return;
    /* Not allowed past the hard limit (no CAP_SYS_RESOURCE): go as far as
     * it lets us. */
    int e = errno;
    getrlimit(RLIMIT_NOFILE, &rl);
    hard = rl.rlim_max;
    rl.rlim_cur = hard != RLIM_INFINITY && hard < want ? hard : want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    /* Only a limit too small for connections_max is worth a warning. */
    if (rl.rlim_cur < want)
        log_write(rl.rlim_cur < (rlim_t)cfg->connections_max + 64 ? LOG_WARN : LOG_INFO,
                  "rlimit_nofile %u: %s; using %llu", cfg->rlimit_nofile,
                  strerror(e), (unsigned long long)rl.rlim_cur);
}

int master_run(const struct cli *cli, struct config *cfg, char **argv)
{
    struct master *m = &master_instance;
    m->cli = cli;
    m->cfg = cfg;
    m->argv = argv;
    ssize_t n = readlink("/proc/self/exe", m->exe, sizeof m->exe - 1);
    m->exe[n > 0 ? n : 0] = '\0';
    if (n > 10 && strcmp(m->exe + n - 10, " (deleted)") == 0)
        m->exe[n - 10] = '\0';
    if (cfg->pid_file)
        snprintf(m->pid_file, sizeof m->pid_file, "%s", cfg->pid_file);
    master_raise_nofile(cfg);

    if (geteuid() == 0 && (!cfg->user || !cfg->user[0]) && !cfg->run_as_root) {
        fprintf(stderr, "lingerd: refusing to run workers as root: set 'user' (for example "
                        "'user nobody;') or 'run_as_root on;' (-R)\n");
        return 1;
    }

    /* Block our signals before the sockets listen: a client (or a test)
     * that sees the port open may signal at once, and the default action of
     * SIGHUP or SIGUSR2 would end the process. */
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = { SIGCHLD, SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    master_open_logs(m, cfg);
    m->table = stats_table_new();
    m->loop = loop_new();
    m->tickets = tls_tickets_new(); /* before any fork: every worker maps the same page */
    if (!m->table || !m->loop || !m->tickets) {
        fprintf(stderr, "lingerd: %s\n", strerror(errno));
        return 1;
    }
    if (loop_reserve_timers(m->loop, MASTER_WORKERS_MAX + 8) < 0)
        return 1;
    m->table->started_s = (uint64_t)time(NULL);
    m->table->master_pid = (uint64_t)getpid();
    bool tls_failed;
    m->tls = master_build_tls(m, cfg, stderr, &tls_failed);
    if (tls_failed)
        return 1;
    master_take_inherited(m);
    if (master_sync_sockets(m, cfg) < 0)
        return 1;
    for (size_t i = 0; i < m->inherited_count; i++)
        if (m->inherited[i] >= 0)
            close(m->inherited[i]); /* handed over but not configured */

    m->signals.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    m->signals.on_io = master_on_signal;
    if (m->signals.fd < 0 || loop_watch(m->loop, &m->signals, EPOLLIN) < 0) {
        fprintf(stderr, "lingerd: signalfd: %s\n", strerror(errno));
        return 1;
    }
    loop_timer_init(&m->grace, master_on_grace);
    loop_timer_init(&m->drain_delay, master_on_drain_delay);
    loop_timer_init(&m->ticket_rotation, master_on_ticket_rotation);
    loop_arm(m->loop, &m->ticket_rotation, master_now_ms(m) + cfg->tls_ticket_key_rotation_ms);
    loop_set_after(m->loop, master_after_iteration, m);
    for (size_t i = 0; i < MASTER_WORKERS_MAX; i++)
        loop_timer_init(&m->workers[i].restart, master_on_restart);

    for (size_t i = 0; i < m->socket_count; i++)
        log_write(LOG_INFO, "listening on %s", m->sockets[i].text);
    master_write_pid_file(m);
    master_start_generation(m);
    notify_send("READY=1");

    int rc = loop_run(m->loop);
    if (m->pid_file[0])
        unlink(m->pid_file);
    for (size_t i = 0; i < m->socket_count; i++)
        close(m->sockets[i].fd);
    loop_free(m->loop);
    stats_table_free(m->table);
    tls_store_free(m->tls);
    tls_tickets_free(m->tickets);
    config_fini(m->cfg);
    free(m->cfg);
    for (size_t i = 0; i < 8; i++)
        if (m->old_cfgs[i]) {
            config_fini(m->old_cfgs[i]);
            free(m->old_cfgs[i]);
        }
    log_flush();
    return rc < 0 ? 1 : 0;
}
