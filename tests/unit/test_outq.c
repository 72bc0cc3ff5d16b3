/* Unit tests for outq.c: the parts HTTP/2 uses to build frames from a
 * stream's queue without sending it (outq_take, outq_front_file,
 * outq_skip_file) and the count of bytes ever queued that tells a
 * read-ahead whether the batch changed under it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "outq.h"

#define FILE_BYTES 10000

/* An unlinked temporary file holding FILE_BYTES bytes: byte i is i % 251. */
static int file_of_pattern(void)
{
    char path[] = "/tmp/test_outq.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    unsigned char buf[FILE_BYTES];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i % 251);
    assert_int_equal(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
    return fd;
}

static void test_outq_take_crosses_memory_and_file(void **state)
{
    (void)state;
    struct outq q;
    outq_init(&q);
    assert_int_equal(outq_append(&q, "head", 4), 0);
    assert_int_equal(outq_add_file(&q, file_of_pattern(), 100, 50), 0);
    assert_int_equal(outq_append(&q, "tail", 4), 0);
    assert_int_equal(q.pending, 58);
    char buf[64];
    assert_int_equal(outq_take(&q, buf, 10), 10);
    assert_memory_equal(buf, "head", 4);
    for (int i = 0; i < 6; i++)
        assert_int_equal((unsigned char)buf[4 + i], (100 + i) % 251);
    assert_int_equal(outq_take(&q, buf, sizeof buf), 48);
    assert_int_equal((unsigned char)buf[0], 106 % 251);
    assert_memory_equal(buf + 44, "tail", 4);
    assert_true(outq_is_empty(&q));
    assert_int_equal(q.pending, 0);
    outq_fini(&q);
}

static void test_outq_take_reports_a_file_that_shrank(void **state)
{
    (void)state;
    struct outq q;
    outq_init(&q);
    int fd = file_of_pattern();
    assert_int_equal(outq_add_file(&q, fd, FILE_BYTES - 10, 30), 0);
    char buf[64];
    assert_int_equal(outq_take(&q, buf, sizeof buf), -EIO);
    outq_fini(&q);
}

static void test_outq_front_file_and_skip(void **state)
{
    (void)state;
    struct outq q;
    outq_init(&q);
    int fd, got_fd;
    uint64_t off, len;
    assert_false(outq_front_file(&q, &got_fd, &off, &len));
    assert_int_equal(outq_append(&q, "x", 1), 0);
    assert_false(outq_front_file(&q, &got_fd, &off, &len)); /* memory in front */
    char c;
    assert_int_equal(outq_take(&q, &c, 1), 1);
    fd = file_of_pattern();
    assert_int_equal(outq_add_file(&q, fd, 1000, 300), 0);
    assert_int_equal(outq_append(&q, "after", 5), 0);
    assert_true(outq_front_file(&q, &got_fd, &off, &len));
    assert_int_equal(got_fd, fd);
    assert_int_equal(off, 1000);
    assert_int_equal(len, 300);
    /* the caller read 200 bytes itself: they leave unread */
    outq_skip_file(&q, 200);
    assert_true(outq_front_file(&q, &got_fd, &off, &len));
    assert_int_equal(off, 1200);
    assert_int_equal(len, 100);
    assert_int_equal(q.pending, 105);
    /* the whole rest of the span: the memory behind it comes to the front */
    outq_skip_file(&q, 100);
    assert_false(outq_front_file(&q, &got_fd, &off, &len));
    char buf[8];
    assert_int_equal(outq_take(&q, buf, sizeof buf), 5);
    assert_memory_equal(buf, "after", 5);
    outq_fini(&q);
}

static void test_outq_queued_moves_with_every_commit_and_file(void **state)
{
    (void)state;
    struct outq q;
    outq_init(&q);
    assert_int_equal(q.queued, 0);
    char *p = outq_reserve(&q, 100);
    assert_non_null(p);
    assert_int_equal(q.queued, 0); /* reserved is not queued */
    memset(p, 'a', 100);
    outq_commit(&q, 60);
    assert_int_equal(q.queued, 60);
    assert_int_equal(outq_add_file(&q, file_of_pattern(), 0, 40), 0);
    assert_int_equal(q.queued, 100);
    char buf[100];
    assert_int_equal(outq_take(&q, buf, sizeof buf), 100);
    assert_int_equal(q.queued, 100); /* taking (sending) does not change it */
    assert_int_equal(q.mem_len, 0);
    assert_int_equal(outq_append(&q, "b", 1), 0);
    assert_int_equal(q.queued, 101);
    outq_clear(&q);
    assert_int_equal(q.queued, 101); /* never goes back */
    outq_fini(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outq_take_crosses_memory_and_file),
        cmocka_unit_test(test_outq_take_reports_a_file_that_shrank),
        cmocka_unit_test(test_outq_front_file_and_skip),
        cmocka_unit_test(test_outq_queued_moves_with_every_commit_and_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
