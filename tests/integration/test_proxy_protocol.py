"""The PROXY protocol (v1, v2) behind a real HAProxy, and headers that break it.

lingerd runs with `listen ... proxy_protocol` and `proxy_protocol_from
127.0.0.1` (HAProxy's address); test clients bind 127.0.0.2 or 127.0.0.3, so
the address lingerd logs and decides on is told apart from HAProxy's. Each
instance has a second, plain listener the test reads /metrics from.
"""

import socket
import ssl
import struct
import subprocess

import pytest

from conftest import BIN, Reader, free_port, request, wait_for
from haproxy import HAPROXY, SKIP_REASON, balancer, metrics  # noqa: F401 (fixture)

needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason=SKIP_REASON)

LOG_FORMAT = 'access_log_format "$remote_addr $balancer_addr $status $request";'
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def lb_config(extra=""):
    """An instance behind the balancer; returns (config text, metrics port)."""
    mport = free_port()
    text = ("listen 127.0.0.1:%d;\nproxy_protocol_from 127.0.0.1;\nhealth_path /healthz;\n"
            "status_allow 127.0.0.1 127.0.0.2;\nlog_level info;\n%s\n%s"
            % (mport, LOG_FORMAT, extra))
    return text, mport


def start_instance(make_server, extra="", **kw):
    text, mport = lb_config(extra)
    srv = make_server(text, listen_options=" proxy_protocol", **kw)
    srv.metrics_port = mport
    return srv


def v2_inet(src, dst, sport, dport, command=0x21, family=0x11, tlvs=b""):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    body += tlvs
    return SIG + bytes([command, family]) + struct.pack("!H", len(body)) + body


def raw_exchange(port, data, source="127.0.0.1", shut=False, timeout=10):
    """Send data from source; return (bytes read, reset seen)."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    got, reset = b"", False
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except (ConnectionResetError, BrokenPipeError):
        reset = True
    finally:
        s.close()
    return got, reset


def get_through(lb, path, source="127.0.0.2"):
    s = lb.connect(source=source)
    try:
        s.sendall(request("GET", path, ["Connection: close"]))
        return Reader(s).response()
    finally:
        s.close()


def log_lines(srv, marker, n=1):
    """The log lines holding marker, once there are n of them (lines are
    written after the loop iteration that answered)."""
    def found():
        return [l for l in srv.log().splitlines() if marker in l]
    wait_for(lambda: len(found()) >= n)
    return found()


def failures(srv):
    m = metrics(srv)
    return {k.split('"')[1]: v for k, v in m.items()
            if k.startswith("lingerd_proxy_failures_total")}


@needs_haproxy
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_haproxy_carries_the_client_address_to_logs_and_status_allow(make_server, balancer,
                                                                     version):
    a = start_instance(make_server)
    b = start_instance(make_server)
    lb = balancer([("a", a.port), ("b", b.port)], proxy=version)
    assert lb.wait_status("a", "UP") and lb.wait_status("b", "UP"), lb.log()
    for i in range(6):  # round robin: three each
        r = get_through(lb, "/about.txt?n=%s%d" % (version, i))
        assert r.status == 200 and r.body.startswith(b"lingerd")
    for srv in (a, b):
        lines = log_lines(srv, "/about.txt?n=", 3)
        assert len(lines) == 3, srv.log()[-2000:]
        for line in lines:
            # the client (127.0.0.2), then the balancer that named it
            assert line.startswith("127.0.0.2 127.0.0.1 200 GET /about.txt?n="), line
    # status_allow decides on the client's address, not HAProxy's
    assert get_through(lb, "/server-status?auto", source="127.0.0.2").status == 200
    assert get_through(lb, "/server-status?auto", source="127.0.0.3").status == 403
    refusal = log_lines(a, "not in status_allow") + log_lines(b, "not in status_allow")
    assert refusal and "peer=127.0.0.3:" in refusal[0] and " via=127.0.0.1:" in refusal[0]
    m = metrics(a)
    key = 'lingerd_proxy_headers_total{version="%s"}' % version[1]
    assert m[key] >= 3, m
    print("HAProxy %s health checks: lingerd counted %d headers without a client (LOCAL)"
          % (version, m["lingerd_proxy_local_total"]))


@needs_haproxy
def test_haproxy_forwardfor_with_real_ip_header(make_server, balancer):
    """Without PROXY: HAProxy's option forwardfor appends the client to
    X-Forwarded-For; a forged left part sent by the client is not believed."""
    srv = make_server("real_ip_from 127.0.0.1;\nreal_ip_header X-Forwarded-For;\n"
                      "health_path /healthz;\n" + LOG_FORMAT)
    lb = balancer([("a", srv.port)], proxy=None, extra="    option forwardfor")
    assert lb.wait_status("a", "UP"), lb.log()
    s = lb.connect(source="127.0.0.3")
    s.sendall(request("GET", "/about.txt?xff", ["X-Forwarded-For: 6.6.6.6",
                                                "Connection: close"]))
    assert Reader(s).response().status == 200
    s.close()
    line = log_lines(srv, "?xff")[0]
    assert line.startswith("127.0.0.3 127.0.0.1 200 "), line
    # straight from an untrusted address, the field is not believed at all
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", srv.port))
    s.sendall(request("GET", "/about.txt?direct", ["X-Forwarded-For: 6.6.6.6",
                                                   "Connection: close"]))
    assert Reader(s).response().status == 200
    s.close()
    line = log_lines(srv, "?direct")[0]
    assert line.startswith("127.0.0.2 - 200 "), line


def test_untrusted_source_with_a_forged_header_is_refused(make_server):
    srv = start_instance(make_server)
    before = failures(srv)["untrusted"]
    forged = b"PROXY TCP4 10.9.8.7 127.0.0.1 4444 80\r\n" + request("GET", "/about.txt")
    got, _ = raw_exchange(srv.port, forged, source="127.0.0.2")
    assert got == b""  # no answer at all: a plain close
    assert failures(srv)["untrusted"] == before + 1
    assert "10.9.8.7" not in srv.log()
    # v2 too, and a client that speaks plain HTTP
    got, _ = raw_exchange(srv.port, v2_inet("10.9.8.7", "127.0.0.1", 1, 80), source="127.0.0.2")
    assert got == b""
    got, _ = raw_exchange(srv.port, request("GET", "/about.txt"), source="127.0.0.2")
    assert got == b""
    assert failures(srv)["untrusted"] == before + 3


GOOD_V1 = b"PROXY TCP4 198.51.100.9 127.0.0.1 5555 80\r\n"
GOOD_V2 = v2_inet("198.51.100.9", "127.0.0.1", 5555, 80)

BROKEN = [
    # (name, bytes, counter)
    ("v1 lower-case", b"proxy TCP4 198.51.100.9 127.0.0.1 5555 80\r\n", "malformed"),
    ("v1 protocol", b"PROXY TCP5 198.51.100.9 127.0.0.1 5555 80\r\n", "malformed"),
    ("v1 wrong family", b"PROXY TCP6 198.51.100.9 127.0.0.1 5555 80\r\n", "malformed"),
    ("v1 source", b"PROXY TCP4 198.51.100.256 127.0.0.1 5555 80\r\n", "malformed"),
    ("v1 destination", b"PROXY TCP4 198.51.100.9 127.0.0 5555 80\r\n", "malformed"),
    ("v1 source port", b"PROXY TCP4 198.51.100.9 127.0.0.1 65536 80\r\n", "malformed"),
    ("v1 destination port", b"PROXY TCP4 198.51.100.9 127.0.0.1 5555 080\r\n", "malformed"),
    ("v1 separator", b"PROXY TCP4 198.51.100.9  127.0.0.1 5555 80\r\n", "malformed"),
    ("v1 LF alone", b"PROXY TCP4 198.51.100.9 127.0.0.1 5555 80\n", "malformed"),
    ("v1 past 107 bytes", b"PROXY UNKNOWN " + b"x" * 100 + b"\r\n", "oversized"),
    ("plain HTTP", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed"),
    ("v2 signature", SIG[:11] + b"\x0b" + GOOD_V2[12:], "malformed"),
    ("v2 version", GOOD_V2[:12] + b"\x11" + GOOD_V2[13:], "malformed"),
    ("v2 command", GOOD_V2[:12] + b"\x2f" + GOOD_V2[13:], "malformed"),
    ("v2 wrong family", GOOD_V2[:13] + b"\x41" + GOOD_V2[14:], "malformed"),
    ("v2 datagram", GOOD_V2[:13] + b"\x12" + GOOD_V2[14:], "malformed"),
    ("v2 INET6 in INET's length", GOOD_V2[:13] + b"\x21" + GOOD_V2[14:], "malformed"),
    ("v2 length past the buffer", SIG + b"\x21\x11\xff\xff" + GOOD_V2[16:], "oversized"),
    ("v2 TLV past the header",
     v2_inet("198.51.100.9", "127.0.0.1", 1, 2, tlvs=b"\x04\x00\x09ab"), "malformed"),
]


def test_malformed_headers_are_cut_cleanly_and_counted(make_server):
    srv = start_instance(make_server, "proxy_protocol_max_bytes 512;")
    before = failures(srv)
    want = dict(before)
    for name, data, counter in BROKEN:
        got, reset = raw_exchange(srv.port, data + request("GET", "/about.txt"))
        assert got == b"" and not reset, (name, got[:80], reset)
        want[counter] += 1
        assert failures(srv) == want, name
    assert "198.51.100.9" not in srv.log()
    # the server still reads good headers, both versions
    for header in (GOOD_V1, GOOD_V2):
        got, _ = raw_exchange(srv.port, header + request("GET", "/about.txt?ok",
                                                         ["Connection: close"]))
        assert got.startswith(b"HTTP/1.1 200 "), got[:80]
    ok = log_lines(srv, "?ok", 2)
    assert len(ok) == 2 and all(l.startswith("198.51.100.9 127.0.0.1 200") for l in ok), ok


def test_a_header_cut_at_every_offset_is_counted_truncated(make_server):
    srv = start_instance(make_server)
    before = failures(srv)["truncated"]
    n = 0
    for header in (GOOD_V1, GOOD_V2):
        for cut in range(1, len(header)):
            got, reset = raw_exchange(srv.port, header[:cut], shut=True)
            assert got == b"" and not reset, (header[:cut], got, reset)
            n += 1
    assert wait_for(lambda: failures(srv)["truncated"] == before + n), failures(srv)
    assert "198.51.100.9" not in srv.log()


def test_a_header_that_does_not_finish_in_time_is_cut(make_server):
    srv = start_instance(make_server, "proxy_protocol_timeout 300ms;")
    before = failures(srv)["timeout"]
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(GOOD_V1[:20])
    assert s.recv(100) == b""  # closed, unanswered, after proxy_protocol_timeout
    s.close()
    assert failures(srv)["timeout"] == before + 1


def test_the_header_comes_before_the_tls_handshake(make_server, tmp_path):
    from tlscerts import TestCA
    leaf = TestCA(str(tmp_path / "ca")).leaf("localhost")
    srv = start_instance(make_server, "tls_certificate %s %s;" % (leaf.cert, leaf.key),
                         tls=True)
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    raw.sendall(GOOD_V2)
    ctx = ssl.create_default_context(cafile=leaf.cert)
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(request("GET", "/about.txt?tls", ["Connection: close"]))
        r = Reader(s).response()
    assert r.status == 200
    line = log_lines(srv, "?tls")[0]
    assert line.startswith("198.51.100.9 127.0.0.1 200 "), line


def test_a_local_header_keeps_the_balancers_address(make_server):
    srv = start_instance(make_server)
    local = SIG + b"\x20\x00\x00\x00"
    got, _ = raw_exchange(srv.port, local + request("GET", "/about.txt?local",
                                                    ["Connection: close"]))
    assert got.startswith(b"HTTP/1.1 200 ")
    got, _ = raw_exchange(srv.port, b"PROXY UNKNOWN\r\n" + request("GET", "/about.txt?unknown",
                                                                   ["Connection: close"]))
    assert got.startswith(b"HTTP/1.1 200 ")
    lines = log_lines(srv, "?local") + log_lines(srv, "?unknown")
    assert len(lines) == 2 and all(l.startswith("127.0.0.1 - 200 ") for l in lines), lines
    assert metrics(srv)["lingerd_proxy_local_total"] == 2


def test_a_proxy_protocol_listener_needs_proxy_protocol_from(tmp_path):
    conf = tmp_path / "l.conf"
    conf.write_text("listen 127.0.0.1:%d proxy_protocol;\n" % free_port())
    r = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "no proxy_protocol_from" in r.stderr, r.stderr


def test_real_ip_header_speaks_for_its_own_request_only(make_server):
    """The address X-Forwarded-For names is the request's: the next request
    on the connection, even one refused before its head parsed (400), is
    the connection's own."""
    srv = make_server("real_ip_from 127.0.0.1;\nreal_ip_header X-Forwarded-For;\n" + LOG_FORMAT)
    for follow, status in ((request("GET", "/about.txt?second"), 200),
                           (b"GET /\x01bad HTTP/1.1\r\nHost: a\r\n\r\n", 400)):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        rd = Reader(s)
        s.sendall(request("GET", "/about.txt?first", ["X-Forwarded-For: 203.0.113.5"]))
        assert rd.response().status == 200
        s.sendall(follow)
        assert rd.response().status == status
        s.close()
    first = log_lines(srv, "?first", 2)
    assert all(l.startswith("203.0.113.5 127.0.0.1 200 ") for l in first), first
    assert log_lines(srv, "?second")[0].startswith("127.0.0.1 - 200 ")
    assert log_lines(srv, " 400 ")[0].startswith("127.0.0.1 - 400 "), srv.log()[-1000:]
