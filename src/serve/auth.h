/* auth — HTTP Basic authentication (RFC 7617) against an htpasswd file.
 *
 * Passwords are checked with crypt(3) from libxcrypt. Only strong schemes
 * are accepted: bcrypt ($2y$, $2b$, $2a$), SHA-512 ($6$), yescrypt ($y$).
 * Plaintext, DES crypt, MD5 ($1$, $apr1$), {SHA} and SHA-256 ($5$) entries
 * are refused when the file is loaded, with the line number, never silently.
 *
 * A struct auth_users is used by one thread at a time: checking a password
 * writes to scratch space and a small cache of recently verified credentials
 * that live behind it (see auth.c).
 */
#ifndef LINGERD_AUTH_H
#define LINGERD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct auth_users;

/* Parse htpasswd text ("user:hash" per line, '#' comments, blank lines).
 * Returns the users, or NULL with a message in err ("line 3: ...") for the
 * first bad line. The caller owns the result (auth_users_free). */
struct auth_users *auth_users_parse(const char *text, size_t len, char *err, size_t errlen);

/* Read and parse an htpasswd file. NULL with a message in err naming the
 * file (and line) on failure. */
struct auth_users *auth_users_load(const char *path, char *err, size_t errlen);

void auth_users_free(struct auth_users *u);

/* How long a verified credential skips crypt(3) (auth_cache_time; 60 s
 * until set); 0 checks every request with crypt(3). */
void auth_users_set_cache_time(struct auth_users *u, long long ms);

/* Number of users loaded. */
size_t auth_users_count(const struct auth_users *u);

/* Check an Authorization field value value[0..len), e.g. "Basic dGVzdDp0ZXN0".
 * The scheme is case-insensitive. True only for a known user with the right
 * password. Unknown users cost as much as known ones (a dummy hash is
 * checked), and hashes are compared without early exit. */
bool auth_check_basic(const struct auth_users *u, const char *value, size_t len);

/* auth_check_basic with the time given: now_ms is CLOCK_MONOTONIC in ms (the
 * loop's cached clock). Credentials verified in the last 60 s are remembered
 * and skip crypt(3); tests drive expiry through now_ms. */
bool auth_check_basic_at(const struct auth_users *u, const char *value, size_t len,
                         long long now_ms);

/* Counters for /server-status, since the last auth_users_parse. */
struct auth_stats {
    unsigned long long crypt_calls; /* crypt(3) runs, unknown users included */
    unsigned long long cache_hits;  /* checks answered by the cache */
};

void auth_users_stats(const struct auth_users *u, struct auth_stats *st);

/* Decode standard base64 (RFC 4648 §4, padding required) from in[0..len)
 * into out[0..cap). Returns the decoded length, or -1 if the input is not
 * valid base64 or does not fit. */
long auth_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

#endif
