"""GET and HEAD of files: bodies, types, validators, ranges, paths, methods."""

import hashlib
import os
import socket

from conftest import AUTH, Reader, exchange, get, request

INDEX = open(os.path.join(os.path.dirname(__file__), "..", "..", "www", "index.html"), "rb").read()


def test_get_index_serves_the_bundled_page(server):
    r = get(server, "/")
    assert r.status == 200
    assert r.body == INDEX
    assert r.header("content-type").startswith("text/html")
    assert r.header("content-length") == str(len(INDEX))
    assert r.header("etag").startswith('"')
    assert r.header("last-modified").endswith("GMT")
    assert r.header("date").endswith("GMT")
    assert r.header("server") == "lingerd"


def test_head_has_headers_and_no_body(server):
    s = server.connect()
    s.sendall(request("HEAD", "/index.html") + request("GET", "/about.txt"))
    rd = Reader(s)
    head = rd.response(head_request=True)
    nxt = rd.response()
    assert head.status == 200 and head.body == b""
    assert head.header("content-length") == str(len(INDEX))
    assert nxt.status == 200 and nxt.body.startswith(b"lingerd")
    s.close()


def test_missing_file_is_404_and_keeps_the_connection(server):
    rs, rd = exchange(server, request("GET", "/nope") + request("GET", "/"), 2)
    assert [r.status for r in rs] == [404, 200]
    rd.sock.close()


def test_large_file_arrives_whole_by_sendfile(server):
    data = os.urandom(3 * 1024 * 1024 + 17)
    with open(os.path.join(server.root, "big.bin"), "wb") as f:
        f.write(data)
    r = get(server, "/big.bin")
    assert r.status == 200
    assert hashlib.sha256(r.body).digest() == hashlib.sha256(data).digest()
    assert r.header("content-type") == "application/octet-stream"


def test_directory_without_slash_redirects(server):
    os.mkdir(os.path.join(server.root, "sub"))
    with open(os.path.join(server.root, "sub", "index.html"), "w") as f:
        f.write("<p>sub</p>")
    r = get(server, "/sub")
    assert r.status == 301 and r.header("location") == "/sub/"
    r = get(server, "/sub/")
    assert r.status == 200 and r.body == b"<p>sub</p>"


def test_conditional_get(server):
    first = get(server, "/index.html")
    etag, lm = first.header("etag"), first.header("last-modified")
    assert get(server, "/index.html", ["If-None-Match: " + etag]).status == 304
    assert get(server, "/index.html", ['If-None-Match: "other", ' + etag]).status == 304
    assert get(server, "/index.html", ['If-None-Match: "other"']).status == 200
    assert get(server, "/index.html", ["If-Modified-Since: " + lm]).status == 304
    assert get(server, "/index.html", ["If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT"]
               ).status == 200
    assert get(server, "/index.html", ['If-Match: "nope"']).status == 412
    assert get(server, "/index.html", ["If-Match: " + etag]).status == 200
    assert get(server, "/index.html", ["If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT"]
               ).status == 412


def test_ranges(server):
    r = get(server, "/index.html", ["Range: bytes=0-9"])
    assert r.status == 206 and r.body == INDEX[:10]
    assert r.header("content-range") == "bytes 0-9/%d" % len(INDEX)
    r = get(server, "/index.html", ["Range: bytes=-5"])
    assert r.status == 206 and r.body == INDEX[-5:]
    r = get(server, "/index.html", ["Range: bytes=%d-" % (len(INDEX) - 3)])
    assert r.body == INDEX[-3:]
    r = get(server, "/index.html", ["Range: bytes=99999-"])
    assert r.status == 416 and r.header("content-range") == "bytes */%d" % len(INDEX)
    r = get(server, "/index.html", ["Range: bytes=0-0,-1"])
    assert r.status == 206
    ctype = r.header("content-type")
    assert ctype.startswith("multipart/byteranges; boundary=")
    boundary = ctype.split("boundary=")[1].encode()
    parts = r.body.split(b"--" + boundary)
    assert len(parts) == 4 and parts[-1].startswith(b"--")
    assert parts[1].endswith(b"\r\n\r\n" + INDEX[:1] + b"\r\n")
    assert parts[2].endswith(b"\r\n\r\n" + INDEX[-1:] + b"\r\n")


def test_multipart_over_multipart_max_bytes_sends_the_whole_file(make_server):
    srv = make_server("multipart_max_bytes 1k;")
    data = bytes(range(256)) * 16  # 4 KiB
    with open(os.path.join(srv.root, "four.bin"), "wb") as f:
        f.write(data)
    small = get(srv, "/four.bin", ["Range: bytes=0-9,20-29"])
    assert small.status == 206
    assert small.header("content-type").startswith("multipart/byteranges")
    assert data[:10] in small.body and data[20:30] in small.body
    big = get(srv, "/four.bin", ["Range: bytes=0-999,2000-2999"])
    assert big.status == 200 and big.body == data


def test_if_range_with_an_old_validator_sends_the_whole_file(server):
    r = get(server, "/index.html", ["Range: bytes=0-9", 'If-Range: "old"'])
    assert r.status == 200 and r.body == INDEX
    etag = get(server, "/index.html").header("etag")
    r = get(server, "/index.html", ["Range: bytes=0-9", "If-Range: " + etag])
    assert r.status == 206


def test_no_path_escapes_the_root(server, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    os.symlink(str(secret), os.path.join(server.root, "link-out"))
    os.symlink("about.txt", os.path.join(server.root, "link-in"))
    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/a/../../secret.txt",
                 "/link-out", "/%2E%2E%2Fsecret.txt", "/..%2fsecret.txt"]:
        r = get(server, path)
        assert r.status in (400, 403, 404), path
        assert b"secret" not in r.body, path
    assert get(server, "/link-in").status == 200  # a symlink that stays inside
    assert get(server, "/index.html%00.txt").status == 400


def test_options_and_methods(server):
    r = get(server, "/", method="OPTIONS")
    assert r.status == 200 and r.header("allow") == "GET, HEAD, OPTIONS"
    r = get(server, "/", method="TRACE")
    assert r.status == 405 and "GET" in r.header("allow")
    r = get(server, "/index.html", method="DELETE")
    assert r.status == 405 and r.header("allow") == "GET, HEAD, OPTIONS"
    r = get(server, "/", method="BREW")
    assert r.status == 501
    r = get(server, "/upload/", method="OPTIONS")
    assert r.status == 401  # the upload area asks for credentials first
    r = get(server, "/upload/", ["Authorization: " + AUTH], method="OPTIONS")
    assert r.status == 200 and r.header("allow") == "GET, HEAD, POST, PUT, DELETE, OPTIONS"


def test_pipelined_burst_of_100_is_answered_in_order(server):
    names = ["/index.html", "/nope", "/about.txt", "/style.css"]
    data = b"".join(request("GET", names[i % 4] + "?n=%d" % i) for i in range(100))
    s = server.connect()
    s.sendall(data)
    rd = Reader(s)
    statuses = []
    for i in range(100):
        r = rd.response()
        assert r is not None, "only %d responses" % i
        statuses.append(r.status)
        if names[i % 4] == "/about.txt":
            assert r.body.startswith(b"lingerd")
    assert statuses == [404 if i % 4 == 1 else 200 for i in range(100)]
    s.close()


def test_http10_closes_unless_keep_alive(server):
    rs, rd = exchange(server, request("GET", "/", version="HTTP/1.0", host=None), 1)
    assert rs[0].status == 200
    rd.read_until_close()
    assert rd.eof and not rd.reset
    rs, rd = exchange(server, request("GET", "/", ["Connection: keep-alive"],
                                      version="HTTP/1.0") * 2, 2)
    assert [r.status for r in rs] == [200, 200]
    assert rs[0].header("connection").lower() == "keep-alive"
    rd.sock.close()


def test_keep_alive_header_advertises_the_idle_timeout(make_server):
    srv = make_server("keepalive_timeout 10s;")
    r = get(srv, "/")
    assert r.header("keep-alive") == "timeout=9"


def test_ipv6_listen(make_server):
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        import pytest
        pytest.skip("no IPv6 loopback on this machine")
    srv = make_server(host="::1")
    assert get(srv, "/").status == 200


def test_sigterm_stops_cleanly_with_connections_open(server):
    s = server.connect()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # half a request
    assert server.stop() == 0
    s.close()



def test_a_fifo_is_refused_without_holding_the_worker(server):
    """A named pipe in the root is not a file to serve; opening it must not
    wait for a writer (the worker would serve nothing else meanwhile)."""
    os.mkfifo(os.path.join(server.root, "pipe.txt"))
    assert get(server, "/pipe.txt").status == 403
    assert get(server, "/about.txt").status == 200
