"""HTTPS: the close over TLS, proven both ways, and the TLS listener's edges.

Every server-initiated close sends close_notify after the last response,
then the TCP half-close, then lingers as in plain TCP. The clients here are
OpenSSL 3 clients (Python's ssl, curl) that treat a missing close_notify as
an error ("unexpected eof"): Python's sockets are made with
suppress_ragged_eofs=False, so a TCP FIN without close_notify raises
SSLEOFError instead of reading as a clean end.

With lingering_close off, the same scenarios must fail (a reset, or the
answer lost): a test that passed both ways would prove nothing.
"""

import os
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import AUTH, Reader, exchange, free_port, request, wait_for
from test_linger import bad_pipeline_bytes, post_of
from test_process import children
from tlscerts import TestCA

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(str(tmp_path_factory.mktemp("ca")))


def tls_config(ca, names=("localhost",), extra=""):
    leaf = ca.leaf(*names)
    return "tls_certificate %s %s;\n%s" % (leaf.cert, leaf.key, extra)


@pytest.fixture
def make_tls_server(make_server, ca):
    def make(extra="", names=("localhost",), **kw):
        return make_server(tls_config(ca, names, extra), tls=True, **kw)
    return make


class Client:
    """One TLS connection from an OpenSSL 3 client that reports a missing
    close_notify (ragged EOF) and a reset apart from a clean end."""

    def __init__(self, srv, ca, sni="localhost", timeout=20, port=None):
        ctx = ssl.create_default_context(cafile=ca.cert)
        ctx.set_alpn_protocols(["http/1.1"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout) if port \
            else srv.connect(timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname=sni, suppress_ragged_eofs=False)
        self.reader = Reader(self.sock, timeout)
        self.reset = False
        self.ragged = False

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except (ConnectionResetError, BrokenPipeError):
            self.reset = True
        except ssl.SSLError:
            self.reset = True
        return False

    def _reading(self, read):
        """read(), noting a reset or a ragged EOF instead of raising."""
        try:
            return read()
        except (ConnectionResetError, BrokenPipeError):
            self.reset = True
        except ssl.SSLEOFError:
            self.ragged = True
        except ssl.SSLError:
            self.reset = True
        return None

    def response(self):
        return self._reading(self.reader.response)

    def read_to_end(self):
        """Read until the server's close_notify; True if it came cleanly."""
        self._reading(self.reader.read_until_close)
        self.reset = self.reset or self.reader.reset
        return not self.reset and not self.ragged

    def close(self):
        self.sock.close()


def test_get_over_tls_ends_with_close_notify(make_tls_server, ca):
    srv = make_tls_server()
    c = Client(srv, ca)
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert c.sock.selected_alpn_protocol() == "http/1.1"
    c.send(request("GET", "/index.html", ["Connection: close"]))
    r = c.response()
    assert r is not None and r.status == 200 and len(r.body) > 0
    assert c.read_to_end(), (c.reset, c.ragged)
    c.close()


def test_keep_alive_over_tls_and_the_idle_close_sends_close_notify(make_tls_server, ca):
    srv = make_tls_server("keepalive_timeout 1s;")
    c = Client(srv, ca)
    for _ in range(5):
        c.send(request("GET", "/about.txt"))
        r = c.response()
        assert r is not None and r.status == 200
    # Idle past keepalive_timeout: the close comes with close_notify.
    assert c.read_to_end(), (c.reset, c.ragged)
    c.close()


def put_unauthorized_over_tls(srv, ca, size):
    c = Client(srv, ca)
    c.send(request("PUT", "/upload/big.bin", ["Content-Length: %d" % size]))
    chunk = b"x" * (256 * 1024)
    left = size
    while left > 0 and c.send(chunk[:min(left, len(chunk))]):
        left -= len(chunk)
    r = c.response()
    clean = c.read_to_end() if r is not None else False
    c.close()
    return (r.status if r else None), clean, c.reset


@pytest.mark.parametrize("mode", ["on", "off"])
def test_refused_16mib_put_over_tls_reads_its_401_and_close_notify(make_tls_server, ca, mode):
    srv = make_tls_server("lingering_close %s;" % mode)
    trials = 10 if mode == "on" else 5
    results = [put_unauthorized_over_tls(srv, ca, 16 * MIB) for _ in range(trials)]
    if mode == "on":
        assert all(r == (401, True, False) for r in results), results
    else:
        assert any(r != (401, True, False) for r in results), \
            "a plain close over TLS should reset or truncate: %s" % results


def post_over_limit_over_tls(srv, ca, chunked):
    # 16 MiB: more than the loopback socket buffers hold, so a plain close
    # meets the client still sending (with less, it may have sent all, then
    # read the 413 and close_notify that came before the reset).
    c = Client(srv, ca)
    c.send(post_of(16 * MIB, chunked))
    r = c.response()
    clean = c.read_to_end() if r is not None else False
    c.close()
    return (r.status if r else None), clean, c.reset


@pytest.mark.parametrize("mode", ["on", "off"])
@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_post_over_body_limit_over_tls_reads_its_413(make_tls_server, ca, mode, framing):
    srv = make_tls_server("lingering_close %s;\nbody_max_bytes 256k;" % mode)
    trials = 6 if mode == "on" else 5
    results = [post_over_limit_over_tls(srv, ca, framing == "chunked") for _ in range(trials)]
    if mode == "on":
        assert all(r == (413, True, False) for r in results), results
    else:
        assert any(r != (413, True, False) for r in results), results


def bad_pipeline_over_tls(srv, ca):
    c = Client(srv, ca)
    c.send(bad_pipeline_bytes("/big.bin"))
    # Read late: the 1 MiB fills the socket buffers first, so the server's
    # close comes while part of its answer is still on its side; a plain
    # close (unread requests in its socket) then resets and drops it.
    time.sleep(0.3)
    statuses, first_len = [], None
    while True:
        try:
            r = c.response()
        except AssertionError:
            c.reset = True
            break
        if r is None:
            break
        if first_len is None:
            first_len = len(r.body)
        statuses.append(r.status)
    clean = c.read_to_end() if not (c.reset or c.ragged) else False
    c.close()
    return statuses, first_len, clean


@pytest.mark.parametrize("mode", ["on", "off"])
def test_bad_request_mid_pipeline_over_tls_after_a_1mib_response(make_tls_server, ca, mode):
    srv = make_tls_server("lingering_close %s;" % mode)
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(os.urandom(MIB))
    trials = 6 if mode == "on" else 5
    results = [bad_pipeline_over_tls(srv, ca) for _ in range(trials)]
    good = [r for r in results if r == ([200, 400], MIB, True)]
    if mode == "on":
        assert len(good) == trials, results
    else:
        assert len(good) < trials, "a plain close should lose or reset something"


def test_curl_reads_a_refused_upload_with_no_unexpected_eof(make_tls_server, ca, tmp_path):
    srv = make_tls_server()
    body = tmp_path / "body.bin"
    body.write_bytes(b"z" * (4 * MIB))
    p = subprocess.run(
        ["curl", "-sS", "--cacert", ca.cert, "--http1.1", "-o", "/dev/null",
         "-w", "%{http_code}", "-T", str(body), "-H", "Expect:",
         "--resolve", "localhost:%d:127.0.0.1" % srv.port,
         "https://localhost:%d/upload/x.bin" % srv.port],
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "401"
    assert "unexpected eof" not in p.stderr.lower()


def test_plain_http_to_the_tls_port_reads_a_400_in_plain_text(make_tls_server):
    srv = make_tls_server()
    s = srv.connect()
    s.sendall(request("GET", "/"))
    rd = Reader(s, timeout=10)
    r = rd.response()
    assert r is not None and r.status == 400
    assert b"https" in r.body.lower()
    assert (r.header("connection") or "").lower() == "close"
    rd.read_until_close()
    assert not rd.reset
    s.close()


def test_a_silent_handshake_is_cut_by_its_timeout(make_tls_server):
    srv = make_tls_server("tls_handshake_timeout 1s;\ndefer_accept off;")
    s = srv.connect(timeout=10)
    s.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
    t0 = time.monotonic()
    assert s.recv(100) == b""
    assert time.monotonic() - t0 < 8
    s.close()


def s_client(srv, *args, send=""):
    """openssl s_client against srv: what it printed. With send, those bytes
    go as the request and it reads until the server closes (-ign_eof), so
    TLS 1.3 tickets, which come after the handshake, are read too."""
    extra = ["-ign_eof"] if send else []
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port,
                        "-servername", "localhost"] + extra + list(args),
                       input=send, capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_old_protocols_are_refused_by_the_server(make_tls_server, flag):
    """The client offers only TLS 1.0 or 1.1 (its own floor lowered, so it
    is the server that refuses): a protocol_version alert, no session."""
    srv = make_tls_server()
    out = s_client(srv, flag, "-cipher", "DEFAULT@SECLEVEL=0")
    assert "alert protocol version" in out, out[-2000:]
    assert "Cipher is (NONE)" in out


def test_ciphers_outside_the_list_are_refused(make_tls_server):
    """TLS 1.2 with only a CBC, non-forward-secret cipher: refused."""
    srv = make_tls_server()
    out = s_client(srv, "-tls1_2", "-cipher", "AES128-SHA")
    assert "alert handshake failure" in out, out[-2000:]
    assert "Cipher is (NONE)" in out


def test_sni_picks_the_certificate_by_name(make_server, ca):
    a = ca.leaf("a.test")
    b = ca.leaf("b.test", "*.wild.test", key="rsa")
    srv = make_server("tls_certificate %s %s;\ntls_certificate %s %s;" %
                      (a.cert, a.key, b.cert, b.key), tls=True)
    for sni, want in [("a.test", "a.test"), ("b.test", "b.test"),
                      ("x.wild.test", "*.wild.test"), ("other.test", "a.test")]:
        ctx = ssl.create_default_context(cafile=ca.cert)
        ctx.check_hostname = False
        s = ctx.wrap_socket(srv.connect(), server_hostname=sni)
        cert = s.getpeercert()
        names = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
        assert want in names, (sni, names)
        s.close()


def test_https_redirect_sends_plain_clients_to_the_tls_port(make_server, ca):
    leaf = ca.leaf("localhost")
    tls_port = free_port()
    srv = make_server("listen 127.0.0.1:%d tls;\ntls_certificate %s %s;\nhttps_redirect on;" %
                      (tls_port, leaf.cert, leaf.key))
    rs, rd = exchange(srv, request("GET", "/dir/a%20b.txt?x=1", host="example.test:8080"))
    rd.sock.close()
    r = rs[0]
    assert r.status == 301
    assert r.header("location") == "https://example.test:%d/dir/a%%20b.txt?x=1" % tls_port
    # A method that is not safe keeps its method and body: 308.
    s = srv.connect()
    s.sendall(request("POST", "/upload/", ["Authorization: " + AUTH], b"x", host="[::1]:80"))
    r = Reader(s).response()
    assert r.status == 308 and r.header("location") == "https://[::1]:%d/upload/" % tls_port
    s.close()
    # The TLS listener itself serves.
    c = Client(srv, ca, port=tls_port)
    c.send(request("GET", "/about.txt", ["Connection: close"]))
    assert c.response().status == 200
    c.close()


def test_hsts_is_sent_over_tls_only(make_server, ca):
    leaf = ca.leaf("localhost")
    plain_port = free_port()
    srv = make_server("listen 127.0.0.1:%d;\ntls_certificate %s %s;\nhsts 8760h;" %
                      (plain_port, leaf.cert, leaf.key), tls=True)
    c = Client(srv, ca)
    c.send(request("GET", "/about.txt", ["Connection: close"]))
    r = c.response()
    assert r.header("strict-transport-security") == "max-age=31536000"
    c.close()
    s = socket.create_connection(("127.0.0.1", plain_port), timeout=10)
    s.sendall(request("GET", "/about.txt", ["Connection: close"]))
    r = Reader(s).response()
    assert r.status == 200 and r.header("strict-transport-security") is None
    s.close()


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_a_session_resumes_on_any_worker(make_server, ca, tmp_path, version):
    """Ticket keys are the master's, shared by every worker: a session made
    on one worker resumes on any other. Which worker the kernel hands a
    connection to cannot be chosen, so the session is made, then a reload
    replaces every worker: all 16 resumptions land on processes that never
    saw it, and each must succeed."""
    leaf = ca.leaf("localhost")
    srv = make_server("workers 2;\ntls_certificate %s %s;" % (leaf.cert, leaf.key), tls=True)
    master = srv.proc.pid
    assert wait_for(lambda: len(children(master)) == 2)
    sess = str(tmp_path / "sess.pem")
    get_close = "GET /about.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    out = s_client(srv, version, "-CAfile", ca.cert, "-sess_out", sess, send=get_close)
    assert "Verify return code: 0 (ok)" in out and "HTTP/1.1 200" in out, out[-2000:]
    makers = set(children(master))
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: not makers & set(children(master)) and
                    len(children(master)) == 2, timeout=15)
    reused = 0
    for _ in range(16):
        out = s_client(srv, version, "-CAfile", ca.cert, "-sess_in", sess, send=get_close)
        assert "HTTP/1.1 200" in out, out[-2000:]
        reused += "Reused, TLSv1." in out
    assert reused == 16, reused


def test_reload_serves_a_new_certificate_while_an_old_download_finishes(make_server, ca):
    old = ca.leaf("localhost")
    srv = make_server("tls_certificate %s %s;\nsend_timeout 30s;" % (old.cert, old.key),
                      tls=True)
    with open(os.path.join(srv.root, "big.bin"), "wb") as f:
        f.write(os.urandom(8 * MIB))
    c = Client(srv, ca)
    c.sock.settimeout(30)
    old_serial = c.sock.getpeercert()["serialNumber"]
    c.send(request("GET", "/big.bin"))
    first = c.sock.recv(4096)  # the download has begun; the rest waits
    assert first.startswith(b"HTTP/1.1 200")
    new = ca.leaf("localhost")
    text = open(srv.conf).read().replace(old.cert, new.cert).replace(old.key, new.key)
    with open(srv.conf, "w") as f:
        f.write(text)
    before = set(children(srv.proc.pid))
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: set(children(srv.proc.pid)) - before, timeout=10)
    fresh = Client(srv, ca)
    assert fresh.sock.getpeercert()["serialNumber"] != old_serial
    fresh.send(request("GET", "/about.txt", ["Connection: close"]))
    assert fresh.response().status == 200
    fresh.close()
    # The old connection's download completes, over the old certificate's session.
    c.reader.buf = first
    r = c.response()
    assert r is not None and r.status == 200 and len(r.body) == 8 * MIB
    c.close()


def test_a_408_over_tls_is_read_whole_with_close_notify(make_tls_server, ca):
    srv = make_tls_server("header_timeout 1s;")
    c = Client(srv, ca)
    c.send(b"GET /about.txt HTTP/1.1\r\nHost: localhost\r\n")  # the head never ends
    r = c.response()
    assert r is not None and r.status == 408
    assert c.read_to_end(), (c.reset, c.ragged)
    c.close()


def test_a_graceful_stop_ends_idle_tls_connections_with_close_notify(make_tls_server, ca):
    srv = make_tls_server("keepalive_timeout 2s;")
    c = Client(srv, ca)
    c.send(request("GET", "/about.txt"))
    assert c.response().status == 200
    srv.send_signal(signal.SIGQUIT)
    assert c.read_to_end(), (c.reset, c.ragged)
    c.close()
    assert srv.proc.wait(timeout=20) == 0


def test_a_flood_of_silent_handshakes_is_capped_and_cut(make_tls_server, ca):
    """More half-begun handshakes than connections_max: the server holds at
    most its cap, cuts them at tls_handshake_timeout, then serves again."""
    srv = make_tls_server("connections_max 16;\ntls_handshake_timeout 1s;")
    assert wait_for(lambda: children(srv.proc.pid), timeout=10)
    worker = children(srv.proc.pid)[0]
    flood = []
    for _ in range(40):
        s = srv.connect(timeout=10)
        s.sendall(b"\x16\x03\x01")
        flood.append(s)

    def sockets():
        n = 0
        for fd in os.listdir("/proc/%d/fd" % worker):
            try:
                n += os.readlink("/proc/%d/fd/%s" % (worker, fd)).startswith("socket:")
            except OSError:
                pass
        return n

    # Never more than the cap (plus the listening socket) at any look.
    peak = 0
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        peak = max(peak, sockets())
        time.sleep(0.05)
    assert peak <= 16 + 1, peak
    for s in flood:
        s.close()
    c = Client(srv, ca)
    c.send(request("GET", "/about.txt", ["Connection: close"]))
    assert c.response().status == 200
    c.close()
