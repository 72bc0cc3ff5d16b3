"""Early answers through the proxy: the application answers an upload before
reading it all (413, 401) and closes, or resets; the client must read the
application's answer intact, with no reset and no 502, in every trial.

The same run with lingering_close off (a plain close of the client's side)
must show the failure the lingering close prevents: a client still sending
sees a reset. A test that passed both ways would prove nothing (see
test_linger.py for the same on static uploads).
"""


import pytest

from conftest import Reader, request, send_upload
from upstream_apps import App, read_head, reset_close

MIB = 1024 * 1024
TRIALS = 20


def early_handler(status, how):
    """Read the head and 64 KiB of the body, answer status early, then close
    (with unread bytes, Linux resets) or reset outright (SO_LINGER 0)."""
    def handler(sock, app):
        head, rest = read_head(sock)
        if head is None:
            return
        got = len(rest)
        while got < 64 * 1024:
            data = sock.recv(65536)
            if not data:
                break
            got += len(data)
        body = b"%d from the app\n" % status
        extra = b"WWW-Authenticate: Basic realm=\"app\"\r\n" if status == 401 else b""
        sock.sendall(b"HTTP/1.1 %d Early\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n"
                     % (status, len(body), extra) + body)
        app.count("answered")
        if how == "reset":
            reset_close(sock)
        else:
            sock.close()
    return handler


def upload(srv, size):
    """Send a whole upload before reading. (status, body, reset_seen)."""
    s = srv.connect(timeout=30)
    reset = send_upload(s, request("POST", "/app/upload", ["Content-Length: %d" % size]), size,
                        fill=b"u")
    rd = Reader(s, timeout=30)
    status = body = None
    try:
        r = rd.response()
        if r is not None:
            status, body = r.status, r.body
        rd.read_until_close()
    except (ConnectionResetError, BrokenPipeError):
        reset = True
    s.close()
    return status, body, reset or rd.reset


def start(make_server, handler, mode, extra=""):
    app = App(handler, timeout=30)
    srv = make_server("lingering_close %s;\nbody_max_bytes 1g;\nlog_level info;\n%s\n"
                      "location /app/ {\n methods GET POST PUT;\n proxy_pass %s;\n}\n"
                      % (mode, extra, app.addr))
    return app, srv


@pytest.mark.parametrize("status", [413, 401])
@pytest.mark.parametrize("how", ["close", "reset"])
def test_early_answer_reaches_the_client_intact(make_server, status, how):
    app, srv = start(make_server, early_handler(status, how), "on")
    try:
        results = [upload(srv, 16 * MIB) for _ in range(TRIALS)]
    finally:
        app.stop()
    bad = [(st, reset) for st, body, reset in results
           if st != status or reset or body != b"%d from the app\n" % status]
    assert not bad, "%d of %d trials failed: %s" % (len(bad), TRIALS, bad[:5])
    assert app.get("answered") == TRIALS
    assert "502 sent" not in srv.log()
    assert "early %d before the request body ended" % status in srv.log()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_early_answer_with_lingering_off_is_lost(make_server, how):
    """The naive close: the client, still sending, is reset (its data in
    flight meets a closed socket) at least once in the trials."""
    app, srv = start(make_server, early_handler(413, how), "off")
    try:
        results = [upload(srv, 16 * MIB) for _ in range(5)]
    finally:
        app.stop()
    assert any(reset for _, _, reset in results), results


def test_small_rest_is_discarded_and_the_connection_kept(make_server):
    """An early answer with little body left: discarded, the client's
    connection stays open for its next request."""
    def handler(sock, app):
        buf = b""
        while True:
            head, buf = read_head(sock, buf)
            if head is None:
                return
            if head.startswith("POST"):
                sock.sendall(b"HTTP/1.1 401 No\r\nContent-Length: 3\r\n\r\nno\n")
                reset_close(sock)
                return
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    app, srv = start(make_server, handler, "on", "discard_body_max_bytes 1m;")
    try:
        s = srv.connect(timeout=10)
        body = b"b" * 200000
        s.sendall(request("POST", "/app/x", body=body) + request("GET", "/app/y"))
        rd = Reader(s, timeout=10)
        r1 = rd.response()
        r2 = rd.response()
        s.close()
    finally:
        app.stop()
    assert (r1.status, r1.body) == (401, b"no\n")
    assert r1.header("connection") != "close"
    assert (r2.status, r2.body) == (200, b"ok\n")
