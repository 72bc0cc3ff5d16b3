/* uri — turn a request target's path into a safe, normalised file path.
 *
 * Pure: no I/O, no allocation. Percent-decoding and dot-segment removal
 * (RFC 3986 §5.2.4) happen here so that every later check sees the path the
 * file system will see.
 */
#ifndef LINGERD_URI_H
#define LINGERD_URI_H

#include <stddef.h>

/* Decode the percent-encoded origin-form path in[0..len) (no query) into
 * out[0..out_cap) as a NUL-terminated string, remove "." and ".." segments
 * and collapse repeated slashes. The result starts with '/' and keeps a
 * trailing '/' if the input had one (a directory request).
 * Returns 0 and *out_len, or the HTTP status to answer:
 *   400  not starting with '/', a bad %-escape, a decoded NUL or control
 *        byte (0x00-0x1F, 0x7F), or a ".." that would climb above "/";
 *   414  the decoded path does not fit in out_cap. */
int uri_decode_path(const char *in, size_t len, char *out, size_t out_cap, size_t *out_len);

#endif
