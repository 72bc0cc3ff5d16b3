"""HTTP/2 behaviour: the same answers as HTTP/1.1, ALPN, real clients.

Static files (GET, HEAD, ranges, conditionals, gzip) are asked for over both
protocols on the same TLS server and must agree on status, body and
validators; an h2 answer carries no connection-specific field (RFC 9113
§8.2.2). :authority picks the virtual host. ALPN offers h2 first and falls
back to HTTP/1.1; `http2 off` never gives h2; h2c needs `http2_cleartext`.
curl --http2, nghttp and h2load (the reference clients) fetch files.
Concurrency: 32 streams at once are all answered; a HEADERS past
http2_max_concurrent_streams is refused on its stream before the client has
acknowledged the setting, and after that either on its stream or with
GOAWAY(PROTOCOL_ERROR) (RFC 9113 §5.1.2, §5.4.1). The `h2` package is
used as a strict peer too: its state machine rejects any frame of ours or
the server's that breaks the RFC.
"""

import os
import re
import shutil
import socket
import ssl
import subprocess

import h2.config
import h2.connection
import h2.events
import pytest

from conftest import AUTH
from h2client import (ENABLE_PUSH, ERR, PREFACE, H2Client, assert_still_serves, counter, data,
                      encode_headers, h2c_server, headers, http1_get, metrics, request_fields,
                      settings, tls_context, tls_server)
from tlscerts import TestCA
from upstream_apps import apps, echo_handler  # noqa: F401 (apps: a fixture)

COMPARED = ("content-length", "content-type", "etag", "last-modified", "content-range",
            "content-encoding", "accept-ranges", "vary", "location", "cache-control")


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(str(tmp_path_factory.mktemp("ca")))


@pytest.fixture
def tsrv(make_server, ca):
    srv = tls_server(make_server, ca)
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(bytes(range(256)) * 4096)  # 1 MiB
    return srv


def h2_client(srv, ca):
    c = H2Client.connect(srv, ca).handshake()
    if srv.tls:
        assert c.alpn == "h2"
    return c


# ---------------------------------------------------------------------------
# The same answers over both protocols


def etag_of(srv, ca, path):
    r = http1_get(srv, path, ca)
    assert r.status == 200 and r.header("etag"), r
    return r.header("etag"), r.header("last-modified")


CASES = [
    ("GET", "/index.html", []),
    ("HEAD", "/index.html", []),
    ("GET", "/", []),
    ("GET", "/nope.html", []),
    ("GET", "/big.bin", []),
    ("GET", "/big.bin", [("range", "bytes=0-99")]),
    ("GET", "/big.bin", [("range", "bytes=1048000-")]),
    ("GET", "/big.bin", [("range", "bytes=-10")]),
    ("HEAD", "/big.bin", [("range", "bytes=5-9")]),
    ("GET", "/big.bin", [("range", "bytes=2000000-")]),
    ("GET", "/index.html", [("if-none-match", "ETAG")]),
    ("GET", "/index.html", [("if-none-match", '"other"')]),
    ("GET", "/index.html", [("if-modified-since", "LASTMOD")]),
    ("GET", "/index.html", [("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")]),
    ("GET", "/index.html", [("if-match", '"other"')]),
    ("GET", "/index.html", [("if-unmodified-since", "Thu, 01 Jan 1970 00:00:00 GMT")]),
    ("GET", "/index.html", [("range", "bytes=0-9"), ("if-range", "ETAG")]),
    ("GET", "/index.html", [("range", "bytes=0-9"), ("if-range", '"other"')]),
    ("GET", "/style.css", [("accept-encoding", "gzip")]),
    ("DELETE", "/index.html", []),
    ("GET", "/upload/", []),
]


def test_static_answers_match_http1(tsrv, ca):
    """Every case asked over HTTP/1.1 and over h2 on one connection: the
    status, body and the fields that describe the representation agree."""
    etag, lastmod = etag_of(tsrv, ca, "/index.html")
    c = h2_client(tsrv, ca)
    for method, path, extra in CASES:
        extra = [(k, v.replace("ETAG", etag).replace("LASTMOD", lastmod)) for k, v in extra]
        one = http1_get(tsrv, path, ca, ["%s: %s" % kv for kv in extra], method=method)
        st = c.get(path, method=method, extra=extra)
        what = "%s %s %s" % (method, path, extra)
        assert st.reset is None and st.ended, (what, c.describe())
        assert st.status == one.status, (what, st.headers, one)
        assert bytes(st.body) == one.body, what
        for name in COMPARED:
            assert st.field(name) == one.header(name), (what, name, st.headers, one.headers)
        # (no connection-specific field, lowercase names: h2client checks every answer)
        assert st.field("date") and st.field("server"), st.headers
        if method == "HEAD":
            assert not st.body
    assert not c.goaways


def test_multipart_ranges_match_http1(tsrv, ca):
    """Two ranges: a multipart/byteranges body whose boundary may differ;
    the status, type and the parts' bytes agree."""
    c = h2_client(tsrv, ca)
    st = c.get("/big.bin", extra=[("range", "bytes=0-9,100-109")])
    one = http1_get(tsrv, "/big.bin", ca, ["Range: bytes=0-9,100-109"])
    assert st.status == one.status
    if one.status == 206 and one.header("content-type", "").startswith("multipart/"):
        strip = lambda body, ct: body.replace(ct.split("boundary=")[1].encode(), b"B")
        assert strip(bytes(st.body), st.field("content-type")) == \
            strip(one.body, one.header("content-type"))
    else:
        assert bytes(st.body) == one.body


def test_status_page_and_metrics_over_h2(tsrv, ca):
    """Both pages answer over h2 and agree: this connection and its streams
    are counted (?auto keys as the contract's Changes name them)."""
    from test_status import parse_exposition
    c = h2_client(tsrv, ca)
    st = c.get("/server-status?auto")
    assert st.status == 200, c.describe()
    auto = dict(line.split(": ", 1) for line in bytes(st.body).decode().splitlines()[1:])
    st = c.get("/metrics")
    assert st.status == 200
    m = parse_exposition(bytes(st.body).decode())
    assert int(auto["HTTP2Connections"]) == counter(m, "lingerd_http2_connections_total") == 1
    assert int(auto["HTTP2Streams"]) >= 1 and counter(m, "lingerd_http2_streams_total") >= 2
    assert counter(m, "lingerd_tls_alpn_total", protocol="h2") == 1


def test_request_counts_by_protocol_and_access_log(make_server, ca, tmp_path):
    log = str(tmp_path / "access.log")
    srv = tls_server(make_server, ca, "access_log %s;\naccess_log_format "
                     "\"$protocol $request $status\";" % log)
    before = metrics(srv, ca)
    c = h2_client(srv, ca)
    for _ in range(3):
        assert c.get("/index.html").status == 200
    c.close()
    after = metrics(srv, ca)
    h1 = 'lingerd_requests_total{protocol="HTTP/1.1"}'
    h2n = 'lingerd_requests_total{protocol="HTTP/2.0"}'
    if h2n in after:
        assert after[h2n] - before.get(h2n, 0) == 3, after
        assert after[h1] - before[h1] == 1  # the first /metrics read
    else:  # the contract's other choice: a family of its own
        assert counter(after, "lingerd_http2_requests_total") - \
            counter(before, "lingerd_http2_requests_total") == 3, sorted(after)
    assert counter(after, "lingerd_http2_connections_total") - \
        counter(before, "lingerd_http2_connections_total") == 1
    assert counter(after, "lingerd_http2_streams_total") - \
        counter(before, "lingerd_http2_streams_total") == 3

    def lines():
        try:
            with open(log) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []
    from conftest import wait_for
    assert wait_for(lambda: sum(1 for l in lines() if l.startswith("HTTP/2.0")) == 3), lines()
    assert "HTTP/2.0 GET /index.html HTTP/2.0 200" in lines(), lines()


def test_request_trailers_and_body_over_h2(tsrv, ca):
    """A PUT whose body ends with trailers (a HEADERS with END_STREAM)."""
    c = h2_client(tsrv, ca)
    sid = c.request("PUT", "/upload/t.txt", extra=[("authorization", AUTH)], end_stream=False)
    c.send(data(sid, b"body then trailers"))
    c.send(headers(sid, encode_headers([("x-checksum", "none")]), end_stream=True))
    assert c.wait(sid).status == 201, c.describe()
    assert bytes(c.get("/upload/t.txt", extra=[("authorization", AUTH)]).body) == \
        b"body then trailers"


def test_expect_100_continue_sends_no_100(tsrv, ca):
    """Over h2 the stream's window says when to send: no 100 (Continue)
    comes, the upload is stored."""
    c = h2_client(tsrv, ca)
    sid = c.request("PUT", "/upload/e.txt", extra=[("authorization", AUTH),
                                                   ("expect", "100-continue")],
                    end_stream=False)
    c.send_body(sid, b"expected")
    st = c.wait(sid)
    assert st.status == 201 and not st.informational, c.describe()


def test_authority_selects_the_virtual_host(make_server, tmp_path):
    roots = {}
    for n in ("a", "b"):
        d = tmp_path / ("site-" + n)
        d.mkdir()
        (d / "index.html").write_text("site %s\n" % n)
        roots[n] = str(d)
    srv = h2c_server(make_server, """
server { server_name a.example; root %s; }
server { server_name b.example; root %s; default_server on; }
""" % (roots["a"], roots["b"]), uploads=False)
    c = H2Client.h2c(srv).handshake()
    for authority, site in (("a.example", "a"), ("b.example", "b"), ("A.EXAMPLE:80", "a"),
                            ("unknown.example", "b")):
        st = c.get("/", authority=authority)
        assert st.status == 200 and bytes(st.body) == b"site %s\n" % site.encode(), authority
    # No :authority, a host field instead (RFC 9113 §8.3.1).
    sid = c.new_stream_id()
    c.stream(sid)
    c.send(headers(sid, encode_headers([(":method", "GET"), (":scheme", "http"),
                                        (":path", "/"), ("host", "a.example")]),
                   end_stream=True))
    st = c.wait(sid)
    assert st.status == 200 and bytes(st.body) == b"site a\n", c.describe()


def test_proxy_pass_over_h2(make_server, ca, apps):
    """proxy_pass behind an h2 stream: the request reaches the application
    as HTTP/1.1 with its body (with and without a content-length), the
    answer comes back without the application's hop-by-hop fields (h2client
    rejects any connection-specific field) and agrees with HTTP/1.1's."""
    app = apps(echo_handler)
    srv = tls_server(make_server, ca, "location /app/ {\n methods GET POST PUT;\n"
                                      " proxy_pass %s;\n}\n" % app.addr)
    c = h2_client(srv, ca)
    st = c.get("/app/x?q=1")
    one = http1_get(srv, "/app/x?q=1", ca)
    assert st.status == one.status == 200, c.describe()
    assert st.field("x-app") == "echo" and st.field("x-secret") is None, st.headers
    assert b"GET /app/x?q=1 HTTP/1.1" in bytes(st.body)
    body = os.urandom(300000)
    for extra in ([("content-length", str(len(body)))], []):
        sid = c.request("POST", "/app/up", extra=extra, end_stream=False)
        c.send_body(sid, body, timeout=30)
        st = c.wait(sid, 30)
        assert st.status == 200 and st.reset is None, c.describe()
        assert bytes(st.body).endswith(b"\r\n\r\n%d\n" % len(body) + body), extra
    assert app.get("requests") == 4


def test_cookie_fields_reach_http1_as_one(make_server, apps):
    """RFC 9113 §8.2.3: cookie fields split over an h2 request (as browsers
    send them, for HPACK) MUST be joined with "; " before they go to an
    HTTP/1.1 context: the application behind proxy_pass sees one Cookie."""
    app = apps(echo_handler)
    srv = h2c_server(make_server, "location /app/ { proxy_pass %s; }" % app.addr)
    c = H2Client.h2c(srv).handshake()
    st = c.get("/app/c", extra=[("cookie", "a=1"), ("cookie", "b=2"), ("cookie", "c=3")])
    assert st.status == 200, c.describe()
    seen = bytes(st.body).decode("latin-1")
    assert re.findall(r"(?im)^cookie: *(.*?)\r?$", seen) == ["a=1; b=2; c=3"], seen


# ---------------------------------------------------------------------------
# Which protocol: ALPN and h2c


def alpn_of(srv, ca, offer):
    ctx = tls_context(ca, offer)
    raw = socket.create_connection((srv.host, srv.port), timeout=10)
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        return s.selected_alpn_protocol()


def test_alpn_offers_h2_first_and_falls_back(tsrv, ca):
    assert alpn_of(tsrv, ca, ["h2", "http/1.1"]) == "h2"
    assert alpn_of(tsrv, ca, ["http/1.1", "h2"]) == "h2"  # the server's preference
    assert alpn_of(tsrv, ca, ["http/1.1"]) == "http/1.1"
    assert alpn_of(tsrv, ca, None) is None
    # Both HTTP/1.1 clients are served in HTTP/1.1.
    r = http1_get(tsrv, "/index.html", ca)
    assert r.status == 200 and r.version == "HTTP/1.1"
    raw = socket.create_connection((tsrv.host, tsrv.port), timeout=10)
    s = tls_context(ca, None).wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    from conftest import Reader
    r = Reader(s).response()
    s.close()
    assert r.status == 200 and r.version == "HTTP/1.1"


def test_bad_preface_after_alpn_h2_is_refused(tsrv, ca):
    """ALPN said h2, the client speaks HTTP/1.1: an invalid preface (RFC
    9113 §3.4: PROTOCOL_ERROR, the GOAWAY may be omitted), never an
    HTTP/1.1 answer; the server goes on."""
    c = H2Client.tls(tsrv, ca)
    assert c.alpn == "h2"
    c.send(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert c.read_to_end(), "the server kept a bad preface open: " + c.describe()
    assert not c.http1, c.buf[:200]
    assert c.connection_error() in (None, "PROTOCOL_ERROR"), c.describe()
    assert not any(st.status for st in c.streams.values())
    c.close()
    assert_still_serves(h2_client(tsrv, ca))


def test_preface_without_settings_ends_at_header_timeout(make_server):
    """The preface and the first SETTINGS are the head of an HTTP/2
    connection: header_timeout bounds them (contract). The close is
    GOAWAY (SETTINGS_TIMEOUT or PROTOCOL_ERROR... any code but no reset) or a
    plain end."""
    srv = h2c_server(make_server, "header_timeout 1s;")
    c = H2Client.h2c(srv, timeout=20)
    c.auto_settings_ack = False  # an ACK would be a first frame: not silent
    c.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert c.read_to_end(15), "a silent client after the preface is held: " + c.describe()
    assert not c.reset, c.describe()
    assert c.connection_error() in (None, "SETTINGS_TIMEOUT", "PROTOCOL_ERROR"), c.describe()
    assert not any(st.status for st in c.streams.values())


@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_h2_over_tls12_only_with_allowed_cipher_suites(make_server, ca, key):
    """RFC 9113 §9.2.2: HTTP/2 over TLS 1.2 must not use the prohibited
    (non-AEAD, non-ephemeral) suites: offered only those, the client never
    gets h2 with one; offered an ECDHE AEAD suite, h2 over TLS 1.2 works."""
    leaf = ca.leaf("localhost", key=key)
    srv = make_server("tls_certificate %s %s;" % (leaf.cert, leaf.key), tls=True)
    auth = "ECDSA" if key == "ec" else "RSA"
    for ciphers, allowed in (("AES128-SHA:AES256-GCM-SHA384", False),
                             ("ECDHE-%s-AES128-SHA" % auth, False),
                             ("ECDHE-%s-AES128-GCM-SHA256" % auth, True)):
        ctx = tls_context(ca)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
        raw = socket.create_connection((srv.host, srv.port), timeout=10)
        try:
            s = ctx.wrap_socket(raw, server_hostname="localhost")
        except ssl.SSLError:
            assert not allowed, "an allowed suite was refused: %s" % ciphers
            continue
        got = (s.version(), s.cipher()[0], s.selected_alpn_protocol())
        s.close()
        if allowed:
            assert got == ("TLSv1.2", ciphers, "h2"), got
        else:
            assert got[2] != "h2", "h2 over a prohibited suite: %s" % (got,)


def test_http2_off_never_gives_h2(make_server, ca):
    srv = tls_server(make_server, ca, "http2 off;")
    assert alpn_of(srv, ca, ["h2", "http/1.1"]) == "http/1.1"
    try:
        chosen = alpn_of(srv, ca, ["h2"])
    except ssl.SSLError:
        chosen = "refused"  # RFC 7301 §3.2: no_application_protocol is allowed
    assert chosen in (None, "refused"), chosen
    assert http1_get(srv, "/index.html", ca).status == 200


def test_h2c_needs_http2_cleartext(make_server):
    srv = make_server("")  # http2_cleartext off by default
    c = H2Client.h2c(srv)
    c.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\0\0\0\4\0\0\0\0\0")
    c.read_to_end()
    assert not c.server_settings_seen, "h2c accepted without http2_cleartext"
    c.close()


def test_h2c_port_still_serves_http1(make_server):
    srv = h2c_server(make_server)
    r = http1_get(srv, "/index.html")
    assert r.status == 200 and r.version == "HTTP/1.1"
    c = H2Client.h2c(srv).handshake()
    assert_still_serves(c)


# ---------------------------------------------------------------------------
# Reference clients (required test dependencies: tests/deps.sh)


def need(binary):
    if shutil.which(binary) is None:
        pytest.skip("%s is not installed (tests/deps.sh installs it)" % binary)


def test_curl_http2_over_tls_and_h2c(tsrv, ca, make_server):
    need("curl")
    url = "https://localhost:%d/big.bin" % tsrv.port
    p = subprocess.run(["curl", "-sS", "--http2", "--cacert", ca.cert, "--resolve",
                        "localhost:%d:127.0.0.1" % tsrv.port, "-o", "-", "-w",
                        "\n%{http_version} %{http_code}", url],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    body, _, tail = p.stdout.rpartition(b"\n")
    assert tail == b"2 200", tail
    with open(os.path.join(tsrv.root, "big.bin"), "rb") as f:
        assert body == f.read()
    plain = h2c_server(make_server)
    p = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w",
                        "%{http_version} %{http_code}", plain.url("/index.html")],
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and p.stdout == b"2 200", (p.stdout, p.stderr)


def test_nghttp_fetches_over_tls_and_h2c(tsrv, ca, make_server):
    need("nghttp")
    p = subprocess.run(["nghttp", "-v", "https://localhost:%d/index.html" % tsrv.port],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert b":status: 200" in p.stdout, p.stdout[-2000:]
    with open(os.path.join(tsrv.root, "index.html"), "rb") as f:
        assert f.read() in p.stdout
    plain = h2c_server(make_server)
    p = subprocess.run(["nghttp", "-n", "-s", plain.url("/index.html")],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert re.search(rb"\b200\b", p.stdout), p.stdout


def test_h2load_all_requests_succeed(tsrv, ca):
    need("h2load")
    p = subprocess.run(["h2load", "-n", "400", "-c", "4", "-m", "16",
                        "https://localhost:%d/index.html" % tsrv.port],
                       capture_output=True, timeout=120)
    out = p.stdout.decode()
    assert p.returncode == 0, out + p.stderr.decode()
    assert "400 succeeded, 0 failed, 0 errored" in out, out
    assert "Application protocol: h2" in out, out


def test_h2_library_as_a_strict_peer(tsrv, ca):
    """The h2 package's state machine over TLS: every frame the server sends
    must be valid for it (a ProtocolError fails the test)."""
    raw = socket.create_connection((tsrv.host, tsrv.port), timeout=10)
    s = tls_context(ca).wrap_socket(raw, server_hostname="localhost")
    assert s.selected_alpn_protocol() == "h2"
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    s.sendall(conn.data_to_send())
    ids = []
    for path in ("/index.html", "/big.bin", "/nope", "/about.txt"):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"),
                                (":authority", "localhost"), (":path", path)],
                          end_stream=True)
        ids.append(sid)
    s.sendall(conn.data_to_send())
    status, bodies, ended = {}, {i: b"" for i in ids}, set()
    for _ in range(5000):  # bounded: 1 MiB arrives in far fewer reads
        if ended == set(ids):
            break
        chunk = s.recv(65536)
        assert chunk, "connection closed with streams open"
        for ev in conn.receive_data(chunk):
            if isinstance(ev, h2.events.ResponseReceived):
                status[ev.stream_id] = dict(ev.headers)[b":status"]
            elif isinstance(ev, h2.events.DataReceived):
                bodies[ev.stream_id] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                ended.add(ev.stream_id)
            elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                raise AssertionError("unexpected %r" % ev)
        s.sendall(conn.data_to_send())
    assert ended == set(ids)
    assert [status[i] for i in ids] == [b"200", b"200", b"404", b"200"]
    assert len(bodies[ids[1]]) == 1 << 20
    conn.close_connection()
    s.sendall(conn.data_to_send())
    s.close()


# ---------------------------------------------------------------------------
# Concurrency


def test_32_streams_at_once_are_all_answered(tsrv, ca):
    c = h2_client(tsrv, ca)
    paths = ["/index.html", "/about.txt", "/style.css", "/big.bin"] * 8
    out = b""
    ids = []
    for p in paths:
        sid = c.new_stream_id()
        c.stream(sid)
        ids.append(sid)
        out += headers(sid, encode_headers(request_fields("GET", p, "localhost", "https")),
                       end_stream=True)
    c.send(out)  # all 32 HEADERS in one write
    assert c.pump(lambda: all(c.streams[i].done for i in ids), 60), c.describe()
    for sid, p in zip(ids, paths):
        st = c.streams[sid]
        with open(os.path.join(tsrv.root, p.lstrip("/")), "rb") as f:
            assert st.status == 200 and st.reset is None and bytes(st.body) == f.read(), st
    assert not c.goaways


def hold_uploads(c, n):
    """n PUTs whose bodies have not come: n open streams."""
    return [c.request("PUT", "/upload/h%d" % i, extra=[("authorization", AUTH)],
                      end_stream=False) for i in range(n)]


def test_streams_past_max_concurrent_before_the_settings_ack_are_refused(make_server):
    """A client that opens more streams than http2_max_concurrent_streams
    before it has acknowledged the server's SETTINGS: the extra stream gets
    RST_STREAM(REFUSED_STREAM) (RFC 9113 §5.1.2, §8.7: safe to retry), the
    connection and the streams it holds go on."""
    srv = h2c_server(make_server, "http2_max_concurrent_streams 4;")
    before = metrics(srv)
    c = H2Client.h2c(srv)
    c.auto_settings_ack = False
    c.send(PREFACE + settings([(ENABLE_PUSH, 0)]))
    held = hold_uploads(c, 4)
    extra = c.request("GET", "/index.html")
    st = c.wait(extra)
    assert st.reset == ERR["REFUSED_STREAM"] and st.status is None, c.describe()
    assert not c.goaways
    c.send(settings(ack=True))
    c.send(data(held[0], b"done", end_stream=True))
    assert c.wait(held[0]).status == 201
    assert_still_serves(c)
    after = metrics(srv)
    name = "lingerd_http2_rst_stream_sent_total"
    assert counter(after, name, code="REFUSED_STREAM") - \
        counter(before, name, code="REFUSED_STREAM") == 1


def test_streams_past_max_concurrent_after_the_settings_ack(make_server):
    """Past the acknowledged http2_max_concurrent_streams: a stream error
    (REFUSED_STREAM or PROTOCOL_ERROR, §5.1.2) with the connection going
    on, or — the contract's choice with nghttp2 1.52 — GOAWAY(PROTOCOL_ERROR)
    naming the last stream accepted, then a close that is no reset; the
    server goes on serving."""
    srv = h2c_server(make_server, "http2_max_concurrent_streams 4;")
    c = H2Client.h2c(srv).handshake()
    held = hold_uploads(c, 4)
    extra = c.request("GET", "/index.html")
    st = c.stream(extra)
    assert c.pump(lambda: st.done or c.goaways or c.ended), c.describe()
    assert st.status is None, c.describe()
    if c.goaways:
        assert c.goaways[-1][:2] == (held[-1], ERR["PROTOCOL_ERROR"]), c.describe()
        assert c.read_to_end() and not c.reset, c.describe()
        assert_still_serves(H2Client.h2c(srv).handshake())
    else:
        assert st.reset in (ERR["REFUSED_STREAM"], ERR["PROTOCOL_ERROR"]), c.describe()
        c.send(data(held[0], b"done", end_stream=True))
        assert c.wait(held[0]).status == 201
        assert_still_serves(c)
