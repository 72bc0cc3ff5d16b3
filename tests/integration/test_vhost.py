"""Virtual hosts: server blocks chosen by the Host field.

Three sites with their own roots; requests through raw sockets, curl (-H Host,
--resolve) and Python's http.client; the default server for unknown or
missing hosts; per-site locations and limits; the file cache kept per site;
lingerd -t on duplicate names; HTTPS with a certificate per block picked by
SNI while the Host picks the site.
"""

import http.client
import os
import shutil
import socket
import ssl
import subprocess

import pytest

from conftest import BIN, Reader, exchange, get, request
from tlscerts import TestCA, openssl_available


def make_sites(tmp_path, names=("a", "b", "c")):
    """A root per site with index.html and same.txt saying which site it is."""
    roots = {}
    for n in names:
        d = tmp_path / ("site-" + n)
        d.mkdir()
        (d / "index.html").write_text("site %s\n" % n)
        (d / "same.txt").write_text("same path, site %s\n" % n)
        (d / "dir").mkdir()
        (d / "dir" / "index.html").write_text("dir of %s\n" % n)
        roots[n] = str(d)
    return roots


def three_servers(roots, extra_a="", extra_b="", extra_c=""):
    # the measured site in the benchmark is not the first: b here is a wildcard
    return """
server {
    server_name a.example www.a.example;
    root %s;
    %s
}
server {
    server_name *.b.example;
    root %s;
    %s
}
server {
    server_name c.example;
    root %s;
    default_server on;
    %s
}
""" % (roots["a"], extra_a, roots["b"], extra_b, roots["c"], extra_c)


@pytest.fixture
def sites(make_server, tmp_path):
    roots = make_sites(tmp_path)
    return make_server(three_servers(roots), uploads=False)


def body_for(srv, host, path="/"):
    r = get(srv, path) if host is None else \
        exchange(srv, request("GET", path, host=host))[0][0]
    return r.status, r.body.decode()


@pytest.mark.parametrize("host,site", [
    ("a.example", "a"),             # exact
    ("www.a.example", "a"),         # a second name of the same block
    ("A.Example", "a"),             # case-insensitive
    ("a.example:8080", "a"),        # the port is ignored
    ("a.example.", "a"),            # one trailing dot is ignored
    ("x.b.example", "b"),           # leading wildcard
    ("y.x.b.example:1", "b"),       # a wildcard covers several labels
    ("b.example", "c"),             # ... but not the bare suffix: default server
    ("c.example", "c"),
    ("unknown.test", "c"),          # unknown: default_server
    ("127.0.0.1", "c"),
    ("[::1]:80", "c"),
])
def test_host_picks_the_site(sites, host, site):
    status, body = body_for(sites, host)
    assert status == 200
    assert body == "site %s\n" % site


def test_http10_without_host_gets_the_default_server(sites):
    rs, rd = exchange(sites, b"GET / HTTP/1.0\r\n\r\n")
    rd.sock.close()
    assert rs[0].status == 200 and rs[0].body == b"site c\n"


def test_absolute_form_target_picks_the_site_not_the_host_field(sites):
    # RFC 9112 §3.2.2: with an absolute-form target the Host field is ignored
    data = b"GET http://a.example/ HTTP/1.1\r\nHost: c.example\r\n\r\n"
    rs, rd = exchange(sites, data)
    rd.sock.close()
    assert rs[0].status == 200 and rs[0].body == b"site a\n"


def test_no_server_block_falls_back_to_the_first_without_default_server(make_server, tmp_path):
    roots = make_sites(tmp_path)
    srv = make_server("server { server_name a.example; root %s; }\n"
                      "server { server_name b.example; root %s; }\n" % (roots["a"], roots["b"]),
                      uploads=False)
    assert body_for(srv, "zzz")[1] == "site a\n"
    assert body_for(srv, "b.example")[1] == "site b\n"


def test_curl_with_host_header_and_resolve(sites):
    for host, site in [("a.example", "a"), ("q.b.example", "b"), ("nope.test", "c")]:
        out = subprocess.run(["curl", "-s", "-H", "Host: %s" % host, sites.url("/")],
                             capture_output=True, timeout=20)
        assert out.stdout == ("site %s\n" % site).encode()
        url = "http://%s:%d/same.txt" % (host, sites.port)
        out = subprocess.run(["curl", "-s", "--resolve", "%s:%d:127.0.0.1" % (host, sites.port),
                              url], capture_output=True, timeout=20)
        assert out.stdout == ("same path, site %s\n" % site).encode()


def test_python_http_client_keeps_sites_apart_on_one_connection(sites):
    # one kept-alive connection, the Host changing between requests
    conn = http.client.HTTPConnection("127.0.0.1", sites.port, timeout=10)
    try:
        for host, site in [("a.example", "a"), ("x.b.example", "b"), ("a.example", "a"),
                           ("c.example", "c")] * 3:
            conn.request("GET", "/same.txt", headers={"Host": host})
            r = conn.getresponse()
            assert r.status == 200
            assert r.read() == ("same path, site %s\n" % site).encode()
    finally:
        conn.close()


def test_directory_redirect_and_index_per_site(sites):
    rs, rd = exchange(sites, request("GET", "/dir", host="a.example"))
    rd.sock.close()
    assert rs[0].status == 301 and rs[0].header("location") == "/dir/"
    assert body_for(sites, "x.b.example", "/dir/") == (200, "dir of b\n")


def test_each_site_has_its_own_locations_and_limits(make_server, tmp_path):
    roots = make_sites(tmp_path)
    srv = make_server(three_servers(
        roots,
        extra_a="location /up/ { methods GET HEAD PUT; body_max_bytes 10; }",
        extra_b="methods GET HEAD PUT; body_max_bytes 1k; create_dirs on;"), uploads=False)
    os.mkdir(os.path.join(roots["a"], "up"))
    # a: the location allows PUT up to 10 bytes
    rs, rd = exchange(srv, request("PUT", "/up/f.txt", host="a.example", body=b"x" * 11))
    rd.sock.close()
    assert rs[0].status == 413
    rs, rd = exchange(srv, request("PUT", "/up/f.txt", host="a.example", body=b"0123456789"))
    rd.sock.close()
    assert rs[0].status in (201, 204)
    assert open(os.path.join(roots["a"], "up", "f.txt"), "rb").read() == b"0123456789"
    # the same path on c (no such location, default methods) is refused
    rs, rd = exchange(srv, request("PUT", "/up/f.txt", host="c.example", body=b"x"))
    rd.sock.close()
    assert rs[0].status == 405
    # b: the server level sets methods and the limit for all its locations
    rs, rd = exchange(srv, request("PUT", "/new/g.txt", host="w.b.example", body=b"y" * 100))
    rd.sock.close()
    assert rs[0].status in (201, 204)
    assert open(os.path.join(roots["b"], "new", "g.txt"), "rb").read() == b"y" * 100
    assert not os.path.exists(os.path.join(roots["c"], "new"))


def test_the_file_cache_is_per_site(sites):
    # the same small path is cached per site: never one site's bytes for another
    for _ in range(3):
        for host, site in [("a.example", "a"), ("k.b.example", "b"), ("c.example", "c")]:
            assert body_for(sites, host, "/same.txt") == (200, "same path, site %s\n" % site)


def check(conf_text, tmp_path):
    conf = tmp_path / "t.conf"
    conf.write_text(conf_text)
    out = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, timeout=20)
    return out.returncode, out.stderr.decode() + out.stdout.decode(), str(conf)


def test_dash_t_reports_duplicate_server_names_with_file_and_line(tmp_path):
    rc, out, path = check("server {\n  server_name a.example;\n}\n"
                          "server {\n  server_name other A.Example.;\n}\n", tmp_path)
    assert rc != 0
    assert "%s:5: duplicate server_name 'A.Example.' (also in the server block at %s:1)" % (
        path, path) in out


def test_dash_t_accepts_sites_and_refuses_a_top_level_location_beside_them(tmp_path):
    rc, out, _ = check("server {\n  server_name a;\n  location /x { methods GET; }\n}\n",
                       tmp_path)
    assert rc == 0, out
    rc, out, path = check("location /x { }\nserver { server_name a; }\n", tmp_path)
    assert rc != 0
    assert "%s:1: location blocks go inside the server blocks when there are any" % path in out


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command")
def test_https_two_sites_sni_picks_the_certificate_and_host_the_site(make_server, tmp_path):
    ca = TestCA(str(tmp_path / "ca"))
    roots = make_sites(tmp_path)
    la = ca.leaf("a.example")
    lb = ca.leaf("*.b.example", key="rsa")
    srv = make_server("""
server {
    server_name a.example;
    root %s;
    tls_certificate %s %s;
}
server {
    server_name *.b.example;
    root %s;
    tls_certificate %s %s;
}
""" % (roots["a"], la.cert, la.key, roots["b"], lb.cert, lb.key), tls=True, uploads=False)
    ctx = ssl.create_default_context(cafile=ca.cert)
    for name, want_cert, site in [("a.example", "a.example", "a"),
                                  ("x.b.example", "*.b.example", "b")]:
        s = ctx.wrap_socket(srv.connect(), server_hostname=name)  # verifies the name
        names = [v for k, v in s.getpeercert().get("subjectAltName", ()) if k == "DNS"]
        assert names == [want_cert]
        s.sendall(request("GET", "/", host=name))
        r = Reader(s).response()
        s.close()
        assert r.status == 200 and r.body == ("site %s\n" % site).encode()
    # curl with --resolve checks the certificate against the name too
    for name, site in [("a.example", "a"), ("w.b.example", "b")]:
        out = subprocess.run(["curl", "-s", "--cacert", ca.cert, "--resolve",
                              "%s:%d:127.0.0.1" % (name, srv.port),
                              "https://%s:%d/" % (name, srv.port)],
                             capture_output=True, timeout=20)
        assert out.returncode == 0, out.stderr
        assert out.stdout == ("site %s\n" % site).encode()


# ---- strict targets and hosts: what routing and redirects may echo --------


@pytest.mark.parametrize("target", [
    b"/a\"b", b"/a<b>", b"/a\\b", b"/a^b", b"/a`b", b"/a{b}", b"/a|b", b"/a[1]", b"/#frag",
    b"/?q=\"", b"/?q=<x>", b"/?q=a|b", b"/?q[]=1", b"/?q=%", b"/?q=%zz", b"/a%2",
    b"http://[::1]/p[1]", b"http://[zz]/", b"*", b"a.example:80",
])
def test_targets_outside_rfc_3986_get_400(sites, target):
    rs, rd = exchange(sites, b"GET " + target + b" HTTP/1.1\r\nHost: a.example\r\n\r\n")
    rd.sock.close()
    assert rs and rs[0].status == 400


@pytest.mark.parametrize("host", [b"a.example, b.example", b"a example", b"[::g]", b"[1.2.3.4]",
                                  b"a\"b", b"a<b", b"u@a.example", b"a.example:8x"])
def test_hosts_outside_the_grammar_get_400(sites, host):
    rs, rd = exchange(sites, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    rd.sock.close()
    assert rs and rs[0].status == 400


def test_a_grammar_clean_target_with_every_allowed_class_is_served(sites):
    target = b"/same.txt?a=1&b=%20x:@/?!$'()*+,;=-._~"
    rs, rd = exchange(sites, b"GET " + target + b" HTTP/1.1\r\nHost: a.example\r\n\r\n")
    rd.sock.close()
    assert rs[0].status == 200 and rs[0].body == b"same path, site a\n"


def test_each_site_logs_to_its_own_access_log(make_server, tmp_path):
    roots = make_sites(tmp_path)
    logs = {n: str(tmp_path / ("%s.log" % n)) for n in ("main", "a", "b")}
    srv = make_server("access_log %s;\naccess_log_format \"$host $status $request_uri\";\n" %
                      logs["main"] + three_servers(
                          roots, extra_a="access_log %s;" % logs["a"],
                          extra_b="access_log %s;\n    access_log_format json;" % logs["b"],
                          extra_c="access_log off;"), uploads=False)
    for host in ("a.example", "x.b.example", "c.example", "a.example"):
        assert body_for(srv, host, "/same.txt")[0] == 200
    # a head that never reaches a site goes to the main level's log
    rs, rd = exchange(srv, b"GET /bad\"target HTTP/1.1\r\nHost: a.example\r\n\r\n")
    rd.sock.close()
    assert rs[0].status == 400
    srv.stop()

    def lines(name):
        with open(logs[name]) as f:
            return f.read().splitlines()
    assert lines("a") == ["a.example 200 /same.txt"] * 2
    b = lines("b")
    assert len(b) == 1 and '"host":"x.b.example"' in b[0] and '"status":200' in b[0]
    assert lines("main") == ["- 400 -"]  # c logs nothing; the 400 had no request to name


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command")
def test_the_example_of_docs_sites_md_is_a_valid_configuration(tmp_path):
    import re
    from conftest import REPO
    with open(os.path.join(REPO, "docs", "sites.md")) as f:
        text = f.read()
    example = re.search(r"```\n(listen .*?)```", text, re.S).group(1)
    ca = TestCA(str(tmp_path / "ca"))
    for name in ("example.com", "app.example.org"):
        leaf = ca.leaf(name)
        example = example.replace("/etc/lingerd/tls/%s.pem" % name, leaf.cert)
        example = example.replace("/etc/lingerd/tls/%s.key" % name, leaf.key)
    example = example.replace("/var/log/lingerd/", str(tmp_path) + "/")
    example = re.sub(r"root /srv/\S+;", "root %s;" % tmp_path, example)
    rc, out, _ = check(example, tmp_path)
    assert rc == 0, out


def test_compression_and_listings_are_per_site(make_server, tmp_path):
    import gzip
    roots = make_sites(tmp_path, names=("a", "b"))
    css = b"body { color: black; }\n" * 40
    for n in ("a", "b"):
        with open(os.path.join(roots[n], "style.css"), "wb") as f:
            f.write(css)
    with open(os.path.join(roots["b"], "style.css.gz"), "wb") as f:
        f.write(gzip.compress(css))
    os.utime(os.path.join(roots["b"], "style.css"), (1000000000, 1000000000))
    os.mkdir(os.path.join(roots["a"], "files"))
    srv = make_server("""
precompressed gzip;
server { server_name a.example; root %s; location /files/ { autoindex on; } }
server { server_name b.example; root %s; }
""" % (roots["a"], roots["b"]), uploads=False)
    for _ in range(2):  # the second answer may come from the file cache
        ra, rd = exchange(srv, request("GET", "/style.css", host="a.example",
                                       headers=("Accept-Encoding: gzip",)))
        rd.sock.close()
        rb, rd = exchange(srv, request("GET", "/style.css", host="b.example",
                                       headers=("Accept-Encoding: gzip",)))
        rd.sock.close()
        assert ra[0].status == 200 and ra[0].header("Content-Encoding") is None
        assert ra[0].body == css
        assert rb[0].status == 200 and rb[0].header("Content-Encoding") == "gzip"
        assert gzip.decompress(rb[0].body) == css
    assert body_for(srv, "a.example", "/files/")[0] == 200
    assert body_for(srv, "b.example", "/files/")[0] == 404
