"""PUT, POST and DELETE under /upload/: every status, the body paths
(Content-Length, chunked with trailers, 100-continue), the atomic replace
(a PUT that dies midway leaves the old file and no temporary file), a
100 MiB upload checked by sha256, and real clients (curl).

A body is received into an unnamed file (O_TMPFILE); on a file system
without O_TMPFILE, into a named ".lingerd-put-*" file. The tests about an
upload in progress run both ways: the "named" servers run under
no_tmpfile.py, which makes O_TMPFILE fail with EOPNOTSUPP.

Every outcome is checked on the wire (status, headers) and on disk, under
server.root/upload/. The only waits are bounded polls (wait_for) for things
the server does after a client vanished, where no response tells us when.
"""

import email.utils
import hashlib
import os
import random
import re
import socket
import struct
import subprocess
import time

import pytest

import conftest
from conftest import AUTH, Reader, exchange, get, request, wait_for
from test_abuse import proc_tree

MIB = 1024 * 1024
TMP_PREFIX = ".lingerd-put-"
UPLOAD_ALLOW = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
WRONG_AUTH = "Basic dGVzdDp3cm9uZw=="  # test:wrong
BIG = "body_max_bytes 1g;"


# ---------------------------------------------------------------------------
# helpers


def up(srv, *names):
    """Path on disk beneath the upload area."""
    return os.path.join(srv.root, "upload", *names)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def _umask():
    """The umask this process (and so the server it starts) runs with."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_files(srv):
    """Every server temporary file anywhere beneath the root."""
    found = []
    for d, _, files in os.walk(srv.root):
        found += [os.path.join(d, f) for f in files if f.startswith(TMP_PREFIX)]
    return found


def open_uploads(srv):
    """Bodies being received: files beneath the root that the server's
    processes hold open as unnamed (O_TMPFILE: "#<inode> (deleted)") or
    temporary (".lingerd-put-*") files. Paths as /proc/<pid>/fd shows them."""
    held = conftest.upload_files_held(srv.root, proc_tree(srv.proc.pid))
    found = [path for paths in held.values() for path in paths]
    return found


@pytest.fixture(params=["unnamed", "named"])
def upload_kind(request, monkeypatch, tmp_path):
    """"unnamed": the server as it is. "named": the same binary under
    no_tmpfile.py, so every upload takes the named temporary file path."""
    if request.param == "named":
        wrapper = tmp_path / "lingerd-no-tmpfile"
        wrapper.write_text('#!/bin/sh\nexec /usr/bin/python3 %s %s "$@"\n' % (
            os.path.join(os.path.dirname(__file__), "no_tmpfile.py"), conftest.BIN))
        wrapper.chmod(0o755)
        monkeypatch.setattr(conftest, "BIN", str(wrapper))
    return request.param


def call(srv, method, path, body=b"", headers=(), auth=AUTH):
    """One request on a fresh connection; the response."""
    hs = list(headers)
    if auth:
        hs.append("Authorization: " + auth)
    if method in ("PUT", "POST") and not body and \
            not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in hs):
        hs.append("Content-Length: 0")
    rs, rd = exchange(srv, request(method, path, hs, body), 1, head=(method == "HEAD"))
    rd.sock.close()
    assert rs, "no response to %s %s" % (method, path)
    return rs[0]


def chunked(parts, trailers=()):
    out = b""
    for p in parts:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    out += b"0\r\n"
    for t in trailers:
        out += t.encode("latin-1") + b"\r\n"
    return out + b"\r\n"


def first_head(rd):
    """The next response head, interim ones included (Reader.response skips
    1xx): (status, raw head bytes)."""
    while b"\r\n\r\n" not in rd.buf:
        assert rd._more(), "connection ended before a response head: %r" % rd.buf
    head = rd.buf.split(b"\r\n\r\n", 1)[0]
    return int(head.split(b" ", 2)[1]), head


def seeded_chunks(seed, total, step=MIB):
    rng = random.Random(seed)
    left = total
    while left:
        n = min(step, left)
        yield rng.randbytes(n)
        left -= n


def start_put(srv, path, length, extra_headers=()):
    """A socket with a PUT head sent (authorised, Content-Length: length)."""
    s = srv.connect(timeout=30)
    s.sendall(request("PUT", path, ["Authorization: " + AUTH,
                                    "Content-Length: %d" % length] + list(extra_headers)))
    return s


# ---------------------------------------------------------------------------
# 201, 204 and the bytes on disk


def test_put_new_file_is_201_with_location_and_etag(server):
    r = call(server, "PUT", "/upload/new.txt", b"hello\n")
    assert r.status == 201
    assert r.header("location") == "/upload/new.txt"
    assert r.header("content-length") is not None
    assert read(up(server, "new.txt")) == b"hello\n"
    assert re.fullmatch(r'"[!#-~]+"', r.header("etag", "")), r.header("etag")
    g = get(server, "/upload/new.txt", ["Authorization: " + AUTH])
    assert g.status == 200 and g.body == b"hello\n"
    assert g.header("etag") == r.header("etag")
    assert temp_files(server) == []


def test_put_location_is_percent_encoded_again(server):
    r = call(server, "PUT", "/upload/a%20b%25c.txt", b"x")
    assert r.status == 201
    assert r.header("location") == "/upload/a%20b%25c.txt"
    assert read(up(server, "a b%c.txt")) == b"x"


def test_put_replace_is_204_without_body_and_keeps_the_connection(server):
    write(up(server, "r.txt"), b"old content\n")
    s = server.connect()
    s.sendall(request("PUT", "/upload/r.txt", ["Authorization: " + AUTH], b"new!\n") +
              request("GET", "/upload/r.txt", ["Authorization: " + AUTH]))
    rd = Reader(s)
    put, got = rd.response(), rd.response()
    s.close()
    assert put.status == 204
    assert put.header("content-length") is None and put.body == b""
    assert put.header("location") is None
    assert put.header("etag") is not None
    assert got.status == 200 and got.body == b"new!\n"
    assert got.header("etag") == put.header("etag")
    assert read(up(server, "r.txt")) == b"new!\n"
    assert sorted(os.listdir(up(server))) == ["r.txt"]


def test_put_empty_body_creates_an_empty_file(server):
    r = call(server, "PUT", "/upload/empty", headers=["Content-Length: 0"])
    assert r.status == 201
    assert read(up(server, "empty")) == b""


def test_file_mode_sets_the_new_file_permissions(make_server, upload_kind):
    srv = make_server("file_mode 0600;")
    assert call(srv, "PUT", "/upload/m.txt", b"m").status == 201
    assert os.stat(up(srv, "m.txt")).st_mode & 0o777 == 0o600
    r = call(srv, "POST", "/upload/", b"p")
    assert r.status == 201
    assert os.stat(up(srv, r.header("location").rsplit("/", 1)[1])).st_mode & 0o777 == 0o600


def test_put_post_replace_store_the_body_either_way(make_server, upload_kind):
    # The unnamed file and the named fallback end the same: the body under
    # the target's name (new, replaced) or a new POST name, nothing else.
    srv = make_server(BIG)
    body = os.urandom(3 * MIB + 17)
    assert call(srv, "PUT", "/upload/r.bin", b"old").status == 201
    r = call(srv, "PUT", "/upload/r.bin", body)
    assert r.status == 204
    assert read(up(srv, "r.bin")) == body
    r = call(srv, "POST", "/upload/", body[::-1])
    assert r.status == 201
    name = r.header("location").rsplit("/", 1)[1]
    assert read(up(srv, name)) == body[::-1]
    assert sorted(os.listdir(up(srv))) == sorted(["r.bin", name])
    assert open_uploads(srv) == []


def test_default_file_mode_is_0644_less_the_umask(server):
    assert call(server, "PUT", "/upload/d.txt", b"d").status == 201
    assert os.stat(up(server, "d.txt")).st_mode & 0o777 == 0o644 & ~_umask()


# ---------------------------------------------------------------------------
# 401


@pytest.mark.parametrize("auth", [None, WRONG_AUTH, "Basic !!!!", "Bearer abc"])
def test_put_without_valid_credentials_is_401_with_challenge(server, auth):
    r = call(server, "PUT", "/upload/x.txt", b"data", auth=auth)
    assert r.status == 401
    assert r.header("www-authenticate") == 'Basic realm="uploads", charset="UTF-8"'
    assert not os.path.exists(up(server, "x.txt"))
    assert temp_files(server) == []


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_post_and_delete_without_credentials_are_401(server, method):
    write(up(server, "keep.txt"), b"keep")
    path = "/upload/" if method == "POST" else "/upload/keep.txt"
    r = call(server, method, path, b"x" if method == "POST" else b"", auth=None)
    assert r.status == 401
    assert r.header("www-authenticate", "").startswith("Basic realm=")
    assert os.listdir(up(server)) == ["keep.txt"]
    assert read(up(server, "keep.txt")) == b"keep"


def test_401_with_small_body_keeps_the_connection(server):
    # The refused body (under discard_body_max_bytes) is read and discarded.
    s = server.connect()
    s.sendall(request("PUT", "/upload/x.txt", [], b"z" * 1000) +
              request("GET", "/about.txt"))
    rd = Reader(s)
    r1, r2 = rd.response(), rd.response()
    s.close()
    assert (r1.status, r2.status) == (401, 200)
    assert not os.path.exists(up(server, "x.txt"))


# ---------------------------------------------------------------------------
# 403


@pytest.mark.parametrize("name", [".lingerd-x", ".lingerd-put-0123456789ab", ".lingerd-"])
def test_put_of_a_reserved_name_is_403(server, name):
    r = call(server, "PUT", "/upload/" + name, b"x")
    assert r.status == 403
    assert os.listdir(up(server)) == []


def test_reserved_name_in_a_directory_component_is_403(make_server):
    srv = make_server("create_dirs on;")
    r = call(srv, "PUT", "/upload/.lingerd-d/f.txt", b"x")
    assert r.status == 403
    assert os.listdir(up(srv)) == []
    r = call(srv, "POST", "/upload/.lingerd-d/", b"x")
    assert r.status == 403
    assert os.listdir(up(srv)) == []


def test_delete_of_a_reserved_name_is_403_and_keeps_it(server):
    write(up(server, ".lingerd-put-000000000000"), b"tmp")
    r = call(server, "DELETE", "/upload/.lingerd-put-000000000000")
    assert r.status == 403
    assert read(up(server, ".lingerd-put-000000000000")) == b"tmp"


def test_put_and_delete_of_the_location_top_are_403(make_server):
    srv = make_server("location /drop {\n methods GET HEAD PUT POST DELETE;\n}\n")
    assert call(srv, "PUT", "/drop", b"x", auth=None).status == 403
    assert not os.path.exists(os.path.join(srv.root, "drop"))
    write(os.path.join(srv.root, "drop"), b"top")
    assert call(srv, "DELETE", "/drop", auth=None).status == 403
    assert call(srv, "PUT", "/drop", b"x", auth=None).status == 403
    assert read(os.path.join(srv.root, "drop")) == b"top"


def test_put_and_delete_through_a_symlinked_target_are_403(server):
    outside = os.path.join(server.root, "about.txt")
    before = read(outside)
    os.symlink(outside, up(server, "link"))
    r = call(server, "PUT", "/upload/link", b"overwritten")
    assert r.status == 403
    assert os.path.islink(up(server, "link"))
    assert read(outside) == before
    r = call(server, "DELETE", "/upload/link")
    assert r.status == 403
    assert os.path.islink(up(server, "link"))
    assert temp_files(server) == []


def test_put_and_post_through_a_symlinked_directory_are_403(make_server):
    srv = make_server("create_dirs on;")
    os.mkdir(up(srv, "real"))
    os.symlink(up(srv, "real"), up(srv, "dirlink"))
    assert call(srv, "PUT", "/upload/dirlink/f.txt", b"x").status == 403
    assert call(srv, "PUT", "/upload/dirlink/new/f.txt", b"x").status == 403
    assert call(srv, "POST", "/upload/dirlink/", b"x").status == 403
    assert os.listdir(up(srv, "real")) == []
    write(up(srv, "real", "f.txt"), b"keep")
    assert call(srv, "DELETE", "/upload/dirlink/f.txt").status == 403
    assert read(up(srv, "real", "f.txt")) == b"keep"


def test_symlink_to_a_directory_outside_the_root_is_403(server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(str(outside), up(server, "out"))
    assert call(server, "PUT", "/upload/out/f.txt", b"x").status == 403
    assert os.listdir(str(outside)) == []


# ---------------------------------------------------------------------------
# 400


@pytest.mark.parametrize("enc", ["%01", "%0A", "%0D", "%1F", "%7F", "%00"])
def test_control_bytes_in_names_are_400(server, enc):
    r = call(server, "PUT", "/upload/a%sb" % enc, b"x")
    assert r.status == 400
    assert r.header("connection") == "close"
    r = call(server, "POST", "/upload/d%s/" % enc, b"x")
    assert r.status == 400
    r = call(server, "DELETE", "/upload/a%sb" % enc)
    assert r.status == 400
    assert os.listdir(up(server)) == []


def test_over_long_name_is_400(server):
    r = call(server, "PUT", "/upload/" + "n" * 256, b"x")
    assert r.status == 400
    assert call(server, "PUT", "/upload/" + "n" * 255, b"x").status == 201
    assert os.listdir(up(server)) == ["n" * 255]


# ---------------------------------------------------------------------------
# DELETE: 204, 404


def test_delete_removes_the_file_then_404(server):
    write(up(server, "gone.txt"), b"bye")
    r = call(server, "DELETE", "/upload/gone.txt")
    assert r.status == 204
    assert r.header("content-length") is None and r.body == b""
    assert not os.path.exists(up(server, "gone.txt"))
    r = call(server, "DELETE", "/upload/gone.txt")
    assert r.status == 404


def test_delete_in_a_missing_directory_is_404(server):
    assert call(server, "DELETE", "/upload/nodir/f.txt").status == 404


def test_get_of_the_deleted_file_is_404(server):
    write(up(server, "g.txt"), b"g")
    assert call(server, "DELETE", "/upload/g.txt").status == 204
    assert get(server, "/upload/g.txt", ["Authorization: " + AUTH]).status == 404


# ---------------------------------------------------------------------------
# 405


@pytest.mark.parametrize("auth", [AUTH, None])
def test_method_outside_the_upload_location_is_405_with_allow(server, auth):
    write(up(server, "p.txt"), b"p")
    r = call(server, "PATCH", "/upload/p.txt", b"q", auth=auth)
    assert r.status == 405
    assert r.header("allow") == UPLOAD_ALLOW
    assert read(up(server, "p.txt")) == b"p"


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_upload_methods_outside_the_upload_location_are_405(server, method):
    before = read(os.path.join(server.root, "about.txt"))
    path = "/" if method == "POST" else "/about.txt"
    r = call(server, method, path, b"x" if method != "DELETE" else b"")
    assert r.status == 405
    assert r.header("allow") == "GET, HEAD, OPTIONS"
    assert read(os.path.join(server.root, "about.txt")) == before
    assert temp_files(server) == []


def test_options_lists_the_upload_methods(server):
    r = call(server, "OPTIONS", "/upload/x")
    assert r.status == 200 and r.header("allow") == UPLOAD_ALLOW


# ---------------------------------------------------------------------------
# 409


def test_put_with_a_missing_parent_is_409(server):
    r = call(server, "PUT", "/upload/nope/f.txt", b"x")
    assert r.status == 409
    assert os.listdir(up(server)) == []


def test_put_with_a_file_as_parent_is_409(server):
    write(up(server, "file"), b"f")
    assert call(server, "PUT", "/upload/file/f.txt", b"x").status == 409
    assert read(up(server, "file")) == b"f"


@pytest.mark.parametrize("path", ["/upload/sub", "/upload/sub/", "/upload/"])
def test_put_to_a_directory_is_409(server, path):
    os.mkdir(up(server, "sub"))
    r = call(server, "PUT", path, b"x")
    assert r.status == 409
    assert os.path.isdir(up(server, "sub")) and os.listdir(up(server, "sub")) == []
    assert temp_files(server) == []


@pytest.mark.parametrize("path", ["/upload/sub", "/upload/sub/"])
def test_delete_of_a_directory_is_409(server, path):
    os.mkdir(up(server, "sub"))
    assert call(server, "DELETE", path).status == 409
    assert os.path.isdir(up(server, "sub"))


def test_post_to_a_file_is_409(server):
    write(up(server, "f.txt"), b"file")
    r = call(server, "POST", "/upload/f.txt", b"x")
    assert r.status == 409
    assert os.listdir(up(server)) == ["f.txt"] and read(up(server, "f.txt")) == b"file"


def test_post_to_a_missing_collection_is_409(server):
    assert call(server, "POST", "/upload/none/", b"x").status == 409
    assert os.listdir(up(server)) == []


# ---------------------------------------------------------------------------
# 412


def head_etag(srv, path):
    r = call(srv, "HEAD", path)
    assert r.status == 200
    return r.header("etag")


def test_if_match_wrong_etag_is_412_and_keeps_the_file(server):
    write(up(server, "c.txt"), b"v1")
    r = call(server, "PUT", "/upload/c.txt", b"v2", ['If-Match: "nope"'])
    assert r.status == 412
    assert read(up(server, "c.txt")) == b"v1"
    r = call(server, "DELETE", "/upload/c.txt", headers=['If-Match: "nope"'])
    assert r.status == 412
    assert read(up(server, "c.txt")) == b"v1"
    assert temp_files(server) == []


def test_if_match_right_etag_replaces(server):
    write(up(server, "c.txt"), b"v1")
    etag = head_etag(server, "/upload/c.txt")
    r = call(server, "PUT", "/upload/c.txt", b"v2 longer", ["If-Match: " + etag])
    assert r.status == 204
    assert read(up(server, "c.txt")) == b"v2 longer"
    etag = head_etag(server, "/upload/c.txt")
    assert call(server, "DELETE", "/upload/c.txt", headers=["If-Match: " + etag]).status == 204
    assert not os.path.exists(up(server, "c.txt"))


def test_if_match_star_on_a_missing_file_is_412(server):
    r = call(server, "PUT", "/upload/none.txt", b"x", ["If-Match: *"])
    assert r.status == 412
    assert os.listdir(up(server)) == []


def test_if_none_match_star_is_412_on_an_existing_file_201_on_a_new_one(server):
    write(up(server, "c.txt"), b"v1")
    r = call(server, "PUT", "/upload/c.txt", b"v2", ["If-None-Match: *"])
    assert r.status == 412
    assert read(up(server, "c.txt")) == b"v1"
    r = call(server, "PUT", "/upload/n.txt", b"n", ["If-None-Match: *"])
    assert r.status == 201
    assert read(up(server, "n.txt")) == b"n"


def test_if_unmodified_since_in_the_past_is_412(server):
    write(up(server, "c.txt"), b"v1")
    r = call(server, "PUT", "/upload/c.txt", b"v2",
             ["If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT"])
    assert r.status == 412
    assert read(up(server, "c.txt")) == b"v1"
    r = call(server, "DELETE", "/upload/c.txt",
             headers=["If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT"])
    assert r.status == 412
    assert read(up(server, "c.txt")) == b"v1"
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    r = call(server, "PUT", "/upload/c.txt", b"v2", ["If-Unmodified-Since: " + later])
    assert r.status == 204
    assert read(up(server, "c.txt")) == b"v2"


def test_etag_changes_when_a_same_size_replace_lands_in_the_same_second(server):
    # A strong validator must change whenever the content does (RFC 9110
    # 8.8.1). Otherwise If-Match cannot prevent a lost update: a client
    # holding the first ETag overwrites the second writer's change.
    # Two same-size PUTs in the same second (retried in the rare case the
    # pair straddles a second boundary, where the ETags differ anyway).
    for _ in range(5):
        first = call(server, "PUT", "/upload/v.txt", b"AAAA")
        assert first.status in (201, 204)
        t1 = int(os.stat(up(server, "v.txt")).st_mtime)
        second = call(server, "PUT", "/upload/v.txt", b"BBBB")
        assert second.status == 204
        if int(os.stat(up(server, "v.txt")).st_mtime) == t1:
            break
    assert second.header("etag") != first.header("etag")
    r = call(server, "PUT", "/upload/v.txt", b"CCCC", ["If-Match: " + first.header("etag")])
    assert r.status == 412
    assert read(up(server, "v.txt")) == b"BBBB"


def test_conditional_put_is_412_if_the_file_changes_while_the_body_arrives(make_server):
    srv = make_server(BIG)
    write(up(srv, "c.txt"), b"v1")
    etag = head_etag(srv, "/upload/c.txt")
    s = start_put(srv, "/upload/c.txt", 2 * MIB, ["If-Match: " + etag])
    s.sendall(b"a" * MIB)
    assert wait_for(lambda: open_uploads(srv))
    # Someone else replaces the file meanwhile (a new inode, another size).
    write(up(srv, "other"), b"changed meanwhile")
    os.rename(up(srv, "other"), up(srv, "c.txt"))
    s.sendall(b"a" * MIB)
    r = Reader(s, timeout=30).response()
    s.close()
    assert r.status == 412
    assert read(up(srv, "c.txt")) == b"changed meanwhile"
    assert temp_files(srv) == []


# ---------------------------------------------------------------------------
# 413


def test_content_length_over_body_max_bytes_is_413(make_server):
    srv = make_server("body_max_bytes 10k;")
    write(up(srv, "t.bin"), b"old")
    r = call(srv, "PUT", "/upload/t.bin", b"z" * (10 * 1024 + 1))
    assert r.status == 413
    assert r.header("connection") == "close"
    assert read(up(srv, "t.bin")) == b"old"
    assert call(srv, "POST", "/upload/", b"z" * (10 * 1024 + 1)).status == 413
    assert os.listdir(up(srv)) == ["t.bin"]
    r = call(srv, "PUT", "/upload/t.bin", b"z" * (10 * 1024))
    assert r.status == 204
    assert read(up(srv, "t.bin")) == b"z" * (10 * 1024)


def test_content_length_413_is_decided_from_the_head(make_server):
    # No body byte is sent: the 413 must come anyway, and no temp file.
    srv = make_server("body_max_bytes 10k;")
    s = start_put(srv, "/upload/t.bin", 100 * MIB)
    rd = Reader(s)
    r = rd.response()
    s.close()
    assert r.status == 413
    assert os.listdir(up(srv)) == []


@pytest.mark.parametrize("method,path", [("PUT", "/upload/t.bin"), ("POST", "/upload/")])
def test_chunked_body_over_body_max_bytes_is_413(make_server, method, path):
    srv = make_server("body_max_bytes 10k;")
    write(up(srv, "t.bin"), b"old")
    body = chunked([b"y" * 4096] * 5)
    rs, rd = exchange(srv, request(method, path, ["Authorization: " + AUTH,
                                                  "Transfer-Encoding: chunked"], body))
    rd.read_until_close()
    rd.sock.close()
    assert [r.status for r in rs] == [413]
    assert rs[0].header("connection") == "close"
    assert os.listdir(up(srv)) == ["t.bin"]
    assert read(up(srv, "t.bin")) == b"old"


def test_chunked_body_of_exactly_body_max_bytes_is_accepted(make_server):
    srv = make_server("body_max_bytes 10k;")
    body = chunked([b"y" * 4096, b"y" * 4096, b"y" * 2048])
    r = call(srv, "PUT", "/upload/t.bin", body, ["Transfer-Encoding: chunked"])
    assert r.status == 201
    assert read(up(srv, "t.bin")) == b"y" * 10240


# ---------------------------------------------------------------------------
# 408


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_stalled_body_is_408_and_leaves_the_old_file(make_server, framing):
    srv = make_server("body_timeout 300ms;")
    write(up(srv, "s.txt"), b"old content")
    s = srv.connect()
    if framing == "length":
        s.sendall(request("PUT", "/upload/s.txt", ["Authorization: " + AUTH,
                                                   "Content-Length: 1000"]) + b"x" * 10)
    else:
        s.sendall(request("PUT", "/upload/s.txt", ["Authorization: " + AUTH,
                                                   "Transfer-Encoding: chunked"]) +
                  b"400\r\n" + b"x" * 10)
    rd = Reader(s)
    r = rd.response()
    assert r.status == 408
    assert r.header("connection") == "close"
    rd.read_until_close()
    s.close()
    assert read(up(srv, "s.txt")) == b"old content"
    assert temp_files(srv) == []


# ---------------------------------------------------------------------------
# 417 and 100-continue


def test_unknown_expectation_is_417(server):
    r = call(server, "PUT", "/upload/e.txt", b"x", ["Expect: teapot"])
    assert r.status == 417
    assert not os.path.exists(up(server, "e.txt"))


def test_100_continue_then_201_when_the_put_is_accepted(server):
    s = server.connect()
    s.sendall(request("PUT", "/upload/c.txt", ["Authorization: " + AUTH,
                                               "Content-Length: 5", "Expect: 100-continue"]))
    rd = Reader(s)
    status, head = first_head(rd)
    assert status == 100 and head == b"HTTP/1.1 100 Continue"
    rd.buf = rd.buf.split(b"\r\n\r\n", 1)[1]
    s.sendall(b"hello")
    r = rd.response()
    s.close()
    assert r.status == 201
    assert read(up(server, "c.txt")) == b"hello"


def test_100_continue_for_an_accepted_post_and_chunked_put(server):
    s = server.connect()
    s.sendall(request("POST", "/upload/", ["Authorization: " + AUTH,
                                           "Content-Length: 3", "Expect: 100-continue"]))
    rd = Reader(s)
    assert first_head(rd)[0] == 100
    s.sendall(b"abc")
    assert rd.response().status == 201
    s.sendall(request("PUT", "/upload/ch.txt", ["Authorization: " + AUTH,
                                                "Transfer-Encoding: chunked",
                                                "Expect: 100-continue"]))
    assert first_head(rd)[0] == 100
    s.sendall(chunked([b"chunk"]))
    assert rd.response().status == 201
    s.close()
    assert read(up(server, "ch.txt")) == b"chunk"


REFUSALS = [
    ("401", "PUT", "/upload/x.txt", [], 401),
    ("413", "PUT", "/upload/x.txt", ["Authorization: " + AUTH, "Content-Length: 2000000"], 413),
    ("409", "PUT", "/upload/nope/x.txt", ["Authorization: " + AUTH], 409),
    ("412", "PUT", "/upload/exists.txt", ["Authorization: " + AUTH, "If-None-Match: *"], 412),
    ("403", "PUT", "/upload/.lingerd-x", ["Authorization: " + AUTH], 403),
    ("405", "PUT", "/outside.txt", ["Authorization: " + AUTH], 405),
    ("409post", "POST", "/upload/exists.txt", ["Authorization: " + AUTH], 409),
]


@pytest.mark.parametrize("name,method,path,headers,status", REFUSALS,
                         ids=[r[0] for r in REFUSALS])
def test_refused_upload_gets_its_final_status_without_100_continue(server, name, method,
                                                                   path, headers, status):
    write(up(server, "exists.txt"), b"keep")
    if not any(h.startswith("Content-Length") for h in headers):
        headers = headers + ["Content-Length: 100000"]
    s = server.connect()
    s.sendall(request(method, path, headers + ["Expect: 100-continue"]))
    rd = Reader(s)
    assert first_head(rd)[0] == status
    raw = rd.read_until_close()  # never sent a body: the server must close
    s.close()
    assert b"100 Continue" not in raw
    assert read(up(server, "exists.txt")) == b"keep"
    assert os.listdir(up(server)) == ["exists.txt"]


def test_no_100_continue_for_http_1_0(server):
    s = server.connect()
    s.sendall(request("PUT", "/upload/old.txt", ["Authorization: " + AUTH,
                                                 "Content-Length: 4", "Expect: 100-continue"],
                      version="HTTP/1.0"))
    s.sendall(b"data")
    rd = Reader(s)
    assert first_head(rd)[0] == 201
    s.close()
    assert read(up(server, "old.txt")) == b"data"


# ---------------------------------------------------------------------------
# create_dirs


def test_create_dirs_makes_missing_parents(make_server):
    srv = make_server("create_dirs on;")
    r = call(srv, "PUT", "/upload/a/b/c/f.txt", b"deep")
    assert r.status == 201
    assert r.header("location") == "/upload/a/b/c/f.txt"
    assert read(up(srv, "a", "b", "c", "f.txt")) == b"deep"
    assert os.stat(up(srv, "a", "b")).st_mode & 0o777 == 0o755 & ~_umask()
    r = call(srv, "POST", "/upload/p/q/", b"posted")
    assert r.status == 201
    m = re.fullmatch(r"/upload/p/q/([0-9a-f]{16})", r.header("location", ""))
    assert m, r.header("location")
    assert read(up(srv, "p", "q", m.group(1))) == b"posted"


def test_create_dirs_does_not_create_dirs_for_a_refused_upload(make_server):
    srv = make_server("create_dirs on;\nbody_max_bytes 10k;")
    assert call(srv, "PUT", "/upload/x/y.txt", b"z" * 20000).status == 413
    assert call(srv, "PUT", "/upload/x/.lingerd-y", b"z").status == 403
    assert os.listdir(up(srv)) == []


def test_create_dirs_off_by_default(server):
    assert call(server, "PUT", "/upload/a/b.txt", b"x").status == 409
    assert os.listdir(up(server)) == []


# ---------------------------------------------------------------------------
# chunked PUT, POST to a collection


def test_chunked_put_with_extensions_and_trailers(server):
    parts = [b"first part\n", b"x" * 70000, b"", b"last\n"]
    body = b"".join(b"%x;ext=1\r\n" % len(p) + p + b"\r\n" for p in parts if p)
    body += b"0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
    s = server.connect()
    s.sendall(request("PUT", "/upload/ch.bin", ["Authorization: " + AUTH,
                                                "Transfer-Encoding: chunked",
                                                "Trailer: X-Checksum, X-Other"], body) +
              request("GET", "/upload/ch.bin", ["Authorization: " + AUTH]))
    rd = Reader(s)
    put, got = rd.response(), rd.response()
    s.close()
    assert put.status == 201 and put.header("location") == "/upload/ch.bin"
    assert read(up(server, "ch.bin")) == b"".join(parts)
    assert got.status == 200 and got.body == b"".join(parts)
    assert temp_files(server) == []


def test_chunked_put_in_tiny_writes(server):
    body = chunked([b"ab", b"cde", b"f" * 300], ["X-T: 1"])
    s = server.connect()
    s.sendall(request("PUT", "/upload/tiny", ["Authorization: " + AUTH,
                                              "Transfer-Encoding: chunked"]))
    for i in range(len(body)):
        s.sendall(body[i:i + 1])
    r = Reader(s).response()
    s.close()
    assert r.status == 201
    assert read(up(server, "tiny")) == b"abcde" + b"f" * 300


def test_post_to_the_collection_stores_the_body_under_a_new_name(server):
    names = set()
    for body in (b"first post", b"second post"):
        r = call(server, "POST", "/upload/", body)
        assert r.status == 201
        m = re.fullmatch(r"/upload/([0-9a-f]{16})", r.header("location", ""))
        assert m, r.header("location")
        assert read(up(server, m.group(1))) == body
        names.add(m.group(1))
        g = get(server, r.header("location"), ["Authorization: " + AUTH])
        assert g.status == 200 and g.body == body
        assert g.header("etag") == r.header("etag")
    assert len(names) == 2
    assert sorted(os.listdir(up(server))) == sorted(names)


def test_chunked_post_to_a_subcollection(server):
    os.mkdir(up(server, "sub"))
    r = call(server, "POST", "/upload/sub/", chunked([b"one ", b"two"]),
             ["Transfer-Encoding: chunked"])
    assert r.status == 201
    m = re.fullmatch(r"/upload/sub/([0-9a-f]{16})", r.header("location", ""))
    assert m
    assert read(up(server, "sub", m.group(1))) == b"one two"
    assert os.listdir(up(server, "sub")) == [m.group(1)]


def test_post_location_encodes_the_collection_again(server):
    os.mkdir(up(server, "a b"))
    r = call(server, "POST", "/upload/a%20b/", b"spaced")
    assert r.status == 201
    m = re.fullmatch(r"/upload/a%20b/([0-9a-f]{16})", r.header("location", ""))
    assert m, r.header("location")
    assert read(up(server, "a b", m.group(1))) == b"spaced"


def test_interleaved_puts_to_one_target_each_land_whole(make_server, upload_kind):
    # B finishes first and creates the file (201); A finishes last and
    # replaces it (204). Neither sees the other's bytes; nothing is left over.
    srv = make_server(BIG)
    a = start_put(srv, "/upload/t.bin", 2 * MIB)
    b = start_put(srv, "/upload/t.bin", 2 * MIB)
    a.sendall(b"A" * MIB)
    b.sendall(b"B" * MIB)
    assert wait_for(lambda: len(open_uploads(srv)) == 2)
    b.sendall(b"B" * MIB)
    rb = Reader(b, timeout=30).response()
    assert rb.status == 201
    assert read(up(srv, "t.bin")) == b"B" * (2 * MIB)
    a.sendall(b"A" * MIB)
    ra = Reader(a, timeout=30).response()
    a.close()
    b.close()
    assert ra.status == 204
    assert read(up(srv, "t.bin")) == b"A" * (2 * MIB)
    assert os.listdir(up(srv)) == ["t.bin"]


# ---------------------------------------------------------------------------
# a client that vanishes in the middle of a large PUT


@pytest.mark.parametrize("how", ["close", "reset", "half-close"])
def test_client_gone_mid_put_leaves_the_old_file_and_no_temp_file(make_server, how,
                                                                    upload_kind):
    srv = make_server(BIG)
    write(up(srv, "big.bin"), b"old content\n")
    s = start_put(srv, "/upload/big.bin", 64 * MIB)
    block = b"\xa5" * (256 * 1024)
    for _ in range(8 * MIB // len(block)):
        s.sendall(block)
    # The PUT is in progress, into a file in the target's directory: unnamed
    # (nothing in the listing), or named ".lingerd-put-" + 12 hex digits.
    opened = wait_for(lambda: open_uploads(srv))
    assert len(opened) == 1 and os.path.dirname(opened[0]) == up(srv), opened
    tmps = temp_files(srv)
    if upload_kind == "unnamed":
        assert re.fullmatch(r"#\d+ \(deleted\)", os.path.basename(opened[0])), opened
        assert tmps == [] and os.listdir(up(srv)) == ["big.bin"]
    else:
        assert tmps == opened
        assert re.fullmatch(r"\.lingerd-put-[0-9a-f]{12}", os.path.basename(tmps[0]))
    if how == "reset":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    elif how == "close":
        s.close()
    else:
        s.shutdown(socket.SHUT_WR)
    # Well inside the default body_timeout (60s): a vanished client must be
    # noticed by its FIN or reset, not by the timeout.
    assert wait_for(lambda: not temp_files(srv) and not open_uploads(srv), timeout=10), \
        (temp_files(srv), open_uploads(srv))
    if how == "half-close":
        rd = Reader(s, timeout=10)
        rest = rd.read_until_close()  # the server ends the connection, storing nothing
        s.close()
        assert not rest.startswith((b"HTTP/1.1 2", b"HTTP/1.0 2")), rest[:200]
    assert read(up(srv, "big.bin")) == b"old content\n"
    assert os.listdir(up(srv)) == ["big.bin"]
    g = get(srv, "/upload/big.bin", ["Authorization: " + AUTH])
    assert g.status == 200 and g.body == b"old content\n"


def test_get_of_an_in_progress_temp_file_is_404(make_server, upload_kind):
    srv = make_server(BIG)
    s = start_put(srv, "/upload/p.bin", 2 * MIB)
    s.sendall(b"q" * MIB)
    assert wait_for(lambda: open_uploads(srv))
    if upload_kind == "unnamed":
        # No name to ask for; one of the shape a named one would have.
        write(up(srv, ".lingerd-put-0123456789ab"), b"stale")
    tmps = temp_files(srv)
    assert len(tmps) == 1
    name = os.path.basename(tmps[0])
    for method in ("GET", "HEAD"):
        r = get(srv, "/upload/" + name, ["Authorization: " + AUTH], method=method)
        assert r.status == 404
    assert get(srv, "/upload/" + name + "?x=1", ["Authorization: " + AUTH]).status == 404
    # Nor can anyone replace or delete it.
    assert call(srv, "PUT", "/upload/" + name, b"hijack").status == 403
    assert call(srv, "DELETE", "/upload/" + name).status == 403
    s.sendall(b"q" * MIB)
    r = Reader(s, timeout=30).response()
    s.close()
    assert r.status == 201
    assert read(up(srv, "p.bin")) == b"q" * (2 * MIB)
    assert temp_files(srv) == ([] if upload_kind == "named" else tmps)


# ---------------------------------------------------------------------------
# 100 MiB, checked by sha256


@pytest.mark.parametrize("dirty_max", ["1m", "0"])
def test_put_with_writes_bounded_or_not_arrives_intact(make_server, dirty_max):
    # upload_dirty_max_bytes 1m with a 1m step: the I/O thread waits for the
    # disk at almost every step; 0: it never waits. Either way the body is
    # stored whole.
    srv = make_server(BIG + "\nupload_writeback_bytes 1m;\nupload_dirty_max_bytes %s;"
                      % dirty_max)
    size = 24 * MIB + 12345
    r, sent = put_seeded(srv, "/upload/bounded.bin", size, 20261206)
    assert r.status == 201
    assert os.path.getsize(up(srv, "bounded.bin")) == size
    assert file_sha256(up(srv, "bounded.bin")) == sent
    assert temp_files(srv) == []


def put_seeded(srv, path, size, seed):
    """PUT size bytes of seeded_chunks(seed); the response and the sha256 sent."""
    s = start_put(srv, path, size)
    h = hashlib.sha256()
    for chunk in seeded_chunks(seed, size):
        h.update(chunk)
        s.sendall(chunk)
    r = Reader(s, timeout=120).response()
    s.close()
    return r, h.hexdigest()


def file_sha256(path):
    d = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 * MIB), b""):
            d.update(block)
    return d.hexdigest()


@pytest.mark.parametrize("writeback", ["8m", "0"])
def test_100mib_put_arrives_intact(make_server, writeback):
    # upload_writeback_bytes 8m (the default) starts the disk writes of each
    # 8 MiB while the body arrives; 0 leaves them all to the final fsync.
    srv = make_server(BIG + "\nupload_writeback_bytes %s;" % writeback)
    size = 100 * MIB
    r, sent = put_seeded(srv, "/upload/huge.bin", size, 20240501)
    assert r.status == 201
    assert r.header("location") == "/upload/huge.bin"
    path = up(srv, "huge.bin")
    assert os.path.getsize(path) == size
    assert file_sha256(path) == sent
    assert temp_files(srv) == []


# ---------------------------------------------------------------------------
# real clients


def curl(*args):
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}"] + list(args),
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_curl_put_replace_and_delete(make_server, tmp_path):
    srv = make_server("body_max_bytes 16m;")
    small = tmp_path / "small.txt"
    small.write_bytes(b"small file\n")
    big = tmp_path / "big.bin"  # curl sends Expect: 100-continue for this one
    big.write_bytes(b"".join(seeded_chunks(7, 3 * MIB)))
    url = srv.url("/upload/f.bin")

    rc, code, err = curl("-u", "test:test", "-T", str(small), url)
    assert (rc, code) == (0, "201"), err
    assert read(up(srv, "f.bin")) == b"small file\n"

    rc, code, err = curl("-u", "test:test", "-T", str(big), url)
    assert (rc, code) == (0, "204"), err
    assert read(up(srv, "f.bin")) == big.read_bytes()

    rc, code, err = curl("-u", "test:wrong", "-T", str(small), url)
    assert (rc, code) == (0, "401"), err
    rc, code, err = curl("-T", str(big), url)
    assert (rc, code) == (0, "401"), err
    assert read(up(srv, "f.bin")) == big.read_bytes()

    rc, code, err = curl("-u", "test:test", "-X", "DELETE", url)
    assert (rc, code) == (0, "204"), err
    assert not os.path.exists(up(srv, "f.bin"))
    rc, code, err = curl("-u", "test:test", "-X", "DELETE", url)
    assert (rc, code) == (0, "404"), err
    assert temp_files(srv) == []


def test_curl_chunked_put_from_stdin(server):
    data = b"".join(b"%d\n" % i for i in range(5000))
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-u",
                        "test:test", "-H", "Transfer-Encoding: chunked", "-T", "-",
                        server.url("/upload/seq.txt")],
                       input=data, capture_output=True, timeout=60)
    assert (p.returncode, p.stdout) == (0, b"201"), p.stderr
    assert read(up(server, "seq.txt")) == data
