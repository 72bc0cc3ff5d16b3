/* driver — run a fuzz target once over each file named on the command line.
 *
 * The regression half of fuzzing (`make fuzz-regress`, part of `make test`):
 * every corpus file goes through LLVMFuzzerTestOneInput exactly as libFuzzer
 * would pass it, in an ASan+UBSan build without -fsanitize=fuzzer. Each input
 * is copied into an allocation of exactly its size so an over-read trips ASan.
 * Prints "NAME: N passed, 0 failed"; a failing input aborts with its name on
 * stderr (the sanitizer report follows), which the caller counts as a failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int driver_run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            fprintf(stderr, "%s: out of memory\n", path);
            return -1;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
        if (len == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    /* exactly len bytes (at least 1 for malloc), so reading past the end is caught */
    unsigned char *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    fprintf(stderr, "running %s (%zu bytes)\n", path, len);
    (void)LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 0 ? argv[0] : "fuzz";
    const char *slash = strrchr(name, '/');
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        if (driver_run_file(argv[i]) < 0)
            failed++;
        else
            passed++;
    }
    printf("%s: %d passed, %d failed\n", slash ? slash + 1 : name, passed, failed);
    return failed ? 1 : 0;
}
