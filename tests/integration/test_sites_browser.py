"""Two sites in a real browser: headless Chromium against one lingerd.

site-a.test: a page whose stylesheet and script are served gzip-compressed
(on the fly, from the worker's cache) and run in the browser, and a custom
404 page. site-b.test: a single-page application whose deep routes fall back
to its index.html. The browser resolves both names to the test server's
loopback address, so the Host field it sends picks the site. Screenshots of
each page are taken and checked to be real pictures, not blank ones.
"""

import os
import re
import shutil
import struct
import zlib

import pytest

from test_status import chromium_binary, run_chromium

STYLE = "body { background: #fbe9c4; color: #402000; font: 18px sans-serif; }\n" + "".join(
    ".rule-%d { margin: %dpx; padding: %dpx; border: 1px solid #%06x; }\n" % (i, i % 7, i % 5,
                                                                               i * 2654435 % 0xffffff)
    for i in range(160))

SITE_A_INDEX = """<!doctype html>
<html><head><meta charset="utf-8"><title>Site A</title>
<link rel="stylesheet" href="/style.css"><script src="/app.js" defer></script></head>
<body><h1>Site A</h1><p id="status">script not run</p></body></html>
"""

SITE_A_SCRIPT = "\n".join(["// padding so the script is worth compressing: %d" % i
                           for i in range(120)] + [
    "document.getElementById('status').textContent = "
    "'site A script ran, stylesheet ' + "
    "(getComputedStyle(document.body).backgroundColor === 'rgb(251, 233, 196)' "
    "? 'applied' : 'missing');"])

SITE_A_404 = """<!doctype html>
<html><head><meta charset="utf-8"><title>Site A: not here</title></head>
<body style="background:#c4e0fb"><h1>Site A has no such page</h1></body></html>
"""

SITE_B_INDEX = """<!doctype html>
<html><head><meta charset="utf-8"><title>Site B app</title></head>
<body style="background:#d4fbc4"><h1>Site B</h1><p id="route">no route</p>
<script>document.getElementById('route').textContent = 'route ' + location.pathname;</script>
</body></html>
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def png_is_a_picture(path, width, height):
    """A PNG of the window's size whose pixels are not all one colour."""
    with open(path, "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h = struct.unpack(">II", png[16:24])
    assert (w, h) == (width, height), (w, h)
    idat, pos = b"", 8
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            idat += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    pixels = zlib.decompress(idat)
    # Filter bytes aside, a blank page compresses to a handful of values.
    return len(set(pixels)) > 8


@pytest.fixture
def two_sites(make_server, tmp_path):
    a = str(tmp_path / "site-a")
    b = str(tmp_path / "site-b")
    write(os.path.join(a, "index.html"), SITE_A_INDEX)
    write(os.path.join(a, "style.css"), STYLE)
    write(os.path.join(a, "app.js"), SITE_A_SCRIPT)
    write(os.path.join(a, "errors", "404.html"), SITE_A_404)
    write(os.path.join(b, "index.html"), SITE_B_INDEX)
    log = str(tmp_path / "access.log")
    config = """
access_log %s;
access_log_format "$host $request $status $body_bytes_sent";
gzip on;
gzip_min_length 1k;
server {
    server_name site-a.test;
    root %s;
    error_page 404 /errors/404.html;
}
server {
    server_name site-b.test;
    root %s;
    fallback /index.html;
}
""" % (log, a, b)
    return make_server(config, uploads=False), log


def browse(url, *args):
    rules = "MAP site-a.test 127.0.0.1,MAP site-b.test 127.0.0.1"
    return run_chromium(url, "--host-resolver-rules=" + rules, *args)


@pytest.mark.release_only
def test_two_sites_in_chromium(two_sites, tmp_path):
    if chromium_binary() is None:
        pytest.skip("chromium is not installed (apt-get install chromium); the two sites "
                    "were not loaded in a browser")
    srv, log = two_sites
    a = "http://site-a.test:%d" % srv.port
    b = "http://site-b.test:%d" % srv.port

    # Site A: the script ran and saw the stylesheet applied.
    p = browse(a + "/", "--dump-dom")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "site A script ran, stylesheet applied" in p.stdout, p.stdout[:2000]

    # Both came compressed: fewer body bytes than the files have.
    lines = open(log).read().splitlines()
    sent = {}
    for line in lines:
        m = re.match(r"(\S+) GET (\S+) HTTP/1\.1 (\d+) (\d+)$", line)
        if m and m.group(1).startswith("site-a.test"):
            sent[m.group(2)] = (int(m.group(3)), int(m.group(4)))
    assert sent.get("/style.css", (0,))[0] == 200, lines
    assert sent["/style.css"][1] < len(STYLE) // 2, sent
    assert sent["/app.js"][0] == 200 and sent["/app.js"][1] < len(SITE_A_SCRIPT) // 2, sent

    # Site A's own 404 page, with the 404 status.
    p = browse(a + "/no/such/page", "--dump-dom")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Site A has no such page" in p.stdout, p.stdout[:2000]
    assert any(re.match(r"site-a\.test\S* GET /no/such/page HTTP/1\.1 404 ", l)
               for l in open(log).read().splitlines())

    # Site B: a deep route of the application falls back to its index.html,
    # whose script reads the route the browser asked for.
    p = browse(b + "/app/orders/42", "--dump-dom")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "route /app/orders/42" in p.stdout, p.stdout[:2000]
    assert "Site A" not in p.stdout

    # Screenshots of the three pages are pictures of the window's size.
    for name, url in (("a", a + "/"), ("a404", a + "/missing"), ("b", b + "/app/x")):
        shot = str(tmp_path / ("%s.png" % name))
        p = browse(url, "--screenshot=" + shot, "--window-size=800,600",
                   "--hide-scrollbars")
        assert p.returncode == 0, p.stderr[-2000:]
        assert png_is_a_picture(shot, 800, 600), name
        if os.environ.get("LINGERD_SCREENSHOT_DIR"):
            shutil.copy(shot, os.environ["LINGERD_SCREENSHOT_DIR"])
