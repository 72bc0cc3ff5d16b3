"""proxy_request_buffering: the whole body reaches a temporary file before
the application sees a connection, so a slow uploader never holds an
application worker; then the body goes with its Content-Length.

The application records when lingerd's connection reached it; the client
records when it sent its last byte. Same process, same clock: the order of
the two events is the behaviour under test (with buffering off, the
application is connected while the client still trickles).
"""

import hashlib
import os
import socket
import time

from conftest import Reader, request
from test_proxy_stream import rss, worker_of
from upstream_apps import apps, each_request, header, read_head, respond  # noqa: F401 (apps)

MIB = 1024 * 1024
METHODS = "methods GET HEAD POST PUT;"


def recording_app(sock, app):
    """Note when the connection arrived; answer each request with the
    length and digest of its body and the framing it came with."""
    with app.lock:
        app.seen.append(("accepted", time.monotonic()))
    for head, body in each_request(sock):
        with app.lock:
            app.seen.append(("request", head, body))
        info = "%d %s cl=%s te=%s" % (len(body), hashlib.sha256(body).hexdigest(),
                                      header(head, "content-length"),
                                      header(head, "transfer-encoding"))
        respond(sock, 200, info.encode())


def server_for(make_server, app, buffering, extra=""):
    return make_server("%s\nlocation /app/ {\n %s\n body_max_bytes 8m;\n"
                       " proxy_request_buffering %s;\n proxy_pass %s;\n}\n"
                       % (extra, METHODS, "on" if buffering else "off", app.addr))


def trickle(port, head, body, pieces=20, pause=0.03):
    """Send head, then body in pieces with pauses; returns (socket, time the
    last byte went)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(head)
    step = (len(body) + pieces - 1) // pieces
    for i in range(0, len(body), step):
        time.sleep(pause)
        s.sendall(body[i:i + step])
    return s, time.monotonic()


def accepted_at(app):
    with app.lock:
        return [t for kind, *rest in app.seen if kind == "accepted" for t in rest]


def slow_upload(make_server, apps, buffering):
    """A 2 MiB POST trickled in 20 pieces: (app, body, time of the client's
    last byte, the answer)."""
    app = apps(recording_app)
    srv = server_for(make_server, app, buffering)
    body = os.urandom(2 * MIB)
    s, done = trickle(srv.port, request("POST", "/app/up", ["Content-Length: %d" % len(body)]),
                      body)
    try:
        return app, body, done, Reader(s).response()
    finally:
        s.close()


def test_slow_upload_reaches_the_app_only_when_whole(make_server, apps):
    app, body, done, r = slow_upload(make_server, apps, True)
    assert r.status == 200
    n, digest, cl, te = r.body.decode().split()
    assert int(n) == len(body) and digest == hashlib.sha256(body).hexdigest()
    assert cl == "cl=%d" % len(body) and te == "te=None"
    assert accepted_at(app) and accepted_at(app)[0] >= done


def test_without_buffering_the_app_waits_for_the_slow_client(make_server, apps):
    """The control: streaming connects the application at once, so it is
    held for the whole trickle (what buffering exists to avoid)."""
    app, body, done, r = slow_upload(make_server, apps, False)
    assert r.status == 200
    assert accepted_at(app)[0] < done


def test_chunked_upload_is_sent_with_its_length(make_server, apps):
    app = apps(recording_app)
    srv = server_for(make_server, app, True)
    body = os.urandom(MIB + 12345)
    step = 70000
    chunked = b"".join(b"%x\r\n" % len(body[i:i + step]) + body[i:i + step] + b"\r\n"
                       for i in range(0, len(body), step)) + b"0\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    try:
        s.sendall(request("POST", "/app/c", ["Transfer-Encoding: chunked"]) + chunked)
        rd = Reader(s)
        r = rd.response()
        assert r.status == 200
        n, digest, cl, te = r.body.decode().split()
        assert int(n) == len(body) and digest == hashlib.sha256(body).hexdigest()
        assert cl == "cl=%d" % len(body) and te == "te=None"
        # keep-alive: the next request on the same connection
        s.sendall(request("POST", "/app/c2", body=b"small"))
        r2 = rd.response()
        assert r2.status == 200 and r2.body.startswith(b"5 ")
    finally:
        s.close()


def test_chunked_body_over_the_limit_never_reaches_the_app(make_server, apps):
    app = apps(recording_app)
    srv = make_server("location /app/ {\n %s\n body_max_bytes 64k;\n"
                      " proxy_request_buffering on;\n proxy_pass %s;\n}\n" % (METHODS, app.addr))
    body = b"x" * (200 * 1024)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    try:
        s.sendall(request("POST", "/app/big", ["Transfer-Encoding: chunked"]) +
                  b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        r = Reader(s).response()
        assert r.status == 413
        assert app.get("connections") == 0
    finally:
        s.close()


def test_buffered_put_retried_on_a_fresh_connection_with_its_body(make_server, apps):
    """The retry rule with a buffered body: the body is in the file, so a
    PUT (idempotent) lost on a reused connection is sent again whole."""
    def drop_second(sock, app):
        for served, (head, body) in enumerate(each_request(sock)):
            if served == 1:
                return  # the second request of a connection is dropped
            with app.lock:
                app.seen.append(("request", head, body))
            respond(sock, 200, b"%d" % len(body))

    app = apps(drop_second)
    srv = server_for(make_server, app, True)
    body = os.urandom(300 * 1024)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    try:
        rd = Reader(s)
        s.sendall(request("PUT", "/app/one", body=body))
        assert rd.response().status == 200
        s.sendall(request("PUT", "/app/two", body=body))
        r = rd.response()
        assert r.status == 200 and r.body == b"%d" % len(body)
        with app.lock:
            bodies = [x[2] for x in app.seen if x[0] == "request"]
        assert bodies == [body, body]  # the second on a fresh connection
        assert app.get("connections") == 2
    finally:
        s.close()


def test_large_buffered_upload_keeps_the_worker_small(make_server, apps):
    """256 MiB spooled: the worker holds two buffers, not the body (the file
    has it), and the application gets every byte once it is all in."""
    size, bound = 256 * MIB, 48 * MIB
    got = {}

    def counting_app(sock, app):
        head, rest = read_head(sock)
        if head is None:
            return
        n, left = len(rest), int(header(head, "content-length")) - len(rest)
        while left > 0:
            data = sock.recv(min(left, 4 * MIB))
            if not data:
                break
            n += len(data)
            left -= len(data)
        got["n"] = n
        respond(sock, 200, b"%d" % n)

    app = apps(counting_app)
    srv = make_server("body_max_bytes 1g;\nlocation /app/ {\n methods POST;\n"
                      " proxy_request_buffering on;\n proxy_pass %s;\n}\n" % app.addr)
    worker = worker_of(srv)
    before = rss(worker)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    try:
        s.sendall(request("POST", "/app/big", ["Content-Length: %d" % size]))
        block = b"u" * MIB
        peak = 0
        for i in range(size // MIB):
            s.sendall(block)
            if i % 32 == 0:
                peak = max(peak, rss(worker))
        r = Reader(s, timeout=60).response()
        peak = max(peak, rss(worker))
        assert r.status == 200 and r.body == b"%d" % size and got["n"] == size
        assert peak - before < bound, "worker grew %d MiB" % ((peak - before) // MIB)
        assert app.get("connections") == 1
    finally:
        s.close()


def test_a_body_file_that_cannot_be_made_is_a_500_and_the_app_never_called(make_server,
                                                                          apps, tmp_path):
    """The file is opened on an I/O thread: its failure comes back to the
    exchange later, as a 500 with the reason in the error log, and the
    upstream is never connected. The error ends the connection with a close,
    not a reset."""
    app = apps(recording_app)
    gone = str(tmp_path / "no-such-dir")
    srv = server_for(make_server, app, True, "proxy_temp_path %s;" % gone)
    s = srv.connect()
    try:
        rd = Reader(s)
        body = os.urandom(256 * 1024)
        s.sendall(request("POST", "/app/up", ["Content-Length: %d" % len(body)]) + body)
        r = rd.response()
        assert r.status == 500
        rd.read_until_close()
        assert not rd.reset
    finally:
        s.close()
    with app.lock:
        assert app.seen == []
    assert "request body file in %s" % gone in srv.log()
