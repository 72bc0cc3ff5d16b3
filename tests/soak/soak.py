#!/usr/bin/python3
"""make soak: a bounded soak test of one lingerd (SOAK_SECONDS, default 600).

Client mix, each a thread looping until the time is up (every loop bounded
in count and time):
  good        GET of files (whole, Range, HEAD) on keep-alive connections;
              every byte checked against the file on disk
  pipelined   8 requests in one write, 8 responses checked in order
  malformed   broken heads from the fuzz corpus (the ones the parser
              refuses) and random bytes: must get a 4xx or a close, never a
              hang past the timeouts
  uploading   PUT of random bodies (some chunked), GET back and compare,
              DELETE
  lingering   unauthenticated PUT of 256 KiB: the 401 must arrive, no reset
  slowloris   a few connections trickling a head, cut by header_timeout

Every SOAK_SAMPLE_S the server's RSS (KiB, over its processes) and open fds
are sampled and printed as a series. At the end: zero crashes (the server
ran throughout and exits 0 with a clean sanitizer log), every good,
pipelined and upload request answered correctly, RSS and fds flat (the
last third of the run no higher than the first third after warm-up, with a
small allowance), and fds back to the baseline once clients are gone.

Then the 10,000-connection slowloris (test_abuse.py with
LINGERD_SLOWLORIS_CONNS=10000) unless SOAK_SLOWLORIS=0.

Environment: SOAK_SECONDS, SOAK_SAMPLE_S, LINGERD_BIN (as for the tests).
"""

import os
import random
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from conftest import AUTH, Reader, Server, request  # noqa: E402
from test_abuse import open_fds, proc_tree  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
SAMPLE_S = float(os.environ.get("SOAK_SAMPLE_S", str(max(2.0, SECONDS / 30))))
CONFIG = """header_timeout 2s;
body_timeout 2s;
keepalive_timeout 2s;
lingering_timeout 500ms;
lingering_time 5s;
body_max_bytes 4m;
connections_max 4000;
"""


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}
        self.bad = {}
        self.examples = []

    def add(self, kind, good, why=""):
        with self.lock:
            d = self.ok if good else self.bad
            d[kind] = d.get(kind, 0) + 1
            if not good and len(self.examples) < 20:
                self.examples.append("%s: %s" % (kind, why))


def rss_kib(pid):
    total = 0
    for p in proc_tree(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Mix:
    def __init__(self, srv, tally, stop):
        self.srv, self.tally, self.stop = srv, tally, stop
        self.files = {}
        for name in ("index.html", "about.txt", "style.css", "big.bin"):
            with open(os.path.join(srv.root, name), "rb") as f:
                self.files["/" + name] = f.read()
        fuzz = os.path.join(REPO, "tests", "fuzz", "corpus", "http1")
        self.bad_heads = []
        for fn in sorted(os.listdir(fuzz)):
            with open(os.path.join(fuzz, fn), "rb") as f:
                data = f.read()
            if len(data) < 4096 and (b"\x00" in data or b" \r\n" in data or b"HTTP/2" in data
                                     or fn.startswith("seed-hdr-") or fn.startswith("seed-line-")):
                self.bad_heads.append(data)

    def loop(self, kind, fn, pause=0.0):
        rnd = random.Random(hash(kind) ^ threading.get_ident())
        for _ in range(10 ** 7):
            if self.stop.is_set():
                return
            try:
                fn(rnd)
            except (OSError, AssertionError, ValueError) as e:
                self.tally.add(kind, False, repr(e)[:200])
            if pause:
                self.stop.wait(pause)

    def check_file(self, kind, path, r, first=None, last=None):
        want = self.files[path]
        if first is not None:
            want = want[first:last + 1]
        ok = r is not None and r.status in (200, 206) and r.body == want
        self.tally.add(kind, ok, "%s -> %r" % (path, r))

    def good(self, rnd):
        s = self.srv.connect(timeout=10)
        rd = Reader(s, 10)
        for _ in range(rnd.randint(1, 10)):
            path = rnd.choice(list(self.files))
            size = len(self.files[path])
            pick = rnd.random()
            if pick < 0.2 and size > 10:
                a = rnd.randrange(size - 1)
                b = rnd.randrange(a, size)
                s.sendall(request("GET", path, ["Range: bytes=%d-%d" % (a, b)]))
                r = rd.response()
                self.check_file("good", path, r, a, b)
            elif pick < 0.3:
                s.sendall(request("HEAD", path))
                r = rd.response(head_request=True)
                self.tally.add("good", r is not None and r.status == 200 and
                               r.header("content-length") == str(size), repr(r))
            else:
                s.sendall(request("GET", path))
                self.check_file("good", path, rd.response())
        s.close()

    def pipelined(self, rnd):
        paths = [rnd.choice(["/index.html", "/about.txt", "/style.css"]) for _ in range(8)]
        s = self.srv.connect(timeout=10)
        s.sendall(b"".join(request("GET", p) for p in paths))
        rd = Reader(s, 10)
        for p in paths:
            self.check_file("pipelined", p, rd.response())
        s.close()

    def malformed(self, rnd):
        data = rnd.choice(self.bad_heads) if rnd.random() < 0.7 else \
            bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 2000)))
        s = self.srv.connect(timeout=10)
        try:
            s.sendall(data)
        except OSError:
            pass
        rd = Reader(s, 10)
        try:
            r = rd.response()
        except (AssertionError, ValueError, IndexError):
            r = None  # junk might parse as anything; only a hang is a failure
        # answered (any status) or closed within the timeouts; never hung
        self.tally.add("malformed", r is not None or rd.eof, "no answer, no close")
        s.close()

    def uploading(self, rnd):
        name = "/upload/soak-%d.bin" % rnd.randrange(8)
        body = os.urandom(rnd.choice([0, 1, 100, 5000, 100000, 1000000]))
        s = self.srv.connect(timeout=20)
        rd = Reader(s, 20)
        if rnd.random() < 0.3:
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7000]), body[i:i + 7000])
                              for i in range(0, len(body), 7000))
            s.sendall(request("PUT", name, ["Authorization: " + AUTH,
                                            "Transfer-Encoding: chunked"]) + chunks + b"0\r\n\r\n")
        else:
            s.sendall(request("PUT", name, ["Authorization: " + AUTH], body) if body else
                      request("PUT", name, ["Authorization: " + AUTH, "Content-Length: 0"]))
        r = rd.response()
        self.tally.add("upload", r is not None and r.status in (200, 201, 204), repr(r))
        # read back on the same connection: another uploader may replace it
        # in between, so only the length set is checked for shared names
        s.sendall(request("GET", name, ["Authorization: " + AUTH]))
        r = rd.response()
        self.tally.add("upload", r is not None and r.status in (200, 404), repr(r))
        if rnd.random() < 0.2:
            s.sendall(request("DELETE", name, ["Authorization: " + AUTH]))
            r = rd.response()
            self.tally.add("upload", r is not None and r.status in (200, 204, 404), repr(r))
        s.close()

    def uploading_private(self, rnd):
        """This thread's own file: the bytes read back must be the bytes put."""
        name = "/upload/soak-own-%d.bin" % threading.get_ident()
        body = os.urandom(rnd.choice([1, 3000, 300000]))
        s = self.srv.connect(timeout=20)
        rd = Reader(s, 20)
        s.sendall(request("PUT", name, ["Authorization: " + AUTH], body))
        r = rd.response()
        self.tally.add("upload", r is not None and r.status in (200, 201, 204), repr(r))
        s.sendall(request("GET", name, ["Authorization: " + AUTH]))
        r = rd.response()
        self.tally.add("upload", r is not None and r.status == 200 and r.body == body,
                       "read back %r" % r)
        s.close()

    def lingering(self, rnd):
        s = self.srv.connect(timeout=10)
        body = b"x" * (256 * 1024)
        try:
            s.sendall(request("PUT", "/upload/nope.bin", [], body))
        except OSError:
            pass
        rd = Reader(s, 10)
        r = rd.response()
        rd.read_until_close() if r is not None and r.header("connection") == "close" else None
        self.tally.add("lingering", r is not None and r.status == 401 and not rd.reset,
                       "%r reset=%s" % (r, rd.reset))
        s.close()

    def slowloris(self, rnd):
        s = self.srv.connect(timeout=10)
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "
        cut = False
        for i in range(12):  # header_timeout is 2 s: cut long before 12 bytes at 0.5 s
            try:
                s.sendall(head[i:i + 1] or b"a")
            except OSError:
                cut = True
                break
            # the cut is the 408 and the server's FIN (it then lingers and
            # would take more bytes quietly, so a send does not show it)
            if select.select([s], [], [], 0.5)[0]:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                cut = data == b"" or data.startswith(b"HTTP/1.1 408 ")
                break
            if self.stop.is_set():
                break
        s.close()
        self.tally.add("slowloris-cut", cut or self.stop.is_set(), "not cut")


def soak():
    with tempfile.TemporaryDirectory() as d:
        srv = Server(d, CONFIG)
        with open(os.path.join(srv.root, "big.bin"), "wb") as f:
            f.write(os.urandom(3 << 20))
        srv.start()
        pid = srv.proc.pid
        tally = Tally()
        stop = threading.Event()
        mix = Mix(srv, tally, stop)
        plan = [("good", mix.good, 0.0)] * 4 + [("pipelined", mix.pipelined, 0.0)] * 2 + \
            [("malformed", mix.malformed, 0.05)] * 2 + [("upload", mix.uploading, 0.05)] * 2 + \
            [("upload", mix.uploading_private, 0.1)] + [("lingering", mix.lingering, 0.1)] + \
            [("slowloris", mix.slowloris, 0.0)] * 4
        threads = [threading.Thread(target=mix.loop, args=p, daemon=True) for p in plan]
        base_fds = open_fds(pid)
        t0 = time.monotonic()
        for t in threads:
            t.start()
        series = []
        print("soak: %ds, %d client threads, sample every %.0fs" % (SECONDS, len(threads),
                                                                    SAMPLE_S))
        print("  t(s)   RSS(KiB)  fds  requests-ok  failures")
        for _ in range(100000):
            now = time.monotonic() - t0
            if now >= SECONDS or srv.proc.poll() is not None:
                break
            stop.wait(min(SAMPLE_S, max(0.1, SECONDS - now)))
            sample = (time.monotonic() - t0, rss_kib(pid), open_fds(pid),
                      sum(tally.ok.values()), sum(tally.bad.values()))
            series.append(sample)
            print("  %5.0f  %8d  %4d  %11d  %8d" % sample, flush=True)
        stop.set()
        for t in threads:
            t.join(30)
        alive = srv.proc.poll() is None
        # idle: every client is gone; after the timeouts only listeners etc. remain
        settle = time.monotonic() + 15
        while time.monotonic() < settle and open_fds(pid) > base_fds:
            time.sleep(0.2)
        end_fds = open_fds(pid)
        rc = srv.stop() if alive else srv.proc.returncode
        print("requests ok by kind: %s" % tally.ok)
        print("failures by kind:    %s" % tally.bad)
        for e in tally.examples:
            print("  " + e)
        print("fds: baseline %d, after clients left %d" % (base_fds, end_fds))
        problems = []
        if not alive or rc != 0:
            problems.append("server died or exited %s: %s" % (rc, srv.log()[-2000:]))
        if tally.bad:
            problems.append("failures: %s" % tally.bad)
        if end_fds > base_fds:
            problems.append("fds did not return to baseline: %d > %d" % (end_fds, base_fds))
        warm = [s for s in series if s[0] >= min(60, SECONDS / 5)]
        if len(warm) >= 6:
            third = len(warm) // 3
            first = max(s[1] for s in warm[:third])
            last = max(s[1] for s in warm[-third:])
            print("RSS: max %d KiB in the first third after warm-up, %d KiB in the last"
                  % (first, last))
            if last > first * 1.10 + 2048:
                problems.append("RSS grew: %d -> %d KiB" % (first, last))
        for p in problems:
            print("SOAK FAILED: " + p)
        return not problems


def slowloris_10k():
    env = dict(os.environ, LINGERD_SLOWLORIS_CONNS="10000", LINGERD_SLOWLORIS_TIMEOUT_S="10")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                        os.path.join(REPO, "tests", "integration", "test_abuse.py"),
                        "-k", "slowloris"], env=env, cwd=REPO, timeout=600)
    return r.returncode == 0


def time_wait_count():
    out = subprocess.run(["ss", "-tanH", "state", "time-wait"], capture_output=True, text=True,
                         timeout=30).stdout
    return out.count("\n")


def drain_time_wait(limit=20000, secs=70):
    """Hundreds of thousands of short connections leave TIME_WAIT sockets for
    60 s; near net.ipv4.tcp_max_tw_buckets the kernel stops keeping closed
    sockets in FIN_WAIT_2 and TIME_WAIT, which breaks the next test run's
    close-behaviour tests (test_linger.py). Wait, bounded, until they drain."""
    deadline = time.monotonic() + secs
    n = time_wait_count()
    print("TIME_WAIT sockets: %d" % n, flush=True)
    while n > limit and time.monotonic() < deadline:
        time.sleep(2)
        n = time_wait_count()
    print("TIME_WAIT sockets after the wait: %d" % n)


def main():
    ok = soak()
    drain_time_wait()
    if os.environ.get("SOAK_SLOWLORIS", "1") != "0":
        ok = slowloris_10k() and ok
        drain_time_wait()
    print("soak: %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
