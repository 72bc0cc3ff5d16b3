"""Black-box test harness: start lingerd on a free loopback port, talk raw TCP.

Every server is started by a test (or fixture) with its own document root and
configuration file, and stopped by its own PID. The binary under test is
$LINGERD_BIN (default build/release/lingerd), so the same tests run against
the ASan+UBSan build. A server that exits non-zero or whose stderr carries a
sanitizer report fails the test that used it.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest


def pytest_configure(config):
    # make test (tests/run-all.sh) leaves these out of the ASan+UBSan run.
    config.addinivalue_line(
        "markers", "release_only: a browser's view of a page, or a reproduction of a naive "
        "behaviour: checks nothing more under the sanitizers")


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "tests", "integration", "data")
BIN = os.path.join(REPO, os.environ.get("LINGERD_BIN", "build/release/lingerd"))
HTPASSWD = os.path.join(DATA, "htpasswd")
AUTH = "Basic dGVzdDp0ZXN0"  # test:test

UPLOAD_LOCATION = """
location /upload/ {
    methods GET HEAD PUT POST DELETE OPTIONS;
    auth_basic "uploads";
    auth_user_file %s;
}
""" % HTPASSWD


def build_preload(tmp_path_factory, source):
    """Compile a test-only LD_PRELOAD library (tests/integration/SOURCE, e.g.
    fault_shim.c); returns the path of the .so."""
    out = str(tmp_path_factory.mktemp("preload") / source.replace(".c", ".so"))
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", out,
                    os.path.join(REPO, "tests", "integration", source), "-ldl"],
                   check=True, timeout=60, capture_output=True)
    return out


def preload_into_servers(monkeypatch, library):
    """Servers (and lingerd -t) started by this test load library first."""
    monkeypatch.setenv("LD_PRELOAD", library)
    # An ASan build wants its runtime first; the shims only wrap libc calls.
    monkeypatch.setenv("ASAN_OPTIONS",
                       "detect_leaks=1:abort_on_error=0:exitcode=86:verify_asan_link_order=0")


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Server:
    """One lingerd process with its own root and configuration."""

    def __init__(self, tmpdir, config="", host="127.0.0.1", args=(), uploads=True, tls=False,
                 port=None, listen_options=""):
        self.tmpdir = tmpdir
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.family = family
        self.port = port or free_port(family, host)  # port: a restart on the same one
        self.root = os.path.join(tmpdir, "www")
        shutil.copytree(os.path.join(REPO, "www"), self.root)
        os.mkdir(os.path.join(self.root, "upload"))
        listen = "[%s]:%d" % (host, self.port) if family == socket.AF_INET6 else \
            "%s:%d" % (host, self.port)
        # One worker unless a test asks for more: counters and per-worker caps
        # are then deterministic. Tests run as root in CI: say so explicitly.
        # tls: the listener speaks HTTPS; the config must name a certificate.
        self.tls = tls
        base = "listen %s%s%s;\nroot %s;\n" % (listen, " tls" if tls else "", listen_options,
                                                self.root)
        if "workers " not in config:
            base += "workers 1;\n"
        if os.geteuid() == 0 and "run_as_root" not in config and "user " not in config:
            base += "run_as_root on;\n"
        text = base + config + "\n" + (UPLOAD_LOCATION if uploads else "") + "\n"
        self.conf = os.path.join(tmpdir, "lingerd.conf")
        with open(self.conf, "w") as f:
            f.write(text)
        self.stderr_path = os.path.join(tmpdir, "stderr.log")
        self.args = list(args)
        self.proc = None

    def start(self):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=86")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=87")
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([BIN, "-c", self.conf] + self.args,
                                     stdout=self.stderr, stderr=self.stderr, env=env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("lingerd exited at start: %s" % self.log())
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("lingerd did not start listening: %s" % self.log())

    def log(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()
        except OSError:
            return ""

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stop by PID; return the exit code. Fails on sanitizer reports."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("lingerd did not stop on signal %s" % sig)
        finally:
            self.stderr.close()
        log = self.log()
        assert "AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]
        assert "LeakSanitizer" not in log, log[-4000:]
        self.proc = None
        return rc

    def connect(self, timeout=5):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        return s

    def begun_heads(self, n, timeout=10):
        """n connections that send one byte of a head and then nothing: the
        server takes them at once (a silent one would wait in the kernel:
        defer_accept) and holds each until header_timeout."""
        socks = []
        for _ in range(n):
            s = self.connect(timeout=timeout)
            s.sendall(b"G")
            socks.append(s)
        return socks

    def url(self, path="/"):
        host = "[%s]" % self.host if self.family == socket.AF_INET6 else self.host
        return "http://%s:%d%s" % (host, self.port, path)


@pytest.fixture
def make_server(tmp_path):
    """make_server(config_text, **kw) -> a started Server, stopped after the test."""
    servers = []

    def make(config="", **kw):
        d = tempfile.mkdtemp(dir=str(tmp_path))
        s = Server(d, config, **kw).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        rc = s.stop()
        assert rc in (0, None), "lingerd exited with %s: %s" % (rc, s.log()[-3000:])


@pytest.fixture
def server(make_server):
    return make_server()


# ---------------------------------------------------------------------------
# Raw HTTP client pieces


class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name-lower, value)
        self.body = body
        self.version = version

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.headers)


class Reader:
    """Reads responses from a socket; records whether the close was a reset."""

    def __init__(self, sock, timeout=10):
        self.sock = sock
        self.buf = b""
        self.eof = False
        self.reset = False
        sock.settimeout(timeout)

    def _more(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self.reset = True
            self.eof = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_until_close(self):
        while self._more():
            pass
        return self.buf

    def response(self, head_request=False):
        """Next final response (1xx are skipped), or None at EOF."""
        while True:
            r = self._one(head_request)
            if r is None or r.status >= 200:
                return r

    def _one(self, head_request):
        while b"\r\n\r\n" not in self.buf:
            if not self._more():
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = []
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers.append((k.strip().lower(), v.strip()))
        status = int(status)
        r = Response(status, reason, headers, b"", version)
        if head_request or status < 200 or status in (204, 304):
            return r
        te = r.header("transfer-encoding")
        cl = r.header("content-length")
        if te and "chunked" in te.lower():
            raise AssertionError("lingerd does not send chunked responses")
        if cl is not None:
            n = int(cl)
            while len(self.buf) < n:
                if not self._more():
                    raise AssertionError("short body: %d of %d" % (len(self.buf), n))
            r.body, self.buf = self.buf[:n], self.buf[n:]
        else:
            self.read_until_close()
            r.body, self.buf = self.buf, b""
        return r


def request(method, path, headers=(), body=b"", version="HTTP/1.1", host="localhost"):
    lines = ["%s %s %s" % (method, path, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    for h in headers:
        lines.append(h)
    if body and not any(h.lower().startswith(("content-length", "transfer-encoding"))
                        for h in headers):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def send_upload(sock, head, size, fill=b"x"):
    """Send a request head and size bytes of body without reading; True if
    the server reset the connection while the body went out."""
    chunk = fill * (256 * 1024)
    try:
        sock.sendall(head)
        left = size
        while left > 0:
            n = min(left, len(chunk))
            sock.sendall(chunk[:n])
            left -= n
    except (ConnectionResetError, BrokenPipeError):
        return True
    return False


def exchange(server, data, n=1, head=False, timeout=10):
    """Send data on a new connection, read n responses; returns (responses, reader)."""
    s = server.connect()
    s.sendall(data)
    rd = Reader(s, timeout)
    out = []
    for _ in range(n):
        r = rd.response(head_request=head)
        if r is None:
            break
        out.append(r)
    return out, rd


def get(server, path, headers=(), method="GET"):
    rs, rd = exchange(server, request(method, path, headers), 1, head=(method == "HEAD"))
    rd.sock.close()
    assert rs, "no response to %s %s" % (method, path)
    return rs[0]


class Poller(threading.Thread):
    """GET path on a new connection every `every` seconds until finish();
    records (started, ended, outcome) per request: 200 when the answer is
    200 with the file's bytes, else what came back or went wrong. Bounded:
    at most 100,000 requests."""

    def __init__(self, srv, path="/index.html", every=0.25):
        super().__init__(daemon=True)
        self.srv = srv
        self.path = path
        self.every = every
        with open(os.path.join(srv.root, path.lstrip("/")), "rb") as f:
            self.want = f.read()
        self.results = []
        self.stop_event = threading.Event()

    def run(self):
        for _ in range(100000):
            if self.stop_event.is_set():
                return
            t0 = time.monotonic()
            try:
                r = get(self.srv, self.path)
                if r.status == 200 and r.body == self.want:
                    what = 200
                else:
                    what = "status %d, %d body bytes" % (r.status, len(r.body))
            except (OSError, AssertionError) as e:
                what = "%r after %.2fs" % (e, time.monotonic() - t0)
            self.results.append((t0, time.monotonic(), what))
            self.stop_event.wait(self.every)

    def ok_count(self):
        return sum(1 for r in list(self.results) if r[2] == 200)

    def finish(self):
        """Stop and return the results."""
        self.stop_event.set()
        self.join(30)
        assert not self.is_alive()
        return self.results


def wait_for(pred, timeout=10, step=0.05):
    """Poll pred() until true or timeout (bounded); returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def get_behind_flood(srv, sample=lambda: None, limit=30):
    """GET /index.html on a new connection while the server is flooded: look
    for the answer every 0.2 s for at most limit seconds, calling sample()
    before each look. Returns (the response or None, seconds waited)."""
    t0 = time.monotonic()
    good = srv.connect(timeout=limit)
    good.sendall(request("GET", "/index.html"))
    rd = Reader(good, timeout=0.2)
    r = None
    for _ in range(int(limit / 0.2) + 100):  # bounded by count and by time
        if r is not None or time.monotonic() - t0 > limit:
            break
        sample()
        try:
            r = rd.response()
        except socket.timeout:
            continue
    waited = time.monotonic() - t0
    good.close()
    return r, waited


UPLOAD_TMP_PREFIX = ".lingerd-put-"


def fd_targets(pid):
    """What each descriptor of process pid names, as /proc/<pid>/fd shows it
    ("/path", "socket:[inode]", "/dir/#inode (deleted)"); empty if it is gone."""
    out = []
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return out
    for fd in fds:
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue
    return out


def upload_files_held(root, pids):
    """{pid: [paths]}: request bodies being received beneath root that each
    pid holds open, unnamed (O_TMPFILE: "#<inode> (deleted)") or temporary
    (".lingerd-put-*"), as /proc/<pid>/fd shows them."""
    out = {}
    for pid in pids:
        for target in fd_targets(pid):
            name = os.path.basename(target)
            if target.startswith(root + "/") and (
                    re.fullmatch(r"#\d+ \(deleted\)", name) or
                    name.startswith(UPLOAD_TMP_PREFIX)):
                out.setdefault(pid, []).append(target)
    return out


def sockets_in_state(port, state):
    """Server-side sockets on port in a TCP state, from ss."""
    out = subprocess.run(["ss", "-tanH", "state", state, "sport", "= :%d" % port],
                         capture_output=True, text=True, timeout=10).stdout
    return [l for l in out.splitlines() if l.strip()]
