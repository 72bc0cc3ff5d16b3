"""Upgrade (WebSocket) through proxy_pass: the 101, then a byte tunnel.

The application is a small WebSocket server written here: it checks the
handshake fields lingerd passed on, answers 101 with the Sec-WebSocket-Accept
computed from the key (RFC 6455 §4.2.2), then echoes one masked text frame as
an unmasked one and, after it, raw bytes: the tunnel does not look at them.
Each close case checks that the end of one side reaches the other as a FIN
(never a reset) and that the other direction still works meanwhile.
"""

import base64
import hashlib
import os
import socket
import signal
import ssl


from conftest import Reader, request, wait_for
from tlscerts import TestCA
from upstream_apps import apps, each_request, header, read_head, respond  # noqa: F401 (apps)

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KEY = base64.b64encode(b"0123456789abcdef").decode()


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def ws_frame(payload, mask=None, opcode=1):
    """One final frame with a payload under 126 bytes, masked if mask is given."""
    assert len(payload) < 126
    if mask is None:
        return bytes([0x80 | opcode, len(payload)]) + payload
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


def recv_exact(sock, n, buf=b""):
    while len(buf) < n:
        data = sock.recv(65536)
        if not data:
            raise AssertionError("closed after %d of %d bytes" % (len(buf), n))
        buf += data
    return buf[:n], buf[n:]


def read_ws_frame(sock, buf=b""):
    """(opcode, masked, payload, rest) of one small frame."""
    hdr, buf = recv_exact(sock, 2, buf)
    opcode, masked, n = hdr[0] & 0x0F, bool(hdr[1] & 0x80), hdr[1] & 0x7F
    assert hdr[0] & 0x80 and n < 126
    mask = b""
    if masked:
        mask, buf = recv_exact(sock, 4, buf)
    payload, buf = recv_exact(sock, n, buf)
    if masked:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, masked, payload, buf


def ws_app(after):
    """A handler: the handshake (refused with 400 without the fields), then
    after(sock, app, rest)."""

    def handle(sock, app):
        head, rest = read_head(sock)
        if head is None:
            return
        with app.lock:
            app.seen.append(head)
        key = header(head, "sec-websocket-key")
        conn = (header(head, "connection") or "").lower()
        if (header(head, "upgrade") or "").lower() != "websocket" or "upgrade" not in conn \
                or not key:
            respond(sock, 400, b"not an upgrade\n", ["Connection: close"])
            return
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                      % accept_for(key)).encode())
        after(sock, app, rest)

    return handle


def echo_after(sock, app, rest):
    """Echo one masked text frame unmasked, then raw bytes until the client's
    FIN; then say goodbye over the still open direction and close."""
    opcode, masked, payload, rest = read_ws_frame(sock, rest)
    app.count("frame_masked" if masked else "frame_unmasked")
    sock.sendall(ws_frame(payload, opcode=opcode))
    if rest:
        sock.sendall(rest)
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)
    app.count("client_fin")
    sock.sendall(b"goodbye after your FIN")
    sock.shutdown(socket.SHUT_WR)


def handshake(port, path="/ws/chat"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request("GET", path, ["Upgrade: websocket", "Connection: keep-alive, Upgrade",
                                    "Sec-WebSocket-Key: " + KEY,
                                    "Sec-WebSocket-Version: 13"]))
    rd = Reader(s)
    r = rd._one(False)
    assert r is not None, "no answer to the upgrade"
    return s, rd, r


def tunnel_server(make_server, app, extra=""):
    return make_server("%s\nlocation /ws/ {\n proxy_pass %s;\n}\n" % (extra, app.addr))


def test_websocket_echo_frame_raw_bytes_and_client_half_close(make_server, apps):
    app = apps(ws_app(echo_after))
    srv = tunnel_server(make_server, app)
    s, rd, r = handshake(srv.port)
    try:
        assert r.status == 101
        assert r.header("upgrade") == "websocket"
        assert "upgrade" in r.header("connection").lower()
        assert r.header("sec-websocket-accept") == accept_for(KEY)
        assert r.header("content-length") is None
        head = app.seen[0]
        assert header(head, "upgrade") == "websocket"
        assert header(head, "connection").lower() == "upgrade"
        assert header(head, "sec-websocket-key") == KEY
        # a real, masked text frame comes back as the app's unmasked frame
        s.sendall(ws_frame(b"hello through lingerd", mask=b"\x11\x22\x33\x44"))
        opcode, masked, payload, rest = read_ws_frame(s, rd.buf)
        assert (opcode, masked, payload) == (1, False, b"hello through lingerd")
        assert app.get("frame_masked") == 1
        # raw bytes, more than a buffer, both ways at once
        blob = os.urandom(300 * 1024)
        s.sendall(blob)
        echoed, rest = recv_exact(s, len(blob), rest)
        assert echoed == blob
        # the client's half-close reaches the app as a FIN; the app still
        # answers over the direction left open, then its FIN ends the stream
        s.shutdown(socket.SHUT_WR)
        rd.buf = rest
        tail = rd.read_until_close()
        assert tail == b"goodbye after your FIN"
        assert not rd.reset
        assert app.get("client_fin") == 1
    finally:
        s.close()


def test_upstream_closes_first_client_sees_last_bytes_then_fin(make_server, apps):
    last = os.urandom(200 * 1024)

    def after(sock, app, rest):
        sock.sendall(last)
        sock.shutdown(socket.SHUT_WR)
        # the client's direction stays open: it may still speak
        data = rest
        while True:
            d = sock.recv(65536)
            if not d:
                break
            data += d
        with app.lock:
            app.seen.append(data)
        app.count("client_fin")

    app = apps(ws_app(after))
    srv = tunnel_server(make_server, app)
    s, rd, r = handshake(srv.port)
    try:
        assert r.status == 101
        got = rd.read_until_close()
        assert got == last
        assert not rd.reset
        s.sendall(b"still talking after your FIN")
        s.shutdown(socket.SHUT_WR)
        assert wait_for(lambda: app.get("client_fin") == 1)
        assert app.seen[-1] == b"still talking after your FIN"
    finally:
        s.close()


def test_tunnel_idle_timeout_closes_both_sides(make_server, apps):
    def after(sock, app, rest):
        data = sock.recv(65536)  # nothing comes; lingerd's close ends it
        app.count("eof" if data == b"" else "data")

    app = apps(ws_app(after))
    srv = tunnel_server(make_server, app, "proxy_tunnel_timeout 300ms;")
    s, rd, r = handshake(srv.port)
    try:
        assert r.status == 101
        assert rd.read_until_close() == b""
        assert not rd.reset
        assert wait_for(lambda: app.get("eof") == 1)
    finally:
        s.close()


def test_refused_upgrade_is_a_normal_response_and_keep_alive(make_server, apps):
    def handle(sock, app):
        for head, _ in each_request(sock):
            app.count("requests")
            with app.lock:
                app.seen.append(head)
            if header(head, "upgrade"):
                respond(sock, 426, b"upgrade refused\n", ["Upgrade: websocket"])
            else:
                respond(sock, 200, b"plain\n")

    app = apps(handle)
    srv = tunnel_server(make_server, app)
    s, rd, r = handshake(srv.port)
    try:
        assert r.status == 426
        assert r.body == b"upgrade refused\n"
        assert r.header("upgrade") is None  # hop-by-hop, not relayed
        s.sendall(request("GET", "/ws/plain"))
        r2 = rd.response()
        assert r2.status == 200 and r2.body == b"plain\n"
        assert header(app.seen[1], "upgrade") is None
    finally:
        s.close()


def test_unasked_101_is_still_a_502(make_server, apps):
    def handle(sock, app):
        head, _ = read_head(sock)
        if head is None:
            return
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\n\r\n")

    app = apps(handle)
    srv = tunnel_server(make_server, app)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        # Upgrade without Connection: upgrade is dropped (hop-by-hop)
        s.sendall(request("GET", "/ws/x", ["Upgrade: websocket"]))
        r = Reader(s).response()
        assert r.status == 502
    finally:
        s.close()


def test_websocket_over_tls_echo_and_upstream_close(make_server, apps, tmp_path):
    """The client's side of the tunnel is TLS: the frame and raw bytes go
    through the records both ways, and the app's close reaches the client
    as TLS's orderly end (close_notify), not a cut stream."""
    def after(sock, app, rest):
        opcode, masked, payload, rest = read_ws_frame(sock, rest)
        sock.sendall(ws_frame(payload, opcode=opcode))
        want = 100 * 1024
        data, _ = recv_exact(sock, want, rest)
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        app.count("done")

    app = apps(ws_app(after))
    leaf = TestCA(str(tmp_path)).leaf("localhost")
    srv = make_server("tls_certificate %s %s;\nlocation /ws/ {\n proxy_pass %s;\n}\n"
                      % (leaf.cert, leaf.key, app.addr), tls=True)
    ctx = ssl.create_default_context(cafile=leaf.cert)
    s = ctx.wrap_socket(srv.connect(timeout=10), server_hostname="localhost",
                        suppress_ragged_eofs=False)
    try:
        s.sendall(request("GET", "/ws/tls", ["Upgrade: websocket", "Connection: Upgrade",
                                              "Sec-WebSocket-Key: " + KEY,
                                              "Sec-WebSocket-Version: 13"]))
        rd = Reader(s)
        r = rd._one(False)
        assert r.status == 101 and r.header("sec-websocket-accept") == accept_for(KEY)
        s.sendall(ws_frame(b"over tls", mask=b"\x01\x02\x03\x04"))
        opcode, masked, payload, rest = read_ws_frame(s, rd.buf)
        assert (opcode, masked, payload) == (1, False, b"over tls")
        blob = os.urandom(100 * 1024)
        s.sendall(blob)
        echoed, rest = recv_exact(s, len(blob), rest)
        assert echoed == blob
        rd.buf = rest
        assert rd.read_until_close() == b""  # close_notify: recv gives b"", no error
        assert not rd.reset
        assert wait_for(lambda: app.get("done") == 1)
    finally:
        s.close()


def test_graceful_stop_ends_an_open_tunnel_with_fins(make_server, apps):
    """SIGQUIT with a tunnel open: proxy_tunnel_drain_timeout after the drain
    began, both sides read a clean end (a FIN, not a reset) and the worker
    exits, long before shutdown_timeout. Without it the tunnel held the
    worker until the tunnel's own end or shutdown_timeout."""
    def after(sock, app, rest):
        sock.sendall(b"hello")
        data = sock.recv(65536)  # nothing comes; the drain's close ends it
        app.count("eof" if data == b"" else "data")

    app = apps(ws_app(after))
    srv = tunnel_server(make_server, app, "log_level info;\nproxy_tunnel_drain_timeout 300ms;\n"
                        "proxy_tunnel_timeout 1h;\nshutdown_timeout 60s;")
    s, rd, r = handshake(srv.port)
    try:
        assert r.status == 101
        while len(rd.buf) < 5:
            assert rd._more(), "the tunnel closed early"
        srv.send_signal(signal.SIGQUIT)
        assert rd.read_until_close() == b"hello"
        assert not rd.reset
        assert wait_for(lambda: app.get("eof") == 1, timeout=10)
        assert app.get("data") == 0
        assert wait_for(lambda: srv.proc.poll() is not None, timeout=15), \
            "lingerd still runs with the tunnel ended"
        assert srv.proc.returncode == 0
        assert "still open proxy_tunnel_drain_timeout after the drain began" in srv.log()
    finally:
        s.close()
