/* httpdate — HTTP-date formatting and parsing (RFC 9110 §5.6.7).
 *
 * Pure: no I/O, no clock, no locale.
 */
#ifndef LINGERD_HTTPDATE_H
#define LINGERD_HTTPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define HTTPDATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Write t as IMF-fixdate into out[0..HTTPDATE_LEN] (NUL-terminated). */
void httpdate_format(time_t t, char out[HTTPDATE_LEN + 1]);

/* Parse s[0..len) in any of the three formats a recipient must accept:
 * IMF-fixdate, RFC 850 (two-digit year), asctime. True and *t on success;
 * false for anything else (callers then ignore the field, §13.1.3). */
bool httpdate_parse(const char *s, size_t len, time_t *t);

#endif
