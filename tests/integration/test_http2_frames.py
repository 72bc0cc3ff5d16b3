"""HTTP/2 frame-level conformance (RFC 9113), black-box over h2c.

Frames are built by hand (h2client.py), so every case sends exactly the
bytes a broken or hostile client would. Each error must get the code the RFC
names, in a form the RFC allows: a stream error is RST_STREAM(code) and the
connection goes on (a later stream on it is served); a connection error is
GOAWAY(code) and then the close. Where RFC 9113 §5.4 lets an endpoint treat
a stream error as a connection error, either form is accepted, except for
malformed requests, which lingerd's contract answers on the stream alone.
After every connection error a new connection must still be served: the
server survived.
"""

import os
import struct

import pytest

from conftest import AUTH
from h2client import (ACK, DATA, END_HEADERS, END_STREAM, ENABLE_PUSH, ERR, GOAWAY, HEADERS,
                      HEADER_TABLE_SIZE, INITIAL_WINDOW_SIZE, MAX_CONCURRENT_STREAMS,
                      MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE, MAX_WINDOW, PADDED, PING, PREFACE,
                      PRIORITY, RST_STREAM, SETTINGS, WINDOW_UPDATE, H2Client,
                      assert_server_serves, assert_still_serves, continuation, counter, data,
                      encode_headers, expect_connection_error, expect_stream_error, frame,
                      h2c_server, headers, metrics, ping, request_fields, rst_stream, settings,
                      window_update)


@pytest.fixture
def srv(make_server):
    return h2c_server(make_server)


def client(srv, **kw):
    return H2Client.h2c(srv, **kw).handshake()


def index_bytes(srv):
    with open(os.path.join(srv.root, "index.html"), "rb") as f:
        return f.read()


def req(c, sid, method="GET", path="/index.html", extra=(), end_stream=True, **kw):
    """Raw HEADERS for a request on sid (registered with the client)."""
    c.stream(sid)
    return headers(sid, encode_headers(request_fields(method, path, "localhost", "http",
                                                      extra)), end_stream=end_stream, **kw)


def open_upload(c, sid, path="/upload/f.bin", length=None):
    """A PUT with credentials whose body has not come yet: an open stream."""
    extra = [("authorization", AUTH)]
    if length is not None:
        extra.append(("content-length", str(length)))
    c.send(req(c, sid, "PUT", path, extra, end_stream=False))


# ---------------------------------------------------------------------------
# Preface and SETTINGS (RFC 9113 §3.4, §6.5)


def test_bad_preface_on_h2c_is_refused_and_the_server_goes_on(srv):
    """A preface with the wrong magic (§3.4: PROTOCOL_ERROR, GOAWAY may be
    omitted). On an h2c port the bytes are not a preface at all, so an
    HTTP/1.1 error answer is also a refusal; in every form the connection
    ends and nothing crashes."""
    c = H2Client.h2c(srv)
    c.send(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + settings())
    assert c.read_to_end(), "server kept a bad preface open: " + c.describe()
    if c.http1:
        status = int(c.buf.split(b" ", 2)[1])
        assert 400 <= status < 600, c.buf[:200]
    else:
        assert c.connection_error() in (None, "PROTOCOL_ERROR"), c.describe()
        assert not any(st.status for st in c.streams.values())
    assert_server_serves(srv)


def test_settings_exchange_and_advertised_limits(make_server):
    """The server's first frame is SETTINGS (§3.4) carrying the configured
    limits, and it ACKs ours (§6.5.3)."""
    srv = h2c_server(make_server, "http2_max_concurrent_streams 7;\n"
                                  "http2_stream_window 100000;\nhttp2_max_frame_size 32768;\n"
                                  "http2_max_header_list_size 20000;")
    c = H2Client.h2c(srv)
    c.send(PREFACE + settings([(ENABLE_PUSH, 0)]))
    assert c.pump(lambda: c.server_settings_seen and c.settings_acks >= 1), c.describe()
    assert c.frames[0][0] == SETTINGS and not c.frames[0][1] & ACK, c.frames[:3]
    ss = c.server_settings
    assert ss.get(MAX_CONCURRENT_STREAMS) == 7, ss
    assert ss.get(INITIAL_WINDOW_SIZE) == 100000, ss
    assert ss.get(MAX_FRAME_SIZE) == 32768, ss
    assert ss.get(MAX_HEADER_LIST_SIZE) == 20000, ss
    assert ss.get(ENABLE_PUSH, 0) == 0, ss  # a server must not send 1 (§6.5.2)
    # A frame up to the advertised size is taken (§4.2).
    open_upload(c, 1, length=20000)
    c.send(data(1, b"a" * 20000, end_stream=True))
    st = c.wait(1)
    assert st.status == 201, c.describe()


def test_unknown_settings_and_frame_types_are_ignored(srv):
    """§6.5.2: unknown SETTINGS are ignored; §4.1/§5.5: unknown frame types
    are ignored."""
    c = client(srv)
    c.send(settings([(0x7777, 42)]) + frame(0xEE, 0xFF, 0, b"whatever") +
           frame(0xEE, 0, 9, b"on an idle stream"))
    assert c.pump(lambda: c.settings_acks >= 2), c.describe()
    assert_still_serves(c, want=index_bytes(srv))
    assert not c.goaways


def test_header_table_size_zero_is_honoured(srv):
    """SETTINGS_HEADER_TABLE_SIZE 0 (§6.5.2, RFC 7541 §4.2): the server's
    encoder may keep no dynamic entries; our decoder has no table, so any
    reference to one fails the decoding."""
    c = H2Client.h2c(srv)
    c.decoder.header_table_size = 0
    c.decoder.max_allowed_table_size = 0
    c.handshake([(ENABLE_PUSH, 0), (HEADER_TABLE_SIZE, 0), (INITIAL_WINDOW_SIZE, c.window)])
    for _ in range(4):  # the same fields again: a table would be used now
        assert_still_serves(c, want=index_bytes(srv))
    assert not c.goaways


def test_ping_is_answered_with_the_same_payload(srv):
    c = client(srv)
    c.send(ping(b"8 bytes!") + ping(b"an acked", ack=True))  # an unsolicited ACK is ignored
    assert c.pump(lambda: c.ping_acks), c.describe()
    assert c.ping_acks == [b"8 bytes!"]
    assert_still_serves(c)


BAD_SETTINGS = [
    # (§6.5.2) window above 2^31-1 → FLOW_CONTROL_ERROR
    pytest.param([(INITIAL_WINDOW_SIZE, MAX_WINDOW + 1)], "FLOW_CONTROL_ERROR", id="window-2^31"),
    # max frame size outside 2^14 .. 2^24-1 → PROTOCOL_ERROR
    pytest.param([(MAX_FRAME_SIZE, 16383)], "PROTOCOL_ERROR", id="max-frame-16383"),
    pytest.param([(MAX_FRAME_SIZE, 1 << 24)], "PROTOCOL_ERROR", id="max-frame-2^24"),
    # ENABLE_PUSH other than 0 or 1 → PROTOCOL_ERROR
    pytest.param([(ENABLE_PUSH, 2)], "PROTOCOL_ERROR", id="enable-push-2"),
]


@pytest.mark.parametrize("pairs,code", BAD_SETTINGS)
def test_bad_settings_values_are_connection_errors(srv, pairs, code):
    c = client(srv)
    c.send(settings(pairs))
    expect_connection_error(c, (code,))
    assert_server_serves(srv)


MALFORMED_CONTROL_FRAMES = [
    # §6.5: length not a multiple of 6 → FRAME_SIZE_ERROR
    pytest.param(frame(SETTINGS, 0, 0, b"\x00\x04\x00\x00\x10"), "FRAME_SIZE_ERROR", id="len-5"),
    # ACK with a payload → FRAME_SIZE_ERROR
    pytest.param(frame(SETTINGS, ACK, 0, b"\x00\x04\x00\x00\x10\x00"), "FRAME_SIZE_ERROR",
                 id="ack-with-payload"),
    # on a stream → PROTOCOL_ERROR
    pytest.param(frame(SETTINGS, 0, 1, b""), "PROTOCOL_ERROR", id="on-stream-1"),
    # §6.7: PING not 8 bytes → FRAME_SIZE_ERROR; on a stream → PROTOCOL_ERROR
    pytest.param(frame(PING, 0, 0, b"1234567"), "FRAME_SIZE_ERROR", id="ping-7-bytes"),
    pytest.param(frame(PING, 0, 1, b"12345678"), "PROTOCOL_ERROR", id="ping-on-stream"),
    # §6.8: GOAWAY on a stream → PROTOCOL_ERROR
    pytest.param(frame(GOAWAY, 0, 1, b"\0" * 8), "PROTOCOL_ERROR", id="goaway-on-stream"),
    # §6.9: WINDOW_UPDATE not 4 bytes → FRAME_SIZE_ERROR
    pytest.param(frame(WINDOW_UPDATE, 0, 0, b"\0\0\1"), "FRAME_SIZE_ERROR", id="window-update-3"),
    # §4.3: a field block that does not decode → COMPRESSION_ERROR
    pytest.param(headers(1, b"\xff\xff\xff\xff\x0f", end_stream=True), "COMPRESSION_ERROR",
                 id="hpack-bad-index"),
]


@pytest.mark.parametrize("raw,code", MALFORMED_CONTROL_FRAMES)
def test_malformed_control_frames_are_connection_errors(srv, raw, code):
    c = client(srv)
    c.send(raw)
    expect_connection_error(c, (code,))
    assert_server_serves(srv)


def test_first_frame_after_the_preface_must_be_settings(srv):
    """§3.4: the preface is followed by SETTINGS; anything else is a
    connection error PROTOCOL_ERROR (GOAWAY may be omitted)."""
    c = H2Client.h2c(srv)
    c.send(PREFACE + ping())
    expect_connection_error(c, ("PROTOCOL_ERROR",), allow_close=True)
    assert not c.ping_acks, "the PING in place of SETTINGS was answered"
    assert_server_serves(srv)


# ---------------------------------------------------------------------------
# WINDOW_UPDATE (§6.9)


def test_initial_window_shrunk_mid_download_is_respected(make_server):
    """§6.9.2: a smaller SETTINGS_INITIAL_WINDOW_SIZE shrinks open streams'
    windows, below zero if need be; the server sends no more DATA until
    WINDOW_UPDATEs make the window positive again (h2client fails on any
    DATA past the windows we granted), then the download completes."""
    srv = h2c_server(make_server)
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    c = H2Client.h2c(srv, window=65535)
    c.auto_window = False
    c.handshake()
    c.send(window_update(0, 1 << 24))
    sid = c.request("GET", "/big.bin")
    st = c.stream(sid)
    assert c.pump(lambda: len(st.body) >= 32768), c.describe()
    c.send(settings([(INITIAL_WINDOW_SIZE, 0)]))
    assert c.pump(lambda: c.settings_acks >= 2), c.describe()
    # Everything sent before the ACK has arrived: the server's window for
    # the stream is now 65535 - held - 65535 = -held.
    held = len(st.body)
    c.send(window_update(sid, held))  # back to exactly 0: still nothing may come
    c.pump(timeout=0.5)
    assert len(st.body) == held, "DATA on a window of 0: " + c.describe()
    c.auto_window = True
    c.send(window_update(sid, 1 << 24))
    st = c.wait(sid, 30)
    with open(os.path.join(srv.root, "big.bin"), "rb") as f:
        assert st.status == 200 and bytes(st.body) == f.read(), c.describe()


def test_window_update_of_zero_on_the_connection_is_a_connection_error(srv):
    c = client(srv)
    c.send(window_update(0, 0))
    expect_connection_error(c, ("PROTOCOL_ERROR",))
    assert_server_serves(srv)


def test_window_update_of_zero_on_a_stream_is_a_stream_error(srv):
    c = client(srv)
    open_upload(c, 1)
    c.send(window_update(1, 0))
    if expect_stream_error(c, 1, ("PROTOCOL_ERROR",)) == "stream":
        assert_still_serves(c)
    assert_server_serves(srv)


def test_overflowing_the_connection_window_is_a_flow_control_error(srv):
    """The server's send window starts at 65535: + 2^31-1 overflows."""
    c = client(srv)
    c.send(window_update(0, MAX_WINDOW))
    expect_connection_error(c, ("FLOW_CONTROL_ERROR",))
    assert_server_serves(srv)


def test_overflowing_a_stream_window_is_a_flow_control_error(srv):
    """The stream's window is our INITIAL_WINDOW_SIZE (2^24): + 2^31-1
    overflows → RST_STREAM(FLOW_CONTROL_ERROR) (or the connection)."""
    c = client(srv)
    open_upload(c, 1)
    c.send(window_update(1, MAX_WINDOW))
    if expect_stream_error(c, 1, ("FLOW_CONTROL_ERROR",)) == "stream":
        assert_still_serves(c)
    assert_server_serves(srv)


def test_settings_that_overflow_an_open_stream_window_is_a_connection_error(srv):
    """§6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change that makes a window
    exceed 2^31-1 is a connection error FLOW_CONTROL_ERROR."""
    c = client(srv)
    open_upload(c, 1)
    c.send(window_update(1, MAX_WINDOW - c.window))  # the stream at 2^31-1 exactly
    c.send(settings([(INITIAL_WINDOW_SIZE, c.window + 1)]))
    expect_connection_error(c, ("FLOW_CONTROL_ERROR",))
    assert_server_serves(srv)


# ---------------------------------------------------------------------------
# Stream states and identifiers (§5.1, §5.1.1)


@pytest.mark.parametrize("raw", [
    pytest.param(data(1, b"x"), id="DATA"),
    pytest.param(window_update(1, 100), id="WINDOW_UPDATE"),
    pytest.param(rst_stream(1, ERR["CANCEL"]), id="RST_STREAM"),
    pytest.param(continuation(1, b""), id="CONTINUATION"),
])
def test_frames_on_an_idle_stream_are_connection_errors(srv, raw):
    """§5.1 idle: anything but HEADERS or PRIORITY → PROTOCOL_ERROR."""
    c = client(srv)
    c.send(raw)
    expect_connection_error(c, ("PROTOCOL_ERROR",))
    assert_server_serves(srv)


def test_priority_on_an_idle_stream_is_allowed(srv):
    c = client(srv)
    c.send(frame(PRIORITY, 0, 7, struct.pack(">IB", 0, 15)))
    assert_still_serves(c)  # stream 1 < 7 is fine: PRIORITY does not open 7
    assert not c.goaways, c.describe()


def test_rfc9218_priority_signals_are_accepted(srv):
    """RFC 9218: the priority field and PRIORITY_UPDATE (type 0x10, on stream
    0) are signals a server may ignore, never errors."""
    c = client(srv)
    c.send(frame(0x10, 0, 0, struct.pack(">I", 1) + b"u=0, i"))
    st = c.get("/index.html", extra=[("priority", "u=0, i")])
    assert st.status == 200 and bytes(st.body) == index_bytes(srv)
    c.send(frame(0x10, 0, 0, struct.pack(">I", 1) + b"u=7"))  # for a closed stream
    assert_still_serves(c)
    assert not c.goaways, c.describe()


def test_priority_of_wrong_length_is_a_stream_frame_size_error(srv):
    """§6.3: PRIORITY not 5 bytes → stream error FRAME_SIZE_ERROR."""
    c = client(srv)
    c.send(frame(PRIORITY, 0, 3, b"\0\0\0\0"))
    if expect_stream_error(c, 3, ("FRAME_SIZE_ERROR",)) == "stream":
        assert_still_serves(c)


def test_even_stream_id_from_the_client_is_a_connection_error(srv):
    c = client(srv)
    c.send(req(c, 2))
    expect_connection_error(c, ("PROTOCOL_ERROR",))
    assert c.streams[2].status is None
    assert_server_serves(srv)


def test_decreasing_stream_id_is_a_connection_error(srv):
    """§5.1.1: a new stream id must exceed every id the client used."""
    c = client(srv)
    assert c.get("/index.html").status == 200  # stream 1
    c.send(req(c, 5))
    c.wait(5)
    c.send(req(c, 3))
    expect_connection_error(c, ("PROTOCOL_ERROR",))
    assert c.streams[3].status is None
    assert_server_serves(srv)


def test_headers_on_a_closed_stream_is_a_connection_error(srv):
    """§5.1 closed (after END_STREAM both ways): STREAM_CLOSED; a server
    that has forgotten the stream sees a reused id: PROTOCOL_ERROR."""
    c = client(srv)
    st = c.get("/index.html")
    assert st.status == 200
    c.send(req(c, 1))
    expect_connection_error(c, ("STREAM_CLOSED", "PROTOCOL_ERROR"))
    assert_server_serves(srv)


def test_data_on_a_half_closed_remote_stream_is_stream_closed(srv):
    """§5.1 half-closed (remote): DATA after the client's END_STREAM →
    STREAM_CLOSED, on the stream or the connection."""
    c = client(srv)
    c.send(req(c, 1, path="/about.txt") + data(1, b"late"))
    expect_stream_error(c, 1, ("STREAM_CLOSED",))
    if not c.goaways:
        assert_still_serves(c)
    assert_server_serves(srv)


def test_client_rst_stream_cancels_only_that_stream(srv):
    c = client(srv)
    open_upload(c, 1)
    c.send(rst_stream(1, ERR["CANCEL"]))
    assert_still_serves(c, want=index_bytes(srv))
    assert not c.goaways


# ---------------------------------------------------------------------------
# Request validation (§8.1.1, §8.2, §8.3): stream PROTOCOL_ERROR, connection on


def fields_with(*changes, drop=(), method="GET", path="/index.html"):
    base = [f for f in request_fields(method, path, "localhost", "http") if f[0] not in drop]
    return base + list(changes)


MALFORMED = [
    pytest.param(fields_with(("User-Agent", "test")), id="uppercase-name"),
    pytest.param(fields_with(("connection", "keep-alive")), id="connection"),
    pytest.param(fields_with(("keep-alive", "timeout=5")), id="keep-alive"),
    pytest.param(fields_with(("proxy-connection", "keep-alive")), id="proxy-connection"),
    pytest.param(fields_with(("transfer-encoding", "chunked")), id="transfer-encoding"),
    pytest.param(fields_with(("upgrade", "h2c")), id="upgrade"),
    pytest.param(fields_with(("te", "gzip")), id="te-gzip"),
    pytest.param(fields_with(drop=(":method",)), id="no-method"),
    pytest.param(fields_with(drop=(":path",)), id="no-path"),
    pytest.param(fields_with(drop=(":scheme",)), id="no-scheme"),
    pytest.param(fields_with((":path", "/about.txt")), id="duplicate-path"),
    pytest.param(fields_with((":foo", "bar")), id="unknown-pseudo"),
    pytest.param(fields_with((":status", "200")), id="response-pseudo"),
    pytest.param([("accept", "*/*")] + fields_with(), id="pseudo-after-regular"),
    pytest.param(fields_with(path=""), id="empty-path"),
    pytest.param(fields_with(path="index.html"), id="path-without-slash"),
    pytest.param(fields_with(("x-test", "a\r\nb")), id="crlf-in-value"),
    pytest.param(fields_with(("x-test", "a\0b")), id="nul-in-value"),
    pytest.param(fields_with(("x test", "a")), id="space-in-name"),
    pytest.param(fields_with(("", "a")), id="empty-name"),
    pytest.param(fields_with(("host", "other.example")), id="host-not-authority"),
    pytest.param(fields_with(("content-length", "5")), id="content-length-without-data"),
    pytest.param([(":method", "CONNECT"), (":authority", "localhost:443")], id="connect"),
]


@pytest.mark.parametrize("fields", MALFORMED)
def test_malformed_requests_are_stream_errors_and_the_connection_goes_on(srv, fields):
    """A malformed request is RST_STREAM(PROTOCOL_ERROR), after an HTTP
    error answer or not (§8.1.1 lets the server answer first), never a
    successful answer; a later stream on the same connection is served."""
    c = client(srv)
    c.stream(1)
    c.send(headers(1, encode_headers(fields), end_stream=True))
    st = c.stream(1)
    assert c.pump(lambda: st.reset is not None or c.goaways or c.ended), c.describe()
    assert not c.goaways and not c.ended, \
        "a malformed request must end only its stream: " + c.describe()
    assert st.reset == ERR["PROTOCOL_ERROR"], c.describe()
    assert st.status is None or 400 <= st.status < 500, c.describe()
    assert_still_serves(c, want=index_bytes(srv))


def test_options_asterisk_is_not_malformed(srv):
    """`:path *` is valid for OPTIONS (§8.3.1): answered, not reset."""
    c = client(srv)
    c.stream(1)
    c.send(headers(1, encode_headers([(":method", "OPTIONS"), (":scheme", "http"),
                                      (":authority", "localhost"), (":path", "*")]),
                   end_stream=True))
    st = c.wait(1)
    assert st.status is not None and st.status < 500 and st.reset is None, c.describe()


def test_te_trailers_is_allowed(srv):
    c = client(srv)
    c.send(req(c, 1, extra=[("te", "trailers")]))
    assert c.wait(1).status == 200 and c.streams[1].reset is None


def test_connect_is_refused_on_the_stream(srv):
    """lingerd is no proxy for CONNECT: the stream is refused (contract:
    PROTOCOL_ERROR), or answered with an error status; the connection
    goes on."""
    c = client(srv)
    c.stream(1)
    c.send(headers(1, encode_headers([(":method", "CONNECT"), (":authority", "example:443")]),
                   end_stream=False))
    st = c.stream(1)
    assert c.pump(lambda: st.reset is not None or st.status is not None), c.describe()
    assert st.reset is not None or st.status >= 400, c.describe()
    assert not c.goaways
    assert_still_serves(c)


@pytest.mark.parametrize("length,body", [(10, b"0123456789ABCDEF"), (100, b"only 14 bytes.")],
                         ids=["shorter", "longer"])
def test_content_length_disagreeing_with_data_is_a_stream_error(srv, length, body):
    c = client(srv)
    open_upload(c, 1, length=length)
    c.send(data(1, body, end_stream=True))
    expect_stream_error(c, 1, ("PROTOCOL_ERROR",))
    assert_still_serves(c)
    # Nothing was stored from the bad body.
    assert c.get("/upload/f.bin", extra=[("authorization", AUTH)]).status == 404


def test_content_length_matching_data_is_stored(srv):
    c = client(srv)
    open_upload(c, 1, length=10)
    c.send(data(1, b"01234") + data(1, b"56789", end_stream=True))
    assert c.wait(1).status == 201, c.describe()
    assert bytes(c.get("/upload/f.bin", extra=[("authorization", AUTH)]).body) == b"0123456789"


# ---------------------------------------------------------------------------
# Frame size (§4.2) and padding (§6.1, §6.2)


def test_headers_over_max_frame_size_is_a_connection_error(srv):
    """A frame carrying a field block changes the connection's HPACK
    state: over SETTINGS_MAX_FRAME_SIZE it is a connection error."""
    c = client(srv)
    block = encode_headers(request_fields("GET", "/index.html", "localhost", "http",
                                          [("x-pad", "p" * 17000)]))
    c.stream(1)
    c.send(headers(1, block, end_stream=True))
    expect_connection_error(c, ("FRAME_SIZE_ERROR",))
    assert_server_serves(srv)


def test_data_over_max_frame_size_is_a_frame_size_error(srv):
    c = client(srv)
    open_upload(c, 1)
    c.send(data(1, b"d" * 16385, end_stream=True))
    if expect_stream_error(c, 1, ("FRAME_SIZE_ERROR",)) == "stream":
        assert_still_serves(c)
    assert_server_serves(srv)


def test_rst_stream_of_wrong_length_is_a_connection_error(srv):
    """§6.4: RST_STREAM not 4 bytes → connection error FRAME_SIZE_ERROR."""
    c = client(srv)
    open_upload(c, 1)
    c.send(frame(RST_STREAM, 0, 1, b"\0\0\0"))
    expect_connection_error(c, ("FRAME_SIZE_ERROR",))


def test_padded_headers_and_data_are_accepted(srv):
    c = client(srv)
    c.send(req(c, 1, pad=40))
    assert c.wait(1).status == 200
    assert bytes(c.streams[1].body) == index_bytes(srv)
    c.send(req(c, 3, "PUT", "/upload/p.bin", [("authorization", AUTH)], end_stream=False,
               pad=255))
    c.send(data(3, b"first ", pad=0) + data(3, b"second", pad=200, end_stream=True))
    assert c.wait(3).status == 201, c.describe()
    assert bytes(c.get("/upload/p.bin", extra=[("authorization", AUTH)]).body) == \
        b"first second"


def test_headers_with_priority_fields_are_accepted(srv):
    c = client(srv)
    c.send(req(c, 1, priority=(0, 200)))
    assert c.wait(1).status == 200


@pytest.mark.parametrize("kind", ["DATA", "HEADERS"])
def test_pad_length_too_large_is_a_connection_error(srv, kind):
    """§6.1/§6.2: padding as long as the payload or longer → PROTOCOL_ERROR."""
    c = client(srv)
    if kind == "DATA":
        open_upload(c, 1)
        c.send(frame(DATA, PADDED, 1, bytes([10]) + b"abc"))
    else:
        block = encode_headers(request_fields("GET", "/", "localhost", "http"))
        c.stream(1)
        c.send(frame(HEADERS, PADDED | END_HEADERS | END_STREAM, 1,
                     bytes([len(block) + 1]) + block))
    expect_connection_error(c, ("PROTOCOL_ERROR",))
    assert_server_serves(srv)


# ---------------------------------------------------------------------------
# CONTINUATION (§6.10)


def split_block(path="/index.html", parts=3):
    block = encode_headers(request_fields("GET", path, "localhost", "http",
                                          [("x-long", "v" * 300)]))
    n = len(block) // parts + 1
    return [block[i:i + n] for i in range(0, len(block), n)]


def test_split_header_block_is_accepted(srv):
    c = client(srv)
    pieces = split_block()
    c.stream(1)
    out = headers(1, pieces[0], end_stream=True, end_headers=False)
    for i, p in enumerate(pieces[1:], 1):
        out += continuation(1, p, end_headers=(i == len(pieces) - 1))
    c.send(out)
    assert c.wait(1).status == 200
    assert bytes(c.streams[1].body) == index_bytes(srv)


@pytest.mark.parametrize("between", [
    pytest.param(ping(), id="PING"),
    pytest.param(frame(PRIORITY, 0, 3, struct.pack(">IB", 0, 1)), id="PRIORITY"),
    pytest.param(continuation(3, b""), id="CONTINUATION-other-stream"),
    pytest.param(frame(0xEE, 0, 0, b"unknown type"), id="unknown-type"),
])
def test_frame_interleaved_in_a_header_block_is_a_connection_error(srv, between):
    c = client(srv)
    pieces = split_block(parts=2)
    c.stream(1)
    c.send(headers(1, pieces[0], end_stream=True, end_headers=False) + between +
           continuation(1, pieces[1]))
    expect_connection_error(c, ("PROTOCOL_ERROR",))
    assert c.streams[1].status is None
    assert_server_serves(srv)


def test_continuation_without_headers_is_a_connection_error(srv):
    c = client(srv)
    assert c.get("/index.html").status == 200
    c.send(continuation(1, encode_headers([("x-a", "b")])))
    expect_connection_error(c, ("PROTOCOL_ERROR", "STREAM_CLOSED"))


# ---------------------------------------------------------------------------
# GOAWAY from the client (§6.8)


def test_client_goaway_ends_the_connection_gracefully(srv):
    before = metrics(srv)
    c = client(srv)
    assert c.get("/index.html").status == 200
    c.send(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))  # no server stream accepted
    assert c.read_to_end(), "the server kept the connection after the client's GOAWAY"
    assert not c.reset, c.describe()
    assert all(code == 0 for _, code, _ in c.goaways), c.describe()
    assert_server_serves(srv)
    name = "lingerd_http2_goaway_received_total"
    assert counter(metrics(srv), name, code="NO_ERROR") - \
        counter(before, name, code="NO_ERROR") == 1


def test_client_goaway_lets_its_own_streams_finish(srv):
    """The last id in a client's GOAWAY counts server-initiated streams
    (§6.8): the client's own streams in flight are still answered whole."""
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    c = client(srv)
    sid = c.request("GET", "/big.bin")
    c.send(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
    st = c.wait(sid, 30)
    with open(os.path.join(srv.root, "big.bin"), "rb") as f:
        assert st.status == 200 and bytes(st.body) == f.read(), c.describe()
    assert c.read_to_end() and not c.reset, c.describe()


def test_end_stream_flag_on_frames_is_honoured(srv):
    """A GET whose HEADERS do not carry END_STREAM, ended by an empty DATA
    with END_STREAM: answered whole, the connection goes on."""
    c = client(srv)
    c.send(req(c, 1, end_stream=False))
    c.send(data(1, b"", end_stream=True))
    st = c.wait(1)
    assert st.status == 200 and st.ended
    # Answered before the request's end: RST_STREAM(NO_ERROR) after the
    # whole answer is allowed (§8.1), nothing else.
    assert st.reset is None or (st.reset == ERR["NO_ERROR"] and st.reset_after_end), \
        c.describe()
    assert_still_serves(c)

