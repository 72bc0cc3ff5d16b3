/* fuzz_response — the upstream response-head parser (proxy_response_parse).
 *
 * The input is what an upstream sends. It is parsed whole and again in
 * growing pieces whose sizes come from the input; both runs must agree on the
 * verdict, the head's length, the status and the framing, and every field
 * slice must lie inside the head. Small caps (512-byte head, 8 fields) reach
 * the limit paths with short inputs.
 */
#include <string.h>

#include "fuzz.h"
#include "proxy_response.h"

#define FUZZ_RESPONSE_FIELDS 8

struct fuzz_response_run {
    enum http1_rc rc;
    size_t used;
    int status;
    enum proxy_body body;
    uint64_t content_length;
    uint32_t field_count;
};

static void fuzz_response_run(const uint8_t *data, size_t size, size_t piece, bool head,
                              struct fuzz_response_run *out)
{
    struct http1_header fields[FUZZ_RESPONSE_FIELDS];
    struct proxy_response_parser p;
    struct proxy_response r;
    memset(out, 0, sizeof *out);
    proxy_response_init(&p, 512, fields, FUZZ_RESPONSE_FIELDS, head);
    out->rc = HTTP1_AGAIN;
    for (size_t n = piece < size ? piece : size; out->rc == HTTP1_AGAIN; n += piece) {
        if (n > size)
            n = size;
        char *buf = malloc(n ? n : 1); /* exact size: over-reads trip ASan */
        FUZZ_CHECK(buf != NULL);
        memcpy(buf, data, n);
        size_t used = 0;
        out->rc = proxy_response_parse(&p, buf, n, &r, &used);
        free(buf);
        if (out->rc == HTTP1_DONE) {
            FUZZ_CHECK(used <= n && used <= 512);
            out->used = used;
            out->status = r.status;
            out->body = r.body;
            out->content_length = r.content_length;
            out->field_count = r.field_count;
            FUZZ_CHECK(r.status >= 100 && r.status <= 599);
            for (uint32_t i = 0; i < r.field_count; i++) {
                FUZZ_CHECK(r.fields[i].name.len > 0);
                FUZZ_CHECK(r.fields[i].value.off + r.fields[i].value.len <= used);
            }
        }
        if (out->rc == HTTP1_ERROR)
            FUZZ_CHECK(p.reason != NULL);
        if (n == size)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool head = size > 0 && (data[size - 1] & 1);
    struct fuzz_response_run whole, split;
    fuzz_response_run(data, size, size ? size : 1, head, &whole);
    fuzz_response_run(data, size, size ? 1 + data[0] % 7 : 1, head, &split);
    FUZZ_CHECK(whole.rc == split.rc);
    FUZZ_CHECK(whole.used == split.used);
    FUZZ_CHECK(whole.status == split.status);
    FUZZ_CHECK(whole.body == split.body);
    FUZZ_CHECK(whole.content_length == split.content_length);
    FUZZ_CHECK(whole.field_count == split.field_count);
    return 0;
}
