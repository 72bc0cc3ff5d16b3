/* fuzz_config — the configuration parser (config_load_file, config_finish).
 *
 * The input is written to a file in a private directory (config_load_file
 * reads a path: includes are relative to it) and loaded over the defaults,
 * then finished and released. Errors go to /dev/null; the only findings are
 * crashes, leaks and sanitizer reports. A parse that succeeds must leave a
 * configuration config_finish accepts or refuses, never one that crashes it.
 */
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static char fuzz_config_dir[64];
static char fuzz_config_path[96];
static FILE *fuzz_config_errs;

static void fuzz_config_cleanup(void)
{
    unlink(fuzz_config_path);
    rmdir(fuzz_config_dir);
}

static void fuzz_config_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_config_dir, sizeof fuzz_config_dir, "%s/lingerd-fuzz-config.XXXXXX",
             tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(fuzz_config_dir) != NULL);
    snprintf(fuzz_config_path, sizeof fuzz_config_path, "%s/lingerd.conf", fuzz_config_dir);
    fuzz_config_errs = fopen("/dev/null", "w");
    FUZZ_CHECK(fuzz_config_errs != NULL);
    atexit(fuzz_config_cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config cfg;
    if (!fuzz_config_path[0])
        fuzz_config_setup();
    FILE *f = fopen(fuzz_config_path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);

    FUZZ_CHECK(config_init_defaults(&cfg) == 0);
    if (config_load_file(&cfg, fuzz_config_path, fuzz_config_errs) == 0)
        (void)config_finish(&cfg, fuzz_config_errs);
    config_fini(&cfg);
    return 0;
}
