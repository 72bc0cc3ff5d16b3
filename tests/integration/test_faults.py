"""Faults from below: a full disk during an upload, running out of file
descriptors, the log file deleted under the server.

Each test makes the fault happen to a running server (prlimit(1) on its
processes, a small tmpfs mounted over the upload directory, unlink) and
checks what a client sees: a clear status (507, 503, 500 or 413), the previous
file intact, no temporary file left behind, the server still alive and
answering once the fault is gone.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import AUTH, BIN, Reader, fd_targets, get, request, wait_for
from test_abuse import open_fds, proc_tree

OLD = b"the old contents, which must survive\n"


def prlimit(pid, master=True, **limits):
    """Set resource limits (prlimit --fsize=N etc.) on the server's processes:
    a master and its workers, or (master=False) one process."""
    args = ["--%s=%d:%d" % (k, v, v) for k, v in limits.items()]
    # The listening socket answers before the master has forked its worker:
    # wait for the worker, or the limit misses the process that serves.
    if master:
        assert wait_for(lambda: len(proc_tree(pid)) >= 2, timeout=10)
    for p in proc_tree(pid):
        subprocess.run(["prlimit", "--pid", str(p)] + args, check=True, timeout=10,
                       capture_output=True)


def put(srv, name, body, timeout=20):
    s = srv.connect(timeout=timeout)
    try:
        s.sendall(request("PUT", "/upload/" + name, ["Authorization: " + AUTH], body))
    except OSError:
        pass  # refused before the whole body went: the answer is still readable
    r = Reader(s, timeout).response()
    s.close()
    return r


def leftovers(d, keep):
    return sorted(f for f in os.listdir(d) if f not in keep)


def check_upload_refused(srv, updir, statuses):
    r = put(srv, "f.txt", OLD)
    assert r is not None and r.status in (200, 201, 204), r
    big = os.urandom(256 * 1024) * 8  # 2 MiB
    r = put(srv, "f.txt", big)
    assert srv.proc.poll() is None, "the server died: %s" % srv.log()[-2000:]
    assert r is not None, "no answer to the PUT that could not be written"
    assert r.status in statuses, "PUT past the limit answered %d" % r.status
    with open(os.path.join(updir, "f.txt"), "rb") as f:
        assert f.read() == OLD, "the previous file was damaged"
    assert leftovers(updir, {"f.txt"}) == [], "temporary files left behind"
    # and the server goes on: a small upload and a GET still work
    r = put(srv, "g.txt", b"small\n")
    assert r.status in (200, 201, 204), r
    assert get(srv, "/index.html").status == 200
    return r.status


def test_put_past_rlimit_fsize_keeps_old_file(make_server):
    # RLIMIT_FSIZE: write(2) past it raises SIGXFSZ (default action: kill
    # with a core) and then fails with EFBIG. The server must ignore the
    # signal and answer the upload with an error.
    srv = make_server("body_max_bytes 8m;\n")
    prlimit(srv.proc.pid, fsize=1 << 20)
    check_upload_refused(srv, os.path.join(srv.root, "upload"), (413, 500, 507))


def can_mount_tmpfs():
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    d = tempfile.mkdtemp()
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d],
                            capture_output=True, timeout=10).returncode == 0
        if ok:
            subprocess.run(["umount", d], capture_output=True, timeout=10)
        return ok
    finally:
        os.rmdir(d)


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root and permission to mount tmpfs")
def test_put_on_full_disk_gives_507_and_keeps_old_file(make_server):
    srv = make_server("body_max_bytes 8m;\n")
    updir = os.path.join(srv.root, "upload")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", updir], check=True,
                   timeout=10)
    try:
        check_upload_refused(srv, updir, (507,))
    finally:
        subprocess.run(["umount", "-l", updir], timeout=10)


def test_emfile_then_recovery(make_server):
    # Few descriptors: a flood of idle connections exhausts them. The server
    # must neither crash nor spin on the ready listener; once header_timeout
    # cuts the flood, new clients are served again.
    srv = make_server("header_timeout 1s;\nlingering_timeout 200ms;\n")
    base = open_fds(srv.proc.pid)
    limit = base + 24
    prlimit(srv.proc.pid, nofile=limit)
    flood = srv.begun_heads(64)
    assert wait_for(lambda: "Too many open files" in srv.log(), timeout=10), \
        "accept never hit EMFILE: %s" % srv.log()[-1000:]

    def cpu_s():
        total = 0.0
        for p in proc_tree(srv.proc.pid):
            try:
                with open("/proc/%d/stat" % p) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
        return total

    c0, t0 = cpu_s(), time.monotonic()
    # a good client arrives while descriptors are exhausted: it is served
    # once the flood is cut (header_timeout), within a generous bound
    good = srv.connect(timeout=30)
    good.sendall(request("GET", "/index.html"))
    r = Reader(good, timeout=30).response()
    waited = time.monotonic() - t0
    used = cpu_s() - c0
    good.close()
    for s in flood:
        s.close()
    print("\nEMFILE: limit %d fds; a good client was answered after %.1fs; server CPU meanwhile "
          "%.2fs" % (limit, waited, used))
    assert srv.proc.poll() is None, srv.log()[-2000:]
    assert r is not None and r.status == 200, r
    assert waited < 15
    assert used < 0.8 * waited + 0.5, "the server spun at EMFILE: %.2fs CPU in %.2fs" % (
        used, waited)
    for _ in range(20):  # recovered: every request answered
        assert get(srv, "/index.html").status == 200


def test_out_of_descriptors_a_request_gets_503_with_retry_after(make_server):
    # Every descriptor but one held by clients in the middle of a head (none
    # lingers, so none can be shed): the next client is accepted with the
    # last one, and the file it asks for cannot be opened. It gets a clear,
    # temporary 503 with Retry-After, not a 500, and is served once
    # descriptors are free again.
    srv = make_server("header_timeout 30s;\n")
    # the master listens before it forks: the worker may not exist yet
    assert wait_for(lambda: [p for p in proc_tree(srv.proc.pid) if p != srv.proc.pid])
    worker = [p for p in proc_tree(srv.proc.pid) if p != srv.proc.pid][0]
    # The listener is the master's: the server answers connections before
    # its worker has all of its own descriptors. A GET is served once it has;
    # then the count is taken when the GET's connection is gone too (the
    # listener is the worker's only socket).
    assert get(srv, "/index.html").status == 200

    def sockets():
        # fd_targets skips a descriptor closed between the listing and its
        # readlink (the connection just going away).
        return sum(1 for t in fd_targets(worker) if t.startswith("socket:"))

    assert wait_for(lambda: sockets() == 1), "the GET's connection stayed open"
    fds = [int(n) for n in os.listdir("/proc/%d/fd" % worker)]
    limit = max(fds) + 1 + 8
    prlimit(worker, master=False, nofile=limit)
    free = limit - len(fds)
    held = srv.begun_heads(free - 1)
    assert wait_for(lambda: len(os.listdir("/proc/%d/fd" % worker)) == limit - 1, timeout=10), \
        "the server did not take the held connections"
    s = srv.connect()
    s.sendall(request("GET", "/about.txt"))
    r = Reader(s, timeout=10).response()
    assert r is not None and r.status == 503, r
    assert r.header("retry-after") == "1", r
    for h in held:
        h.close()
    assert wait_for(lambda: len(os.listdir("/proc/%d/fd" % worker)) < limit - 4, timeout=10)
    s.sendall(request("GET", "/about.txt"))
    r = Reader(s, timeout=10).response()
    assert r is not None and r.status == 200, r
    s.close()
    assert srv.proc.poll() is None


def supports(directives):
    """Whether the binary under test knows these directives (lingerd -t)."""
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "t.conf")
        with open(conf, "w") as f:
            f.write("root %s;\n%s\n" % (d, directives.replace("DIR", d)))
        return subprocess.run([BIN, "-t", "-c", conf], capture_output=True,
                              timeout=10).returncode == 0


@pytest.mark.skipif(not supports("error_log DIR/e.log;\naccess_log DIR/a.log;"),
                    reason="the server has no error_log/access_log directives")
def test_log_files_deleted_then_reopened_on_sigusr1(make_server, tmp_path):
    elog, alog = str(tmp_path / "error.log"), str(tmp_path / "access.log")
    srv = make_server("error_log %s;\naccess_log %s;\n" % (elog, alog), args=["-e", "info"])
    assert get(srv, "/index.html?before").status == 200
    assert wait_for(lambda: os.path.exists(alog) and b"before" in open(alog, "rb").read())
    os.unlink(alog)
    os.unlink(elog)
    assert get(srv, "/index.html?deleted").status == 200  # written to the unlinked file
    srv.send_signal(signal.SIGUSR1)
    assert wait_for(lambda: os.path.exists(alog) and os.path.exists(elog), timeout=10), \
        "SIGUSR1 did not recreate the logs"
    def logged_after():
        get(srv, "/index.html?after")
        with open(alog, "rb") as f:
            return b"after" in f.read()
    assert wait_for(logged_after, timeout=10, step=0.2), "the reopened access log stays empty"
    assert srv.proc.poll() is None
