"""Trailer fields through proxy_pass, both ways, over HTTP/1.1 and HTTP/2.

An HTTP/1.1 application answers chunked with a trailer section: an
HTTP/1.1 client finds it in the last chunk (RFC 9112 §7.1.2), an HTTP/2
client as a trailing HEADERS with END_STREAM (RFC 9113 §8.1), an HTTP/1.0
client not at all (its body ends with the close). Fields that cannot be
processed after the content (RFC 9110 §6.5.1: framing, routing,
hop-by-hop, authentication, controls, content format) are not relayed. A
trailer section over trailer_max_bytes cuts the answer as any answer cut
after its head: the HTTP/1.1 client's connection closes without the last
chunk, the HTTP/2 stream is reset (INTERNAL_ERROR). A client's trailers (a
chunked HTTP/1.1 body, an HTTP/2 trailing HEADERS) reach the application
in its chunked body; a body sent with a length (request buffering, an
HTTP/2 content-length) drops them. A gRPC-like exchange (the `h2` library
as client, an HTTP/1.1 application answering with grpc-status in its
trailers) works end to end.
"""

import socket

import h2.config
import h2.connection
import h2.events
import pytest

from conftest import Reader, request, wait_for
from test_proxy import read_response_head
from h2client import (H2Client, assert_still_serves, encode_headers, expect_stream_error,
                      h2c_server, headers)
from upstream_apps import App, read_head, header  # noqa: F401

METHODS = "methods GET HEAD POST PUT;"

# The application's trailer section: two fields to relay, then one of each
# kind RFC 9110 §6.5.1 keeps out of trailers.
RELAYED = [("X-Checksum", "abc123"), ("grpc-status", "0")]
FORBIDDEN = [("Content-Length", "99"), ("Transfer-Encoding", "gzip"), ("Host", "evil.test"),
             ("Connection", "close"), ("Set-Cookie", "session=stolen"),
             ("Authorization", "Basic eDp5"), ("Cache-Control", "no-store"),
             ("Content-Type", "text/evil"), ("Location", "http://evil.test/"),
             ("Proxy-Authenticate", "Basic"), ("Trailer", "X-Checksum")]
FORBIDDEN_NAMES = {k.lower() for k, _ in FORBIDDEN}


def read_chunks(more, buf):
    """A chunked body and its trailer section from buf, calling more() for
    the next bytes (b"" or None at the end): (body, [(name, value)], rest),
    or None if the body is cut."""
    body, trailers, size = b"", None, None

    def need(pred):
        nonlocal buf
        while not pred(buf):
            data = more()
            if not data:
                return False
            buf += data
        return True

    while True:
        if size is None or trailers is not None:
            if not need(lambda b: b"\r\n" in b):
                return None
            line, buf = buf.split(b"\r\n", 1)
            if trailers is not None:
                if not line:
                    return body, trailers, buf
                k, _, v = line.decode("latin-1").partition(":")
                trailers.append((k, v.strip()))
                continue
            size = int(line.split(b";")[0], 16)
            if size == 0:
                trailers = []
            continue
        if not need(lambda b: len(b) >= size + 2):
            return None
        body += buf[:size]
        buf = buf[size + 2:]
        size = None


def send_chunked(sock, head_fields, chunks, trailer_lines):
    head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + "".join(
        "%s: %s\r\n" % kv for kv in head_fields) + "\r\n"
    out = head.encode("latin-1")
    for c in chunks:
        out += b"%x\r\n" % len(c) + c + b"\r\n"
    out += b"0\r\n" + "".join("%s\r\n" % line for line in trailer_lines).encode("latin-1")
    out += b"\r\n"
    sock.sendall(out)


def trailer_app(sock, app):
    """Keep-alive. Records (head, body, trailers) of each request; answers
    by path: /app/trail chunked with RELAYED and FORBIDDEN trailers,
    /app/big with a trailer section of 4000 bytes, /app/grpc as a gRPC
    server would (checking TE: trailers), else 200 "ok" with a length."""
    buf = b""
    while True:
        head, buf = read_head(sock, buf)
        if head is None:
            return
        te = header(head, "transfer-encoding")
        trailers = []
        if te and te.lower() == "chunked":
            got = read_chunks(lambda: sock.recv(65536), buf)
            if got is None:
                return
            body, trailers, buf = got
        else:
            n = int(header(head, "content-length") or 0)
            while len(buf) < n:
                data = sock.recv(65536)
                assert data
                buf += data
            body, buf = buf[:n], buf[n:]
        with app.lock:
            app.seen.append((head, body, trailers))
        path = head.split(" ")[1]
        if path.startswith("/app/trail"):
            send_chunked(sock, [("Trailer", "X-Checksum, grpc-status"), ("X-App", "t")],
                         [b"hello ", b"world"],
                         ["%s: %s" % kv for kv in RELAYED + FORBIDDEN])
        elif path.startswith("/app/big"):
            send_chunked(sock, [], [b"hello"], ["X-Big: " + "b" * 4000])
        elif path.startswith("/app/grpc"):
            ok = header(head, "te") == "trailers"
            send_chunked(sock, [("Content-Type", "application/grpc")], [b"\0\0\0\0\x05reply"],
                         ["grpc-status: %d" % (0 if ok else 3),
                          "grpc-message: %s" % ("OK" if ok else "no%20te")])
        else:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@pytest.fixture
def app():
    a = App(trailer_app)
    yield a
    a.stop()


def proxied(make_server, app, extra=""):
    return make_server("%s%s\nlocation /app/ {\n %s\n proxy_pass %s;\n}\n" %
                       ("http2_cleartext on;\nlog_level info;\n", extra, METHODS, app.addr))


def read_h1_response(rd):
    """(status, {headers}, body, [(name, value)] or None, complete): a
    chunked answer with its trailer section (names lowercased), or a body
    until the close."""
    status, fields = read_response_head(rd)
    if fields.get("transfer-encoding", "").lower() != "chunked":
        rd.read_until_close()
        body, rd.buf = rd.buf, b""
        return status, fields, body, None, True

    def more():
        if not rd._more():
            return b""
        data, rd.buf = rd.buf, b""
        return data

    got = read_chunks(more, rd.buf)
    if got is None:
        return status, fields, b"", None, False
    body, trailers, rd.buf = got
    return status, fields, body, [(k.lower(), v) for k, v in trailers], True


def h1_exchange(srv, data, timeout=10):
    s = srv.connect()
    s.sendall(data)
    rd = Reader(s, timeout)
    try:
        return read_h1_response(rd), rd
    finally:
        s.close()


def assert_relayed_only(fields):
    names = [k.lower() for k, _ in fields]
    assert [(k.lower(), v) for k, v in fields if k.lower() not in FORBIDDEN_NAMES] == \
        [(k.lower(), v) for k, v in RELAYED], fields
    assert not FORBIDDEN_NAMES & set(names), fields


# ---------------------------------------------------------------------------
# The application's trailers to the client


def test_response_trailers_reach_http1_client_in_last_chunk(make_server, app):
    srv = proxied(make_server, app)
    (status, fields, body, trailers, complete), rd = h1_exchange(
        srv, request("GET", "/app/trail", ["TE: trailers"]))
    assert status == 200 and complete and body == b"hello world", (fields, body)
    assert fields["transfer-encoding"] == "chunked"
    assert fields.get("trailer") == "X-Checksum, grpc-status", fields
    assert_relayed_only(trailers)
    # The client said it takes trailers: the application hears so, from this hop.
    head = app.seen[0][0]
    assert header(head, "te") == "trailers" and header(head, "connection") == "te", head
    # One line for the operator: how many were not relayed, and the first.
    assert wait_for(lambda: "%d response trailer field(s) not relayed, first Content-Length"
                    % len(FORBIDDEN) in srv.log(), timeout=5), srv.log()


def test_response_trailers_dropped_for_http10_client(make_server, app):
    """HTTP/1.0 has no chunked coding: the body ends with lingerd's close,
    without trailer bytes and without the Trailer field that announced them."""
    srv = proxied(make_server, app)
    (status, fields, body, trailers, complete), rd = h1_exchange(
        srv, request("GET", "/app/trail", version="HTTP/1.0"))
    assert status == 200 and body == b"hello world", (fields, body)
    assert "trailer" not in fields and "transfer-encoding" not in fields, fields
    # no TE from the client: none upstream
    assert header(app.seen[0][0], "te") is None


def test_response_trailers_reach_h2_client_as_trailing_headers(make_server, app):
    srv = proxied(make_server, app)
    c = H2Client.h2c(srv).handshake()
    st = c.get("/app/trail", extra=[("te", "trailers")])
    assert st.status == 200 and st.ended and st.reset is None, c.describe()
    assert bytes(st.body) == b"hello world"
    assert st.field("trailer") == "X-Checksum, grpc-status", st.headers
    assert st.trailers is not None, c.describe()
    # (h2client checked: lowercase names, no pseudo-header, no connection field)
    assert_relayed_only(st.trailers)
    # END_STREAM came on the trailing HEADERS, not on a DATA frame.
    frames = [(t, f) for t, f, sid, _ in c.frames if sid == st.id]
    assert frames[-1] == (1, 0x5), frames  # HEADERS, END_STREAM | END_HEADERS
    assert all(not (f & 0x1) for t, f in frames[:-1]), frames
    assert header(app.seen[0][0], "te") == "trailers"
    assert_still_serves(c)
    c.close()


def test_answer_without_trailers_ends_as_before_on_h2(make_server, app):
    """A chunked answer without a trailer section: END_STREAM on DATA, no
    trailing HEADERS."""
    srv = proxied(make_server, app)
    c = H2Client.h2c(srv).handshake()
    st = c.get("/app/plain")
    assert st.status == 200 and st.ended and st.trailers is None, c.describe()
    c.close()


@pytest.mark.parametrize("proto", ["http1", "h2"])
def test_trailer_section_over_trailer_max_bytes_cuts_the_answer(make_server, app, proto):
    """The head went out, so no 502 can be given: the answer is cut as any
    answer cut after its head (docs/proxy.md): the HTTP/1.1 connection
    closes without the last chunk, the h2 stream is reset; the server goes on."""
    srv = proxied(make_server, app, "trailer_max_bytes 1k;\n")
    if proto == "http1":
        (status, fields, body, trailers, complete), rd = h1_exchange(
            srv, request("GET", "/app/big"))
        assert status == 200 and not complete, (body, trailers)
        assert rd.eof
    else:
        c = H2Client.h2c(srv).handshake()
        sid = c.request("GET", "/app/big")
        expect_stream_error(c, sid, ("INTERNAL_ERROR",))
        assert c.stream(sid).trailers is None and not c.stream(sid).ended
        assert_still_serves(c)
        c.close()
    assert wait_for(lambda: "trailer section too long" in srv.log(), timeout=5), srv.log()
    (status, _, body, trailers, complete), _ = h1_exchange(srv, request("GET", "/app/trail"))
    assert status == 200 and complete and body == b"hello world"


# ---------------------------------------------------------------------------
# The client's trailers to the application


CLIENT_TRAILERS = [("X-Sum", "42"), ("X-Note", "a b")]
CLIENT_FORBIDDEN = [("Content-Length", "3"), ("Host", "evil.test"), ("Cookie", "a=b"),
                    ("Authorization", "Basic eDp5")]


def chunked_post(path, chunks, trailer_fields, extra=()):
    out = request("POST", path, ["Transfer-Encoding: chunked", "Trailer: X-Sum"] + list(extra))
    for c in chunks:
        out += b"%x\r\n" % len(c) + c + b"\r\n"
    return out + b"0\r\n" + "".join("%s: %s\r\n" % kv for kv in trailer_fields).encode() + \
        b"\r\n"


def test_http1_request_trailers_reach_the_app(make_server, app):
    srv = proxied(make_server, app)
    (status, _, body, _, _), _ = h1_exchange(
        srv, chunked_post("/app/up", [b"abc", b"def"], CLIENT_TRAILERS + CLIENT_FORBIDDEN,
                          ["Connection: close"]))
    assert status == 200 and body == b"ok"
    head, got, trailers = app.seen[0]
    assert got == b"abcdef" and header(head, "transfer-encoding") == "chunked", head
    assert header(head, "trailer") == "X-Sum", head
    assert trailers == CLIENT_TRAILERS, trailers


def test_http1_request_trailers_dropped_when_the_body_is_buffered(make_server, app):
    """proxy_request_buffering sends the body with its length: no place for
    trailers (RFC 9110 §6.5.1 lets a proxy drop them), nor for Trailer."""
    srv = make_server("location /app/ {\n %s\n proxy_request_buffering on;\n proxy_pass %s;\n}\n"
                      % (METHODS, app.addr))
    (status, _, body, _, _), _ = h1_exchange(
        srv, chunked_post("/app/up", [b"abc"], CLIENT_TRAILERS, ["Connection: close"]))
    assert status == 200
    head, got, trailers = app.seen[0]
    assert got == b"abc" and header(head, "content-length") == "3", head
    assert header(head, "trailer") is None and trailers == [], (head, trailers)


def test_http1_request_trailers_over_trailer_max_bytes_get_400(make_server, app):
    srv = proxied(make_server, app, "trailer_max_bytes 256;\n")
    (status, _, _, _, _), rd = h1_exchange(
        srv, chunked_post("/app/up", [b"abc"], [("X-Big", "b" * 400)]))
    assert status == 400


def test_h2_request_trailers_reach_the_app(make_server, app):
    """A POST without content-length goes chunked: its trailing HEADERS
    becomes the chunked trailer section, less the fields not relayed."""
    srv = proxied(make_server, app)
    c = H2Client.h2c(srv).handshake()
    sid = c.request("POST", "/app/up", extra=[("trailer", "x-sum")], end_stream=False)
    c.send_body(sid, b"abcdef", end_stream=False)
    # (a content-length in trailers must match the DATA, or nghttp2 resets
    # the stream: RFC 9113 §8.1.1; then it is dropped as any framing field)
    forbidden = [("content-length", "6")] + CLIENT_FORBIDDEN[1:]
    c.send(headers(sid, encode_headers([(k.lower(), v) for k, v in
                                        CLIENT_TRAILERS + forbidden]), end_stream=True))
    st = c.wait(sid)
    assert st.status == 200 and bytes(st.body) == b"ok", c.describe()
    head, got, trailers = app.seen[0]
    assert got == b"abcdef" and header(head, "transfer-encoding") == "chunked", head
    assert trailers == [(k.lower(), v) for k, v in CLIENT_TRAILERS], trailers
    # trailers with no DATA at all: still a body's end, chunked
    sid = c.request("POST", "/app/up2", end_stream=False)
    c.send(headers(sid, encode_headers([("x-only", "1")]), end_stream=True))
    st = c.wait(sid)
    assert st.status == 200, c.describe()
    assert app.seen[1][1:] == (b"", [("x-only", "1")]), app.seen[1]
    c.close()


def test_h2_request_trailers_dropped_with_content_length(make_server, app):
    srv = proxied(make_server, app)
    c = H2Client.h2c(srv).handshake()
    sid = c.request("POST", "/app/up", extra=[("content-length", "3")], end_stream=False)
    c.send_body(sid, b"abc", end_stream=False)
    c.send(headers(sid, encode_headers([("x-sum", "42")]), end_stream=True))
    st = c.wait(sid)
    assert st.status == 200, c.describe()
    head, got, trailers = app.seen[0]
    assert got == b"abc" and header(head, "content-length") == "3" and trailers == []
    c.close()


def test_h2_request_trailers_over_trailer_max_bytes_get_400(make_server, app):
    srv = proxied(make_server, app, "trailer_max_bytes 256;\n")
    c = H2Client.h2c(srv).handshake()
    sid = c.request("POST", "/app/up", end_stream=False)
    c.send_body(sid, b"abc", end_stream=False)
    c.send(headers(sid, encode_headers([("x-big", "b" * 400)]), end_stream=True))
    st = c.wait(sid)
    assert st.status == 400, c.describe()
    assert_still_serves(c)
    c.close()


@pytest.mark.parametrize("fields, end_stream", [
    ([(":path", "/x")], True),                # a pseudo-header in trailers
    ([("X-Upper", "1")], True),               # uppercase (RFC 9113 §8.2.1)
    ([("connection", "close")], True),        # connection-specific (§8.2.2)
    ([("x-ctl", "a\x01b")], True),            # a control byte, as in a head
    ([("x-sum", "1")], False),                # trailers must end the stream (§8.1)
])
def test_h2_malformed_request_trailers_are_a_stream_error(make_server, app, fields,
                                                          end_stream):
    srv = proxied(make_server, app)
    c = H2Client.h2c(srv).handshake()
    sid = c.request("POST", "/app/up", end_stream=False)
    c.send_body(sid, b"abc", end_stream=False)
    c.send(headers(sid, encode_headers(fields), end_stream=end_stream))
    assert expect_stream_error(c, sid) == "stream"
    assert_still_serves(c)
    c.close()


# ---------------------------------------------------------------------------
# gRPC-like: the h2 library as client, an HTTP/1.1 application behind


def test_grpc_like_exchange_through_the_proxy(make_server, app):
    """POST with te: trailers and a length-prefixed message; the
    application (HTTP/1.1, chunked) answers with grpc-status in its
    trailers, which reach the client as the stream's last HEADERS."""
    srv = proxied(make_server, app)
    sock = socket.create_connection((srv.host, srv.port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"),
                            (":authority", "localhost"), (":path", "/app/grpc/Svc/Call"),
                            ("content-type", "application/grpc"), ("te", "trailers")])
    conn.send_data(sid, b"\0\0\0\0\x03req", end_stream=True)
    sock.sendall(conn.data_to_send())
    response, data, trailers, ended = None, b"", None, False
    for _ in range(200):  # bounded: a handful of frames arrive
        if ended:
            break
        chunk = sock.recv(65536)
        assert chunk, "the connection ended before the stream"
        for ev in conn.receive_data(chunk):
            if isinstance(ev, h2.events.ResponseReceived):
                response = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                data += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.TrailersReceived):
                trailers = dict(ev.headers)
                assert ev.stream_ended is not None, "trailers without END_STREAM"
            elif isinstance(ev, h2.events.StreamEnded):
                ended = True
            elif isinstance(ev, h2.events.StreamReset):
                raise AssertionError("stream reset: %r" % ev)
        sock.sendall(conn.data_to_send())
    sock.close()
    assert ended and response[b":status"] == b"200", response
    assert response[b"content-type"] == b"application/grpc"
    assert data == b"\0\0\0\0\x05reply"
    assert trailers == {b"grpc-status": b"0", b"grpc-message": b"OK"}, trailers
    head, body, _ = app.seen[0]
    assert body == b"\0\0\0\0\x03req" and header(head, "te") == "trailers", head
