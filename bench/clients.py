#!/usr/bin/python3
"""Load clients for bench/run that wrk cannot play (stdlib only, 127.0.0.1 only).

  exact  PORT PATH N CONNS MODE [DEPTH]  send exactly N requests (MODE keepalive,
         close or pipeline), check every response (2xx, full body); print JSON.
         Used under callgrind, where the count must be exact and speed is moot.
  idle   PORT PATH N FIRST    open FIRST keep-alive connections, one request
         each, print "ready {...}"; after a line on stdin open the rest up to N,
         print "ready {...}", hold them until stdin closes, then print how many
         the server had closed meanwhile.
  linger PORT PATH N          open N connections that PUT a 1 MiB
         Content-Length, read the response head (413 expected), then trickle one
         body byte per second on each; print "ready {...}" once all have their
         response, then "alive {...}" every second, until stdin closes.
  handshake PORT PATH SECONDS PROCS MODE   over TLS, for SECONDS: PROCS
         processes, each a loop of one new connection at a time: handshake,
         GET PATH with Connection: close, the whole response, the server's
         close. MODE full offers no session (every handshake is full); MODE
         resume offers the session of the process's previous connection (its
         newest ticket). Counts the handshakes the server resumed, as the
         client's TLS library reports them; prints "HSJSON {...}".
  tlsidle PORT PATH N FIRST   like idle, over TLS: each connection completes
         a full handshake and one request before it is held.

Every loop is bounded by a count and a deadline (HOLD_MAX_S, IO_TIMEOUT_S).
The TLS clients do not verify the certificate (bench.py checks it once
against the run's CA with openssl s_client): that client-side cost would
only slow the load down.
"""
import errno
import json
import os
import resource
import select
import socket
import ssl
import sys
import time

HOST = "127.0.0.1"
IO_TIMEOUT_S = 30.0     # one phase (connect + response) of a batch
HOLD_MAX_S = 300.0      # idle/linger connections are never held longer than this
BATCH = 500             # connections set up at once
HS_TIMEOUT_S = 5.0      # one TLS connection of "handshake", start to close
HS_MAX_PER_PROC = 1000000


# BENCH_ACCEPT_ENCODING: an Accept-Encoding value every request carries
# (workloads (l) and (m) under callgrind).
ACCEPT_ENCODING = os.environ.get("BENCH_ACCEPT_ENCODING")


def request_bytes(path, close=False, method="GET", extra=""):
    conn = "Connection: close\r\n" if close else ""
    if ACCEPT_ENCODING:
        extra += f"Accept-Encoding: {ACCEPT_ENCODING}\r\n"
    return f"{method} {path} HTTP/1.1\r\nHost: bench\r\n{conn}{extra}\r\n".encode()


class Response:
    """Incremental parser for responses to GET/PUT: Content-Length bodies, and
    chunked ones without trailers (nginx's gzip on the fly, workload (m))."""

    def __init__(self):
        self.buf = b""
        self.status = None
        self.need = None      # bytes of body still missing, once the head is in
        self.chunked = False

    def feed(self, data):
        """Add data; return a list of (status, body_len, complete_head) parsed."""
        self.buf += data
        done = []
        while True:
            if self.status is None:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return done
                head = self.buf[:end].decode("latin-1")
                self.buf = self.buf[end + 4:]
                lines = head.split("\r\n")
                self.status = int(lines[0].split(" ")[1])
                self.need = 0
                self.chunked = False
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    if k.strip().lower() == "content-length":
                        self.need = int(v.strip())
                    if k.strip().lower() == "transfer-encoding" and "chunked" in v.lower():
                        self.chunked = True
                self.body_len = self.need
            if self.chunked:
                if not self.feed_chunks():
                    return done
                done.append((self.status, self.body_len))
                self.status = None
                continue
            take = min(self.need, len(self.buf))
            self.buf = self.buf[take:]
            self.need -= take
            if self.need:
                return done
            done.append((self.status, self.body_len))
            self.status = None

    def feed_chunks(self):
        """Consume whole chunks from buf, counting their bytes in body_len; True
        once the last chunk and the final CRLF are in."""
        while True:
            if self.need:                      # inside a chunk: its data, then CRLF
                if len(self.buf) < self.need + 2:
                    return False
                self.buf = self.buf[self.need + 2:]
                self.need = 0
                continue
            end = self.buf.find(b"\r\n")
            if end < 0:
                return False
            size = int(self.buf[:end].split(b";")[0], 16)
            if size == 0:
                if len(self.buf) < end + 4:
                    return False
                self.buf = self.buf[end + 4:]  # "0\r\n\r\n": no trailers
                return True
            self.buf = self.buf[end + 2:]
            self.need = size
            self.body_len += size


def connect_nb():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((HOST, PORT))
    except BlockingIOError:
        pass
    return s


def cmd_exact(path, n, conns, mode, depth):
    """N requests over CONNS connections; keepalive: one at a time per
    connection; pipeline: DEPTH per write; close: one per connection."""
    stats = {"ok": 0, "bad_status": 0, "short": 0, "errors": 0}
    expect = None
    left = n                      # requests not yet sent
    deadline = time.monotonic() + max(60.0, n * 0.05)
    ep = select.epoll()
    live = {}                     # fd -> [sock, Response, outstanding]

    def open_one():
        nonlocal left
        s = connect_nb()
        k = 1 if mode in ("keepalive", "close") else depth
        k = min(k, left)
        left -= k
        live[s.fileno()] = [s, Response(), k, request_bytes(path, mode == "close") * k]
        ep.register(s.fileno(), select.EPOLLOUT)

    for _ in range(min(conns, n)):
        if left:
            open_one()
    while live and time.monotonic() < deadline:
        for fd, ev in ep.poll(1.0):
            ent = live[fd]
            s, resp = ent[0], ent[1]
            try:
                if ent[3]:
                    sent = s.send(ent[3])
                    ent[3] = ent[3][sent:]
                    if not ent[3]:
                        ep.modify(fd, select.EPOLLIN)
                    continue
                data = s.recv(262144)
            except OSError:
                data = None
            if not data:
                stats["errors"] += 1      # closed or reset with responses owed
                ep.unregister(fd)
                s.close()
                del live[fd]
                if left:
                    open_one()
                continue
            for status, blen in resp.feed(data):
                ent[2] -= 1
                if expect is None and 200 <= status < 300:
                    expect = blen
                if not 200 <= status < 300:
                    stats["bad_status"] += 1
                elif blen != expect:
                    stats["short"] += 1
                else:
                    stats["ok"] += 1
            if ent[2] == 0:
                if mode == "close" or not left:
                    ep.unregister(fd)
                    s.close()
                    del live[fd]
                    if left:
                        open_one()
                else:
                    k = 1 if mode == "keepalive" else min(depth, left)
                    left -= k
                    ent[2] = k
                    ent[3] = request_bytes(path) * k
                    ep.modify(fd, select.EPOLLOUT)
    stats["unfinished"] = n - stats["ok"] - stats["bad_status"] - stats["short"]
    print(json.dumps(stats), flush=True)


def open_many(n, payload, want_head_only):
    """Open n connections in batches, send payload on each and read one
    response (or only its head). Returns (socks, statuses, failures)."""
    socks, statuses, failed = [], {}, 0
    while len(socks) + failed < n:
        batch = [connect_nb() for _ in range(min(BATCH, n - len(socks) - failed))]
        ep = select.epoll()
        pend = {}
        for s in batch:
            pend[s.fileno()] = [s, Response(), payload]
            ep.register(s.fileno(), select.EPOLLOUT)
        deadline = time.monotonic() + IO_TIMEOUT_S
        while pend and time.monotonic() < deadline:
            for fd, _ in ep.poll(1.0):
                ent = pend[fd]
                s = ent[0]
                try:
                    if ent[2]:
                        ent[2] = ent[2][s.send(ent[2]):]
                        if not ent[2]:
                            ep.modify(fd, select.EPOLLIN)
                        continue
                    data = s.recv(65536)
                except OSError:
                    data = b""
                got = None
                if data:
                    r = ent[1]
                    done = r.feed(data)
                    if done:
                        got = done[0][0]
                    elif want_head_only and r.status is not None:
                        got = r.status
                    if got is None:
                        continue
                ep.unregister(fd)
                del pend[fd]
                if got is None:
                    failed += 1
                    s.close()
                else:
                    statuses[got] = statuses.get(got, 0) + 1
                    socks.append(s)
        for ent in pend.values():
            failed += 1
            ent[0].close()
        ep.close()
    return socks, statuses, failed


def wait_stdin(seconds):
    """True when stdin has closed (the harness is done with us)."""
    r, _, _ = select.select([sys.stdin], [], [], seconds)
    return bool(r) and not sys.stdin.buffer.read1(4096)


def hold_idle(open_n, n, first):
    """Open FIRST connections with open_n(count), print "ready", wait for a
    line on stdin, open the other n - FIRST, print "ready" again: the harness
    measures memory at both steps, so a one-time growth is told apart from
    the cost per connection. Then hold them until stdin closes and say how
    many the server closed (a readable idle socket means EOF, an alert or RST)."""
    socks, statuses, failed = open_n(first)
    print("ready " + json.dumps({"open": len(socks), "failed": failed,
                                 "status": statuses}), flush=True)
    r, _, _ = select.select([sys.stdin], [], [], HOLD_MAX_S)
    if r:
        sys.stdin.readline()
    more, st2, f2 = open_n(n - first)
    socks += more
    for k, v in st2.items():
        statuses[k] = statuses.get(k, 0) + v
    print("ready " + json.dumps({"open": len(socks), "failed": failed + f2,
                                 "status": statuses}), flush=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < HOLD_MAX_S and not wait_stdin(1.0):
        pass
    poller = select.poll()
    for s in socks:
        poller.register(s.fileno(), select.POLLIN)
    closed = len(poller.poll(0))
    for s in socks:
        s.close()
    print("closed " + json.dumps({"closed_by_server": closed}), flush=True)


def cmd_idle(path, n, first):
    hold_idle(lambda k: open_many(k, request_bytes(path), False), n, first)


def cmd_linger(path, n):
    extra = "Content-Length: 1048576\r\n"
    payload = request_bytes(path, method="PUT", extra=extra) + b"x" * 100
    socks, statuses, failed = open_many(n, payload, True)
    print("ready " + json.dumps({"open": len(socks), "failed": failed,
                                 "status": statuses}), flush=True)
    alive = set(range(len(socks)))
    eof = set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < HOLD_MAX_S:
        for i in list(alive):
            s = socks[i]
            try:
                s.send(b"x")
                while True:           # drain what the server still sends
                    d = s.recv(65536)
                    if not d:
                        eof.add(i)    # the server's FIN: it half-closed
                        break
            except BlockingIOError:
                pass
            except OSError:           # RST: the server stopped lingering
                alive.discard(i)
        print("alive " + json.dumps({"alive": len(alive), "fin_seen": len(eof),
                                     "t": round(time.monotonic() - t0, 1)}), flush=True)
        if wait_stdin(1.0):
            break
    for s in socks:
        s.close()


def tls_connect():
    """A blocking TCP connection with TCP_NODELAY, as browsers and wrk have:
    without it the request, written right after the client's Finished,
    waits for the server's delayed ACK (40 ms) when the server sends
    nothing after a resumed handshake."""
    raw = socket.create_connection((HOST, PORT), timeout=HS_TIMEOUT_S)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return raw


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_exchange(s, req, expect, stats, to_close):
    """Send req on the TLS socket s and read one response (Content-Length);
    with to_close, read on to the server's close. Counts into stats;
    returns the body length of a 2xx response or None."""
    s.sendall(req)
    resp, done = Response(), []
    while not done:
        data = s.recv(65536)
        if not data:
            break
        done = resp.feed(data)
    if not done:
        stats["errors"] += 1              # closed with the response unfinished
        return None
    status, blen = done[0]
    if not 200 <= status < 300:
        stats["bad_status"] += 1
        return None
    if expect is not None and blen != expect:
        stats["short"] += 1
        return None
    stats["ok"] += 1
    if to_close:                          # Connection: close: wait for the server's end
        while s.recv(65536):
            pass
    return blen


def handshake_proc(path, t_end, mode, out_fd):
    """One process of cmd_handshake: connections one at a time until t_end."""
    ctx = tls_context()
    req = request_bytes(path, close=True)
    stats = {"ok": 0, "bad_status": 0, "short": 0, "errors": 0, "resumed": 0, "full": 0}
    lat = []
    sess, expect = None, None
    for _ in range(HS_MAX_PER_PROC):
        t0 = time.monotonic()
        if t0 >= t_end:
            break
        try:
            raw = tls_connect()
            with ctx.wrap_socket(raw, server_hostname="localhost",
                                 session=sess if mode == "resume" else None) as s:
                if s.session_reused:
                    stats["resumed"] += 1
                else:
                    stats["full"] += 1
                blen = tls_exchange(s, req, expect, stats, True)
                if blen is not None:
                    expect = blen
                    lat.append(time.monotonic() - t0)
                if mode == "resume":
                    sess = s.session          # the newest ticket the server sent
        except (OSError, ssl.SSLError, ValueError):
            stats["errors"] += 1
            sess = None
    stats["end"] = time.monotonic()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    stats["cpu_s"] = ru.ru_utime + ru.ru_stime        # this process's whole life
    stats["lat"] = lat
    os.write(out_fd, (json.dumps(stats) + "\n").encode())


def cmd_handshake(path, seconds, procs, mode):
    t_start = time.monotonic()
    t_end = t_start + seconds
    kids = []                         # (pid, read end of its own pipe)
    for _ in range(procs):
        r, w = os.pipe()              # one each: a line over 4 KiB is not atomic
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 0
            try:
                handshake_proc(path, t_end, mode, w)
            except BaseException:
                code = 1
            os._exit(code)
        os.close(w)
        kids.append((pid, r))
    text = ""
    for pid, r in kids:
        with os.fdopen(r) as f:
            text += f.read()          # its line; EOF when it has exited
        os.waitpid(pid, 0)
    total = {"ok": 0, "bad_status": 0, "short": 0, "errors": 0, "resumed": 0, "full": 0}
    lat, end, cpu = [], t_start, 0.0
    lines = [json.loads(l) for l in text.splitlines() if l.strip()]
    for st in lines:
        for k in total:
            total[k] += st[k]
        lat += st["lat"]
        end = max(end, st["end"])
        cpu += st["cpu_s"]
    total["errors"] += procs - len(lines)         # a process that died
    lat.sort()
    total["p99_ms"] = lat[int(len(lat) * 0.99)] * 1000 if lat else None
    total["wall_s"] = end - t_start
    total["cpu_s"] = cpu          # the load processes' CPU time (not this parent's start-up)
    print("HSJSON " + json.dumps(total), flush=True)


def open_many_tls(n, path):
    """Open n TLS connections one after the other, each a full handshake and
    one keep-alive GET read to its end. Returns (socks, statuses, failures)."""
    ctx = tls_context()
    req = request_bytes(path)
    socks, statuses, failed = [], {}, 0
    deadline = time.monotonic() + IO_TIMEOUT_S + n * 0.05
    for _ in range(n):
        if time.monotonic() >= deadline:
            failed += 1
            continue
        try:
            raw = tls_connect()
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            s.sendall(req)
            resp, done = Response(), []
            while not done:
                data = s.recv(65536)
                if not data:
                    break
                done = resp.feed(data)
        except (OSError, ssl.SSLError):
            failed += 1
            continue
        if not done:
            failed += 1
            s.close()
            continue
        statuses[done[0][0]] = statuses.get(done[0][0], 0) + 1
        socks.append(s)
    return socks, statuses, failed


def cmd_tlsidle(path, n, first):
    hold_idle(lambda k: open_many_tls(k, path), n, first)


def main():
    global PORT
    cmd, PORT, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if cmd == "exact":
        depth = int(sys.argv[7]) if len(sys.argv) > 7 else 1
        cmd_exact(path, int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], depth)
    elif cmd == "idle":
        cmd_idle(path, int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "linger":
        cmd_linger(path, int(sys.argv[4]))
    elif cmd == "handshake":
        cmd_handshake(path, float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif cmd == "tlsidle":
        cmd_tlsidle(path, int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
