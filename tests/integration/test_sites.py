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


# ---- return, the directory redirect, fallback ------------------------------


@pytest.fixture
def redirect_sites(make_server, tmp_path):
    for n in ("new", "spa"):
        (tmp_path / n).mkdir()
    (tmp_path / "new" / "index.html").write_text("new site\n")
    (tmp_path / "spa" / "index.html").write_text("<html>app shell</html>\n")
    (tmp_path / "spa" / "app.js").write_text("console.log(1)\n")
    (tmp_path / "spa" / "docs").mkdir()
    (tmp_path / "spa" / "docs" / "index.html").write_text("docs\n")
    return make_server("""
server {
    server_name old.example;
    return 301 https://new.example$request_uri;
}
server {
    server_name new.example;
    root %s;
    location /moved/ { return 308 $scheme://$host/new-place$request_uri; }
    location /temp { return 302 /elsewhere; }
    location /see { return 303 "${scheme}://${host}/other"; }
    location /tmp307 { return 307 /x; }
    location /gone { return 410; }
    location /health { return 200 "ok"; }
    location /empty { return 204; }
    location /teapot { return 418 "short and stout"; }
}
server {
    server_name spa.example;
    root %s;
    fallback /index.html;
    absolute_redirect on;
    location /api/ { fallback /api-missing.json; }
}
""" % (tmp_path / "new", tmp_path / "spa"), uploads=False)


def test_return_301_redirects_a_whole_site_with_the_request_uri(redirect_sites):
    r = one(redirect_sites, path="/a/b.html?x=1&y=%20", host="old.example")
    assert r.status == 301
    assert r.header("Location") == "https://new.example/a/b.html?x=1&y=%20"
    assert b"301 Moved Permanently" in r.body
    # every method, before any method check: a PUT is redirected too
    r = one(redirect_sites, "PUT", path="/up", host="old.example")
    assert r.status == 301


@pytest.mark.parametrize("path,status,location", [
    ("/moved/a?q", 308, "http://new.example/new-place/moved/a?q"),
    ("/temp", 302, "/elsewhere"),
    ("/see", 303, "http://new.example/other"),
    ("/tmp307", 307, "/x"),
])
def test_return_redirect_codes_and_variables(redirect_sites, path, status, location):
    r = one(redirect_sites, path=path, host="New.Example:8080")  # $host: lower case, no port
    assert r.status == status
    assert r.header("Location") == location


def test_return_without_host_uses_the_first_server_name(redirect_sites):
    rs, rd = exchange(redirect_sites, b"GET /see HTTP/1.0\r\n\r\n")
    rd.sock.close()
    # no Host: the default server (the first block), whose name stands in
    assert rs[0].status == 301
    assert rs[0].header("Location") == "https://new.example/see"


def test_return_with_a_status_and_text(redirect_sites):
    r = one(redirect_sites, path="/gone", host="new.example")
    assert r.status == 410 and b"410 Gone" in r.body
    r = one(redirect_sites, path="/health", host="new.example")
    assert r.status == 200 and r.body == b"ok"
    assert r.header("Content-Type") == "text/plain"
    r = one(redirect_sites, path="/teapot", host="new.example")
    assert r.status == 418 and r.body == b"short and stout"
    r = one(redirect_sites, path="/empty", host="new.example")
    assert r.status == 204 and r.body == b"" and r.header("Content-Length") is None


def test_curl_follows_a_return_redirect(redirect_sites):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                          "-H", "Host: new.example", redirect_sites.url("/temp")],
                         capture_output=True, timeout=20)
    assert out.stdout.decode() == "302 %s" % redirect_sites.url("/elsewhere")


def test_directory_redirect_absolute_keeps_the_host_as_sent_and_the_query(redirect_sites):
    r = one(redirect_sites, path="/docs?page=2", host="new.example")
    assert r.status == 404  # new.example has no /docs
    r = one(redirect_sites, path="/docs?page=2", host="spa.example:8080")
    assert r.status == 301
    # absolute_redirect on: scheme, the Host as sent (port kept), path, query
    assert r.header("Location") == "http://spa.example:8080/docs/?page=2"


def test_directory_redirect_is_relative_by_default_and_encodes_the_path(make_server):
    srv = make_server("")
    os.makedirs(os.path.join(srv.root, "a dir", "caf\u00e9"))
    r = one(srv, path="/a%20dir/caf%C3%A9?x=%41")
    assert r.status == 301
    assert r.header("Location") == "/a%20dir/caf%C3%A9/?x=%41"


def test_fallback_serves_the_app_shell_for_missing_paths(redirect_sites):
    for path in ("/", "/some/client/route", "/route?tab=2", "/missing.js"):
        r = one(redirect_sites, path=path, host="spa.example")
        assert r.status == 200, path
        assert r.body == b"<html>app shell</html>\n", path
    r = one(redirect_sites, path="/app.js", host="spa.example")
    assert r.status == 200 and r.body == b"console.log(1)\n"
    r = one(redirect_sites, "HEAD", path="/deep/link", host="spa.example")
    assert r.status == 200 and r.header("Content-Length") == "23"
    # a location with a missing fallback: 404, once, no loop
    r = one(redirect_sites, path="/api/users", host="spa.example")
    assert r.status == 404


def test_fallback_is_for_get_and_head_only(make_server):
    srv = make_server("fallback /index.html;\nmethods GET HEAD OPTIONS DELETE;")
    r = one(srv, "DELETE", path="/nothing")
    assert r.status != 200
    r = one(srv, path="/nothing")
    assert r.status == 200


# ---- error_page ------------------------------------------------------------


@pytest.fixture
def error_site(make_server):
    srv = make_server("""
error_page 404 /errors/404.html;
error_page 403 405 /errors/denied.html;
error_page 500 502 503 504 /errors/50x.html;
location /maint/ { return 503; }
location /private/ { methods GET HEAD; }
location /broken/ { error_page 404 /errors/missing.html; }
location /dirpage/ { error_page 404 /errors/; }
location /none/ { error_page 410 /errors/404.html; }
location /forbidden/ { return 403; }
""")
    os.makedirs(os.path.join(srv.root, "errors"))
    pages = {"404.html": "<h1>custom 404</h1>\n", "denied.html": "<h1>denied</h1>\n",
             "50x.html": "<h1>down for a moment</h1>\n"}
    for name, text in pages.items():
        with open(os.path.join(srv.root, "errors", name), "w") as f:
            f.write(text)
    return srv


def test_error_page_keeps_the_status_and_serves_the_page(error_site):
    r = one(error_site, path="/no/such/file")
    assert r.status == 404
    assert r.body == b"<h1>custom 404</h1>\n"
    assert r.header("Content-Type") == "text/html"
    assert r.header("Location") is None  # internal, not a redirect
    assert r.header("ETag") is None and r.header("Last-Modified") is None


def test_error_page_for_405_keeps_allow_and_for_5xx_lists(error_site):
    r = one(error_site, "DELETE", path="/private/x")
    assert r.status == 405
    assert r.body == b"<h1>denied</h1>\n"
    assert r.header("Allow") == "GET, HEAD"
    r = one(error_site, path="/maint/anything")
    assert r.status == 503 and r.body == b"<h1>down for a moment</h1>\n"
    assert r.header("Retry-After") == "1"


def test_error_page_for_403(error_site):
    r = one(error_site, path="/forbidden/x")
    assert r.status == 403 and r.body == b"<h1>denied</h1>\n"


def test_a_missing_or_unusable_error_page_falls_back_to_the_built_in_one(error_site):
    r = one(error_site, path="/broken/x")
    assert r.status == 404 and b"<h1>404 Not Found</h1>" in r.body
    r = one(error_site, path="/dirpage/x")      # a directory is not a page
    assert r.status == 404 and b"<h1>404 Not Found</h1>" in r.body
    r = one(error_site, path="/none/x")         # a level with error_page replaces the list
    assert r.status == 404 and b"<h1>404 Not Found</h1>" in r.body


def test_ranges_and_conditionals_do_not_apply_to_an_error_page(error_site):
    r = one(error_site, path="/nothing", headers=("Range: bytes=0-3",))
    assert r.status == 404 and r.body == b"<h1>custom 404</h1>\n"
    r = one(error_site, path="/nothing", headers=("If-None-Match: *",))
    assert r.status == 404 and r.body == b"<h1>custom 404</h1>\n"
    r = one(error_site, path="/nothing",
            headers=("If-Modified-Since: Thu, 01 Jan 2037 00:00:00 GMT",))
    assert r.status == 404 and r.body == b"<h1>custom 404</h1>\n"


def test_head_of_an_error_page_and_keep_alive_after_it(error_site):
    r = one(error_site, "HEAD", path="/nothing")
    assert r.status == 404 and r.body == b""
    assert r.header("Content-Length") == str(len("<h1>custom 404</h1>\n"))
    data = request("GET", "/nothing") + request("GET", "/")
    rs, rd = exchange(error_site, data, n=2)
    rd.sock.close()
    assert [r.status for r in rs] == [404, 200]
    assert rs[0].body == b"<h1>custom 404</h1>\n"


def test_error_page_per_site_with_curl(make_server, tmp_path):
    for n in ("a", "b"):
        (tmp_path / n).mkdir()
        (tmp_path / n / "404.html").write_text("not found on %s\n" % n)
    srv = make_server("""
server { server_name a.example; root %s; error_page 404 /404.html; }
server { server_name b.example; root %s; error_page 404 /404.html; }
""" % (tmp_path / "a", tmp_path / "b"), uploads=False)
    for n in ("a", "b"):
        out = subprocess.run(["curl", "-s", "-w", "%{http_code}", "-H", "Host: %s.example" % n,
                              srv.url("/nope")], capture_output=True, timeout=20)
        assert out.stdout == ("not found on %s\n404" % n).encode()


def test_an_error_page_that_is_a_fifo_falls_back_without_blocking(make_server):
    srv = make_server("error_page 404 /errors/404.html;")
    os.makedirs(os.path.join(srv.root, "errors"))
    os.mkfifo(os.path.join(srv.root, "errors", "404.html"))
    r = one(srv, path="/missing")
    assert r.status == 404 and b"<h1>404 Not Found</h1>" in r.body
    assert one(srv, path="/").status == 200  # the worker still answers
