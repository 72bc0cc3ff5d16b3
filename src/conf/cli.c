/* cli — options, usage text and the configuration they build. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "config.h"
#include "tls_store.h"

#define LINGERD_VERSION "0.1.0"

/* -V: what an operator asks when HTTPS is slower or faster than expected. */
static void cli_print_build(void)
{
    printf("lingerd %s\n", LINGERD_VERSION);
    printf("TLS: %s (built with %s)\n", OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT);
    printf("kTLS: %s\n", tls_store_ktls_available()
                               ? "the kernel offers the tls module: used where ktls is on"
                               : "the kernel does not offer the tls module: OpenSSL encrypts "
                                 "in the worker");
}

static void cli_usage(FILE *out)
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
            "  -X         one process, no master (master_process off)\n"
            "  -R         allow workers to run as root (run_as_root on)\n"
            "  -s SIGNAL  send reload|stop|quit|reopen to the master named by pid_file\n"
            "  -v         print the version and exit\n"
            "  -V         print the version, the TLS library and whether kTLS can be used, and exit\n"
            "  -h         print this help and exit\n"
            "\n"
            "Signals to the master: SIGHUP reloads the configuration (new workers,\n"
            "old ones drain); SIGQUIT stops gracefully; SIGTERM/SIGINT stop at once;\n"
            "SIGUSR1 reopens the logs; SIGUSR2 starts a new binary on the same\n"
            "listening sockets (see docs/operations.md).\n"
            "\n");
    config_print_reference(out, "text");
}

int cli_parse(struct cli *cli, int argc, char **argv)
{
    memset(cli, 0, sizeof *cli);
    cli->level = LOG_WARN;
    int opt;
    while ((opt = getopt(argc, argv, "c:tp:l:r:L:e:s:XRvVh")) != -1) {
        switch (opt) {
        case 'c': cli->conf_file = optarg; break;
        case 't': cli->test_only = true; break;
        case 'p': cli->port = optarg; break;
        case 'l': cli->addr = optarg; break;
        case 'r': cli->root = optarg; break;
        case 'L': cli->linger = optarg; break;
        case 's': cli->signal = optarg; break;
        case 'X': cli->single = true; break;
        case 'R': cli->run_as_root = true; break;
        case 'e':
            if (log_level_parse(optarg, &cli->level) < 0) {
                fprintf(stderr, "lingerd: -e: unknown level '%s'\n", optarg);
                return 2;
            }
            cli->level_given = true;
            break;
        case 'v': printf("lingerd %s\n", LINGERD_VERSION); return 1;
        case 'V': cli_print_build(); return 1;
        case 'h': cli_usage(stdout); return 1;
        default: cli_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lingerd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

static int cli_set(struct config *cfg, const char *name, const char *value, FILE *errs)
{
    char err[256];
    const char *args[] = { value };
    if (config_set(cfg, NULL, name, args, 1, err, sizeof err) < 0) {
        fprintf(errs, "lingerd: command line: %s %s: %s\n", name, value, err);
        return -1;
    }
    return 0;
}

int cli_build_config(const struct cli *cli, struct config *cfg, FILE *errs)
{
    if (config_init_defaults(cfg) < 0) {
        fprintf(errs, "lingerd: out of memory\n");
        return -1;
    }
    if (cli->conf_file && config_load_file(cfg, cli->conf_file, errs) < 0)
        return -1;
    if (cli->root && cli_set(cfg, "root", cli->root, errs) < 0)
        return -1;
    if (cli->linger && cli_set(cfg, "lingering_close", cli->linger, errs) < 0)
        return -1;
    if (cli->single && cli_set(cfg, "master_process", "off", errs) < 0)
        return -1;
    if (cli->run_as_root && cli_set(cfg, "run_as_root", "on", errs) < 0)
        return -1;
    if (cli->port || cli->addr) {
        char listen[128];
        const char *a = cli->addr ? cli->addr : "127.0.0.1";
        bool v6 = strchr(a, ':') != NULL && a[0] != '[';
        snprintf(listen, sizeof listen, v6 ? "[%s]:%s" : "%s:%s", a,
                 cli->port ? cli->port : "8080");
        cfg->listen_count = 0; /* the command line replaces the file's listens */
        if (cli_set(cfg, "listen", listen, errs) < 0)
            return -1;
    }
    cfg->skip_resolve = cli->signal != NULL;
    return config_finish(cfg, errs);
}
