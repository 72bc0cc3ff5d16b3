/* auth_users — the users of HTTP Basic authentication, read from an htpasswd
 * file: its syntax, its limits and the hash policy.
 *
 * Leaves out: checking a credential (auth.c), reloading (the caller parses
 * a new file and frees the old struct, which also empties the cache).
 *
 * htpasswd format. One "user:hash" per line; '#' starts a comment line; blank
 * lines are skipped; CRLF is accepted; spaces and tabs around a line are
 * trimmed (as Apache's ap_cfg_getline does). A user name is non-empty, at
 * most AUTH_USER_MAX_BYTES, without ':' or control characters (RFC 7617 §2
 * forbids both in user-ids). A second line for the same user is an error:
 * silently keeping either one hides a mistake. A file without users is an
 * error too, because it locks everybody out. Limits: AUTH_FILE_MAX_BYTES,
 * AUTH_USERS_MAX.
 *
 * Hash policy. Accepted: bcrypt ($2y$, $2b$, $2a$), SHA-512 crypt ($6$) and
 * yescrypt ($y$), each checked for shape and by crypt_checksalt() so that a
 * truncated line fails at load time instead of denying its user forever.
 * Refused with the line, the user and the scheme: plaintext, DES crypt (13
 * characters), BSDi DES (_), MD5 ($1$, $apr1$), SHA-1 ({SHA}), bcrypt $2x$
 * (the mode that reproduces the 2011 sign-extension bug), and anything we do
 * not recognise. SHA-256 crypt ($5$) is refused as well: it has the same
 * design as $6$ but is faster on GPUs, libxcrypt itself rates it
 * CRYPT_SALT_METHOD_LEGACY, and `htpasswd -5` produces $6$ for anyone who
 * cannot use bcrypt. Error messages never echo a hash or a plaintext password.
 *
 * Ownership: auth_users_parse allocates the struct, a copy of the text (with
 * ':' and line ends overwritten by NUL, so names and hashes are C strings
 * pointing into it), the user array and the scratch; auth_users_free
 * releases all four.
 */
#include "auth_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Limits. An htpasswd of 4 MiB holds about 50,000 bcrypt lines. */
#define AUTH_FILE_MAX_BYTES (4u * 1024 * 1024)
#define AUTH_USERS_MAX 50000u
#define AUTH_USER_MAX_BYTES 255u

/* Longest user name quoted in an error message, before "...". */
#define AUTH_QUOTE_MAX_BYTES 64u

__attribute__((format(printf, 3, 4)))
static void auth_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool auth_is_crypt64(unsigned char c)
{
    return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z');
}

/* Quote s[0..n) for a message: printable ASCII as is, the rest as \xNN. */
static void auth_quote(char *out, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < n && i < AUTH_QUOTE_MAX_BYTES; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            if (o + 1 >= cap)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 4 >= cap)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (n > AUTH_QUOTE_MAX_BYTES && o + 3 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* ---- hash schemes -------------------------------------------------------- */

static bool auth_all_crypt64(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!auth_is_crypt64((unsigned char)s[i]))
            return false;
    return true;
}

/* Length of the field after the last '$'. */
static size_t auth_last_field_len(const char *h, size_t n)
{
    size_t i = n;
    while (i > 0 && h[i - 1] != '$')
        i--;
    return n - i;
}

static size_t auth_count_dollars(const char *h, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += h[i] == '$';
    return k;
}

/* "$2b$NN$" + 22 salt + 31 digest characters. */
static bool auth_bcrypt_is_shaped(const char *h, size_t n)
{
    return n == 60 && h[4] >= '0' && h[4] <= '3' && h[5] >= '0' && h[5] <= '9' &&
           h[6] == '$' && auth_all_crypt64(h + 7, 53);
}

/* "$6$" ["rounds=N$"] salt "$" 86 digest characters. */
static bool auth_sha512_is_shaped(const char *h, size_t n)
{
    const char *p = h + 3, *end = h + n;

    if (end - p > 7 && memcmp(p, "rounds=", 7) == 0) {
        p += 7;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits || p - digits > 9 || p == end || *p != '$')
            return false;
        p++;
    }
    const char *salt = p;
    while (p < end && *p != '$')
        p++;
    return p < end && p - salt <= 16 && auth_all_crypt64(salt, (size_t)(p - salt)) &&
           end - (p + 1) == 86 && auth_all_crypt64(p + 1, 86);
}

/* "$y$" params "$" salt "$" 43 digest characters. */
static bool auth_yescrypt_is_shaped(const char *h, size_t n)
{
    for (size_t i = 3; i < n; i++)
        if (h[i] != '$' && !auth_is_crypt64((unsigned char)h[i]))
            return false;
    return auth_count_dollars(h, n) == 4 && h[3] != '$' && auth_last_field_len(h, n) == 43;
}

static bool auth_starts(const char *h, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(h, prefix, k) == 0;
}

/* Hash h[0..n), NUL-terminated. NULL if we accept it, else why not. */
static const char *auth_hash_refusal(const char *h, size_t n)
{
    if (n == 0)
        return "empty hash; use bcrypt (htpasswd -B)";
    if (auth_starts(h, n, "$2y$") || auth_starts(h, n, "$2b$") || auth_starts(h, n, "$2a$")) {
        if (!auth_bcrypt_is_shaped(h, n))
            return "malformed bcrypt hash (truncated line?)";
    } else if (auth_starts(h, n, "$6$")) {
        if (!auth_sha512_is_shaped(h, n))
            return "malformed SHA-512 ($6$) hash (truncated line?)";
    } else if (auth_starts(h, n, "$y$")) {
        if (!auth_yescrypt_is_shaped(h, n))
            return "malformed yescrypt ($y$) hash (truncated line?)";
    } else if (auth_starts(h, n, "$apr1$")) {
        return "MD5 ($apr1$) hashes are too weak; use bcrypt (htpasswd -B)";
    } else if (auth_starts(h, n, "$1$")) {
        return "MD5 ($1$) hashes are too weak; use bcrypt (htpasswd -B)";
    } else if (auth_starts(h, n, "$5$")) {
        return "SHA-256 ($5$) hashes are refused (libxcrypt rates them legacy); "
               "use bcrypt (htpasswd -B) or SHA-512 (htpasswd -5)";
    } else if (auth_starts(h, n, "$2x$")) {
        return "bcrypt $2x$ hashes reproduce a known bug; use bcrypt (htpasswd -B)";
    } else if (auth_starts(h, n, "{SHA}")) {
        return "SHA-1 ({SHA}) hashes are unsalted and too weak; use bcrypt (htpasswd -B)";
    } else if (n == 13 && auth_all_crypt64(h, n)) {
        return "DES crypt hashes are too weak; use bcrypt (htpasswd -B)";
    } else if (n == 20 && h[0] == '_' && auth_all_crypt64(h + 1, 19)) {
        return "BSDi DES (_) hashes are too weak; use bcrypt (htpasswd -B)";
    } else if (h[0] == '$' || h[0] == '{') {
        /* Not naming the id: a plaintext password may begin with '$'. */
        return "unknown hash scheme; use bcrypt (htpasswd -B)";
    } else {
        return "not a recognised hash (plaintext?); use bcrypt (htpasswd -B)";
    }
    if (n >= CRYPT_OUTPUT_SIZE || crypt_checksalt(h) == CRYPT_SALT_INVALID)
        return "hash rejected by libxcrypt";
    return NULL;
}

/* ---- parsing ------------------------------------------------------------- */

static int auth_user_cmp(const void *a, const void *b)
{
    const struct auth_user *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return (x->line > y->line) - (x->line < y->line); /* duplicates in file order */
}

static int auth_random_fill(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static bool auth_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parse one non-comment line t[0..n), which auth_users_parse may write to.
 * 0 and *out filled, or -1 with err set. */
static int auth_parse_line(char *t, size_t n, size_t line, struct auth_user *out, char *err,
                           size_t errlen)
{
    char q[AUTH_QUOTE_MAX_BYTES * 4 + 4];
    char *colon = memchr(t, ':', n);

    if (!colon) {
        auth_error(err, errlen, "line %zu: expected \"user:hash\", found no ':'", line);
        return -1;
    }
    size_t name_len = (size_t)(colon - t);
    auth_quote(q, sizeof q, t, name_len);
    if (name_len == 0) {
        auth_error(err, errlen, "line %zu: empty user name", line);
        return -1;
    }
    if (name_len > AUTH_USER_MAX_BYTES) {
        auth_error(err, errlen, "line %zu: user '%s': name longer than %u bytes", line, q,
                   AUTH_USER_MAX_BYTES);
        return -1;
    }
    for (size_t i = 0; i < name_len; i++) {
        if (auth_is_ctl((unsigned char)t[i])) {
            auth_error(err, errlen, "line %zu: user '%s': control character in name", line, q);
            return -1;
        }
    }
    const char *hash = colon + 1;
    size_t hash_len = n - name_len - 1;
    *colon = '\0';
    t[n] = '\0';
    const char *why = auth_hash_refusal(hash, hash_len);
    if (why) {
        auth_error(err, errlen, "line %zu: user '%s': %s", line, q, why);
        return -1;
    }
    out->name = t;
    out->hash = hash;
    out->hash_len = hash_len;
    out->line = line;
    return 0;
}

/* Split text (a private, NUL-terminable copy) into u->users. 0 or -1. */
static int auth_parse_lines(struct auth_users *u, char *text, size_t len, char *err,
                            size_t errlen)
{
    char *p = text, *end = text + len;
    size_t cap = 0;

    for (size_t line = 1; p < end; line++) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char *next = eol ? eol + 1 : end;
        char *e = eol ? eol : end;

        if (e > p && e[-1] == '\r')
            e--;
        while (p < e && auth_is_blank(*p))
            p++;
        while (e > p && auth_is_blank(e[-1]))
            e--;
        if (p == e || *p == '#') {
            p = next;
            continue;
        }
        if (u->count == AUTH_USERS_MAX) {
            auth_error(err, errlen, "line %zu: more than %u users", line, AUTH_USERS_MAX);
            return -1;
        }
        if (u->count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct auth_user *nu = realloc(u->users, ncap * sizeof *nu);
            if (!nu) {
                auth_error(err, errlen, "line %zu: out of memory", line);
                return -1;
            }
            u->users = nu;
            cap = ncap;
        }
        /* *e is '\r', '\n' or text[len]: ours to overwrite with NUL. */
        if (auth_parse_line(p, (size_t)(e - p), line, &u->users[u->count], err, errlen) < 0)
            return -1;
        u->count++;
        p = next;
    }
    return 0;
}

struct auth_users *auth_users_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct auth_users *u;
    char q[AUTH_QUOTE_MAX_BYTES * 4 + 4];
    int rc;

    auth_error(err, errlen, "%s", "");
    if (len > AUTH_FILE_MAX_BYTES) {
        auth_error(err, errlen, "larger than %u bytes", AUTH_FILE_MAX_BYTES);
        return NULL;
    }
    u = calloc(1, sizeof *u);
    if (!u)
        goto out_nomem;
    u->text = malloc(len + 1);
    if (!u->text)
        goto out_free;
    if (len > 0)
        memcpy(u->text, text, len);
    u->text[len] = '\0';

    if (auth_parse_lines(u, u->text, len, err, errlen) < 0)
        goto out_free_quiet;
    if (u->count == 0) {
        auth_error(err, errlen, "no users defined");
        goto out_free_quiet;
    }
    u->dummy_hash = u->users[0].hash; /* still in file order */
    qsort(u->users, u->count, sizeof *u->users, auth_user_cmp);
    /* Sorted with ties in file order, so the first duplicate pair found at
     * the lowest later line is the one to report. */
    size_t dup = 0;
    for (size_t i = 1; i < u->count; i++)
        if (strcmp(u->users[i - 1].name, u->users[i].name) == 0 &&
            (dup == 0 || u->users[i].line < u->users[dup].line))
            dup = i;
    if (dup != 0) {
        auth_quote(q, sizeof q, u->users[dup].name, strlen(u->users[dup].name));
        auth_error(err, errlen, "line %zu: user '%s' already defined on line %zu",
                   u->users[dup].line, q, u->users[dup - 1].line);
        goto out_free_quiet;
    }

    u->scratch = calloc(1, sizeof *u->scratch);
    if (!u->scratch)
        goto out_free;
    u->scratch->ttl_ms = AUTH_CACHE_TTL_DEFAULT_MS;
    rc = auth_random_fill(u->scratch->key, sizeof u->scratch->key);
    if (rc < 0) {
        auth_error(err, errlen, "getrandom: %s", strerror(-rc));
        goto out_free_quiet;
    }
    return u;

out_free:
    auth_users_free(u);
out_nomem:
    auth_error(err, errlen, "out of memory");
    return NULL;
out_free_quiet:
    auth_users_free(u);
    return NULL;
}

struct auth_users *auth_users_load(const char *path, char *err, size_t errlen)
{
    struct auth_users *u = NULL;
    struct stat st;
    char msg[512];
    char *buf;
    size_t len = 0, size;
    int fd;

    auth_error(err, errlen, "%s", "");
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        auth_error(err, errlen, "%s: open: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        auth_error(err, errlen, "%s: fstat: %s", path, strerror(errno));
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        auth_error(err, errlen, "%s: not a regular file", path);
        goto out_close;
    }
    if (st.st_size > (off_t)AUTH_FILE_MAX_BYTES) {
        auth_error(err, errlen, "%s: larger than %u bytes", path, AUTH_FILE_MAX_BYTES);
        goto out_close;
    }
    /* One spare byte: filling it means the file grew after fstat. */
    size = (size_t)st.st_size + 1;
    buf = malloc(size);
    if (!buf) {
        auth_error(err, errlen, "%s: out of memory", path);
        goto out_close;
    }
    while (len < size) {
        ssize_t n = read(fd, buf + len, size - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            auth_error(err, errlen, "%s: read: %s", path, strerror(errno));
            goto out_free_buf;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == size) {
        auth_error(err, errlen, "%s: file changed while being read", path);
        goto out_free_buf;
    }
    u = auth_users_parse(buf, len, msg, sizeof msg);
    if (!u)
        auth_error(err, errlen, "%s: %s", path, msg);

out_free_buf:
    explicit_bzero(buf, size);
    free(buf);
out_close:
    close(fd);
    return u;
}

void auth_users_free(struct auth_users *u)
{
    if (!u)
        return;
    if (u->scratch) {
        explicit_bzero(u->scratch, sizeof *u->scratch);
        free(u->scratch);
    }
    free(u->users);
    free(u->text);
    free(u);
}

void auth_users_set_cache_time(struct auth_users *u, long long ms)
{
    u->scratch->ttl_ms = ms > 0 ? ms : 0;
}

size_t auth_users_count(const struct auth_users *u)
{
    return u ? u->count : 0;
}

void auth_users_stats(const struct auth_users *u, struct auth_stats *st)
{
    if (u && u->scratch)
        *st = u->scratch->stats;
    else
        *st = (struct auth_stats){ 0 };
}
