/* autoindex — the listing of a directory that has no index file, as HTML or
 * JSON, for locations with `autoindex on`.
 *
 * The escapers are pure (no I/O, no allocation) and snprintf-like: they
 * write at most cap bytes (NUL-terminated when cap > 0) and return the
 * length the whole result needs, so a caller can size its buffer with
 * AUTOINDEX_ESCAPE_MAX. A file name is any bytes but '/' and NUL.
 */
#ifndef LINGERD_AUTOINDEX_H
#define LINGERD_AUTOINDEX_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct config_location;

/* The most bytes one input byte becomes in any escaper ("&quot;", "\u001f"). */
#define AUTOINDEX_ESCAPE_MAX 6

/* Text for HTML content and quoted attribute values: & < > " ' as
 * references; control characters (C0, DEL, C1) and bytes that are not
 * well-formed UTF-8 each as U+FFFD; other UTF-8 as it is. */
size_t autoindex_escape_html(const char *in, size_t len, char *out, size_t cap);

/* A relative URL path segment: every byte but ALPHA DIGIT - . _ ~ as %XX
 * (so ':' cannot start a scheme and the link names exactly these bytes). */
size_t autoindex_escape_href(const char *in, size_t len, char *out, size_t cap);

/* The inside of a JSON string: " \ and control characters escaped
 * (RFC 8259 §7); bytes that are not well-formed UTF-8 as \ufffd (the href
 * keeps the exact bytes). */
size_t autoindex_escape_json(const char *in, size_t len, char *out, size_t cap);

/* How much an Accept field prefers JSON to HTML, fed line by line: the
 * weight (thousandths) of the most specific media range matching
 * application/json and text/html (exact, then type/ANY, then ANY/ANY;
 * RFC 9110 §12.5.1). Pure; a malformed range is skipped. */
struct autoindex_accept {
    int json_q, html_q;         /* -1: no range matched yet */
    int json_rank, html_rank;   /* 3 exact, 2 type wildcard, 1 full wildcard */
};
void autoindex_accept_init(struct autoindex_accept *a);
void autoindex_accept_add(struct autoindex_accept *a, const char *value, size_t len);
/* JSON when it weighs more than HTML (no field: HTML). */
bool autoindex_accept_json(const struct autoindex_accept *a);

/* Answer a GET or HEAD of the directory dirfd (taken: closed here) at the
 * decoded path[0..len) (ends in '/') of location loc. */
void autoindex_answer(struct conn *c, const struct config_location *loc, int dirfd,
                      const char *path, size_t len);

#endif
