/* upload — PUT, POST and DELETE under an upload location.
 *
 * A PUT streams its body to a temporary file in the target's directory,
 * fsyncs it and renames it over the target: a PUT that fails midway
 * (client gone, timeout, disk full, body over the limit) leaves the old
 * file intact and no temporary file behind. POST to a collection stores the
 * body under a new unique name. DELETE removes a file.
 */
#ifndef LINGERD_UPLOAD_H
#define LINGERD_UPLOAD_H

#include <stddef.h>

struct conn;
struct config_location;

/* Each answers the connection's current request for the decoded path
 * path[0..len) (starts with '/'), or starts reading its body. */
void upload_put(struct conn *c, const struct config_location *loc, const char *path, size_t len);
void upload_post(struct conn *c, const struct config_location *loc, const char *path, size_t len);
void upload_delete(struct conn *c, const struct config_location *loc, const char *path,
                   size_t len);

/* Names the server keeps for itself: an upload's temporary file is named
 * ".lingerd-put-..." beside its target for the moment before its rename.
 * Uploads may not create such names and GET never serves them. */
#define UPLOAD_RESERVED_PREFIX ".lingerd-"

/* Check rel[0..len), a path relative to the root (names separated by single
 * '/', none leading or trailing), for names an upload may create, replace or
 * delete. Pure. 0; 400 for an empty, ".", ".." or over-long (NAME_MAX) name
 * or a control byte (< 0x20, 0x7F); 403 for a name starting with
 * ".lingerd-" (reserved for the server's temporary files). */
int upload_check_path(const char *rel, size_t len);

#endif
