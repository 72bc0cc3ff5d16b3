"""Hostile clients: slowloris, slow readers, endless bodies, oversized heads
and connection floods.

Each test runs the attack next to a well-behaved client and shows two things:
the good client is still answered, correctly, within a generous bound while
the attack goes on ("answered within 2 s while under attack"), and the
abusive connections are cut by the setting named for it (header_timeout,
send_timeout, body_max_bytes, chunk_line_max_bytes, trailer_max_bytes,
field_line_max_bytes, header_fields_max, header_max_bytes, connections_max),
seen in what the client receives (408, 413, 431, 400, the close) and in the
server's debug log ("closed: reason=header_timeout").

Sizes suit a 2-core machine inside `make test`. The slowloris test reads
LINGERD_SLOWLORIS_CONNS and LINGERD_SLOWLORIS_TIMEOUT_S (default 1500
connections, header_timeout 3 s); `make soak` runs it with 10,000.
Figures (connections held, good-client latency) are printed: pytest -s.
"""

import os
import resource
import select
import socket
import time

import pytest

from conftest import AUTH, Poller, Reader, get_behind_flood, request, wait_for

GOOD_BOUND_S = 2.0  # a good request is answered within this while under attack


def raise_nofile(want):
    """Raise this process's open-file limit (children inherit it) to want, or
    as far as the hard limit allows. Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def proc_tree(pid):
    """pid and its descendants (a master and its workers), from /proc."""
    out, todo = [], [pid]
    while todo and len(out) < 1000:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    todo.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def open_fds(pid):
    """Open descriptors of the server (all its processes)."""
    n = 0
    for p in proc_tree(pid):
        try:
            n += len(os.listdir("/proc/%d/fd" % p))
        except OSError:
            pass
    return n


class GoodClient(Poller):
    """A well-behaved client beside the attack: GET /index.html every
    quarter second; its latencies and wrong answers are the verdict."""

    def __init__(self, server, every=0.25, path="/index.html"):
        super().__init__(server, path, every)

    @property
    def latencies(self):
        return [end - start for start, end, what in self.results if what == 200]

    @property
    def errors(self):
        return [what for _, _, what in self.results if what != 200]

    def finish(self):
        super().finish()
        return self.latencies, self.errors

    def check(self, bound=GOOD_BOUND_S):
        lat, errs = self.finish()
        assert not errs, errs[:5]
        assert lat, "the good client made no request"
        assert max(lat) < bound, "good client waited %.2fs (max) under attack" % max(lat)
        return lat


def summary(lat):
    s = sorted(lat)
    return "n=%d median=%.1fms p99=%.1fms max=%.1fms" % (
        len(s), 1000 * s[len(s) // 2], 1000 * s[min(len(s) - 1, int(len(s) * 0.99))],
        1000 * s[-1])


def closes_logged(server, reason):
    return server.log().count("reason=%s " % reason)


def recv_state(s):
    """Non-blocking look at a socket: (data, closed)."""
    data = b""
    for _ in range(64):
        try:
            chunk = s.recv(65536)
        except BlockingIOError:
            return data, False
        except OSError:  # reset
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


# ---------------------------------------------------------------------------
# slowloris


def test_slowloris_held_then_cut_by_header_timeout(make_server):
    conns = int(os.environ.get("LINGERD_SLOWLORIS_CONNS", "1500"))
    timeout_s = float(os.environ.get("LINGERD_SLOWLORIS_TIMEOUT_S", "3"))
    have = raise_nofile(2 * conns + 200)
    if have < conns + 100:
        pytest.skip("open-file limit %d is too low for %d connections" % (have, conns))
    srv = make_server("header_timeout %dms;\nconnections_max %d;\nlingering_timeout 500ms;\n"
                      % (int(timeout_s * 1000), conns + 100), args=["-e", "debug"])
    head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
    socks, connected_at = [], []
    for _ in range(conns):
        s = socket.create_connection((srv.host, srv.port), timeout=10)
        s.setblocking(False)
        socks.append(s)
        connected_at.append(time.monotonic())
    t_open = time.monotonic()
    good = GoodClient(srv)
    good.start()

    poller = select.poll()
    index = {}
    for i, s in enumerate(socks):
        poller.register(s, select.POLLIN)
        index[s.fileno()] = i
    sent = [0] * conns
    cut_at = [None] * conns
    got_408 = [False] * conns
    held_max = server_fds_max = 0
    deadline = t_open + timeout_s + 15
    next_tick = time.monotonic()
    while time.monotonic() < deadline and any(c is None for c in cut_at):
        now = time.monotonic()
        if now >= next_tick:  # one byte a second on every open connection
            next_tick = now + 1.0
            for i, s in enumerate(socks):
                if cut_at[i] is None:
                    byte = head[sent[i]:sent[i] + 1] or b"a"
                    try:
                        s.send(byte)
                        sent[i] += 1
                    except OSError:
                        pass  # cut: seen below
            server_fds_max = max(server_fds_max, open_fds(srv.proc.pid))
        for fd, _ in poller.poll(50):
            i = index[fd]
            data, closed = recv_state(socks[i])
            if data.startswith(b"HTTP/1.1 408 "):
                got_408[i] = True
            if closed:
                cut_at[i] = time.monotonic()
                poller.unregister(fd)
        held_max = max(held_max, sum(1 for c in cut_at if c is None))
    lat = good.finish()[0]
    errs = good.errors
    for s in socks:
        s.close()

    lives = [cut_at[i] - connected_at[i] for i in range(conns) if cut_at[i] is not None]
    print("\nslowloris: %d connections held (server fds max %d), cut after %.1f-%.1fs "
          "(header_timeout %.1fs), %d got 408; good GETs meanwhile: %s"
          % (held_max, server_fds_max, min(lives or [0]), max(lives or [0]), timeout_s,
             sum(got_408), summary(lat) if lat else "none"))
    assert server_fds_max >= conns, "the server did not hold the slow connections"
    assert all(c is not None for c in cut_at), \
        "%d slow connections still open %.0fs after header_timeout" % (
            sum(1 for c in cut_at if c is None), deadline - t_open - timeout_s)
    assert min(lives) >= timeout_s * 0.8, "cut before header_timeout: %.2fs" % min(lives)
    assert all(got_408), "%d slow clients were cut without a 408" % got_408.count(False)
    assert wait_for(lambda: closes_logged(srv, "header_timeout") >= conns, timeout=10), \
        "log names header_timeout for %d of %d" % (closes_logged(srv, "header_timeout"), conns)
    assert not errs, errs[:5]
    assert lat and max(lat) < GOOD_BOUND_S, summary(lat)


# ---------------------------------------------------------------------------
# a reader that never reads


def test_slow_reader_cut_by_send_timeout(make_server):
    srv = make_server("send_timeout 1s;\nlingering_timeout 500ms;\n", args=["-e", "debug"])
    size = 32 << 20
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(os.urandom(1 << 20) * 32)
    good = GoodClient(srv)
    good.start()
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.settimeout(10)
    slow.connect((srv.host, srv.port))
    slow.sendall(request("GET", "/big.bin"))
    # never read; the server's writes stop making progress and send_timeout fires
    assert wait_for(lambda: closes_logged(srv, "send_timeout") >= 1, timeout=15), srv.log()[-2000:]
    lat = good.check()
    got = 0
    rd = Reader(slow, timeout=10)
    data = rd.read_until_close()
    got = len(data)
    slow.close()
    print("\nslow reader: cut by send_timeout after %d of %d bytes; good GETs: %s"
          % (got, size, summary(lat)))
    assert rd.eof, "the server kept the slow reader open"
    assert got < size, "the whole file went out: the reader was not slow enough to test"


# ---------------------------------------------------------------------------
# endless request bodies


def endless_send(s, unit, secs):
    """Send unit again and again until the server answers (a whole response
    head arrived), closes, or secs pass. Returns (bytes sent, bytes read)."""
    sent, buf, pending = 0, b"", b""
    s.setblocking(False)
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline and b"\r\n\r\n" not in buf:
        readable, writable, _ = select.select([s], [s], [], 0.05)
        if readable:
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                chunk = None
            except OSError:
                break
            if chunk == b"":
                break
            buf += chunk or b""
        elif writable:
            try:
                pending = pending or unit  # a partial send is finished first
                n = s.send(pending)
                pending = pending[n:]
                sent += n
            except BlockingIOError:
                pass
            except OSError:
                break
    s.setblocking(True)
    return sent, buf


def endless_upload(srv, first, unit, secs=10):
    """PUT with a chunked body that never ends: send `first`, then `unit`
    repeatedly until the server answers or `secs` pass. Returns (status,
    bytes sent)."""
    s = srv.connect()
    s.sendall(request("PUT", "/upload/endless.txt",
                      ["Authorization: " + AUTH, "Transfer-Encoding: chunked"]) + first)
    sent, buf = endless_send(s, unit, secs)
    rd = Reader(s, timeout=5)
    rd.buf = buf
    r = rd.response()
    s.close()
    return (r.status if r else None), sent


@pytest.mark.parametrize("case", [
    # name, setting, first bytes after the head, repeated unit, expected status
    ("chunks forever", "body_max_bytes 256k", b"", b"1000\r\n" + b"x" * 4096 + b"\r\n", 413),
    ("one endless chunk-size line", "chunk_line_max_bytes 1k", b"5;ext=", b"a" * 512, 400),
    ("endless trailer", "trailer_max_bytes 1k", b"0\r\n", b"X-T: " + b"a" * 64 + b"\r\n", 400),
])
def test_endless_chunked_body_is_cut(make_server, case):
    name, setting, first, unit, want = case
    srv = make_server(setting + ";\n")
    old = os.path.join(srv.root, "upload", "endless.txt")
    with open(old, "wb") as f:
        f.write(b"old contents\n")
    good = GoodClient(srv)
    good.start()
    status, sent = endless_upload(srv, first, unit)
    lat = good.check()
    print("\n%s: %d sent, answered %s (%s); good GETs: %s"
          % (name, sent, status, setting, summary(lat)))
    assert status == want, "%s: expected %d from %s, got %s" % (name, want, setting, status)
    with open(old, "rb") as f:
        assert f.read() == b"old contents\n", "a refused upload replaced the file"


# ---------------------------------------------------------------------------
# oversized heads


def endless_head(srv, unit, secs=10):
    """A request head that never ends: send `unit` until the server answers.
    Returns (status, bytes sent, whether the server closed)."""
    s = srv.connect()
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
    sent, buf = endless_send(s, unit, secs)
    rd = Reader(s, timeout=5)
    rd.buf = buf
    r = rd.response()
    rd.read_until_close()
    s.close()
    return (r.status if r else None), sent, rd.eof


@pytest.mark.parametrize("case", [
    ("one endless field line", "field_line_max_bytes 1k", b"X-Long: " + b"a" * 256),
    ("endless field lines", "header_fields_max 20", b"X-F: a\r\n"),
    ("endless head", "header_max_bytes 4k;\nrequest_line_max_bytes 1k;\nfield_line_max_bytes 1k",
     b"X-Mid: " + b"a" * 200 + b"\r\n"),
])
def test_oversized_head_is_cut_with_431(make_server, case):
    name, setting, unit = case
    srv = make_server(setting + ";\n")
    good = GoodClient(srv)
    good.start()
    status, sent, eof = endless_head(srv, unit)
    lat = good.check()
    print("\n%s: %d sent, answered %s (%s); good GETs: %s"
          % (name, sent, status, setting, summary(lat)))
    assert status == 431, "%s: expected 431 from %s, got %s" % (name, setting, status)
    assert eof, "the connection stayed open after 431"


# ---------------------------------------------------------------------------
# connection floods


def test_flood_past_connections_max(make_server):
    cap, flood, timeout_s = 64, 192, 1
    raise_nofile(4 * flood)
    # lingering_timeout short: see test_lingering_connections_do_not_keep_new_clients_out
    srv = make_server("connections_max %d;\nheader_timeout %ds;\nlingering_timeout 200ms;\n"
                      % (cap, timeout_s),
                      args=["-e", "debug"])
    base_fds = open_fds(srv.proc.pid)
    socks = srv.begun_heads(flood)  # the kernel queues what is not accepted
    fds_max = 0
    # A good client arrives behind the flood: it is served once the flood's
    # first rounds are cut by header_timeout, without waiting for all of it
    # to go away on its own (the flood never sends or closes).
    def sample():
        nonlocal fds_max
        fds_max = max(fds_max, open_fds(srv.proc.pid))

    r, waited = get_behind_flood(srv, sample)
    rounds = -(-flood // cap)
    print("\nflood: %d idle connections past connections_max=%d: server fds max %d "
          "(base %d); a good client behind them answered after %.1fs (header_timeout %ds, "
          "%d rounds)" % (flood, cap, fds_max, base_fds, waited, timeout_s, rounds))
    assert r is not None and r.status == 200, "good client behind the flood: %r" % r
    assert waited < (rounds + 1) * timeout_s + 10, "good client waited %.1fs" % waited
    # every descriptor beyond the base is one connection: never past the cap
    assert fds_max <= base_fds + cap + 8, (fds_max, base_fds)
    assert wait_for(lambda: closes_logged(srv, "header_timeout") >= cap, timeout=10)
    # the flood itself was cut, not left waiting: each socket sees the close
    for s in socks:
        s.close()


def test_lingering_connections_do_not_keep_new_clients_out(make_server):
    # server.c's contract: at connections_max the oldest lingering connection
    # is shed so that lingering never keeps a new client out.
    cap, timeout_s, linger_s = 8, 1, 10
    srv = make_server("connections_max %d;\nheader_timeout %ds;\nlingering_timeout %ds;\n"
                      "lingering_time 30s;\n" % (cap, timeout_s, linger_s))
    flood = srv.begun_heads(cap)  # cut by header_timeout with a 408, then linger
    t0 = time.monotonic()
    good = srv.connect(timeout=30)
    good.sendall(request("GET", "/index.html"))
    r = Reader(good, timeout=30).response()
    waited = time.monotonic() - t0
    good.close()
    for s in flood:
        s.close()
    print("\nbehind %d lingering connections at connections_max: answered after %.1fs "
          "(header_timeout %ds, lingering_timeout %ds)" % (cap, waited, timeout_s, linger_s))
    assert r is not None and r.status == 200
    assert waited < timeout_s + 3, "a new client waited %.1fs behind lingering ones" % waited
