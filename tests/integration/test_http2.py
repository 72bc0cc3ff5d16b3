"""HTTP/2: ALPN h2 and prior-knowledge h2c, the same handlers as HTTP/1.1,
request validation, early answers with RST_STREAM(NO_ERROR), the two-step
GOAWAY and its lingering close, and the abuse limits.

The client is Python's h2 (frame level) over a plain socket or Python's ssl
with ALPN; curl --http2 and nghttp check the same server where a real client
says more. Every wait is bounded; a stream that gets no answer fails.
"""

import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time

import h2.config
import h2.connection
import h2.events
import h2.errors
import h2.exceptions
import h2.settings
import pytest

from conftest import AUTH, Reader, get, request, wait_for
from h2client import counter, metrics
from tlscerts import TestCA
from test_upload_io import faults, shim  # noqa: F401 (fixtures)
from upstream_apps import apps, echo_handler  # noqa: F401 (apps)

MIB = 1024 * 1024


def put_big_file(srv):
    """1 MiB of random bytes as /big.bin; returns them."""
    big = os.urandom(MIB)
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(big)
    return big


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(str(tmp_path_factory.mktemp("ca")))


def tls_conf(ca, extra=""):
    leaf = ca.leaf("localhost")
    return "tls_certificate %s %s;\n%s" % (leaf.cert, leaf.key, extra)


class H2:
    """One HTTP/2 connection driven by Python's h2, over TCP or TLS."""

    def __init__(self, srv, ca=None, timeout=10, validate=True, settings=None, sock=None):
        raw = sock or socket.create_connection((srv.host, srv.port), timeout=timeout)
        self.alpn = None
        if ca is not None:
            ctx = ssl.create_default_context(cafile=ca.cert)
            ctx.set_alpn_protocols(["h2", "http/1.1"])
            raw = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
            self.alpn = raw.selected_alpn_protocol()
        self.sock = raw
        self.sock.settimeout(timeout)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                        validate_outbound_headers=validate,
                                        normalize_outbound_headers=validate,
                                        validate_inbound_headers=True)
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()
        self.streams = {}   # id -> {"headers", "data", "ended", "reset"}
        self.events = []
        self.closed = False
        self.reset_by_peer = False
        self.goaways = []
        self.rbuf = b""

    def _take_goaways(self, data):
        """Whole frames of data, without the GOAWAYs, which are recorded
        here: h2 ends its connection state at the first GOAWAY, while a
        graceful GOAWAY lets the streams below its last id finish."""
        self.rbuf += data
        out = b""
        while len(self.rbuf) >= 9:
            length = int.from_bytes(self.rbuf[:3], "big")
            if len(self.rbuf) < 9 + length:
                break
            frame, self.rbuf = self.rbuf[:9 + length], self.rbuf[9 + length:]
            if frame[3] == 0x7:
                last, code = struct.unpack(">II", frame[9:17])
                self.goaways.append((last & 0x7fffffff, code))
            else:
                out += frame
        return out

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def stream(self, sid):
        return self.streams.setdefault(sid, {"headers": None, "data": b"", "ended": False,
                                             "reset": None, "trailers": None})

    def request(self, path, method="GET", headers=(), body=None, end=True, authority="localhost"):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":path", path), (":scheme", "https"),
                (":authority", authority)] + list(headers)
        self.conn.send_headers(sid, hdrs, end_stream=end and body is None)
        if body is not None:
            self.send_body(sid, body, end=end)
        self.flush()
        self.stream(sid)
        return sid

    def send_body(self, sid, body, end=True):
        """Send as much of body as the windows allow; returns bytes sent."""
        sent = 0
        while sent < len(body):
            room = min(self.conn.local_flow_control_window(sid),
                       self.conn.max_outbound_frame_size, len(body) - sent)
            if room <= 0:
                break
            self.conn.send_data(sid, body[sent:sent + room],
                                end_stream=end and sent + room == len(body))
            sent += room
        self.flush()
        return sent

    def send_until_reset(self, sid, body, piece, timeout=30):
        """Send body (without END_STREAM) in pieces of at most piece bytes
        as the windows allow, reading between them, until it is all sent,
        the stream is reset or closed, or timeout passes: how a client
        still sending meets an early answer. Returns the bytes sent."""
        st = self.stream(sid)
        sent = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and st["reset"] is None and sent < len(body):
            try:
                sent += self.send_body(sid, body[sent:sent + piece], end=False)
            except h2.exceptions.StreamClosedError:
                break
            self.pump(0.05)
        return sent

    def pump(self, timeout=0.5):
        """Read once (up to timeout); handle events. False at the end of stream."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        except ssl.SSLWantReadError:
            return True
        except (ConnectionResetError, ssl.SSLError):
            self.reset_by_peer = True  # over TLS: a reset, or an end without close_notify
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        for ev in self.conn.receive_data(self._take_goaways(data)):
            self.events.append(ev)
            if isinstance(ev, h2.events.ResponseReceived):
                self.stream(ev.stream_id)["headers"] = dict(ev.headers)
            elif isinstance(ev, h2.events.TrailersReceived):
                self.stream(ev.stream_id)["trailers"] = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                self.stream(ev.stream_id)["data"] += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                self.stream(ev.stream_id)["ended"] = True
            elif isinstance(ev, h2.events.StreamReset):
                self.stream(ev.stream_id)["reset"] = ev.error_code
        try:
            self.flush()
        except OSError:
            pass
        return True

    def wait(self, pred, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            if not self.pump(min(0.5, max(0.01, deadline - time.monotonic()))):
                return pred()
        return pred()

    def response(self, sid, timeout=15):
        st = self.stream(sid)
        assert self.wait(lambda: st["ended"] or st["reset"] is not None, timeout), \
            "stream %d unanswered" % sid
        return st

    def get(self, path, headers=(), method="GET"):
        return self.response(self.request(path, method=method, headers=headers))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def h1_get(srv, path, headers=()):
    return get(srv, path, headers)


# ---------------------------------------------------------------------------
# Choosing HTTP/2


def test_alpn_offers_h2_then_http11(make_server, ca):
    srv = make_server(tls_conf(ca), tls=True)
    c = H2(srv, ca)
    assert c.alpn == "h2"
    r = c.get("/index.html")
    assert r["headers"][":status"] == "200" and r["data"]
    c.close()
    # a client offering only http/1.1 gets it
    ctx = ssl.create_default_context(cafile=ca.cert)
    ctx.set_alpn_protocols(["http/1.1"])
    with ctx.wrap_socket(socket.create_connection((srv.host, srv.port), timeout=10),
                         server_hostname="localhost") as s:
        assert s.selected_alpn_protocol() == "http/1.1"
        s.sendall(request("GET", "/index.html"))
        r = Reader(s, 10).response()
        assert r is not None and r.status == 200 and r.body, r


def test_http2_off_offers_only_http11(make_server, ca):
    srv = make_server(tls_conf(ca, "http2 off;"), tls=True)
    ctx = ssl.create_default_context(cafile=ca.cert)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with ctx.wrap_socket(socket.create_connection((srv.host, srv.port), timeout=10),
                         server_hostname="localhost") as s:
        assert s.selected_alpn_protocol() == "http/1.1"


def test_h2c_prior_knowledge_beside_http11(make_server):
    srv = make_server("http2_cleartext on;")
    c = H2(srv)
    r = c.get("/index.html")
    assert r["headers"][":status"] == "200"
    with open(os.path.join(srv.root, "index.html"), "rb") as f:
        assert r["data"] == f.read()
    c.close()
    assert h1_get(srv, "/index.html").status == 200  # HTTP/1.1 on the same port


def test_h2c_off_by_default(make_server):
    srv = make_server()
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 "), data  # an HTTP/1.1 refusal, not SETTINGS
    s.close()


def test_curl_and_nghttp_over_tls(make_server, ca):
    if not shutil.which("curl") or not shutil.which("nghttp"):
        pytest.skip("curl or nghttp (nghttp2-client) missing")
    srv = make_server(tls_conf(ca), tls=True)
    url = "https://localhost:%d/index.html" % srv.port
    out = subprocess.run(["curl", "-sS", "--http2", "--cacert", ca.cert, "--resolve",
                          "localhost:%d:127.0.0.1" % srv.port, "-o", "/dev/null", "-w",
                          "%{http_version} %{http_code}", url],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout == "2 200", out.stderr
    out = subprocess.run(["nghttp", "-n", "-s", "-v", "https://127.0.0.1:%d/index.html" % srv.port],
                         capture_output=True, text=True, timeout=30)
    assert ":status: 200" in out.stdout and "END_STREAM" in out.stdout, out.stdout[-2000:]


# ---------------------------------------------------------------------------
# The same handlers


def test_static_get_head_range_conditional(make_server, ca):
    srv = make_server(tls_conf(ca), tls=True)
    big = put_big_file(srv)
    c = H2(srv, ca)
    r = c.get("/big.bin")
    h = r["headers"]
    assert h[":status"] == "200" and r["data"] == big
    assert h["content-length"] == str(MIB) and "date" in h and h["server"] == "lingerd"
    for hop in ("connection", "keep-alive", "transfer-encoding"):
        assert hop not in h
    r = c.get("/big.bin", method="HEAD")
    assert r["headers"][":status"] == "200" and r["data"] == b""
    assert r["headers"]["content-length"] == str(MIB)
    r = c.get("/big.bin", headers=[("range", "bytes=100-199")])
    assert r["headers"][":status"] == "206" and r["data"] == big[100:200]
    assert r["headers"]["content-range"] == "bytes 100-199/%d" % MIB
    etag = h["etag"]
    r = c.get("/big.bin", headers=[("if-none-match", etag)])
    assert r["headers"][":status"] == "304" and r["data"] == b""
    r = c.get("/missing")
    assert r["headers"][":status"] == "404"
    c.close()


def test_concurrent_downloads_on_one_connection(make_server):
    srv = make_server("http2_cleartext on;")
    big = put_big_file(srv)
    c = H2(srv)
    sids = [c.request("/big.bin") for _ in range(6)]
    for sid in sids:
        r = c.response(sid, timeout=30)
        assert r["headers"][":status"] == "200" and r["data"] == big, sid
    c.close()


def test_status_and_metrics_over_h2(make_server):
    srv = make_server("http2_cleartext on;")
    c = H2(srv)
    assert c.get("/index.html")["headers"][":status"] == "200"
    r = c.get("/server-status?auto")
    text = r["data"].decode()
    assert r["headers"][":status"] == "200"
    assert "HTTP2Connections: 1\n" in text and "HTTP2Requests: 2\n" in text, text
    r = c.get("/metrics")
    text = r["data"].decode()
    assert "lingerd_http2_connections_total 1\n" in text
    assert "lingerd_http2_streams_total 3\n" in text
    assert 'lingerd_http2_abuse_total{kind="rapid_reset"} 0\n' in text
    c.close()


def test_access_log_says_http2(make_server):
    srv = make_server("http2_cleartext on;\naccess_log_format \"$request $protocol $status\";")
    c = H2(srv)
    c.get("/index.html")
    c.close()
    assert wait_for(lambda: "GET /index.html HTTP/2.0 HTTP/2.0 200" in srv.log()), srv.log()


@pytest.mark.parametrize("with_length", [True, False])
def test_proxy_relays_request_bodies_and_answers(make_server, apps, with_length):
    """The deferred handler (proxy_pass) over a stream: the body reaches
    the application (with its length, or chunked when the stream gave
    none), the answer comes back."""
    app = apps(echo_handler)
    srv = make_server("http2_cleartext on;\nbody_max_bytes 64m;\nlocation /app/ {\n"
                      " methods GET POST;\n proxy_pass %s;\n}\n" % app.addr)
    c = H2(srv)
    r = c.get("/app/a?b=1")
    assert r["headers"][":status"] == "200" and r["headers"]["x-app"] == "echo"
    assert r["data"].startswith(b"GET /app/a?b=1 HTTP/1.1\r\n")
    assert "x-secret" not in r["headers"] and "keep-alive" not in r["headers"]
    body = os.urandom(3 * MIB)
    hdrs = [("content-length", str(len(body)))] if with_length else []
    sid = c.request("/app/up", method="POST", headers=hdrs, body=b"", end=False)
    sent = 0
    st = c.stream(sid)
    deadline = time.monotonic() + 30
    while sent < len(body) and time.monotonic() < deadline and st["reset"] is None:
        sent += c.send_body(sid, body[sent:], end=True)
        if sent < len(body):
            c.pump(0.1)
    r = c.response(sid, timeout=30)
    assert r["headers"][":status"] == "200", r
    head, rest = r["data"].split(b"\r\n\r\n", 1)
    n, got = rest.split(b"\n", 1)
    assert int(n) == len(body) and got == body
    if not with_length:
        assert b"Transfer-Encoding: chunked" in head
    c.close()


def chunked_handler(sock, app):
    """Answer one request with a chunked body, then close."""
    from upstream_apps import read_body, read_head
    head, buf = read_head(sock, b"")
    if head is None:
        return
    read_body(sock, head, buf)
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")


def test_proxy_chunked_answer_becomes_data_frames(make_server, apps):
    app = apps(chunked_handler)
    srv = make_server("http2_cleartext on;\nlocation /app/ {\n proxy_pass %s;\n}\n" % app.addr)
    c = H2(srv)
    r = c.get("/app/x")
    assert r["headers"][":status"] == "200" and r["data"] == b"hello world", r
    assert "transfer-encoding" not in r["headers"] and "content-length" not in r["headers"]
    c.close()


# ---------------------------------------------------------------------------
# Request validation (RFC 9113 §8.2-8.3): a stream error, the connection goes
# on. Each malformed header block is in test_http2_frames.py (MALFORMED).


def test_content_length_disagreeing_with_data(make_server):
    srv = make_server("http2_cleartext on;")
    c = H2(srv, validate=False)
    sid = c.request("/upload/x", method="PUT", headers=[("content-length", "10"),
                                                       ("authorization", AUTH)],
                    body=b"12345")
    r = c.response(sid)
    assert r["reset"] == h2.errors.ErrorCodes.PROTOCOL_ERROR, r
    assert c.get("/index.html")["headers"][":status"] == "200"
    c.close()


def test_header_list_too_large_gets_431(make_server):
    srv = make_server("http2_cleartext on;\nhttp2_max_header_list_size 4k;")
    c = H2(srv)
    r = c.get("/index.html", headers=[("x-big%d" % i, "v" * 1000) for i in range(8)])
    assert r["headers"][":status"] == "431"
    assert c.get("/index.html")["headers"][":status"] == "200"
    r = c.get("/metrics")
    assert 'lingerd_http2_abuse_total{kind="header_list"} 1\n' in r["data"].decode()
    c.close()


# ---------------------------------------------------------------------------
# Request bodies and early answers


def test_upload_over_h2(make_server):
    srv = make_server("http2_cleartext on;\nbody_max_bytes 8m;")
    body = os.urandom(3 * MIB + 123)
    c = H2(srv)
    sid = c.request("/upload/up.bin", method="PUT",
                    headers=[("authorization", AUTH), ("content-length", str(len(body)))],
                    body=b"", end=False)
    sent = 0
    deadline = time.monotonic() + 30
    st = c.stream(sid)
    while sent < len(body) and time.monotonic() < deadline and st["reset"] is None:
        n = c.send_body(sid, body[sent:], end=True)
        sent += n
        if sent < len(body):
            c.pump(0.2)
    assert sent == len(body), st
    r = c.response(sid, timeout=30)
    assert r["headers"][":status"] in ("201", "204"), r
    with open(os.path.join(srv.root, "upload", "up.bin"), "rb") as f:
        assert f.read() == body
    c.close()


def test_early_401_with_rst_no_error_while_another_stream_downloads(make_server):
    """The seed over HTTP/2: a 16 MiB unauthenticated upload on one stream
    while another downloads 1 MiB. The upload reads its whole 401, then
    RST_STREAM(NO_ERROR); the download completes on the same connection."""
    srv = make_server("http2_cleartext on;")
    big = put_big_file(srv)
    c = H2(srv)
    body = b"x" * (16 * MIB)
    up = c.request("/upload/seed.bin", method="PUT",
                   headers=[("content-length", str(len(body)))], body=b"", end=False)
    down = c.request("/big.bin")
    st = c.stream(up)
    sent = c.send_until_reset(up, body, 256 * 1024)
    r = c.response(up)
    assert r["headers"] is not None and r["headers"][":status"] == "401", r
    assert r["ended"], "the 401 came whole (END_STREAM) before the reset"
    assert int(r["headers"]["content-length"]) == len(r["data"]) > 0
    assert c.wait(lambda: st["reset"] is not None), "no RST_STREAM after the early answer"
    assert st["reset"] == h2.errors.ErrorCodes.NO_ERROR
    d = c.response(down, timeout=30)
    assert d["headers"][":status"] == "200" and d["data"] == big
    assert c.get("/index.html")["headers"][":status"] == "200"
    assert not c.closed
    c.close()
    assert sent < len(body)  # the client stopped when told, not at the end


# ---------------------------------------------------------------------------
# The close: two-step GOAWAY, then the same close path as HTTP/1.1


def raw_data_frame(sid, payload):
    """A DATA frame built by hand: h2 will not send on a stream the server
    reset, but a real client's DATA may still be in flight."""
    return struct.pack(">I", len(payload))[1:] + b"\x00\x00" + struct.pack(">I", sid) + payload


def goaway_on_idle_while_sending(srv, ca=None):
    """An upload refused early (401, RST_STREAM(NO_ERROR)); the client keeps
    sending DATA on that stream as a real one's in-flight bytes would, and
    the server's keep-alive expires meanwhile. Returns (goaways, reset_seen,
    status)."""
    c = H2(srv, ca)
    up = c.request("/upload/idle.bin", method="PUT",
                   headers=[("content-length", str(64 * MIB))], body=b"", end=False)
    c.send_body(up, b"y" * 32768, end=False)
    st = c.stream(up)
    assert c.wait(lambda: st["reset"] is not None), "no early answer"
    status = st["headers"][":status"] if st["headers"] else None
    chunk = raw_data_frame(up, b"z" * 16384)
    deadline = time.monotonic() + 15
    reset = False
    while time.monotonic() < deadline:
        try:
            c.sock.sendall(chunk)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            reset = True
            break
        if not c.pump(0.02):
            break
        if c.goaways and c.goaways[-1][0] < 2 ** 31 - 1 and c.closed:
            break
    reset = reset or c.reset_by_peer
    if not reset and not c.closed:
        # the final GOAWAY came: stop sending and read to the end
        c.wait(lambda: c.closed, timeout=10)
        reset = c.reset_by_peer
    c.close()
    return c.goaways, reset, status


@pytest.mark.parametrize("tls", [False, True])
def test_goaway_on_idle_expiry_reaches_a_client_still_sending(make_server, ca, tls):
    if tls:
        srv = make_server(tls_conf(ca, "keepalive_timeout 1s;"), tls=True)
    else:
        srv = make_server("http2_cleartext on;\nkeepalive_timeout 1s;")
    goaways, reset, status = goaway_on_idle_while_sending(srv, ca if tls else None)
    assert status == "401"
    assert not reset, "the close reset the connection: %s" % goaways
    # two steps: 2^31-1 first, then the real last stream, both NO_ERROR
    assert len(goaways) >= 2, goaways
    assert goaways[0] == (2 ** 31 - 1, h2.errors.ErrorCodes.NO_ERROR), goaways
    assert goaways[-1] == (1, h2.errors.ErrorCodes.NO_ERROR), goaways
    if tls:
        return  # (the counters are read over plain HTTP below)
    r = get(srv, "/metrics")
    text = r.body.decode()
    assert 'lingerd_http2_goaway_sent_total{code="NO_ERROR"} 2\n' in text
    assert 'lingerd_http2_rst_stream_sent_total{code="NO_ERROR"} 1\n' in text
    discarded = [l for l in text.splitlines()
                 if l.startswith("lingerd_http2_discarded_bytes_total ")]
    assert discarded and int(discarded[0].split()[1]) > 0, discarded


@pytest.mark.release_only
def test_goaway_on_idle_expiry_is_lost_to_a_reset_without_lingering(make_server):
    """The naive close: with lingering_close off the same client sees a
    reset (its in-flight DATA meets a closed socket), and so may lose the
    GOAWAY and the answers before it."""
    srv = make_server("http2_cleartext on;\nkeepalive_timeout 1s;\nlingering_close off;")
    resets = 0
    for _ in range(3):
        _, reset, _ = goaway_on_idle_while_sending(srv)
        resets += reset
    assert resets > 0


def test_keepalive_requests_ends_with_graceful_goaway(make_server):
    srv = make_server("http2_cleartext on;\nkeepalive_requests 3;")
    c = H2(srv)
    for _ in range(3):
        assert c.get("/index.html")["headers"][":status"] == "200"
    assert c.wait(lambda: c.closed, timeout=15), "the connection stayed open"
    assert not c.reset_by_peer
    assert c.goaways[0][0] == 2 ** 31 - 1 and c.goaways[-1] == (5, 0), c.goaways


def test_streams_in_flight_finish_after_goaway(make_server):
    """keepalive_requests reached while more streams are open: those the
    last GOAWAY covers finish, whole."""
    srv = make_server("http2_cleartext on;\nkeepalive_requests 2;")
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(os.urandom(MIB))
    c = H2(srv)
    sids = [c.request("/big.bin") for _ in range(3)]
    for sid in sids:
        r = c.response(sid, timeout=30)
        assert r["headers"][":status"] == "200" and len(r["data"]) == MIB, sid
    assert c.wait(lambda: c.closed, timeout=15)
    assert c.goaways[-1] == (5, 0), c.goaways


def drain_by_signal(srv, sig, timeout):
    """One HTTP/2 connection that served stream 1, then sig: it must end
    with the two GOAWAYs (2^31-1, then 1) and no reset."""
    c = H2(srv)
    assert c.get("/index.html")["headers"][":status"] == "200"
    srv.send_signal(sig)
    assert c.wait(lambda: c.closed, timeout=timeout), c.goaways
    assert not c.reset_by_peer
    assert c.goaways[0][0] == 2 ** 31 - 1 and c.goaways[-1] == (1, 0), c.goaways


def test_graceful_stop_sends_two_goaways(make_server):
    srv = make_server("http2_cleartext on;\nworkers 1;")
    drain_by_signal(srv, signal.SIGQUIT, 20)
    assert srv.stop() == 0


# ---------------------------------------------------------------------------
# Abuse: each cut with its code and counted; other clients still served


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def abuse_count(srv, kind):
    return counter(metrics(srv), "lingerd_http2_abuse_total", kind=kind)


def others_served(srv):
    """Another client, on a connection of its own, is answered."""
    other = H2(srv)
    ok = other.get("/index.html")["headers"][":status"] == "200"
    other.close()
    return ok


def cut_with(c, code, timeout=15):
    """The connection ends with GOAWAY(code) and a close."""
    c.wait(lambda: c.closed, timeout)
    return c.closed and c.goaways and c.goaways[-1][1] == code


def rapid_resets(c):
    for _ in range(60):
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(":method", "GET"), (":path", "/index.html"),
                                  (":scheme", "http"), (":authority", "localhost")])
        c.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
    c.flush()


def continuation_flood(c):
    field = b"\x00\x03x-a\x01b"  # literal, not indexed: "x-a: b"
    head = b"\x82\x84\x86\x41\x09localhost"  # GET / http, :authority localhost
    c.sock.sendall(frame(0x1, 0x0, 1, head))
    for _ in range(40):
        c.sock.sendall(frame(0x9, 0x0, 1, field))


def ping_flood(c):
    c.sock.sendall(b"".join(frame(0x6, 0x0, 0, b"%08d" % i) for i in range(150)))


FLOODS = {
    "rapid_reset": ("http2_max_resets 50;", rapid_resets),
    "continuation": ("http2_max_continuations 16;", continuation_flood),
    "control_flood": ("http2_max_control_frames 100;", ping_flood),
}


@pytest.mark.parametrize("kind", sorted(FLOODS))
def test_flood_is_cut_with_enhance_your_calm(make_server, kind):
    conf, attack = FLOODS[kind]
    srv = make_server("http2_cleartext on;\n" + conf)
    c = H2(srv)
    try:
        attack(c)
    except OSError:
        pass  # cut while still sending
    assert cut_with(c, h2.errors.ErrorCodes.ENHANCE_YOUR_CALM), c.goaways
    assert others_served(srv)
    assert abuse_count(srv, kind) == 1


def test_zero_window_stall_resets_the_stream(make_server):
    srv = make_server("http2_cleartext on;\nsend_timeout 1s;")
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(os.urandom(MIB))
    c = H2(srv, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    sid = c.request("/big.bin")
    r = c.response(sid, timeout=15)
    assert r["headers"][":status"] == "200" and r["data"] == b""
    assert r["reset"] == h2.errors.ErrorCodes.CANCEL, r
    assert c.get("/index.html", method="HEAD")["headers"][":status"] == "200"
    c.close()
    assert abuse_count(srv, "stall") == 1


def test_stream_ids_near_the_end_get_a_graceful_goaway(make_server):
    srv = make_server("http2_cleartext on;")
    c = H2(srv)
    sid = 0x7fff0001
    c.conn.highest_outbound_stream_id = sid - 2
    sid = c.request("/index.html")
    assert c.response(sid)["headers"][":status"] == "200"
    assert c.wait(lambda: c.closed, timeout=15)
    assert c.goaways[0][0] == 2 ** 31 - 1 and c.goaways[-1] == (sid, 0), c.goaways
    assert abuse_count(srv, "stream_ids") == 1


def test_streams_over_the_cap_end_the_connection(make_server):
    """Past http2_max_concurrent_streams, once our SETTINGS is acknowledged,
    nghttp2 ends the connection with GOAWAY(PROTOCOL_ERROR) (RFC 9113
    §5.1.2 allows a stream or a connection error); the streams below go on
    being answered up to the GOAWAY's last id, and other clients are served."""
    srv = make_server("http2_cleartext on;\nhttp2_max_concurrent_streams 2;")
    c = H2(srv)
    assert c.wait(lambda: c.conn.remote_settings.max_concurrent_streams == 2)
    block = b"\x82\x84\x86\x41\x09localhost"  # GET / http localhost, no END_STREAM
    c.sock.sendall(b"".join(frame(0x1, 0x4, sid, block) for sid in (1, 3, 5)))
    assert c.wait(lambda: c.closed), c.goaways
    assert c.goaways[-1] == (3, h2.errors.ErrorCodes.PROTOCOL_ERROR), c.goaways
    assert others_served(srv)


def test_a_held_disk_shuts_the_upload_window(make_server, faults):
    """Flow control tied to the consumer: while the upload's flush is held
    on the disk, the stream's window stays shut (the server buffers no more
    than its upload buffers and one window); released, the upload lands."""
    from test_upload_io import held, release, slow_server
    srv = slow_server(make_server, faults)
    body = os.urandom(6 * MIB)
    srv.stop()
    with open(srv.conf, "a") as f:
        # one I/O thread: the held flush keeps the body's next write waiting
        f.write("http2_cleartext on;\nio_threads 1;\n")
    srv.start()
    c = H2(srv)
    sid = c.request("/upload/slow/f.bin", method="PUT",
                    headers=[("authorization", AUTH), ("content-length", str(len(body)))],
                    body=b"", end=False)
    sent = 0
    try:
        deadline = time.monotonic() + 30
        while not held(faults) and time.monotonic() < deadline and sent < len(body):
            sent += c.send_body(sid, body[sent:], end=True)
            c.pump(0.05)
        assert held(faults), "no flush started"
        # the window shuts: once it is, nothing more can be sent however long we wait
        stuck_at = None
        for _ in range(40):
            sent += c.send_body(sid, body[sent:], end=True)
            c.pump(0.05)
            if c.conn.local_flow_control_window(sid) == 0:
                stuck_at = sent
                break
        assert stuck_at is not None, "the window never shut"
        for _ in range(10):
            c.pump(0.1)
            sent += c.send_body(sid, body[sent:], end=True)
        assert sent == stuck_at < len(body), (sent, stuck_at)
    finally:
        release(faults)
    deadline = time.monotonic() + 30
    st = c.stream(sid)
    while sent < len(body) and time.monotonic() < deadline and st["reset"] is None:
        sent += c.send_body(sid, body[sent:], end=True)
        c.pump(0.05)
    r = c.response(sid, timeout=30)
    assert r["headers"][":status"] == "204", r
    with open(os.path.join(srv.root, "upload", "slow", "f.bin"), "rb") as f:
        assert f.read() == body
    c.close()


def test_reload_drains_with_two_goaways(make_server):
    """A reload: the old worker's HTTP/2 connection ends gracefully (two
    GOAWAYs, then the close); a new connection is served by the new one."""
    srv = make_server("http2_cleartext on;")
    drain_by_signal(srv, signal.SIGHUP, 30)
    assert others_served(srv)


def test_h2c_behind_a_proxy_protocol_header(make_server):
    """A balancer's PROXY header, then the HTTP/2 preface: the request is
    answered over HTTP/2 and logged with the client the header named."""
    srv = make_server("http2_cleartext on;\nproxy_protocol_from 127.0.0.1;\n"
                      "access_log_format \"$remote_addr $request\";",
                      listen_options=" proxy_protocol")
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    s.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n")
    c = H2(srv, sock=s)
    assert c.get("/index.html")["headers"][":status"] == "200"
    c.close()
    assert wait_for(lambda: "192.0.2.7 GET /index.html HTTP/2.0" in srv.log()), srv.log()
