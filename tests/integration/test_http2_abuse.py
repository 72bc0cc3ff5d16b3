"""The known HTTP/2 attacks, each cut with the right code and counted, while
a normal client on another connection is served.

- rapid reset (CVE-2023-44487): HEADERS + RST_STREAM in a loop past
  http2_max_resets → GOAWAY(ENHANCE_YOUR_CALM);
- CONTINUATION flood (CVE-2024-27316): a header block in more CONTINUATION
  frames than http2_max_continuations → GOAWAY(ENHANCE_YOUR_CALM);
- HPACK bomb: a small block that decodes past http2_max_header_list_size →
  431 or the stream refused, the connection goes on (or ENHANCE_YOUR_CALM);
- SETTINGS / PING / PRIORITY / empty DATA floods past
  http2_max_control_frames → GOAWAY(ENHANCE_YOUR_CALM);
- a zero-window stall: the client never opens its window, the stream or
  the connection is ended after send_timeout;
- stream ids at the top of the space (2^31-1).

Each loop is bounded in count and time. The victim ("good") client opens
its connection before the attack and asks again during and after it;
counters are read from /metrics by the contract's names
(lingerd_http2_abuse_total{kind=...}, lingerd_http2_goaway_sent_total{code=...}).
"""

import os
import struct
import time

import pytest

from conftest import AUTH
from h2client import (ERR, MAX_STREAM_ID, PRIORITY, H2Client, INITIAL_WINDOW_SIZE, ENABLE_PUSH,
                      assert_still_serves, continuation, counter, data, encode_headers,
                      expect_connection_error, frame, h2c_server, headers, http1_get, metrics,
                      ping, request_fields, rst_stream, settings, window_update)


@pytest.fixture
def attack_server(make_server):
    def make(extra=""):
        srv = h2c_server(make_server, extra)
        with open(os.path.join(srv.root, "big.bin"), "wb") as f:
            f.write(bytes(range(256)) * 4096)  # 1 MiB
        return srv
    return make


class Victim:
    """A normal client: one HTTP/2 connection opened before the attack, and
    new connections (HTTP/2 and HTTP/1.1) when asked."""

    def __init__(self, srv):
        self.srv = srv
        self.c = H2Client.h2c(srv).handshake()
        with open(os.path.join(srv.root, "index.html"), "rb") as f:
            self.want = f.read()

    def served(self):
        st = self.c.get("/index.html")
        assert st.status == 200 and bytes(st.body) == self.want, self.c.describe()
        fresh = H2Client.h2c(self.srv).handshake()
        assert_still_serves(fresh, want=self.want)
        fresh.close()
        r = http1_get(self.srv, "/index.html")
        assert r.status == 200 and r.body == self.want
        return True


def get_headers(c, sid, path="/index.html", end_stream=True):
    c.stream(sid)
    return headers(sid, encode_headers(request_fields("GET", path, "localhost", c.scheme)),
                   end_stream=end_stream)


def abuse(m, kind):
    return counter(m, "lingerd_http2_abuse_total", kind=kind)


def calm(m):
    return counter(m, "lingerd_http2_goaway_sent_total", code="ENHANCE_YOUR_CALM")


def flood(c, make_batch, batches, victim=None, victim_at=2):
    """Send make_batch(i) up to `batches` times, reading briefly after each,
    until a GOAWAY arrives or the connection ends; the victim is asked once
    on the way. Returns the number of batches sent."""
    deadline = time.monotonic() + 30
    for i in range(batches):
        if c.goaways or c.ended or time.monotonic() > deadline:
            return i
        if not c.send(make_batch(i)):
            return i
        c.read_some(0.02)
        if victim is not None and i == victim_at:
            victim.served()
    return batches


def cut_for_calm(srv, kind, make_batch, opening=b"", batches=100):
    """The shape of every flood: a victim connected first; the attacker
    sends `opening`, then make_batch(c, i) until the server cuts it with
    GOAWAY(ENHANCE_YOUR_CALM); the victim is served during and after; the
    cut is counted under kind. Returns the attacker's client."""
    victim = Victim(srv)
    before = metrics(srv)
    c = H2Client.h2c(srv).handshake()
    if opening:
        c.send(opening(c))
    sent = flood(c, lambda i: make_batch(c, i), batches, victim)
    expect_connection_error(c, ("ENHANCE_YOUR_CALM",))
    assert sent < batches, "never cut after %d batches" % sent
    victim.served()
    after = metrics(srv)
    assert abuse(after, kind) > abuse(before, kind), kind
    assert calm(after) > calm(before)
    return c, before, after


# ---------------------------------------------------------------------------
# Rapid reset


def test_rapid_reset_gets_enhance_your_calm(attack_server):
    def batch(c, i):
        out = b""
        for _ in range(10):
            sid = c.new_stream_id()
            out += get_headers(c, sid, "/big.bin") + rst_stream(sid, ERR["CANCEL"])
        return out
    _, before, after = cut_for_calm(attack_server("http2_max_resets 50;"), "rapid_reset",
                                    batch)  # at most 1000 resets
    name = "lingerd_http2_rst_stream_received_total"
    assert counter(after, name, code="CANCEL") - counter(before, name, code="CANCEL") >= 50


def test_a_few_cancelled_streams_are_not_an_attack(attack_server):
    srv = attack_server("http2_max_resets 50;")
    c = H2Client.h2c(srv).handshake()
    for _ in range(20):
        sid = c.new_stream_id()
        c.send(get_headers(c, sid, "/big.bin") + rst_stream(sid, ERR["CANCEL"]))
    assert_still_serves(c)
    assert not c.goaways, c.describe()


# ---------------------------------------------------------------------------
# CONTINUATION flood


def continuation_block(c, sid, pieces):
    """HEADERS without END_HEADERS, then `pieces` CONTINUATIONs each with
    one more valid field; the last one ends the block."""
    out = headers(sid, encode_headers(request_fields("GET", "/index.html", "localhost",
                                                     c.scheme)),
                  end_stream=True, end_headers=False)
    for i in range(pieces):
        out += continuation(sid, encode_headers([("x-c%d" % i, "v")]),
                            end_headers=(i == pieces - 1))
    return out


def test_continuation_flood_gets_enhance_your_calm(attack_server):
    """One header block that never ends: CONTINUATIONs of valid fields."""
    def opening(c):
        c.stream(1)
        return headers(1, encode_headers(request_fields("GET", "/", "localhost", c.scheme)),
                       end_stream=True, end_headers=False)

    def batch(c, i):
        return b"".join(continuation(1, encode_headers([("x-flood-%d-%d" % (i, j), "v" * 10)]),
                                     end_headers=False) for j in range(10))
    c, _, _ = cut_for_calm(attack_server("http2_max_continuations 16;"), "continuation",
                           batch, opening)  # at most 1000 CONTINUATIONs
    assert c.streams[1].status is None


def test_continuations_up_to_the_limit_are_served(attack_server):
    srv = attack_server("http2_max_continuations 16;")
    c = H2Client.h2c(srv).handshake()
    c.stream(1)
    c.send(continuation_block(c, 1, 16))
    st = c.wait(1)
    assert st.status == 200 and not c.goaways, c.describe()


# ---------------------------------------------------------------------------
# HPACK bomb and header lists past the limit


def bomb_block(entry=4000, refs=4000):
    """One field added to the server's dynamic table (literal with
    incremental indexing, RFC 7541 §6.2.1), then referenced `refs` times by
    its index (62: the first dynamic entry), one byte each: a block of ~8 KB
    that decodes to `refs` x 4 KB."""
    name, value = b"x-bomb", b"b" * entry
    first = b"\x40" + bytes([len(name)]) + name + b"\x7f" + _int7(len(value) - 127) + value
    return first + b"\xbe" * refs


def _int7(rest):
    out = b""
    while rest >= 128:
        out += bytes([(rest & 0x7F) | 0x80])
        rest >>= 7
    return out + bytes([rest])


def expect_header_list_refused(c, sid):
    """431 on the stream (or the stream reset), the connection goes on; or
    the contract's abuse answer, GOAWAY(ENHANCE_YOUR_CALM). Returns which."""
    st = c.stream(sid)
    assert c.pump(lambda: st.done or c.goaways or c.ended, 15), c.describe()
    if c.goaways:
        assert c.connection_error() == "ENHANCE_YOUR_CALM", c.describe()
        return "connection"
    assert st.status in (None, 431), c.describe()
    assert st.status == 431 or st.reset is not None, c.describe()
    assert_still_serves(c)
    return "stream"


def test_hpack_bomb_is_refused_and_the_connection_survives(attack_server):
    srv = attack_server("http2_max_header_list_size 16k;")
    victim = Victim(srv)
    before = metrics(srv)
    c = H2Client.h2c(srv).handshake()
    c.stream(1)
    block = encode_headers(request_fields("GET", "/index.html", "localhost", c.scheme)) + \
        bomb_block()
    assert len(block) < 16384
    c.send(headers(1, block, end_stream=True))
    expect_header_list_refused(c, 1)
    victim.served()
    after = metrics(srv)
    assert abuse(after, "header_list") > abuse(before, "header_list")


def test_header_list_past_the_limit_over_continuations_gets_431(attack_server):
    srv = attack_server("http2_max_header_list_size 16k;")
    c = H2Client.h2c(srv).handshake()
    fields = request_fields("GET", "/index.html", "localhost", c.scheme,
                            [("x-big-%d" % i, "h" * 1000) for i in range(40)])
    block = encode_headers(fields)
    parts = [block[i:i + 16000] for i in range(0, len(block), 16000)]
    c.stream(1)
    out = headers(1, parts[0], end_stream=True, end_headers=len(parts) == 1)
    for i, p in enumerate(parts[1:], 1):
        out += continuation(1, p, end_headers=(i == len(parts) - 1))
    c.send(out)
    expect_header_list_refused(c, 1)


# ---------------------------------------------------------------------------
# Control-frame floods


def _settings_batch(c, sid):
    return settings([(ENABLE_PUSH, 0)]) * 20


def _ping_batch(c, sid):
    return ping(b"flooding") * 20


def _priority_batch(c, sid):
    return b"".join(frame(PRIORITY, 0, 101 + 2 * i, struct.pack(">IB", 0, 7))
                    for i in range(20))


def _empty_data_batch(c, sid):
    return data(sid, b"") * 20


@pytest.mark.parametrize("make", [_settings_batch, _ping_batch, _priority_batch,
                                  _empty_data_batch],
                         ids=["SETTINGS", "PING", "PRIORITY", "empty-DATA"])
def test_control_frame_flood_gets_enhance_your_calm(attack_server, make):
    """An upload stream is open (the empty DATA go to it); at most 2000
    frames."""
    def opening(c):
        c.stream(1)
        return headers(1, encode_headers(request_fields(
            "PUT", "/upload/flood.bin", "localhost", c.scheme, [("authorization", AUTH)])),
            end_stream=False)
    cut_for_calm(attack_server("http2_max_control_frames 100;"), "control_flood",
                 lambda c, i: make(c, 1), opening)


def test_control_frames_below_the_limit_are_fine(attack_server):
    srv = attack_server("http2_max_control_frames 100;")
    c = H2Client.h2c(srv).handshake()
    c.send(ping(b"12345678") * 30 + settings() * 10)
    assert c.pump(lambda: len(c.ping_acks) == 30 and c.settings_acks >= 11), c.describe()
    assert_still_serves(c)
    assert not c.goaways


# ---------------------------------------------------------------------------
# Zero-window stall


def test_stream_window_never_opened_is_cancelled_after_send_timeout(attack_server):
    """The client's streams have a window of 0 and it never opens them: the
    stream is cancelled after send_timeout (RST_STREAM(CANCEL)), or the
    connection ended with GOAWAY; either way the stall is counted."""
    srv = attack_server("send_timeout 1s;")
    victim = Victim(srv)
    before = metrics(srv)
    c = H2Client.h2c(srv, window=65535)
    c.auto_window = False
    c.handshake([(ENABLE_PUSH, 0), (INITIAL_WINDOW_SIZE, 0)])
    sid = c.request("GET", "/big.bin")
    st = c.stream(sid)
    victim.served()
    assert c.pump(lambda: st.reset is not None or c.goaways or c.ended, 20), c.describe()
    assert not st.body
    if st.reset is not None:
        assert st.reset == ERR["CANCEL"], c.describe()
        # the connection itself goes on: a body-less answer needs no window
        head = c.get("/index.html", method="HEAD")
        assert head.status == 200, c.describe()
    else:
        assert c.goaways, c.describe()
        assert c.read_to_end(15) and not c.reset, c.describe()
    victim.served()
    after = metrics(srv)
    assert abuse(after, "stall") > abuse(before, "stall")


def test_connection_window_never_opened_is_ended_after_send_timeout(attack_server):
    """The connection window (65535) fills and the client never sends a
    WINDOW_UPDATE: the stall is ended after send_timeout — RST_STREAM(CANCEL)
    or GOAWAY then the close, counted."""
    srv = attack_server("send_timeout 1s;")
    victim = Victim(srv)
    before = metrics(srv)
    c = H2Client.h2c(srv, window=65535)
    c.auto_window = False
    c.handshake()
    sid = c.request("GET", "/big.bin")
    st = c.stream(sid)
    assert c.pump(lambda: st.reset is not None or c.goaways or c.ended, 20), c.describe()
    assert len(st.body) <= 65535
    assert st.reset == ERR["CANCEL"] or c.goaways, c.describe()
    victim.served()
    after = metrics(srv)
    assert abuse(after, "stall") > abuse(before, "stall")


# ---------------------------------------------------------------------------
# Stream ids at the top of the space


def test_stream_ids_at_the_top_of_the_space_end_the_connection_gracefully(attack_server):
    """A client that jumps to the top of the id space (2^31-3, then 2^31-1,
    the last stream a client can open). A connection with no ids left is
    useless (RFC 9113 §5.1.1): the server ends it with the graceful
    two-step GOAWAY (NO_ERROR) — at the latest once the last id is used —
    and counts it (kind="stream_ids"). Every stream up to the last id
    it announces is served whole, none above it; no reset."""
    srv = attack_server()
    victim = Victim(srv)
    before = metrics(srv)
    c = H2Client.h2c(srv).handshake()
    with open(os.path.join(srv.root, "big.bin"), "rb") as f:
        big = f.read()
    for sid in (MAX_STREAM_ID - 2, MAX_STREAM_ID):
        if c.ended:
            break
        c.send(get_headers(c, sid, "/big.bin"))
        c.pump(lambda: c.streams[sid].done or c.ended, 30)
    assert c.read_to_end(20), "the connection outlived its last stream id: " + c.describe()
    assert c.goaways and all(code == 0 for _, code, _ in c.goaways), c.describe()
    last = c.goaways[-1][0]
    assert last >= MAX_STREAM_ID - 2, c.describe()
    for st in c.streams.values():
        if st.id <= last:
            assert st.status == 200 and bytes(st.body) == big, c.describe()
        else:
            assert st.status is None, c.describe()
    assert not c.reset and not c.ragged, c.describe()
    victim.served()
    after = metrics(srv)
    assert abuse(after, "stream_ids") > abuse(before, "stream_ids")


# ---------------------------------------------------------------------------
# Slow clients


def test_header_block_that_never_ends_is_cut_at_header_timeout(attack_server):
    """HEADERS without END_HEADERS and then nothing (a slowloris over h2).
    Until the block ends no other frame may come on the connection (RFC
    9113 §6.10), so cutting the stream alone leaves a connection nothing can
    use: header_timeout (1 s), not keepalive_timeout (60 s here), must bound
    it — GOAWAY with any code or a plain end, no reset; others are served
    meanwhile."""
    srv = attack_server("header_timeout 1s;\nkeepalive_timeout 60s;")
    victim = Victim(srv)
    c = H2Client.h2c(srv, timeout=20).handshake()
    c.auto_ping_ack = False  # mid-block, not even a PING ACK may be sent
    c.stream(1)
    c.send(headers(1, encode_headers(request_fields("GET", "/", "localhost", c.scheme)),
                   end_stream=True, end_headers=False))
    victim.served()
    assert c.read_to_end(15), "a header block that never ends is held: " + c.describe()
    assert not c.reset, c.describe()
    assert c.streams[1].status is None
    victim.served()


def test_client_that_reads_nothing_is_closed_after_send_timeout(attack_server):
    """Windows wide open but the client never reads its socket: once the
    socket takes nothing for send_timeout the connection is closed
    (counted as a send_timeout close); others are served meanwhile."""
    srv = attack_server("send_timeout 1s;")
    with open(os.path.join(srv.root, "huge.bin"), "wb") as f:
        f.write(b"h" * (32 * 1024 * 1024))  # more than the socket buffers hold
    victim = Victim(srv)
    before = metrics(srv)
    c = H2Client.h2c(srv, timeout=20).handshake()
    sid = c.request("GET", "/huge.bin")
    c.auto_window = False
    c.send(window_update(0, 2**30) + window_update(sid, 2**30))
    victim.served()

    def closed_for_send_timeout():
        m = metrics(srv)
        return counter(m, "lingerd_closes_total", outcome="send_timeout") > \
            counter(before, "lingerd_closes_total", outcome="send_timeout")
    from conftest import wait_for
    assert wait_for(closed_for_send_timeout, timeout=20, step=0.5), \
        "a client that reads nothing is held past send_timeout"
    c.read_to_end(20)  # what was buffered, then the end (a reset is fair here)
    assert c.ended and len(c.streams[sid].body) < 32 * 1024 * 1024, c.describe()
    victim.served()
