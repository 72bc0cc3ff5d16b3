"""The upstream keep-alive pool and the retry rule.

A request that failed on a reused connection before any response byte came
is sent once more on a fresh connection if it is idempotent, or if it was
not wholly sent (the application cannot have acted on it); a POST whose
body went out is not retried: 502.
"""

import socket
import time

from conftest import Reader, exchange, get, request, wait_for
from test_workers import BURSTS_MAX, burst, socket_inodes, two_workers
from upstream_apps import App, echo_handler, read_body, read_head, respond


def proxied(make_server, app, extra=""):
    return make_server("%s\nlocation /app/ {\n methods GET HEAD POST PUT DELETE;\n"
                       " proxy_pass %s;\n}\n" % (extra, app.addr))


def drop_second_handler(sock, app):
    """Answer the first request of a connection; read the second whole and
    close without answering (an application that died on it)."""
    buf = b""
    for i in range(2):
        head, buf = read_head(sock, buf)
        if head is None:
            return
        body, buf = read_body(sock, head, buf)
        app.count(head.split("\r\n")[0].rsplit(" ", 1)[0])
        if i == 1:
            return
        respond(sock, 200, b"first")


def test_idempotent_retried_post_not(make_server):
    app = App(drop_second_handler)
    try:
        srv = proxied(make_server, app, "log_level info;")
        s = srv.connect()
        rd = Reader(s)
        s.sendall(request("GET", "/app/warm"))
        assert rd.response().status == 200
        # reuses the pooled connection, which drops it: retried on a fresh one
        s.sendall(request("GET", "/app/g"))
        r = rd.response()
        assert (r.status, r.body) == (200, b"first")
        assert app.get("GET /app/g") == 2
        # the pooled connection is the fresh one; it drops this POST, whose
        # body was sent: not retried
        s.sendall(request("POST", "/app/p", body=b"pay once"))
        r = rd.response()
        assert r.status == 502
        assert app.get("POST /app/p") == 1
        s.close()
        assert wait_for(lambda: "on a reused connection; retried" in srv.log(), timeout=5)
        rs, rd = exchange(srv, request("GET", "/metrics"))
        rd.sock.close()
        metrics = rs[0].body.decode()
        labels = '{location="/app/",upstream="%s"}' % app.addr
        assert "lingerd_upstream_retries_total%s 1\n" % labels in metrics
        assert "lingerd_upstream_requests_total%s 4\n" % labels in metrics
    finally:
        app.stop()


def keepalive_handler(idle_s):
    """Keep-alive with an idle timeout of its own: close a connection idle
    for idle_s (as application servers do)."""
    def handler(sock, app):
        buf = b""
        while True:
            sock.settimeout(idle_s if not buf else 10)
            try:
                head, buf = read_head(sock, buf)
            except socket.timeout:
                app.count("idle closes")
                return
            if head is None:
                app.count("eof")
                return
            sock.settimeout(10)
            body, buf = read_body(sock, head, buf)
            app.count("requests")
            respond(sock, 200, b"ok")
    return handler


def test_race_with_app_keepalive_just_below_the_pool_timeout(make_server):
    """The app closes idle connections at 200 ms, lingerd keeps them 250 ms:
    requests sent around 200 ms after the last one meet connections the app
    is closing. None may fail."""
    app = App(keepalive_handler(0.2))
    try:
        srv = proxied(make_server, app, "proxy_keepalive_timeout 250ms;")
        s = srv.connect()
        rd = Reader(s)
        outcomes = []
        for i in range(24):
            s.sendall(request("GET", "/app/r%d" % i))
            r = rd.response()
            outcomes.append(r.status if r else None)
            time.sleep(0.17 + 0.004 * i)  # 170 .. 262 ms
        s.close()
    finally:
        app.stop()
    assert outcomes == [200] * 24, outcomes


def test_pool_closes_before_the_app(make_server):
    """With the defaults, lingerd's pool lets an idle connection go (1 s)
    before an application's 2 s keep-alive would: the app sees our FIN."""
    app = App(keepalive_handler(2.0))
    try:
        srv = proxied(make_server, app)
        rs, rd = exchange(srv, request("GET", "/app/x"))
        rd.sock.close()
        assert rs[0].status == 200
        assert wait_for(lambda: app.get("eof") == 1, timeout=5)
        assert app.get("idle closes") == 0
    finally:
        app.stop()


def upstream_sockets(pid, app_port):
    """Established connections process pid holds to 127.0.0.1:app_port."""
    held = socket_inodes(pid)
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.read().splitlines()[1:]:
            p = line.split()
            if (int(p[2].rsplit(":", 1)[1], 16) == app_port and p[3] == "01"
                    and int(p[9]) in held):
                n += 1
    return n


def test_metrics_sum_every_worker(make_server):
    """With two workers the upstream counters and the pool gauge on /metrics
    are the sums over both (each worker has its own pool): bursts of
    requests until both workers hold a pooled upstream connection."""
    app = App(echo_handler)
    try:
        srv = proxied(make_server, app, "workers 2;\nproxy_keepalive_timeout 60s;")
        workers = two_workers(srv)
        port = int(app.addr.rsplit(":", 1)[1])
        sent = 0
        for i in range(BURSTS_MAX * 2):
            rs = burst(lambda j: get(srv, "/app/%d-%d" % (i, j)))
            assert all(not isinstance(r, Exception) and r.status == 200 for r in rs), rs
            sent += len(rs)
            if all(upstream_sockets(w, port) for w in workers):
                break
        pooled = {w: upstream_sockets(w, port) for w in workers}
        assert all(pooled.values()), "requests did not spread over both workers: %s" % pooled
        assert app.get("requests") == sent
        rs, rd = exchange(srv, request("GET", "/metrics"))
        rd.sock.close()
        metrics = rs[0].body.decode()
        labels = '{location="/app/",upstream="%s"}' % app.addr
        assert "lingerd_upstream_requests_total%s %d\n" % (labels, sent) in metrics, metrics
        assert "lingerd_upstream_failures_total%s 0\n" % labels in metrics
        assert ("lingerd_upstream_idle_connections%s %d\n" % (labels, sum(pooled.values()))
                in metrics), (pooled, metrics)
    finally:
        app.stop()
