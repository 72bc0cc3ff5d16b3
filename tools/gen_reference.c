/* gen_reference — print the directive reference from the table in config.c.
 *   tools/gen_reference markdown > docs/directives.md
 *   tools/gen_reference man > docs/man/lingerd.conf.5
 *   tools/gen_reference conf > conf/lingerd.conf
 * `make docs` runs all three. tests/unit/test_config.c fails when the files
 * and the table differ. */
#include <stdio.h>
#include <string.h>

#include "config.h"

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "markdown") != 0 && strcmp(argv[1], "man") != 0 &&
                      strcmp(argv[1], "conf") != 0 && strcmp(argv[1], "text") != 0)) {
        fprintf(stderr, "usage: %s markdown|man|conf|text\n", argv[0]);
        return 2;
    }
    config_print_reference(stdout, argv[1]);
    return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
