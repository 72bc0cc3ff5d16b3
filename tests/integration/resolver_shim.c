/* resolver_shim — test-only LD_PRELOAD library: host names whose addresses
 * the test chooses, and a record of who asked.
 *
 * Built by tests/integration/test_proxy_names.py (cc -shared); never part of
 * the server. It wraps getaddrinfo:
 *
 *   LINGERD_RESOLVER_HOSTS=FILE  lines "NAME ADDR..." (numeric addresses):
 *                                a lookup of NAME answers those addresses,
 *                                in that order, repeats kept (the server must
 *                                remove them); "NAME" alone is a name that
 *                                does not resolve (EAI_NONAME). The file is
 *                                read at each call, so a test changes what a
 *                                name resolves to between two reloads. Other
 *                                names go to the real getaddrinfo.
 *   LINGERD_RESOLVER_LOG=FILE    one line "PID NAME" appended per call, so a
 *                                test sees which process resolved (the
 *                                master, never a worker).
 *
 * Each address is answered by the real getaddrinfo (numeric, no lookup) and
 * the answers are chained: glibc's freeaddrinfo frees node by node.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*real_getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
                                   struct addrinfo **);

static void note_call(const char *node)
{
    const char *path = getenv("LINGERD_RESOLVER_LOG");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    fprintf(f, "%ld %s\n", (long)getpid(), node ? node : "(null)");
    fclose(f);
}

/* The addresses the hosts file gives node: a line copied into line, its
 * first word node; NULL when node is not in the file. */
static char *hosts_entry(const char *node, char *line, size_t cap)
{
    const char *path = getenv("LINGERD_RESOLVER_HOSTS");
    if (!path || !*path || !node)
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *found = NULL;
    size_t nlen = strlen(node);
    while (!found && fgets(line, (int)cap, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, node, nlen) == 0 && (line[nlen] == ' ' || line[nlen] == '\0'))
            found = line + nlen;
    }
    fclose(f);
    return found;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    real_getaddrinfo_fn real = (real_getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    note_call(node);
    char line[1024];
    char *addrs = hosts_entry(node, line, sizeof line);
    if (!addrs)
        return real(node, service, hints, res);
    struct addrinfo numeric = { .ai_flags = AI_NUMERICHOST };
    if (hints) {
        numeric.ai_family = hints->ai_family;
        numeric.ai_socktype = hints->ai_socktype;
        numeric.ai_protocol = hints->ai_protocol;
    }
    struct addrinfo *head = NULL, **tail = &head;
    char *save = NULL;
    for (char *a = strtok_r(addrs, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        struct addrinfo *one = NULL;
        if (real(a, service, &numeric, &one) != 0)
            continue;
        *tail = one;
        while (*tail)
            tail = &(*tail)->ai_next;
    }
    if (!head)
        return EAI_NONAME;
    *res = head;
    return 0;
}
