/* Unit tests for compress_cache.c: keys by file identity, LRU within a
 * byte budget, counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "compress_cache.h"

static struct stat file_stat(uint64_t ino, int64_t size, int64_t mtime_ns)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_dev = 7;
    st.st_ino = (ino_t)ino;
    st.st_size = (off_t)size;
    st.st_mtim.tv_sec = 1700000000;
    st.st_mtim.tv_nsec = (long)mtime_ns;
    return st;
}

static const struct compress_cache_entry *put(struct compress_cache *cc, const struct stat *st,
                                              unsigned level, size_t body_len)
{
    char body[4096];
    memset(body, 'z', sizeof body);
    assert_true(body_len <= sizeof body);
    return compress_cache_store(cc, st, level, "H: v\r\n", 6, "W/\"t\"", 5, body, body_len);
}

static void test_compress_cache_key_is_file_identity(void **state)
{
    (void)state;
    struct compress_cache *cc = compress_cache_new(1 << 20);
    assert_non_null(cc);
    struct stat a = file_stat(1, 100, 0);
    const struct compress_cache_entry *e = put(cc, &a, 6, 40);
    assert_non_null(e);
    assert_int_equal(e->body_len, 40);
    assert_memory_equal(e->head, "H: v\r\n", 6);
    assert_memory_equal(e->etag, "W/\"t\"", 5);
    assert_ptr_equal(compress_cache_find(cc, &a, 6), e);
    /* any change of the file, or another level, is another key */
    struct stat changed[] = { file_stat(2, 100, 0), file_stat(1, 101, 0), file_stat(1, 100, 1) };
    for (size_t i = 0; i < 3; i++)
        assert_null(compress_cache_find(cc, &changed[i], 6));
    assert_null(compress_cache_find(cc, &a, 9));
    struct stat other_dev = a;
    other_dev.st_dev = 8;
    assert_null(compress_cache_find(cc, &other_dev, 6));
    struct compress_cache_counts k = compress_cache_counts(cc);
    assert_int_equal(k.hits, 1);
    assert_int_equal(k.misses, 5);
    assert_int_equal(k.entries, 1);
    compress_cache_free(cc);
}

static void test_compress_cache_lru_within_budget(void **state)
{
    (void)state;
    /* room for three entries of 1000 bytes, not four */
    struct compress_cache *cc = compress_cache_new(3 * (1000 + 300));
    assert_non_null(cc);
    struct stat f[4];
    for (size_t i = 0; i < 4; i++) {
        f[i] = file_stat(10 + i, 5000, 0);
        assert_non_null(put(cc, &f[i], 6, 1000));
        if (i == 2)
            assert_non_null(compress_cache_find(cc, &f[0], 6)); /* f[0] used: f[1] is oldest */
    }
    assert_non_null(compress_cache_find(cc, &f[0], 6));
    assert_null(compress_cache_find(cc, &f[1], 6));
    assert_non_null(compress_cache_find(cc, &f[2], 6));
    assert_non_null(compress_cache_find(cc, &f[3], 6));
    struct compress_cache_counts k = compress_cache_counts(cc);
    assert_int_equal(k.evictions, 1);
    assert_int_equal(k.entries, 3);
    assert_true(k.bytes <= 3 * (1000 + 300));
    /* larger than the whole budget: not kept, nothing evicted for it */
    struct stat huge = file_stat(99, 1 << 20, 0);
    char *big = calloc(1, 8000);
    assert_non_null(big);
    assert_null(compress_cache_store(cc, &huge, 6, "", 0, "", 0, big, 8000));
    free(big);
    assert_int_equal(compress_cache_counts(cc).entries, 3);
    /* storing the same key again replaces it */
    assert_non_null(put(cc, &f[3], 6, 10));
    assert_int_equal(compress_cache_counts(cc).entries, 3);
    assert_int_equal(compress_cache_find(cc, &f[3], 6)->body_len, 10);
    compress_cache_free(cc);
}

static void test_compress_cache_many_entries_grow(void **state)
{
    (void)state;
    struct compress_cache *cc = compress_cache_new(64u << 20);
    assert_non_null(cc);
    for (uint64_t i = 0; i < 5000; i++) {
        struct stat st = file_stat(i, 10, 0);
        assert_non_null(put(cc, &st, 1, 8));
    }
    for (uint64_t i = 0; i < 5000; i++) {
        struct stat st = file_stat(i, 10, 0);
        assert_non_null(compress_cache_find(cc, &st, 1));
    }
    assert_int_equal(compress_cache_counts(cc).entries, 5000);
    compress_cache_free(cc);
    assert_null(compress_cache_new(0)); /* 0: keep nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compress_cache_key_is_file_identity),
        cmocka_unit_test(test_compress_cache_lru_within_budget),
        cmocka_unit_test(test_compress_cache_many_entries_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
