/* http1_chars — the byte classes of the HTTP/1.1 grammar, shared by the head
 * parser (http1.c, http1_fields.c), the chunked decoder (http1_chunked.c) and the upstream
 * response parser (proxy_response.c), so what the proxy accepts from an
 * upstream follows the same rules as what it accepts from a client. Private
 * to those parsers: everything is static inline, so each keeps its lookups
 * inlined.
 */
#ifndef LINGERD_HTTP1_CHARS_H
#define LINGERD_HTTP1_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Character classes (RFC 9110 §5.6.2, RFC 3986 §2). */

/* The head parser asks "is this byte a tchar / a field byte / a target byte" of
 * nearly every byte, so the answers are one lookup in a 256-entry table of bit
 * flags rather than chains of comparisons. The compiler computes the table from the
 * rules in HTTP1_CLASS, so the rules stay readable and the table cannot drift. */
enum {
    HTTP1_C_TCHAR = 1 << 0,    /* tchar (RFC 9110 §5.6.2) */
    HTTP1_C_FIELD = 1 << 1,    /* field-vchar / SP / HTAB: VCHAR, obs-text, SP, HTAB (§5.5) */
    HTTP1_C_QUERY = 1 << 2,    /* a query byte: pchar / "/" / "?" (RFC 3986 §3.4), and '%' */
    HTTP1_C_PATH = 1 << 3,     /* a path byte: pchar / "/" (RFC 3986 §3.3), and '%' */
    HTTP1_C_REG_NAME = 1 << 4, /* unreserved / sub-delims (RFC 3986 §2.2, §2.3) */
    HTTP1_C_OWS = 1 << 5,      /* OWS: SP / HTAB (RFC 9110 §5.6.3) */
};

/* A '%' is in the path and query classes; whether two hex digits follow is
 * checked once per target (http1_has_bad_escape). Never in a target: controls,
 * SP, non-ASCII, and the visible bytes RFC 3986 leaves out or keeps for other
 * parts: " # < > [ \ ] ^ ` { | }. Brackets belong to an IP literal only. */

#define HTTP1_IS_ALNUM(c)                                                                   \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') || ((c) >= '0' && (c) <= '9'))
#define HTTP1_IS_TCHAR_MARK(c)                                                              \
    ((c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' || (c) == '\'' ||   \
     (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_' ||    \
     (c) == '`' || (c) == '|' || (c) == '~')
#define HTTP1_IS_REG_NAME_MARK(c)                                                           \
    ((c) == '-' || (c) == '.' || (c) == '_' || (c) == '~' || (c) == '!' || (c) == '$' ||    \
     (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' || (c) == '*' || (c) == '+' ||   \
     (c) == ',' || (c) == ';' || (c) == '=')
#define HTTP1_IS_VISIBLE(c) ((c) >= 0x21 && (c) <= 0x7e)
#define HTTP1_IS_PCHAR_OR_SLASH(c)                                                          \
    (HTTP1_IS_ALNUM(c) || HTTP1_IS_REG_NAME_MARK(c) || (c) == ':' || (c) == '@' ||          \
     (c) == '/' || (c) == '%')
#define HTTP1_CLASS(c)                                                                      \
    ((HTTP1_IS_ALNUM(c) || HTTP1_IS_TCHAR_MARK(c) ? HTTP1_C_TCHAR : 0) |                    \
     ((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f) ? HTTP1_C_FIELD : 0) |                    \
     (HTTP1_IS_PCHAR_OR_SLASH(c) || (c) == '?' ? HTTP1_C_QUERY : 0) |                     \
     (HTTP1_IS_PCHAR_OR_SLASH(c) ? HTTP1_C_PATH : 0) |                                      \
     (HTTP1_IS_ALNUM(c) || HTTP1_IS_REG_NAME_MARK(c) ? HTTP1_C_REG_NAME : 0) |             \
     ((c) == ' ' || (c) == '\t' ? HTTP1_C_OWS : 0))
#define HTTP1_CLASS4(c)                                                                     \
    HTTP1_CLASS(c), HTTP1_CLASS((c) + 1), HTTP1_CLASS((c) + 2), HTTP1_CLASS((c) + 3)
#define HTTP1_CLASS16(c)                                                                    \
    HTTP1_CLASS4(c), HTTP1_CLASS4((c) + 4), HTTP1_CLASS4((c) + 8), HTTP1_CLASS4((c) + 12)
#define HTTP1_CLASS64(c)                                                                    \
    HTTP1_CLASS16(c), HTTP1_CLASS16((c) + 16), HTTP1_CLASS16((c) + 32),                     \
        HTTP1_CLASS16((c) + 48)

static const uint8_t http1_class[256] = {
    HTTP1_CLASS64(0), HTTP1_CLASS64(64), HTTP1_CLASS64(128), HTTP1_CLASS64(192),
};

static inline bool http1_is(unsigned char c, unsigned cls)
{
    return (http1_class[c] & cls) != 0;
}

/* The first byte at or after buf[i] that is not in class cls. The caller knows such a
 * byte exists (a line's CR or LF is in no class), so no length is tested. */
static inline size_t http1_skip(const char *buf, size_t i, unsigned cls)
{
    const unsigned char *b = (const unsigned char *)buf + i;
    while (http1_class[*b] & cls)
        b++;
    return (size_t)(b - (const unsigned char *)buf);
}

static inline bool http1_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline bool http1_is_tchar(unsigned char c)
{
    return http1_is(c, HTTP1_C_TCHAR);
}

static inline bool http1_is_ows(unsigned char c)
{
    return http1_is(c, HTTP1_C_OWS);
}

static inline bool http1_is_field_byte(unsigned char c)
{
    return http1_is(c, HTTP1_C_FIELD);
}

#endif
