/* tls_tickets — the shared session ticket keys (see tls_tickets.h).
 *
 * One writer (the master's loop), many readers (workers, each one thread).
 * A sequence counter guards the two keys (a seqlock): the writer makes it
 * odd, writes, makes it even again; a reader copies the keys between two
 * reads of an even, unchanged counter, else copies again. The keys are
 * stored as 64-bit words read and written with relaxed atomics, so a copy
 * torn by a rotation is a retried copy, never a data race. Readers never
 * block the master and the master never waits for a reader.
 *
 * Not here: when to rotate (the master's timer) and what OpenSSL does
 * with a key (tls_store.c).
 */
#include "tls_tickets.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define TLS_TICKETS_WORDS (sizeof(struct tls_ticket_key) / sizeof(uint64_t))
/* A reader that sees this many rotations in progress gives up for this
 * handshake: a rotation is a few stores, so it never happens in practice. */
#define TLS_TICKETS_READ_TRIES 1000

static_assert(sizeof(struct tls_ticket_key) % sizeof(uint64_t) == 0, "keys are whole words");

struct tls_tickets {
    uint64_t seq;                              /* odd while the master writes */
    uint64_t rotations;
    uint64_t has_previous;                     /* 0 until the first rotation */
    uint64_t current[TLS_TICKETS_WORDS];
    uint64_t previous[TLS_TICKETS_WORDS];
};

static void tls_tickets_store(uint64_t *dst, const struct tls_ticket_key *key)
{
    uint64_t w[TLS_TICKETS_WORDS];

    memcpy(w, key, sizeof w);
    for (size_t i = 0; i < TLS_TICKETS_WORDS; i++)
        __atomic_store_n(&dst[i], w[i], __ATOMIC_RELAXED);
    OPENSSL_cleanse(w, sizeof w);
}

static void tls_tickets_load(const uint64_t *src, struct tls_ticket_key *key)
{
    uint64_t w[TLS_TICKETS_WORDS];

    for (size_t i = 0; i < TLS_TICKETS_WORDS; i++)
        w[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    memcpy(key, w, sizeof w);
    OPENSSL_cleanse(w, sizeof w);
}

static int tls_tickets_make_key(struct tls_ticket_key *key)
{
    return RAND_bytes((unsigned char *)key, (int)sizeof *key) == 1 ? 0 : -EIO;
}

struct tls_tickets *tls_tickets_new(void)
{
    struct tls_ticket_key key;
    struct tls_tickets *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (t == MAP_FAILED)
        return NULL;
    if (tls_tickets_make_key(&key) < 0) {
        munmap(t, sizeof *t);
        errno = EIO;
        return NULL;
    }
    tls_tickets_store(t->current, &key); /* the mapping starts zeroed: seq 0, no previous */
    OPENSSL_cleanse(&key, sizeof key);
    return t;
}

void tls_tickets_free(struct tls_tickets *t)
{
    if (!t)
        return;
    OPENSSL_cleanse(t, sizeof *t);
    munmap(t, sizeof *t);
}

int tls_tickets_rotate(struct tls_tickets *t)
{
    struct tls_ticket_key fresh, old;

    if (tls_tickets_make_key(&fresh) < 0)
        return -EIO;
    tls_tickets_load(t->current, &old); /* only this process writes: no race */
    __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE); /* odd before any key word changes */
    tls_tickets_store(t->previous, &old);
    tls_tickets_store(t->current, &fresh);
    __atomic_store_n(&t->has_previous, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&t->rotations, t->rotations + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELEASE); /* even: the keys are whole */
    OPENSSL_cleanse(&fresh, sizeof fresh);
    OPENSSL_cleanse(&old, sizeof old);
    return 0;
}

/* Copy both keys consistently. false after TLS_TICKETS_READ_TRIES torn copies. */
static bool tls_tickets_read(const struct tls_tickets *t, struct tls_ticket_key *current,
                             struct tls_ticket_key *previous, bool *has_previous)
{
    for (int i = 0; i < TLS_TICKETS_READ_TRIES; i++) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1)
            continue;
        tls_tickets_load(t->current, current);
        if (previous)
            tls_tickets_load(t->previous, previous);
        *has_previous = __atomic_load_n(&t->has_previous, __ATOMIC_RELAXED) != 0;
        __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the copies before the second look */
        if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1)
            return true;
    }
    return false;
}

bool tls_tickets_current(const struct tls_tickets *t, struct tls_ticket_key *out)
{
    bool has_previous;

    return tls_tickets_read(t, out, NULL, &has_previous);
}

int tls_tickets_find(const struct tls_tickets *t, const unsigned char *name,
                     struct tls_ticket_key *out)
{
    struct tls_ticket_key current, previous;
    bool has_previous;
    int rc = 0;

    if (!tls_tickets_read(t, &current, &previous, &has_previous))
        return 0;
    /* names are random, not secret: a plain comparison leaks nothing */
    if (memcmp(current.name, name, TLS_TICKETS_NAME_LEN) == 0) {
        *out = current;
        rc = 1;
    } else if (has_previous && memcmp(previous.name, name, TLS_TICKETS_NAME_LEN) == 0) {
        *out = previous;
        rc = 2;
    }
    OPENSSL_cleanse(&current, sizeof current);
    OPENSSL_cleanse(&previous, sizeof previous);
    return rc;
}

uint64_t tls_tickets_rotations(const struct tls_tickets *t)
{
    return __atomic_load_n(&t->rotations, __ATOMIC_RELAXED);
}
