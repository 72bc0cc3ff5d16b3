/* auth_internal — what auth.c (checking) and auth_users.c (the htpasswd
 * file) share: struct auth_users and the cache behind it. Private to auth*.c:
 * the rest of the server uses auth.h.
 */
#ifndef LINGERD_AUTH_INTERNAL_H
#define LINGERD_AUTH_INTERNAL_H

#include <assert.h>
#include <crypt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define AUTH_CACHE_SLOTS 64u
#define AUTH_CACHE_TTL_DEFAULT_MS 60000LL /* auth_cache_time's default */
static_assert((AUTH_CACHE_SLOTS & (AUTH_CACHE_SLOTS - 1)) == 0, "slots: a power of two");

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

/* Written by every check; see "Mutable state behind const" in auth.c. */
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

/* Control characters: refused in user names (RFC 7617 §2) and in decoded
 * credentials. */
static inline bool auth_is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

#endif
