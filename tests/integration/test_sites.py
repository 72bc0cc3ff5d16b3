"""What a site sends beyond the file: add_header, expires, default_type,
return, the trailing-slash redirect, fallback and error_page.

Black-box over loopback with raw sockets (exact fields), curl and Python's
http.client. Each directive is checked at the level it is set and where it is
inherited, the way nginx operators expect.
"""

import email.utils
import http.client
import os
import subprocess
import time

import pytest

from conftest import exchange, get, request


def one(srv, method="GET", path="/", host="localhost", headers=()):
    rs, rd = exchange(srv, request(method, path, headers=headers, host=host),
                      head=(method == "HEAD"))
    rd.sock.close()
    assert rs, "no response to %s %s" % (method, path)
    return rs[0]


def fields(r, name):
    return [v for k, v in r.headers if k == name.lower()]


# ---- add_header, expires, default_type -----------------------------------


@pytest.fixture
def headers_site(make_server):
    return make_server("""
add_header X-Main main;
add_header X-Every "every response" always;
location /static/ {
    add_header Cache-Control "public, max-age=60";
    expires 1h;
}
location /nohdr/ {
    expires epoch;
}
location /forever/ {
    expires max;
    default_type text/plain;
}
""")


@pytest.fixture
def with_files(headers_site):
    root = headers_site.root
    for d in ("static", "nohdr", "forever"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        with open(os.path.join(root, d, "a.css"), "w") as f:
            f.write("body{}\n")
        with open(os.path.join(root, d, "README"), "w") as f:
            f.write("no extension\n")
    return headers_site


def test_add_header_at_main_level_reaches_success_and_always_reaches_errors(with_files):
    r = one(with_files, path="/")
    assert r.status == 200
    assert fields(r, "X-Main") == ["main"]
    assert fields(r, "X-Every") == ["every response"]
    r = one(with_files, path="/missing")
    assert r.status == 404
    assert fields(r, "X-Main") == []             # not on an error without always
    assert fields(r, "X-Every") == ["every response"]


def test_a_location_with_add_header_replaces_the_inherited_list(with_files):
    r = one(with_files, path="/static/a.css")
    assert r.status == 200
    assert fields(r, "Cache-Control")[0] == "public, max-age=60"
    assert fields(r, "X-Main") == [] and fields(r, "X-Every") == []   # replaced, as nginx
    # expires adds its own Cache-Control: max-age and an Expires an hour ahead
    assert "max-age=3600" in fields(r, "Cache-Control")
    expires = email.utils.parsedate_to_datetime(r.header("Expires")).timestamp()
    date = email.utils.parsedate_to_datetime(r.header("Date")).timestamp()
    assert 3599 <= expires - date <= 3601


def test_expires_epoch_and_max_and_the_304_gets_them_too(with_files):
    r = one(with_files, path="/nohdr/a.css")
    assert r.header("Expires") == "Thu, 01 Jan 1970 00:00:01 GMT"
    assert r.header("Cache-Control") == "no-cache"
    assert fields(r, "X-Main") == ["main"]       # no add_header here: inherited
    r = one(with_files, path="/forever/a.css")
    assert r.header("Expires") == "Thu, 31 Dec 2037 23:55:55 GMT"
    assert r.header("Cache-Control") == "max-age=315360000"
    etag = r.header("ETag")
    r = one(with_files, path="/forever/a.css", headers=("If-None-Match: %s" % etag,))
    assert r.status == 304
    assert r.header("Cache-Control") == "max-age=315360000"
    r = one(with_files, path="/forever/nothing-here")
    assert r.status == 404 and r.header("Expires") is None


def test_default_type_for_unknown_extensions(with_files):
    assert one(with_files, path="/forever/README").header("Content-Type") == "text/plain"
    assert one(with_files, path="/static/README").header("Content-Type") == \
        "application/octet-stream"
    assert one(with_files, path="/forever/a.css").header("Content-Type") == "text/css"


def test_head_and_cached_responses_carry_the_same_fields(with_files):
    for _ in range(3):  # the second and third come from the file cache
        r = one(with_files, path="/static/a.css")
        assert r.body == b"body{}\n"
        assert "max-age=3600" in fields(r, "Cache-Control")
    r = one(with_files, "HEAD", path="/static/a.css")
    assert r.status == 200 and "max-age=3600" in fields(r, "Cache-Control")


def test_add_header_per_server_block(make_server, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text("a\n")
    srv = make_server("""
add_header X-Main main;
server {
    server_name a.example;
    root %s;
    add_header Strict-Transport-Security "max-age=63072000" always;
}
server {
    server_name b.example;
}
""" % (tmp_path / "a"), uploads=False)
    r = one(srv, host="a.example")
    assert fields(r, "Strict-Transport-Security") == ["max-age=63072000"]
    assert fields(r, "X-Main") == []
    r = one(srv, host="b.example")
    assert fields(r, "X-Main") == ["main"]
    assert fields(r, "Strict-Transport-Security") == []
