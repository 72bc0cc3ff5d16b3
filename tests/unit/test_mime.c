/* Unit tests for mime.c: media types by extension, mime.types loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>

#include <cmocka.h>

#include "mime.h"

#define DEFAULT_TYPE "application/octet-stream"
#define CHECKS_MAX 5

/* Look up name[0..len) from an exact-length copy, so an over-read trips ASan. */
static const char *mime_lookup_copy(const struct mime_table *t, const char *name, size_t len)
{
    char *buf = malloc(len);
    const char *type;

    assert_true(len == 0 || buf != NULL);
    if (len)
        memcpy(buf, name, len);
    type = mime_lookup(t, buf, len);
    free(buf);
    return type;
}

static void mime_expect(const struct mime_table *t, const char *case_name, const char *name,
                        size_t len, const char *want)
{
    const char *got = mime_lookup_copy(t, name, len);

    if (got == NULL || strcmp(got, want) != 0) {
        print_error("case \"%s\": \"%.*s\" is %s, want %s\n", case_name, (int)len, name,
                    got ? got : "NULL", want);
        fail();
    }
}

static int mime_setup(void **state)
{
    *state = mime_table_new();
    return *state ? 0 : -1;
}

static int mime_teardown(void **state)
{
    mime_table_free(*state);
    return 0;
}

static const struct lookup_case {
    const char *name, *path, *type;
    size_t len; /* 0: strlen(path) */
} builtin_cases[] = {
    { "html", "index.html", "text/html", 0 },
    { "htm", "a.htm", "text/html", 0 },
    { "css", "style.css", "text/css", 0 },
    { "js", "app.js", "text/javascript", 0 },
    { "mjs", "mod.mjs", "text/javascript", 0 },
    { "json", "data.json", "application/json", 0 },
    { "xml", "feed.xml", "application/xml", 0 },
    { "txt", "notes.txt", "text/plain", 0 },
    { "md", "README.md", "text/markdown", 0 },
    { "csv", "t.csv", "text/csv", 0 },
    { "png", "a.png", "image/png", 0 },
    { "jpg", "a.jpg", "image/jpeg", 0 },
    { "jpeg", "a.jpeg", "image/jpeg", 0 },
    { "gif", "a.gif", "image/gif", 0 },
    { "svg", "a.svg", "image/svg+xml", 0 },
    { "webp", "a.webp", "image/webp", 0 },
    { "ico", "favicon.ico", "image/vnd.microsoft.icon", 0 },
    { "avif", "a.avif", "image/avif", 0 },
    { "woff", "f.woff", "font/woff", 0 },
    { "woff2", "f.woff2", "font/woff2", 0 },
    { "ttf", "f.ttf", "font/ttf", 0 },
    { "otf", "f.otf", "font/otf", 0 },
    { "pdf", "doc.pdf", "application/pdf", 0 },
    { "zip", "a.zip", "application/zip", 0 },
    { "gz", "a.gz", "application/gzip", 0 },
    { "tar", "a.tar", "application/x-tar", 0 },
    { "wasm", "m.wasm", "application/wasm", 0 },
    { "mp4", "v.mp4", "video/mp4", 0 },
    { "webm", "v.webm", "video/webm", 0 },
    { "mp3", "s.mp3", "audio/mpeg", 0 },
    { "ogg", "s.ogg", "audio/ogg", 0 },
    { "wav", "s.wav", "audio/wav", 0 },
};

static const struct lookup_case name_cases[] = {
    { "uppercase", "INDEX.HTML", "text/html", 0 },
    { "mixed case", "photo.JpEg", "image/jpeg", 0 },
    { "last extension wins", "archive.tar.gz", "application/gzip", 0 },
    { "directories", "/var/www/site/index.html", "text/html", 0 },
    { "dot in a directory only", "/dir.css/file", DEFAULT_TYPE, 0 },
    { "dot in a directory and the file", "/a.b/c.css", "text/css", 0 },
    { "no extension", "Makefile", DEFAULT_TYPE, 0 },
    { "empty name", "", DEFAULT_TYPE, 0 },
    { "root", "/", DEFAULT_TYPE, 0 },
    { "trailing slash after extension", "/x.html/", DEFAULT_TYPE, 0 },
    { "hidden file", ".htaccess", DEFAULT_TYPE, 0 },
    { "hidden file in a directory", "/x/.gz", DEFAULT_TYPE, 0 },
    { "hidden file with an extension", "/x/.config.json", "application/json", 0 },
    { "trailing dot", "file.", DEFAULT_TYPE, 0 },
    { "unknown extension", "x.qqq", DEFAULT_TYPE, 0 },
    { "extension of 16 bytes", "x.abcdefghijklmnop", DEFAULT_TYPE, 0 },
    { "long extension ending like a known one", "x.aaaaaaaaaaaaaaaaaaaaaaaahtml", DEFAULT_TYPE,
      0 },
    { "prefix of a known extension", "x.htm", "text/html", 0 },
    { "known extension plus a byte", "x.htmll", DEFAULT_TYPE, 0 },
    { "NUL after extension", "a.js\0", DEFAULT_TYPE, 5 },
    { "NUL inside extension", "a.j\0s", DEFAULT_TYPE, 5 },
};

static void mime_run_lookups(const struct mime_table *t, const struct lookup_case *cases,
                             size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct lookup_case *c = &cases[i];
        mime_expect(t, c->name, c->path, c->len ? c->len : strlen(c->path), c->type);
    }
}

static void test_mime_lookup_builtins(void **state)
{
    mime_run_lookups(*state, builtin_cases, sizeof builtin_cases / sizeof builtin_cases[0]);
}

/* Charset is the caller's decision (text types get one in static.c). */
static void test_mime_lookup_builtins_have_no_charset(void **state)
{
    for (size_t i = 0; i < sizeof builtin_cases / sizeof builtin_cases[0]; i++) {
        const char *type = mime_lookup(*state, builtin_cases[i].path,
                                       strlen(builtin_cases[i].path));
        assert_null(strchr(type, ';'));
    }
}

static void test_mime_lookup_names(void **state)
{
    mime_run_lookups(*state, name_cases, sizeof name_cases / sizeof name_cases[0]);
}

static const struct load_case {
    const char *name, *text;
    size_t len; /* 0: strlen(text) */
    struct {
        const char *path, *type;
    } checks[CHECKS_MAX];
} load_cases[] = {
    { "type and extensions", "text/x-foo foo bar\n", 0,
      { { "a.foo", "text/x-foo" }, { "a.bar", "text/x-foo" }, { "a.html", "text/html" } } },
    { "overrides a builtin", "text/plain html\n", 0,
      { { "a.html", "text/plain" }, { "a.htm", "text/html" } } },
    { "later line overrides earlier", "a/b q\nc/d q\n", 0, { { "x.q", "c/d" } } },
    { "comment line", "# text/x-c cc\ntext/x-d dd\n", 0,
      { { "x.cc", DEFAULT_TYPE }, { "x.dd", "text/x-d" } } },
    { "comment after extensions", "text/x-y yy # zz\n", 0,
      { { "x.yy", "text/x-y" }, { "x.zz", DEFAULT_TYPE } } },
    { "comment glued to extension", "text/x-y yy#zz\n", 0,
      { { "x.yy", "text/x-y" }, { "x.zz", DEFAULT_TYPE } } },
    { "blank and whitespace lines", "\n\n  \t \ntext/x-a aa\n\n", 0, { { "x.aa", "text/x-a" } } },
    { "CRLF line endings", "text/x-a aa\r\ntext/x-b bb\r\n", 0,
      { { "x.aa", "text/x-a" }, { "x.bb", "text/x-b" } } },
    { "tabs between fields", "text/x-t\t\ttt\tuu\n", 0,
      { { "x.tt", "text/x-t" }, { "x.uu", "text/x-t" } } },
    { "no final newline", "text/x-b bb", 0, { { "x.bb", "text/x-b" } } },
    { "leading whitespace", "   text/x-l ll\n", 0, { { "x.ll", "text/x-l" } } },
    { "type without extensions", "text/x-none\ntext/x-e ee\n", 0,
      { { "x.none", DEFAULT_TYPE }, { "x.ee", "text/x-e" } } },
    { "type case kept, extension folded", "Text/X-Up UPX\n", 0,
      { { "f.upx", "Text/X-Up" }, { "F.UpX", "Text/X-Up" } } },
    { "15-byte extension kept", "a/b abcdefghijklmno\n", 0,
      { { "x.abcdefghijklmno", "a/b" }, { "x.ABCDEFGHIJKLMNO", "a/b" } } },
    { "16-byte extension skipped, rest kept", "a/b abcdefghijklmnop short\n", 0,
      { { "x.abcdefghijklmnop", DEFAULT_TYPE }, { "x.short", "a/b" } } },
    { "no slash in type", "foo bar\n", 0, { { "x.bar", DEFAULT_TYPE } } },
    { "two slashes in type", "a/b/c ext\n", 0, { { "x.ext", DEFAULT_TYPE } } },
    { "empty type half", "/b ext\na/ ext2\n", 0,
      { { "x.ext", DEFAULT_TYPE }, { "x.ext2", DEFAULT_TYPE } } },
    { "parameter in type", "text/html;charset=utf-8 hh\n", 0, { { "x.hh", DEFAULT_TYPE } } },
    { "control byte in type", "text/h\x01tml hh\n", 0, { { "x.hh", DEFAULT_TYPE } } },
    { "bad line does not stop the rest", "bad hh\ntext/x-g gg\n", 0,
      { { "x.hh", DEFAULT_TYPE }, { "x.gg", "text/x-g" } } },
    { "NUL in extension skipped", "a/b j\0s kk\n", 11,
      { { "x.j", DEFAULT_TYPE }, { "x.kk", "a/b" } } },
    { "empty text", "", 0, { { "x.html", "text/html" } } },
};

static void test_mime_table_load_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof load_cases / sizeof load_cases[0]; i++) {
        const struct load_case *c = &load_cases[i];
        size_t len = c->len ? c->len : strlen(c->text);
        struct mime_table *t = mime_table_new();
        char *text = malloc(len);

        assert_non_null(t);
        assert_true(len == 0 || text != NULL);
        if (len)
            memcpy(text, c->text, len);
        assert_int_equal(mime_table_load(t, text, len), 0);
        free(text); /* the table must have its own copy */
        for (size_t k = 0; k < CHECKS_MAX && c->checks[k].path; k++)
            mime_expect(t, c->name, c->checks[k].path, strlen(c->checks[k].path),
                        c->checks[k].type);
        mime_table_free(t);
    }
}

/* A type returned before a later load stays valid "as long as t". */
static void test_mime_table_load_keeps_earlier_types(void **state)
{
    static const char first[] = "text/x-one one\n", second[] = "text/x-two one\n";
    struct mime_table *t = *state;
    const char *before;

    assert_int_equal(mime_table_load(t, first, sizeof first - 1), 0);
    before = mime_lookup(t, "a.one", 5);
    assert_int_equal(mime_table_load(t, second, sizeof second - 1), 0);
    assert_string_equal(mime_lookup(t, "a.one", 5), "text/x-two");
    assert_string_equal(before, "text/x-one");
}

/* Enough entries to grow the table several times; every one, and every
 * builtin, must still be found afterwards. */
static void test_mime_table_load_many(void **state)
{
    enum { EXTS = 3000 };
    struct mime_table *t = *state;
    size_t cap = EXTS * 12 + 32, len = 0;
    char *text = malloc(cap);
    char name[32];

    assert_non_null(text);
    for (int i = 0; i < EXTS; i++) {
        len += (size_t)snprintf(text + len, cap - len, "t/%d e%d\n", i % 7, i);
    }
    assert_int_equal(mime_table_load(t, text, len), 0);
    free(text);
    for (int i = 0; i < EXTS; i++) {
        char want[8];
        int n = snprintf(name, sizeof name, "f.E%d", i);
        snprintf(want, sizeof want, "t/%d", i % 7);
        mime_expect(t, "many", name, (size_t)n, want);
    }
    mime_run_lookups(t, builtin_cases, sizeof builtin_cases / sizeof builtin_cases[0]);
}

/* Write len bytes to a new temporary file; the caller unlinks path. */
static void mime_write_temp(char path[], const char *data, size_t len)
{
    int fd = mkstemp(path);
    size_t off = 0;

    assert_true(fd >= 0);
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    assert_int_equal(close(fd), 0);
}

static void test_mime_table_load_file_reads(void **state)
{
    static const char text[] = "# test\ntext/x-file fil\n";
    char path[] = "/tmp/test_mime.XXXXXX";

    mime_write_temp(path, text, sizeof text - 1);
    assert_int_equal(mime_table_load_file(*state, path), 0);
    unlink(path);
    mime_expect(*state, "file", "a.fil", 5, "text/x-file");
}

static void test_mime_table_load_file_missing(void **state)
{
    assert_int_equal(mime_table_load_file(*state, "/nonexistent/mime.types"), -ENOENT);
}

static void test_mime_table_load_file_directory(void **state)
{
    assert_int_equal(mime_table_load_file(*state, "/tmp"), -EISDIR);
}

/* A file of exactly the cap loads; one byte more is refused, and the table
 * is left as it was. */
static void mime_load_sized(struct mime_table *t, size_t size, int want_rc)
{
    static const char line[] = "text/x-big big\n";
    char path[] = "/tmp/test_mime.XXXXXX";
    char *data = malloc(size);

    assert_non_null(data);
    memset(data, '\n', size);
    memcpy(data, line, sizeof line - 1);
    mime_write_temp(path, data, size);
    free(data);
    assert_int_equal(mime_table_load_file(t, path), want_rc);
    unlink(path);
    mime_expect(t, "sized", "a.big", 5, want_rc == 0 ? "text/x-big" : DEFAULT_TYPE);
}

static void test_mime_table_load_file_at_cap(void **state)
{
    mime_load_sized(*state, 1024 * 1024, 0);
}

static void test_mime_table_load_file_over_cap(void **state)
{
    mime_load_sized(*state, 1024 * 1024 + 1, -EFBIG);
}

/* A character device that never ends must not be read forever. */
static void test_mime_table_load_file_endless(void **state)
{
    assert_int_equal(mime_table_load_file(*state, "/dev/zero"), -EFBIG);
    mime_expect(*state, "endless", "a.html", 6, "text/html");
}

static void test_mime_table_free_null(void **state)
{
    (void)state;
    mime_table_free(NULL);
}

#define MIME_TEST(f) cmocka_unit_test_setup_teardown(f, mime_setup, mime_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        MIME_TEST(test_mime_lookup_builtins),
        MIME_TEST(test_mime_lookup_builtins_have_no_charset),
        MIME_TEST(test_mime_lookup_names),
        cmocka_unit_test(test_mime_table_load_cases),
        MIME_TEST(test_mime_table_load_keeps_earlier_types),
        MIME_TEST(test_mime_table_load_many),
        MIME_TEST(test_mime_table_load_file_reads),
        MIME_TEST(test_mime_table_load_file_missing),
        MIME_TEST(test_mime_table_load_file_directory),
        MIME_TEST(test_mime_table_load_file_at_cap),
        MIME_TEST(test_mime_table_load_file_over_cap),
        MIME_TEST(test_mime_table_load_file_endless),
        cmocka_unit_test(test_mime_table_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
