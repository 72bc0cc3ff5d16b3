"""proxy_pass: requests relayed to an application and its answers back.

The applications are tests/integration/upstream_apps.py servers started by
each test: they show exactly what lingerd sent (head, body) and can
misbehave on purpose (malformed heads, refusals, stalls, cut bodies).
"""

import os
import socket
import tempfile
import threading

import pytest

from conftest import Reader, exchange, request, wait_for
from upstream_apps import (apps, echo_handler, read_body, read_head,  # noqa: F401 (apps)
                           reset_close, respond)

MIB = 1024 * 1024
METHODS = "methods GET HEAD POST PUT DELETE OPTIONS PATCH;"


def proxied(make_server, app_addr, extra=""):
    return make_server("%s\nlocation /app/ {\n %s\n proxy_pass %s;\n}\n" %
                       (extra, METHODS, app_addr))


def post_upload(path, body, chunked, step=100000):
    """A POST of body, chunked in pieces of step bytes or with a length."""
    if not chunked:
        return request("POST", path, body=body)
    return request("POST", path, ["Transfer-Encoding: chunked"]) + b"".join(
        b"%x\r\n" % len(body[i:i + step]) + body[i:i + step] + b"\r\n"
        for i in range(0, len(body), step)) + b"0\r\n\r\n"


def read_response_head(rd):
    """A response head: (status, {lowercase name: value})."""
    while b"\r\n\r\n" not in rd.buf:
        assert rd._more(), "no response head"
    head, rd.buf = rd.buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return status, headers


def read_chunked_response(rd):
    """A response whose body may be chunked: (status, headers, body)."""
    status, headers = read_response_head(rd)
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            while b"\r\n" not in rd.buf:
                assert rd._more(), "cut in a chunk size"
            line, rd.buf = rd.buf.split(b"\r\n", 1)
            size = int(line, 16)
            while len(rd.buf) < size + 2:
                assert rd._more(), "cut in a chunk"
            body += rd.buf[:size]
            rd.buf = rd.buf[size + 2:]
            if size == 0:
                return status, headers, body
    n = int(headers.get("content-length", "0"))
    while len(rd.buf) < n:
        assert rd._more(), "short body: %d of %d" % (len(rd.buf), n)
    body, rd.buf = rd.buf[:n], rd.buf[n:]
    return status, headers, body


def test_get_is_relayed_with_forwarding_fields(make_server, apps):
    app = apps(echo_handler)
    srv = proxied(make_server, app.addr)
    rs, rd = exchange(srv, request("GET", "/app/a?b=1", [
        "Connection: keep-alive, X-Private", "X-Private: no", "Keep-Alive: 5",
        "TE: deflate, trailers",
        "Proxy-Authorization: Basic eA==", "X-Forwarded-For: 10.0.0.9", "Upgrade: h2c",
        "X-Kept: yes"], host="example.test:8080"))
    rd.sock.close()
    r = rs[0]
    assert r.status == 200
    head = r.body.decode("latin-1").split("\r\n\r\n")[0]
    lines = head.split("\r\n")
    assert lines[0] == "GET /app/a?b=1 HTTP/1.1"
    fields = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    assert fields["host"] == "example.test:8080"
    assert fields["x-kept"] == "yes"
    for hop in ("x-private", "keep-alive", "proxy-authorization", "upgrade"):
        assert hop not in fields, hop
    # TE is this hop's: lingerd's own says only that trailers are taken
    # (they are relayed), named by its own Connection (RFC 9110 §10.1.4).
    assert fields["te"] == "trailers" and fields["connection"] == "te", fields
    assert fields["x-forwarded-for"] == "10.0.0.9, 127.0.0.1"
    assert fields["x-forwarded-proto"] == "http"
    assert fields["x-forwarded-host"] == "example.test:8080"
    assert fields["forwarded"] == 'for=127.0.0.1;proto=http;host="example.test:8080"'
    # hop-by-hop fields of the response are not relayed either
    assert r.header("x-app") == "echo"
    assert r.header("x-secret") is None
    assert r.header("keep-alive") != "timeout=5"
    assert r.header("server") == "lingerd"


def test_keep_alive_both_sides(make_server, apps):
    app = apps(echo_handler)
    srv = proxied(make_server, app.addr)
    data = b"".join(request("GET", "/app/%d" % i) for i in range(5))
    rs, rd = exchange(srv, data, n=5)
    rd.sock.close()
    assert [r.status for r in rs] == [200] * 5
    assert app.get("requests") == 5
    assert app.get("connections") == 1  # the pooled connection carried all five


@pytest.mark.parametrize("chunked", [False, True])
def test_request_body_streams_to_app(make_server, apps, chunked):
    app = apps(echo_handler)
    srv = proxied(make_server, app.addr, "body_max_bytes 64m;")
    body = os.urandom(3 * MIB)
    data = post_upload("/app/up", body, chunked)
    rs, rd = exchange(srv, data, timeout=30)
    rd.sock.close()
    r = rs[0]
    assert r.status == 200
    head, rest = r.body.split(b"\r\n\r\n", 1)
    n, got = rest.split(b"\n", 1)
    assert int(n) == len(body) and got == body
    if chunked:
        assert b"Transfer-Encoding: chunked" in head


def big_response_handler(size, framing):
    def handler(sock, app):
        head, rest = read_head(sock)
        if head is None:
            return
        block = bytes(range(256)) * 256
        if framing == "length":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        elif framing == "chunked":
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        else:
            sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        left = size
        while left:
            n = min(left, len(block))
            if framing == "chunked":
                sock.sendall(b"%x\r\n" % n + block[:n] + b"\r\n")
            else:
                sock.sendall(block[:n])
            left -= n
        if framing == "chunked":
            sock.sendall(b"0\r\nX-Trailer: dropped\r\n\r\n")
        if framing == "close":
            sock.shutdown(socket.SHUT_WR)
            sock.recv(1)
    return handler


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_response_body_framings(make_server, apps, framing):
    size = 5 * MIB + 17
    app = apps(big_response_handler(size, framing))
    srv = proxied(make_server, app.addr)
    s = srv.connect(timeout=30)
    s.sendall(request("GET", "/app/big"))
    rd = Reader(s, timeout=30)
    status, headers, body = read_chunked_response(rd)
    s.close()
    assert status == 200
    assert len(body) == size
    assert body[:512] == bytes(range(256)) * 2
    if framing != "length":
        assert headers.get("transfer-encoding") == "chunked"
        assert "x-trailer" not in body.decode("latin-1", "replace")[-100:]


@pytest.mark.parametrize("bad", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nX-A: b\r\n folded\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"ICY 200 OK\r\n\r\n",
], ids=["cl-and-te", "obs-fold", "two-lengths", "bare-lf", "head-too-large", "gzip-coding",
        "not-http"])
def test_malformed_response_is_502_never_relayed(make_server, apps, bad):
    def handler(sock, app):
        head, rest = read_head(sock)
        if head is not None:
            sock.sendall(bad)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(1)
    app = apps(handler)
    srv = proxied(make_server, app.addr)
    rs, rd = exchange(srv, request("GET", "/app/x"))
    rd.sock.close()
    assert rs[0].status == 502
    assert b"folded" not in rs[0].body and b"abc" not in rs[0].body
    assert wait_for(lambda: "502 sent" in srv.log(), timeout=5)


def test_refused_is_502_then_recovers(make_server, apps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = proxied(make_server, "127.0.0.1:%d" % port, "proxy_fail_max 1000;")
    rs, rd = exchange(srv, request("GET", "/app/x"))
    rd.sock.close()
    assert rs[0].status == 502
    # the same port now answers
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    done = threading.Event()

    def serve():
        c, _ = ls.accept()
        c.settimeout(10)
        read_head(c)
        respond(c, 200, b"back")
        c.recv(1)
        c.close()
        done.set()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    rs, rd = exchange(srv, request("GET", "/app/x", ["Connection: close"]))
    rd.sock.close()
    assert rs[0].status == 200 and rs[0].body == b"back"
    t.join(10)
    ls.close()


def test_slow_app_is_504(make_server, apps):
    stall = threading.Event()

    def handler(sock, app):
        read_head(sock)
        stall.wait(10)
    app = apps(handler)
    srv = proxied(make_server, app.addr, "proxy_read_timeout 300ms;")
    rs, rd = exchange(srv, request("GET", "/app/slow"))
    rd.sock.close()
    stall.set()
    assert rs[0].status == 504
    assert wait_for(lambda: "proxy_read_timeout" in srv.log(), timeout=5)


def test_app_killed_mid_response_cuts_the_body(make_server, apps):
    def handler(sock, app):
        read_head(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"z" * 300000)
        reset_close(sock)
    app = apps(handler)
    srv = proxied(make_server, app.addr)
    s = srv.connect()
    s.sendall(request("GET", "/app/cut"))
    rd = Reader(s, timeout=10)
    data = rd.read_until_close()
    s.close()
    head, body = data.split(b"\r\n\r\n", 1)
    assert b" 200 " in head.split(b"\r\n")[0]
    assert len(body) < 1000000  # never a completed body


def test_round_robin_and_unix_and_ipv6(make_server, apps, tmp_path):
    a = apps(echo_handler)
    b = apps(echo_handler, family=socket.AF_INET6)
    path = os.path.join(tempfile.mkdtemp(dir=str(tmp_path)), "app.sock")
    c = apps(echo_handler, path=path)
    srv = proxied(make_server, "%s,%s,%s" % (a.addr, b.addr, c.addr))
    for i in range(6):
        rs, rd = exchange(srv, request("GET", "/app/%d" % i, ["Connection: close"]))
        rd.sock.close()
        assert rs[0].status == 200
    assert (a.get("requests"), b.get("requests"), c.get("requests")) == (2, 2, 2)


def test_bad_request_never_reaches_the_app(make_server, apps):
    app = apps(echo_handler)
    srv = proxied(make_server, app.addr)
    for bad in (b"GET /app/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                b"GET /app/x HTTP/1.1\r\nHost : a\r\n\r\n",
                b"GET /app/%zz HTTP/1.1\r\nHost: a\r\n\r\n"):
        rs, rd = exchange(srv, bad)
        rd.sock.close()
        assert rs[0].status == 400
    assert app.get("requests") == 0


def test_passive_health_skips_a_failing_upstream(make_server, apps):
    good = apps(echo_handler)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = "127.0.0.1:%d" % s.getsockname()[1]
    srv = proxied(make_server, "%s,%s" % (dead, good.addr),
                  "proxy_fail_max 2;\nproxy_fail_timeout 60s;")
    statuses = []
    for i in range(8):
        rs, rd = exchange(srv, request("GET", "/app/%d" % i, ["Connection: close"]))
        rd.sock.close()
        statuses.append(rs[0].status)
    # a refused connect tries the next upstream: nothing was sent
    assert statuses == [200] * 8
    assert good.get("requests") == 8
    assert wait_for(lambda: "upstream %s failed 2 times in a row; skipped" % dead in srv.log(),
                    timeout=5)
    rs, rd = exchange(srv, request("GET", "/metrics"))
    rd.sock.close()
    assert ('lingerd_upstream_failures_total{location="/app/",upstream="%s"} 2\n' % dead
            in rs[0].body.decode())


def test_all_upstreams_skipped_is_503(make_server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = "127.0.0.1:%d" % s.getsockname()[1]
    srv = proxied(make_server, dead, "proxy_fail_max 1;\nproxy_fail_timeout 60s;")
    got = []
    for _ in range(2):
        rs, rd = exchange(srv, request("GET", "/app/x", ["Connection: close"]))
        rd.sock.close()
        got.append(rs[0].status)
    assert got == [502, 503]


def test_access_log_upstream_fields(make_server, apps):
    app = apps(echo_handler)
    srv = proxied(make_server, app.addr,
                  'access_log_format "$request_uri $status $upstream_addr $upstream_status '
                  '$upstream_response_time_ms";')
    rs, rd = exchange(srv, request("GET", "/app/logged", ["Connection: close"]))
    rd.sock.close()
    assert rs[0].status == 200
    rs, rd = exchange(srv, request("GET", "/index.html", ["Connection: close"]))
    rd.sock.close()
    assert wait_for(lambda: "/index.html 200 - - -" in srv.log(), timeout=5)
    line = [l for l in srv.log().splitlines() if l.startswith("/app/logged ")][0]
    uri, status, addr, ustatus, ms = line.split(" ")
    assert (status, addr, ustatus) == ("200", app.addr, "200")
    assert ms.isdigit()


def test_head_204_304_and_continue(make_server, apps):
    def handler(sock, app):
        buf = b""
        while True:
            head, buf = read_head(sock, buf)
            if head is None:
                return
            line = head.split("\r\n")[0]
            if "expect: 100-continue" in head.lower():
                app.count("expect passed")
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body, buf = read_body(sock, head, buf)
            if line.startswith("HEAD"):
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
            elif "/204" in line:
                sock.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
            elif "/304" in line:
                sock.sendall(b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n")
            else:
                sock.sendall(b"HTTP/1.1 201 Created\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
    app = apps(handler)
    srv = proxied(make_server, app.addr)
    s = srv.connect()
    rd = Reader(s)
    s.sendall(request("HEAD", "/app/h"))
    r = rd.response(head_request=True)
    assert r.status == 200 and r.header("content-length") == "1234" and r.body == b""
    s.sendall(request("GET", "/app/204"))
    r = rd.response()
    assert r.status == 204 and r.header("content-length") is None
    s.sendall(request("GET", "/app/304"))
    r = rd.response()
    assert r.status == 304 and r.header("etag") == '"v1"'
    s.sendall(request("POST", "/app/c", ["Expect: 100-continue", "Content-Length: 5"]))
    interim = rd._one(False)
    assert interim.status == 100  # once the upstream said 100: it wants the body
    s.sendall(b"hello")
    r = rd.response()
    assert (r.status, r.body) == (201, b"hello")
    s.close()
    assert app.get("expect passed") == 1


def test_expect_continue_refused_upstream_never_gets_the_body(make_server, apps):
    """Expect: 100-continue goes upstream; an upstream that refuses at the
    head (401) is relayed without the client being invited to send its
    body, and the client's connection ends with the lingering close."""
    def handler(sock, app):
        head, rest = read_head(sock)
        if head is None:
            return
        app.count("body bytes", len(rest))
        sock.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nno.\n")
        sock.settimeout(2)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                app.count("body bytes", len(data))
        except OSError:
            return
    app = apps(handler)
    srv = proxied(make_server, app.addr)
    s = srv.connect()
    s.sendall(request("PUT", "/app/f", ["Expect: 100-continue", "Content-Length: 1000000"]))
    rd = Reader(s)
    r = rd._one(False)
    assert (r.status, r.body) == (401, b"no.\n")  # no interim 100 before it
    assert r.header("connection") == "close"
    s.close()
    assert app.get("body bytes") == 0


def test_http10_client_gets_an_until_close_body(make_server, apps):
    app = apps(big_response_handler(100000, "chunked"))
    srv = proxied(make_server, app.addr)
    s = srv.connect()
    s.sendall(request("GET", "/app/x", version="HTTP/1.0"))
    data = Reader(s).read_until_close()
    s.close()
    head, body = data.split(b"\r\n\r\n", 1)
    assert b"chunked" not in head.lower()
    assert b"Connection: close" in head
    assert len(body) == 100000


def test_large_head_is_passed_whole(make_server, apps):
    app = apps(echo_handler)
    srv = proxied(make_server, app.addr, "header_max_bytes 32k;\nfield_line_max_bytes 8k;")
    host = "h" * 3000 + ".test"
    fields = ["X-F%d:%s" % (i, "v" * 100) for i in range(60)]  # no space: rewritten longer
    rs, rd = exchange(srv, request("GET", "/app/big-head", fields, host=host))
    rd.sock.close()
    assert rs[0].status == 200
    head = rs[0].body.split(b"\r\n\r\n")[0].decode()
    assert ("Host: %s" % host) in head and ("X-Forwarded-Host: %s" % host) in head
    assert all(("X-F%d: %s" % (i, "v" * 100)) in head for i in range(60))


def test_expect_continue_upstream_that_ignores_it(make_server, apps):
    """An upstream that never says 100 but waits for the body: after
    proxy_continue_timeout lingerd asks the client for it anyway."""
    app = apps(echo_handler)  # reads the body, never sends 100
    srv = proxied(make_server, app.addr, "proxy_continue_timeout 200ms;")
    s = srv.connect()
    s.sendall(request("POST", "/app/e", ["Expect: 100-continue", "Content-Length: 5"]))
    rd = Reader(s)
    assert rd._one(False).status == 100
    s.sendall(b"later")
    r = rd.response()
    s.close()
    assert r.status == 200 and r.body.endswith(b"\n5\nlater")


def test_each_server_block_proxies_to_its_own_upstream(make_server, apps):
    """Upstream tables are per site and location: the same prefix in two
    server blocks reaches two different apps, chosen by Host, and /metrics
    names the server of each."""
    one = apps(echo_handler)
    two = apps(echo_handler)
    srv = make_server("""
server {
    server_name one.test;
    location /app/ { %s proxy_pass %s; }
}
server {
    server_name two.test;
    location /app/ { %s proxy_pass %s; }
}
""" % (METHODS, one.addr, METHODS, two.addr), uploads=False)
    for host, n in (("two.test", 3), ("one.test", 2)):
        for i in range(n):
            rs, rd = exchange(srv, request("GET", "/app/%d" % i, ["Connection: close"],
                                           host=host))
            rd.sock.close()
            assert rs[0].status == 200
    assert one.get("requests") == 2 and two.get("requests") == 3
    rs, rd = exchange(srv, request("GET", "/metrics", host="one.test"))
    rd.sock.close()
    body = rs[0].body.decode()
    for name, app, n in (("one.test", one, 2), ("two.test", two, 3)):
        assert ('lingerd_upstream_requests_total{server="%s",location="/app/",upstream="%s"}'
                ' %d\n' % (name, app.addr, n)) in body, body
