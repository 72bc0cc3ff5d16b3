/* config_directive — what a row of the directive table says beyond its
 * fields: where it may be written, its bit in a set_mask, whether it adds
 * up, what its value owns; and the names of the value types.
 *
 * Leaves out: the rows themselves (config_table.c) and storing a value
 * (config_value.c).
 */
#include "config_table.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

const struct config_type_info config_types[] = {
    [CONFIG_T_DURATION] = { "duration", "DURATION", "a duration like 500ms, 2s, 1m", 1, 1 },
    [CONFIG_T_DURATION_OFF] = { "duration", "off|DURATION",
                                "off or a duration like 500ms, 2s, 1m", 1, 1 },
    [CONFIG_T_SIZE] = { "size", "SIZE", "a size like 512, 8k, 1m, 1g", 1, 1 },
    [CONFIG_T_NUMBER] = { "number", "N", "a whole number like 100", 1, 1 },
    [CONFIG_T_BOOL] = { "boolean", "on|off", "on or off", 1, 1 },
    [CONFIG_T_STRING] = { "string", "STRING", "a string", 1, 1 },
    [CONFIG_T_PATH] = { "path", "PATH", "a non-empty path", 1, 1 },
    [CONFIG_T_ENUM] = { "keyword", NULL, NULL, 1, 1 },
    [CONFIG_T_METHODS] = { "method list", "METHOD...",
                           "method names: GET HEAD POST PUT DELETE OPTIONS TRACE CONNECT PATCH",
                           1, CONFIG_WORDS_MAX },
    [CONFIG_T_LISTEN] = { "address", "ADDR:PORT [backlog=N] [tls] [proxy_protocol]",
                          "an address like 127.0.0.1:8080, [::1]:8080, *:8080 or 8080", 1, 4 },
    [CONFIG_T_PATTERN] = { "regex list", "REGEX...", "an extended regular expression", 1,
                           CONFIG_PATTERN_MAX },
    [CONFIG_T_MODE] = { "octal mode", "MODE", "an octal mode like 0644", 1, 1 },
    [CONFIG_T_CIDRS] = { "address list", "CIDR...",
                         "addresses or networks like 127.0.0.0/8, ::1, 10.0.0.0/8",
                         1, CONFIG_CIDR_MAX },
    [CONFIG_T_KEYWORDS] = { "keyword list", NULL, NULL, 1, CONFIG_WORDS_MAX },
    [CONFIG_T_CERTS] = { "certificate and key", "CERT.pem KEY.pem",
                         "a certificate file and its key file", 2, 2 },
    [CONFIG_T_NAMES] = { "host names", "NAME...",
                         "host names like a.example, *.example or [::1]", 1,
                         CONFIG_SERVER_NAMES_MAX },
    [CONFIG_T_HEADER] = { "response field", "NAME VALUE [always]",
                          "a field name, its value and optionally always", 2, 3 },
    [CONFIG_T_EXPIRES] = { "expiry", "off|epoch|max|DURATION",
                           "off, epoch, max or a duration like 1h, 7d", 1, 1 },
    [CONFIG_T_ERROR_PAGE] = { "statuses and a path", "CODE... PATH",
                              "statuses from 400 to 599, then a path starting with '/'", 2,
                              CONFIG_WORDS_MAX },
    [CONFIG_T_RETURN] = { "status and URL or text", "CODE [URL|TEXT]",
                          "a status: 301, 302, 303, 307 or 308 with a URL; 200, 204 or "
                          "400-599, with an optional text (not for 204)", 1, 2 },
    [CONFIG_T_WORDS] = { "word list", "WORD...", "one or more words", 1, CONFIG_WORDS_MAX },
};
static_assert(ARRAY_LEN(config_types) == CONFIG_T__COUNT, "one entry per config_type");

/* Only rows a level may set have a bit in its set_mask: their rank among
 * those rows, so the table can grow past 64 rows while a level's rows stay
 * fewer. server: the rows of struct config_server, else of locations. */
static uint64_t config_rank_bit(const struct config_directive *d, bool server)
{
    unsigned rank = 0;
    for (const struct config_directive *r = config_directives; r < d; r++)
        rank += (server ? r->srv_size : r->loc_size) != 0;
    assert((server ? d->srv_size : d->loc_size) != 0 && rank < 64);
    return UINT64_C(1) << rank;
}

uint64_t config_directive_bit(const struct config_directive *d)
{
    return config_rank_bit(d, false);
}

uint64_t config_directive_srv_bit(const struct config_directive *d)
{
    return config_rank_bit(d, true);
}

bool config_allowed_main(const struct config_directive *d)
{
    return d->main_size != 0 || d->loc_size != 0;
}

bool config_allowed_server(const struct config_directive *d)
{
    return d->srv_size != 0 || d->loc_size != 0 || (d->flags & CONFIG_F_SERVER_ADDS);
}

bool config_allowed_location(const struct config_directive *d)
{
    return d->loc_size != 0;
}

bool config_is_repeatable(const struct config_directive *d)
{
    return d->type == CONFIG_T_LISTEN || d->type == CONFIG_T_PATTERN || d->type == CONFIG_T_CIDRS
           || d->type == CONFIG_T_CERTS || d->type == CONFIG_T_NAMES
           || d->type == CONFIG_T_HEADER || d->type == CONFIG_T_ERROR_PAGE;
}

bool config_owns_memory(const struct config_directive *d)
{
    return d->type == CONFIG_T_STRING || d->type == CONFIG_T_PATH || d->type == CONFIG_T_WORDS
           || d->type == CONFIG_T_HEADER || d->type == CONFIG_T_RETURN
           || d->type == CONFIG_T_ERROR_PAGE;
}

void config_free_value(const struct config_directive *d, void *field)
{
    if (d->type == CONFIG_T_ERROR_PAGE) {
        struct config_error_pages *p = field;
        for (size_t i = 0; i < p->n; i++)
            free(p->uri[i]);
        memset(p, 0, sizeof *p);
    } else if (d->type == CONFIG_T_RETURN) {
        struct config_return *r = field;
        free(r->text);
        memset(r, 0, sizeof *r);
    } else if (d->type == CONFIG_T_HEADER) {
        struct config_headers *h = field;
        free(h->ok);
        free(h->always);
        h->ok = h->always = NULL;
    } else if (config_owns_memory(d)) {
        free(*(char **)field);
        *(char **)field = NULL;
    }
}
