/* fuzz_chunked — the chunked-body decoder (http1_chunked_decode).
 *
 * The input is a chunked body (whatever follows a request head). It is decoded
 * whole and again in pieces whose sizes come from the input; both runs must
 * agree on the verdict, the bytes consumed and the body data (compared by
 * length and a running hash), and every data span must lie inside the bytes
 * the call consumed. So must the trailer field-line spans; on DONE their
 * concatenation (hashed too) must be the same both ways, and be lines that
 * http1_trailer_next walks to their end. Small caps (a 64-byte size line, 256-byte trailer) reach
 * the limit paths with short inputs.
 */
#include <string.h>

#include "fuzz.h"
#include "http1.h"

struct fuzz_chunked_run {
    enum http1_rc rc;
    int status;
    size_t consumed;
    uint64_t data_len;
    uint64_t hash;
    uint64_t fields_hash;
    char fields[256];        /* the trailer field lines (the cap is 256) */
    size_t fields_len;
};

static void fuzz_chunked_hash(struct fuzz_chunked_run *r, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        r->hash = (r->hash ^ (unsigned char)p[i]) * UINT64_C(1099511628211);
    r->data_len += n;
}

/* Decode data[0..size) offering at most piece bytes beyond what is consumed. */
static void fuzz_chunked_run(const uint8_t *data, size_t size, size_t piece,
                             struct fuzz_chunked_run *r)
{
    struct http1_chunked d;
    memset(r, 0, sizeof *r);
    r->hash = UINT64_C(14695981039346656037);
    r->rc = HTTP1_AGAIN;
    http1_chunked_init(&d, 64, 256);
    size_t pos = 0;
    for (unsigned guard = 0; guard <= size + 1 && pos < size; guard++) {
        size_t avail = size - pos < piece ? size - pos : piece;
        char *buf = malloc(avail ? avail : 1); /* exact size: over-reads trip ASan */
        FUZZ_CHECK(buf != NULL);
        memcpy(buf, data + pos, avail);
        size_t used = 0, off = 0, n = 0;
        r->rc = http1_chunked_decode(&d, buf, avail, &used, &off, &n);
        FUZZ_CHECK(used <= avail);
        FUZZ_CHECK(n == 0 || off + n <= used);
        fuzz_chunked_hash(r, buf + off, n);
        if (d.fields_len) {
            FUZZ_CHECK(d.fields_off + d.fields_len <= used);
            FUZZ_CHECK(r->fields_len + d.fields_len <= sizeof r->fields);
            memcpy(r->fields + r->fields_len, buf + d.fields_off, d.fields_len);
            r->fields_len += d.fields_len;
        }
        free(buf);
        pos += used;
        if (r->rc != HTTP1_AGAIN)
            break;
        /* AGAIN must consume everything offered, or return data and go on */
        FUZZ_CHECK(used == avail || n > 0);
    }
    r->consumed = pos;
    r->status = r->rc == HTTP1_ERROR ? d.status : 0;
    if (r->rc == HTTP1_ERROR) {
        FUZZ_CHECK(d.status == 400 || d.status == 413);
        FUZZ_CHECK(d.reason != NULL);
    }
    r->fields_hash = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < r->fields_len; i++)
        r->fields_hash = (r->fields_hash ^ (unsigned char)r->fields[i]) * UINT64_C(1099511628211);
    if (r->rc == HTTP1_DONE) {
        /* whole lines: each ends with CRLF and has a name before its colon */
        FUZZ_CHECK(r->fields_len == 0 || (r->fields_len >= 2 &&
                                          r->fields[r->fields_len - 1] == '\n'));
        struct http1_slice name, value;
        size_t at = 0, lines = 0;
        while (http1_trailer_next(r->fields, r->fields_len, &at, &name, &value)) {
            FUZZ_CHECK(name.len > 0 && value.off + value.len <= r->fields_len);
            FUZZ_CHECK(++lines <= r->fields_len);
        }
        FUZZ_CHECK(at == r->fields_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_chunked_run whole, split;
    fuzz_chunked_run(data, size, size ? size : 1, &whole);
    size_t piece = size ? 1 + data[0] % 13 : 1;
    fuzz_chunked_run(data, size, piece, &split);
    FUZZ_CHECK(whole.rc == split.rc);
    FUZZ_CHECK(whole.status == split.status);
    FUZZ_CHECK(whole.consumed == split.consumed);
    FUZZ_CHECK(whole.data_len == split.data_len);
    FUZZ_CHECK(whole.hash == split.hash);
    FUZZ_CHECK(whole.rc != HTTP1_DONE || whole.fields_hash == split.fields_hash);
    return 0;
}
