/* master_sockets — the master's listening sockets across reloads and upgrades.
 *
 * The master owns the listening sockets for the life of the server; each
 * generation of workers inherits them at fork. A reload keeps the socket of
 * every address that stays (the connections waiting in its queue are never
 * lost), binds the new addresses and closes the rest; a reload that cannot
 * bind changes nothing. At start, sockets handed over by systemd socket
 * activation or by an upgrading master (LISTEN_FDS, LISTEN_PID; fds from
 * MASTER_SD_LISTEN_FDS_START) are used for the addresses they are bound to,
 * in place of new ones.
 *
 * Leaves out: how a socket is opened and tuned (worker_listen,
 * worker_tune_listener) and handing sockets to a new binary
 * (master_upgrade.c).
 */
#include "master_internal.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

static bool master_same_addr(const struct sockaddr_storage *a, socklen_t alen,
                             const struct sockaddr_storage *b, socklen_t blen)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Sockets handed over by systemd or by an upgrading master (LISTEN_FDS). */
void master_take_inherited(struct master *m)
{
    const char *pid = getenv("LISTEN_PID");
    const char *fds = getenv("LISTEN_FDS");
    if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid())
        return;
    long n = strtol(fds, NULL, 10);
    for (long i = 0; i < n && m->inherited_count < CONFIG_LISTEN_MAX; i++) {
        int fd = MASTER_SD_LISTEN_FDS_START + (int)i;
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0)
            continue;
        (void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        m->inherited[m->inherited_count++] = fd;
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

/* An inherited socket bound to l's address, taken out of the list; or -1. */
static int master_claim_inherited(struct master *m, const struct config_listen *l)
{
    for (size_t i = 0; i < m->inherited_count; i++) {
        struct sockaddr_storage a;
        socklen_t alen = sizeof a;
        int fd = m->inherited[i];
        if (fd < 0 || getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
            continue;
        if (master_same_addr(&a, alen, &l->addr, l->addr_len)) {
            m->inherited[i] = -1;
            return fd;
        }
    }
    return -1;
}

/* Make the socket set match cfg: keep the sockets of addresses that stay
 * (connections waiting in their queues are never lost), bind new ones,
 * close the rest. On failure nothing changes. 0 or -1 (logged). */
int master_sync_sockets(struct master *m, const struct config *cfg)
{
    struct master_socket next[CONFIG_LISTEN_MAX];
    size_t n = 0;
    bool kept[CONFIG_LISTEN_MAX] = { false };
    for (size_t i = 0; i < cfg->listen_count; i++) {
        const struct config_listen *l = &cfg->listens[i];
        int fd = -1;
        for (size_t j = 0; j < m->socket_count; j++)
            if (!kept[j] && master_same_addr(&m->sockets[j].addr, m->sockets[j].addr_len,
                                             &l->addr, l->addr_len)) {
                kept[j] = true;
                fd = m->sockets[j].fd;
                break;
            }
        if (fd < 0)
            fd = master_claim_inherited(m, l);
        if (fd < 0)
            fd = worker_listen(l);
        if (fd < 0) {
            log_write(LOG_ERROR, "listen %s: %s", l->text, strerror(-fd));
            for (size_t k = 0; k < n; k++) {
                bool old = false;
                for (size_t j = 0; j < m->socket_count; j++)
                    old |= m->sockets[j].fd == next[k].fd;
                if (!old)
                    close(next[k].fd);
            }
            return -1;
        }
        next[n].addr = l->addr;
        next[n].addr_len = l->addr_len;
        next[n].fd = fd;
        snprintf(next[n].text, sizeof next[n].text, "%s", l->text);
        n++;
    }
    for (size_t j = 0; j < m->socket_count; j++)
        if (!kept[j])
            close(m->sockets[j].fd); /* the old workers hold their own copies */
    memcpy(m->sockets, next, n * sizeof next[0]);
    m->socket_count = n;
    for (size_t i = 0; i < n; i++)
        worker_tune_listener(m->sockets[i].fd, cfg);
    return 0;
}
