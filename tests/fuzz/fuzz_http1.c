/* fuzz_http1 — the request-head parser (http1_parse_head).
 *
 * Each input is parsed twice with the server's default limits and once with
 * small limits (so the 414/431 paths are reached by short inputs):
 *   - whole, from an allocation of exactly its size;
 *   - fed in growing prefixes (split at a point taken from the input, and one
 *     byte at a time for short inputs), each prefix in its own exact-size
 *     allocation, as conn.c feeds it from the socket.
 * Both must give the same verdict (rc, status, *used, method, framing, length).
 * On HTTP1_DONE every slice must lie inside the head, and a chunked body that
 * follows goes through the chunked decoder too. A crash, a sanitizer report or
 * a FUZZ_CHECK is a finding.
 */
#include <string.h>

#include "fuzz.h"
#include "http1.h"

#define FUZZ_FIELDS_MAX 100

struct fuzz_verdict {
    enum http1_rc rc;
    int status;
    size_t used;
    struct http1_request req;
};

static void fuzz_check_slice(struct http1_slice s, size_t used)
{
    FUZZ_CHECK((size_t)s.off + s.len <= used);
}

static void fuzz_check_done(const struct http1_request *r, size_t used, size_t len,
                            const struct http1_limits *lim)
{
    FUZZ_CHECK(used > 0 && used <= len && used <= lim->head_max_bytes);
    FUZZ_CHECK(r->field_count <= lim->fields_max);
    FUZZ_CHECK((unsigned)r->method < HTTP1_METHOD_COUNT);
    FUZZ_CHECK(r->framing == HTTP1_BODY_NONE || r->framing == HTTP1_BODY_LENGTH ||
               r->framing == HTTP1_BODY_CHUNKED);
    FUZZ_CHECK(r->framing != HTTP1_BODY_LENGTH || r->content_length <= (UINT64_C(1) << 62));
    FUZZ_CHECK(r->version_minor <= 9);
    fuzz_check_slice(r->method_token, used);
    fuzz_check_slice(r->target, used);
    fuzz_check_slice(r->path, used);
    fuzz_check_slice(r->query, used);
    fuzz_check_slice(r->host, used);
    fuzz_check_slice(r->authorization, used);
    fuzz_check_slice(r->range, used);
    fuzz_check_slice(r->if_none_match, used);
    fuzz_check_slice(r->user_agent, used);
    FUZZ_CHECK(r->target.len > 0 && r->method_token.len > 0);
    for (uint32_t i = 0; i < r->field_count; i++) {
        fuzz_check_slice(r->fields[i].name, used);
        fuzz_check_slice(r->fields[i].value, used);
        FUZZ_CHECK(r->fields[i].name.len > 0);
    }
}

static void fuzz_whole(const uint8_t *data, size_t size, const struct http1_limits *lim,
                       struct http1_header *fields, struct fuzz_verdict *v)
{
    struct http1_parser p;
    memset(v, 0, sizeof *v);
    http1_parser_init(&p, lim, fields, FUZZ_FIELDS_MAX);
    v->rc = http1_parse_head(&p, (const char *)data, size, &v->req, &v->used);
    v->status = v->rc == HTTP1_ERROR ? p.status : 0;
    if (v->rc == HTTP1_ERROR) {
        FUZZ_CHECK(p.reason != NULL);
        FUZZ_CHECK(p.status == 400 || p.status == 414 || p.status == 431 || p.status == 501 ||
                   p.status == 505);
    }
    if (v->rc == HTTP1_DONE)
        fuzz_check_done(&v->req, v->used, size, lim);
}

/* Feed prefixes: the first ends at cut, then step bytes more each call. */
static void fuzz_split(const uint8_t *data, size_t size, size_t cut, size_t step,
                       const struct http1_limits *lim, struct http1_header *fields,
                       struct fuzz_verdict *v)
{
    struct http1_parser p;
    memset(v, 0, sizeof *v);
    http1_parser_init(&p, lim, fields, FUZZ_FIELDS_MAX);
    size_t have = cut < size ? cut : size;
    for (;;) {
        char *buf = malloc(have ? have : 1);
        FUZZ_CHECK(buf != NULL);
        memcpy(buf, data, have);
        v->used = 0;
        v->rc = http1_parse_head(&p, buf, have, &v->req, &v->used);
        if (v->rc == HTTP1_DONE)
            fuzz_check_done(&v->req, v->used, have, lim);
        free(buf);
        if (v->rc != HTTP1_AGAIN || have == size)
            break;
        have = size - have < step ? size : have + step;
    }
    v->status = v->rc == HTTP1_ERROR ? p.status : 0;
}

static void fuzz_same(const struct fuzz_verdict *a, const struct fuzz_verdict *b)
{
    FUZZ_CHECK(a->rc == b->rc);
    FUZZ_CHECK(a->status == b->status);
    if (a->rc != HTTP1_DONE)
        return;
    FUZZ_CHECK(a->used == b->used);
    FUZZ_CHECK(a->req.method == b->req.method);
    FUZZ_CHECK(a->req.framing == b->req.framing);
    FUZZ_CHECK(a->req.content_length == b->req.content_length);
    FUZZ_CHECK(a->req.field_count == b->req.field_count);
    FUZZ_CHECK(a->req.host.off == b->req.host.off && a->req.host.len == b->req.host.len);
    FUZZ_CHECK(a->req.conn_close == b->req.conn_close);
}

/* A chunked body after the head: decode what follows, one call per span. */
static void fuzz_body(const uint8_t *data, size_t size)
{
    struct http1_chunked d;
    http1_chunked_init(&d, 4096, 8192);
    size_t pos = 0;
    for (unsigned guard = 0; guard < 100000 && pos < size; guard++) {
        size_t used = 0, off = 0, n = 0;
        enum http1_rc rc = http1_chunked_decode(&d, (const char *)data + pos, size - pos, &used,
                                                &off, &n);
        FUZZ_CHECK(used <= size - pos);
        FUZZ_CHECK(n == 0 || off + n <= used);
        pos += used;
        if (rc != HTTP1_AGAIN || used == 0)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http1_header fa[FUZZ_FIELDS_MAX], fb[FUZZ_FIELDS_MAX];
    static const struct http1_limits server_limits = { 8192, 8192, 32768, 100 };
    static const struct http1_limits small_limits = { 256, 256, 1024, 8 };
    struct fuzz_verdict whole, split;

    fuzz_whole(data, size, &server_limits, fa, &whole);
    size_t cut = size ? (data[0] * 257u + (size > 1 ? data[size - 1] : 0)) % size : 0;
    fuzz_split(data, size, cut, size <= 512 ? 1 : 97, &server_limits, fb, &split);
    fuzz_same(&whole, &split);
    if (whole.rc == HTTP1_DONE && whole.req.framing == HTTP1_BODY_CHUNKED)
        fuzz_body(data + whole.used, size - whole.used);

    fuzz_whole(data, size, &small_limits, fa, &whole);
    fuzz_split(data, size, size / 2, 7, &small_limits, fb, &split);
    fuzz_same(&whole, &split);
    return 0;
}
