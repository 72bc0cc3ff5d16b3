/* cli — the command line and the configuration it asks for.
 *
 * The configuration is built the same way at start and at every reload:
 * built-in defaults, then the file given by -c, then the options of the
 * command line, which win.
 */
#ifndef LINGERD_CLI_H
#define LINGERD_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "log.h"

struct config;

struct cli {
    const char *conf_file; /* -c */
    const char *port;      /* -p */
    const char *addr;      /* -l */
    const char *root;      /* -r */
    const char *linger;    /* -L */
    const char *signal;    /* -s */
    bool run_as_root;      /* -R */
    bool single;           /* -X: master_process off */
    enum log_level level;  /* -e */
    bool level_given;
    bool test_only;        /* -t */
};

/* Parse argv. 0 to go on, 1 if done (-h, -v printed), 2 on a usage error
 * (printed to stderr). */
int cli_parse(struct cli *cli, int argc, char **argv);

/* Build cfg as described above; errors go to errs as FILE:LINE: message.
 * 0, or -1 (cfg is then finished or not, and must be given to config_fini). */
int cli_build_config(const struct cli *cli, struct config *cfg, FILE *errs);

#endif
