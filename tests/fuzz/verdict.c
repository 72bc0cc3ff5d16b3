/* verdict — what the pure modules say the server must answer to the first
 * request of each file named on the command line, for the differential check
 * (differential.py compares it with what the running server answers).
 *
 * The limits are the server's defaults (config_init_defaults, as server.c
 * builds them). The verdict follows request.c's order of checks up to the
 * point where the answer depends on files, users or the location:
 *   400 414 431 501 505  the head parser refuses the head (http1_parse_head)
 *   417                  an unknown expectation
 *   501                  an unknown method
 *   200                  OPTIONS *
 *   400 414              the path does not decode (uri_decode_path)
 *   again                the head is incomplete (the server waits, then 408
 *                        or closes)
 *   routed               the head is fine: anything but the statuses above
 *   routed-badbody       the same, but the chunked body that follows is
 *                        refused by the decoder: the server may also answer
 *                        400 (if it reads the body before answering)
 *   routed-incomplete    the same, but the body is cut short: the server may
 *                        also wait for it (no answer, or 408)
 * One line per file: "PATH VERDICT".
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http1.h"
#include "uri.h"

static char *verdict_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    *len = 0;
    while (buf) {
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
        if (*len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    return buf;
}

static const char *verdict_of(const struct config *cfg, const char *buf, size_t len,
                              char *out, size_t cap)
{
    const struct http1_limits lim = {
        .request_line_max_bytes = cfg->request_line_max_bytes,
        .field_line_max_bytes = cfg->field_line_max_bytes,
        .head_max_bytes = cfg->header_max_bytes,
        .fields_max = cfg->header_fields_max,
    };
    static struct http1_header fields[10000];
    struct http1_parser p;
    struct http1_request req;
    size_t used = 0;

    http1_parser_init(&p, &lim, fields, cfg->header_fields_max);
    enum http1_rc rc = http1_parse_head(&p, buf, len, &req, &used);
    if (rc == HTTP1_AGAIN)
        return "again";
    if (rc == HTTP1_ERROR) {
        snprintf(out, cap, "%d", p.status);
        return out;
    }
    if (req.expect_unknown)
        return "417";
    if (req.method == HTTP1_METHOD_OTHER)
        return "501";
    if (req.target_is_asterisk)
        return "200";
    char path[PATH_MAX];
    size_t path_len;
    int st = uri_decode_path(buf + req.path.off, req.path.len, path, sizeof path, &path_len);
    if (st) {
        snprintf(out, cap, "%d", st);
        return out;
    }
    if (req.framing == HTTP1_BODY_CHUNKED) {
        struct http1_chunked d;
        size_t pos = used;
        http1_chunked_init(&d, cfg->chunk_line_max_bytes, cfg->trailer_max_bytes);
        while (pos < len) {
            size_t n = 0, off, dlen;
            rc = http1_chunked_decode(&d, buf + pos, len - pos, &n, &off, &dlen);
            pos += n;
            if (rc == HTTP1_ERROR)
                return "routed-badbody";
            if (rc == HTTP1_DONE)
                return "routed";
            if (n == 0)
                break;
        }
        return "routed-incomplete";
    }
    if (req.framing == HTTP1_BODY_LENGTH && req.content_length > len - used)
        return "routed-incomplete";
    return "routed";
}

int main(int argc, char **argv)
{
    static struct config cfg;
    if (config_init_defaults(&cfg) < 0)
        return 2;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        size_t len;
        char *buf = verdict_read(argv[i], &len), tmp[16];
        if (!buf) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            rc = 2;
            continue;
        }
        printf("%s %s\n", argv[i], verdict_of(&cfg, buf, len, tmp, sizeof tmp));
        free(buf);
    }
    config_fini(&cfg);
    return rc;
}
