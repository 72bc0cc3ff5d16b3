/* auth — HTTP Basic authentication (RFC 7617): checking a credential against
 * the users of an htpasswd file (auth_users.c reads the file).
 *
 * Leaves out: other auth schemes (Digest, Bearer), realms and the 401
 * response (the caller sends WWW-Authenticate), reading the file.
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
 */
#include "auth_internal.h"

#include <limits.h>
#include <string.h>
#include <time.h>

/* Decoded "user:password". Browsers never come close; bcrypt reads 72 bytes. */
#define AUTH_CREDENTIALS_MAX_BYTES 1024u
#define AUTH_TOKEN_MAX_BYTES ((AUTH_CREDENTIALS_MAX_BYTES + 2) / 3 * 4)

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
