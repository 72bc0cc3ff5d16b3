/* redirect — the Location of a `return` and of the trailing-slash redirect.
 *
 * Templates: URI-reference characters and three variables. Expansion
 * copies the variables' values verbatim: $scheme is ours; $host and
 * $request_uri come from a head http1.c checked against RFC 3986 (a host is
 * a reg-name or IP literal, a target holds pchar, '/', '?' and valid
 * percent-escapes only), so no value can carry a byte the grammar forbids.
 *
 * Not here: choosing the status or writing the response (request.c,
 * static.c); the Location field is a URI-reference (RFC 9110 §10.2.2), so a
 * relative one is as valid as an absolute one.
 */
#include "redirect.h"

#include <stdio.h>
#include <string.h>

#include "ascii.h"

static bool redirect_is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static bool redirect_is_sub_delim(unsigned char c)
{
    return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
           c == '+' || c == ',' || c == ';' || c == '=';
}

/* unreserved / reserved (gen-delims and sub-delims), RFC 3986 §2.2, §2.3 */
static bool redirect_is_uri_char(unsigned char c)
{
    return redirect_is_unreserved(c) || redirect_is_sub_delim(c) || c == ':' || c == '/' ||
           c == '?' || c == '#' || c == '[' || c == ']' || c == '@';
}

static const struct {
    const char *name;
    size_t len;
} redirect_names[] = {
    { "scheme", 6 },
    { "host", 4 },
    { "request_uri", 11 },
};

/* The variable at t (after the '$'): its index, and *used bytes of t. -1 if
 * none is named there. */
static int redirect_variable(const char *t, size_t *used)
{
    bool braced = t[0] == '{';
    const char *name = t + braced;

    for (size_t i = 0; i < sizeof redirect_names / sizeof redirect_names[0]; i++) {
        size_t n = redirect_names[i].len;
        if (strncmp(name, redirect_names[i].name, n) != 0)
            continue;
        if (braced && name[n] != '}')
            continue;
        /* "$hostname" is not "$host" followed by "name": a name ends at a
         * byte that cannot be part of one (nginx's rule: letters, digits, _) */
        unsigned char next = (unsigned char)name[n];
        if (!braced && ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
                        (next >= '0' && next <= '9') || next == '_'))
            continue;
        *used = n + 2 * braced;
        return (int)i;
    }
    return -1;
}

int redirect_check_template(const char *tmpl, char *err, size_t errlen)
{
    if (tmpl[0] == '\0') {
        snprintf(err, errlen, "an empty URL");
        return -1;
    }
    for (const char *p = tmpl; *p;) {
        unsigned char c = (unsigned char)*p;
        size_t used;
        if (c == '$') {
            if (redirect_variable(p + 1, &used) < 0) {
                snprintf(err, errlen, "unknown variable at '%.24s' (known: $scheme, $host, "
                         "$request_uri)", p);
                return -1;
            }
            p += 1 + used;
            continue;
        }
        if (c == '%') {
            if (ascii_hex_value((unsigned char)p[1]) < 0 ||
                ascii_hex_value((unsigned char)p[2]) < 0) {
                snprintf(err, errlen, "'%%' must start a %%XX escape");
                return -1;
            }
            p += 3;
            continue;
        }
        if (!redirect_is_uri_char(c)) {
            snprintf(err, errlen, "byte 0x%02x cannot appear in a URL (RFC 3986): "
                     "percent-encode it", c);
            return -1;
        }
        p++;
    }
    return 0;
}

size_t redirect_expand(const char *tmpl, const struct redirect_vars *v, char *out, size_t cap)
{
    size_t n = 0;

    for (const char *p = tmpl; *p;) {
        const char *val = p;
        size_t len = 1, used = 0;
        int var = *p == '$' ? redirect_variable(p + 1, &used) : -1;
        if (var == 0) {
            val = v->scheme;
            len = strlen(v->scheme);
        } else if (var == 1) {
            val = v->host;
            len = v->host_len;
        } else if (var == 2) {
            val = v->request_uri;
            len = v->request_uri_len;
        }
        if (len >= cap - n)
            return 0;
        memcpy(out + n, val, len);
        n += len;
        p += var >= 0 ? 1 + used : 1;
    }
    out[n] = '\0';
    return n;
}

size_t redirect_encode_path(const char *path, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        bool plain = redirect_is_unreserved(c) || redirect_is_sub_delim(c) || c == ':' ||
                     c == '@' || c == '/';
        if (n + (plain ? 1 : 3) >= cap)
            return 0;
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return n;
}
