/* proxy_addr — the addresses of proxy_pass: "127.0.0.1:8000", "[::1]:8000",
 * "app.internal:8000", "unix:/run/app.sock", a comma-separated list of them.
 *
 * Two steps. The syntax (proxy_addr_parse, proxy_addr_check_list) is pure
 * and runs when the directive is set: a host name must be RFC 1123 letters,
 * digits, hyphens and dots before anything asks a resolver about it. The
 * resolution (proxy_addr_resolve_list) calls getaddrinfo, which blocks: it
 * runs only while a configuration is finished (config_finish: `lingerd -t`,
 * the start and every reload, in the master before workers fork), never on
 * a worker's loop. Workers get the resolved list with their configuration.
 */
#ifndef LINGERD_PROXY_ADDR_H
#define LINGERD_PROXY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define PROXY_ADDR_MAX 32       /* upstreams in one proxy_pass, after resolution */
#define PROXY_HOST_NAME_MAX 253 /* RFC 1123 host name, without a trailing dot */
/* "name(numeric)" for a resolved address: the name, "(", "[IPv6]:PORT", ")". */
#define PROXY_ADDR_NAME_MAX (PROXY_HOST_NAME_MAX + 1 + 56 + 2)

/* One address as written: numeric (addr set) or a host name still to be
 * resolved (host set, addr holds only the port). */
struct proxy_addr_text {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    bool is_name;
    unsigned short port;
    char host[PROXY_HOST_NAME_MAX + 2]; /* is_name: the name, NUL-terminated */
};

/* One upstream after resolution: its address and how logs and /metrics
 * name it ("127.0.0.1:8000" as written, "unix:/path", or for a host name
 * "app.internal(10.0.0.5:8000)"). */
struct proxy_addr {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char name[PROXY_ADDR_NAME_MAX];
};

/* Every upstream of one proxy_pass value, shared by the locations that
 * inherit the same value (refs counts them). */
struct proxy_addr_list {
    unsigned refs;
    size_t count;
    struct proxy_addr v[PROXY_ADDR_MAX];
};

/* Parse one address text[0..len) (syntax only, no resolution). 0, or -1
 * with err set. */
int proxy_addr_parse(const char *text, size_t len, struct proxy_addr_text *out, char *err,
                     size_t errlen);

/* The directive's check: every address of the list parses, at most
 * PROXY_ADDR_MAX of them. 0, or -1 with err set. */
int proxy_addr_check_list(const char *value, char *err, size_t errlen);

/* Resolve a checked list: numeric addresses as written, each host name to
 * every address getaddrinfo gives (IPv4 and IPv6, duplicates removed), in
 * its order. Blocks. 0 with *out (refs 1), or -1 with err set (the name and
 * gai_strerror's reason; more than PROXY_ADDR_MAX addresses in all). */
int proxy_addr_resolve_list(const char *value, struct proxy_addr_list **out, char *err,
                            size_t errlen);

/* Drop one reference; the last frees the list. NULL is a no-op. */
void proxy_addr_list_release(struct proxy_addr_list *list);

#endif
