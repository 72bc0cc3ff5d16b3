/* http1_chunked — the chunked transfer coding of a request body (RFC 9112 §7.1).
 *
 * Chunked decoder. A byte-at-a-time state machine, state in struct http1_chunked;
 * chunk data is returned as one span per call without copying. Errors are 400, except
 * a chunk size that does not fit in 64 bits (413). A size line longer than
 * line_max_bytes, or a trailer section longer than trailer_max_bytes, is 400 too, not
 * 431: by then the head has been accepted, and the header's contract promises only
 * 400 and 413. line_max_bytes counts a size line with its extensions and CRLF;
 * trailer_max_bytes counts every byte after the last chunk's line, the final CRLF
 * included. Trailer fields are validated like head fields; the bytes of their lines
 * are reported span by span (fields_off, fields_len) for a caller that relays them,
 * and ignored by the others.
 */
#include "ascii.h"
#include "http1.h"
#include "http1_chars.h"

#include <assert.h>
#include <string.h>

enum http1_chunked_state {
    HTTP1_CK_SIZE_START,     /* first HEXDIG of chunk-size */
    HTTP1_CK_SIZE,           /* more HEXDIG, or what follows the size */
    HTTP1_CK_EXT_BWS,        /* whitespace before ";" */
    HTTP1_CK_EXT_NAME_START, /* after ";": BWS, then a token */
    HTTP1_CK_EXT_NAME,       /* in chunk-ext-name */
    HTTP1_CK_EXT_AFTER_NAME, /* whitespace after the name: "=" or ";" follows */
    HTTP1_CK_EXT_VALUE_START, /* after "=": BWS, then token or quoted-string */
    HTTP1_CK_EXT_TOKEN,      /* in a token value */
    HTTP1_CK_EXT_QUOTED,     /* in a quoted-string value */
    HTTP1_CK_EXT_QUOTED_PAIR, /* after a backslash in a quoted-string */
    HTTP1_CK_EXT_AFTER_QUOTED, /* after the closing quote */
    HTTP1_CK_SIZE_LF,        /* CR seen, LF must follow */
    HTTP1_CK_DATA,           /* chunk_left data bytes */
    HTTP1_CK_DATA_CR,        /* CR after the data */
    HTTP1_CK_DATA_LF,        /* LF after the data */
    HTTP1_CK_TRAILER_START,  /* start of a trailer line, or the final CRLF */
    HTTP1_CK_TRAILER_NAME,   /* in a trailer field name */
    HTTP1_CK_TRAILER_VALUE,  /* after the colon */
    HTTP1_CK_TRAILER_LF,     /* CR seen at the end of a trailer line */
    HTTP1_CK_END_LF,         /* CR of the final empty line seen */
    HTTP1_CK_DONE,
    HTTP1_CK_ERROR,
};

void http1_chunked_init(struct http1_chunked *d, uint32_t line_max_bytes,
                        uint32_t trailer_max_bytes)
{
    memset(d, 0, sizeof *d);
    d->state = HTTP1_CK_SIZE_START;
    d->line_max_bytes = line_max_bytes;
    d->trailer_max_bytes = trailer_max_bytes;
}

static enum http1_rc http1_chunked_fail(struct http1_chunked *d, int status, const char *reason)
{
    d->state = HTTP1_CK_ERROR;
    d->status = status;
    d->reason = reason;
    return HTTP1_ERROR;
}

/* qdtext / quoted-pair content (RFC 9110 §5.6.4). */
static bool http1_is_qdtext(unsigned char c)
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

/* Feed one byte that is not chunk data. */
static enum http1_rc http1_chunked_step(struct http1_chunked *d, unsigned char c)
{
    enum http1_chunked_state s = (enum http1_chunked_state)d->state;
    int h;

    if (s <= HTTP1_CK_SIZE_LF && ++d->line_bytes > d->line_max_bytes)
        return http1_chunked_fail(d, 400, "chunk-size line too long");
    if (s >= HTTP1_CK_TRAILER_START && s <= HTTP1_CK_END_LF &&
        ++d->trailer_bytes > d->trailer_max_bytes)
        return http1_chunked_fail(d, 400, "trailer section too long");

    switch (s) {
    case HTTP1_CK_SIZE_START:
        h = ascii_hex_value(c);
        if (h < 0)
            return http1_chunked_fail(d, 400, "chunk size is not hex");
        d->chunk_left = (uint64_t)h;
        d->state = HTTP1_CK_SIZE;
        break;
    case HTTP1_CK_SIZE:
        h = ascii_hex_value(c);
        if (h >= 0) {
            /* leading zeros are harmless; only significant digits can overflow */
            if (d->chunk_left > UINT64_MAX >> 4)
                return http1_chunked_fail(d, 413, "chunk size overflows 64 bits");
            d->chunk_left = d->chunk_left << 4 | (uint64_t)h;
        } else if (c == '\r') {
            d->state = HTTP1_CK_SIZE_LF;
        } else if (c == ';') {
            d->state = HTTP1_CK_EXT_NAME_START;
        } else if (http1_is_ows(c)) {
            d->state = HTTP1_CK_EXT_BWS;
        } else if (c == '\n') {
            return http1_chunked_fail(d, 400, "bare LF after chunk size");
        } else {
            return http1_chunked_fail(d, 400, "invalid byte after chunk size");
        }
        break;
    case HTTP1_CK_EXT_BWS:
        /* BWS is only allowed before ";": "5 \r\n" is not a chunk-size line */
        if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (!http1_is_ows(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension");
        break;
    case HTTP1_CK_EXT_NAME_START:
        if (http1_is_tchar(c))
            d->state = HTTP1_CK_EXT_NAME;
        else if (!http1_is_ows(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension name");
        break;
    case HTTP1_CK_EXT_NAME:
        if (c == '\r')
            d->state = HTTP1_CK_SIZE_LF;
        else if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (c == '=')
            d->state = HTTP1_CK_EXT_VALUE_START;
        else if (http1_is_ows(c))
            d->state = HTTP1_CK_EXT_AFTER_NAME;
        else if (!http1_is_tchar(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension name");
        break;
    case HTTP1_CK_EXT_AFTER_NAME:
        if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (c == '=')
            d->state = HTTP1_CK_EXT_VALUE_START;
        else if (!http1_is_ows(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension");
        break;
    case HTTP1_CK_EXT_VALUE_START:
        if (c == '"')
            d->state = HTTP1_CK_EXT_QUOTED;
        else if (http1_is_tchar(c))
            d->state = HTTP1_CK_EXT_TOKEN;
        else if (!http1_is_ows(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension value");
        break;
    case HTTP1_CK_EXT_TOKEN:
        if (c == '\r')
            d->state = HTTP1_CK_SIZE_LF;
        else if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (http1_is_ows(c))
            d->state = HTTP1_CK_EXT_BWS;
        else if (!http1_is_tchar(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension value");
        break;
    case HTTP1_CK_EXT_QUOTED:
        if (c == '"')
            d->state = HTTP1_CK_EXT_AFTER_QUOTED;
        else if (c == '\\')
            d->state = HTTP1_CK_EXT_QUOTED_PAIR;
        else if (!http1_is_qdtext(c))
            return http1_chunked_fail(d, 400, "invalid byte in chunk extension");
        break;
    case HTTP1_CK_EXT_QUOTED_PAIR:
        if (!http1_is_field_byte(c))
            return http1_chunked_fail(d, 400, "invalid byte in chunk extension");
        d->state = HTTP1_CK_EXT_QUOTED;
        break;
    case HTTP1_CK_EXT_AFTER_QUOTED:
        if (c == '\r')
            d->state = HTTP1_CK_SIZE_LF;
        else if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (http1_is_ows(c))
            d->state = HTTP1_CK_EXT_BWS;
        else
            return http1_chunked_fail(d, 400, "invalid chunk extension");
        break;
    case HTTP1_CK_SIZE_LF:
        if (c != '\n')
            return http1_chunked_fail(d, 400, "CR not followed by LF in chunk-size line");
        d->line_bytes = 0;
        d->state = d->chunk_left == 0 ? HTTP1_CK_TRAILER_START : HTTP1_CK_DATA;
        break;
    case HTTP1_CK_DATA_CR:
        if (c != '\r')
            return http1_chunked_fail(d, 400, "chunk data longer than its size");
        d->state = HTTP1_CK_DATA_LF;
        break;
    case HTTP1_CK_DATA_LF:
        if (c != '\n')
            return http1_chunked_fail(d, 400, "CR not followed by LF after chunk data");
        d->state = HTTP1_CK_SIZE_START;
        break;
    case HTTP1_CK_TRAILER_START:
        if (c == '\r')
            d->state = HTTP1_CK_END_LF;
        else if (http1_is_tchar(c))
            d->state = HTTP1_CK_TRAILER_NAME;
        else if (http1_is_ows(c))
            return http1_chunked_fail(d, 400, "obs-fold in trailer section");
        else
            return http1_chunked_fail(d, 400, "invalid trailer field name");
        break;
    case HTTP1_CK_TRAILER_NAME:
        if (c == ':')
            d->state = HTTP1_CK_TRAILER_VALUE;
        else if (!http1_is_tchar(c))
            return http1_chunked_fail(d, 400, "invalid trailer field name");
        break;
    case HTTP1_CK_TRAILER_VALUE:
        if (c == '\r')
            d->state = HTTP1_CK_TRAILER_LF;
        else if (!http1_is_field_byte(c))
            return http1_chunked_fail(d, 400, "control byte in trailer field value");
        break;
    case HTTP1_CK_TRAILER_LF:
        if (c != '\n')
            return http1_chunked_fail(d, 400, "CR not followed by LF in trailer section");
        d->state = HTTP1_CK_TRAILER_START;
        break;
    case HTTP1_CK_END_LF:
        if (c != '\n')
            return http1_chunked_fail(d, 400, "CR not followed by LF after trailer section");
        d->state = HTTP1_CK_DONE;
        return HTTP1_DONE;
    case HTTP1_CK_DATA:
    case HTTP1_CK_DONE:
    case HTTP1_CK_ERROR:
        assert(s != HTTP1_CK_DATA && s != HTTP1_CK_DONE && s != HTTP1_CK_ERROR);
        return http1_chunked_fail(d, 400, "internal: bad chunked state");
    }
    return HTTP1_AGAIN;
}

enum http1_rc http1_chunked_decode(struct http1_chunked *d, const char *in, size_t len,
                                   size_t *used, size_t *data_off, size_t *data_len)
{
    size_t i = 0;
    enum http1_rc rc = HTTP1_AGAIN;

    *data_off = 0;
    *data_len = 0;
    d->fields_len = 0;
    if (d->state == HTTP1_CK_DONE)
        rc = HTTP1_DONE;
    else if (d->state == HTTP1_CK_ERROR)
        rc = HTTP1_ERROR;
    while (rc == HTTP1_AGAIN && i < len) {
        if (d->state == HTTP1_CK_DATA) {
            /* one span per call; the caller hands it on and calls again */
            size_t n = len - i;
            if (n > d->chunk_left)
                n = (size_t)d->chunk_left;
            *data_off = i;
            *data_len = n;
            d->chunk_left -= n;
            i += n;
            if (d->chunk_left == 0)
                d->state = HTTP1_CK_DATA_CR;
            break;
        }
        /* A trailer field line's byte: its first (not the final CR), or any
         * after it, once the step took it. Within one call they are
         * contiguous: only the final CRLF follows them. */
        bool field = d->state >= HTTP1_CK_TRAILER_START && d->state < HTTP1_CK_END_LF &&
                     (d->state != HTTP1_CK_TRAILER_START || in[i] != '\r');
        rc = http1_chunked_step(d, (unsigned char)in[i++]);
        if (field && rc != HTTP1_ERROR) {
            if (d->fields_len == 0)
                d->fields_off = i - 1;
            d->fields_len = i - d->fields_off;
        }
    }
    *used = i;
    return rc;
}

bool http1_trailer_next(const char *buf, size_t len, size_t *at, struct http1_slice *name,
                        struct http1_slice *value)
{
    size_t i = *at;
    if (i >= len)
        return false;
    const char *eol = memchr(buf + i, '\n', len - i);
    size_t end = eol ? (size_t)(eol - buf) : len;
    size_t line_end = end > i && buf[end - 1] == '\r' ? end - 1 : end;
    const char *colon = memchr(buf + i, ':', line_end - i);
    size_t name_end = colon ? (size_t)(colon - buf) : line_end;
    size_t v = colon ? name_end + 1 : line_end, v_end = line_end;
    while (v < v_end && http1_is_ows((unsigned char)buf[v]))
        v++;
    while (v_end > v && http1_is_ows((unsigned char)buf[v_end - 1]))
        v_end--;
    name->off = (uint32_t)i;
    name->len = (uint32_t)(name_end - i);
    value->off = (uint32_t)v;
    value->len = (uint32_t)(v_end - v);
    *at = eol ? end + 1 : len;
    return true;
}
