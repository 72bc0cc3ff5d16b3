/* status_internal — what the status page's renderers share: the bounded
 * output and the metric helpers of status.c, for status_http2.c. Private to
 * status*.c.
 */
#ifndef LINGERD_STATUS_INTERNAL_H
#define LINGERD_STATUS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

/* Bounded text output, cut at a line boundary when full. */
struct status_out {
    char *p;
    size_t len, cap;
    size_t line_end; /* length up to the last complete line */
    bool full;
};

__attribute__((format(printf, 2, 3)))
void status_printf(struct status_out *o, const char *fmt, ...);
void status_metric_head(struct status_out *o, const char *name, const char *type,
                        const char *help);
void status_metric(struct status_out *o, const char *name, const char *type, const char *help,
                   uint64_t value);

/* The label value of entry i of a family: an enum's _name function, by index. */
typedef const char *status_label_fn(unsigned i);

/* A family with one label: HELP and TYPE, then one sample per entry,
 * name{label="label_of(i)"} values[i], for i from 0 to count - 1. */
void status_metric_family(struct status_out *o, const char *name, const char *type,
                          const char *help, const char *label, status_label_fn *label_of,
                          const uint64_t *values, unsigned count);

/* status_http2.c: the HTTP/2 counters on each page. */
void status_render_http2_auto(struct status_out *o, const struct stats *st);
void status_render_http2_metrics(struct status_out *o, const struct stats *st);
void status_render_http2_html(struct status_out *o, const struct stats *st);

#endif
