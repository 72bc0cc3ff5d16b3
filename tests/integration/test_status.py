"""/server-status (HTML and ?auto) and /metrics, black-box.

Each connection state and each close outcome is driven by a real client,
and the counters must move exactly as expected: the outcome counted, the
others unchanged, in ?auto and in /metrics alike. Counters are read on one
kept-alive scraping connection, so reading them closes nothing; while it
asks it is the one connection shown as responding.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import AUTH, Reader, request, sockets_in_state, wait_for

OUTCOME_KEYS = {
    "plain": "ClosesPlain",
    "client_closed": "ClosesClientClosed",
    "went_silent": "ClosesWentSilent",
    "still_sending": "ClosesStillSending",
    "shed": "ClosesShed",
    "reset": "ClosesReset",
    "send_timeout": "ClosesSendTimeout",
}
STATE_KEYS = {
    "read_head": "ConnsReadingHead",
    "read_body": "ConnsReadingBody",
    "respond": "ConnsResponding",
    "idle": "ConnsIdleKeepAlive",
    "linger": "ConnsLingering",
}


class Scraper:
    """Reads ?auto and /metrics on one kept-alive connection."""

    def __init__(self, srv):
        self.sock = srv.connect()
        self.rd = Reader(self.sock)

    def get(self, path):
        self.sock.sendall(request("GET", path))
        r = self.rd.response()
        assert r is not None and r.status == 200, r
        assert r.header("cache-control") == "no-store"
        return r

    def auto(self):
        r = self.get("/server-status?auto")
        assert r.header("content-type").startswith("text/plain")
        out = {}
        for line in r.body.decode().splitlines()[1:]:
            k, v = line.split(": ", 1)
            out[k] = v
        return out

    def metrics(self):
        r = self.get("/metrics")
        assert r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8"
        return parse_exposition(r.body.decode())

    def counts(self):
        """Outcome and state counts from both pages, checked to agree. The
        pages are two requests: if a client moved in between, read again
        (bounded)."""
        for _ in range(50):
            try:
                return self._counts()
            except AssertionError:
                pass
        return self._counts()

    def _counts(self):
        a = self.auto()
        m = self.metrics()
        out = {}
        for name, key in OUTCOME_KEYS.items():
            assert m['lingerd_closes_total{outcome="%s"}' % name] == int(a[key]), name
            out[name] = int(a[key])
        for name, key in STATE_KEYS.items():
            assert m['lingerd_connections{state="%s"}' % name] == int(a[key]), name
            out["conns_" + name] = int(a[key])
        out["fin_wait2_bounded"] = int(a["FinWait2Bounded"])
        assert m["lingerd_fin_wait2_bounded_total"] == out["fin_wait2_bounded"]
        out["lingered"] = int(a["Lingered"])
        assert m["lingerd_lingered_total"] == out["lingered"]
        assert int(a["ConnsAsyncKeepAlive"]) == out["conns_idle"]
        assert int(a["ConnsAsyncClosing"]) == out["conns_linger"]
        assert int(a["ConnsAsyncWriting"]) == out["conns_respond"]
        assert int(a["ConnsTotal"]) == sum(out["conns_" + s] for s in STATE_KEYS)
        return out

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------
# A strict parser of the text exposition format 0.0.4


METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$" %
                    (METRIC_NAME, LABEL, LABEL))


def parse_exposition(text):
    """Samples as {name{labels}: value}; fails on anything not in the format:
    a sample before its TYPE, a family declared twice or split, a counter
    not ending in _total, a repeated series, a bad line."""
    assert text.endswith("\n"), "exposition must end with a newline"
    samples = {}
    types = {}
    helps = set()
    current = None
    finished = set()
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert re.fullmatch(METRIC_NAME, name), line
            assert name not in helps, "HELP twice: " + name
            helps.add(name)
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            assert len(parts) == 4, line
            name, typ = parts[2], parts[3]
            assert typ in ("counter", "gauge", "untyped", "summary", "histogram"), line
            assert name not in types, "TYPE twice: " + name
            if current:
                finished.add(current)
            types[name] = typ
            current = name
            continue
        assert not line.startswith("#") or line.startswith("# "), line
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name = m.group(1)
        assert name == current, "sample %s outside its family (%s)" % (name, current)
        assert name not in finished
        if types[name] == "counter":
            assert name.endswith("_total"), "counter without _total: " + name
        key = name + (m.group(2) or "")
        assert key not in samples, "series twice: " + key
        v = float(m.group(3))
        samples[key] = int(v) if v.is_integer() else v
    for name in types:
        assert name in helps, "no HELP for " + name
    return samples


# ---------------------------------------------------------------------------
# Clients in each state


def unauthorized_put(srv, length=10 * 1024 * 1024):
    """A PUT refused at its head whose body is too big to discard: the server
    answers 401 and lingers. Returns the socket after the 401 and the FIN."""
    s = srv.connect(timeout=10)
    s.sendall(request("PUT", "/upload/x.bin", ["Content-Length: %d" % length]))
    rd = Reader(s)
    r = rd.response()
    assert r.status == 401
    assert rd.read_until_close() == b"" and not rd.reset  # the server's FIN
    return s


def expect_delta(before, after, **want):
    """Every counter moved by exactly want (0 if not named)."""
    for k in before:
        if k.startswith("conns_"):
            continue
        assert after[k] - before[k] == want.get(k, 0), \
            "%s moved by %d, expected %d" % (k, after[k] - before[k], want.get(k, 0))


LINGER = "lingering_timeout %s;\nlingering_time %s;\n"


def test_status_pages_headers_and_types(make_server):
    srv = make_server()
    sc = Scraper(srv)
    r = sc.get("/server-status")
    assert r.header("content-type") == "text/html; charset=utf-8"
    body = r.body.decode()
    assert body.startswith("<!DOCTYPE html>") and body.rstrip().endswith("</html>")
    a = sc.auto()
    assert a["ServerVersion"].startswith("lingerd/")
    assert int(a["Processes"]) >= 1
    # The asking connection is the one responding; nothing else is open.
    c = sc.counts()
    assert c["conns_respond"] == 1
    assert sum(c["conns_" + s] for s in STATE_KEYS) == 1
    # HEAD gets the head only; POST is not allowed.
    s = srv.connect()
    s.sendall(request("HEAD", "/metrics") + request("POST", "/metrics", body=b"x"))
    rd = Reader(s)
    r = rd.response(head_request=True)
    assert r.status == 200 and int(r.header("content-length")) > 100
    r = rd.response()
    assert r.status == 405 and r.header("allow") == "GET, HEAD"
    s.close()
    sc.close()


def test_status_totals_count_requests_and_bytes(make_server):
    srv = make_server()
    sc = Scraper(srv)
    a0 = sc.auto()
    for _ in range(5):
        s = srv.connect()
        s.sendall(request("GET", "/", ["Connection: close"]))
        Reader(s).read_until_close()
        s.close()
    a1 = sc.auto()
    # 5 requests plus the first ?auto itself (counted when its head was parsed)
    assert int(a1["Total Accesses"]) - int(a0["Total Accesses"]) == 6
    assert int(a1["BytesSent"]) > int(a0["BytesSent"])
    assert int(a1["Accepted"]) - int(a0["Accepted"]) == 5
    sc.close()


def test_status_allow_refuses_others(make_server):
    srv = make_server("status_allow 10.0.0.0/8 192.0.2.1;")
    for path in ("/server-status", "/server-status?auto", "/metrics"):
        s = srv.connect()
        s.sendall(request("GET", path))
        r = Reader(s).response()
        assert r.status == 403, path
        s.close()


def test_status_paths_configurable_and_off(make_server):
    srv = make_server('status_path /st;\nmetrics_path "";')
    for path, want in (("/st?auto", 200), ("/metrics", 404), ("/server-status", 404)):
        s = srv.connect()
        s.sendall(request("GET", path))
        r = Reader(s).response()
        assert r.status == want, path
        s.close()


def test_states_reading_head_body_idle_lingering(make_server):
    srv = make_server(LINGER % ("10s", "20s"))
    sc = Scraper(srv)
    base = sc.counts()
    assert base["conns_respond"] == 1

    head = srv.connect()
    head.sendall(b"GET / HTTP/1.1\r\nHo")
    assert wait_for(lambda: sc.counts()["conns_read_head"] == 1)

    body = srv.connect()
    body.sendall(request("PUT", "/upload/b.bin", ["Authorization: " + AUTH,
                                                  "Content-Length: 100"]) + b"x" * 10)
    assert wait_for(lambda: sc.counts()["conns_read_body"] == 1)

    idle = srv.connect()
    idle.sendall(request("GET", "/"))
    assert Reader(idle).response().status == 200
    assert wait_for(lambda: sc.counts()["conns_idle"] == 1)

    linger = unauthorized_put(srv)
    c = sc.counts()
    assert (c["conns_read_head"], c["conns_read_body"], c["conns_respond"], c["conns_idle"],
            c["conns_linger"]) == (1, 1, 1, 1, 1), c

    for s in (head, body, idle, linger):
        s.close()
    assert wait_for(lambda: sum(sc.counts()["conns_" + s] for s in STATE_KEYS) == 1)
    sc.close()


def test_outcome_client_closed(make_server):
    srv = make_server(LINGER % ("10s", "20s"))
    sc = Scraper(srv)
    before = sc.counts()
    s = unauthorized_put(srv)
    s.close()  # the client's FIN ends the lingering close
    assert wait_for(lambda: sc.counts()["client_closed"] == before["client_closed"] + 1)
    expect_delta(before, sc.counts(), client_closed=1, lingered=1)
    sc.close()


def test_outcome_went_silent_and_fin_wait2_bounded(make_server):
    srv = make_server(LINGER % ("300ms", "20s") + "fin_wait2_timeout 1s;")
    sc = Scraper(srv)
    before = sc.counts()
    s = unauthorized_put(srv)  # then says nothing and never closes
    assert wait_for(lambda: sc.counts()["went_silent"] == before["went_silent"] + 1)
    # Our FIN was acknowledged and the client's never came: FIN_WAIT_2,
    # bounded by TCP_LINGER2.
    expect_delta(before, sc.counts(), went_silent=1, lingered=1, fin_wait2_bounded=1)
    s.close()
    sc.close()


def test_outcome_still_sending_trickle(make_server):
    srv = make_server(LINGER % ("400ms", "1s"))
    sc = Scraper(srv)
    before = sc.counts()
    s = unauthorized_put(srv)
    # Trickle a byte every 50 ms, never silent for lingering_timeout: the
    # total lingering_time ends it. Bounded: at most 200 bytes (10 s).
    for _ in range(200):
        try:
            s.send(b"z")
        except OSError:
            break  # the server closed; our next bytes met a reset
        if sc.counts()["still_sending"] == before["still_sending"] + 1:
            break
        time.sleep(0.05)
    assert wait_for(lambda: sc.counts()["still_sending"] == before["still_sending"] + 1)
    after = sc.counts()
    expect_delta(before, after, still_sending=1, lingered=1, fin_wait2_bounded=1)
    s.close()
    sc.close()


def test_outcome_shed_by_linger_cap(make_server):
    srv = make_server(LINGER % ("10s", "20s") + "lingering_max_conns 1;")
    sc = Scraper(srv)
    before = sc.counts()
    first = unauthorized_put(srv)
    assert wait_for(lambda: sc.counts()["conns_linger"] == 1)
    # Our FIN acknowledged (the client may delay its ACK): FIN_WAIT_2 now.
    assert wait_for(lambda: len(sockets_in_state(srv.port, "fin-wait-2")) == 1)
    second = unauthorized_put(srv)  # past the cap: the oldest is shed
    assert wait_for(lambda: sc.counts()["shed"] == before["shed"] + 1)
    c = sc.counts()
    assert c["conns_linger"] == 1
    expect_delta(before, c, shed=1, lingered=2, fin_wait2_bounded=1)
    second.close()
    assert wait_for(lambda: sc.counts()["client_closed"] == before["client_closed"] + 1)
    expect_delta(before, sc.counts(), shed=1, lingered=2, fin_wait2_bounded=1,
                 client_closed=1)
    first.close()
    sc.close()


# ---------------------------------------------------------------------------
# Validity of /metrics for a real Prometheus


def test_metrics_exposition_is_valid(make_server):
    srv = make_server()
    sc = Scraper(srv)
    text = sc.get("/metrics").body.decode()
    samples = parse_exposition(text)
    for s in STATE_KEYS:
        assert 'lingerd_connections{state="%s"}' % s in samples
    for o in OUTCOME_KEYS:
        assert 'lingerd_closes_total{outcome="%s"}' % o in samples
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian's prometheus package); the strict "
                    "parser above checked the format")
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    sc.close()


def test_strict_parser_rejects_bad_exposition():
    good = "# HELP a_total x\n# TYPE a_total counter\na_total 1\n"
    assert parse_exposition(good) == {"a_total": 1}
    bad = [
        "a_total 1\n",                                               # no TYPE
        "# HELP a x\n# TYPE a counter\na 1\n",                       # counter without _total
        good + "a_total 2\n",                                        # series twice
        "# HELP a x\n# TYPE a gauge\na{l=\"x} 1\n",                  # bad label
        good.rstrip("\n"),                                           # no final newline
        "# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\nb 1\na 1\n",  # split family
    ]
    for text in bad:
        with pytest.raises(AssertionError):
            parse_exposition(text)


# ---------------------------------------------------------------------------
# The HTML page in a real browser


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(url, *args):
    exe = chromium_binary()
    profile = tempfile.mkdtemp(prefix="lingerd-chromium-")
    try:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               "--user-data-dir=" + profile] + list(args) + [url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.release_only
def test_status_html_renders_in_chromium(make_server, tmp_path):
    if chromium_binary() is None:
        pytest.skip("chromium is not installed (apt-get install chromium); the HTML page "
                    "was not checked in a browser")
    srv = make_server(LINGER % ("10s", "20s"))
    idle = srv.connect()
    idle.sendall(request("GET", "/"))
    assert Reader(idle).response().status == 200
    linger = unauthorized_put(srv)
    sc = Scraper(srv)
    assert wait_for(lambda: sc.counts()["conns_linger"] == 1 and sc.counts()["conns_idle"] == 1)

    p = run_chromium(srv.url("/server-status"), "--dump-dom")
    assert p.returncode == 0, p.stderr[-2000:]
    dom = p.stdout
    # What the browser built: the tables, with the live counts in them.
    assert "<title>lingerd status: lingerd</title>" in dom
    # Our lingering client, our idle client and the scraper (idle between
    # its requests); the browser's own connection is the one responding
    # (it may open a spare one, so "at least" where it could be counted).
    assert re.search(r'<td class="n" id="state-linger">1</td>', dom), dom[:3000]
    idle_n = int(re.search(r'<td class="n" id="state-idle">(\d+)</td>', dom).group(1))
    respond_n = int(re.search(r'<td class="n" id="state-respond">(\d+)</td>', dom).group(1))
    assert idle_n >= 2 and respond_n >= 1
    for table in ("states", "outcomes", "traffic", "workers"):
        assert 'id="%s"' % table in dom
    assert "FIN_WAIT_2 bound reached" in dom and "still sending at the cap" in dom

    shot = str(tmp_path / "status.png")
    p = run_chromium(srv.url("/server-status"), "--screenshot=" + shot,
                     "--window-size=1100,1400", "--hide-scrollbars")
    assert p.returncode == 0, p.stderr[-2000:]
    with open(shot, "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000
    if os.environ.get("LINGERD_SCREENSHOT"):
        shutil.copy(shot, os.environ["LINGERD_SCREENSHOT"])
    for s in (idle, linger):
        s.close()
    sc.close()
