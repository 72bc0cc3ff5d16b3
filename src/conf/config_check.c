/* config_check — the checks of single string values that some rows of the
 * directive table name in their .check: a media type, a URL path, a
 * cipher list. Each is pure: 0, or -1 with the reason in err.
 *
 * Leaves out: values checked by their type (config_value.c,
 * config_compound.c) and checks that need more than the value (config.c).
 */
#include "config_table.h"

#include <stdio.h>
#include <string.h>

#include "http1.h"

/* gzip_types: "type/subtype", a whole type ("text/" then a star) or "*". */
int config_check_media_type(const char *value, char *err, size_t errlen)
{
    const char *slash = strchr(value, '/');
    if (strcmp(value, "*") == 0)
        return 0;
    if (!slash || slash == value || slash[1] == '\0' || strchr(slash + 1, '/')) {
        snprintf(err, errlen, "expected a media type like text/css, text/* or *");
        return -1;
    }
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (p != slash && !http1_is_token(p, 1)) { /* type and subtype are tokens */
            snprintf(err, errlen, "'%c' cannot appear in a media type",
                     c > ' ' && c < 0x7f ? c : '?');
            return -1;
        }
    }
    return 0;
}

/* status_path, metrics_path: a path to match exactly, or "" for off. */
int config_check_url_path(const char *value, char *err, size_t errlen)
{
    if (value[0] != '\0' && value[0] != '/') {
        snprintf(err, errlen, "must start with '/' (or be \"\" for off)");
        return -1;
    }
    for (const char *p = value; *p; p++) {
        if (*p == '?' || *p == '%' || *p == '#' || (unsigned char)*p <= ' ') {
            snprintf(err, errlen, "must be a plain path, without '%c'", *p > ' ' ? *p : ' ');
            return -1;
        }
    }
    return 0;
}

/* default_type: a media type, type "/" subtype, both tokens (RFC 9110
 * §8.3.1), with optional parameters as written after ';'. */
int config_check_default_type(const char *value, char *err, size_t errlen)
{
    const char *slash = strchr(value, '/');
    const char *end = slash ? slash + strcspn(slash, ";") : value;

    if (!slash || !http1_is_token(value, (size_t)(slash - value))
        || !http1_is_token(slash + 1, (size_t)(end - slash - 1))) {
        snprintf(err, errlen, "a media type is type/subtype, both tokens, like text/plain");
        return -1;
    }
    if (!http1_is_field_value(value, strlen(value))) {
        snprintf(err, errlen, "a field value has visible characters, spaces and tabs only");
        return -1;
    }
    return 0;
}

/* fallback: a path under the root, as a request would name it decoded. */
int config_check_fallback(const char *value, char *err, size_t errlen)
{
    if (value[0] != '/') {
        snprintf(err, errlen, "must start with '/'");
        return -1;
    }
    return config_check_url_path(value, err, errlen);
}

/* tls_ciphers, tls_ciphersuites: OpenSSL's list syntax. Whether a name is a
 * cipher OpenSSL knows is checked when the contexts are built (tls_store.c),
 * which keeps OpenSSL out of the table; this only refuses what cannot be a
 * list (spaces, quotes), so a typo is caught with its FILE:LINE. */
int config_check_cipher_list(const char *value, char *err, size_t errlen)
{
    if (value[0] == '\0') {
        snprintf(err, errlen, "an empty list enables nothing");
        return -1;
    }
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || strchr(":+-!@=_.,", c))) {
            snprintf(err, errlen, "'%c' cannot appear in an OpenSSL cipher list",
                     c >= ' ' && c < 0x7f ? c : '?');
            return -1;
        }
    }
    return 0;
}
