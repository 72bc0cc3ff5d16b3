"""Small application servers for the proxy tests, started by the tests.

Each App listens on a free loopback port and serves every connection in a
thread with a handler written as plain socket code, so a test can make an
upstream misbehave exactly: answer early and close or reset, send a
malformed head, drop a request on a reused connection, stall. Every wait is
bounded (socket timeouts); stop() closes the listener and joins the threads.
"""

import socket
import struct
import threading

import pytest


def read_head(sock, buf=b""):
    """Read up to the end of a request head; returns (head, rest) or (None, buf)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def header(head, name):
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return None


def read_body(sock, head, rest):
    """The request body (Content-Length or chunked); returns (body, rest)."""
    cl = header(head, "content-length")
    te = header(head, "transfer-encoding")
    buf = rest
    if te and te.lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in buf:
                buf += sock.recv(65536)
            line, buf = buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            while len(buf) < size + 2:
                buf += sock.recv(65536)
            body += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                return body, buf
    n = int(cl or 0)
    while len(buf) < n:
        data = sock.recv(65536)
        if not data:
            break
        buf += data
    return buf[:n], buf[n:]


def reset_close(sock):
    """Close with a reset (SO_LINGER 0)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class App:
    """handler(sock, app) serves one connection; app.count(key) counts events."""

    def __init__(self, handler, timeout=20, family=socket.AF_INET, path=None, host=None,
                 port=0):
        self.handler = handler
        self.timeout = timeout
        if path:
            self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.lsock.bind(path)
            self.addr = "unix:" + path
        else:
            self.lsock = socket.socket(family, socket.SOCK_STREAM)
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            host = host or ("::1" if family == socket.AF_INET6 else "127.0.0.1")
            self.lsock.bind((host, port))
            port = self.lsock.getsockname()[1]
            self.addr = "[%s]:%d" % (host, port) if family == socket.AF_INET6 else \
                "%s:%d" % (host, port)
        self.lsock.listen(128)
        self.lock = threading.Lock()
        self.counts = {}
        self.seen = []
        self.threads = []
        self.stopping = False
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def count(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def get(self, key):
        with self.lock:
            return self.counts.get(key, 0)

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            s.settimeout(self.timeout)
            self.count("connections")
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            t.start()
            with self.lock:
                self.threads = [x for x in self.threads if x.is_alive()] + [t]

    def _serve(self, s):
        try:
            self.handler(s, self)
        except OSError:
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        self.acceptor.join(10)
        with self.lock:
            threads = list(self.threads)
        for t in threads:
            t.join(25)


def respond(sock, status, body=b"", headers=(), reason="X"):
    lines = ["HTTP/1.1 %d %s" % (status, reason), "Content-Length: %d" % len(body)]
    lines += list(headers)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def each_request(sock):
    """The requests of one keep-alive connection, (head, body) each, until
    the client closes."""
    buf = b""
    while True:
        head, buf = read_head(sock, buf)
        if head is None:
            return
        body, buf = read_body(sock, head, buf)
        yield head, body


def echo_handler(sock, app):
    """Keep-alive: answer each request with 200 and a body naming what it saw."""
    for head, body in each_request(sock):
        app.count("requests")
        with app.lock:
            app.seen.append(head)
        out = ("%s\r\n\r\n%d\n" % (head, len(body))).encode("latin-1") + body
        respond(sock, 200, out, ["X-App: echo", "Connection: keep-alive, X-Secret",
                                 "X-Secret: hop", "Keep-Alive: timeout=5"])


@pytest.fixture
def apps():
    """apps(handler, **kw) -> a started App, stopped after the test (import
    the fixture into a test module to use it)."""
    started = []

    def make(handler, **kw):
        a = App(handler, **kw)
        started.append(a)
        return a

    yield make
    for a in started:
        a.stop()
