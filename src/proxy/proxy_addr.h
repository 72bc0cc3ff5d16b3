/* proxy_addr — the addresses of proxy_pass: "127.0.0.1:8000", "[::1]:8000",
 * "unix:/run/app.sock", a comma-separated list of them.
 *
 * Pure: no I/O. Numeric addresses only: resolving a name would block the
 * loop, or fix at startup an address that the name later leaves.
 */
#ifndef LINGERD_PROXY_ADDR_H
#define LINGERD_PROXY_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXY_ADDR_MAX 32 /* upstreams in one proxy_pass */

/* Parse one address text[0..len) into *addr. 0, or -1 with err set. */
int proxy_addr_parse(const char *text, size_t len, struct sockaddr_storage *addr,
                     socklen_t *addr_len, char *err, size_t errlen);

/* The directive's check: every address of the list parses, at most
 * PROXY_ADDR_MAX of them. 0, or -1 with err set. */
int proxy_addr_check_list(const char *value, char *err, size_t errlen);

#endif
