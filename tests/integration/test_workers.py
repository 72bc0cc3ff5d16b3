"""Several workers: one killed under load, a kill in the middle of an upload,
connections_max per worker, logs reopened by every worker.

Which worker holds which connection is read from /proc: a worker's socket
inodes (/proc/<pid>/fd) matched against /proc/net/tcp rows whose local
port is the server's. Workers share one listener with EPOLLEXCLUSIVE, so
connections made one after another mostly land on the same idle worker;
the tests that need both workers open connections in concurrent bursts,
which spread them, and check the spread instead of assuming it.
"""

import hashlib
import os
import re
import signal
import socket
import threading
import time

from conftest import (AUTH, Poller, Reader, fd_targets, get, get_behind_flood, request,
                      upload_files_held, wait_for)
from test_process import children

MIB = 1024 * 1024
BURST = 8          # concurrent connections per burst
BURSTS_MAX = 6     # bursts tried before giving up on spreading them
TMP_PREFIX = ".lingerd-put-"
TCP_ESTABLISHED = "01"
TCP_LISTEN = "0A"


# ---------------------------------------------------------------------------
# /proc: which worker holds which connection


def socket_inodes(pid):
    """Inodes of the sockets process pid holds open (empty if it is gone)."""
    return {int(t[len("socket:["):-1]) for t in fd_targets(pid) if t.startswith("socket:[")}


def tcp_rows(port):
    """(remote port, state, inode) of every TCP socket whose local port is port."""
    rows = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            p = line.split()
            if int(p[1].rsplit(":", 1)[1], 16) == port:
                rows.append((int(p[2].rsplit(":", 1)[1], 16), p[3], int(p[9])))
    return rows


def owners(srv, pids):
    """{client port: pid} for the server's connections held by one of pids."""
    inodes = {pid: socket_inodes(pid) for pid in pids}
    out = {}
    for rport, state, inode in tcp_rows(srv.port):
        if state == TCP_LISTEN:
            continue
        for pid, held in inodes.items():
            if inode in held:
                out[rport] = pid
    return out


def held_by(srv, pid):
    """(established, all) connections worker pid holds on the server's port."""
    held = socket_inodes(pid)
    rows = [r for r in tcp_rows(srv.port) if r[2] in held and r[1] != TCP_LISTEN]
    return sum(1 for r in rows if r[1] == TCP_ESTABLISHED), len(rows)


def two_workers(srv):
    master = srv.proc.pid
    assert wait_for(lambda: len(children(master)) == 2, timeout=10), children(master)
    return children(master)


def is_gone(pid, master):
    """Dead and reaped by the master (no longer its child)."""
    return pid not in children(master)


def burst(fn, n=BURST):
    """Run fn(i) on n threads at once; their results, in order."""
    out = [None] * n

    def run(i):
        try:
            out[i] = fn(i)
        except Exception as e:  # reported by the caller's assertion
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts)
    return out


# ---------------------------------------------------------------------------
# a download that is read only when told


class Download:
    """GET of a large file with a small receive buffer. Nothing is read
    past the head until finish(): the worker keeps the connection, blocked
    on a full socket buffer."""

    def __init__(self, srv, path):
        self.s = socket.socket(srv.family, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.s.settimeout(30)
        self.s.connect((srv.host, srv.port))
        self.s.sendall(request("GET", path, ["Connection: close"]))
        self.port = self.s.getsockname()[1]

    def finish(self):
        """Read to the end: (status, Content-Length, body bytes, sha256 hex).
        status is None if the connection ended before a whole head."""
        buf = b""
        while b"\r\n\r\n" not in buf and len(buf) < 65536:
            try:
                data = self.s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                data = b""
            if not data:
                self.s.close()
                return None, None, 0, None
            buf += data
        head, body = buf.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
        length = int(m.group(1)) if m else None
        h = hashlib.sha256(body)
        n = len(body)
        for _ in range(1 << 20):  # bounded: 64 KiB or more per pass
            try:
                data = self.s.recv(1 << 20)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            h.update(data)
            n += len(data)
        self.s.close()
        return status, length, n, h.hexdigest()


# ---------------------------------------------------------------------------
# (a) one worker killed while both serve downloads


def test_killed_worker_is_replaced_and_the_other_one_finishes_its_downloads(make_server):
    srv = make_server("workers 2;")
    master = srv.proc.pid
    big = os.urandom(64 * MIB)
    want = hashlib.sha256(big).hexdigest()
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(big)
    del big
    first = two_workers(srv)

    # Downloads in concurrent bursts until each worker holds at least one.
    downloads, where = [], {}
    for _ in range(BURSTS_MAX):
        new = burst(lambda i: Download(srv, "/big.bin"))
        assert all(isinstance(d, Download) for d in new), new
        downloads += new
        ports = {d.port for d in downloads}
        assert wait_for(lambda: ports <= set(owners(srv, first)), timeout=10), \
            "downloads not all accepted"
        where = owners(srv, first)
        if set(where[d.port] for d in downloads) == set(first):
            break
    by_worker = {pid: [d for d in downloads if where[d.port] == pid] for pid in first}
    assert all(by_worker.values()), "downloads did not spread over both workers: %s" % {
        pid: len(ds) for pid, ds in by_worker.items()}
    victim, survivor = first

    poller = Poller(srv, "/about.txt", every=0.02)
    poller.start()
    assert wait_for(lambda: poller.ok_count() >= 3, timeout=10), poller.results[-5:]
    kill_sent = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: is_gone(victim, master), timeout=10), "the killed worker stays"
    reaped = time.monotonic()
    assert wait_for(lambda: len(children(master)) == 2, timeout=15), \
        "no replacement for the killed worker: %s" % children(master)
    now = children(master)
    assert survivor in now and victim not in now
    replaced = time.monotonic()
    ok_then = poller.ok_count()
    assert wait_for(lambda: poller.ok_count() >= ok_then + 5, timeout=10)
    results = poller.finish()

    # Every poll that began once the victim was dead was answered; one in
    # flight at the kill may have been accepted by the victim and lost.
    failed = [r for r in results if r[2] != 200]
    late = [r for r in failed if r[0] >= reaped]
    assert not late, "requests after the kill failed: %s" % late[:5]
    assert len(failed) <= 1 and all(r[1] >= kill_sent for r in failed), failed
    assert any(r[0] >= replaced and r[2] == 200 for r in results)

    # The survivor's downloads complete, byte for byte.
    for d in by_worker[survivor]:
        status, length, n, sha = d.finish()
        assert (status, length, n) == (200, 64 * MIB, 64 * MIB), (status, length, n)
        assert sha == want
    # The victim's end early: they were cut, not finished by someone else.
    for d in by_worker[victim]:
        status, length, n, sha = d.finish()
        assert n < 64 * MIB, "a download of the killed worker completed"
    assert srv.proc.poll() is None


# ---------------------------------------------------------------------------
# (b) a worker killed in the middle of a PUT


def upload_writers(srv, pids):
    """{pid: [paths]} of unnamed or temporary upload files each pid holds."""
    return upload_files_held(srv.root, pids)


def put(srv, path, body, timeout=30):
    s = srv.connect(timeout=timeout)
    s.sendall(request("PUT", path, ["Authorization: " + AUTH], body))
    r = Reader(s, timeout).response()
    s.close()
    return r


def test_worker_killed_mid_put_leaves_old_file_and_no_name(make_server):
    # One worker: the replacement is the only one to answer the next PUT.
    srv = make_server("body_max_bytes 64m;")
    master = srv.proc.pid
    updir = os.path.join(srv.root, "upload")
    old = b"the old content, which must survive\n"
    assert put(srv, "/upload/f.bin", old).status == 201
    assert wait_for(lambda: len(children(master)) == 1)
    worker = children(master)[0]

    s = srv.connect(timeout=30)
    s.sendall(request("PUT", "/upload/f.bin",
                      ["Authorization: " + AUTH, "Content-Length: %d" % (32 * MIB)]))
    block = os.urandom(256 * 1024)
    for _ in range(16 * MIB // len(block)):  # half the body
        s.sendall(block)
    writers = wait_for(lambda: upload_writers(srv, [worker]), timeout=10)
    assert list(writers) == [worker] and len(writers[worker]) == 1, writers
    os.kill(worker, signal.SIGKILL)
    assert wait_for(lambda: is_gone(worker, master), timeout=10)
    rd = Reader(s, timeout=10)
    rest = rd.read_until_close()
    s.close()
    assert not rest.startswith(b"HTTP/1.1 2"), rest[:200]

    with open(os.path.join(updir, "f.bin"), "rb") as f:
        assert f.read() == old
    assert os.listdir(updir) == ["f.bin"], "left behind: %s" % os.listdir(updir)

    assert wait_for(lambda: len(children(master)) == 1, timeout=15), "no replacement"
    (replacement,) = children(master)
    assert replacement != worker
    new = os.urandom(MIB) + b"new"
    r = put(srv, "/upload/f.bin", new)
    assert r.status == 204, r
    with open(os.path.join(updir, "f.bin"), "rb") as f:
        assert f.read() == new
    assert os.listdir(updir) == ["f.bin"]
    assert children(master) == [replacement]


# ---------------------------------------------------------------------------
# (c) connections_max is per worker


def test_connections_max_holds_per_worker(make_server):
    cap, flood, timeout_s = 16, 48, 2
    srv = make_server("workers 2;\nconnections_max %d;\nheader_timeout %ds;\n"
                      "lingering_timeout 200ms;\n" % (cap, timeout_s))
    workers = two_workers(srv)
    socks = srv.begun_heads(flood)
    most = {pid: 0 for pid in workers}

    def sample():
        for pid in workers:
            most[pid] = max(most[pid], held_by(srv, pid)[1])

    r, waited = get_behind_flood(srv, sample)
    for s in socks:
        s.close()
    print("\n%d idle connections, workers 2, connections_max %d: most held %s; "
          "good client answered after %.1fs" % (flood, cap, most, waited))
    assert r is not None and r.status == 200, r
    assert waited < 3 * timeout_s + 15, "good client waited %.1fs" % waited
    assert all(n <= cap for n in most.values()), most
    # The flood went past one worker's cap, so the other took its share.
    assert all(n >= 1 for n in most.values()), most
    assert sum(most.values()) > cap, most
    assert srv.proc.poll() is None


# ---------------------------------------------------------------------------
# (d) SIGUSR1: every worker reopens its logs


def pids_in(path):
    """Pids of the error-log lines in path ("... [level] PID: ...")."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return set()
    return {int(m) for m in re.findall(r"^\S+ \[\w+\] (\d+): ", text, re.M)}


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_sigusr1_moves_every_worker_to_the_new_log_files(make_server, tmp_path):
    elog, alog = str(tmp_path / "error.log"), str(tmp_path / "access.log")
    # debug: each closed connection logs a line with its worker's pid.
    srv = make_server("workers 2;\nerror_log %s;\naccess_log %s;\n" % (elog, alog),
                      args=["-e", "debug"])
    master = srv.proc.pid
    workers = set(two_workers(srv))

    def until_both_logged(path, tag):
        """Bursts of requests until both workers have lines in path."""
        for i in range(50):
            rs = burst(lambda j: get(srv, "/about.txt?%s-%d-%d" % (tag, i, j)))
            assert all(not isinstance(r, Exception) and r.status == 200 for r in rs), rs
            if wait_for(lambda: workers <= pids_in(path), timeout=0.5):
                return True
        return False

    assert until_both_logged(elog, "before"), pids_in(elog)
    os.rename(elog, elog + ".1")
    os.rename(alog, alog + ".1")
    srv.send_signal(signal.SIGUSR1)
    assert wait_for(lambda: os.path.exists(elog) and os.path.exists(alog), timeout=10), \
        "SIGUSR1 did not make new log files"
    assert until_both_logged(elog, "after"), "workers in the new error log: %s of %s" % (
        pids_in(elog), workers)

    # Both workers write to the new files now: so do all further requests.
    rs = burst(lambda j: get(srv, "/about.txt?final-%d" % j))
    assert all(not isinstance(r, Exception) and r.status == 200 for r in rs), rs
    assert wait_for(lambda: read_bytes(alog).count(b"?final-") == BURST, timeout=10), \
        read_bytes(alog)[-2000:]
    assert b"?final-" not in read_bytes(alog + ".1")
    assert b"?after-" in read_bytes(alog)
    assert b"?before-" in read_bytes(alog + ".1") and b"?before-" not in read_bytes(alog)
    assert workers <= pids_in(elog + ".1")
    assert set(children(master)) == workers, "a worker was replaced meanwhile"
