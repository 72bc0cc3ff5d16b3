/* master_upgrade — SIGUSR2 binary upgrade, and the pid file it moves aside.
 *
 * The master starts the binary found at the path it was started from,
 * handing it the listening sockets by systemd's LISTEN_FDS protocol (the
 * same way systemd socket activation hands them to lingerd). The new master
 * serves beside the old one; the operator then sends SIGQUIT to the old
 * master, whose pid file was renamed to PID_FILE.oldbin so that the new one
 * writes its own without a race. If the new binary exits, master.c's reaper
 * moves the pid file back and the old master stays in charge.
 *
 * Leaves out: reaping the new binary (master.c) and taking over the sockets
 * on the other side (master_sockets.c).
 */
#include "master_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void master_write_pid_file(struct master *m)
{
    if (!m->pid_file[0])
        return;
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", m->pid_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0 ||
        rename(tmp, m->pid_file) < 0)
        log_write(LOG_ERROR, "pid_file %s: %s", m->pid_file, strerror(errno));
}

/* The pid file moves aside before the new binary starts (so the new master
 * can write its own without a race) and back if that binary fails. */
void master_pid_file_aside(struct master *m, bool aside)
{
    if (!m->pid_file[0])
        return;
    char other[PATH_MAX + 8];
    size_t len = strlen(m->pid_file);
    if (aside)
        snprintf(other, sizeof other, "%s.oldbin", m->pid_file);
    else if (len > 7 && strcmp(m->pid_file + len - 7, ".oldbin") == 0)
        snprintf(other, sizeof other, "%.*s", (int)(len - 7), m->pid_file);
    else
        return;
    size_t olen = strlen(other);
    if (olen < sizeof m->pid_file && rename(m->pid_file, other) == 0)
        memcpy(m->pid_file, other, olen + 1);
}

void master_upgrade(struct master *m)
{
    if (!m->exe[0]) {
        log_write(LOG_ERROR, "SIGUSR2: the path of the binary is unknown; no upgrade");
        return;
    }
    if (m->upgrade_pid > 0) {
        log_write(LOG_WARN, "SIGUSR2: an upgrade (pid %d) is already running", (int)m->upgrade_pid);
        return;
    }
    master_pid_file_aside(m, true);
    log_flush();
    pid_t pid = fork();
    if (pid < 0) {
        log_write(LOG_ERROR, "SIGUSR2: fork: %s", strerror(errno));
        master_pid_file_aside(m, false);
        return;
    }
    if (pid == 0) {
        /* Hand the sockets over as fds 3.. (LISTEN_FDS), like systemd does. */
        int tmp[CONFIG_LISTEN_MAX];
        for (size_t i = 0; i < m->socket_count; i++)
            tmp[i] = fcntl(m->sockets[i].fd, F_DUPFD_CLOEXEC, 100);
        for (size_t i = 0; i < m->socket_count; i++) {
            int target = MASTER_SD_LISTEN_FDS_START + (int)i;
            if (dup2(tmp[i], target) < 0)
                _exit(127);
        }
        char n[16], p[16];
        snprintf(n, sizeof n, "%zu", m->socket_count);
        snprintf(p, sizeof p, "%d", (int)getpid());
        setenv("LISTEN_FDS", n, 1);
        setenv("LISTEN_PID", p, 1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(m->exe, m->argv);
        _exit(127);
    }
    m->upgrade_pid = pid;
    log_write(LOG_INFO, "SIGUSR2: started %s as %d on the same sockets; send SIGQUIT to %d "
                        "when it serves", m->exe, (int)pid, (int)getpid());
}
