/* tls_tickets — session ticket keys shared by every worker of one master.
 *
 * A client resumes a TLS session by handing back a ticket the server
 * encrypted earlier. Any worker may get the client next time, so every
 * worker must hold the same keys: they live in a small shared mapping the
 * master makes before it forks (and keeps across reloads, so new workers
 * open the old workers' tickets). The master alone writes: it makes a new
 * current key every tls_ticket_key_rotation and keeps the one before it,
 * which still opens tickets. Workers only read, without a lock.
 */
#ifndef LINGERD_TLS_TICKETS_H
#define LINGERD_TLS_TICKETS_H

#include <stdbool.h>
#include <stdint.h>

#define TLS_TICKETS_NAME_LEN 16 /* the ticket's key_name field (RFC 5077 4) */

/* One key: its name (random; it tells which key sealed a ticket), an
 * AES-256-CBC key and an HMAC-SHA256 key. */
struct tls_ticket_key {
    unsigned char name[TLS_TICKETS_NAME_LEN];
    unsigned char aes_key[32];
    unsigned char hmac_key[32];
};

struct tls_tickets;

/* A shared mapping (MAP_SHARED|MAP_ANONYMOUS: children forked later see
 * it) holding a fresh random current key and no previous key. NULL with
 * errno set (EIO: the random generator failed). Freed by tls_tickets_free
 * in the process that made it; forked children just exit. */
struct tls_tickets *tls_tickets_new(void);
void tls_tickets_free(struct tls_tickets *t);

/* Master only: the current key becomes the previous one (the older one is
 * wiped) and a fresh random key becomes current. 0, or -EIO if the random
 * generator failed (the keys stay as they were). */
int tls_tickets_rotate(struct tls_tickets *t);

/* The key that seals new tickets. false only if a rotation kept the reader
 * out too long (bounded retries): then no ticket is issued this time. */
bool tls_tickets_current(const struct tls_tickets *t, struct tls_ticket_key *out);

/* The key named name, current or previous. 1: it is the current key;
 * 2: the previous key (the ticket should be renewed); 0: unknown name
 * (expired or foreign ticket: a full handshake follows). */
int tls_tickets_find(const struct tls_tickets *t, const unsigned char *name,
                     struct tls_ticket_key *out);

/* Rotations so far (0 after new), for tests and the status page. */
uint64_t tls_tickets_rotations(const struct tls_tickets *t);

#endif
