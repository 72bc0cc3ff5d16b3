/* vhost — which server block answers a request, by its Host.
 *
 * Pure: no I/O, no clock, no globals. The table is built once from the
 * configuration (config_finish) and only read per request. A name is an
 * exact host ("a.example") or a leading wildcard ("*.example", which covers
 * one or more labels in front of ".example" but not "example" itself).
 * Selection: the exact name, else the longest wildcard suffix, else the
 * table's default server. Comparison is case-insensitive; one trailing dot
 * of the request's host is ignored, and so is its port (vhost_select takes
 * the name without it, vhost_normalize strips it).
 */
#ifndef LINGERD_VHOST_H
#define LINGERD_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VHOST_NAME_MAX 255 /* a DNS name's limit (RFC 1035 §2.3.4) */

struct vhost_table;

/* The host part of host[0..len) ("Name.Example.:8080", "[::1]:80"), lower
 * case, without its port and one trailing dot, into out[0..cap). Returns its
 * length; 0 for an empty host or one longer than cap. host is taken as
 * already checked against the uri-host grammar (http1.c does). */
size_t vhost_normalize(const char *host, size_t len, char *out, size_t cap);

/* A server_name as configured: an exact name or "*." followed by one, made
 * of letters, digits, '-', '_' and '.', or an IP literal in brackets; no
 * empty label, at most VHOST_NAME_MAX bytes. 0, or -1 with the reason. */
int vhost_name_check(const char *name, char *err, size_t errlen);

/* An empty table whose unknown hosts go to server default_server. NULL with
 * errno set. The caller frees it with vhost_table_free. */
struct vhost_table *vhost_table_new(uint32_t default_server);
void vhost_table_free(struct vhost_table *t);

/* Add name (checked by vhost_name_check) for server. 0; -EEXIST when the
 * same name (after normalising) is already there, *owner then says whose;
 * -EINVAL for a bad name; -ENOMEM. Call vhost_table_seal before selecting. */
int vhost_table_add(struct vhost_table *t, const char *name, uint32_t server, uint32_t *owner);

/* Index the names for lookup; the table is read-only afterwards. 0 or
 * -ENOMEM. */
int vhost_table_seal(struct vhost_table *t);

/* The server for the request's host name[0..len): the Host field or the
 * absolute-form authority without its ":port" (http1.c gives its length);
 * len 0: none. One trailing dot is ignored. A probe of the exact names,
 * then, only if none matches, one per dot for wildcards; no copy. */
uint32_t vhost_select(const struct vhost_table *t, const char *name, size_t len);

#endif
