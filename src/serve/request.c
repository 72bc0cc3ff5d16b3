/* request — routing: path, location, method, authentication, handler.
 *
 * Order of checks (each answers and stops): unknown expectation (417),
 * unknown method (501), OPTIONS *, path decoding (400/414), status_path and
 * metrics_path (status.c, before any location), the site (by Host) and its
 * location, the location's return (as nginx's rewrite phase), method allowed
 * by the location (405 + Allow; TRACE is never served), credentials when the
 * location asks for them (401 + WWW-Authenticate). Authentication comes
 * before anything reads the body, so a refused upload is refused at its head
 * and its body is discarded or lingered away by the connection (conn_body.c,
 * conn_close.c).
 */
#include "request.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "balancer.h"
#include "config.h"
#include "conn.h"
#include "http1.h"
#include "proxy.h"
#include "redirect.h"
#include "server.h"
#include "static.h"
#include "status.h"
#include "upload.h"
#include "uri.h"
#include "vhost.h"

/* Methods in the order Allow lists them. */
static const enum http1_method request_allow_order[] = {
    HTTP1_METHOD_GET, HTTP1_METHOD_HEAD, HTTP1_METHOD_POST,
    HTTP1_METHOD_PUT, HTTP1_METHOD_DELETE, HTTP1_METHOD_OPTIONS,
};

size_t request_format_allow(unsigned methods, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof request_allow_order / sizeof request_allow_order[0]; i++) {
        enum http1_method m = request_allow_order[i];
        if (!(methods & (1u << m)))
            continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", http1_method_name(m));
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    return n;
}

static void request_answer_allow(struct conn *c, int status, unsigned methods)
{
    char allow[128];
    size_t n = request_format_allow(methods, allow, sizeof allow);
    if (status == 405) {
        char extra[160];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        conn_resp_error(c, 405, extra);
        return;
    }
    conn_resp_begin(c, status);
    conn_resp_field(c, "Allow", allow, n);
    conn_resp_end(c, 0);
}

static void request_challenge(struct conn *c, const struct config_location *loc)
{
    char extra[320];
    char realm[200];
    size_t o = 0;
    /* The realm is a quoted-string (RFC 9110 §5.6.4): escape " and \. */
    for (const char *p = loc->auth_realm; *p && o + 2 < sizeof realm; p++) {
        if (*p == '"' || *p == '\\')
            realm[o++] = '\\';
        realm[o++] = *p;
    }
    realm[o] = '\0';
    snprintf(extra, sizeof extra,
             "WWW-Authenticate: Basic realm=\"%s\", charset=\"UTF-8\"\r\n", realm);
    conn_resp_error(c, 401, extra);
}

/* https_redirect: the same URL over https, on the first tls listener's
 * port. 301 keeps GET and HEAD as they are; other methods get 308, which
 * keeps the method and body (RFC 9110 §15.4.9). Without a Host there is no
 * URL to send the client to. */
static void request_redirect_to_https(struct conn *c, const struct http1_request *req,
                                      const char *buf)
{
    const struct server *srv = conn_server(c);
    const char *host = buf + req->host.off;
    size_t host_len = req->host.len;
    if (host_len == 0) {
        conn_resp_text(c, 400, NULL, "400 Bad Request: this site is served over https; "
                                     "send a Host to be redirected there.\n");
        return;
    }
    /* The host without its port: "[v6]:port" or "name:port". */
    const char *end = host[0] == '[' ? memchr(host, ']', host_len) : NULL;
    size_t name_len = end ? (size_t)(end - host) + 1 : host_len;
    const char *colon = memchr(host + (end ? name_len : 0), ':', host_len - (end ? name_len : 0));
    if (!end && colon)
        name_len = (size_t)(colon - host);
    char port[8] = "";
    if (srv->https_port != 443)
        snprintf(port, sizeof port, ":%u", (unsigned)srv->https_port);
    char extra[PATH_MAX + 512];
    int n = snprintf(extra, sizeof extra, "Location: https://%.*s%s%.*s%s%.*s\r\n",
                     (int)name_len, host, port, (int)req->path.len, buf + req->path.off,
                     req->query.len ? "?" : "", (int)req->query.len, buf + req->query.off);
    if (n < 0 || (size_t)n >= sizeof extra) {
        conn_resp_error(c, 414, NULL);
        return;
    }
    bool safe = req->method == HTTP1_METHOD_GET || req->method == HTTP1_METHOD_HEAD;
    conn_resp_error(c, safe ? 301 : 308, extra);
}

/* $request_uri: the target's path and query as the client sent them (for
 * an absolute-form target, without scheme and authority). malloc'ed. */
static char *request_uri_of(const struct http1_request *req, const char *buf, size_t *len)
{
    size_t n = req->path.len + (req->query.len ? 1 + req->query.len : 0);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, buf + req->path.off, req->path.len);
    if (req->query.len) {
        s[req->path.len] = '?';
        memcpy(s + req->path.len + 1, buf + req->query.off, req->query.len);
    }
    s[n] = '\0';
    *len = n;
    return s;
}

/* return CODE [URL|TEXT] (nginx's return): a redirect with the template
 * expanded, a text, an empty 204 or the status's error page. */
static void request_return(struct conn *c, const struct http1_request *req, const char *buf,
                           const struct config_server *site, const struct config_return *r)
{
    if (!r->redirect) {
        if (r->status == 204) {
            conn_resp_begin(c, 204);
            conn_resp_end(c, -1); /* no Content-Length on a 204 (RFC 9110 §8.6) */
        } else if (r->text) {
            conn_resp_text(c, r->status, NULL, r->text);
        } else {
            conn_resp_error(c, r->status, NULL);
        }
        return;
    }
    char host[VHOST_NAME_MAX + 1];
    size_t host_len = vhost_normalize(buf + req->host.off, req->host.len, host, sizeof host);
    if (host_len == 0 && site->names.n > 0 && site->names.v[0][0] != '*')
        host_len = vhost_normalize(site->names.v[0], strlen(site->names.v[0]), host,
                                   sizeof host);
    if (host_len == 0 && (strstr(r->text, "$host") || strstr(r->text, "${host}"))) {
        conn_resp_text(c, 400, NULL, "400 Bad Request: send a Host to be redirected.\n");
        return;
    }
    size_t uri_len = 0;
    char *uri = request_uri_of(req, buf, &uri_len);
    size_t vars = 0;
    for (const char *p = r->text; *p; p++)
        vars += *p == '$';
    size_t cap = strlen(r->text) + vars * (host_len + uri_len + 8) + 1;
    char *extra = malloc(cap + 16);
    if (!uri || !extra) {
        free(uri);
        free(extra);
        conn_resp_error(c, 500, NULL);
        return;
    }
    struct redirect_vars v = {
        .scheme = conn_is_tls(c) ? "https" : "http",
        .host = host, .host_len = host_len,
        .request_uri = uri, .request_uri_len = uri_len,
    };
    memcpy(extra, "Location: ", 10);
    size_t n = redirect_expand(r->text, &v, extra + 10, cap);
    free(uri);
    if (n == 0) {
        free(extra);
        conn_resp_error(c, 500, NULL);
        return;
    }
    memcpy(extra + 10 + n, "\r\n", 3);
    conn_resp_error(c, r->status, extra);
    free(extra);
}

void request_dispatch(struct conn *c)
{
    const struct http1_request *req = conn_request(c);
    const char *buf = conn_request_buf(c);
    const struct config *cfg = conn_server(c)->cfg;

    balancer_apply_real_ip(c);
    if (req->expect_unknown) {
        conn_resp_error(c, 417, NULL);
        return;
    }
    if (req->method == HTTP1_METHOD_OTHER) {
        conn_resp_error(c, 501, NULL);
        return;
    }
    if (req->target_is_asterisk) {
        /* OPTIONS * asks about the server as a whole (RFC 9110 §9.3.7). */
        const struct config_server *site =
            config_find_site(cfg, buf + req->host.off, req->host_name_len);
        request_answer_allow(c, 200, site->locations[0].methods | (1u << HTTP1_METHOD_OPTIONS));
        return;
    }

    char path[PATH_MAX];
    size_t path_len;
    int st = uri_decode_path(buf + req->path.off, req->path.len, path, sizeof path, &path_len);
    if (st) {
        conn_resp_error(c, st, NULL);
        return;
    }
    if (status_answer(c, path, path_len))
        return; /* status_path or metrics_path, before any location */
    if (balancer_answer_health(c, path, path_len))
        return;
    if (cfg->https_redirect && !conn_is_tls(c)) {
        request_redirect_to_https(c, req, buf);
        return;
    }
    /* One site: no lookup. Several: by the Host (or the absolute-form
     * target's authority, which http1.c put in req->host). */
    const struct config_server *site =
        config_find_site(cfg, buf + req->host.off, req->host_name_len);
    const struct config_location *loc = config_find_location(site, path, path_len);
    conn_set_lingering(c, loc->lingering_close);
    conn_set_location(c, loc);
    if (!loc->keepalive)
        conn_want_close(c, CONN_CLOSE_NOKEEPALIVE);
    if (loc->ret.status) {
        request_return(c, req, buf, site, &loc->ret); /* nginx's rewrite phase: first */
        return;
    }

    unsigned methods = loc->methods & ~(1u << HTTP1_METHOD_TRACE);
    if (!(methods & (1u << req->method))) {
        request_answer_allow(c, 405, methods);
        return;
    }
    if (loc->auth_realm &&
        !auth_check_basic_at(loc->users, buf + req->authorization.off, req->authorization.len,
                             (long long)conn_now_ms(c))) {
        request_challenge(c, loc);
        return;
    }

    if (loc->proxy_pass) {
        proxy_handle(c, loc);
        return;
    }
    switch (req->method) {
    case HTTP1_METHOD_GET:
    case HTTP1_METHOD_HEAD:
        static_get(c, loc, path, path_len);
        return;
    case HTTP1_METHOD_OPTIONS:
        request_answer_allow(c, 200, methods);
        return;
    case HTTP1_METHOD_PUT:
        upload_put(c, loc, path, path_len);
        return;
    case HTTP1_METHOD_POST:
        upload_post(c, loc, path, path_len);
        return;
    case HTTP1_METHOD_DELETE:
        upload_delete(c, loc, path, path_len);
        return;
    case HTTP1_METHOD_TRACE:
    case HTTP1_METHOD_CONNECT:
    case HTTP1_METHOD_PATCH:
    case HTTP1_METHOD_OTHER:
    case HTTP1_METHOD_COUNT:
        break;
    }
    request_answer_allow(c, 405, methods);
}
