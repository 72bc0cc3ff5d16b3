"""HTTP/2 streams meeting the asynchronous handlers: a stream ends (the
client resets it, closes the connection, says GOAWAY and closes; the server
stops or reloads) while its handler still holds it — an upload waiting on a
held fsync, a proxied request waiting for a slow upstream, a proxied answer
streaming, a large file stalled on a shut window, a request body paused by
an upstream that does not read. Each case checks that the server lives (a
sanitizer report in its stderr fails the test when it stops: conftest), that
other streams and a new connection are served, and that its counters come
back (no connection left behind in /server-status).

Also: bursts of streams reset under http2_max_resets across the handlers,
early answers whose DATA keeps coming until keepalive_timeout, and the
protocol switches HTTP/2 has not (Upgrade, CONNECT, an upstream's 101).
"""

import os
import signal
import threading
import time

import h2.errors
import h2.exceptions
import h2.settings
import pytest

from conftest import AUTH, get, wait_for
from test_http2 import (H2, MIB, abuse_count, ca, others_served,  # noqa: F401 (ca: fixture)
                        raw_data_frame, tls_conf)
from test_process import children
from test_upload import open_uploads, temp_files, up
from test_upload_io import CONF, faults, held, release, shim  # noqa: F401 (fixtures)
from upstream_apps import apps, read_body, read_head, respond  # noqa: F401 (apps)

H2C = "http2_cleartext on;\nbody_max_bytes 64m;\n"
PATIENT = "shutdown_timeout 60s;\n"  # a graceful end waits for the streams
CHUNK = 48 * 1024  # the first half of a streamed proxied answer
PAUSE_BODY = 16 * MIB  # more than loopback buffers hold: the upstream's reading gates it


def status_value(srv, field, ca=None):
    """A count from /server-status?auto; over h2 on a TLS listener (ca)."""
    if ca is not None:
        c = H2(srv, ca=ca)
        r = c.get("/server-status?auto")
        c.close()
        assert r["headers"][":status"] == "200", r
        text = r["data"].decode()
    else:
        r = get(srv, "/server-status?auto")
        assert r.status == 200, r
        text = r.body.decode()
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":")[1])
    raise AssertionError("no %s in /server-status?auto" % field)


def metric(srv, name):
    """Sum of a /metrics family's samples whose line starts with name."""
    text = get(srv, "/metrics").body.decode()
    return sum(int(float(l.split()[-1])) for l in text.splitlines() if l.startswith(name))


def gated_handler(gate, mode):
    """An upstream whose answer waits on gate: "slow" reads the request and
    answers when released; "stream" sends half its answer at once and the
    rest when released; "deaf" reads nothing until released, then the
    whole body, and answers with its length."""
    def handler(sock, app):
        head, buf = read_head(sock, b"")
        if head is None:
            return
        app.count("requests")
        if mode == "deaf":
            gate.wait(60)
            body, _ = read_body(sock, head, buf)
            respond(sock, 200, b"%d" % len(body))
            return
        read_body(sock, head, buf)
        if mode == "slow":
            gate.wait(60)
            respond(sock, 200, b"late answer")
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (2 * CHUNK) +
                     b"a" * CHUNK)
        gate.wait(60)
        sock.sendall(b"b" * CHUNK)
    return handler


class Case:
    """A server with one HTTP/2 stream held in a handler's wait.

    release() ends the wait; finish() drives the stream to its end and
    checks its answer (the graceful cases); check_gone() checks what must
    hold once the stream is gone without an answer."""

    def __init__(self, kind, make_server, apps, faults, extra=PATIENT, ca=None):
        self.kind = kind
        self.extra = extra
        self.ca = ca  # TLS with ALPN h2, else h2c
        if ca is not None:
            plain = make_server

            def make_server(conf):
                return plain(tls_conf(ca) + conf, tls=True)
        self.gate = threading.Event()
        self.faults = faults
        self.body = b""
        self.sent = 0
        getattr(self, "_open_" + kind)(make_server, apps)

    # -- the states --

    def _open_wait_io(self, make_server, apps):
        """(a) an upload whose commit fsync is held: the stream waits on an
        I/O thread (conn_wait_io)."""
        self.faults(fsync_hold="slow")
        self.srv = make_server("upload_writeback_bytes 1m;\nio_threads 1;\n" + H2C + self.extra)
        os.mkdir(up(self.srv, "slow"))
        self.c = H2(self.srv, ca=self.ca, timeout=30)
        self.body = os.urandom(200 * 1024)
        self.sid = self.c.request("/upload/slow/f.bin", method="PUT",
                                  headers=[("authorization", AUTH),
                                           ("content-length", str(len(self.body)))],
                                  body=b"", end=False)
        self._send_all()
        assert self.sent == len(self.body)
        assert wait_for(lambda: held(self.faults)), "the upload's fsync never started"

    def _open_proxy_slow(self, make_server, apps):
        """(b) proxy_pass waiting for an upstream that has not answered."""
        self.app = apps(gated_handler(self.gate, "slow"))
        self.srv = make_server(H2C + self.extra + "location /app/ {\n methods GET POST;\n"
                               " proxy_pass %s;\n}\n" % self.app.addr)
        self.c = H2(self.srv, ca=self.ca, timeout=30)
        self.sid = self.c.request("/app/slow")
        assert wait_for(lambda: self.app.get("requests") == 1), "the upstream got no request"

    def _open_proxy_stream(self, make_server, apps):
        """(c) a proxied answer half relayed, the rest not yet sent."""
        self.app = apps(gated_handler(self.gate, "stream"))
        self.srv = make_server(H2C + self.extra + "location /app/ {\n proxy_pass %s;\n}\n"
                               % self.app.addr)
        self.c = H2(self.srv, ca=self.ca, timeout=30)
        self.sid = self.c.request("/app/stream")
        st = self.c.stream(self.sid)
        assert self.c.wait(lambda: len(st["data"]) >= CHUNK), st

    def _open_static_stalled(self, make_server, apps):
        """(d) a large file mid-send, the stream's window shut by a client
        that reads but gives back only the connection's window."""
        self.srv = make_server(H2C + self.extra)
        self.file = os.urandom(4 * MIB)
        with open(os.path.join(self.srv.root, "big.bin"), "wb") as f:
            f.write(self.file)
        self.c = H2(self.srv, ca=self.ca, timeout=30,
                    settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16384})
        conn = self.c.conn
        conn.acknowledge_received_data = \
            lambda size, sid: conn.increment_flow_control_window(size) if size else None
        self.sid = self.c.request("/big.bin")
        st = self.c.stream(self.sid)
        assert self.c.wait(lambda: len(st["data"]) == 16384), len(st["data"])
        assert st["headers"][":status"] == "200" and not st["ended"]

    def _open_body_paused(self, make_server, apps):
        """(e) a proxied upload whose upstream reads nothing: the proxy
        pauses the body (conn_body_pause) and the stream's window shuts."""
        self.app = apps(gated_handler(self.gate, "deaf"), timeout=60)
        self.srv = make_server(H2C + self.extra + "location /app/ {\n methods POST;\n"
                               " proxy_pass %s;\n}\n" % self.app.addr)
        self.c = H2(self.srv, ca=self.ca, timeout=30)
        self.body = b"p" * PAUSE_BODY
        self.sid = self.c.request("/app/up", method="POST",
                                  headers=[("content-length", str(len(self.body)))],
                                  body=b"", end=False)
        quiet = [0]

        def paused():
            # the window stays shut over several reads: the body is paused
            if self.c.conn.local_flow_control_window(self.sid) == 0:
                quiet[0] += 1
            else:
                quiet[0] = 0
            return quiet[0] >= 8
        self._send_all(paused)
        assert quiet[0] >= 8 and self.sent < len(self.body), (self.sent, quiet)

    # -- driving --

    def _send_all(self, until=lambda: False, timeout=60):
        st = self.c.stream(self.sid)
        deadline = time.monotonic() + timeout
        while self.sent < len(self.body) and time.monotonic() < deadline and \
                st["reset"] is None and not self.c.closed and not until():
            try:
                self.sent += self.c.send_body(self.sid, self.body[self.sent:], end=True)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, OSError):
                break
            self.c.pump(0.1)

    def release(self):
        self.gate.set()
        if self.faults is not None:
            release(self.faults)

    def finish(self):
        """Let the stream end as it would have, and check its answer."""
        self.release()
        if self.kind == "static_stalled":
            del self.c.conn.acknowledge_received_data
            self.c.conn.increment_flow_control_window(8 * MIB, stream_id=self.sid)
            self.c.flush()
        self._send_all()
        r = self.c.response(self.sid, timeout=60)
        status = r["headers"][":status"] if r["headers"] else None
        expect = {"wait_io": "201", "proxy_slow": "200", "proxy_stream": "200",
                  "static_stalled": "200", "body_paused": "200"}[self.kind]
        assert status == expect and r["ended"], (status, r["reset"], len(r["data"]))
        if self.kind == "wait_io":
            with open(up(self.srv, "slow", "f.bin"), "rb") as f:
                assert f.read() == self.body
        elif self.kind == "proxy_slow":
            assert r["data"] == b"late answer"
        elif self.kind == "proxy_stream":
            assert r["data"] == b"a" * CHUNK + b"b" * CHUNK
        elif self.kind == "static_stalled":
            assert r["data"] == self.file
        else:
            assert r["data"] == b"%d" % len(self.body)

    def check_gone(self):
        """The stream ended without its answer: the handler let it go."""
        self.release()
        if self.kind == "wait_io":
            srv = self.srv
            assert wait_for(lambda: not temp_files(srv) and not open_uploads(srv), 20), \
                (temp_files(srv), open_uploads(srv))
        if hasattr(self, "app"):
            # the upstream connection is given up (closed, or ended by the answer)
            assert wait_for(lambda: not any(t.is_alive() for t in self.app.threads), 30)


KINDS = ["wait_io", "proxy_slow", "proxy_stream", "static_stalled", "body_paused"]


def conns_settle(srv, n, ca=None):
    """/server-status counts n connections (its own request's among them)."""
    return wait_for(lambda: status_value(srv, "ConnsTotal", ca) == n, 20)


@pytest.fixture
def case(request, make_server, apps):
    """request.param: a kind, or (kind, extra configuration[, "tls"])."""
    param = request.param if isinstance(request.param, tuple) else (request.param, PATIENT)
    kind, extra = param[:2]
    ca = request.getfixturevalue("ca") if param[2:] == ("tls",) else None
    fault = request.getfixturevalue("faults") if kind == "wait_io" else None
    made = Case(kind, make_server, apps, fault, extra, ca)
    yield made
    made.release()
    made.c.close()


@pytest.mark.parametrize("case", KINDS, indirect=True)
def test_rst_stream_cancel_in_each_wait(case):
    """RST_STREAM(CANCEL) on the waiting stream: the handler lets it go,
    another stream on the same connection and a new connection are served."""
    c, srv = case.c, case.srv
    before = metric(srv, 'lingerd_http2_rst_stream_received_total{code="CANCEL"}')
    c.conn.reset_stream(case.sid, h2.errors.ErrorCodes.CANCEL)
    c.flush()
    r = c.get("/index.html")
    assert r["headers"][":status"] == "200" and r["ended"]
    assert others_served(srv)
    case.check_gone()
    r = c.get("/index.html", method="HEAD")
    assert r["headers"][":status"] == "200"
    assert not c.closed
    assert metric(srv, 'lingerd_http2_rst_stream_received_total{code="CANCEL"}') == before + 1
    c.close()
    assert conns_settle(srv, 1)


@pytest.mark.parametrize("goaway", [False, True], ids=["close", "goaway_close"])
@pytest.mark.parametrize("case", KINDS, indirect=True)
def test_client_closes_the_connection_in_each_wait(case, goaway):
    """The client closes its connection (after its own GOAWAY, or not)
    while the stream waits: the streams end with the connection."""
    c, srv = case.c, case.srv
    if goaway:
        c.conn.close_connection()
        c.flush()
    c.close()
    assert others_served(srv)
    case.check_gone()
    assert conns_settle(srv, 1)
    assert others_served(srv)


@pytest.mark.parametrize("sig", [signal.SIGQUIT, signal.SIGHUP], ids=["stop", "reload"])
@pytest.mark.parametrize("case", KINDS, indirect=True)
def test_graceful_stop_and_reload_in_each_wait(case, sig):
    """A graceful stop or a reload while the stream waits: the connection
    says GOAWAY, the stream finishes whole, the connection ends cleanly and
    the old worker exits (the master too on a stop)."""
    c, srv = case.c, case.srv
    old_workers = set(children(srv.proc.pid))
    assert old_workers
    srv.send_signal(sig)
    assert c.wait(lambda: c.goaways, timeout=15), "no GOAWAY"
    case.finish()
    assert c.wait(lambda: c.closed, timeout=30), c.goaways
    assert not c.reset_by_peer
    assert c.goaways[0][0] == 2 ** 31 - 1 and c.goaways[-1] == (case.sid, 0), c.goaways
    if sig == signal.SIGQUIT:
        assert srv.proc.wait(timeout=30) == 0
    else:
        assert others_served(srv)
        assert wait_for(lambda: not old_workers & set(children(srv.proc.pid)), 30), \
            "the old worker did not exit"
        assert conns_settle(srv, 1)


TLS_KINDS = ["proxy_stream", "static_stalled", "body_paused"]


@pytest.mark.parametrize("how", ["close", "stop"])
@pytest.mark.parametrize("case", [(k, PATIENT, "tls") for k in TLS_KINDS], indirect=True,
                         ids=TLS_KINDS)
def test_over_tls_close_and_stop_in_each_wait(case, how):
    """The same over TLS (ALPN h2): the client's close, or a graceful stop
    that lets the stream finish and ends with close_notify."""
    c, srv = case.c, case.srv
    assert c.alpn == "h2"
    if how == "close":
        c.close()
        case.check_gone()
        assert conns_settle(srv, 1, case.ca)
        return
    srv.send_signal(signal.SIGQUIT)
    assert c.wait(lambda: c.goaways, timeout=15), "no GOAWAY"
    case.finish()
    assert c.wait(lambda: c.closed, timeout=30), c.goaways
    assert not c.reset_by_peer  # close_notify came (suppress_ragged_eofs=False)
    assert srv.proc.wait(timeout=30) == 0


@pytest.mark.parametrize("case", [(k, "shutdown_timeout 1s;\n") for k in KINDS],
                         indirect=True, ids=KINDS)
def test_shutdown_timeout_ends_streams_still_waiting(case):
    """A graceful stop whose shutdown_timeout passes while the stream still
    waits (nothing is released): the connection is closed with the stream
    unfinished (never an END_STREAM on a partial answer), and once the
    handler's wait ends the worker exits cleanly."""
    c, srv = case.c, case.srv
    st = c.stream(case.sid)
    srv.send_signal(signal.SIGQUIT)
    assert c.wait(lambda: c.closed, timeout=30), c.goaways
    assert not st["ended"], st["headers"]
    case.release()
    assert srv.proc.wait(timeout=30) == 0


# A deadline of the handler's wait passes: the stream alone ends.
DEADLINES = {
    "wait_io": ("io_wait_timeout 1s;\n", "reset"),
    "proxy_slow": ("proxy_read_timeout 1s;\n", "504"),
    "proxy_stream": ("proxy_read_timeout 1s;\n", "reset"),
    "static_stalled": ("send_timeout 1s;\n", "reset"),
    "body_paused": ("proxy_send_timeout 1s;\n", "504"),
}


@pytest.mark.parametrize("case", [(k, PATIENT + DEADLINES[k][0]) for k in KINDS],
                         indirect=True, ids=KINDS)
def test_a_deadline_of_the_wait_ends_only_the_stream(case):
    """io_wait_timeout, proxy_read_timeout, send_timeout, proxy_send_timeout
    while the stream waits: the stream gets its error answer, or a reset if
    its answer had begun (or no answer can be told, for a held disk); the
    connection and its other streams go on."""
    c, srv = case.c, case.srv
    st = c.stream(case.sid)
    assert c.wait(lambda: st["ended"] or st["reset"] is not None, timeout=30), st["headers"]
    expect = DEADLINES[case.kind][1]
    if expect == "reset":
        assert not st["ended"] and st["reset"] is not None, (st["headers"], st["reset"])
    else:
        assert st["headers"][":status"] == expect and st["ended"], (st["headers"], st["reset"])
    r = c.get("/index.html")
    assert r["headers"][":status"] == "200" and r["ended"]
    assert not c.closed
    case.check_gone()
    assert others_served(srv)
    c.close()
    assert conns_settle(srv, 1)


# ---------------------------------------------------------------------------
# Bursts of resets across the handlers, between normal requests


def test_reset_bursts_across_handlers_under_the_reset_limit(make_server, apps):
    """120 streams opened and reset in bursts of 12, each burst across the
    handlers (static, a large file, a proxied request, a proxied upload, an
    upload, an early 401, the status page, a 404), with normal requests
    between the bursts: all answered, the connection is not cut (the resets
    stay under http2_max_resets), nothing is left behind."""
    gate = threading.Event()
    app = apps(gated_handler(gate, "slow"))
    srv = make_server(H2C + "http2_max_resets 200;\nlocation /app/ {\n methods GET POST;\n"
                      " proxy_pass %s;\n}\n" % app.addr)
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(os.urandom(2 * MIB))
    c = H2(srv, timeout=30)
    targets = [("GET", "/index.html", [], None), ("GET", "/big.bin", [], None),
               ("GET", "/app/x", [], None),
               ("POST", "/app/up", [("content-length", "100000")], b"u" * 30000),
               ("PUT", "/upload/burst.bin", [("authorization", AUTH),
                                             ("content-length", "100000")], b"v" * 30000),
               ("PUT", "/upload/no-auth.bin", [("content-length", "100000")], b"w" * 30000),
               ("GET", "/server-status?auto", [], None), ("GET", "/nothing-here", [], None)]
    try:
        for burst in range(10):
            sids = []
            for i in range(12):
                method, path, hdrs, body = targets[(burst + i) % len(targets)]
                sid = c.request(path, method=method, headers=hdrs,
                                body=body, end=body is None)
                sids.append(sid)
            c.pump(0.05)
            for sid in sids:
                try:
                    c.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                except h2.exceptions.StreamClosedError:
                    pass  # already answered whole
            c.flush()
            r = c.get("/index.html")
            assert r["headers"][":status"] == "200" and r["ended"], (burst, r)
        assert not c.closed and not c.goaways
        assert others_served(srv)
    finally:
        gate.set()
    assert wait_for(lambda: not any(t.is_alive() for t in app.threads), 30)
    assert wait_for(lambda: not temp_files(srv) and not open_uploads(srv), 20)
    r = c.get("/index.html", method="HEAD")
    assert r["headers"][":status"] == "200"
    assert abuse_count(srv, "rapid_reset") == 0
    c.close()
    assert conns_settle(srv, 1)


def test_reset_flood_past_the_limit_with_streams_in_every_wait(make_server, apps, faults):
    """Streams in every wait (a held fsync, a slow upstream, a half-relayed
    answer, a large file) when a reset flood passes http2_max_resets: the
    connection ends with GOAWAY(ENHANCE_YOUR_CALM), each handler lets its
    stream go, other clients are served, nothing is left behind."""
    faults(fsync_hold="slow")
    slow, half = threading.Event(), threading.Event()
    app_slow = apps(gated_handler(slow, "slow"))
    app_half = apps(gated_handler(half, "stream"))
    srv = make_server(H2C + "io_threads 1;\nhttp2_max_resets 30;\n"
                      "location /slow/ {\n proxy_pass %s;\n}\n"
                      "location /half/ {\n proxy_pass %s;\n}\n"
                      % (app_slow.addr, app_half.addr))
    os.mkdir(up(srv, "slow"))
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(os.urandom(4 * MIB))
    c = H2(srv, timeout=30)
    body = os.urandom(32 * 1024)  # within the first window: sent whole at once
    try:
        put = c.request("/upload/slow/f.bin", method="PUT", body=body,
                        headers=[("authorization", AUTH), ("content-length", str(len(body)))])
        assert wait_for(lambda: held(faults)), "the upload's fsync never started"
        c.request("/slow/x")
        half_sid = c.request("/half/x")
        c.request("/big.bin")
        assert c.wait(lambda: len(c.stream(half_sid)["data"]) >= CHUNK)
        assert app_slow.get("requests") == 1 and not c.stream(put)["ended"]
        for _ in range(40):
            sid = c.request("/index.html", end=False)
            c.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        c.flush()
        assert c.wait(lambda: c.closed, timeout=30), c.goaways
        assert c.goaways[-1][1] == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM, c.goaways
        assert others_served(srv)
    finally:
        slow.set()
        half.set()
        release(faults)
    assert wait_for(lambda: not temp_files(srv) and not open_uploads(srv), 20)
    assert abuse_count(srv, "rapid_reset") == 1
    assert conns_settle(srv, 1)


def head_only_handler(gate):
    """An upstream that reads the head, then waits (no 100, no answer)."""
    def handler(sock, app):
        head, _ = read_head(sock, b"")
        if head is None:
            return
        app.count("requests")
        gate.wait(60)
    return handler


@pytest.mark.parametrize("mode", ["continue", "spool"])
def test_reset_while_the_proxy_holds_the_body_back(make_server, apps, mode):
    """A proxied POST whose body the proxy holds back: waiting for the
    upstream's 100 (expect: 100-continue, proxy_continue_timeout), or being
    spooled to a file first (proxy_request_buffering). The stream is reset
    meanwhile; the exchange's timers and file go with it: past the continue
    timeout nothing fires on the freed stream, and the server goes on."""
    gate = threading.Event()
    app = apps(head_only_handler(gate))
    extra = "proxy_continue_timeout 300ms;\n" if mode == "continue" else \
        "proxy_request_buffering on;\n"
    srv = make_server(H2C + extra + "location /app/ {\n methods POST;\n proxy_pass %s;\n}\n"
                      % app.addr)
    c = H2(srv, timeout=30)
    hdrs = [("content-length", str(4 * MIB))]
    if mode == "continue":
        hdrs.append(("expect", "100-continue"))
    sid = c.request("/app/up", method="POST", headers=hdrs, body=b"", end=False)
    if mode == "continue":
        assert wait_for(lambda: app.get("requests") == 1), "the upstream got no head"
    else:
        c.send_body(sid, b"s" * 60000, end=False)
        c.pump(0.2)
    c.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
    c.flush()
    try:
        for _ in range(10):  # past proxy_continue_timeout: its timer must be gone
            c.pump(0.1)
        r = c.get("/index.html")
        assert r["headers"][":status"] == "200" and r["ended"]
        assert not c.closed
        assert others_served(srv)
    finally:
        gate.set()
    assert wait_for(lambda: not any(t.is_alive() for t in app.threads), 30)
    c.close()
    assert conns_settle(srv, 1)


# ---------------------------------------------------------------------------
# Early answers, then the connection's idle end


def test_early_401s_with_data_still_coming_then_keepalive_timeout(make_server):
    """Three PUTs without credentials get their 401 while their DATA keeps
    coming, some of it after the server's RST_STREAM(NO_ERROR); then the
    client goes quiet: keepalive_timeout ends the connection with the two
    GOAWAYs and a clean close; the DATA thrown away is counted."""
    srv = make_server(H2C + "keepalive_timeout 1s;\nhttp2_goaway_timeout 1s;")
    c = H2(srv, timeout=30)
    body = b"x" * (2 * MIB)
    sids = [c.request("/upload/early-%d.bin" % i, method="PUT",
                      headers=[("content-length", str(len(body)))], body=b"", end=False)
            for i in range(3)]
    for sid in sids:
        st = c.stream(sid)
        c.send_until_reset(sid, body, 64 * 1024)
        r = c.response(sid)
        assert r["headers"][":status"] == "401" and r["ended"], r
        assert c.wait(lambda: st["reset"] is not None)
        assert st["reset"] == h2.errors.ErrorCodes.NO_ERROR
        # DATA the client had in flight when the reset came
        c.sock.sendall(raw_data_frame(sid, b"y" * 16384) * 4)
    assert c.get("/index.html")["headers"][":status"] == "200"
    assert c.wait(lambda: c.closed, timeout=30), c.goaways
    assert not c.reset_by_peer
    assert c.goaways[0][0] == 2 ** 31 - 1 and c.goaways[-1][1] == 0, c.goaways
    # at least the DATA sent after each reset, on a stream closed by then
    assert status_value(srv, "HTTP2DiscardedBytes") >= 3 * 4 * 16384
    assert conns_settle(srv, 1)
    assert others_served(srv)


# ---------------------------------------------------------------------------
# Protocol switches: none in HTTP/2 (RFC 9113 §8.6, §8.5)


def upgrading_handler(sock, app):
    """An upstream that switches protocols whether asked or not."""
    head, buf = read_head(sock, b"")
    if head is None:
        return
    app.count("requests")
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\n\r\n\x81\x05hello")
    time.sleep(0.5)


WS_HEADS = {
    "upgrade websocket": [(":method", "GET"), (":path", "/ws/chat"), (":scheme", "http"),
                          (":authority", "localhost"), ("upgrade", "websocket"),
                          ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                          ("sec-websocket-version", "13")],
    "connection upgrade": [(":method", "GET"), (":path", "/ws/chat"), (":scheme", "http"),
                           (":authority", "localhost"), ("connection", "upgrade"),
                           ("upgrade", "websocket")],
    "extended CONNECT": [(":method", "CONNECT"), (":protocol", "websocket"),
                         (":path", "/ws/chat"), (":scheme", "http"),
                         (":authority", "localhost")],
    "CONNECT": [(":method", "CONNECT"), (":authority", "localhost:443")],
}


@pytest.mark.parametrize("name", sorted(WS_HEADS))
def test_upgrade_and_connect_over_h2_are_stream_errors(make_server, apps, name):
    """Upgrade is a connection-specific field and CONNECT (plain or with
    :protocol, which this server does not offer: no
    SETTINGS_ENABLE_CONNECT_PROTOCOL) is not served: RST_STREAM
    (PROTOCOL_ERROR), the upstream never asked, the connection goes on."""
    app = apps(upgrading_handler)
    srv = make_server(H2C + "location /ws/ {\n proxy_pass %s;\n}\n" % app.addr)
    c = H2(srv, validate=False)
    sid = c.conn.get_next_available_stream_id()
    c.conn.send_headers(sid, WS_HEADS[name], end_stream=False)
    c.flush()
    r = c.response(sid)
    assert r["reset"] == h2.errors.ErrorCodes.PROTOCOL_ERROR, r
    assert c.get("/index.html")["headers"][":status"] == "200"
    assert not c.closed
    assert app.get("requests") == 0
    c.close()
    assert others_served(srv)


def test_an_upstream_101_on_a_stream_is_a_502(make_server, apps):
    """A GET over HTTP/2 with WebSocket fields but no Upgrade (which HTTP/2
    forbids): an upstream that answers 101 anyway switched unasked; the
    stream gets 502, the connection goes on."""
    app = apps(upgrading_handler)
    srv = make_server(H2C + "location /ws/ {\n proxy_pass %s;\n}\n" % app.addr)
    c = H2(srv)
    r = c.get("/ws/chat", headers=[("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                   ("sec-websocket-version", "13")])
    assert r["headers"][":status"] == "502" and r["ended"], r
    assert c.get("/index.html")["headers"][":status"] == "200"
    assert not c.closed
    c.close()
    assert others_served(srv)


# ---------------------------------------------------------------------------
# An answer cut short: HTTP/1.1 says so by closing; a stream by RST_STREAM


def cut_handler(framing):
    """An upstream that sends part of its answer, then closes."""
    def handler(sock, app):
        head, buf = read_head(sock, b"")
        if head is None:
            return
        read_body(sock, head, buf)
        app.count("requests")
        if framing == "chunked":
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        else:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
        time.sleep(0.2)
    return handler


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_a_proxied_answer_cut_short_resets_the_stream(make_server, apps, framing):
    """The upstream closes before its answer ends, after the head was
    relayed: the stream must not end as if the answer were whole
    (END_STREAM after "hello"), it is reset with INTERNAL_ERROR (RFC 9113
    §8.1); the connection goes on."""
    app = apps(cut_handler(framing))
    srv = make_server(H2C + "location /app/ {\n proxy_pass %s;\n}\n" % app.addr)
    c = H2(srv)
    sid = c.request("/app/cut")
    st = c.stream(sid)
    assert c.wait(lambda: st["ended"] or st["reset"] is not None)
    assert st["headers"] is None or st["headers"][":status"] == "200", st
    assert not st["ended"], "a cut answer ended as if whole: %r" % st
    assert st["reset"] == h2.errors.ErrorCodes.INTERNAL_ERROR, st
    assert c.get("/index.html")["headers"][":status"] == "200"
    assert not c.closed
    c.close()
    assert others_served(srv)
