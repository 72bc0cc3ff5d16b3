/* balancer — see balancer.h.
 *
 * health_path: a balancer must take a server out of rotation before the
 * server starts to close connections, or requests routed to it in between
 * fail. So the answer turns to 503 at the first sign of a stop: the
 * worker's graceful drain (SIGQUIT, or a reload's old generation), or the
 * master's drain_delay (stats_table.health_down), during which everything
 * else is served as usual. The 503 closes its connection: a balancer's
 * check connection to a draining worker has nothing more to learn there.
 * Health is answered to anyone, before locations and authentication:
 * balancers do not authenticate, and it says nothing but up or down.
 */
#include "balancer.h"

#include <string.h>

#include "config.h"
#include "conn.h"
#include "http1.h"
#include "realip.h"
#include "server.h"
#include "stats.h"

/* X-Forwarded-For field lines looked at, at most (header_fields_max bounds
 * them anyway; past this many the field is not believed). */
#define BALANCER_XFF_LINES_MAX 16

bool balancer_health_down(const struct server *srv)
{
    return srv->stopping || (srv->table && __atomic_load_n(&srv->table->health_down,
                                                           __ATOMIC_RELAXED) != 0);
}

bool balancer_answer_health(struct conn *c, const char *path, size_t len)
{
    const struct server *srv = conn_server(c);
    const char *want = srv->cfg->health_path;
    if (!want || !want[0] || strlen(want) != len || memcmp(want, path, len) != 0)
        return false;
    const struct http1_request *req = conn_request(c);
    if (req->method != HTTP1_METHOD_GET && req->method != HTTP1_METHOD_HEAD) {
        conn_resp_error(c, 405, "Allow: GET, HEAD\r\n");
        return true;
    }
    static const char no_store[] = "Cache-Control: no-store\r\n";
    static const char up[] = "up\n", down[] = "draining\n";
    bool is_down = balancer_health_down(srv);
    if (is_down)
        conn_want_close(c, CONN_CLOSE_SHUTDOWN);
    conn_resp_begin(c, is_down ? 503 : 200);
    conn_resp_field(c, "Content-Type", "text/plain", 10);
    conn_resp_raw(c, no_store, sizeof no_store - 1);
    conn_resp_end(c, is_down ? (int64_t)sizeof down - 1 : (int64_t)sizeof up - 1);
    conn_resp_body(c, is_down ? down : up, is_down ? sizeof down - 1 : sizeof up - 1);
    return true;
}

static bool balancer_name_is(const char *buf, struct http1_slice name, const char *want)
{
    size_t n = strlen(want);
    return name.len == n && strncasecmp(buf + name.off, want, n) == 0;
}

void balancer_apply_real_ip(struct conn *c)
{
    const struct config *cfg = conn_server(c)->cfg;
    if (cfg->real_ip_header == CONFIG_REAL_IP_OFF || cfg->real_ip_from_count == 0)
        return;
    uint8_t addr[16];
    int family = conn_peer_addr(c, addr);
    if (!config_cidr_match(cfg->real_ip_from, cfg->real_ip_from_count, family, addr))
        return;
    const struct http1_request *req = conn_request(c);
    const char *buf = conn_request_buf(c);
    const char *name = cfg->real_ip_header == CONFIG_REAL_IP_X_REAL_IP ? "X-Real-IP"
                                                                         : "X-Forwarded-For";
    struct realip_value values[BALANCER_XFF_LINES_MAX];
    size_t n = 0;
    bool too_many = false;
    for (uint32_t i = 0; i < req->field_count; i++) {
        const struct http1_header *h = &req->fields[i];
        if (!balancer_name_is(buf, h->name, name))
            continue;
        if (n == BALANCER_XFF_LINES_MAX) {
            too_many = true;
            break;
        }
        values[n].text = buf + h->value.off;
        values[n].len = h->value.len;
        n++;
    }
    enum realip_rc rc = REALIP_NONE;
    if (too_many || (cfg->real_ip_header == CONFIG_REAL_IP_X_REAL_IP && n > 1))
        rc = REALIP_INVALID;
    else if (cfg->real_ip_header == CONFIG_REAL_IP_X_REAL_IP && n == 1)
        rc = realip_real_ip(values[0].text, values[0].len, &family, addr);
    else if (n > 0)
        rc = realip_forwarded_for(values, n, cfg->real_ip_from, cfg->real_ip_from_count,
                                  &family, addr);
    if (rc == REALIP_INVALID) {
        conn_log(c, LOG_INFO, "%s is not a list of addresses; the connection's address stands",
                 name);
        return;
    }
    if (rc == REALIP_FOUND) {
        conn_set_request_client(c, family, addr);
        stats_add(&conn_server(c)->stats->real_ip_used, 1);
    }
}
