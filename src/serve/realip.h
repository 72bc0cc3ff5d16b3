/* realip — the client address an HTTP balancer names in X-Forwarded-For or
 * X-Real-IP, for balancers that cannot send a PROXY header. Pure: no I/O, no
 * allocation; the field values come as slices of the request's buffer.
 *
 * X-Forwarded-For is read as nginx's realip module reads it with
 * real_ip_recursive on: from the right (the hop nearest to us) to the left,
 * skipping every address in the trusted list; the first one not in it is
 * the client. If every address is trusted, the left-most is taken. Several
 * field lines count as one list, in order (RFC 9110 §5.3). An element that
 * is not an IPv4 or IPv6 address (a port, "unknown", an obfuscated node of
 * RFC 7239) makes the whole field unusable: it is not believed in part.
 *
 * Not here: whether the connection's own address is a trusted balancer
 * (the caller checks real_ip_from first), the Forwarded field (RFC 7239).
 */
#ifndef LINGERD_REALIP_H
#define LINGERD_REALIP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum realip_rc {
    REALIP_NONE,    /* no address in the field(s) */
    REALIP_FOUND,   /* *family (4 or 6) and addr hold the client */
    REALIP_INVALID, /* an element is not an address: keep the connection's */
};

/* One field line's value (OWS already trimmed). */
struct realip_value {
    const char *text;
    size_t len;
};

/* X-Forwarded-For: values[0..n) in the order they arrived. */
enum realip_rc realip_forwarded_for(const struct realip_value *values, size_t n,
                                    const struct config_cidr *trusted, size_t trusted_count,
                                    int *family, uint8_t addr[16]);

/* X-Real-IP: exactly one address. */
enum realip_rc realip_real_ip(const char *text, size_t len, int *family, uint8_t addr[16]);

#endif
