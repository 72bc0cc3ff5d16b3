/* main — command line, then the master (or one worker with -X). Glue only. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "master.h"
#include "stats.h"
#include "tls_store.h"
#include "tls_tickets.h"
#include "worker.h"

/* lingerd -s SIGNAL: signal the master whose PID is in pid_file. */
static int main_send_signal(const struct config *cfg, const char *name)
{
    static const struct { const char *name; int sig; } sigs[] = {
        { "reload", SIGHUP }, { "stop", SIGTERM }, { "quit", SIGQUIT }, { "reopen", SIGUSR1 },
    };
    int sig = 0;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (strcmp(name, sigs[i].name) == 0)
            sig = sigs[i].sig;
    if (!sig) {
        fprintf(stderr, "lingerd: -s: unknown signal '%s' (reload, stop, quit, reopen)\n", name);
        return 2;
    }
    if (!cfg->pid_file || !cfg->pid_file[0]) {
        fprintf(stderr, "lingerd: -s needs pid_file in the configuration (-c FILE)\n");
        return 1;
    }
    FILE *f = fopen(cfg->pid_file, "r");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
        fprintf(stderr, "lingerd: cannot read a PID from %s: %s\n", cfg->pid_file,
                f ? "no number" : strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    if (kill((pid_t)pid, sig) < 0) {
        fprintf(stderr, "lingerd: signal %s to %ld: %s\n", name, pid, strerror(errno));
        return 1;
    }
    return 0;
}

/* lingerd -t: the certificates load, each key matches its certificate;
 * expired or soon expiring ones are warned of (FILE:LINE) but pass. */
static int main_test_tls(const struct config *cfg)
{
    char err[512];
    struct tls_store *s;
    int rc;

    if (cfg->tls_certificate_count == 0)
        return 0;
    s = tls_store_new(cfg, NULL, err, sizeof err);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    rc = tls_store_check(s, time(NULL), stderr);
    tls_store_free(s);
    return rc;
}

static int main_single(struct config *cfg)
{
    master_raise_nofile(cfg);
    if (cfg->pid_file && cfg->pid_file[0]) {
        FILE *f = fopen(cfg->pid_file, "w");
        if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
            fprintf(stderr, "lingerd: pid_file %s: %s\n", cfg->pid_file, strerror(errno));
    }
    struct stats_table *table = stats_table_new();
    struct stats *row = table ? stats_table_claim(table, 0, 0, (uint64_t)getpid()) : NULL;
    if (!row) {
        fprintf(stderr, "lingerd: shared memory for counters: %s\n", strerror(errno));
        return 1;
    }
    table->master_pid = (uint64_t)getpid();
    /* no master to rotate them: the keys made now serve until the process ends */
    struct tls_tickets *tickets = tls_tickets_new();
    struct tls_store *tls = NULL;
    char err[512];
    if (!tickets) {
        fprintf(stderr, "lingerd: session ticket keys: %s\n", strerror(errno));
        return 1;
    }
    if (cfg->tls_certificate_count > 0 && !(tls = tls_store_new(cfg, tickets, err, sizeof err))) {
        fprintf(stderr, "lingerd: %s\n", err);
        return 1;
    }
    int fds[CONFIG_LISTEN_MAX];
    size_t n = 0;
    for (size_t i = 0; i < cfg->listen_count; i++) {
        int fd = worker_listen(&cfg->listens[i]);
        if (fd < 0) {
            fprintf(stderr, "lingerd: listen %s: %s\n", cfg->listens[i].text, strerror(-fd));
            return 1;
        }
        worker_tune_listener(fd, cfg);
        fds[n++] = fd;
    }
    if (worker_drop_privileges(cfg) < 0)
        return 1;
    int rc = worker_run(cfg, fds, n, table, row, false, tls);
    tls_store_free(tls);
    tls_tickets_free(tickets);
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    if (cfg->pid_file && cfg->pid_file[0])
        unlink(cfg->pid_file);
    stats_table_free(table);
    return rc;
}

int main(int argc, char **argv)
{
    static struct cli cli;
    int rc = cli_parse(&cli, argc, argv);
    if (rc)
        return rc == 1 ? 0 : 2;
    struct config *cfg = calloc(1, sizeof *cfg);
    if (!cfg || cli_build_config(&cli, cfg, stderr) < 0) {
        fprintf(stderr, "lingerd: configuration %s has errors\n",
                cli.conf_file ? cli.conf_file : "(command line)");
        if (cfg)
            config_fini(cfg); /* what was built before the error */
        free(cfg);
        return 1;
    }
    if (cli.test_only) {
        if (main_test_tls(cfg) < 0) {
            fprintf(stderr, "lingerd: configuration %s has errors\n",
                    cli.conf_file ? cli.conf_file : "(command line)");
            config_fini(cfg);
            free(cfg);
            return 1;
        }
        printf("lingerd: configuration %s is valid\n", cli.conf_file ? cli.conf_file : "(built-in)");
        config_fini(cfg);
        free(cfg);
        return 0;
    }
    if (cli.signal) {
        rc = main_send_signal(cfg, cli.signal);
        config_fini(cfg);
        free(cfg);
        return rc;
    }
    log_open("stderr", cli.level);
    signal(SIGPIPE, SIG_IGN);
    /* A PUT past RLIMIT_FSIZE must fail with EFBIG (507), not kill us. */
    signal(SIGXFSZ, SIG_IGN);
    if (!cfg->master_process) {
        rc = main_single(cfg);
        config_fini(cfg);
        free(cfg);
        log_close();
        return rc;
    }
    rc = master_run(&cli, cfg, argv);
    log_close();
    return rc;
}
