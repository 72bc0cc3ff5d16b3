"""TLS on the status page, in /metrics and in the access log, black-box.

Each handshake outcome is driven by a real client (openssl s_client,
Python's ssl, a plain-HTTP client, headless Chromium) and the counters must
move by exactly what it did, in ?auto and in /metrics alike. The pages are
read on a plain listener of the same server, so reading them makes no
handshake of its own.
"""

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile

import pytest

from conftest import Reader, free_port, request, wait_for
from test_status import Scraper, chromium_binary, parse_exposition
from test_tls import s_client
from tlscerts import TestCA

# ?auto key -> the /metrics series that must say the same.
TLS_KEYS = {
    "TLSHandshakesFull": 'lingerd_tls_handshakes_total{result="full"}',
    "TLSHandshakesResumed": 'lingerd_tls_handshakes_total{result="resumed"}',
    "TLSHandshakeFailuresTimeout": 'lingerd_tls_handshake_failures_total{reason="timeout"}',
    "TLSHandshakeFailuresPlainHTTP":
        'lingerd_tls_handshake_failures_total{reason="plain_http"}',
    "TLSHandshakeFailuresProtocol": 'lingerd_tls_handshake_failures_total{reason="protocol"}',
    "TLSHandshakeFailuresClosed": 'lingerd_tls_handshake_failures_total{reason="closed"}',
    "TLSv1.2Handshakes": 'lingerd_tls_versions_total{version="TLSv1.2"}',
    "TLSv1.3Handshakes": 'lingerd_tls_versions_total{version="TLSv1.3"}',
    "TLSALPNHttp11": 'lingerd_tls_alpn_total{protocol="http/1.1"}',
    "TLSALPNNone": 'lingerd_tls_alpn_total{protocol="none"}',
    "TLSALPNH2": 'lingerd_tls_alpn_total{protocol="h2"}',
}

GET_CLOSE = "GET /about.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(str(tmp_path_factory.mktemp("ca")))


class PlainSide:
    """The plain listener of a TLS server, for Scraper."""

    def __init__(self, port):
        self.port = port

    def connect(self, timeout=5):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


class TLSScraper(Scraper):
    def tls(self):
        """The TLS counters, checked to agree between ?auto and /metrics
        (read again, bounded, if a handshake landed in between)."""
        for _ in range(50):
            a, m = self.auto(), self.metrics()
            if all(m[series] == int(a[key]) for key, series in TLS_KEYS.items()):
                return {key: int(a[key]) for key in TLS_KEYS}
        raise AssertionError("?auto and /metrics disagree: %s / %s" % (a, m))


@pytest.fixture
def tls_pair(make_server, ca):
    """A server with a TLS listener (srv.port) and a plain one for the
    pages; returns (srv, scraper)."""
    leaf = ca.leaf("localhost")
    plain = free_port()
    srv = make_server("listen 127.0.0.1:%d;\ntls_certificate %s %s;" %
                      (plain, leaf.cert, leaf.key), tls=True)
    sc = TLSScraper(PlainSide(plain))
    yield srv, sc
    sc.close()


def delta(before, after):
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


def test_full_and_resumed_handshakes_are_counted(tls_pair, ca, tmp_path):
    srv, sc = tls_pair
    sess = str(tmp_path / "sess.pem")
    before = sc.tls()
    out = s_client(srv, "-tls1_3", "-CAfile", ca.cert, "-sess_out", sess, send=GET_CLOSE)
    assert "Verify return code: 0 (ok)" in out and "HTTP/1.1 200" in out, out[-2000:]
    full = sc.tls()
    # s_client offers no ALPN unless told to.
    assert delta(before, full) == {"TLSHandshakesFull": 1, "TLSv1.3Handshakes": 1,
                                   "TLSALPNNone": 1}
    out = s_client(srv, "-tls1_3", "-CAfile", ca.cert, "-sess_in", sess, send=GET_CLOSE)
    assert "Reused, TLSv1.3" in out and "HTTP/1.1 200" in out, out[-2000:]
    resumed = sc.tls()
    assert delta(full, resumed) == {"TLSHandshakesResumed": 1, "TLSv1.3Handshakes": 1,
                                    "TLSALPNNone": 1}
    # TLS 1.2 with ALPN, from Python's ssl.
    ctx = ssl.create_default_context(cafile=ca.cert)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(srv.connect(), server_hostname="localhost")
    assert s.version() == "TLSv1.2"
    s.sendall(request("GET", "/about.txt", ["Connection: close"]))
    assert Reader(s).response().status == 200
    s.close()
    after = sc.tls()
    assert delta(resumed, after) == {"TLSHandshakesFull": 1, "TLSv1.2Handshakes": 1,
                                     "TLSALPNHttp11": 1}


def test_failed_handshakes_are_counted_by_reason(tls_pair):
    srv, sc = tls_pair
    before = sc.tls()
    # Plain HTTP to the TLS port: answered in plain text, counted.
    s = srv.connect()
    s.sendall(request("GET", "/"))
    rd = Reader(s)
    assert rd.response().status == 400
    rd.read_until_close()
    s.close()
    assert wait_for(lambda: delta(before, sc.tls()) == {"TLSHandshakeFailuresPlainHTTP": 1})
    # TLS 1.1 offered: the server refuses the version.
    out = s_client(srv, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert "alert protocol version" in out, out[-2000:]
    assert wait_for(lambda: delta(before, sc.tls()) == {"TLSHandshakeFailuresPlainHTTP": 1,
                                                        "TLSHandshakeFailuresProtocol": 1})
    # A client that leaves in the middle of its ClientHello.
    s = srv.connect()
    s.sendall(b"\x16\x03\x01\x02\x00\x01")
    s.close()
    assert wait_for(lambda: delta(before, sc.tls()) == {"TLSHandshakeFailuresPlainHTTP": 1,
                                                        "TLSHandshakeFailuresProtocol": 1,
                                                        "TLSHandshakeFailuresClosed": 1})


def test_tls_listener_and_its_encryption_path_are_shown(tls_pair):
    srv, sc = tls_pair
    a = sc.auto()
    assert a["TLSListeners"] == "127.0.0.1:%d" % srv.port
    path = a["TLSEncryption"].split(" ", 1)[0]
    assert path in ("ktls", "user-space")
    text = sc.get("/metrics").body.decode()
    m = parse_exposition(text)
    assert m['lingerd_tls_listener_info{listen="127.0.0.1:%d",encryption="%s"}' %
             (srv.port, path)] == 1
    html = sc.get("/server-status").body.decode()
    assert "<h2>TLS</h2>" in html and '<td class="tls-path">%s</td>' % path in html


def test_ktls_off_is_shown_as_user_space(make_server, ca):
    leaf = ca.leaf("localhost")
    plain = free_port()
    make_server("listen 127.0.0.1:%d;\ntls_certificate %s %s;\nktls off;" %
                (plain, leaf.cert, leaf.key), tls=True)
    sc = TLSScraper(PlainSide(plain))
    assert sc.auto()["TLSEncryption"] == \
        "user-space (OpenSSL encrypts in the worker: ktls off)"
    sc.close()


def test_a_plain_server_shows_zero_tls_counters_and_no_listener(make_server):
    srv = make_server()
    sc = Scraper(srv)
    a = sc.auto()
    assert all(a[k] == "0" for k in TLS_KEYS)
    assert "TLSListeners" not in a and "TLSEncryption" not in a
    assert "lingerd_tls_listener_info" not in sc.get("/metrics").body.decode()
    assert "<h2>TLS</h2>" not in sc.get("/server-status").body.decode()
    sc.close()


def log_lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def test_access_log_carries_scheme_tls_version_cipher_and_sni(make_server, ca, tmp_path):
    leaf = ca.leaf("localhost", "www.example.test")
    plain = free_port()
    log = str(tmp_path / "access.log")
    srv = make_server('listen 127.0.0.1:%d;\ntls_certificate %s %s;\naccess_log %s;\n'
                      'access_log_format "$scheme $tls_version $tls_cipher $sni $status '
                      '$request_uri";' % (plain, leaf.cert, leaf.key, log), tls=True)
    # TLS 1.3 with SNI, from openssl s_client: the cipher it reports.
    out = s_client(srv, "-tls1_3", "-CAfile", ca.cert, send=GET_CLOSE)
    cipher13 = out.split("Cipher is ", 1)[1].split()[0]
    assert "HTTP/1.1 200" in out and cipher13.startswith("TLS_"), out[-2000:]
    # TLS 1.2 with another name, and without SNI, from Python's ssl.
    ciphers12 = []
    for sni in ("www.example.test", None):
        ctx = ssl.create_default_context(cafile=ca.cert)
        ctx.check_hostname = sni is not None
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        s = ctx.wrap_socket(srv.connect(), server_hostname=sni)
        ciphers12.append(s.cipher()[0])
        s.sendall(request("GET", "/index.html", ["Connection: close"]))
        assert Reader(s).response().status == 200
        s.close()
    # Plain HTTP on the plain listener, and on the TLS port (answered 400).
    s = PlainSide(plain).connect()
    s.sendall(request("GET", "/about.txt", ["Connection: close"]))
    assert Reader(s).response().status == 200
    s.close()
    s = srv.connect()
    s.sendall(request("GET", "/x", ["Connection: close"]))
    rd = Reader(s)
    assert rd.response().status == 400
    rd.read_until_close()
    s.close()
    assert wait_for(lambda: len(log_lines(log)) == 5)
    assert log_lines(log) == [
        "https TLSv1.3 %s localhost 200 /about.txt" % cipher13,
        "https TLSv1.2 %s www.example.test 200 /index.html" % ciphers12[0],
        "https TLSv1.2 %s - 200 /index.html" % ciphers12[1],
        "http - - - 200 /about.txt",
        "http - - - 400 -",
    ]


# ---------------------------------------------------------------------------
# A real browser over HTTPS


def chromium_https(url, home, *args):
    """Headless Chromium loads url and prints the DOM it built (or does what
    args say instead, e.g. --screenshot=FILE). HOME is home, so the
    browser's certificate store is home/.pki/nssdb (NSS): only what a test
    put there is trusted besides the system's roots."""
    profile = tempfile.mkdtemp(prefix="lingerd-chromium-")
    env = dict(os.environ, HOME=home)
    try:
        cmd = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile,
               "--host-resolver-rules=MAP localhost 127.0.0.1"]
        cmd += list(args) or ["--dump-dom"]
        cmd.append(url)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def nss_home_trusting(ca_cert, home):
    """A fresh NSS database in home/.pki/nssdb with ca_cert as a trusted CA
    for servers ("C,,"): Chromium on Linux verifies the chain against it."""
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db)
    for args in (["-N", "--empty-password"],
                 ["-A", "-n", "lingerd test CA", "-t", "C,,", "-i", ca_cert]):
        p = subprocess.run(["certutil", "-d", "sql:" + db] + args, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, p.stderr


@pytest.mark.release_only
def test_chromium_trusting_the_test_ca_loads_the_site_over_https(tls_pair, ca, tmp_path):
    if chromium_binary() is None:
        pytest.skip("chromium is not installed (apt-get install chromium); no browser "
                    "loaded the site over HTTPS")
    if shutil.which("certutil") is None:
        pytest.skip("certutil is not installed (apt-get install libnss3-tools); Chromium "
                    "cannot be made to trust the test CA")
    srv, sc = tls_pair
    url = "https://localhost:%d" % srv.port

    # Without the CA the browser refuses the certificate: the chain is
    # really verified. Its alert ends the handshake, counted as refused.
    before = sc.tls()
    untrusting = str(tmp_path / "home-untrusting")
    os.mkdir(untrusting)
    p = chromium_https(url + "/", untrusting)
    assert "lingerd is serving" not in p.stdout, p.stdout[:2000]
    refused = sc.tls()
    d = delta(before, refused)
    assert d.get("TLSHandshakeFailuresProtocol", 0) >= 1, d
    assert set(d) == {"TLSHandshakeFailuresProtocol"}, d

    # Trusting the test CA (and nothing else changed), the page loads.
    home = str(tmp_path / "home")
    nss_home_trusting(ca.cert, home)
    p = chromium_https(url + "/", home)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "lingerd is serving" in p.stdout, (p.stdout[:2000], p.stderr[-2000:])
    loaded = sc.tls()
    d = delta(refused, loaded)
    # The browser may open a spare connection or resume one: at least one
    # full handshake, every one TLS 1.3 with ALPN h2 (HTTP/2), none failed.
    made = d.get("TLSHandshakesFull", 0) + d.get("TLSHandshakesResumed", 0)
    assert d.get("TLSHandshakesFull", 0) >= 1, d
    assert d.get("TLSv1.3Handshakes") == made and d.get("TLSALPNH2") == made, d
    assert not [k for k in d if k.startswith("TLSHandshakeFailures")], d

    # The status page, in the same browser over HTTPS, shows them.
    p = chromium_https(url + "/server-status", home)
    assert p.returncode == 0, p.stderr[-2000:]
    dom = p.stdout
    assert "<h2>TLS</h2>" in dom, dom[:3000]
    full = int(re.search(r'id="tls-full">(\d+)<', dom).group(1))
    refused_n = int(re.search(r'id="tls-fail-protocol">(\d+)<', dom).group(1))
    assert full >= loaded["TLSHandshakesFull"] >= 1
    assert refused_n == refused["TLSHandshakeFailuresProtocol"]
    assert '<td class="tls-path">' in dom and "127.0.0.1:%d" % srv.port in dom
