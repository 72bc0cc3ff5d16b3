/* main — command line, start-up and signals: glue only.
 *
 * Builds the configuration (built-in defaults, then -c FILE, then the
 * command-line options, which win), binds the listening sockets, and runs
 * one event loop until SIGTERM/SIGINT (stop now) or SIGQUIT (graceful:
 * stop accepting, finish requests in flight, close idle connections through
 * the lingering close, exit when all are gone or the grace period ends).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "loop.h"
#include "server.h"
#include "stats.h"

#define LINGERD_VERSION "0.1.0"
/* A graceful stop closes what is left after this long. */
#define MAIN_GRACE_MS 30000

struct main_state {
    struct loop *loop;
    struct server srv;
    struct loop_watch signals;
    struct loop_timer grace;
    bool graceful;
};

static void main_usage(FILE *out)
{
    fprintf(out,
            "usage: lingerd [options]\n"
            "\n"
            "Options (the command line wins over the configuration file):\n"
            "  -c FILE    read the configuration from FILE (default: none, built-in defaults)\n"
            "  -t         test the configuration and exit (0 if valid)\n"
            "  -p PORT    listen on PORT (default: 8080); with -l, on that address\n"
            "  -l ADDR    listen on ADDR, IPv4 or IPv6 (default: 127.0.0.1)\n"
            "  -r DIR     serve files from DIR (the 'root' directive; default: www)\n"
            "  -L MODE    lingering_close on|always|off (default: on)\n"
            "  -e LEVEL   error log level: error, warn, info, debug (default: warn)\n"
            "  -v         print the version and exit\n"
            "  -h         print this help and exit\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop at once; SIGQUIT stops gracefully.\n"
            "\n"
            "Directives (configuration file, see lingerd.conf(5)):\n");
    config_print_reference(out, "text");
}

static int main_bind(const struct config_listen *l)
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

static void main_on_grace(struct loop_timer *t)
{
    struct main_state *m = (struct main_state *)((char *)t - offsetof(struct main_state, grace));
    log_write(LOG_WARN, "graceful stop: grace period over, closing the rest");
    server_close_all(&m->srv, false);
    loop_stop(m->loop);
}

static void main_after_graceful_check(struct main_state *m)
{
    if (m->graceful && m->srv.conn_count == 0)
        loop_stop(m->loop);
}

static void main_on_signal(struct loop_watch *w, uint32_t events)
{
    struct main_state *m = (struct main_state *)((char *)w - offsetof(struct main_state, signals));
    (void)events;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            log_write(LOG_INFO, "signal %u: stopping", si.ssi_signo);
            server_stop_accepting(&m->srv);
            server_close_all(&m->srv, false);
            loop_stop(m->loop);
            return;
        case SIGQUIT:
            log_write(LOG_INFO, "SIGQUIT: graceful stop");
            m->graceful = true;
            server_stop_accepting(&m->srv);
            server_close_all(&m->srv, true);
            loop_arm(m->loop, &m->grace, loop_now_ms(m->loop) + MAIN_GRACE_MS);
            main_after_graceful_check(m);
            break;
        case SIGUSR1:
            if (log_reopen() < 0)
                log_write(LOG_ERROR, "cannot reopen the error log: %s", strerror(errno));
            break;
        default:
            break;
        }
    }
}

static void main_after_iteration(void *arg)
{
    struct main_state *m = arg;
    server_after_iteration(&m->srv);
    main_after_graceful_check(m);
}

static int main_set(struct config *cfg, const char *name, const char *value)
{
    char err[256];
    const char *args[] = { value };
    if (config_set(cfg, NULL, name, args, 1, err, sizeof err) < 0) {
        fprintf(stderr, "lingerd: -%s %s: %s\n", name, value, err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf_file = NULL, *port = NULL, *addr = NULL, *root = NULL, *linger = NULL;
    enum log_level level = LOG_WARN;
    bool test_only = false;
    int opt;
    while ((opt = getopt(argc, argv, "c:tp:l:r:L:e:vh")) != -1) {
        switch (opt) {
        case 'c': conf_file = optarg; break;
        case 't': test_only = true; break;
        case 'p': port = optarg; break;
        case 'l': addr = optarg; break;
        case 'r': root = optarg; break;
        case 'L': linger = optarg; break;
        case 'e':
            if (log_level_parse(optarg, &level) < 0) {
                fprintf(stderr, "lingerd: -e: unknown level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'v': printf("lingerd %s\n", LINGERD_VERSION); return 0;
        case 'h': main_usage(stdout); return 0;
        default: main_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lingerd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    static struct config cfg;
    if (config_init_defaults(&cfg) < 0) {
        fprintf(stderr, "lingerd: out of memory\n");
        return 1;
    }
    if (conf_file && config_load_file(&cfg, conf_file, stderr) < 0) {
        fprintf(stderr, "lingerd: configuration %s has errors\n", conf_file);
        return 1;
    }
    if (root && main_set(&cfg, "root", root) < 0)
        return 1;
    if (linger && main_set(&cfg, "lingering_close", linger) < 0)
        return 1;
    if (port || addr) {
        char listen[128];
        const char *a = addr ? addr : "127.0.0.1";
        bool v6 = strchr(a, ':') != NULL && a[0] != '[';
        snprintf(listen, sizeof listen, v6 ? "[%s]:%s" : "%s:%s", a, port ? port : "8080");
        cfg.listen_count = 0; /* the command line replaces the file's listens */
        if (main_set(&cfg, "listen", listen) < 0)
            return 1;
    }
    if (config_finish(&cfg, stderr) < 0) {
        fprintf(stderr, "lingerd: configuration has errors\n");
        return 1;
    }
    if (test_only) {
        printf("lingerd: configuration %s is valid\n", conf_file ? conf_file : "(built-in)");
        config_fini(&cfg);
        return 0;
    }
    log_open("stderr", level);
    signal(SIGPIPE, SIG_IGN);

    static struct main_state m;
    struct stats_table *table = stats_table_new();
    struct stats *stats = table ? stats_table_claim(table, 0, 0, (uint64_t)getpid()) : NULL;
    if (!stats) {
        fprintf(stderr, "lingerd: shared memory for counters: %s\n", strerror(errno));
        return 1;
    }
    m.loop = loop_new();
    if (!m.loop) {
        fprintf(stderr, "lingerd: event loop: %s\n", strerror(errno));
        return 1;
    }
    int rc = server_init(&m.srv, m.loop, &cfg, table, stats);
    if (rc < 0) {
        fprintf(stderr, "lingerd: root %s: %s\n", cfg.root, strerror(-rc));
        return 1;
    }
    for (size_t i = 0; i < cfg.listen_count; i++) {
        int fd = main_bind(&cfg.listens[i]);
        if (fd < 0) {
            fprintf(stderr, "lingerd: listen %s: %s\n", cfg.listens[i].text, strerror(-fd));
            return 1;
        }
        if (server_add_listener(&m.srv, fd) < 0) {
            fprintf(stderr, "lingerd: listen %s: cannot watch\n", cfg.listens[i].text);
            return 1;
        }
        log_write(LOG_INFO, "listening on %s", cfg.listens[i].text);
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    m.signals.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    m.signals.on_io = main_on_signal;
    if (m.signals.fd < 0 || loop_watch(m.loop, &m.signals, EPOLLIN) < 0) {
        fprintf(stderr, "lingerd: signalfd: %s\n", strerror(errno));
        return 1;
    }
    loop_timer_init(&m.grace, main_on_grace);
    loop_set_after(m.loop, main_after_iteration, &m);

    stats->started_s = (uint64_t)loop_wall_s(m.loop);
    table->started_s = stats->started_s;
    table->master_pid = stats->pid;
    rc = loop_run(m.loop);
    if (rc < 0)
        log_write(LOG_ERROR, "event loop: %s", strerror(-rc));
    server_fini(&m.srv);
    loop_free(m.loop);
    close(m.signals.fd);
    config_fini(&cfg);
    stats_table_free(table);
    log_close();
    return rc < 0 ? 1 : 0;
}
