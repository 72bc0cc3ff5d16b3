/* mime — media type of a file name by its extension.
 *
 * A built-in table covers the common types; mime_table_load adds or
 * overrides entries from text in /etc/mime.types format. Lookups do not
 * allocate.
 */
#ifndef LINGERD_MIME_H
#define LINGERD_MIME_H

#include <stddef.h>

struct mime_table;

/* A table holding the built-in types. NULL with errno set on failure.
 * The caller owns it and frees it with mime_table_free. */
struct mime_table *mime_table_new(void);
void mime_table_free(struct mime_table *t);

/* Add the entries of a mime.types text ("type ext ext ...", '#' comments).
 * Later entries override earlier ones. Returns 0 or -ENOMEM. */
int mime_table_load(struct mime_table *t, const char *text, size_t len);

/* Read a mime.types file and load it. Returns 0, or -errno (the table is
 * unchanged if the file cannot be read). */
int mime_table_load_file(struct mime_table *t, const char *path);

/* Media type for name[0..len) by its last extension, case-insensitive;
 * "application/octet-stream" when unknown. The string lives as long as t. */
const char *mime_lookup(const struct mime_table *t, const char *name, size_t len);
/* The same, with unknown for an extension the table does not have (default_type). */
const char *mime_lookup_or(const struct mime_table *t, const char *name, size_t len,
                           const char *unknown);

#endif
