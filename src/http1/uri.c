/* uri — percent-decoding and dot-segment removal for request paths (RFC 3986).
 *
 * The path is decoded first and normalised second, in place in out. That order is
 * the point: "%2e%2e" and "%2F" must act as ".." and "/" here, because that is what
 * the file system will see. Normalising the encoded form and decoding afterwards
 * would let "/a/%2e%2e/%2e%2e/etc" through as a literal path that climbs out.
 *
 * Invariants: the result starts with '/', has no empty, "." or ".." segment, holds no
 * byte below 0x20 and no 0x7F, and ends in '/' exactly when the input's last segment
 * was empty, "." or ".." (each names a directory). A ".." at the top is refused, not
 * clamped to "/": a client that sends it is probing, and 400 says so.
 *
 * Leaves out: the query (the caller cuts it off), '+' (a space only in form data),
 * and any check of UTF-8 validity (file names are bytes).
 */
#include "ascii.h"
#include "uri.h"

#include <stdbool.h>
#include <string.h>

static bool uri_is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Percent-decode in[0..len) into out; *n = decoded length. 400 for a bad escape or a
 * control byte, raw or decoded; 414 if the decoded bytes and a NUL do not fit. The
 * whole input is checked even when out is full, so a bad escape is always 400. */
static int uri_percent_decode(const char *in, size_t len, char *out, size_t out_cap, size_t *n)
{
    size_t w = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            int hi, lo;
            if (len - i < 3 || (hi = ascii_hex_value((unsigned char)in[i + 1])) < 0 ||
                (lo = ascii_hex_value((unsigned char)in[i + 2])) < 0)
                return 400;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (uri_is_ctl(c))
            return 400;
        if (w < out_cap)
            out[w] = (char)c;
        w++;
    }
    if (w >= out_cap)
        return 414;
    *n = w;
    return 0;
}

/* Remove dot segments and repeated slashes from p[0..n) in place (RFC 3986 §5.2.4).
 * p[0] is '/'. Returns the new length, or 0 if a ".." would climb above "/". The
 * output never outgrows the input, so writing behind the read position is safe. */
static size_t uri_remove_dot_segments(char *p, size_t n)
{
    size_t r = 0, w = 0;
    bool dir = false; /* the result must end in '/' */

    while (r < n) {
        while (r < n && p[r] == '/')
            r++;
        size_t s = r;
        while (r < n && p[r] != '/')
            r++;
        size_t seg = r - s;
        if (seg == 0) {
            dir = true; /* trailing slash */
        } else if (seg == 1 && p[s] == '.') {
            dir = true;
        } else if (seg == 2 && p[s] == '.' && p[s + 1] == '.') {
            if (w == 0)
                return 0;
            while (p[w - 1] != '/')
                w--;
            w--; /* drop the segment and its '/' */
            dir = true;
        } else {
            p[w++] = '/';
            memmove(p + w, p + s, seg);
            w += seg;
            dir = false;
        }
    }
    if (dir || w == 0)
        p[w++] = '/';
    return w;
}

int uri_decode_path(const char *in, size_t len, char *out, size_t out_cap, size_t *out_len)
{
    size_t n;
    int rc;

    if (len == 0 || in[0] != '/')
        return 400;
    rc = uri_percent_decode(in, len, out, out_cap, &n);
    if (rc != 0)
        return rc;
    n = uri_remove_dot_segments(out, n);
    if (n == 0)
        return 400;
    out[n] = '\0';
    *out_len = n;
    return 0;
}
