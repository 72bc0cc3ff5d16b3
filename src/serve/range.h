/* range — the arithmetic of Range requests (RFC 9110 §14).
 *
 * Pure: no I/O, no allocation. Turns a Range field value and a
 * representation length into the byte spans to send.
 */
#ifndef LINGERD_RANGE_H
#define LINGERD_RANGE_H

#include <stddef.h>
#include <stdint.h>

struct range_span {
    uint64_t first; /* inclusive */
    uint64_t last;  /* inclusive, < size */
};

enum range_rc {
    RANGE_IGNORE,        /* serve the whole representation (200): unknown unit,
                          * bad syntax, or more ranges than the cap */
    RANGE_OK,            /* *n spans, sorted, overlapping/adjacent ones merged */
    RANGE_UNSATISFIABLE, /* 416 with "Content-Range: bytes * /size" */
};

/* Parse value[0..len) ("bytes=0-4,-10") against a representation of size
 * bytes. Writes at most cap spans to out. Ranges that start at or past size
 * are dropped; if none is left the request is unsatisfiable. */
enum range_rc range_parse(const char *value, size_t len, uint64_t size,
                          struct range_span *out, size_t cap, size_t *n);

#endif
