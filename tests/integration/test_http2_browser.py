"""HTTP/2 in a real browser: headless Chromium against lingerd over HTTPS.

Chromium, trusting a CA the test made (an NSS database, as in
test_tls_status), loads a page with a stylesheet and a script from a TLS
listener where `http2` is left at its default (on). Browsers offer h2 first
in ALPN, so the page must come over HTTP/2: the browser's own account says
so (the script reads nextHopProtocol from the Navigation and Resource Timing
entries of the page, its stylesheet and itself), the server's counters say
so (/metrics, read over HTTP/1.1 on a plain listener so that reading makes
no h2 traffic of its own), and the access log's `$protocol` says so for
every one of those requests. Then the browser loads /server-status over the
same kind of connection: its HTTP/2 section counts at least what /metrics
counted before, and the log shows the status page's own request came over
HTTP/2.0. Screenshots of both pages are real pictures.
"""

import os
import re
import shutil

import pytest

from conftest import free_port, wait_for
from test_sites_browser import png_is_a_picture
from test_status import Scraper, chromium_binary
from test_tls_status import PlainSide, chromium_https, log_lines, nss_home_trusting
from tlscerts import TestCA

STYLE = "body { background: #c9e7f2; color: #10303c; font: 18px sans-serif; }\n" + "".join(
    ".row-%d { margin: %dpx; border: 1px solid #%06x; }\n" % (i, i % 9, i * 40503 % 0xffffff)
    for i in range(80))

INDEX = """<!doctype html>
<html><head><meta charset="utf-8"><title>Over HTTP/2</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/h2site/style.css"><script src="/h2site/app.js" defer></script>
</head><body><h1>lingerd over HTTP/2</h1><p id="report">script not run</p></body></html>
"""

# What the browser says it used for the page and each of its parts.
SCRIPT = """
var nav = performance.getEntriesByType('navigation')[0];
var parts = performance.getEntriesByType('resource').filter(function (e) {
    return /\\/h2site\\/(style\\.css|app\\.js)$/.test(e.name);
}).map(function (e) {
    return e.name.replace(/^.*\\//, '') + ' over ' + e.nextHopProtocol;
}).sort();
var applied = getComputedStyle(document.body).backgroundColor === 'rgb(201, 231, 242)';
document.getElementById('report').textContent = 'script ran; stylesheet ' +
    (applied ? 'applied' : 'missing') + '; page over ' + nav.nextHopProtocol + '; ' +
    parts.join('; ');
"""

PAGE_PATHS = ("/h2site/", "/h2site/style.css", "/h2site/app.js")


def h2_counts(sc):
    """lingerd's HTTP/2 counters from /metrics. The requests carried by h2
    are lingerd_http2_requests_total, or the HTTP/2.0 series of
    lingerd_requests_total (the contract allows either name)."""
    m = sc.metrics()
    requests = m.get("lingerd_http2_requests_total",
                     m.get('lingerd_requests_total{protocol="HTTP/2.0"}'))
    assert requests is not None, sorted(k for k in m if "http2" in k or "requests" in k)
    return {"requests": requests, "connections": m["lingerd_http2_connections_total"],
            "streams": m["lingerd_http2_streams_total"],
            "alpn_h2": m['lingerd_tls_alpn_total{protocol="h2"}']}


@pytest.mark.release_only
def test_chromium_loads_the_site_and_the_status_page_over_h2(make_server, tmp_path):
    if chromium_binary() is None:
        pytest.skip("chromium is not installed (apt-get install chromium); no browser "
                    "loaded the site over HTTP/2")
    if shutil.which("certutil") is None:
        pytest.skip("certutil is not installed (apt-get install libnss3-tools); Chromium "
                    "cannot be made to trust the test CA")
    ca = TestCA(str(tmp_path / "ca"))
    leaf = ca.leaf("localhost")
    plain = free_port()
    log = str(tmp_path / "access.log")
    srv = make_server("listen 127.0.0.1:%d;\ntls_certificate %s %s;\naccess_log %s;\n"
                      'access_log_format "$protocol $request $status";\n'
                      % (plain, leaf.cert, leaf.key, log), tls=True, uploads=False)
    site = os.path.join(srv.root, "h2site")
    os.mkdir(site)
    for name, text in (("index.html", INDEX), ("style.css", STYLE), ("app.js", SCRIPT)):
        with open(os.path.join(site, name), "w") as f:
            f.write(text)
    home = str(tmp_path / "home")
    nss_home_trusting(ca.cert, home)
    url = "https://localhost:%d" % srv.port
    sc = Scraper(PlainSide(plain))
    try:
        before = h2_counts(sc)

        # The page, as the browser saw it: every part over h2.
        p = chromium_https(url + "/h2site/", home)
        assert p.returncode == 0, p.stderr[-2000:]
        report = re.search(r'<p id="report">([^<]*)</p>', p.stdout)
        assert report, p.stdout[:2000]
        assert report.group(1) == ("script ran; stylesheet applied; page over h2; "
                                   "app.js over h2; style.css over h2"), report.group(1)

        # As the server counted it: an h2 connection (ALPN chose h2) that
        # carried at least the three requests.
        page = h2_counts(sc)
        assert page["alpn_h2"] - before["alpn_h2"] >= 1, (before, page)
        assert page["connections"] - before["connections"] >= 1, (before, page)
        assert page["streams"] - before["streams"] >= 3, (before, page)
        assert page["requests"] - before["requests"] >= 3, (before, page)

        # As the access log wrote it: each request HTTP/2.0, none HTTP/1.1.
        assert wait_for(lambda: all(any(" %s " % path in l for l in log_lines(log))
                                    for path in PAGE_PATHS)), log_lines(log)
        for path in PAGE_PATHS:
            mine = [l for l in log_lines(log) if " %s " % path in l]
            assert mine and all(l == "HTTP/2.0 GET %s HTTP/2.0 200" % path for l in mine), mine

        # The status page over h2: its HTTP/2 section counts at least what
        # /metrics counted for the page, and its own request was HTTP/2.0.
        p = chromium_https(url + "/server-status", home)
        assert p.returncode == 0, p.stderr[-2000:]
        dom = p.stdout
        assert "<title>lingerd status" in dom and "<h2>HTTP/2</h2>" in dom, dom[:3000]
        shown = {k: int(re.search(r'id="h2-%s">(\d+)<' % k, dom).group(1))
                 for k in ("conns", "streams", "requests")}
        assert shown["conns"] >= page["connections"] + 1, (shown, page)
        assert shown["requests"] >= page["requests"], (shown, page)
        assert shown["streams"] >= page["streams"], (shown, page)
        assert wait_for(lambda: "HTTP/2.0 GET /server-status HTTP/2.0 200" in log_lines(log)), \
            log_lines(log)
        assert not [l for l in log_lines(log) if "HTTP/1.1" in l and "/metrics" not in l], \
            log_lines(log)
        after = h2_counts(sc)
        assert after["requests"] - page["requests"] >= 1, (page, after)
        assert after["connections"] - page["connections"] >= 1, (page, after)
    finally:
        sc.close()

    # Screenshots of the page and the status page, drawn from h2 responses.
    for name, path, size in (("page", "/h2site/", (800, 600)),
                             ("status", "/server-status", (1100, 1400))):
        shot = str(tmp_path / ("h2-%s.png" % name))
        p = chromium_https(url + path, home, "--screenshot=" + shot,
                           "--window-size=%d,%d" % size, "--hide-scrollbars")
        assert p.returncode == 0, p.stderr[-2000:]
        assert png_is_a_picture(shot, *size), name
        if os.environ.get("LINGERD_SCREENSHOT_DIR"):
            shutil.copy(shot, os.environ["LINGERD_SCREENSHOT_DIR"])
    assert wait_for(lambda: log_lines(log).count("HTTP/2.0 GET /h2site/ HTTP/2.0 200") >= 2), \
        log_lines(log)
