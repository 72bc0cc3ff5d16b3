/* errorpage — error_page: a site's own page for an error status.
 *
 * The page is a file beneath the site's root, opened directly (an internal
 * lookup, as nginx's error_page with a local URI, but without a second
 * routing): no location, return, fallback, range or condition applies, so
 * an error page can never lead to another error page, and a client cannot
 * turn a 404 into a 304 or a 206. The status stays the original one; the
 * fields that status needs (Allow, WWW-Authenticate, Retry-After, ...) come
 * along; validators do not, since the page is not the requested resource.
 * Anything that goes wrong (the file is missing, not regular, unreadable,
 * no descriptor left) declines, and the caller sends the built-in page.
 *
 * Not here: the close. conn_resp_error has already decided it (a 413 for a
 * refused upload still ends through the lingering close).
 */
#include "errorpage.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "mime.h"
#include "server.h"
#include "static.h"

bool errorpage_answer(struct conn *c, const struct config_location *loc, int status,
                      const char *extra)
{
    const struct config_error_pages *p = &loc->error_pages;
    const char *uri = NULL;
    struct server *srv = conn_server(c);
    struct stat st;

    for (size_t i = 0; i < p->n && !uri; i++)
        if (p->status[i] == status)
            uri = p->uri[i];
    if (!uri)
        return false;
    /* O_NONBLOCK: a FIFO put where the page should be must not block the
     * worker in open(2); a regular file ignores the flag */
    int fd = static_open_beneath(server_site_of(srv, loc)->root_fd, uri + 1,
                                 O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return false;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return false;
    }
    const char *type = mime_lookup_or(srv->mime, uri, strlen(uri), loc->default_type);
    conn_resp_begin(c, status);
    conn_resp_field(c, "Content-Type", type, strlen(type));
    if (extra)
        conn_resp_raw(c, extra, strlen(extra));
    conn_resp_end(c, (int64_t)st.st_size);
    conn_resp_file(c, fd, 0, (uint64_t)st.st_size);
    return true;
}
