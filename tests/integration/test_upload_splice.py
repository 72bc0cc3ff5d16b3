"""Uploads whose body goes from the socket to the file in the kernel
(upload_splice: a pipe and splice(2), the worker never copies the bytes).

The splice is taken only for a plain-TCP Content-Length body of 1 MiB or
more; the upload's log line (-e debug) says "body spliced" or "body read",
so each test can tell which path it ran. Every case compares the stored
bytes with what was sent: bytes buffered with the head before the first
splice, a pipe that fills before its nominal size, a pipelined request
right behind the body, a client that leaves midway, a file size limit met
by the I/O thread's splice, and the same bodies with upload_splice off and
over TLS (read into the buffers).
"""

import hashlib
import os
import re
import ssl

import pytest

from conftest import AUTH, Reader, get, request, wait_for
from test_upload_io import faults, shim  # noqa: F401 (fixtures)
from test_upload import (MIB, file_sha256, open_uploads, put_seeded, read, seeded_chunks,
                         start_put, temp_files, up)
from tlscerts import TestCA

BIG = "body_max_bytes 64m;\nupload_writeback_bytes 1m;\n"


def body_path(srv):
    """'spliced' or 'read' for each stored upload, in order."""
    return re.findall(r"bytes in \d+ ms;.*; body (spliced|read)", srv.log())


def pipes_full_early(srv):
    """(pipes handed over full before half their size, the fewest bytes one
    of them held) for each stored upload, in order."""
    return [(int(n), int(least)) for n, least in re.findall(
        r"; body \w+ \((\d+) pipes full early, the smallest at (\d+) bytes\)", srv.log())]


@pytest.mark.parametrize("splice", ["on", "off"])
def test_large_put_is_spliced_when_on_and_stored_whole(make_server, splice):
    srv = make_server(BIG + "upload_splice %s;" % splice, args=("-e", "debug"))
    size = 9 * MIB + 4321  # not a multiple of a page or of a pipe
    r, sent = put_seeded(srv, "/upload/big.bin", size, 99)
    assert r.status == 201, r
    assert os.path.getsize(up(srv, "big.bin")) == size
    assert file_sha256(up(srv, "big.bin")) == sent
    assert wait_for(lambda: body_path(srv)), srv.log()[-2000:]
    assert body_path(srv) == ["spliced" if splice == "on" else "read"]
    assert temp_files(srv) == []


def test_small_put_is_read_not_spliced(make_server):
    srv = make_server(BIG, args=("-e", "debug"))
    body = os.urandom(300 * 1024)
    s = srv.connect(timeout=30)
    s.sendall(request("PUT", "/upload/small.bin", ["Authorization: " + AUTH], body))
    r = Reader(s, 30).response()
    s.close()
    assert r.status == 201, r
    assert read(up(srv, "small.bin")) == body
    assert wait_for(lambda: body_path(srv)) and body_path(srv) == ["read"]


@pytest.mark.parametrize("with_head", [1, 70000, MIB + 17])
def test_bytes_sent_with_the_head_come_before_the_spliced_rest(make_server, with_head):
    # The head and the body's first bytes in one send: the server reads
    # them with the head, into its buffer; the rest is spliced, and must
    # land after them.
    srv = make_server(BIG, args=("-e", "debug"))
    body = b"".join(seeded_chunks(5, 4 * MIB + 99))
    s = srv.connect(timeout=30)
    s.sendall(request("PUT", "/upload/mixed.bin", ["Authorization: " + AUTH,
                                                     "Content-Length: %d" % len(body)])
              + body[:with_head])
    s.sendall(body[with_head:])
    r = Reader(s, 30).response()
    s.close()
    assert r.status == 201, r
    assert hashlib.sha256(read(up(srv, "mixed.bin"))).digest() == \
        hashlib.sha256(body).digest()
    assert wait_for(lambda: body_path(srv))
    assert body_path(srv) == ["spliced"]


def put_in_pieces(srv, name, body, step, pace=0.0):
    """PUT body in sends of step bytes (TCP_NODELAY), pace seconds apart;
    checks the 201 and the stored bytes; the spliced pipes' (full early,
    fewest bytes) from the log."""
    import socket as socketmod
    import time
    s = start_put(srv, "/upload/" + name, len(body))
    s.setsockopt(socketmod.IPPROTO_TCP, socketmod.TCP_NODELAY, 1)
    for i in range(0, len(body), step):
        s.sendall(body[i:i + step])
        if pace:
            time.sleep(pace)  # pacing only: the pieces reach the server apart
    r = Reader(s, 60).response()
    s.close()
    assert r.status == 201, r
    assert read(up(srv, name)) == body
    assert wait_for(lambda: body_path(srv)) and body_path(srv) == ["spliced"]
    [counts] = pipes_full_early(srv)
    return counts


def test_small_socket_pieces_fill_the_pipe_early_and_nothing_is_lost(make_server):
    # Small sends with TCP_NODELAY, paced so that each arrives on its own and
    # is spliced on its own: each takes one of the pipe's 256 page slots, so
    # the pipe is full (with 128 KiB) long before half its 1 MiB, and is
    # handed over early (the socket still has bytes). A pipe is handed over
    # so only when full: never with a piece or two in it (a piece that
    # arrived just after a splice found the socket empty is no full pipe).
    srv = make_server(BIG, args=("-e", "debug"))
    body = b"".join(seeded_chunks(11, MIB + 512 * 1024))
    early, least = put_in_pieces(srv, "pieces.bin", body, 500, pace=0.0002)
    assert early >= 1, srv.log()[-2000:]
    assert least >= 64 * 1024, srv.log()[-2000:]


def test_bytes_that_come_just_after_a_splice_found_none_do_not_hand_the_pipe_over(
        make_server, faults):
    # A stream of small pieces, sent as fast as they go: a splice often finds
    # the socket empty and the next piece arrives an instant later. That is
    # no full pipe: handing it over there would make a write job of a piece
    # or two (and pause the body behind it) again and again. The shim puts
    # the loop off a little before it asks the socket (SIOCINQ), as a busy
    # machine does now and then, so that the next piece is there by then.
    faults(siocinq_delay_us="300")
    srv = make_server(BIG, args=("-e", "debug"))
    body = b"".join(seeded_chunks(12, 3 * MIB))
    early, least = put_in_pieces(srv, "stream.bin", body, 1000)
    assert early == 0 or least >= 64 * 1024, srv.log()[-2000:]


def test_a_pipelined_request_behind_a_spliced_body_is_answered(make_server):
    # The splice takes exactly the body: the GET right behind it in the
    # same stream is read as the next request, not written into the file.
    srv = make_server(BIG, args=("-e", "debug"))
    body = b"".join(seeded_chunks(3, 2 * MIB + 1))
    s = srv.connect(timeout=30)
    s.sendall(request("PUT", "/upload/p.bin", ["Authorization: " + AUTH], body) +
              request("GET", "/upload/p.bin", ["Authorization: " + AUTH]))
    rd = Reader(s, 30)
    first = rd.response()
    second = rd.response()
    s.close()
    assert first.status == 201, first
    assert second.status == 200, second
    assert second.body == body
    assert read(up(srv, "p.bin")) == body
    assert wait_for(lambda: body_path(srv)) and body_path(srv) == ["spliced"]


def test_a_client_that_leaves_mid_body_leaves_no_file(make_server):
    srv = make_server(BIG, args=("-e", "debug"))
    pipes_before = len(pipes_held(srv))
    write_old = up(srv, "gone.bin")
    with open(write_old, "wb") as f:
        f.write(b"old\n")
    s = start_put(srv, "/upload/gone.bin", 8 * MIB)
    for chunk in seeded_chunks(1, 3 * MIB):
        s.sendall(chunk)
    s.close()
    assert wait_for(lambda: "abandoned after" in srv.log()), srv.log()[-2000:]
    assert wait_for(lambda: not temp_files(srv) and not open_uploads(srv))
    assert read(write_old) == b"old\n"
    assert wait_for(lambda: len(pipes_held(srv)) == pipes_before), pipes_held(srv)
    # The worker goes on with a spliced upload of its own.
    r, sent = put_seeded(srv, "/upload/next.bin", 2 * MIB, 8)
    assert r.status == 201
    assert file_sha256(up(srv, "next.bin")) == sent


@pytest.mark.skipif(os.geteuid() != 0, reason="prlimit on the server needs root")
def test_file_size_limit_met_by_a_splice_is_413_or_500_and_keeps_nothing(make_server):
    # RLIMIT_FSIZE of 1 MiB: the I/O thread's splice into the file fails
    # (EFBIG); the client gets an error status, nothing is left behind.
    from test_faults import prlimit
    srv = make_server(BIG, args=("-e", "debug"))
    prlimit(srv.proc.pid, fsize=MIB)
    r, _ = put_seeded(srv, "/upload/fsize.bin", 4 * MIB, 2)
    assert r.status in (413, 500, 507), r
    assert wait_for(lambda: re.search(r"write after \d+ bytes \(spliced\): File too large",
                                      srv.log())), srv.log()[-2000:]
    assert not os.path.exists(up(srv, "fsize.bin"))
    assert wait_for(lambda: not temp_files(srv) and not open_uploads(srv))
    assert get(srv, "/index.html").status == 200


def test_over_tls_the_body_is_read_and_stored_whole(make_server, tmp_path):
    ca = TestCA(str(tmp_path / "ca"))
    leaf = ca.leaf("localhost")
    srv = make_server(BIG + "tls_certificate %s %s;" % (leaf.cert, leaf.key), tls=True,
                      args=("-e", "debug"))
    ctx = ssl.create_default_context(cafile=ca.cert)
    s = ctx.wrap_socket(srv.connect(timeout=30), server_hostname="localhost")
    body = b"".join(seeded_chunks(4, 3 * MIB))
    s.sendall(request("PUT", "/upload/tls.bin", ["Authorization: " + AUTH], body))
    r = Reader(s, 30).response()
    s.close()
    assert r.status == 201, r
    assert read(up(srv, "tls.bin")) == body
    assert wait_for(lambda: body_path(srv)) and body_path(srv) == ["read"]


# The fault shim's mark for the files being uploaded (unnamed ones show as
# "<root>/upload/#<inode> (deleted)"): only this test's server has the shim.
UPLOADS = "/www/upload/"


def pipes_held(srv):
    """The pipes the server's processes hold open."""
    from test_abuse import proc_tree
    from conftest import fd_targets
    return [t for p in proc_tree(srv.proc.pid) for t in fd_targets(p) if t.startswith("pipe:")]


def test_a_file_system_that_refuses_splice_gets_the_bytes_read_and_written(make_server, faults):
    # splice into the file fails with EINVAL (as on a file system without
    # splice_write): the I/O thread reads the pipe and writes what it read.
    faults(splice_einval=UPLOADS)
    srv = make_server(BIG, args=("-e", "debug"))
    size = 5 * MIB + 77
    r, sent = put_seeded(srv, "/upload/noslice.bin", size, 21)
    assert r.status == 201, r
    assert file_sha256(up(srv, "noslice.bin")) == sent
    assert wait_for(lambda: body_path(srv)) and body_path(srv) == ["spliced"]


def test_a_connection_that_times_out_while_a_pipe_is_written_frees_everything(
        make_server, faults):
    # The write of a pipe hangs in the disk; the body stops reading (both
    # pipes full enough) and the connection waits for it until
    # io_wait_timeout ends it. The job still runs to its end; its done must
    # find no connection, drop the file and close both pipes.
    faults(splice_hold=UPLOADS)
    srv = make_server(BIG + "io_wait_timeout 1s;", args=("-e", "debug"))
    before = len(pipes_held(srv))
    s = start_put(srv, "/upload/held.bin", 8 * MIB)
    for chunk in seeded_chunks(6, 3 * MIB, step=256 * 1024):
        try:
            s.sendall(chunk)
        except OSError:
            break
    assert wait_for(lambda: "io_wait_timeout" in srv.log(), timeout=20), srv.log()[-2000:]
    from test_upload_io import held, release
    assert held(faults)
    release(faults)
    s.close()
    assert wait_for(lambda: "abandoned after" in srv.log()), srv.log()[-2000:]
    assert wait_for(lambda: not temp_files(srv) and not open_uploads(srv))
    assert wait_for(lambda: len(pipes_held(srv)) == before), pipes_held(srv)
    r, sent = put_seeded(srv, "/upload/after.bin", 2 * MIB, 9)
    assert r.status == 201, r
    assert file_sha256(up(srv, "after.bin")) == sent
    assert wait_for(lambda: len(pipes_held(srv)) == before), pipes_held(srv)


def test_a_pipe_full_early_while_the_other_is_written_resumes_when_it_is_done(
        make_server, faults):
    # The first pipe's write hangs; small paced pieces fill the second by its
    # page slots: the body pauses (nothing to hand it to), and must read on
    # once the write is done, with nothing lost.
    import socket as socketmod
    import time
    from test_upload_io import held, release
    faults(splice_hold=UPLOADS)
    srv = make_server(BIG, args=("-e", "debug"))
    size = 2 * MIB
    body = b"".join(seeded_chunks(14, size))
    s = start_put(srv, "/upload/resume.bin", size)
    s.sendall(body[:600 * 1024])  # the first pipe, handed over and held
    assert wait_for(lambda: held(faults), timeout=20)
    s.setsockopt(socketmod.IPPROTO_TCP, socketmod.TCP_NODELAY, 1)
    i = 600 * 1024
    for _ in range(1000):  # 500 KiB in 500-byte pieces: far past 256 page slots
        s.sendall(body[i:i + 500])
        i += 500
        time.sleep(0.0002)  # pacing only: the pieces reach the server apart
    release(faults)
    s.sendall(body[i:])
    r = Reader(s, 60).response()
    s.close()
    assert r.status == 201, r
    assert read(up(srv, "resume.bin")) == body
    assert wait_for(lambda: body_path(srv)) and body_path(srv) == ["spliced"]
    [(early, least)] = pipes_full_early(srv)
    assert early >= 1 and least >= 64 * 1024, srv.log()[-2000:]


def test_a_reset_while_a_pipe_is_written_drops_the_file_and_closes_the_pipes(
        make_server, faults):
    # The client resets mid-body while the I/O thread still splices the
    # first pipe into the file (held): the job runs to its end, then the
    # file is dropped and both pipes closed.
    import socket as socketmod
    import struct
    from test_upload_io import held, release
    faults(splice_hold=UPLOADS)
    srv = make_server(BIG, args=("-e", "debug"))
    before = len(pipes_held(srv))
    s = start_put(srv, "/upload/reset.bin", 4 * MIB)
    s.sendall(b"".join(seeded_chunks(7, 700 * 1024)))
    assert wait_for(lambda: held(faults), timeout=20)
    assert len(pipes_held(srv)) == before + 4  # both ends of two pipes
    s.setsockopt(socketmod.SOL_SOCKET, socketmod.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    assert wait_for(lambda: "abandoned after" in srv.log()), srv.log()[-2000:]
    assert len(open_uploads(srv)) == 1  # the job still writes it
    release(faults)
    assert wait_for(lambda: not temp_files(srv) and not open_uploads(srv))
    assert wait_for(lambda: len(pipes_held(srv)) == before), pipes_held(srv)
    assert get(srv, "/index.html").status == 200


def test_spliced_uploads_with_one_io_thread_and_no_queue_all_complete(make_server):
    # One job at a time in the worker's pool: an upload's write, its flush
    # and the other upload's jobs keep finding it full, so the bodies pause
    # waiting for room (and are handed over when it comes) again and again.
    import threading
    srv = make_server(BIG + "io_threads 1;\nio_queue_max 0;\n", args=("-e", "debug"))
    results = {}

    def one(i):
        results[i] = put_seeded(srv, "/upload/q%d.bin" % i, 6 * MIB + i, 40 + i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for i in range(3):
        r, sent = results[i]
        assert r.status == 201, r
        assert file_sha256(up(srv, "q%d.bin" % i)) == sent
    assert wait_for(lambda: len(body_path(srv)) == 3) and set(body_path(srv)) == {"spliced"}
    assert wait_for(lambda: not open_uploads(srv))


def test_a_full_disk_met_by_a_splice_is_507_and_keeps_the_old_file(make_server):
    # A 1 MiB tmpfs over the upload directory: the I/O thread's splice into
    # the file fails with ENOSPC; the old file stays, nothing is left behind
    # and the pipes are closed.
    import subprocess
    from test_faults import can_mount_tmpfs
    if not can_mount_tmpfs():
        pytest.skip("needs root and permission to mount tmpfs")
    srv = make_server(BIG, args=("-e", "debug"))
    pipes_before = len(pipes_held(srv))
    updir = up(srv)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", updir], check=True,
                   timeout=10)
    try:
        with open(up(srv, "full.bin"), "wb") as f:
            f.write(b"old\n")
        r, _ = put_seeded(srv, "/upload/full.bin", 3 * MIB, 17)
        assert r.status == 507, r
        assert wait_for(lambda: re.search(r"write after \d+ bytes \(spliced\): No space left",
                                          srv.log())), srv.log()[-2000:]
        assert read(up(srv, "full.bin")) == b"old\n"
        assert wait_for(lambda: os.listdir(updir) == ["full.bin"] and not open_uploads(srv))
        assert wait_for(lambda: len(pipes_held(srv)) == pipes_before), pipes_held(srv)
        assert get(srv, "/index.html").status == 200
    finally:
        subprocess.run(["umount", "-l", updir], timeout=10)
