/* worker — a serving process: loop, server, signals, graceful drain.
 *
 * The graceful stop is the close path applied to the whole process: the
 * listeners are unwatched (the sockets stay open in the master, so nothing
 * is refused: other workers take new connections), idle and fresh
 * connections enter LINGER with the shortened shutdown_linger, requests in
 * flight finish with "Connection: close", and the process exits when its
 * last connection is gone or shutdown_timeout passes.
 *
 * drain_delay: a master delays the SIGQUIT it sends its workers; a worker
 * serving alone (master_process off) delays its own drain the same way,
 * with health_path failing meanwhile.
 */
#include "worker.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "server.h"
#include "stats.h"

struct worker {
    struct loop *loop;
    struct server srv;
    struct tls_store *tls;     /* borrowed; for the TLS transport's SSL_new */
    struct loop_watch signals;
    struct loop_timer grace;
    struct loop_timer drain_delay; /* alone: armed from SIGQUIT until the drain */
    bool alone;                /* no master: SIGQUIT's drain_delay is ours */
    bool draining;
};

static void worker_on_grace(struct loop_timer *t)
{
    struct worker *w = (struct worker *)((char *)t - offsetof(struct worker, grace));
    log_write(LOG_WARN, "graceful stop: shutdown_timeout passed with %u connections; closing them",
              w->srv.conn_count);
    server_close_all(&w->srv, false);
    loop_stop(w->loop);
}

static void worker_start_drain(struct worker *w)
{
    if (w->draining)
        return;
    w->draining = true;
    server_accept_queued(&w->srv);
    server_stop_accepting(&w->srv);
    server_close_all(&w->srv, true);
    loop_arm(w->loop, &w->grace, loop_now_ms(w->loop) + w->srv.cfg->shutdown_timeout_ms);
}

static void worker_on_drain_delay(struct loop_timer *t)
{
    struct worker *w = (struct worker *)((char *)t - offsetof(struct worker, drain_delay));
    log_write(LOG_INFO, "drain_delay passed: graceful stop");
    worker_start_drain(w);
}

static void worker_quit(struct worker *w)
{
    const struct config *cfg = w->srv.cfg;
    bool delaying = timer_is_armed(&w->drain_delay.node);
    if (!w->alone || w->draining || delaying || cfg->drain_delay_ms == 0) {
        loop_disarm(w->loop, &w->drain_delay);
        log_write(LOG_INFO, "SIGQUIT: graceful stop");
        worker_start_drain(w);
        return;
    }
    __atomic_store_n(&w->srv.table->health_down, 1, __ATOMIC_RELAXED);
    log_write(LOG_INFO, "SIGQUIT: health_path fails now; graceful stop in %llu ms (drain_delay)",
              (unsigned long long)cfg->drain_delay_ms);
    loop_arm(w->loop, &w->drain_delay, loop_now_ms(w->loop) + cfg->drain_delay_ms);
}

static void worker_on_signal(struct loop_watch *watch, uint32_t events)
{
    struct worker *w = (struct worker *)((char *)watch - offsetof(struct worker, signals));
    (void)events;
    struct signalfd_siginfo si;
    while (read(watch->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            log_write(LOG_INFO, "signal %u: stopping now", si.ssi_signo);
            server_stop_accepting(&w->srv);
            server_close_all(&w->srv, false);
            loop_stop(w->loop);
            return;
        case SIGQUIT:
            worker_quit(w);
            break;
        case SIGUSR1:
            if (log_reopen() < 0)
                log_write(LOG_ERROR, "cannot reopen the error log: %s", strerror(errno));
            break;
        case SIGHUP:
        case SIGUSR2:
            log_write(LOG_WARN, "signal %u: reloading and upgrading need master_process on; "
                                "ignored", si.ssi_signo);
            break;
        default:
            break;
        }
    }
}

static void worker_after_iteration(void *arg)
{
    struct worker *w = arg;
    server_after_iteration(&w->srv);
    if (w->draining && w->srv.conn_count == 0)
        loop_stop(w->loop);
}

int worker_listen(const struct config_listen *l)
{
    int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l->addr.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);

    if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) < 0 ||
        listen(fd, l->backlog) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

void worker_tune_listener(int fd, const struct config *cfg)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Accepted sockets inherit the FIN_WAIT_2 bound too: no setsockopt per
     * connection (conn_close.c resets it where lingering_close is off). */
    int secs = (int)((cfg->fin_wait2_timeout_ms + 999) / 1000);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_LINGER2, &secs, sizeof secs);
    /* 0 turns it off again after a reload that removed it. */
    int defer = cfg->defer_accept_ms > 0 ? (int)((cfg->defer_accept_ms + 999) / 1000) : 0;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
}

int worker_drop_privileges(const struct config *cfg)
{
    if (geteuid() != 0)
        return 0;
    if (!cfg->user || !cfg->user[0]) {
        if (cfg->run_as_root)
            return 0;
        log_write(LOG_ERROR, "refusing to run workers as root: set 'user' (for example "
                             "'user nobody;') or 'run_as_root on;'");
        return -1;
    }
    struct passwd *pw = getpwnam(cfg->user);
    if (!pw) {
        log_write(LOG_ERROR, "user '%s' does not exist", cfg->user);
        return -1;
    }
    gid_t gid = pw->pw_gid;
    if (cfg->group && cfg->group[0]) {
        struct group *gr = getgrnam(cfg->group);
        if (!gr) {
            log_write(LOG_ERROR, "group '%s' does not exist", cfg->group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    if (initgroups(pw->pw_name, gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0) {
        log_write(LOG_ERROR, "cannot become %s: %s", cfg->user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) { /* must be impossible now */
        log_write(LOG_ERROR, "privileges were not dropped");
        return -1;
    }
    return 0;
}

int worker_run(const struct config *cfg, const int *listen_fds, size_t nfds,
               struct stats_table *table, struct stats *row, bool shared,
               struct tls_store *tls)
{
    static struct worker w;
    memset(&w, 0, sizeof w);
    w.tls = tls;
    w.loop = loop_new();
    if (!w.loop) {
        log_write(LOG_ERROR, "event loop: %s", strerror(errno));
        return 1;
    }
    int rc = server_init(&w.srv, w.loop, cfg, table, row);
    if (rc < 0) {
        log_write(LOG_ERROR, "root %s: %s", cfg->root, strerror(-rc));
        return 1;
    }
    w.srv.tls = tls;
    /* listen_fds[i] is the socket of cfg->listens[i]. */
    for (size_t i = 0; i < nfds; i++) {
        rc = server_add_listener(&w.srv, listen_fds[i], shared, &cfg->listens[i]);
        if (rc < 0) {
            log_write(LOG_ERROR, "cannot watch a listening socket: %s", strerror(-rc));
            return 1;
        }
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    w.signals.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    w.signals.on_io = worker_on_signal;
    if (w.signals.fd < 0 || loop_watch(w.loop, &w.signals, EPOLLIN) < 0) {
        log_write(LOG_ERROR, "signalfd: %s", strerror(errno));
        return 1;
    }
    loop_timer_init(&w.grace, worker_on_grace);
    loop_timer_init(&w.drain_delay, worker_on_drain_delay);
    w.alone = !shared;
    loop_set_after(w.loop, worker_after_iteration, &w);
    row->started_s = (uint64_t)loop_wall_s(w.loop);

    rc = loop_run(w.loop);
    if (rc < 0)
        log_write(LOG_ERROR, "event loop: %s", strerror(-rc));
    server_fini(&w.srv);
    close(w.signals.fd);
    loop_free(w.loop);
    log_flush();
    return rc < 0 ? 1 : 0;
}
