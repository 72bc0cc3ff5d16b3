"""Directory listings (autoindex): HTML and JSON, escaping of hostile names,
order, hidden and reserved names, the entry bound, HEAD, and listings of an
upload area behind its authentication."""

import json
import os
import re
import subprocess
import urllib.parse

from conftest import AUTH, get, request, exchange

ON = "autoindex on;\n"

HOSTILE = [
    b"<img src=x onerror=alert(1)>.txt",
    b"a&b \"quoted\" 'single'.txt",
    "caf\u00e9 \u20ac.txt".encode(),
    b"ctl\x01\x1b[31m.txt",
    b"bad\xff\xfe.bin",
    b"colon:looks-like-a-scheme.txt",
    b"100% #hash ?query.txt",
]


def mkfile(root, rel, data=b"x"):
    path = os.path.join(os.fsencode(root), rel if isinstance(rel, bytes) else rel.encode())
    with open(path, "wb") as f:
        f.write(data)
    return path


def hrefs(html):
    return re.findall(r'<a href="([^"]*)">', html)


def test_listing_off_by_default(make_server):
    srv = make_server()
    os.mkdir(os.path.join(srv.root, "files"))
    mkfile(srv.root, "files/a.txt")
    assert get(srv, "/files/").status == 404


def test_html_listing_escapes_every_name_and_links_to_it(make_server):
    srv = make_server(ON)
    os.mkdir(os.path.join(srv.root, "files"))
    for i, name in enumerate(HOSTILE):
        mkfile(srv.root, b"files/" + name, b"%d" % i)
    r = get(srv, "/files/")
    assert r.status == 200
    assert r.header("content-type") == "text/html; charset=utf-8"
    assert r.header("vary") == "Accept"
    assert r.header("content-length") == str(len(r.body))
    html = r.body.decode("utf-8")  # well-formed UTF-8 whatever the names
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in html
    assert "a&amp;b &quot;quoted&quot; &#39;single&#39;.txt" in html
    assert "caf\u00e9 \u20ac.txt" in html
    assert "ctl\ufffd\ufffd[31m.txt" in html
    assert "bad\ufffd\ufffd.bin" in html
    assert not any(ord(ch) < 0x20 and ch not in "\n" for ch in html)
    links = hrefs(html)
    assert "../" in links
    for i, name in enumerate(HOSTILE):
        href = urllib.parse.quote(name, safe="")
        assert href in links, name
        # each link names exactly the file's bytes; names with control bytes
        # cannot be requested at all (a request path may not carry them)
        got = get(srv, "/files/" + href)
        if b"\x01" in name:
            assert got.status == 400
        else:
            assert got.status == 200 and got.body == b"%d" % i, name
    assert "colon%3Alooks-like-a-scheme.txt" in links


def test_directories_first_then_names_in_byte_order(make_server):
    srv = make_server(ON)
    root = os.path.join(srv.root, "o")
    os.mkdir(root)
    for d in ("zdir", "Adir"):
        os.mkdir(os.path.join(root, d))
    for f in ("b.txt", "B.txt", "a.txt", "10.txt", "9.txt"):
        mkfile(root, f, b"12345")
    links = hrefs(get(srv, "/o/").body.decode())
    assert links == ["../", "Adir/", "zdir/", "10.txt", "9.txt", "B.txt", "a.txt", "b.txt"]


def test_hidden_reserved_and_special_entries_are_never_listed(make_server):
    srv = make_server(ON)
    root = os.path.join(srv.root, "h")
    os.mkdir(root)
    mkfile(root, "visible.txt")
    mkfile(root, ".secret")
    mkfile(root, ".lingerd-put-123456")
    os.mkdir(os.path.join(root, ".git"))
    os.symlink("/etc/passwd", os.path.join(root, "link-out"))
    os.symlink("visible.txt", os.path.join(root, "link-in"))
    os.mkfifo(os.path.join(root, "fifo"))
    html = get(srv, "/h/").body.decode()
    assert hrefs(html) == ["../", "visible.txt"]
    for word in ("secret", "lingerd-put", ".git", "link", "fifo", "passwd"):
        assert word not in html
    data = json.loads(get(srv, "/h/?format=json").body)
    assert [e["name"] for e in data["entries"]] == ["visible.txt"]


def test_json_by_query_or_accept(make_server):
    srv = make_server(ON)
    root = os.path.join(srv.root, "j")
    os.mkdir(root)
    os.mkdir(os.path.join(root, "sub"))
    mkfile(root, "data.bin", b"x" * 1234)
    mkfile(root, b"q\"uote\\.txt")
    mkfile(root, b"bad\xff.txt")
    for headers, path in (([], "/j/?format=json"), ([], "/j/?a=1&format=json"),
                          (["Accept: application/json"], "/j/")):
        r = get(srv, path, headers)
        assert r.status == 200
        assert r.header("content-type") == "application/json"
        data = json.loads(r.body)
        assert data["path"] == "/j/" and data["truncated"] is False
        by = {e["name"]: e for e in data["entries"]}
        assert [e["name"] for e in data["entries"]] == ["sub", "bad\ufffd.txt", "data.bin",
                                                         "q\"uote\\.txt"]
        assert by["sub"]["type"] == "directory" and by["sub"]["href"] == "sub/"
        assert "size" not in by["sub"]
        assert by["data.bin"]["type"] == "file" and by["data.bin"]["size"] == 1234
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", by["data.bin"]["mtime"])
        assert by["bad\ufffd.txt"]["href"] == "bad%FF.txt"  # the exact bytes
    # a browser's Accept gets HTML; so does JSON refused or weighed lower
    for accept in ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                   "application/json;q=0", "application/json;q=0.5, text/html", "*/*"):
        r = get(srv, "/j/", ["Accept: " + accept])
        assert r.header("content-type").startswith("text/html"), accept
    r = get(srv, "/j/", ["Accept: text/html;q=0.5, application/json"])
    assert r.header("content-type") == "application/json"
    assert get(srv, "/j/?format=jsonx").header("content-type").startswith("text/html")


def test_entry_bound_says_the_listing_is_cut_short(make_server):
    srv = make_server(ON + "autoindex_max_entries 3;\n")
    root = os.path.join(srv.root, "many")
    os.mkdir(root)
    for i in range(8):
        mkfile(root, "f%d.txt" % i)
    mkfile(root, ".hidden-ones-do-not-count")
    html = get(srv, "/many/").body.decode()
    assert len(hrefs(html)) == 1 + 3
    assert 'id="truncated"' in html and "first 3" in html
    data = json.loads(get(srv, "/many/?format=json").body)
    assert data["truncated"] is True and len(data["entries"]) == 3
    os.mkdir(os.path.join(srv.root, "few"))
    for i in range(3):
        mkfile(srv.root, "few/f%d.txt" % i)
    html = get(srv, "/few/").body.decode()
    assert 'id="truncated"' not in html and len(hrefs(html)) == 4


def test_parent_link_except_at_the_location_root(make_server):
    srv = make_server("location /pub/ {\n    autoindex on;\n}\n")
    os.makedirs(os.path.join(srv.root, "pub", "deeper"))
    assert "../" not in hrefs(get(srv, "/pub/").body.decode())
    assert "../" in hrefs(get(srv, "/pub/deeper/").body.decode())
    os.mkdir(os.path.join(srv.root, "other"))
    assert get(srv, "/other/").status == 404  # autoindex is off outside /pub/
    root_srv = make_server(ON)
    os.remove(os.path.join(root_srv.root, "index.html"))
    assert "../" not in hrefs(get(root_srv, "/").body.decode())


def test_an_index_file_wins_over_the_listing(make_server):
    srv = make_server(ON)
    os.mkdir(os.path.join(srv.root, "site"))
    mkfile(srv.root, "site/index.html", b"<p>index</p>")
    mkfile(srv.root, "site/other.txt")
    r = get(srv, "/site/")
    assert r.body == b"<p>index</p>"
    assert get(srv, "/site").status == 301  # the slash redirect is unchanged


def test_head_gets_the_headers_of_get(make_server):
    srv = make_server(ON)
    os.mkdir(os.path.join(srv.root, "d"))
    mkfile(srv.root, "d/a.txt")
    g = get(srv, "/d/")
    h = get(srv, "/d/", method="HEAD")
    assert h.status == 200 and h.body == b""
    for name in ("content-type", "content-length", "vary", "cache-control"):
        assert h.header(name) == g.header(name)


def test_upload_area_listing_needs_auth_and_shows_uploads(make_server):
    srv = make_server(ON)
    assert get(srv, "/upload/").status == 401
    r = get(srv, "/upload/", ["Authorization: " + AUTH])
    assert r.status == 200 and hrefs(r.body.decode()) == []  # the location's root: no parent
    rs, rd = exchange(srv, request("PUT", "/upload/report 1.txt".replace(" ", "%20"),
                                   ["Authorization: " + AUTH], body=b"uploaded"))
    rd.sock.close()
    assert rs[0].status in (200, 201, 204)
    r = get(srv, "/upload/?format=json", ["Authorization: " + AUTH])
    data = json.loads(r.body)
    assert [(e["name"], e["href"], e["size"]) for e in data["entries"]] == [
        ("report 1.txt", "report%201.txt", 8)]


def test_curl_reads_the_listing(make_server):
    srv = make_server(ON)
    os.mkdir(os.path.join(srv.root, "c"))
    mkfile(srv.root, "c/file.txt", b"abc")
    out = subprocess.run(["curl", "-s", "-S", "--max-time", "10", srv.url("/c/")],
                         capture_output=True, timeout=20)
    assert out.returncode == 0 and b'<a href="file.txt">file.txt</a>' in out.stdout
    out = subprocess.run(["curl", "-s", "-S", "--max-time", "10", "-H",
                          "Accept: application/json", srv.url("/c/")],
                         capture_output=True, timeout=20)
    assert json.loads(out.stdout)["entries"][0]["size"] == 3
