"""Uploads and the worker's I/O threads: what a client sees when the fsync or
the rename that an I/O thread runs fails, when it takes long, when the
client goes away or the server stops meanwhile, and when the I/O queue is
full.

Faults come from fault_shim.c, a test-only LD_PRELOAD library built here
with cc: it fails fsync or rename with EIO for paths carrying a marker, or
holds an fsync until the test creates a release file (it says when a hold
starts, so nothing here sleeps to synchronise). Nothing test-only is in the
server. Every outcome is checked on the wire (status), on disk (the old
file intact, the new one whole, no ".lingerd-put-*" name left) and in
/server-status (ConnsWaitingIO: the connection's named state).
"""

import os
import re
import signal
import socket
import struct
import time

import pytest

import conftest
from conftest import AUTH, Reader, get, request, wait_for
from test_upload import open_uploads, read, temp_files, up, upload_kind, write  # noqa: F401

OLD = b"the old contents, which must survive\n"
# Bodies of a few MiB, with writeback steps small enough that they run.
CONF = "body_max_bytes 8m;\nupload_writeback_bytes 1m;\n"


@pytest.fixture(scope="session")
def shim(tmp_path_factory):
    """The fault library, compiled once per session."""
    return conftest.build_preload(tmp_path_factory, "fault_shim.c")


@pytest.fixture
def faults(shim, monkeypatch, tmp_path):
    """Preload the shim into the server; returns a function setting its
    variables, and the directory of its hold files."""
    conftest.preload_into_servers(monkeypatch, shim)
    hold_dir = tmp_path / "hold"
    hold_dir.mkdir()
    monkeypatch.setenv("LINGERD_FAULT_HOLD_DIR", str(hold_dir))

    def set_fault(**env):
        for k, v in env.items():
            monkeypatch.setenv("LINGERD_FAULT_" + k.upper(), v)
    set_fault.hold_dir = str(hold_dir)
    return set_fault


def held(faults, n=1):
    return os.path.exists(os.path.join(faults.hold_dir, "started-%d" % n))


def release(faults):
    open(os.path.join(faults.hold_dir, "release"), "w").close()


def start_put(srv, path, body):
    """A connection that has sent a whole PUT; the answer is still to read."""
    s = srv.connect(timeout=30)
    s.sendall(request("PUT", path, ["Authorization: " + AUTH], body))
    return s


def put(srv, path, body):
    s = start_put(srv, path, body)
    r = Reader(s, 30).response()
    s.close()
    assert r is not None, "no answer to PUT %s" % path
    return r


def conns_in(srv, field):
    """A count from /server-status?auto (ConnsWaitingIO, ConnsReadingBody)."""
    r = get(srv, "/server-status?auto")
    assert r.status == 200, r
    for line in r.body.decode().splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":")[1])
    raise AssertionError("no %s in /server-status?auto" % field)


def waiting_io(srv):
    return conns_in(srv, "ConnsWaitingIO")


def no_leftovers(srv):
    return not temp_files(srv) and not open_uploads(srv)


def slow_server(make_server, faults):
    """A server whose fsyncs and fdatasyncs under /upload/slow/ are held
    until release; slow/f.bin holds OLD."""
    faults(fsync_hold="slow")
    srv = make_server(CONF)
    os.mkdir(up(srv, "slow"))
    write(up(srv, "slow", "f.bin"), OLD)
    return srv


# ---------------------------------------------------------------------------
# failures reported by an I/O thread


@pytest.mark.parametrize("size", [0, 100, 3 * 1024 * 1024])
def test_failed_fsync_is_500_and_keeps_the_old_file(make_server, faults, upload_kind, size):
    faults(fsync_eio="fail-fsync")
    srv = make_server(CONF)
    write(up(srv, "fail-fsync", "f.txt"), OLD)
    r = put(srv, "/upload/fail-fsync/f.txt", os.urandom(size))
    assert r.status == 500, r
    assert read(up(srv, "fail-fsync", "f.txt")) == OLD
    assert wait_for(lambda: no_leftovers(srv)), (temp_files(srv), open_uploads(srv))
    # The worker goes on: an unmarked upload lands.
    assert put(srv, "/upload/g.txt", b"fine\n").status == 201
    # A body of a few steps meets the failure first in a flush (fdatasync).
    assert wait_for(lambda: re.search(r"(fsync|fdatasync): Input/output error; 500 sent",
                                      srv.log()))


def test_failed_flush_while_receiving_is_500(make_server, faults, upload_kind):
    # Only the fdatasync of the flushes while the body arrives fails; the
    # final fsync works and would not report the error again (the kernel
    # reports a writeback error once per descriptor): the commit must.
    faults(fdatasync_eio="fail-flush")
    srv = make_server(CONF)
    write(up(srv, "fail-flush", "f.bin"), OLD)
    r = put(srv, "/upload/fail-flush/f.bin", os.urandom(4 * 1024 * 1024))
    assert r.status == 500, r
    assert read(up(srv, "fail-flush", "f.bin")) == OLD
    assert wait_for(lambda: no_leftovers(srv)), (temp_files(srv), open_uploads(srv))
    assert wait_for(lambda: "fdatasync: Input/output error; 500 sent" in srv.log())
    body = os.urandom(4 * 1024 * 1024)
    assert put(srv, "/upload/g.bin", body).status == 201
    assert read(up(srv, "g.bin")) == body


def test_failed_rename_is_500_and_keeps_the_old_file(make_server, faults, upload_kind):
    faults(rename_eio="fail-rename")
    srv = make_server(CONF)
    write(up(srv, "fail-rename.txt"), OLD)
    r = put(srv, "/upload/fail-rename.txt", os.urandom(64 * 1024))
    assert r.status == 500, r
    assert read(up(srv, "fail-rename.txt")) == OLD
    assert wait_for(lambda: no_leftovers(srv)), (temp_files(srv), open_uploads(srv))
    assert wait_for(lambda: "rename: Input/output error; 500 sent" in srv.log())


def test_upload_fsync_off_stores_without_any_fsync(make_server, faults):
    # Every fsync in this location would fail: with upload_fsync off none is
    # made, and the upload lands.
    faults(fsync_eio="scratch")
    srv = make_server(CONF + "location /upload/scratch/ { methods GET PUT; upload_fsync off; }\n")
    os.mkdir(up(srv, "scratch"))
    body = os.urandom(3 * 1024 * 1024)
    r = put(srv, "/upload/scratch/f.bin", body)
    assert r.status == 201, r
    assert read(up(srv, "scratch", "f.bin")) == body


# ---------------------------------------------------------------------------
# a long fsync: the connection waits in WAIT_IO, the loop does not


def test_the_loop_serves_others_while_an_fsync_is_held(make_server, faults):
    faults(fsync_hold="slow")
    srv = make_server(CONF)
    os.mkdir(up(srv, "slow"))
    s = start_put(srv, "/upload/slow/f.bin", b"x" * 1000)
    try:
        assert wait_for(lambda: held(faults)), "the fsync never started"
        # One worker, its fsync held: it still answers, and says where the
        # upload is.
        assert get(srv, "/index.html").status == 200
        assert waiting_io(srv) == 1
        release(faults)
        r = Reader(s, 30).response()
        assert r.status == 201, r
        assert read(up(srv, "slow", "f.bin")) == b"x" * 1000
        assert waiting_io(srv) == 0
    finally:
        release(faults)
        s.close()


def test_client_reset_while_its_fsync_runs(make_server, faults, upload_kind):
    srv = slow_server(make_server, faults)
    body = os.urandom(200 * 1024)
    s = start_put(srv, "/upload/slow/f.bin", body)
    try:
        assert wait_for(lambda: held(faults)), "the fsync never started"
        assert waiting_io(srv) == 1
        # RST: the connection is closed at once, while its job still runs.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        assert wait_for(lambda: waiting_io(srv) == 0), "the reset connection still waits"
        release(faults)
        # The job is never dropped halfway: the upload lands whole (nobody
        # was told), and nothing is left behind.
        assert wait_for(lambda: read(up(srv, "slow", "f.bin")) == body)
        assert wait_for(lambda: no_leftovers(srv)), (temp_files(srv), open_uploads(srv))
        assert get(srv, "/index.html").status == 200
    finally:
        release(faults)


def test_the_commit_waits_for_the_flush_in_flight(make_server, faults):
    # A flush (fdatasync) of the body is held; the body completes meanwhile.
    # The commit closes the file the flush uses: it must wait, the old file
    # stays until then, and the upload lands whole after.
    srv = slow_server(make_server, faults)
    body = os.urandom(6 * 1024 * 1024)
    s = start_put(srv, "/upload/slow/f.bin", body)
    try:
        assert wait_for(lambda: held(faults)), "no flush started"
        assert wait_for(lambda: waiting_io(srv) == 1)
        assert read(up(srv, "slow", "f.bin")) == OLD
        assert not held(faults, 2), "an fsync beside the held flush"
        release(faults)
        r = Reader(s, 30).response()
        assert r.status == 204, r
        assert read(up(srv, "slow", "f.bin")) == body
        assert wait_for(lambda: no_leftovers(srv)), (temp_files(srv), open_uploads(srv))
    finally:
        release(faults)
        s.close()


def test_client_reset_while_a_flush_runs(make_server, faults, upload_kind):
    # A flush of the body's first MiBs is held; the client, which sent only
    # part of its body, resets. The upload is dropped once the flush is
    # done (not before: the flush uses the file), nothing is left, the old
    # file stays, and the worker goes on.
    srv = slow_server(make_server, faults)
    whole = request("PUT", "/upload/slow/f.bin", ["Authorization: " + AUTH],
                    os.urandom(6 * 1024 * 1024))
    s = srv.connect(timeout=30)
    s.sendall(whole[:len(whole) - 3 * 1024 * 1024])
    try:
        assert wait_for(lambda: held(faults)), "no flush started"
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        # The file stays open until the flush is done: let it go.
        release(faults)
        assert wait_for(lambda: no_leftovers(srv)), (temp_files(srv), open_uploads(srv))
        assert read(up(srv, "slow", "f.bin")) == OLD
        body = os.urandom(3 * 1024 * 1024)
        assert put(srv, "/upload/slow/g.bin", body).status == 201
        assert read(up(srv, "slow", "g.bin")) == body
    finally:
        release(faults)


def test_io_wait_timeout_closes_without_an_answer_and_the_job_still_ends(make_server, faults):
    faults(fsync_hold="slow")
    srv = make_server(CONF + "io_wait_timeout 300ms;\n")
    os.mkdir(up(srv, "slow"))
    s = start_put(srv, "/upload/slow/f.bin", b"y" * 5000)
    try:
        assert wait_for(lambda: held(faults)), "the fsync never started"
        rd = Reader(s, 30)
        assert rd.read_until_close() == b"", "an answer while the outcome was unknown"
        # The log is written after the loop iteration that closed: poll.
        assert wait_for(lambda: "still running after io_wait_timeout=300ms" in srv.log())
        release(faults)
        assert wait_for(lambda: os.path.exists(up(srv, "slow", "f.bin")))
        assert read(up(srv, "slow", "f.bin")) == b"y" * 5000
        assert wait_for(lambda: no_leftovers(srv))
    finally:
        release(faults)
        s.close()


def test_graceful_stop_waits_for_the_fsync_in_flight(make_server, faults):
    faults(fsync_hold="slow")
    srv = make_server(CONF)
    os.mkdir(up(srv, "slow"))
    body = os.urandom(100 * 1024)
    s = start_put(srv, "/upload/slow/f.bin", body)
    try:
        assert wait_for(lambda: held(faults)), "the fsync never started"
        srv.send_signal(signal.SIGQUIT)
        # The drain has begun (no new connections are taken by the worker);
        # the upload waits for its fsync, and the worker for the upload.
        assert srv.proc.poll() is None
        release(faults)
        r = Reader(s, 30).response()
        assert r.status == 201, r
        assert r.header("Connection") == "close"
        assert read(up(srv, "slow", "f.bin")) == body
        assert srv.stop(timeout=30) == 0
        assert not temp_files(srv)
    finally:
        release(faults)
        s.close()


def test_delete_waits_for_its_directory_fsync_on_a_thread(make_server, faults):
    faults(fsync_hold="slow")
    srv = make_server(CONF)
    write(up(srv, "slow", "f.txt"), OLD)
    s = srv.connect(timeout=30)
    try:
        s.sendall(request("DELETE", "/upload/slow/f.txt", ["Authorization: " + AUTH]))
        assert wait_for(lambda: held(faults)), "the directory fsync never started"
        assert get(srv, "/index.html").status == 200
        assert waiting_io(srv) == 1
        release(faults)
        r = Reader(s, 30).response()
        assert r.status == 204, r
        assert not os.path.exists(up(srv, "slow", "f.txt"))
        # The connection goes on: the next request on it is answered.
        s.sendall(request("GET", "/index.html"))
        assert Reader(s, 30).response().status == 200
    finally:
        release(faults)
        s.close()


def test_delete_with_a_failed_directory_fsync_is_500(make_server, faults):
    faults(fsync_eio="fail-fsync")
    srv = make_server(CONF)
    write(up(srv, "fail-fsync", "f.txt"), OLD)
    s = srv.connect(timeout=30)
    s.sendall(request("DELETE", "/upload/fail-fsync/f.txt", ["Authorization: " + AUTH]))
    r = Reader(s, 30).response()
    s.close()
    # The name is gone but the removal may not survive a crash: 500 says
    # the client cannot count on it (a DELETE may be repeated).
    assert r.status == 500, r
    assert wait_for(lambda: "fsync of the directory: Input/output error" in srv.log())


# ---------------------------------------------------------------------------
# the start: create_dirs and the body's file, on a thread


def put_into_a_new_directory(make_server, faults, new_dir, body):
    """create_dirs makes slow/<new_dir> for a PUT, and the fsync of slow is
    held: the server and the connection, once the hold started."""
    faults(fsync_hold="slow")
    srv = make_server(CONF + "create_dirs on;\n")
    os.mkdir(up(srv, "slow"))
    s = start_put(srv, "/upload/slow/%s/f.bin" % new_dir, body)
    if not wait_for(lambda: held(faults)):
        release(faults)
        s.close()
        raise AssertionError("the directory fsync never started")
    return srv, s


def test_create_dirs_fsync_runs_on_a_thread(make_server, faults, upload_kind):
    # The loop answers others while the directory's fsync is held; the PUT
    # waits in WAIT_IO, then lands whole. (Made on the loop, the held fsync
    # would hold the GET too.)
    srv, s = put_into_a_new_directory(make_server, faults, "new", b"n" * 5000)
    try:
        assert get(srv, "/index.html").status == 200
        assert waiting_io(srv) == 1
        assert not os.path.exists(up(srv, "slow", "new", "f.bin"))
        release(faults)
        r = Reader(s, 30).response()
        assert r is not None and r.status == 201, r
        assert read(up(srv, "slow", "new", "f.bin")) == b"n" * 5000
        assert wait_for(lambda: no_leftovers(srv)), (temp_files(srv), open_uploads(srv))
    finally:
        release(faults)
        s.close()


def test_client_reset_while_its_directory_is_made(make_server, faults, upload_kind):
    srv, s = put_into_a_new_directory(make_server, faults, "gone", b"g" * 5000)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        assert wait_for(lambda: waiting_io(srv) == 0), "the reset connection still waits"
        release(faults)
        # The job ends; its file (created after the directory) is dropped.
        assert wait_for(lambda: no_leftovers(srv)), (temp_files(srv), open_uploads(srv))
        assert not os.path.exists(up(srv, "slow", "gone", "f.bin"))
        assert put(srv, "/upload/slow/gone/g.bin", b"ok\n").status == 201
    finally:
        release(faults)


def test_failed_directory_fsync_of_create_dirs_is_500(make_server, faults):
    faults(fsync_eio="fail-dir")
    srv = make_server(CONF + "create_dirs on;\n")
    os.mkdir(up(srv, "fail-dir"))
    r = put(srv, "/upload/fail-dir/new/f.bin", b"x" * 100)
    assert r.status == 500, r
    assert not os.path.exists(up(srv, "fail-dir", "new", "f.bin"))
    assert wait_for(lambda: no_leftovers(srv))
    assert wait_for(lambda: "making the directory: Input/output error; 500 sent" in srv.log())


# ---------------------------------------------------------------------------
# a full I/O queue


@pytest.mark.parametrize("when_full", ["wait", "refuse"])
def test_a_full_io_queue_holds_or_refuses_the_next_commit(make_server, faults, when_full):
    # One thread and no queue: the held fsync fills the pool.
    faults(fsync_hold="slow")
    srv = make_server(CONF + "io_threads 1;\nio_queue_max 0;\nio_queue_full %s;\n" % when_full)
    os.mkdir(up(srv, "slow"))
    first = start_put(srv, "/upload/slow/a.bin", b"a" * 1000)
    second = None
    try:
        assert wait_for(lambda: held(faults)), "the fsync never started"
        second = start_put(srv, "/upload/b.bin", b"b" * 1000)
        if when_full == "refuse":
            r = Reader(second, 30).response()
            assert r.status == 503, r
            assert r.header("Retry-After") == "1"
            assert not os.path.exists(up(srv, "b.bin"))
        else:
            # Waiting for room, not answered, not lost: both wait in WAIT_IO,
            # the second before its file exists, so its body is not read yet.
            assert wait_for(lambda: waiting_io(srv) == 2)
            assert conns_in(srv, "ConnsReadingBody") == 0
            assert not os.path.exists(up(srv, "b.bin"))
        release(faults)
        r1 = Reader(first, 30).response()
        assert r1 is not None and r1.status == 201, (r1, srv.log()[-3000:])
        if when_full == "wait":
            assert Reader(second, 30).response().status == 201
            assert read(up(srv, "b.bin")) == b"b" * 1000
        assert read(up(srv, "slow", "a.bin")) == b"a" * 1000
        assert wait_for(lambda: no_leftovers(srv))
    finally:
        release(faults)
        first.close()
        if second:
            second.close()


# ---------------------------------------------------------------------------
# body_min_rate across a wait for the disk


def test_body_min_rate_clock_runs_on_across_a_wait_for_the_disk(make_server, faults):
    # A client that sends slower than body_min_rate, then has its body
    # paused by the server (the only I/O thread is held, so its buffer
    # cannot be handed over), must not get a fresh clock when the body
    # resumes: the rate counts from the body's start, less the server's
    # own wait. Timeline (s): 100 KiB at 0; 200 KiB at 3.5, which pauses
    # the body; resumed at about 5; then 1 KiB every 0.25 s. The clock
    # allows body_timeout (4) + the pause (1.5) + 0.3 KiB-seconds: 408 at
    # about 5.8, during the trickle. Restarted at the resume it would allow
    # until about 9.3, after the trickle's end at 7.5, and store the body.
    faults(fsync_hold="slow")
    srv = make_server(CONF + "io_threads 1;\nio_queue_max 0;\nupload_buffer_bytes 512k;\n"
                      "body_timeout 4s;\nbody_min_rate 1m;\n")
    os.mkdir(up(srv, "slow"))
    kib = 1024
    trickle = 10
    total = 300 * kib + trickle * kib
    s = srv.connect(timeout=30)
    holder = None
    try:
        t0 = time.monotonic()
        s.sendall(request("PUT", "/upload/b.bin",
                          ["Authorization: " + AUTH, "Content-Length: %d" % total]))
        s.sendall(b"b" * (100 * kib))  # under half the buffer: nothing handed over yet
        # Its file is created (the body is being read): now hold the thread.
        assert wait_for(lambda: conns_in(srv, "ConnsReadingBody") == 1)
        holder = start_put(srv, "/upload/slow/a.bin", b"a" * 1000)
        assert wait_for(lambda: held(faults)), "the fsync never started"
        time.sleep(max(0.0, t0 + 3.5 - time.monotonic()))  # 100 KiB in 3.5 s: too slow
        s.sendall(b"b" * (200 * kib))  # half the buffer: a write, but no thread
        assert wait_for(lambda: waiting_io(srv) == 2), "the body did not wait for the disk"
        time.sleep(1.5)
        release(faults)
        r1 = Reader(holder, 30).response()
        assert r1 is not None and r1.status == 201, r1
        for _ in range(trickle):
            time.sleep(0.25)
            try:
                s.sendall(b"b" * kib)
            except OSError:
                break  # answered and closed meanwhile
        r = Reader(s, 30).response()
        assert r is not None and r.status == 408, (r, srv.log()[-2000:])
        assert not os.path.exists(up(srv, "b.bin"))
        assert wait_for(lambda: no_leftovers(srv))
    finally:
        release(faults)
        if holder:
            holder.close()
        s.close()
