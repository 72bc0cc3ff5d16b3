/* accept_encoding — parse Accept-Encoding and choose a content coding.
 *
 * Grammar (RFC 9110 §12.5.3, §12.4.2, §5.6):
 *   Accept-Encoding = #( codings [ weight ] )
 *   codings = content-coding / "identity" / "*"      (tokens, case-insensitive)
 *   weight  = OWS ";" OWS "q=" qvalue                 ("q" case-insensitive)
 *   qvalue  = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 * A member that breaks this (a bad token, another parameter, "q=1.5",
 * "q=0.0001", a quote) is skipped whole: reading "gzip;q=junk" as q=1 would
 * send gzip to a client that may have meant to refuse it. Unknown codings
 * are well-formed and simply not ours. Members are split at every comma;
 * a quoted string, which the grammar does not allow here, only makes its
 * own pieces malformed.
 */
#include "accept_encoding.h"

#include <string.h>

static const char *const accept_coding_names[] = {
    [ACCEPT_BR] = "br",
    [ACCEPT_GZIP] = "gzip",
    [ACCEPT_IDENTITY] = "identity",
};
_Static_assert(sizeof accept_coding_names / sizeof accept_coding_names[0] ==
                   ACCEPT_CODING_COUNT, "one name per coding");

const char *accept_coding_name(enum accept_coding c)
{
    return (unsigned)c < ACCEPT_CODING_COUNT ? accept_coding_names[c] : "?";
}

void accept_encoding_init(struct accept_encoding *ae)
{
    memset(ae, 0, sizeof *ae);
}

static bool accept_encoding_is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* tchar of RFC 9110 §5.6.2. */
static bool accept_encoding_is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool accept_encoding_token_is(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = s[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != lit[i])
            return false;
    }
    return true;
}

/* qvalue in s[0..len) as thousandths; false if it is not one. */
static bool accept_encoding_parse_q(const char *s, size_t len, uint16_t *q)
{
    if (len == 0 || (s[0] != '0' && s[0] != '1'))
        return false;
    unsigned v = (unsigned)(s[0] - '0') * 1000;
    if (len == 1) {
        *q = (uint16_t)v;
        return true;
    }
    if (s[1] != '.' || len > 5)
        return false;
    unsigned scale = 100;
    for (size_t i = 2; i < len; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v += (unsigned)(s[i] - '0') * scale;
    }
    if (v > 1000)
        return false; /* "1.001" */
    *q = (uint16_t)v;
    return true;
}

/* One member m[0..len): "coding" or "coding;q=V", OWS around the parts.
 * Returns false for a malformed member. */
static bool accept_encoding_member(const char *m, size_t len, const char **tok, size_t *tok_len,
                                   uint16_t *q)
{
    size_t i = 0;
    while (i < len && accept_encoding_is_ows(m[i]))
        i++;
    size_t start = i;
    while (i < len && accept_encoding_is_tchar((unsigned char)m[i]))
        i++;
    *tok = m + start;
    *tok_len = i - start;
    *q = 1000;
    while (i < len && accept_encoding_is_ows(m[i]))
        i++;
    if (*tok_len == 0)
        return false;
    if (i == len)
        return true;
    if (m[i] != ';')
        return false;
    i++;
    while (i < len && accept_encoding_is_ows(m[i]))
        i++;
    if (i + 2 > len || (m[i] != 'q' && m[i] != 'Q') || m[i + 1] != '=')
        return false;
    i += 2;
    size_t vstart = i;
    while (i < len && !accept_encoding_is_ows(m[i]))
        i++;
    size_t vend = i;
    while (i < len && accept_encoding_is_ows(m[i]))
        i++;
    if (i != len) /* a second parameter, or junk */
        return false;
    return accept_encoding_parse_q(m + vstart, vend - vstart, q);
}

void accept_encoding_add(struct accept_encoding *ae, const char *value, size_t len)
{
    ae->present = true;
    size_t i = 0;
    while (i <= len) {
        const char *comma = i < len ? memchr(value + i, ',', len - i) : NULL;
        size_t end = comma ? (size_t)(comma - value) : len;
        const char *tok;
        size_t tok_len;
        uint16_t q;
        if (accept_encoding_member(value + i, end - i, &tok, &tok_len, &q)) {
            int c = -1;
            if (accept_encoding_token_is(tok, tok_len, "gzip") ||
                accept_encoding_token_is(tok, tok_len, "x-gzip"))
                c = ACCEPT_GZIP;
            else if (accept_encoding_token_is(tok, tok_len, "br"))
                c = ACCEPT_BR;
            else if (accept_encoding_token_is(tok, tok_len, "identity"))
                c = ACCEPT_IDENTITY;
            if (c >= 0 && !ae->named[c]) {
                ae->named[c] = true;
                ae->q[c] = q;
            } else if (tok_len == 1 && tok[0] == '*' && !ae->star) {
                ae->star = true;
                ae->star_q = q;
            }
        }
        if (!comma)
            break;
        i = end + 1;
    }
}

uint16_t accept_encoding_weight(const struct accept_encoding *ae, enum accept_coding c)
{
    if (!ae->present)
        return c == ACCEPT_IDENTITY ? 1000 : 0;
    if (ae->named[c])
        return ae->q[c];
    if (ae->star)
        return ae->star_q;
    /* Identity is acceptable when not excluded (§12.5.3), but a client that
     * lists codings and not identity prefers any of them to it. */
    return c == ACCEPT_IDENTITY ? 1 : 0;
}

enum accept_coding accept_encoding_choose(const struct accept_encoding *ae, unsigned offered)
{
    enum accept_coding best = ACCEPT_IDENTITY;
    uint16_t best_q = 0;
    offered |= 1u << ACCEPT_IDENTITY;
    for (unsigned c = 0; c < ACCEPT_CODING_COUNT; c++) {
        if (!(offered & (1u << c)))
            continue;
        uint16_t q = accept_encoding_weight(ae, (enum accept_coding)c);
        if (q > best_q) { /* strictly greater: earlier codings win ties */
            best = (enum accept_coding)c;
            best_q = q;
        }
    }
    return best;
}
