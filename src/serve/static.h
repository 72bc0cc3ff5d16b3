/* static — GET and HEAD of files beneath the document root, with
 * validators, conditional requests and ranges (RFC 9110 §8.8, §13, §14). */
#ifndef LINGERD_STATIC_H
#define LINGERD_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct conn;
struct config_location;
struct http1_request;

/* Answer a GET or HEAD of the decoded path[0..len) (starts with '/'). */
void static_get(struct conn *c, const struct config_location *loc, const char *path,
                size_t len);

/* Open rel (relative, no leading '/') beneath dirfd; nothing may resolve
 * outside it. flags as for open(2); O_CLOEXEC is added. fd or -errno. */
int static_open_beneath(int dirfd, const char *rel, int flags);

/* The HTTP status for an errno from opening a path (404, 403, 503 when out
 * of descriptors or memory, 500). */
int static_status_for_errno(int err);

/* Strong ETag "\"mtime_sec.mtime_nsec-size\"" in hex; returns its length. */
size_t static_format_etag(const struct stat *st, char *out, size_t cap);

/* Does an If-Match/If-None-Match list match etag? weak: W/ ignored. */
bool static_etag_matches(const char *list, size_t len, const char *etag, size_t etag_len,
                         bool weak);

/* RFC 9110 §13.2.2 for a representation with st/etag (exists=false when
 * there is none yet, as for a PUT that creates). 0 to go on, or 304/412. */
int static_check_preconditions(const struct http1_request *req, const char *buf,
                               const struct stat *st, const char *etag, size_t etag_len,
                               bool exists);

#endif
