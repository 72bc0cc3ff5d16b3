/* errorpage — error_page: a site's own page for an error status.
 *
 * The connection calls it (through server.error_page) for every error
 * response of a routed request; it serves the configured file of the
 * site with the original status, or declines and the built-in page goes.
 */
#ifndef LINGERD_ERRORPAGE_H
#define LINGERD_ERRORPAGE_H

#include <stdbool.h>

struct conn;
struct config_location;

/* Answer status with loc's error page for it, adding the extra header
 * lines (Allow, WWW-Authenticate, Location, ...). false, with nothing
 * queued, when loc has no page for status or the page cannot be served. */
bool errorpage_answer(struct conn *c, const struct config_location *loc, int status,
                      const char *extra);

#endif
