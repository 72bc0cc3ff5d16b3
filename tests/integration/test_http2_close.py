"""The seed over HTTP/2: early answers without resets, graceful GOAWAY.

- A refused upload on one stream (401 to a 16 MiB PUT without credentials)
  gets its whole answer and then RST_STREAM(NO_ERROR) (RFC 9113 §8.1), while
  a 1 MiB download on another stream of the same connection completes; the
  DATA the client had in flight is discarded, counted, and credited back to
  the connection window (§6.9), so a later upload on it is not stuck.
- Idle expiry while the client is still sending DATA on a stream already
  answered: GOAWAY(2^31-1), then GOAWAY(last id) (§6.8), then the close —
  and the client reads both GOAWAYs intact with no reset. With
  `lingering_close off` (a plain close) the same client sees the reset:
  the failure the lingering drain exists to prevent.
- keepalive_requests: the same two-step GOAWAY; the streams up to the last
  id are answered whole; a client still opening streams sees no reset (and
  sees one against the plain close).
- Graceful stop (SIGQUIT) and reload (SIGHUP) with a download and an upload
  in flight: both finish, then the server exits 0 (stop) or serves on
  (reload).
- A connection error while the client still sends: its GOAWAY is read, no
  reset. An upload stream that stalls ends at body_timeout alone.

Over TLS the close also carries close_notify: the client's sockets report a
TCP FIN without it as a ragged EOF, never as a clean end.
"""

import os
import signal
import time

import pytest

from conftest import AUTH, wait_for
from h2client import (ERR, MAX_STREAM_ID, H2Client, counter, data, encode_headers,
                      error_name, h2c_server, headers, metrics, request_fields, tls_server,
                      window_update)
from tlscerts import TestCA

MIB = 1024 * 1024
TRANSPORTS = ["tls", "h2c"]


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(str(tmp_path_factory.mktemp("ca")))


def start(make_server, ca, transport, extra=""):
    if transport == "tls":
        srv = tls_server(make_server, ca, extra)
    else:
        srv = h2c_server(make_server, extra)
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(bytes(range(256)) * 4096)  # 1 MiB
    return srv


def big_bytes(srv):
    with open(os.path.join(srv.root, "big.bin"), "rb") as f:
        return f.read()


def naive(mode):
    """The lingering_close parameter: 'off' (the plain close) reproduces a
    failure, so it checks nothing more under the sanitizers."""
    return pytest.param(mode, marks=pytest.mark.release_only) if mode == "off" else mode


# ---------------------------------------------------------------------------
# Early answer on one stream, download on another


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refused_16mib_put_gets_401_then_rst_no_error_and_a_download_completes(
        make_server, ca, transport):
    srv = start(make_server, ca, transport, "http2_stream_window 1m;\nbody_max_bytes 4m;")
    before = metrics(srv, ca)
    c = H2Client.connect(srv, ca).handshake()
    down = c.request("GET", "/big.bin")
    up = c.request("PUT", "/upload/big.bin", extra=[("content-length", str(16 * MIB))],
                   end_stream=False)
    sent = c.send_body(up, b"u" * (16 * MIB), timeout=30)
    upst = c.wait(up, 30)
    assert upst.status == 401, c.describe()
    assert upst.ended, "the 401 must end its stream before any reset: " + c.describe()
    assert upst.reset == ERR["NO_ERROR"] and upst.reset_after_end, \
        "want END_STREAM then RST_STREAM(NO_ERROR): " + c.describe()
    if upst.field("content-length") is not None:
        assert len(upst.body) == int(upst.field("content-length"))
    assert sent < 16 * MIB, "the client was never told to stop"
    downst = c.wait(down, 30)
    assert downst.status == 200 and downst.reset is None, c.describe()
    assert bytes(downst.body) == big_bytes(srv)
    # The connection goes on, and the discarded DATA did not eat its window:
    # a 2 MiB upload (twice the connection window) still goes through.
    body = os.urandom(2 * MIB)
    sid = c.request("PUT", "/upload/after.bin", extra=[("authorization", AUTH)],
                    end_stream=False)
    c.send_body(sid, body, timeout=30)
    assert c.wait(sid, 30).status == 201, c.describe()
    assert bytes(c.get("/upload/after.bin", extra=[("authorization", AUTH)]).body) == body
    assert not c.goaways and not c.ended, c.describe()
    c.close()
    after = metrics(srv, ca)
    # Every byte of DATA the refused stream carried was thrown away, and
    # counted once: before the RST_STREAM and after it, when nghttp2 has
    # closed the stream.
    assert counter(after, "lingerd_http2_discarded_bytes_total") - \
        counter(before, "lingerd_http2_discarded_bytes_total") == sent, \
        "discarded DATA not counted exactly (%d sent)" % sent
    assert counter(after, "lingerd_http2_rst_stream_sent_total", code="NO_ERROR") > \
        counter(before, "lingerd_http2_rst_stream_sent_total", code="NO_ERROR")


EARLY = [
    pytest.param("PUT", "/upload/x.bin", True, True, 413, id="413-by-length"),
    pytest.param("PUT", "/upload/x.bin", True, False, 413, id="413-by-body_max_bytes"),
    pytest.param("PUT", "/index.html", False, True, 405, id="405-method"),
    pytest.param("POST", "/upload/x.bin", False, False, 401, id="401-no-length"),
]


@pytest.mark.parametrize("method,path,auth,length,status", EARLY)
def test_early_answers_end_with_rst_no_error_after_the_whole_answer(make_server, ca, method,
                                                                    path, auth, length,
                                                                    status):
    """Each refusal before the body is in (body_max_bytes 100k against a
    1 MiB body): the whole answer, END_STREAM, then RST_STREAM(NO_ERROR);
    the connection goes on."""
    srv = start(make_server, ca, "h2c", "body_max_bytes 100k;")
    c = H2Client.connect(srv, ca).handshake()
    extra = [("authorization", AUTH)] if auth else []
    if length:
        extra.append(("content-length", str(MIB)))
    up = c.request(method, path, extra=extra, end_stream=False)
    c.send_body(up, b"v" * MIB, timeout=30)
    st = c.wait(up)
    assert st.status == status and st.ended, c.describe()
    assert st.reset == ERR["NO_ERROR"] and st.reset_after_end, c.describe()
    assert c.get("/index.html").status == 200
    assert not c.goaways


# ---------------------------------------------------------------------------
# Sending while the server closes


def send_while_reading(c, make_frame, until, every=0.01, limit=15.0, after=0.3):
    """Send make_frame() every `every` seconds, reading between sends, until
    until() or the connection ends (bounded by limit and by count); then
    once the server's side has ended, keep sending for `after` seconds, as a
    client with data in flight does. Returns the frames sent."""
    n = 0
    deadline = time.monotonic() + limit
    for n in range(int(limit / every) + 1):
        if until() or c.ended or time.monotonic() > deadline:
            break
        if not c.send(make_frame()):
            break
        c.read_some(every)
    if c.eof or c.ragged:  # the server closed: data it has not read yet...
        end = time.monotonic() + after
        for _ in range(int(after / 0.05) + 1):
            if time.monotonic() > end or not c.send(make_frame()):
                break
            time.sleep(0.05)
    return n


def two_step_goaway(c, last_at_least):
    """GOAWAY(2^31-1, NO_ERROR) then GOAWAY(last id, NO_ERROR), in order and
    whole (§6.8)."""
    codes = [code for _, code, _ in c.goaways]
    assert codes and all(code == 0 for code in codes), c.describe()
    lasts = [last for last, _, _ in c.goaways]
    assert lasts[0] == MAX_STREAM_ID, "the first GOAWAY must announce 2^31-1: %s" % lasts
    assert len(lasts) >= 2 and lasts[-1] < MAX_STREAM_ID, \
        "no second GOAWAY with the real last id: %s" % lasts
    assert lasts == sorted(lasts, reverse=True), "last ids must not grow: %s" % lasts
    assert lasts[-1] >= last_at_least, c.describe()
    return lasts[-1]


def idle_expiry_while_sending(srv, ca):
    """One trial: an unauthenticated PUT answered 401 + RST(NO_ERROR); the
    client goes on sending DATA on that stream, slowly, while the
    connection idles out. Returns the client once its connection ended."""
    c = H2Client.connect(srv, ca, timeout=20).handshake()
    sid = c.request("PUT", "/upload/slow.bin", extra=[("content-length", str(16 * MIB))],
                    end_stream=False)
    chunk = b"s" * 4096
    send_while_reading(c, lambda: data(sid, chunk), until=lambda: False, every=0.01,
                       limit=15.0)
    c.read_to_end(10)
    return c, sid


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mode", ["on", naive("off")])
def test_idle_goaway_while_client_still_sends_reaches_it_intact(make_server, ca, transport,
                                                                mode):
    srv = start(make_server, ca, transport,
                "lingering_close %s;\nkeepalive_timeout 500ms;\nhttp2_stream_window 16m;\n"
                "http2_connection_window 16m;\nhttp2_goaway_timeout 300ms;" % mode)
    trials = 3 if mode == "on" else 5
    results = []
    before = metrics(srv, ca)
    for _ in range(trials):
        c, sid = idle_expiry_while_sending(srv, ca)
        results.append(c)
        if mode == "on":
            st = c.streams[sid]
            assert st.status == 401 and st.reset == ERR["NO_ERROR"], c.describe()
            two_step_goaway(c, sid)
            assert c.ended, "the connection never closed: " + c.describe()
            assert not c.reset, "the client saw a reset: " + c.describe()
            assert not c.ragged, "TLS ended without close_notify: " + c.describe()
        c.close()
    if mode == "off":
        assert any(c.reset or c.ragged for c in results), \
            "a plain close should reset a client still sending: %s" % [
                c.describe() for c in results]
    else:
        # Two GOAWAYs per connection, then the lingering close of HTTP/1.1
        # (half-close, drain), counted as such.
        m = metrics(srv, ca)
        goaways = "lingerd_http2_goaway_sent_total"
        assert counter(m, goaways, code="NO_ERROR") - \
            counter(before, goaways, code="NO_ERROR") == 2 * trials
        assert counter(m, "lingerd_lingered_total") - \
            counter(before, "lingerd_lingered_total") == trials


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mode", ["on", naive("off")])
def test_keepalive_requests_goaway_lets_streams_below_last_id_finish(make_server, ca,
                                                                     transport, mode):
    """keepalive_requests 5 and a client that opens 8 streams at once, then
    goes on opening streams until the close (as a client whose HEADERS
    crossed the GOAWAY on the wire does): every stream up to the last id is
    answered whole, none above it, and the close is no reset."""
    srv = start(make_server, ca, transport,
                "lingering_close %s;\nkeepalive_requests 5;\nhttp2_goaway_timeout 300ms;"
                % mode)
    with open(os.path.join(srv.root, "index.html"), "rb") as f:
        small = f.read()
    trials = 1 if mode == "on" else 5
    results = []
    for _ in range(trials):
        c = H2Client.connect(srv, ca, timeout=20).handshake()
        want = {}

        def get(path, body):
            sid = c.new_stream_id()
            c.stream(sid)
            want[sid] = body
            return headers(sid, encode_headers(request_fields("GET", path, "localhost",
                                                              c.scheme)), end_stream=True)
        c.send(b"".join(get("/big.bin", big_bytes(srv)) for _ in range(8)))
        c.pump(lambda: c.goaways, 20)
        send_while_reading(c, lambda: get("/index.html", small), until=lambda: False,
                           every=0.01, limit=15.0)
        c.read_to_end(10)
        results.append(c)
        if mode == "on":
            last = two_step_goaway(c, 9)  # the 5th stream at least
            answered = [s for s in c.streams.values() if s.id <= last]
            assert len(answered) >= 5
            for st in answered:
                assert st.status == 200 and st.ended and bytes(st.body) == want[st.id], \
                    c.describe()
            for st in c.streams.values():
                if st.id > last:
                    assert st.status is None, "a stream above the last id was answered"
            assert c.ended and not c.reset and not c.ragged, c.describe()
        c.close()
    if mode == "off":
        assert any(c.reset or c.ragged for c in results), [c.describe() for c in results]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("sig", [signal.SIGQUIT, signal.SIGHUP], ids=["stop", "reload"])
def test_graceful_stop_and_reload_let_streams_in_flight_finish(make_server, ca, transport,
                                                               sig):
    """A download held by our closed window and an upload half sent when
    the server is told to stop (SIGQUIT) or to reload (SIGHUP): GOAWAY
    (NO_ERROR, last id covering both), both streams finish, then a clean
    close. A stop then exits 0; after a reload the server serves on."""
    srv = start(make_server, ca, transport)
    c = H2Client.connect(srv, ca, timeout=20, window=65535)
    c.auto_window = False  # the download stops at our first 64 KiB window
    c.handshake()
    down = c.request("GET", "/big.bin")
    up = c.request("PUT", "/upload/during-stop.bin", extra=[("authorization", AUTH)],
                   end_stream=False)
    body = os.urandom(512 * 1024)
    c.send_body(up, body[:100000], end_stream=False)
    assert c.pump(lambda: len(c.streams[down].body) >= 65535 - 16384), c.describe()
    srv.send_signal(sig)
    assert c.pump(lambda: c.goaways, 10), "no GOAWAY: " + c.describe()
    c.auto_window = True
    # open the windows we held closed
    c.send(window_update(0, 16 * MIB) + window_update(down, 16 * MIB))
    c.send_body(up, body[100000:], end_stream=True, timeout=30)
    st_up = c.wait(up, 30)
    st_down = c.wait(down, 30)
    assert st_up.status == 201 and st_up.reset is None, c.describe()
    assert st_down.status == 200 and st_down.reset is None, c.describe()
    assert bytes(st_down.body) == big_bytes(srv)
    assert all(code == 0 for _, code, _ in c.goaways), c.describe()
    assert c.goaways[-1][0] >= up, c.describe()
    assert c.read_to_end(20), "connection not closed after the GOAWAY"
    assert not c.reset and not c.ragged, c.describe()
    c.close()
    if sig == signal.SIGQUIT:
        assert wait_for(lambda: srv.proc.poll() is not None, 20), "server did not stop"
        assert srv.stop() == 0
    else:
        fresh = H2Client.connect(srv, ca).handshake()
        assert fresh.get("/index.html").status == 200
        fresh.close()
    with open(os.path.join(srv.root, "upload", "during-stop.bin"), "rb") as f:
        assert f.read() == body


def test_stalled_upload_stream_ends_at_body_timeout(make_server, ca):
    """An upload whose body stops coming: after body_timeout the stream
    gets 408 (or is reset), and the connection goes on serving."""
    srv = start(make_server, ca, "h2c", "body_timeout 1s;")
    c = H2Client.connect(srv, ca, timeout=20).handshake()
    sid = c.request("PUT", "/upload/stalled.bin", extra=[("authorization", AUTH),
                                                        ("content-length", "100000")],
                    end_stream=False)
    c.send(data(sid, b"s" * 1000))
    st = c.stream(sid)
    assert c.pump(lambda: st.done or c.goaways, 15), "a stalled stream is held: " + c.describe()
    assert not c.goaways, c.describe()
    assert st.status == 408 or (st.status is None and st.reset is not None), c.describe()
    assert c.get("/index.html").status == 200


@pytest.mark.parametrize("mode", ["on", naive("off")])
def test_connection_error_goaway_is_read_before_the_close(make_server, ca, mode):
    """A connection error while the client still sends: GOAWAY(code), then
    the same lingering close — no reset, TLS ends with close_notify. Against
    the plain close the client still sending sees the reset."""
    srv = start(make_server, ca, "tls", "lingering_close %s;\nhttp2_stream_window 16m;\n"
                "http2_connection_window 16m;" % mode)
    trials = 3 if mode == "on" else 5
    results = []
    for _ in range(trials):
        c = H2Client.connect(srv, ca, timeout=20).handshake()
        sid = c.request("PUT", "/upload/e.bin", extra=[("authorization", AUTH)],
                        end_stream=False)
        c.send(data(sid, b"a" * 1000))
        # DATA on an even, idle stream (PROTOCOL_ERROR), and right behind it
        # 1 MiB of the upload (within its windows) that the server has not
        # read when it decides to close.
        c.send(data(2, b"x") + data(sid, b"b" * 16384) * 64)
        send_while_reading(c, lambda: data(sid, b"b" * 1000), until=lambda: False,
                           every=0.01, limit=10.0)
        c.read_to_end(10)
        results.append(c)
        if mode == "on":
            assert c.connection_error() == "PROTOCOL_ERROR", c.describe()
            assert error_name(c.goaways[-1][1]) == "PROTOCOL_ERROR"
            assert c.ended and not c.reset and not c.ragged, c.describe()
        c.close()
    if mode == "off":
        assert any(c.reset or c.ragged for c in results), [c.describe() for c in results]
