/* status_answer — the handler of status_path and metrics_path: who may ask
 * (status_allow, decided on the client's address, which behind a balancer
 * is the one it named), which page, and the response. The pages themselves
 * are rendered by status.c into one static buffer of STATUS_PAGE_MAX bytes
 * per process (sized for STATS_ROWS_MAX worker rows); nothing is allocated
 * per request beyond the response queue itself.
 */
#include "status.h"

#include <string.h>

#include "config.h"
#include "conn.h"
#include "http1.h"
#include "loop.h"
#include "server.h"
#include "tls_store.h"

#define STATUS_VERSION "0.1.0"
/* Room for the page with every row of the table in use. */
#define STATUS_PAGE_MAX (256 * 1024)

bool status_allowed(const struct config_cidr *list, size_t n, int family, const uint8_t *addr)
{
    return config_cidr_match(list, n, family, addr);
}

/* ---- the handler ---- */

static bool status_path_is(const char *want, const char *path, size_t len)
{
    return want && want[0] && strlen(want) == len && memcmp(want, path, len) == 0;
}

bool status_answer(struct conn *c, const char *path, size_t len)
{
    static char page_buf[STATUS_PAGE_MAX];
    struct server *srv = conn_server(c);
    const struct config *cfg = srv->cfg;
    const struct http1_request *req = conn_request(c);
    enum status_page page;
    const char *type;

    if (status_path_is(cfg->metrics_path, path, len)) {
        page = STATUS_METRICS;
        type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (status_path_is(cfg->status_path, path, len)) {
        bool is_auto = req->query.len == 4 &&
                       memcmp(conn_request_buf(c) + req->query.off, "auto", 4) == 0;
        page = is_auto ? STATUS_AUTO : STATUS_HTML;
        type = is_auto ? "text/plain; charset=utf-8" : "text/html; charset=utf-8";
    } else {
        return false;
    }

    uint8_t addr[16];
    int family = conn_peer_addr(c, addr);
    if (!status_allowed(cfg->status_allow, cfg->status_allow_count, family, addr)) {
        conn_log(c, LOG_INFO, "status: client not in status_allow; 403 sent");
        conn_resp_error(c, 403, NULL);
        return true;
    }
    if (req->method != HTTP1_METHOD_GET && req->method != HTTP1_METHOD_HEAD) {
        conn_resp_error(c, 405, "Allow: GET, HEAD\r\n");
        return true;
    }

    /* The store decided kTLS when it was built; a module loaded since then
     * does not change what these connections do. */
    const char *tls_listeners[CONFIG_LISTEN_MAX];
    size_t tls_count = 0;
    for (size_t i = 0; i < cfg->listen_count && tls_count < CONFIG_LISTEN_MAX; i++)
        if (cfg->listens[i].tls)
            tls_listeners[tls_count++] = cfg->listens[i].text;
    struct status_view v = {
        .server_name = cfg->server_name ? cfg->server_name : "lingerd",
        .version = STATUS_VERSION,
        .now_s = loop_wall_s(srv->loop),
        .self_row = srv->stats,
        .tls_listeners = tls_listeners,
        .tls_listener_count = tls_count,
        .tls_path = status_tls_path_for(cfg->ktls, srv->tls && tls_store_uses_ktls(srv->tls)),
    };
    bool truncated;
    size_t n = status_render(page, srv->table, &v, page_buf, sizeof page_buf, &truncated);
    if (truncated)
        conn_log(c, LOG_WARN, "status page cut at %zu bytes", n);
    static const char no_store[] = "Cache-Control: no-store\r\n";
    conn_resp_begin(c, 200);
    conn_resp_field(c, "Content-Type", type, strlen(type));
    conn_resp_raw(c, no_store, sizeof no_store - 1);
    conn_resp_end(c, (int64_t)n);
    conn_resp_body(c, page_buf, n);
    return true;
}
