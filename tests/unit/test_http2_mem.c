/* Unit tests for http2_mem.c, through the nghttp2_mem it hands nghttp2:
 * every size a block can have (classes, their edges, large), realloc
 * between classes and to and from large blocks with the bytes kept, the
 * cap on kept bytes, calloc zeroing a reused block, and a real nghttp2
 * server session answering a request on it. In AddressSanitizer builds the
 * allocator passes every call to libc: the same checks run, and nothing is
 * ever kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "http2_mem.h"

/* Bytes of one block of each class step (the header is 16 of them). */
#define STEP HTTP2_MEM_STEP_BYTES
#define HEAD 16
#define SMALL_MAX (HTTP2_MEM_CLASSES * STEP - HEAD)

static void *mem_malloc(nghttp2_mem *a, size_t n)
{
    return a->malloc(n, a->mem_user_data);
}

static void mem_free(nghttp2_mem *a, void *p)
{
    a->free(p, a->mem_user_data);
}

static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed + i * 7);
}

static bool holds(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed + i * 7))
            return false;
    return true;
}

/* Every size up to the largest class, the edges of each class and large
 * sizes: aligned as malloc's, writable whole, no two blocks overlapping
 * (each keeps its own bytes while all are allocated). */
static void test_http2_mem_every_size_is_usable(void **state)
{
    (void)state;
    struct http2_mem m;
    http2_mem_init(&m, 1 << 20);
    nghttp2_mem a = http2_mem_nghttp2(&m);
    enum { COUNT = SMALL_MAX + 1 + 4 };
    static void *blocks[COUNT];
    static size_t sizes[COUNT];
    for (size_t n = 0; n <= SMALL_MAX; n++)
        sizes[n] = n;
    sizes[SMALL_MAX + 1] = SMALL_MAX + 1; /* the first large size */
    sizes[SMALL_MAX + 2] = 4096;
    sizes[SMALL_MAX + 3] = 70000;
    sizes[SMALL_MAX + 4] = 1 << 20;
    for (size_t i = 0; i < COUNT; i++) {
        blocks[i] = mem_malloc(&a, sizes[i]);
        assert_non_null(blocks[i]);
        assert_int_equal((uintptr_t)blocks[i] % _Alignof(max_align_t), 0);
        fill(blocks[i], sizes[i], (unsigned)i);
    }
    for (size_t i = 0; i < COUNT; i++)
        assert_true(holds(blocks[i], sizes[i], (unsigned)i));
    for (size_t i = 0; i < COUNT; i++)
        mem_free(&a, blocks[i]);
    mem_free(&a, NULL); /* as free(NULL): nothing */
    http2_mem_fini(&m);
}

/* A freed block is the next one of its class; another class gets another
 * block. */
static void test_http2_mem_reuses_blocks_of_a_class(void **state)
{
    (void)state;
    struct http2_mem m;
    http2_mem_init(&m, 1 << 20);
    nghttp2_mem a = http2_mem_nghttp2(&m);
    void *p = mem_malloc(&a, 152);
    assert_non_null(p);
    mem_free(&a, p);
    if (http2_mem_keeps_blocks()) {
        assert_int_equal(m.kept_bytes, 3 * STEP); /* 152 + 16 rounds up to 192 */
        assert_ptr_equal(mem_malloc(&a, 140), p); /* the same class */
        assert_int_equal(m.kept_bytes, 0);
    } else {
        assert_int_equal(m.kept_bytes, 0);
        assert_non_null(p = mem_malloc(&a, 140));
    }
    void *q = mem_malloc(&a, 40); /* another class */
    assert_non_null(q);
    assert_ptr_not_equal(q, p);
    mem_free(&a, p);
    mem_free(&a, q);
    http2_mem_fini(&m);
    assert_int_equal(m.kept_bytes, 0);
}

/* realloc keeps the bytes wherever the block goes: within its class (it
 * stays), to a larger class, to a large block, between large sizes, back
 * down to a class, and from NULL. */
static void test_http2_mem_realloc_across_classes(void **state)
{
    (void)state;
    struct http2_mem m;
    http2_mem_init(&m, 1 << 20);
    nghttp2_mem a = http2_mem_nghttp2(&m);
    void *p = a.realloc(NULL, 30, a.mem_user_data); /* realloc(NULL) is malloc */
    assert_non_null(p);
    fill(p, 30, 1);
    void *q = a.realloc(p, 48, a.mem_user_data); /* 48 + 16: still the first class */
    assert_non_null(q);
    if (http2_mem_keeps_blocks())
        assert_ptr_equal(q, p);
    assert_true(holds(q, 30, 1));
    fill(q, 48, 2);
    size_t steps[] = { 49, 300, SMALL_MAX, SMALL_MAX + 1, 5000, 200000, 3000, 700, 10 };
    size_t have = 48;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t n = steps[i];
        p = a.realloc(q, n, a.mem_user_data);
        assert_non_null(p);
        size_t kept = have < n ? have : n;
        assert_true(holds(p, kept, (unsigned)(i + 2)));
        fill(p, n, (unsigned)(i + 3));
        q = p;
        have = n;
    }
    mem_free(&a, q);
    http2_mem_fini(&m);
}

/* Freed blocks are kept only while the kept bytes stay within the cap; the
 * rest go back to libc (and the next ones come from libc again). */
static void test_http2_mem_cap_is_honoured(void **state)
{
    (void)state;
    struct http2_mem m;
    size_t cap = 3 * 2 * STEP + STEP / 2; /* three blocks of the second class, not four */
    http2_mem_init(&m, cap);
    nghttp2_mem a = http2_mem_nghttp2(&m);
    void *p[10];
    for (size_t i = 0; i < 10; i++)
        assert_non_null(p[i] = mem_malloc(&a, 100));
    for (size_t i = 0; i < 10; i++) {
        mem_free(&a, p[i]);
        assert_true(m.kept_bytes <= cap);
    }
    assert_int_equal(m.kept_bytes, http2_mem_keeps_blocks() ? 3 * 2 * STEP : 0);
    /* A large block is never kept, whatever the room. */
    void *big = mem_malloc(&a, SMALL_MAX + 1);
    assert_non_null(big);
    size_t before = m.kept_bytes;
    mem_free(&a, big);
    assert_int_equal(m.kept_bytes, before);
    /* Nothing is kept with a cap of 0 (a zeroed http2_mem). */
    struct http2_mem none;
    memset(&none, 0, sizeof none);
    nghttp2_mem b = http2_mem_nghttp2(&none);
    void *r = mem_malloc(&b, 20);
    assert_non_null(r);
    mem_free(&b, r);
    assert_int_equal(none.kept_bytes, 0);
    http2_mem_fini(&m);
    http2_mem_fini(&none);
}

/* calloc zeroes what it returns, a reused block (holding its last user's
 * bytes) included; a count times size that overflows gets NULL. */
static void test_http2_mem_calloc_zeroes(void **state)
{
    (void)state;
    struct http2_mem m;
    http2_mem_init(&m, 1 << 20);
    nghttp2_mem a = http2_mem_nghttp2(&m);
    unsigned char *p = mem_malloc(&a, 200);
    assert_non_null(p);
    memset(p, 0xab, 200);
    mem_free(&a, p);
    unsigned char *z = a.calloc(25, 8, a.mem_user_data);
    assert_non_null(z);
    if (http2_mem_keeps_blocks())
        assert_ptr_equal(z, p);
    for (size_t i = 0; i < 200; i++)
        assert_int_equal(z[i], 0);
    unsigned char *big = a.calloc(3, 2000, a.mem_user_data);
    assert_non_null(big);
    for (size_t i = 0; i < 6000; i++)
        assert_int_equal(big[i], 0);
    assert_null(a.calloc(SIZE_MAX / 2, 3, a.mem_user_data));
    /* (ASan's malloc aborts on a size this large rather than fail.) */
    if (http2_mem_keeps_blocks())
        assert_null(mem_malloc(&a, SIZE_MAX - 4)); /* the header would overflow */
    mem_free(&a, z);
    mem_free(&a, big);
    http2_mem_fini(&m);
}

/* A client session (libc's allocator) and a server session on http2_mem:
 * the server decodes a request and answers it, the client reads the
 * answer; the server's freed blocks are kept for the next session. */
struct exchange {
    int requests;
    int32_t stream;
    int status;
    bool closed;
};

static int on_server_frame(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
    struct exchange *x = user;
    if (f->hd.type == NGHTTP2_HEADERS && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        x->requests++;
        nghttp2_nv nv[] = {
            { (uint8_t *)":status", (uint8_t *)"204", 7, 3, NGHTTP2_NV_FLAG_NONE },
            { (uint8_t *)"server", (uint8_t *)"test", 6, 4, NGHTTP2_NV_FLAG_NONE },
        };
        return nghttp2_submit_response(ng, f->hd.stream_id, nv, 2, NULL);
    }
    return 0;
}

static int on_client_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                            size_t namelen, const uint8_t *value, size_t valuelen,
                            uint8_t flags, void *user)
{
    (void)ng;
    (void)f;
    (void)flags;
    struct exchange *x = user;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3)
        x->status = atoi((const char *)value); /* nghttp2 ends values with a NUL */
    return 0;
}

static int on_client_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
    (void)ng;
    (void)code;
    struct exchange *x = user;
    if (id == x->stream)
        x->closed = true;
    return 0;
}

/* Move every byte one session has to send into the other. */
static void pass(nghttp2_session *from, nghttp2_session *to)
{
    for (int i = 0; i < 100; i++) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(from, &data);
        assert_true(n >= 0);
        if (n == 0)
            return;
        assert_int_equal(nghttp2_session_mem_recv(to, data, (size_t)n), n);
    }
    fail_msg("a session kept sending");
}

static void test_http2_mem_serves_an_nghttp2_session(void **state)
{
    (void)state;
    struct http2_mem m;
    http2_mem_init(&m, 1 << 20);
    nghttp2_mem a = http2_mem_nghttp2(&m);
    struct exchange sx = { 0 }, cx = { 0 };
    nghttp2_session_callbacks *scb, *ccb;
    assert_int_equal(nghttp2_session_callbacks_new(&scb), 0);
    assert_int_equal(nghttp2_session_callbacks_new(&ccb), 0);
    nghttp2_session_callbacks_set_on_frame_recv_callback(scb, on_server_frame);
    nghttp2_session_callbacks_set_on_header_callback(ccb, on_client_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(ccb, on_client_close);
    nghttp2_session *server, *client;
    assert_int_equal(nghttp2_session_server_new3(&server, scb, &sx, NULL, &a), 0);
    assert_int_equal(nghttp2_session_client_new(&client, ccb, &cx), 0);
    assert_int_equal(nghttp2_submit_settings(server, NGHTTP2_FLAG_NONE, NULL, 0), 0);
    assert_int_equal(nghttp2_submit_settings(client, NGHTTP2_FLAG_NONE, NULL, 0), 0);
    nghttp2_nv req[] = {
        { (uint8_t *)":method", (uint8_t *)"GET", 7, 3, NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)":authority", (uint8_t *)"example.test", 10, 12, NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)":path", (uint8_t *)"/a-path-long-enough-to-be-a-literal", 5, 35,
          NGHTTP2_NV_FLAG_NONE },
    };
    cx.stream = nghttp2_submit_request(client, NULL, req, 4, NULL, NULL);
    assert_true(cx.stream > 0);
    pass(client, server);
    assert_int_equal(sx.requests, 1);
    pass(server, client);
    assert_int_equal(cx.status, 204);
    assert_true(cx.closed);
    nghttp2_session_del(server);
    nghttp2_session_del(client);
    nghttp2_session_callbacks_del(scb);
    nghttp2_session_callbacks_del(ccb);
    if (http2_mem_keeps_blocks())
        assert_true(m.kept_bytes > 0);
    else
        assert_int_equal(m.kept_bytes, 0);
    http2_mem_fini(&m);
    assert_int_equal(m.kept_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http2_mem_every_size_is_usable),
        cmocka_unit_test(test_http2_mem_reuses_blocks_of_a_class),
        cmocka_unit_test(test_http2_mem_realloc_across_classes),
        cmocka_unit_test(test_http2_mem_cap_is_honoured),
        cmocka_unit_test(test_http2_mem_calloc_zeroes),
        cmocka_unit_test(test_http2_mem_serves_an_nghttp2_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
