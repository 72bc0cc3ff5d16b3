/* redirect — the Location of a `return` and of the trailing-slash redirect.
 *
 * Pure: no I/O, no allocation. A return template is checked once at load
 * (a URI-reference of RFC 3986 §4.1 whose '$' start only known variables)
 * and expanded per request from slices the parser already checked, so what
 * is echoed back stays inside the grammar.
 */
#ifndef LINGERD_REDIRECT_H
#define LINGERD_REDIRECT_H

#include <stdbool.h>
#include <stddef.h>

/* The values a template may use. */
struct redirect_vars {
    const char *scheme;      /* "http" or "https" */
    const char *host;        /* $host: lower case, no port, no trailing dot */
    size_t host_len;
    const char *request_uri; /* $request_uri: path and query as the client sent them */
    size_t request_uri_len;
};

/* A return URL template: URI-reference characters (unreserved, reserved,
 * "%" HEXDIG HEXDIG) with $scheme, $host and $request_uri (also written
 * ${name}). 0, or -1 with the reason in err. */
int redirect_check_template(const char *tmpl, char *err, size_t errlen);

/* Expand a checked template into out[0..cap). Returns the length, or 0 if
 * it does not fit (the caller answers 500: the configured URL is too long
 * for this request). */
size_t redirect_expand(const char *tmpl, const struct redirect_vars *v, char *out, size_t cap);

/* A decoded path (from uri_decode_path) as an absolute-path URI component:
 * bytes outside pchar and '/' percent-encoded. Returns the length, or 0 if
 * it does not fit in cap. */
size_t redirect_encode_path(const char *path, size_t len, char *out, size_t cap);

#endif
