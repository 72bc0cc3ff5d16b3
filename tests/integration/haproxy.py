"""A real HAProxy (Debian's haproxy) in front of lingerd instances, for tests.

Started in the foreground (-db) on a free loopback port, stopped by its own
PID. Its admin socket tells a test how HAProxy sees each server (UP, DOWN):
that is how the tests know a health check took an instance out. Clients that
go through it bind 127.0.0.2 (or another loopback address), so the address
lingerd logs for them differs from HAProxy's own (127.0.0.1).

tests/deps.sh installs haproxy with the other test dependencies; the tests
skip, saying so, only where it cannot be installed.
"""

import os
import shutil
import signal
import socket
import subprocess

import pytest

from conftest import Reader, free_port, request, wait_for

HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
SKIP_REASON = "haproxy is not installed (tests/deps.sh installs it: apt-get install haproxy)"

# The balancer's idle keep-alive toward clients is shorter than lingerd's
# keepalive_timeout (15s by default), so an idle connection is always closed
# by HAProxy first (docs/scale-out.md says why).
CONFIG = """
global
    log stderr format raw local0 notice
    stats socket {sock} level admin
    maxconn 1024

defaults
    mode http
    log global
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout http-keep-alive 5s

frontend fe
    bind {host}:{port}
    default_backend be

backend be
    balance roundrobin
    option httpchk
    http-check send meth GET uri {health} ver HTTP/1.1 hdr Host lb
    http-check expect status 200
    default-server inter 100ms fastinter 100ms downinter 100ms fall 2 rise 2 {proxy}
{servers}
{extra}
"""


class HAProxy:
    """HAProxy with a frontend on a free port and servers [(name, port)] on
    127.0.0.1. proxy: "v1" (send-proxy), "v2" (send-proxy-v2) or None."""

    def __init__(self, tmpdir, servers, proxy="v2", health="/healthz", extra=""):
        self.dir = str(tmpdir)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.sock = os.path.join(self.dir, "haproxy.sock")
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        self.log_path = os.path.join(self.dir, "haproxy.log")
        option = {"v1": "send-proxy", "v2": "send-proxy-v2", None: ""}[proxy]
        lines = "\n".join("    server %s 127.0.0.1:%d check" % (n, p) for n, p in servers)
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(sock=self.sock, host=self.host, port=self.port,
                                  health=health, proxy=option, servers=lines, extra=extra))
        self.proc = None

    def start(self):
        check = subprocess.run([HAPROXY, "-c", "-f", self.cfg], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg],
                                     stdout=self.log_file, stderr=self.log_file)
        ok = wait_for(lambda: self.proc.poll() is not None or os.path.exists(self.sock),
                      timeout=10)
        assert ok and self.proc.poll() is None, self.log()
        return self

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        self.proc = None

    def admin(self, command):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(command.encode() + b"\n")
            out = b""
            while True:
                d = s.recv(65536)
                if not d:
                    return out.decode()
                out += d

    def status(self, server):
        """HAProxy's view of a server: "UP", "DOWN", "UP 1/2", "DOWN 1/2"..."""
        lines = self.admin("show stat").splitlines()
        head = lines[0].lstrip("# ").split(",")
        col = head.index("status")
        for line in lines[1:]:
            f = line.split(",")
            if len(f) > col and f[0] == "be" and f[1] == server:
                return f[col]
        raise KeyError(server)

    def wait_status(self, server, want, timeout=15):
        return wait_for(lambda: self.status(server) == want, timeout=timeout, step=0.02)

    def connect(self, timeout=10, source="127.0.0.2"):
        """A client connection through HAProxy from source (a loopback
        address of the test's choosing)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect((self.host, self.port))
        return s


class Via:
    """What the test_process/test_drain load clients need of a server
    (connect), through HAProxy from a chosen source address."""

    def __init__(self, lb, source="127.0.0.2"):
        self.lb = lb
        self.source = source

    def connect(self, timeout=10):
        return self.lb.connect(timeout=timeout, source=self.source)


def metrics(srv):
    """lingerd's /metrics as {"name{labels}": value}, asked directly on its
    plain listener (a proxy_protocol listener would want a header), read and
    checked as test_status reads any exposition."""
    from test_status import parse_exposition
    s = socket.create_connection((srv.host, srv.metrics_port), timeout=5)
    try:
        s.sendall(request("GET", "/metrics", ["Connection: close"]))
        r = Reader(s, 5).response()
    finally:
        s.close()
    assert r is not None and r.status == 200, r
    return parse_exposition(r.body.decode())


@pytest.fixture
def balancer(tmp_path):
    """balancer(servers, **kw) -> a started HAProxy, stopped after the test."""
    started = []

    def make(servers, **kw):
        d = tmp_path / ("haproxy%d" % len(started))
        d.mkdir()
        lb = HAProxy(d, servers, **kw).start()
        started.append(lb)
        return lb

    yield make
    for lb in started:
        lb.stop()
