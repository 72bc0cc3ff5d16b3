/* Unit tests for auth: base64, htpasswd parsing, Basic checks and the cache.
 * Hashes for the checks are made here with crypt_gensalt_rn + crypt_rn at the
 * lowest costs, so the file runs in well under a second. */
#include "auth.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Known-good hashes of "test", made with htpasswd and crypt(3). */
#define HASH_2Y "$2y$05$TxUGpZBJBxHdBEaKAwveluKA9krA70Lr46HLtT0fs2lb69eDFroqG"
#define HASH_6                                                                                     \
    "$6$8YShSmf28IGJBXBQ$irK2mL3XMzn5ZKlOWQt4jTSnOat63M0SpIaPc56BFNX1SSh7J7U0fDFphTO7k5cmJ.s"      \
    "WCfjdklxgDsPW9Ly3A/"
#define HASH_Y "$y$j9T$xABzjx/kxbTrubzF1NsmC.$ZKiPsK5JeT0p91Wcqs39dbdnJy63yR0TwGMDeANhHA6"

/* Hash password with a fresh salt for prefix at cost count, into out. */
static void make_hash(const char *prefix, unsigned long count, const char *password, char *out,
                      size_t cap)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *d = calloc(1, sizeof *d);

    assert_non_null(d);
    assert_non_null(crypt_gensalt_rn(prefix, count, NULL, 0, setting, (int)sizeof setting));
    const char *h = crypt_rn(password, setting, d, (int)sizeof *d);
    assert_non_null(h);
    assert_true(strlen(h) < cap);
    strcpy(out, h);
    free(d);
}

static struct auth_users *parse_ok(const char *text)
{
    char err[256];
    struct auth_users *u = auth_users_parse(text, strlen(text), err, sizeof err);
    if (!u)
        fail_msg("parse failed: %s\n--- input:\n%s", err, text);
    return u;
}

static void b64_encode(const char *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Check a field value copied into an allocation of exactly its length, so an
 * over-read trips ASan. */
static bool check_raw(const struct auth_users *u, const char *value, long long now_ms)
{
    size_t n = strlen(value);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, value, n);
    bool ok = auth_check_basic_at(u, copy, n, now_ms);
    free(copy);
    return ok;
}

/* "Basic " + base64(cred[0..n)), then check_raw. */
static bool check_cred(const struct auth_users *u, const char *scheme, const char *cred,
                       size_t n, long long now_ms)
{
    char value[2048];
    size_t k = strlen(scheme);
    assert_true(k + (n + 2) / 3 * 4 < sizeof value);
    memcpy(value, scheme, k);
    b64_encode(cred, n, value + k);
    return check_raw(u, value, now_ms);
}

static bool check(const struct auth_users *u, const char *cred, long long now_ms)
{
    return check_cred(u, "Basic ", cred, strlen(cred), now_ms);
}

/* ---- auth_base64_decode -------------------------------------------------- */

static const struct b64_case {
    const char *name, *in, *out;
    long rc; /* decoded length, or -1 */
    size_t cap;
} b64_cases[] = {
    { "empty", "", "", 0, 8 },
    { "one byte", "Zg==", "f", 1, 8 },
    { "two bytes", "Zm8=", "fo", 2, 8 },
    { "three bytes", "Zm9v", "foo", 3, 8 },
    { "six bytes", "Zm9vYmFy", "foobar", 6, 8 },
    { "exact fit", "Zm9vYmFy", "foobar", 6, 6 },
    { "test:test", "dGVzdDp0ZXN0", "test:test", 9, 16 },
    { "all 64 symbols", "+/+/", "\xfb\xff\xbf", 3, 8 },
    { "too long by one", "Zm9vYmFy", NULL, -1, 5 },
    { "no room", "Zg==", NULL, -1, 0 },
    { "bad char *", "Zm9*", NULL, -1, 8 },
    { "inner space", "Zm 9", NULL, -1, 8 },
    { "trailing LF", "Zm9v\n", NULL, -1, 8 },
    { "url-safe alphabet", "-_-_", NULL, -1, 8 },
    { "NUL inside", "Zm\0v", NULL, -1, 8 },
    { "missing padding", "Zg", NULL, -1, 8 },
    { "short padding", "Zg=", NULL, -1, 8 },
    { "three pads", "Z===", NULL, -1, 8 },
    { "four pads", "====", NULL, -1, 8 },
    { "pad then data", "Zm=v", NULL, -1, 8 },
    { "pad at start", "=Zm9", NULL, -1, 8 },
    { "padded quantum not last", "Zg==Zm9v", NULL, -1, 16 },
    { "non-zero pad bits, 1 byte", "Zh==", NULL, -1, 8 },
    { "non-zero pad bits, 2 bytes", "Zm9=", NULL, -1, 8 },
};

static void test_auth_base64_decode_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof b64_cases / sizeof b64_cases[0]; i++) {
        const struct b64_case *c = &b64_cases[i];
        /* "NUL inside" has a length of 4 despite its NUL. */
        size_t n = strcmp(c->name, "NUL inside") == 0 ? 4 : strlen(c->in);
        char *in = malloc(n ? n : 1);
        unsigned char *out = malloc(c->cap ? c->cap : 1);
        assert_non_null(in);
        assert_non_null(out);
        memcpy(in, c->in, n);
        long rc = auth_base64_decode(in, n, out, c->cap);
        if (rc != c->rc)
            fail_msg("case '%s': rc %ld, want %ld", c->name, rc, c->rc);
        if (c->rc > 0 && memcmp(out, c->out, (size_t)c->rc) != 0)
            fail_msg("case '%s': wrong bytes", c->name);
        free(out);
        free(in);
    }
}

/* ---- auth_users_parse ---------------------------------------------------- */

static const struct refuse_case {
    const char *name, *text, *want; /* want: substrings of the error, '|'-separated */
} refuse_cases[] = {
    { "plaintext", "alice:" HASH_2Y "\n\nbob:secret\n", "line 3|user 'bob'|plaintext" },
    { "DES crypt", "bob:CrBIUd/nq7Etw\n", "line 1|user 'bob'|DES crypt" },
    { "BSDi DES", "bob:_J9..CCCCXBrJUJV154M\n", "line 1|BSDi DES" },
    { "MD5 $1$", "bob:$1$6t4JfhXk$mG4QjwRDwb3J4TfehYy/g.\n", "line 1|user 'bob'|MD5 ($1$)" },
    { "MD5 $apr1$", "# c\nalice:" HASH_6 "\nbob:$apr1$vB3a1unL$VAUI20nC/1lwZRXkBgL7y.\n",
      "line 3: user 'bob': MD5 ($apr1$) hashes are too weak; use bcrypt (htpasswd -B)" },
    { "SHA-1 {SHA}", "bob:{SHA}EfatjsUqKYSrqv18O1FlA3hcIHI=\n", "line 1|{SHA}" },
    { "SHA-256 $5$",
      "bob:$5$IH/kpIY1jZmch2tJ$V4ZteNFr3MJMaHLcgiUoaQsNQmgNVK2UVW4976szfq9\n",
      "line 1|user 'bob'|SHA-256 ($5$)" },
    { "bcrypt $2x$", "bob:$2x$05$TxUGpZBJBxHdBEaKAwveluKA9krA70Lr46HLtT0fs2lb69eDFroqG\n",
      "line 1|$2x$" },
    { "unknown $7$", "bob:$7$CU..../....abc$def\n", "line 1|unknown hash scheme" },
    { "unknown {SSHA}", "bob:{SSHA}abcdefgh\n", "line 1|unknown hash scheme" },
    { "empty hash", "bob:\n", "line 1|empty hash" },
    { "truncated bcrypt", "bob:$2y$05$TxUGpZBJBxHdBEaKAwveluKA9krA70Lr46HLtT0fs2lb69eDFroq\n",
      "line 1|malformed bcrypt" },
    { "bcrypt with a space", "bob:$2y$05$TxUGpZBJBxHdBEaKAwveluKA9krA70Lr46HLtT0fs2lb69e Froqg\n",
      "line 1|malformed bcrypt" },
    { "truncated $6$", "bob:$6$8YShSmf28IGJBXBQ$irK2mL3XMzn5ZKlOWQt4jTSnOat63M0\n",
      "line 1|malformed SHA-512" },
    { "truncated $y$", "bob:$y$j9T$xABzjx/kxbTrubzF1NsmC.$ZKiPsK5JeT0p91Wcqs39\n",
      "line 1|malformed yescrypt" },
    { "no colon", "alice:" HASH_2Y "\nbob\n", "line 2|no ':'" },
    { "empty user", ":" HASH_2Y "\n", "line 1|empty user name" },
    { "control char in user", "b\x01ob:" HASH_2Y "\n", "line 1|'b\\x01ob'|control character" },
    { "DEL in user", "bob\x7f:" HASH_2Y "\n", "line 1|control character" },
    { "NUL in user", "b\0b:" HASH_2Y "\n", "line 1|control character" }, /* see below */
    { "lone CR in user", "b\rob:" HASH_2Y "\n", "line 1|control character" },
    { "duplicate", "alice:" HASH_2Y "\n# x\nbob:" HASH_6 "\nalice:" HASH_Y "\n",
      "line 4: user 'alice' already defined on line 1" },
    { "third duplicate", "a:" HASH_2Y "\nb:" HASH_2Y "\na:" HASH_2Y "\na:" HASH_2Y "\n",
      "line 3: user 'a' already defined on line 1" },
    { "only comments", "# nobody\n\n   \n", "no users" },
    { "empty file", "", "no users" },
};

static size_t refuse_case_len(const struct refuse_case *c)
{
    /* The NUL case: "b", NUL, "b:" and the hash and "\n". */
    if (strcmp(c->name, "NUL in user") == 0)
        return 1 + 1 + 2 + strlen(HASH_2Y) + 1;
    return strlen(c->text);
}

static void test_auth_users_parse_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof refuse_cases / sizeof refuse_cases[0]; i++) {
        const struct refuse_case *c = &refuse_cases[i];
        size_t n = refuse_case_len(c);
        char *text = malloc(n ? n : 1);
        char err[256];
        assert_non_null(text);
        memcpy(text, c->text, n);

        struct auth_users *u = auth_users_parse(text, n, err, sizeof err);
        if (u)
            fail_msg("case '%s': accepted", c->name);
        char want[256];
        snprintf(want, sizeof want, "%s", c->want);
        for (char *w = strtok(want, "|"); w; w = strtok(NULL, "|"))
            if (!strstr(err, w))
                fail_msg("case '%s': error \"%s\" lacks \"%s\"", c->name, err, w);
        if (strstr(err, "secret") || strstr(err, "TxUGpZ"))
            fail_msg("case '%s': error echoes a secret: %s", c->name, err);
        free(text);
    }
}

static void test_auth_users_parse_strong_schemes(void **state)
{
    (void)state;
    char b[CRYPT_OUTPUT_SIZE], a[CRYPT_OUTPUT_SIZE], r[CRYPT_OUTPUT_SIZE], text[2048];
    make_hash("$2b$", 4, "x", b, sizeof b);
    make_hash("$2a$", 4, "x", a, sizeof a);
    make_hash("$6$", 1000, "x", r, sizeof r); /* "$6$rounds=1000$..." */
    assert_non_null(strstr(r, "rounds=1000$"));
    snprintf(text, sizeof text, "u1:%s\nu2:%s\nu3:%s\nu4:%s\nu5:%s\nu6:%s\n", HASH_2Y, b, a,
             HASH_6, r, HASH_Y);
    struct auth_users *u = parse_ok(text);
    assert_int_equal(auth_users_count(u), 6);
    auth_users_free(u);
}

static void test_auth_users_parse_comments_crlf(void **state)
{
    (void)state;
    struct auth_users *u = parse_ok("# users\r\n"
                                    "\r\n"
                                    "alice:" HASH_2Y "\r\n"
                                    "   # indented comment\n"
                                    "\t\n"
                                    "  bob:" HASH_6 " \t\r\n"
                                    "carol:" HASH_Y); /* no final newline */
    assert_int_equal(auth_users_count(u), 3);
    /* Trimmed: " bob" would be a different user. */
    assert_true(check(u, "bob:test", 0));
    assert_true(check(u, "carol:test", 0));
    auth_users_free(u);
}

static void test_auth_users_parse_err_bounded(void **state)
{
    (void)state;
    static const char text[] = "bob:$apr1$vB3a1unL$VAUI20nC/1lwZRXkBgL7y.\n";
    for (size_t cap = 1; cap < 12; cap++) {
        char *err = malloc(cap); /* exact size: an overflow trips ASan */
        assert_non_null(err);
        memset(err, 'x', cap);
        assert_null(auth_users_parse(text, sizeof text - 1, err, cap));
        assert_int_equal(strlen(err), cap - 1);
        assert_memory_equal(err, "line 1: user", cap - 1);
        free(err);
    }
    assert_null(auth_users_parse(text, sizeof text - 1, NULL, 0));

    /* A long user name is cut short in the message, which still fits. */
    char name[300], line[512], err[128];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(line, sizeof line, "%.200s:plain\n", name);
    assert_null(auth_users_parse(line, strlen(line), err, sizeof err));
    assert_non_null(strstr(err, "..."));
    snprintf(line, sizeof line, "%s:%s\n", name, HASH_2Y);
    assert_null(auth_users_parse(line, strlen(line), err, sizeof err));
    assert_non_null(strstr(err, "longer than 255 bytes"));
}

/* ---- auth_users_load ----------------------------------------------------- */

static void write_temp(char *path, const char *text, size_t n)
{
    strcpy(path, "/tmp/test_auth.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

static void test_auth_users_load_ok(void **state)
{
    (void)state;
    char path[64], err[256];
    static const char text[] = "test:" HASH_2Y "\n";
    write_temp(path, text, sizeof text - 1);
    struct auth_users *u = auth_users_load(path, err, sizeof err);
    if (!u)
        fail_msg("%s", err);
    assert_int_equal(auth_users_count(u), 1);
    assert_true(check(u, "test:test", 0));
    auth_users_free(u);
    unlink(path);
}

static void test_auth_users_load_errors(void **state)
{
    (void)state;
    char path[64], want[128], err[256];

    /* A bad line: the message names the file and the line. */
    static const char text[] = "# x\nbob:$1$6t4JfhXk$mG4QjwRDwb3J4TfehYy/g.\n";
    write_temp(path, text, sizeof text - 1);
    assert_null(auth_users_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s: line 2: user 'bob': MD5", path);
    if (!strstr(err, want))
        fail_msg("\"%s\" lacks \"%s\"", err, want);

    /* Too large (sparse, so the test writes nothing). */
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 5 * 1024 * 1024), 0);
    close(fd);
    assert_null(auth_users_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s: larger than", path);
    assert_non_null(strstr(err, want));
    unlink(path);

    /* Missing: the path and strerror. */
    assert_null(auth_users_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s: open: %s", path, strerror(ENOENT));
    assert_string_equal(err, want);

    assert_null(auth_users_load("/tmp", err, sizeof err));
    assert_string_equal(err, "/tmp: not a regular file");
}

/* ---- auth_check_basic ---------------------------------------------------- */

static const struct scheme_case {
    const char *prefix;
    unsigned long count; /* the cheapest cost, to keep the test fast */
} scheme_cases[] = {
    { "$2b$", 4 },
    { "$2y$", 4 },
    { "$6$", 1000 },
    { "$y$", 1 },
};

static void test_auth_check_basic_schemes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof scheme_cases / sizeof scheme_cases[0]; i++) {
        const struct scheme_case *c = &scheme_cases[i];
        char h1[CRYPT_OUTPUT_SIZE], h2[CRYPT_OUTPUT_SIZE], text[1024];
        make_hash(c->prefix, c->count, "test", h1, sizeof h1);
        make_hash(c->prefix, c->count, "other", h2, sizeof h2);
        snprintf(text, sizeof text, "test:%s\nzed:%s\n", h1, h2);
        struct auth_users *u = parse_ok(text);
        struct auth_stats st;

        if (!check(u, "test:test", 0))
            fail_msg("%s: right password refused", c->prefix);
        if (!check(u, "zed:other", 0))
            fail_msg("%s: second user refused", c->prefix);
        if (check(u, "test:tesT", 0) || check(u, "test:", 0) || check(u, "test:test ", 0))
            fail_msg("%s: wrong password accepted", c->prefix);
        if (check(u, "zed:test", 0))
            fail_msg("%s: another user's password accepted", c->prefix);
        /* Unknown users run crypt against the first user's hash: even that
         * user's password must not get them in. */
        auth_users_stats(u, &st);
        unsigned long long before = st.crypt_calls;
        if (check(u, "nobody:test", 0) || check(u, "tes:test", 0) || check(u, "testt:test", 0))
            fail_msg("%s: unknown user accepted", c->prefix);
        auth_users_stats(u, &st);
        assert_int_equal(st.crypt_calls - before, 3);
        auth_users_free(u);

        /* A stored hash that differs in its last character only: the whole
         * digest is compared, so the right password no longer matches. */
        size_t n = strlen(h1);
        h1[n - 1] = h1[n - 1] == 'A' ? 'B' : 'A';
        snprintf(text, sizeof text, "test:%s\n", h1);
        u = parse_ok(text);
        if (check(u, "test:test", 0))
            fail_msg("%s: hash compared short of its end", c->prefix);
        auth_users_free(u);
    }
}

static void test_auth_check_basic_scheme_syntax(void **state)
{
    (void)state;
    struct auth_users *u = parse_ok("test:" HASH_2Y "\n");

    assert_true(check_raw(u, "Basic dGVzdDp0ZXN0", 0));
    assert_true(check_raw(u, "basic dGVzdDp0ZXN0", 0));
    assert_true(check_raw(u, "BASIC dGVzdDp0ZXN0", 0));
    assert_true(check_raw(u, "bAsIc    dGVzdDp0ZXN0", 0));
    assert_false(check_raw(u, "BasicdGVzdDp0ZXN0", 0));       /* no space */
    assert_false(check_raw(u, "Basic\tdGVzdDp0ZXN0", 0));     /* tab is not SP */
    assert_false(check_raw(u, "Basic dGVzdDp0ZXN0 ", 0));     /* trailing space */
    assert_false(check_raw(u, " Basic dGVzdDp0ZXN0", 0));     /* leading space */
    assert_false(check_raw(u, "Basic dGVzdDp0ZXN0dGVz", 0)); /* not a multiple of 4 */
    assert_false(check_raw(u, "Basic dGVzdDp0ZXN1", 0));     /* "test:tesu" */
    assert_false(check_raw(u, "Basic ", 0));
    assert_false(check_raw(u, "Basic", 0));
    assert_false(check_raw(u, "", 0));
    assert_false(check_raw(u, "Bearer dGVzdDp0ZXN0", 0));
    assert_false(check_raw(u, "Basics dGVzdDp0ZXN0", 0));
    assert_false(check_raw(u, "Digest dGVzdDp0ZXN0", 0));
    assert_false(auth_check_basic_at(NULL, "Basic dGVzdDp0ZXN0", 18, 0));
    /* The wall-clock wrapper. */
    assert_true(auth_check_basic(u, "Basic dGVzdDp0ZXN0", 18));
    assert_false(auth_check_basic(u, "Basic dGVzdDp0ZXN1", 18));
    auth_users_free(u);
}

static void test_auth_check_basic_colon_in_password(void **state)
{
    (void)state;
    char h[CRYPT_OUTPUT_SIZE], text[512];
    make_hash("$2b$", 4, "b:c", h, sizeof h);
    snprintf(text, sizeof text, "a:%s\n", h);
    struct auth_users *u = parse_ok(text);

    assert_true(check(u, "a:b:c", 0)); /* user "a", password "b:c" */
    assert_false(check(u, "a:b", 0));
    assert_false(check(u, "a:b:c:", 0));
    assert_false(check(u, "a:b:", 0));
    assert_false(check(u, "a", 0)); /* no ':' at all */
    assert_false(check(u, ":b:c", 0));
    auth_users_free(u);
}

static void test_auth_check_basic_control_chars(void **state)
{
    (void)state;
    char h[CRYPT_OUTPUT_SIZE], text[512];
    /* The hash would match: the refusal must come from the check itself. */
    make_hash("$2b$", 4, "te\tst", h, sizeof h);
    snprintf(text, sizeof text, "test:%s\n", h);
    struct auth_users *u = parse_ok(text);

    assert_false(check(u, "test:te\tst", 0));
    assert_false(check_cred(u, "Basic ", "test:te\0st", 10, 0));
    assert_false(check(u, "test:test\r\n", 0));
    assert_false(check(u, "test:te\x7fst", 0));
    struct auth_stats st;
    auth_users_stats(u, &st);
    assert_int_equal(st.crypt_calls, 0);
    auth_users_free(u);

    /* Non-ASCII (UTF-8) passwords are fine. */
    make_hash("$2b$", 4, "p\xc3\xa4ss", h, sizeof h);
    snprintf(text, sizeof text, "test:%s\n", h);
    u = parse_ok(text);
    assert_true(check(u, "test:p\xc3\xa4ss", 0));
    auth_users_free(u);
}

static void test_auth_check_basic_at_cache(void **state)
{
    (void)state;
    struct auth_users *u = parse_ok("test:" HASH_2Y "\nother:" HASH_6 "\n");
    struct auth_stats st;

    assert_true(check(u, "test:test", 1000));
    auth_users_stats(u, &st);
    assert_int_equal(st.crypt_calls, 1);
    assert_int_equal(st.cache_hits, 0);

    /* Hit: no crypt. */
    assert_true(check(u, "test:test", 1000 + 59999));
    auth_users_stats(u, &st);
    assert_int_equal(st.crypt_calls, 1);
    assert_int_equal(st.cache_hits, 1);

    /* The scheme's case does not matter, the token's bytes do. */
    assert_true(check_raw(u, "basic dGVzdDp0ZXN0", 1000 + 30000));
    auth_users_stats(u, &st);
    assert_int_equal(st.cache_hits, 2);

    /* Another password for a cached user: crypt runs and refuses, and the
     * failure is not cached (asked again at once, so that no other entry can
     * have taken its slot in between). */
    assert_false(check(u, "test:tesu", 2000));
    assert_false(check(u, "test:tesu", 2001));
    assert_false(check(u, "other:tesu", 2002));
    auth_users_stats(u, &st);
    assert_int_equal(st.crypt_calls, 4);
    assert_int_equal(st.cache_hits, 2);

    /* Expiry 60 s after the crypt check, not after the last hit. */
    assert_true(check(u, "test:test", 1000 + 60000));
    auth_users_stats(u, &st);
    assert_int_equal(st.crypt_calls, 5);
    assert_true(check(u, "test:test", 1000 + 60001));
    auth_users_stats(u, &st);
    assert_int_equal(st.crypt_calls, 5);
    assert_int_equal(st.cache_hits, 3);
    auth_users_free(u);
}

static void test_auth_users_set_cache_time(void **state)
{
    (void)state;
    struct auth_users *u = parse_ok("test:" HASH_2Y "\n");
    struct auth_stats st;

    /* A shorter time: the entry is gone after 5 s instead of 60 s. */
    auth_users_set_cache_time(u, 5000);
    assert_true(check(u, "test:test", 1000));
    assert_true(check(u, "test:test", 1000 + 4999));
    assert_true(check(u, "test:test", 1000 + 5000));
    auth_users_stats(u, &st);
    assert_int_equal(st.crypt_calls, 2);
    assert_int_equal(st.cache_hits, 1);

    /* 0: every request runs crypt(3). */
    auth_users_set_cache_time(u, 0);
    assert_true(check(u, "test:test", 7000));
    assert_true(check(u, "test:test", 7001));
    auth_users_stats(u, &st);
    assert_int_equal(st.crypt_calls, 4);
    assert_int_equal(st.cache_hits, 1);
    auth_users_free(u);
}

static void test_auth_check_basic_at_cache_per_users(void **state)
{
    (void)state;
    /* A new file (a reload) starts with an empty cache: a password changed
     * in the file takes effect at once. */
    struct auth_users *u = parse_ok("test:" HASH_2Y "\n");
    assert_true(check(u, "test:test", 0));
    auth_users_free(u);

    char h[CRYPT_OUTPUT_SIZE], text[512];
    make_hash("$2b$", 4, "new", h, sizeof h);
    snprintf(text, sizeof text, "test:%s\n", h);
    u = parse_ok(text);
    assert_false(check(u, "test:test", 1));
    assert_true(check(u, "test:new", 1));
    auth_users_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_base64_decode_table),
        cmocka_unit_test(test_auth_users_parse_refused),
        cmocka_unit_test(test_auth_users_parse_strong_schemes),
        cmocka_unit_test(test_auth_users_parse_comments_crlf),
        cmocka_unit_test(test_auth_users_parse_err_bounded),
        cmocka_unit_test(test_auth_users_load_ok),
        cmocka_unit_test(test_auth_users_load_errors),
        cmocka_unit_test(test_auth_check_basic_schemes),
        cmocka_unit_test(test_auth_check_basic_scheme_syntax),
        cmocka_unit_test(test_auth_check_basic_colon_in_password),
        cmocka_unit_test(test_auth_check_basic_control_chars),
        cmocka_unit_test(test_auth_check_basic_at_cache),
        cmocka_unit_test(test_auth_users_set_cache_time),
        cmocka_unit_test(test_auth_check_basic_at_cache_per_users),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
