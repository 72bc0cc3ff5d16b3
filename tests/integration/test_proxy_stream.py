"""Bodies stream through the proxy with bounded memory: a client that does
not read does not make lingerd hold the application's answer, and an
application that does not read does not make lingerd hold the upload. The
worker's resident memory is sampled while the far side is stalled with
hundreds of MiB still to come."""

import socket
import threading

import pytest

from conftest import Reader, request, wait_for
from test_process import children
from upstream_apps import App, read_head

MIB = 1024 * 1024
SIZE = 256 * MIB
BOUND = 48 * MIB  # growth allowed: buffers, not bodies


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def read_response_head(s):
    """(head lines, body bytes that came with the head) of a response."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        assert data, "no response head"
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1").split("\r\n"), rest


def read_counting(s):
    """A response with a Content-Length, its body counted, not kept:
    (status line, body length)."""
    lines, rest = read_response_head(s)
    n = [int(l.split(":")[1]) for l in lines if l.lower().startswith("content-length:")][0]
    got = len(rest)
    while got < n:
        data = s.recv(4 * MIB)
        if not data:
            break
        got += len(data)
    return lines[0], got


def answer_count(sock, rest, size):
    """An application's side: read a body of size bytes (rest came with the
    head), counting, and answer 200 with the count."""
    got = len(rest)
    while got < size:
        data = sock.recv(MIB)
        if not data:
            break
        got += len(data)
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d" % (len(str(got)), got))


def worker_of(srv):
    kids = wait_for(lambda: children(srv.proc.pid), timeout=10)
    assert kids, "no worker"
    return kids[0]


def proxied(make_server, app):
    return make_server("body_max_bytes 1g;\nlocation /app/ {\n methods GET POST;\n"
                       " proxy_pass %s;\n}\n" % app.addr)


def test_download_to_a_client_that_does_not_read(make_server):
    sent = {"n": 0}

    def handler(sock, app):
        read_head(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % SIZE)
        block = b"d" * MIB
        for _ in range(SIZE // MIB):
            sock.sendall(block)
            sent["n"] += MIB
    app = App(handler, timeout=60)
    try:
        srv = proxied(make_server, app)
        worker = worker_of(srv)
        before = rss(worker)
        s = srv.connect(timeout=60)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(request("GET", "/app/big"))
        # the app's sending stalls once every buffer on the way is full
        last = -1
        for _ in range(100):
            if not wait_for(lambda: sent["n"] != last, timeout=0.3):
                break
            last = sent["n"]
        assert sent["n"] < SIZE // 2, "nothing held the application back"
        grown = rss(worker) - before
        assert grown < BOUND, "worker grew %d MiB" % (grown // MIB)
        status, got = read_counting(s)
        s.close()
        assert " 200 " in status and got == SIZE
    finally:
        app.stop()


def test_upload_to_an_app_that_does_not_read(make_server):
    go = threading.Event()

    def handler(sock, app):
        head, rest = read_head(sock)
        go.wait(30)
        answer_count(sock, rest, SIZE)
    app = App(handler, timeout=60)
    try:
        srv = proxied(make_server, app)
        worker = worker_of(srv)
        before = rss(worker)
        s = srv.connect(timeout=60)
        s.sendall(request("POST", "/app/up", ["Content-Length: %d" % SIZE]))
        s.setblocking(False)
        block = b"u" * MIB
        pushed = 0
        stalled = 0
        while pushed < SIZE and stalled < 20:
            try:
                n = s.send(block)
                pushed += n
                stalled = 0
            except BlockingIOError:
                stalled += 1
                threading.Event().wait(0.05)
        assert pushed < SIZE // 2, "nothing held the client back"
        grown = rss(worker) - before
        assert grown < BOUND, "worker grew %d MiB" % (grown // MIB)
        go.set()
        s.setblocking(True)
        s.settimeout(60)
        left = SIZE - pushed
        while left:
            n = s.send(block[:min(left, MIB)])
            left -= n
        rd = Reader(s, timeout=60)
        r = rd.response()
        s.close()
        assert r.status == 200 and r.body == str(SIZE).encode()
    finally:
        go.set()
        app.stop()


@pytest.mark.parametrize("size", [64 * 1024, 4 * MIB])
def test_upload_larger_than_the_send_buffer_in_one_read(make_server, size):
    """proxy_buffer_bytes at its minimum and a client that sends its whole
    body at once: one read of the client's brings far more than the
    upstream's send buffer takes. The application reads as fast as it can,
    so the socket to it never fills and no writable edge comes: what the
    buffer could not take must still go as soon as there is room, not wait
    for proxy_send_timeout (then a 502)."""
    def handler(sock, app):
        head, rest = read_head(sock)
        answer_count(sock, rest, size)
    app = App(handler, timeout=30)
    try:
        srv = make_server("proxy_buffer_bytes 4k;\nproxy_send_timeout 5s;\n"
                          "body_max_bytes 1g;\nlocation /app/ {\n methods POST;\n"
                          " proxy_pass %s;\n}\n" % app.addr)
        s = srv.connect(timeout=30)
        s.sendall(request("POST", "/app/up", ["Content-Length: %d" % size]) + b"b" * size)
        r = Reader(s, timeout=30).response()
        s.close()
        assert r.status == 200 and r.body == str(size).encode(), (r.status, r.body[:200])
    finally:
        app.stop()


# ---------------------------------------------------------------------------
# 1 GiB each way, with a slow far side (the cases). Slow only while
# the worker's RSS is sampled, then as fast as loopback goes, sampled again:
# the bound holds over the whole GiB. Release build only: under the
# sanitizers they would prove nothing more and take minutes.

GIB = 1024 * MIB
SLOW_S = 2.0          # how long the far side is slow
SLOW_STEP = 64 * 1024  # bytes it takes per 10 ms while slow (6.4 MB/s)


class RssMax:
    """The largest growth of pid's RSS over before, sampled on demand."""

    def __init__(self, pid):
        self.pid, self.before, self.max = pid, rss(pid), 0

    def sample(self):
        self.max = max(self.max, rss(self.pid) - self.before)


def slowly(step, until_s, sample, act):
    """Call act(step) every 10 ms and sample() every 20 steps for until_s."""
    end = threading.Event()
    t = threading.Timer(until_s, end.set)
    t.start()
    i = 0
    while not end.is_set():
        act(step)
        if i % 20 == 0:
            sample()
        i += 1
        end.wait(0.01)
    t.cancel()


@pytest.mark.release_only
def test_1gib_download_to_a_slow_client(make_server):
    def handler(sock, app):
        read_head(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % GIB)
        block = b"d" * (4 * MIB)
        for _ in range(GIB // len(block)):
            sock.sendall(block)
    app = App(handler, timeout=120)
    try:
        srv = proxied(make_server, app)
        mem = RssMax(worker_of(srv))
        s = srv.connect(timeout=60)
        s.sendall(request("GET", "/app/big"))
        lines, rest = read_response_head(s)
        assert " 200 " in lines[0]
        got = [len(rest)]

        def take(n):
            data = s.recv(n)
            assert data, "cut at %d" % got[0]
            got[0] += len(data)
        slowly(SLOW_STEP, SLOW_S, mem.sample, take)
        assert got[0] < GIB // 4, "the slow phase read most of it"
        while got[0] < GIB:
            take(4 * MIB)
            if got[0] % (64 * MIB) < 4 * MIB:
                mem.sample()
        mem.sample()
        s.close()
        assert got[0] == GIB
        assert mem.max < BOUND, "worker grew %d MiB" % (mem.max // MIB)
    finally:
        app.stop()


@pytest.mark.release_only
def test_1gib_upload_to_a_slow_app(make_server):
    fast = threading.Event()

    def handler(sock, app):
        head, rest = read_head(sock)
        got = len(rest)
        while got < GIB:
            data = sock.recv(4 * MIB if fast.is_set() else SLOW_STEP)
            if not data:
                break
            got += len(data)
            if not fast.is_set():
                fast.wait(0.01)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d" % (len(str(got)), got))
    app = App(handler, timeout=120)
    try:
        srv = proxied(make_server, app)
        mem = RssMax(worker_of(srv))
        s = srv.connect(timeout=60)
        s.sendall(request("POST", "/app/up", ["Content-Length: %d" % GIB]))
        s.setblocking(False)
        block = b"u" * (4 * MIB)
        pushed = [0]

        def push(_):
            try:
                pushed[0] += s.send(block[:min(len(block), GIB - pushed[0])])
            except BlockingIOError:
                pass
        slowly(SLOW_STEP, SLOW_S, mem.sample, push)
        assert pushed[0] < GIB // 4, "nothing held the client back"
        fast.set()
        s.setblocking(True)
        s.settimeout(60)
        while pushed[0] < GIB:
            pushed[0] += s.send(block[:min(len(block), GIB - pushed[0])])
            if pushed[0] % (64 * MIB) < len(block):
                mem.sample()
        rd = Reader(s, timeout=60)
        r = rd.response()
        mem.sample()
        s.close()
        assert r.status == 200 and r.body == str(GIB).encode()
        assert mem.max < BOUND, "worker grew %d MiB" % (mem.max // MIB)
    finally:
        fast.set()
        app.stop()
