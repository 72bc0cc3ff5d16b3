/* Unit tests for upload.c's pure part: which paths an upload may use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "upload.h"

struct path_case {
    const char *name, *rel;
    size_t len; /* 0: strlen(rel) */
    int status;
};

static const struct path_case path_cases[] = {
    { "one name", "a.txt", 0, 0 },
    { "nested", "upload/dir/a.txt", 0, 0 },
    { "dot inside a name", "a..b", 0, 0 },
    { "leading dot", ".hidden", 0, 0 },
    { "three dots", "...", 0, 0 },
    { "high bytes are names", "caf\xc3\xa9", 0, 0 },
    { "space and tilde", "a b~", 0, 0 },
    { "prefix without its dash", ".lingerd", 0, 0 },
    { "prefix inside a name", "x.lingerd-put-1", 0, 0 },
    { "empty", "", 0, 400 },
    { "leading slash", "/a", 0, 400 },
    { "trailing slash", "a/", 0, 400 },
    { "double slash", "a//b", 0, 400 },
    { "dot", "a/./b", 0, 400 },
    { "dot last", "a/.", 0, 400 },
    { "dot dot", "a/../b", 0, 400 },
    { "dot dot first", "../a", 0, 400 },
    { "tab", "a\tb", 0, 400 },
    { "newline", "a\nb", 0, 400 },
    { "escape", "a\x1b[2J", 0, 400 },
    { "delete", "a\x7f", 0, 400 },
    { "unit separator", "a\x1f", 0, 400 },
    { "NUL", "a\0b", 3, 400 },
    { "reserved name", ".lingerd-put-0123456789ab", 0, 403 },
    { "reserved bare prefix", ".lingerd-", 0, 403 },
    { "reserved directory", "up/.lingerd-x/a", 0, 403 },
    { "reserved last", "up/.lingerd-x", 0, 403 },
    { "control wins over reserved", ".lingerd-x/a\nb", 0, 400 },
    { "reserved then dot dot", ".lingerd-x/..", 0, 400 },
};

/* Check on an exact-length copy, so a read past len trips ASan. */
static int path_run(const char *rel, size_t len)
{
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, rel, len);
    int st = upload_check_path(buf, len);
    free(buf);
    return st;
}

static void test_upload_check_path_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const struct path_case *pc = &path_cases[i];
        size_t len = pc->len ? pc->len : strlen(pc->rel);
        int st = path_run(pc->rel, len);
        if (st != pc->status) {
            print_error("case \"%s\": %d, want %d\n", pc->name, st, pc->status);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_upload_check_path_name_length(void **state)
{
    (void)state;
    char buf[300];
    memset(buf, 'a', sizeof buf);
    assert_int_equal(path_run(buf, 255), 0);   /* NAME_MAX */
    assert_int_equal(path_run(buf, 256), 400); /* one over */
    buf[10] = '/';                             /* "aaaaaaaaaa/" + 245 */
    assert_int_equal(path_run(buf, 256), 0);
}

/* Only rel[0..len) counts: bytes after it are not looked at. */
static void test_upload_check_path_len_bounds(void **state)
{
    (void)state;
    assert_int_equal(upload_check_path("ab\n", 2), 0);
    assert_int_equal(upload_check_path("a/.lingerd-", 2), 400); /* "a/" */
    assert_int_equal(upload_check_path("a/.lingerd-", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_check_path_table),
        cmocka_unit_test(test_upload_check_path_name_length),
        cmocka_unit_test(test_upload_check_path_len_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
