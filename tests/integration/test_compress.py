"""Compression: precompressed siblings (precompressed) and gzip on the fly
(gzip, gzip_types, gzip_min_length, gzip_cache_*), through raw sockets,
Python's gzip and curl --compressed. Headers are checked exactly: which
Content-Encoding, Vary, ETag and Content-Length each answer carries."""

import gzip
import os
import subprocess
import time

import pytest

from conftest import AUTH, exchange, get, request

CSS = b"".join(b".rule-%d { color: #%06x; margin: %dpx; }\n" % (i, i * 7919 % 0xFFFFFF, i % 40)
               for i in range(500))  # about 20 KiB of text: above file_cache_file_max_bytes
SMALL = CSS[:8000]  # below it: the file itself is answered from the file cache
PRE = "precompressed br gzip;\n"


def write(path, data, mtime=None):
    with open(path, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def site(srv, name="site.css", data=None, gz=True, br=True, age=0):
    """FILE with siblings FILE.gz (real gzip) and FILE.br (marked bytes: no
    client here decodes brotli, the test only checks which file answers)."""
    data = data if data is not None else getattr(srv, "css", CSS)
    path = os.path.join(srv.root, name)
    now = time.time() - 100
    write(path, data, now)
    out = {"plain": data}
    if gz:
        out["gz"] = gzip.compress(data, 9, mtime=0)
        write(path + ".gz", out["gz"], now + age)
    if br:
        out["br"] = b"BROTLI-SIBLING-" + data[:64]
        write(path + ".br", out["br"], now + age)
    return out


def auto(srv):
    r = get(srv, "/server-status?auto")
    assert r.status == 200
    return dict(line.split(": ", 1) for line in r.body.decode().splitlines()[1:])


def curl(srv, path, *args):
    out = subprocess.run(["curl", "-s", "-S", "--max-time", "10", "-D", "-", *args,
                          srv.url(path)], capture_output=True, timeout=20)
    assert out.returncode == 0, out.stderr
    head, body = out.stdout.split(b"\r\n\r\n", 1)
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return int(head.split(b" ")[1]), headers, body


# Every case runs with the file cache on (the default: answers from memory
# after the first), for a file small enough to be cached itself and one
# that is not (only its siblings are), and with the cache off (every answer
# from the disk). srv.css is the file's content.
@pytest.fixture(params=["cache-small", "cache", "nocache"])
def pre_server(request, make_server):
    extra = "file_cache_entries 0;\n" if request.param == "nocache" else ""
    srv = make_server(PRE + extra)
    srv.css = SMALL if request.param == "cache-small" else CSS
    return srv


# ---- precompressed siblings ------------------------------------------------


def test_sibling_gz_answers_gzip_clients_with_its_own_representation(pre_server):
    files = site(pre_server, br=False)
    plain = get(pre_server, "/site.css")
    for _ in range(3):  # the second and third from the file cache when it is on
        r = get(pre_server, "/site.css", ["Accept-Encoding: gzip"])
        assert r.status == 200
        assert r.body == files["gz"]
        assert r.header("content-encoding") == "gzip"
        assert r.header("vary") == "Accept-Encoding"
        assert r.header("content-type") == "text/css"
        assert r.header("content-length") == str(len(files["gz"]))
        assert r.header("etag").endswith('-gzip"') and not r.header("etag").startswith("W/")
        assert r.header("etag") != plain.header("etag")
        assert gzip.decompress(r.body) == pre_server.css
    # the identity answer says it varies too, and carries no coding
    assert plain.status == 200 and plain.body == pre_server.css
    assert plain.header("vary") == "Accept-Encoding"
    assert plain.header("content-encoding") is None
    assert plain.header("content-length") == str(len(pre_server.css))
    # asked again after the gzip answers (from the file cache where it fits)
    again = get(pre_server, "/site.css")
    assert again.body == pre_server.css and again.header("vary") == "Accept-Encoding"


def test_client_weights_pick_the_sibling(pre_server):
    files = site(pre_server)
    cases = [
        ("gzip, deflate, br", "br"),          # equal weights: the server's order, br first
        ("br;q=0.5, gzip", "gz"),             # gzip weighs more
        ("BR", "br"),                         # tokens are case-insensitive
        ("x-gzip", "gz"),
        ("gzip;q=0, br;q=0", "plain"),        # both refused
        ("gzip;q=0.0, *;q=0.1", "br"),        # * covers br
        ("identity", "plain"),
        ("", "plain"),                        # empty: identity only
        ("*;q=0", "plain"),                   # nothing acceptable: the file as it is
        ("gzip;q=junk", "plain"),             # malformed member ignored, not read as q=1
        ("gzip;q=1.5, br;level=3", "plain"),
    ]
    for value, want in cases:
        for _ in range(2):
            r = get(pre_server, "/site.css", ["Accept-Encoding: " + value])
            assert r.status == 200, value
            assert r.body == files[want], (value, r.headers)
            enc = {"plain": None, "gz": "gzip", "br": "br"}[want]
            assert r.header("content-encoding") == enc, value
            assert r.header("vary") == "Accept-Encoding", value


def test_accept_encoding_over_two_field_lines_is_one_list(pre_server):
    files = site(pre_server)
    r = get(pre_server, "/site.css", ["Accept-Encoding: br;q=0.1", "Accept-Encoding: gzip"])
    assert r.body == files["gz"]


def test_sibling_older_than_the_file_is_ignored(pre_server):
    files = site(pre_server, age=-50)
    r = get(pre_server, "/site.css", ["Accept-Encoding: gzip, br"])
    assert r.status == 200 and r.body == files["plain"]
    assert r.header("content-encoding") is None
    assert r.header("vary") is None  # no other variant exists


def test_sibling_appearing_later_is_noticed(make_server):
    srv = make_server(PRE + "file_cache_valid 0;\n")
    site(srv, gz=False, br=False)
    r = get(srv, "/site.css", ["Accept-Encoding: gzip"])
    assert r.header("content-encoding") is None and r.header("vary") is None
    gz = gzip.compress(CSS)
    write(os.path.join(srv.root, "site.css.gz"), gz)
    r = get(srv, "/site.css", ["Accept-Encoding: gzip"])
    assert r.header("content-encoding") == "gzip" and r.body == gz
    r = get(srv, "/site.css")
    assert r.header("vary") == "Accept-Encoding" and r.body == CSS


def test_range_applies_to_the_compressed_bytes(pre_server):
    files = site(pre_server, br=False)
    gz = files["gz"]
    r = get(pre_server, "/site.css", ["Accept-Encoding: gzip", "Range: bytes=10-29"])
    assert r.status == 206
    assert r.body == gz[10:30]
    assert r.header("content-range") == "bytes 10-29/%d" % len(gz)
    assert r.header("content-encoding") == "gzip"
    assert r.header("vary") == "Accept-Encoding"
    # suffix range through curl, compared with the sibling's bytes
    status, h, body = curl(pre_server, "/site.css", "-H", "Accept-Encoding: gzip", "-r", "-100")
    assert status == 206 and body == gz[-100:]
    assert h["content-range"] == "bytes %d-%d/%d" % (len(gz) - 100, len(gz) - 1, len(gz))
    # several ranges of a sibling: the whole sibling (parts cannot carry a coding)
    r = get(pre_server, "/site.css", ["Accept-Encoding: gzip", "Range: bytes=0-1,5-6"])
    assert r.status == 200 and r.body == gz and r.header("content-encoding") == "gzip"
    # past the end of the compressed bytes: 416 against their length
    r = get(pre_server, "/site.css", ["Accept-Encoding: gzip", "Range: bytes=%d-" % len(gz)])
    assert r.status == 416 and r.header("content-range") == "bytes */%d" % len(gz)


def test_conditionals_apply_to_the_compressed_representation(pre_server):
    site(pre_server, br=False)
    z = get(pre_server, "/site.css", ["Accept-Encoding: gzip"])
    plain = get(pre_server, "/site.css")
    r = get(pre_server, "/site.css", ["Accept-Encoding: gzip", "If-None-Match: " + z.header("etag")])
    assert r.status == 304
    assert r.header("etag") == z.header("etag")
    assert r.header("vary") == "Accept-Encoding"
    # the identity's ETag does not validate the gzip representation
    r = get(pre_server, "/site.css",
            ["Accept-Encoding: gzip", "If-None-Match: " + plain.header("etag")])
    assert r.status == 200 and r.header("content-encoding") == "gzip"
    r = get(pre_server, "/site.css", ["If-None-Match: " + plain.header("etag")])
    assert r.status == 304 and r.header("vary") == "Accept-Encoding"
    # If-Range with the identity's ETag: the range does not apply to gzip
    r = get(pre_server, "/site.css", ["Accept-Encoding: gzip", "Range: bytes=0-9",
                                      "If-Range: " + plain.header("etag")])
    assert r.status == 200 and r.header("content-encoding") == "gzip"


def test_head_gets_the_headers_of_get(pre_server):
    site(pre_server)
    g = get(pre_server, "/site.css", ["Accept-Encoding: gzip"])
    h = get(pre_server, "/site.css", ["Accept-Encoding: gzip"], method="HEAD")
    assert h.status == 200 and h.body == b""
    for name in ("content-encoding", "content-length", "etag", "vary", "content-type",
                 "last-modified"):
        assert h.header(name) == g.header(name), name


def test_curl_compressed_decodes_to_the_file(pre_server):
    site(pre_server, br=False)
    status, h, body = curl(pre_server, "/site.css", "--compressed")
    assert status == 200 and h["content-encoding"] == "gzip" and body == pre_server.css


def test_curl_br_only_gets_the_br_sibling(pre_server):
    files = site(pre_server)
    status, h, body = curl(pre_server, "/site.css", "-H", "Accept-Encoding: br")
    assert status == 200 and h["content-encoding"] == "br" and body == files["br"]
    assert h["etag"].endswith('-br"')


def test_index_of_a_directory_has_siblings_too(pre_server):
    os.mkdir(os.path.join(pre_server.root, "docs"))
    files = site(pre_server, name="docs/index.html", data=b"<p>hello</p>\n" * 100, br=False)
    r = get(pre_server, "/docs/", ["Accept-Encoding: gzip"])
    assert r.body == files["gz"] and r.header("content-type").startswith("text/html")


def test_the_sibling_asked_for_by_name_is_a_plain_file(pre_server):
    files = site(pre_server, br=False)
    r = get(pre_server, "/site.css.gz", ["Accept-Encoding: gzip"])
    assert r.status == 200 and r.body == files["gz"]
    assert r.header("content-encoding") is None
    assert r.header("content-type") != "text/css"


def test_precompressed_is_off_by_default(make_server):
    srv = make_server()
    site(srv)
    r = get(srv, "/site.css", ["Accept-Encoding: gzip, br"])
    assert r.body == CSS and r.header("content-encoding") is None and r.header("vary") is None


def test_precompressed_per_location(make_server):
    srv = make_server(PRE + "location /raw/ {\n    precompressed off;\n}\n")
    os.mkdir(os.path.join(srv.root, "raw"))
    site(srv, name="raw/a.css", br=False)
    files = site(srv, name="a.css", br=False)
    assert get(srv, "/raw/a.css", ["Accept-Encoding: gzip"]).body == CSS
    assert get(srv, "/a.css", ["Accept-Encoding: gzip"]).body == files["gz"]


def test_upload_location_serves_siblings_behind_its_auth(make_server):
    srv = make_server(PRE)
    files = site(srv, name="upload/s.css", br=False)
    assert get(srv, "/upload/s.css", ["Accept-Encoding: gzip"]).status == 401
    r = get(srv, "/upload/s.css", ["Accept-Encoding: gzip", "Authorization: " + AUTH])
    assert r.status == 200 and r.body == files["gz"]


# ---- gzip on the fly -----------------------------------------------------


GZIP = "gzip on;\n"


@pytest.mark.parametrize("data", [CSS, SMALL], ids=["large", "small"])
def test_gzip_on_the_fly_once_then_from_the_cache(make_server, data):
    srv = make_server(GZIP)
    write(os.path.join(srv.root, "app.js"), data)  # a .js name: application/javascript
    before = auto(srv)
    plain = get(srv, "/app.js")
    assert plain.header("vary") == "Accept-Encoding" and plain.body == data
    bodies = []
    for _ in range(4):
        r = get(srv, "/app.js", ["Accept-Encoding: gzip"])
        assert r.status == 200
        assert r.header("content-encoding") == "gzip"
        assert r.header("vary") == "Accept-Encoding"
        assert r.header("content-length") == str(len(r.body))
        assert r.header("accept-ranges") is None
        assert r.header("etag") == "W/" + plain.header("etag")[:-1] + '-gzip"'
        assert r.header("last-modified") == plain.header("last-modified")
        assert gzip.decompress(r.body) == data
        assert len(r.body) < len(data) // 3
        bodies.append(r.body)
    assert len(set(bodies)) == 1
    after = auto(srv)
    assert int(after["GzipCacheMisses"]) - int(before["GzipCacheMisses"]) == 1
    assert int(after["GzipCacheHits"]) - int(before["GzipCacheHits"]) == 3
    assert int(after["GzipCacheBytes"]) > len(bodies[0])
    metrics = get(srv, "/metrics").body.decode()
    assert "lingerd_gzip_cache_hits_total %s" % after["GzipCacheHits"] in metrics
    assert "lingerd_gzip_cache_misses_total %s" % after["GzipCacheMisses"] in metrics


def test_gzip_follows_a_changed_file(make_server):
    srv = make_server(GZIP + "file_cache_valid 0;\n")
    path = os.path.join(srv.root, "a.css")
    write(path, CSS)
    r = get(srv, "/a.css", ["Accept-Encoding: gzip"])
    assert gzip.decompress(r.body) == CSS
    new = CSS.replace(b"color", b"colour")
    write(path, new)
    r2 = get(srv, "/a.css", ["Accept-Encoding: gzip"])
    assert gzip.decompress(r2.body) == new
    assert r2.header("etag") != r.header("etag")


def test_gzip_never_for_ranges_types_small_or_large_files(make_server):
    srv = make_server(GZIP + "gzip_min_length 1k;\ngzip_cache_max_file 64k;\n")
    root = srv.root
    write(os.path.join(root, "a.css"), CSS)
    write(os.path.join(root, "tiny.css"), b"a{}\n" * 10)
    write(os.path.join(root, "huge.css"), CSS * 4)  # 80 KiB > 64k
    write(os.path.join(root, "pic.png"), CSS)       # not a gzip_type
    ae = ["Accept-Encoding: gzip"]
    r = get(srv, "/a.css", ae + ["Range: bytes=0-99"])
    assert r.status == 206 and r.body == CSS[:100] and r.header("content-encoding") is None
    assert r.header("vary") == "Accept-Encoding"
    for name, data in (("tiny.css", b"a{}\n" * 10), ("huge.css", CSS * 4), ("pic.png", CSS)):
        r = get(srv, "/" + name, ae)
        assert r.status == 200 and r.body == data, name
        assert r.header("content-encoding") is None and r.header("vary") is None, name
    # a client that does not accept gzip
    for value in (None, "br", "gzip;q=0", "identity"):
        r = get(srv, "/a.css", ["Accept-Encoding: " + value] if value else [])
        assert r.body == CSS and r.header("content-encoding") is None, value


@pytest.mark.parametrize("data", [CSS, SMALL], ids=["large", "small"])
def test_gzip_head_reports_get_headers_without_a_body(make_server, data):
    srv = make_server(GZIP)
    write(os.path.join(srv.root, "a.css"), data)
    h = get(srv, "/a.css", ["Accept-Encoding: gzip"], method="HEAD")  # first: a cache miss
    g = get(srv, "/a.css", ["Accept-Encoding: gzip"])
    assert h.status == 200 and h.body == b""
    for name in ("content-encoding", "content-length", "etag", "vary", "content-type"):
        assert h.header(name) == g.header(name), name


@pytest.mark.parametrize("data", [CSS, SMALL], ids=["large", "small"])
def test_gzip_conditional_with_the_weak_etag(make_server, data):
    srv = make_server(GZIP)
    write(os.path.join(srv.root, "a.css"), data)
    r = get(srv, "/a.css", ["Accept-Encoding: gzip"])
    etag = r.header("etag")
    r = get(srv, "/a.css", ["Accept-Encoding: gzip", "If-None-Match: " + etag])
    assert r.status == 304 and r.header("etag") == etag and r.header("vary") == "Accept-Encoding"
    r = get(srv, "/a.css", ["Accept-Encoding: gzip", "If-Match: " + etag])
    assert r.status == 412  # If-Match compares strongly; a weak ETag never matches


def test_gzip_cache_evicts_within_its_budget(make_server):
    srv = make_server(GZIP + "gzip_cache_size 12k;\ngzip_level 9;\n")  # two files fit
    for i in range(6):
        write(os.path.join(srv.root, "f%d.css" % i), CSS + b"/* %d */" % i)
    for i in range(6):
        r = get(srv, "/f%d.css" % i, ["Accept-Encoding: gzip"])
        assert gzip.decompress(r.body) == CSS + b"/* %d */" % i
    a = auto(srv)
    assert int(a["GzipCacheEvictions"]) >= 1
    assert int(a["GzipCacheEvictions"]) <= 6
    assert 0 < int(a["GzipCacheBytes"]) <= 12 * 1024


def test_gzip_with_no_cache_still_compresses(make_server):
    srv = make_server(GZIP + "gzip_cache_size 0;\n")
    write(os.path.join(srv.root, "a.css"), CSS)
    for _ in range(2):
        r = get(srv, "/a.css", ["Accept-Encoding: gzip"])
        assert r.header("content-encoding") == "gzip" and gzip.decompress(r.body) == CSS


def test_a_sibling_wins_over_gzip_on_the_fly(make_server):
    srv = make_server(GZIP + PRE)
    files = site(srv, br=False)
    r = get(srv, "/site.css", ["Accept-Encoding: gzip"])
    assert r.body == files["gz"] and not r.header("etag").startswith("W/")


def test_gzip_off_by_default_and_per_location(make_server):
    srv = make_server(GZIP + "location /raw/ {\n    gzip off;\n}\n")
    os.mkdir(os.path.join(srv.root, "raw"))
    write(os.path.join(srv.root, "raw", "a.css"), CSS)
    r = get(srv, "/raw/a.css", ["Accept-Encoding: gzip"])
    assert r.body == CSS and r.header("vary") is None
    plain = make_server()
    write(os.path.join(plain.root, "a.css"), CSS)
    r = get(plain, "/a.css", ["Accept-Encoding: gzip"])
    assert r.body == CSS and r.header("content-encoding") is None and r.header("vary") is None


def test_curl_compressed_with_gzip_on_the_fly(make_server):
    srv = make_server(GZIP)
    write(os.path.join(srv.root, "page.html"), CSS)
    status, h, body = curl(srv, "/page.html", "--compressed")
    assert status == 200 and h["content-encoding"] == "gzip" and body == CSS
    status, h, body = curl(srv, "/page.html", "--compressed", "-r", "0-9")
    assert status == 206 and "content-encoding" not in h and body == CSS[:10]


def test_sibling_never_answers_for_a_missing_or_replaced_original(make_server):
    srv = make_server(PRE)
    files = site(srv, name="upload/s.css", br=False)
    auth = ["Authorization: " + AUTH]
    r = get(srv, "/upload/s.css", ["Accept-Encoding: gzip"] + auth)
    assert r.body == files["gz"]
    # an upload replaces the original: its old sibling is now older, and ignored
    rs, rd = exchange(srv, request("PUT", "/upload/s.css", auth, body=b"a{}\n" * 200))
    rd.sock.close()
    assert rs[0].status in (200, 201, 204)
    r = get(srv, "/upload/s.css", ["Accept-Encoding: gzip"] + auth)
    assert r.body == b"a{}\n" * 200 and r.header("content-encoding") is None
    # the original deleted: 404, though s.css.gz is still there
    rs, rd = exchange(srv, request("DELETE", "/upload/s.css", auth))
    rd.sock.close()
    assert rs[0].status in (200, 204)
    assert os.path.exists(os.path.join(srv.root, "upload", "s.css.gz"))
    assert get(srv, "/upload/s.css", ["Accept-Encoding: gzip"] + auth).status == 404
