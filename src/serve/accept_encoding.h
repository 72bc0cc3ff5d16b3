/* accept_encoding — which content coding a client accepts (RFC 9110 §12.5.3).
 *
 * Pure: no I/O, no allocation, no globals. A request may carry several
 * Accept-Encoding field lines; they are one list (RFC 9110 §5.3), so each is
 * fed with accept_encoding_add and the verdict read after the last one.
 */
#ifndef LINGERD_ACCEPT_ENCODING_H
#define LINGERD_ACCEPT_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The codings lingerd can send, in the server's order of preference when
 * the client weighs two the same: smallest output first. */
enum accept_coding {
    ACCEPT_BR,
    ACCEPT_GZIP,
    ACCEPT_IDENTITY,
    ACCEPT_CODING_COUNT
};

/* "br", "gzip", "identity". */
const char *accept_coding_name(enum accept_coding c);

/* The parsed field: a weight in thousandths (0..1000) per coding the list
 * named, and for "*". Members that break the grammar are ignored, so a
 * malformed list makes nothing acceptable that it did not clearly name. */
struct accept_encoding {
    bool present;                          /* some field line was added */
    bool named[ACCEPT_CODING_COUNT];       /* listed explicitly */
    uint16_t q[ACCEPT_CODING_COUNT];       /* weight when named */
    bool star;                             /* "*" listed */
    uint16_t star_q;
};

/* Start with no Accept-Encoding field at all. */
void accept_encoding_init(struct accept_encoding *ae);

/* Add one field line's value value[0..len) (any bytes). The first mention
 * of a coding wins over later ones; "x-gzip" counts as "gzip" (§8.4.1.3). */
void accept_encoding_add(struct accept_encoding *ae, const char *value, size_t len);

/* The weight (0..1000) the client gives coding c. No field: identity 1000,
 * the others 0 (lingerd sends identity to clients that do not ask; RFC 9110
 * allows any coding then, but a client that said nothing may not decode).
 * A field that names neither identity nor "*" leaves identity acceptable
 * with the least weight, 1: a client listing codings prefers them. Identity
 * is refused only by "identity;q=0", or "*;q=0" without an identity member. */
uint16_t accept_encoding_weight(const struct accept_encoding *ae, enum accept_coding c);

/* The coding to send among those offered (bit 1u << coding; identity is
 * always available): the highest weight above 0, ties to the server's
 * order. When the client refuses everything offered, identity anyway
 * (RFC 9110 §12.5.3 lets the server ignore the field rather than fail). */
enum accept_coding accept_encoding_choose(const struct accept_encoding *ae, unsigned offered);

#endif
