"""Response bodies on their way out: every byte, in order, whatever the
socket and the windows do.

Two shortcuts of the send path are checked here. Over TLS, the records of
one write leave in one send, and what the socket does not take is held by
the connection until it has room (transport_tls.c); a client that reads
slowly, through a small receive buffer, makes the server hold ciphertext on
almost every write, over HTTP/2 and HTTP/1.1 alike. Over HTTP/2, the first
DATA frame of a file reads the payloads of the frames that will follow it
into the batch at once (http2_stream.c); windows that close mid-batch,
streams that take turns on one connection and a file that shrinks while it
is sent must each leave the read-ahead unused, not sent where it does not
belong. The client (h2client.H2Client) checks on every frame that the
server keeps within the windows it granted (RFC 9113 §6.9.1).
"""

import os
import socket
import time

import pytest

from conftest import Reader, request
from h2client import ERR, H2Client, assert_still_serves, h2c_server, tls_context, tls_server
from h2client import window_update
from tlscerts import TestCA

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(str(tmp_path_factory.mktemp("ca")))


def put(srv, name, size):
    """size random bytes as /name; returns them."""
    body = os.urandom(size)
    with open(os.path.join(srv.root, name), "wb") as f:
        f.write(body)
    return body


def slow_socket(srv):
    """A TCP connection whose receive buffer is small, so the server's
    socket fills at once while the client does not read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(15)
    sock.connect((srv.host, srv.port))
    return sock


def test_slow_h2_reader_over_tls_gets_every_byte(make_server, ca):
    srv = tls_server(make_server, ca)
    big = put(srv, "big.bin", 6 * MIB)
    sock = tls_context(ca).wrap_socket(slow_socket(srv), server_hostname="localhost")
    c = H2Client(sock, "https").handshake()
    assert c.alpn == "h2"
    first = c.request(path="/big.bin")
    second = c.request(path="/big.bin", extra=[("range", "bytes=1000-3000999")])
    time.sleep(0.5)  # nothing read: the server's writes meet a full socket
    for _ in range(4):
        c.read_some(0.05)  # a little now and then: the socket fills again
        time.sleep(0.1)
    r1, r2 = c.wait(first, 30), c.wait(second, 30)
    assert r1.status == 200 and r1.ended and r1.reset is None, c.describe()
    assert bytes(r1.body) == big
    assert r2.status == 206 and r2.ended and bytes(r2.body) == big[1000:3001000], c.describe()
    assert_still_serves(c)  # nothing held is left over for the next answer
    c.close()


def test_slow_http1_reader_over_tls_gets_every_byte(make_server, ca):
    srv = tls_server(make_server, ca)
    big = put(srv, "big.bin", 6 * MIB)
    sock = tls_context(ca, ["http/1.1"]).wrap_socket(slow_socket(srv),
                                                      server_hostname="localhost")
    assert sock.selected_alpn_protocol() == "http/1.1"
    # Two requests pipelined: the second answer follows held bytes of the first.
    sock.sendall(request("GET", "/big.bin") + request("GET", "/index.html"))
    time.sleep(0.5)
    reader = Reader(sock, 30)
    r = reader.response()
    assert r is not None and r.status == 200 and r.body == big, r
    r = reader.response()
    with open(os.path.join(srv.root, "index.html"), "rb") as f:
        assert r is not None and r.status == 200 and r.body == f.read(), r
    sock.close()


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_windows_closing_mid_batch_keep_every_byte(make_server, ca, tls):
    """A stream window of 40000 bytes, given back frame by frame: frames
    cut short by a window, several streams taking turns on a connection
    window of 65535, a range that starts mid-file."""
    srv = tls_server(make_server, ca) if tls else h2c_server(make_server)
    files = {name: put(srv, name, size) for name, size in
             (("a.bin", MIB), ("b.bin", MIB + 12345), ("c.bin", 300000))}
    c = H2Client.connect(srv, ca, window=40000).handshake()
    sids = {c.request(path="/" + name): name for name in files}
    ranged = c.request(path="/b.bin", extra=[("range", "bytes=7-500006")])
    for sid, name in sids.items():
        st = c.wait(sid, 60)
        assert st.status == 200 and st.ended and st.reset is None, c.describe()
        assert bytes(st.body) == files[name], name
    st = c.wait(ranged, 60)
    assert st.status == 206 and st.ended and bytes(st.body) == files["b.bin"][7:500007]
    c.close()


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_a_file_that_shrinks_while_sent_resets_its_stream(make_server, ca, tls):
    """The file is cut while the stream waits for its window, to a length
    inside the next batch: the frames still in the file leave (the read
    that fetched several at once came up short), then RST_STREAM
    (INTERNAL_ERROR), never END_STREAM on a body shorter than its length."""
    srv = tls_server(make_server, ca) if tls else h2c_server(make_server)
    path = os.path.join(srv.root, "big.bin")
    big = put(srv, "big.bin", 4 * MIB)
    c = H2Client.connect(srv, ca, window=65535).handshake()
    c.auto_window = False  # the first window's 65535 bytes, then nothing
    sid = c.request(path="/big.bin")
    st = c.stream(sid)
    assert c.pump(lambda: len(st.body) >= 65535, 15), c.describe()
    cut = 65535 + 3 * 16384 + 100
    os.truncate(path, cut)
    c.send(window_update(0, 4 * MIB) + window_update(sid, 4 * MIB))
    c.wait(sid, 15)
    assert st.reset == ERR["INTERNAL_ERROR"] and not st.ended, c.describe()
    assert 65535 <= len(st.body) <= cut and bytes(st.body) == big[:len(st.body)], len(st.body)
    c.auto_window = True
    assert_still_serves(c)  # the connection and its other streams go on
    c.close()
    assert "the file shrank" in srv.log()


def bytes_read(pid):
    """What the process has read by read(2)/pread(2) and kin, sockets too."""
    with open("/proc/%d/io" % pid) as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


@pytest.mark.parametrize("incremental", [False, True], ids=["in-turn", "incremental"])
def test_concurrent_streams_read_each_file_once(make_server, incremental):
    """Six 1 MiB files on one connection. Streams served one after the
    other read ahead; streams that take turns frame by frame (RFC 9218
    `priority: i`, which nghttp2 honours) must not: a read-ahead made for a
    stream whose next frame comes only after the others' would be thrown
    away and its bytes read again. Either way each file is read once."""
    srv = h2c_server(make_server, "master_process off;")
    files = {"/f%d.bin" % i: put(srv, "f%d.bin" % i, MIB) for i in range(6)}
    c = H2Client.h2c(srv).handshake()
    assert_still_serves(c)  # the session is set up before counting
    extra = [("priority", "u=3, i")] if incremental else []
    before = bytes_read(srv.proc.pid)
    sids = {c.request(path=path, extra=extra): path for path in files}
    for sid, path in sids.items():
        st = c.wait(sid, 30)
        assert st.status == 200 and st.ended and bytes(st.body) == files[path], c.describe()
    read = bytes_read(srv.proc.pid) - before
    assert 6 * MIB <= read < 6 * MIB + 256 * 1024, read
    data_sids = [sid for ftype, _, sid, n in c.frames if ftype == 0 and n]
    switches = sum(1 for a, b in zip(data_sids, data_sids[1:]) if a != b)
    if incremental:
        assert switches > 6 * 8, switches  # the streams really took turns
    c.close()
