/* fuzz — what every libFuzzer target in tests/fuzz/ shares.
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput. Built with clang
 * -fsanitize=fuzzer for `make fuzz`; built with driver.c (a plain main that
 * runs each file named on the command line once) and ASan+UBSan by any C
 * compiler for `make fuzz-regress`, so the regression run needs no clang.
 *
 * FUZZ_CHECK is for properties the target asserts about the module (a slice
 * inside the buffer, the same verdict whole and split): a violation aborts,
 * which both libFuzzer and the driver report as a crash with the input.
 */
#ifndef LINGERD_FUZZ_H
#define LINGERD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#endif
