/* auth — HTTP Basic authentication (RFC 7617) against an htpasswd file.
 *
 * Leaves out: other auth schemes (Digest, Bearer), realms and the 401
 * response (the caller sends WWW-Authenticate), reloading (the caller parses
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
 * Checking. "Basic" (any case), one or more SP (RFC 7235 §2.1: 1*SP), then
 * the token: strict base64 with padding and zero pad bits, so each
 * credential has exactly one encoding. The decoded bytes are split at the
 * FIRST ':' (RFC 7617 §2: the user-id cannot contain one, the password can)
 * and refused if they contain control characters. Users sit in an array
 * sorted by name (bsearch). The password goes through crypt_rn() with the
 * stored hash as setting, and the result is compared with the stored hash
 * over its whole length, terminator included, without early exit. For an
 * unknown user the same crypt_rn() runs with the first user's hash (same
 * scheme and cost) and the answer is forced to false, so the time taken does
 * not say whether the user exists; users with different costs still differ.
 * bcrypt reads only the first 72 bytes of a password.
 *
 * Cache. bcrypt costs milliseconds on purpose and a worker is one thread, so
 * a browser sending the same header on every request would stall the loop.
 * AUTH_CACHE_SLOTS entries remember credentials that passed in the last
 * auth_cache_time (60 s unless set): the entry is a 128-bit SipHash-2-4 tag of the exact
 * token bytes (two keys drawn from getrandom(2) when the file is parsed), so
 * the cache holds no password and an attacker who cannot see the key cannot
 * aim at a slot or forge a tag. A hit compares the whole tag in constant
 * time; the slot is picked from the tag (direct-mapped; a newer credential
 * evicts an older one). Failures are never cached. Expiry counts from the
 * crypt check, not from the last hit, so a cached credential is re-verified
 * at least once a TTL.
 *
 * Mutable state behind const. auth_check_basic takes a const pointer (the
 * users do not change), but it needs the cache and a struct crypt_data
 * (32 KiB, too big for a worker's stack to take lightly). Both live in a
 * struct auth_scratch that auth_users points to. Hence: one thread at a time
 * per struct auth_users; workers are processes, so each has its own.
 *
 * Ownership: auth_users_parse allocates the struct, a copy of the text (with
 * ':' and line ends overwritten by NUL, so names and hashes are C strings
 * pointing into it), the user array and the scratch; auth_users_free
 * releases all four.
 */
#include "auth.h"

#include <assert.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Limits. An htpasswd of 4 MiB holds about 50,000 bcrypt lines. */
#define AUTH_FILE_MAX_BYTES (4u * 1024 * 1024)
#define AUTH_USERS_MAX 50000u
#define AUTH_USER_MAX_BYTES 255u
/* Decoded "user:password". Browsers never come close; bcrypt reads 72 bytes. */
#define AUTH_CREDENTIALS_MAX_BYTES 1024u
#define AUTH_TOKEN_MAX_BYTES ((AUTH_CREDENTIALS_MAX_BYTES + 2) / 3 * 4)

#define AUTH_CACHE_SLOTS 64u
#define AUTH_CACHE_TTL_DEFAULT_MS 60000LL /* auth_cache_time's default */
static_assert((AUTH_CACHE_SLOTS & (AUTH_CACHE_SLOTS - 1)) == 0, "slots: a power of two");

/* Longest user name quoted in an error message, before "...". */
#define AUTH_QUOTE_MAX_BYTES 64u

struct auth_user {
    const char *name; /* NUL-terminated, in auth_users.text */
    const char *hash; /* NUL-terminated, in auth_users.text */
    size_t hash_len;
    size_t line;
};

struct auth_cache_entry {
    uint64_t tag[2];
    long long expires_ms;
    bool used;
};

/* Written by every check; see "Mutable state behind const" above. */
struct auth_scratch {
    struct crypt_data crypt;
    uint64_t key[2][2]; /* two SipHash keys, one per half of the tag */
    struct auth_cache_entry cache[AUTH_CACHE_SLOTS];
    struct auth_stats stats;
    long long ttl_ms;   /* how long a verified credential is trusted; 0: never */
};

struct auth_users {
    char *text;
    struct auth_user *users; /* sorted by name */
    size_t count;
    const char *dummy_hash; /* the first user in file order; for unknown users */
    struct auth_scratch *scratch;
};

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

static bool auth_is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
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

/* ---- base64 -------------------------------------------------------------- */

/* 0..63 for a base64 character, -1 otherwise. */
static int auth_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long auth_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    size_t o = 0;

    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        const unsigned char *q = (const unsigned char *)in + i;
        bool last = i + 4 == len;
        /* '=' may only end the last quantum: "xx==" or "xxx=" (§4). */
        size_t pad = last ? (size_t)(q[3] == '=') + (size_t)(q[3] == '=' && q[2] == '=') : 0;
        int v[4] = { 0, 0, 0, 0 };

        for (size_t k = 0; k < 4 - pad; k++) {
            v[k] = auth_b64_value(q[k]);
            if (v[k] < 0)
                return -1;
        }
        uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                        (uint32_t)v[3];
        size_t n = 3 - pad;
        /* Bits below the last byte must be zero (§3.5), so that every byte
         * string has one encoding and the cache key is canonical. */
        if ((pad == 1 && (bits & 0xff) != 0) || (pad == 2 && (bits & 0xffff) != 0))
            return -1;
        if (n > cap - o || o + n > (size_t)LONG_MAX)
            return -1;
        out[o++] = (unsigned char)(bits >> 16);
        if (n > 1)
            out[o++] = (unsigned char)(bits >> 8);
        if (n > 2)
            out[o++] = (unsigned char)bits;
    }
    return (long)o;
}

/* ---- SipHash-2-4 (Aumasson and Bernstein, 2012) -------------------------- */

static uint64_t auth_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t auth_le64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static void auth_sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = auth_rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = auth_rotl(v[0], 32);
    v[2] += v[3];
    v[3] = auth_rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = auth_rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = auth_rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = auth_rotl(v[2], 32);
}

static uint64_t auth_siphash(const uint64_t k[2], const unsigned char *m, size_t n)
{
    uint64_t v[4] = {
        k[0] ^ 0x736f6d6570736575ULL,
        k[1] ^ 0x646f72616e646f6dULL,
        k[0] ^ 0x6c7967656e657261ULL,
        k[1] ^ 0x7465646279746573ULL,
    };
    size_t whole = n - n % 8;
    uint64_t b = (uint64_t)n << 56;

    for (size_t i = 0; i < whole; i += 8) {
        uint64_t x = auth_le64(m + i);
        v[3] ^= x;
        auth_sipround(v);
        auth_sipround(v);
        v[0] ^= x;
    }
    for (size_t i = whole; i < n; i++)
        b |= (uint64_t)m[i] << (8 * (i - whole));
    v[3] ^= b;
    auth_sipround(v);
    auth_sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for (int r = 0; r < 4; r++)
        auth_sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- checking ------------------------------------------------------------ */

/* a[0..n) == b[0..n), in time that depends on n only. */
static bool auth_equal_ct(const char *a, const char *b, size_t n)
{
    volatile unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d = (unsigned char)(d | ((unsigned char)a[i] ^ (unsigned char)b[i]));
    return d == 0;
}

static const struct auth_user *auth_find(const struct auth_users *u, const char *name)
{
    size_t lo = 0, hi = u->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, u->users[mid].name);
        if (c == 0)
            return &u->users[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static struct auth_cache_entry *auth_cache_slot(struct auth_scratch *s, const char *tok,
                                                size_t len, uint64_t tag[2])
{
    tag[0] = auth_siphash(s->key[0], (const unsigned char *)tok, len);
    tag[1] = auth_siphash(s->key[1], (const unsigned char *)tok, len);
    return &s->cache[tag[0] & (AUTH_CACHE_SLOTS - 1)];
}

/* crypt the password with the user's hash (or the dummy) and compare. */
static bool auth_verify(const struct auth_users *u, const char *name, const char *password)
{
    struct auth_scratch *s = u->scratch;
    const struct auth_user *user = auth_find(u, name);
    const char *setting = user ? user->hash : u->dummy_hash;
    size_t n = strlen(setting); /* < CRYPT_OUTPUT_SIZE, checked at load */
    bool same = false;

    s->stats.crypt_calls++;
    const char *out = crypt_rn(password, setting, &s->crypt, (int)sizeof s->crypt);
    if (out) {
        /* out lies in s->crypt, which has at least CRYPT_OUTPUT_SIZE bytes
         * from out on; comparing the NUL as well rejects a longer output. */
        same = auth_equal_ct(out, setting, n + 1);
    }
    explicit_bzero(&s->crypt, sizeof s->crypt); /* phrase and output */
    return (user != NULL) & same;
}

static bool auth_check(const struct auth_users *u, const char *value, size_t len,
                       long long now_ms, bool use_cache)
{
    unsigned char cred[AUTH_CREDENTIALS_MAX_BYTES + 1];
    static const char scheme[] = "basic";
    size_t i;

    if (!u || !u->scratch || !value || len <= 5)
        return false;
    for (i = 0; i < 5; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)scheme[i])
            return false;
    }
    if (value[i] != ' ')
        return false;
    while (i < len && value[i] == ' ')
        i++;
    const char *tok = value + i;
    size_t tok_len = len - i;
    if (tok_len == 0 || tok_len > AUTH_TOKEN_MAX_BYTES)
        return false;

    long n = auth_base64_decode(tok, tok_len, cred, AUTH_CREDENTIALS_MAX_BYTES);
    if (n < 0)
        return false;
    size_t cred_len = (size_t)n, colon = cred_len;
    for (size_t k = 0; k < cred_len; k++) {
        if (auth_is_ctl(cred[k])) { /* NUL included: the strings below stay whole */
            explicit_bzero(cred, cred_len);
            return false;
        }
        if (cred[k] == ':' && colon == cred_len)
            colon = k;
    }
    if (colon == 0 || colon == cred_len) {
        explicit_bzero(cred, cred_len);
        return false;
    }
    cred[colon] = '\0';
    cred[cred_len] = '\0';

    struct auth_scratch *s = u->scratch;
    uint64_t tag[2];
    struct auth_cache_entry *e = auth_cache_slot(s, tok, tok_len, tag);
    use_cache = use_cache && s->ttl_ms > 0 && now_ms <= LLONG_MAX - s->ttl_ms;
    bool ok;
    if (use_cache && e->used && now_ms < e->expires_ms &&
        ((e->tag[0] ^ tag[0]) | (e->tag[1] ^ tag[1])) == 0) {
        s->stats.cache_hits++;
        ok = true;
    } else {
        ok = auth_verify(u, (const char *)cred, (const char *)cred + colon + 1);
        if (ok && use_cache) {
            e->tag[0] = tag[0];
            e->tag[1] = tag[1];
            e->expires_ms = now_ms + s->ttl_ms;
            e->used = true;
        }
    }
    explicit_bzero(cred, sizeof cred);
    return ok;
}

bool auth_check_basic_at(const struct auth_users *u, const char *value, size_t len,
                         long long now_ms)
{
    return auth_check(u, value, len, now_ms, true);
}

bool auth_check_basic(const struct auth_users *u, const char *value, size_t len)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        return auth_check(u, value, len, 0, false); /* no clock, no cache */
    return auth_check(u, value, len, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, true);
}
