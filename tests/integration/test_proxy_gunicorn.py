"""Ordinary proxying in front of a real application server: gunicorn (Debian
`gunicorn`, threaded workers so it keeps connections alive) serving
tests/integration/wsgi_app.py, started and stopped by each test."""

import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import Reader, exchange, free_port, request
from test_proxy import post_upload, read_chunked_response

HERE = os.path.dirname(os.path.abspath(__file__))
GUNICORN = shutil.which("gunicorn")
MIB = 1024 * 1024


@pytest.fixture
def gunicorn(tmp_path):
    assert GUNICORN, "gunicorn is missing: sh tests/deps.sh installs it"
    port = free_port()
    proc = subprocess.Popen(
        [GUNICORN, "--bind", "127.0.0.1:%d" % port, "--workers", "1",
         "--worker-class", "gthread", "--threads", "4", "--keep-alive", "2",
         "--chdir", HERE, "wsgi_app:app"],
        stdout=subprocess.DEVNULL, stderr=open(str(tmp_path / "gunicorn.log"), "w"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        proc.wait()
        pytest.fail("gunicorn did not start")
    yield "127.0.0.1:%d" % port
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def behind(make_server, addr):
    return make_server("body_max_bytes 64m;\nlocation /app/ {\n methods GET HEAD POST PUT;\n"
                       " proxy_pass %s;\n}\n" % addr)


def test_get_through_gunicorn(make_server, gunicorn):
    srv = behind(make_server, gunicorn)
    rs, rd = exchange(srv, request("GET", "/app/hello?x=1", ["X-Private: p",
                                                              "Connection: X-Private"],
                                   host="site.test"), n=1)
    rd.sock.close()
    r = rs[0]
    assert r.status == 200
    text = r.body.decode()
    assert text.startswith("GET /app/hello?x=1\n")
    assert "HTTP_HOST=site.test\n" in text
    assert "HTTP_X_FORWARDED_FOR=127.0.0.1\n" in text
    assert "HTTP_X_FORWARDED_PROTO=http\n" in text
    assert 'HTTP_FORWARDED=for=127.0.0.1;proto=http;host="site.test"\n' in text
    assert "HTTP_X_PRIVATE=-\n" in text  # named by Connection: hop-by-hop


@pytest.mark.parametrize("chunked", [False, True])
def test_upload_echoed_by_gunicorn(make_server, gunicorn, chunked):
    srv = behind(make_server, gunicorn)
    body = os.urandom(2 * MIB + 3)
    data = post_upload("/app/echo", body, chunked, step=50000)
    rs, rd = exchange(srv, data, timeout=30)
    rd.sock.close()
    assert rs[0].status == 200 and rs[0].body == body


def test_streamed_download_and_keep_alive(make_server, gunicorn):
    srv = behind(make_server, gunicorn)
    s = srv.connect(timeout=30)
    rd = Reader(s, timeout=30)
    for n in (10 * MIB + 5, 3):
        s.sendall(request("GET", "/app/big?n=%d" % n))
        status, headers, body = read_chunked_response(rd)
        assert status == 200 and body == b"g" * n
    s.close()
