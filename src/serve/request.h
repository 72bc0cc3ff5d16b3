/* request — route a parsed request to its handler.
 *
 * Decodes the path, finds the location, enforces the location's methods
 * (405 with Allow) and authentication (401 with a challenge), then hands the
 * request to static.c (GET, HEAD), upload.c (PUT, POST, DELETE) or answers
 * OPTIONS itself.
 */
#ifndef LINGERD_REQUEST_H
#define LINGERD_REQUEST_H

#include <stddef.h>

struct conn;

/* Answer the connection's current request (conn_request), or start reading
 * its body. Always leaves the request answered or with a body sink. */
void request_dispatch(struct conn *c);

/* "GET, HEAD, OPTIONS" for a method bit set; returns the length written. */
size_t request_format_allow(unsigned methods, char *out, size_t cap);

#endif
