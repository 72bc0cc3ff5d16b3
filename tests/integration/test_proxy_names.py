"""proxy_pass with host names: resolved when the configuration is loaded
(`lingerd -t`, the start, every reload), in the master before workers fork;
every address of a name is an upstream of its own; a name that does not
resolve is a configuration error, and a reload with one keeps the running
configuration.

Names are "localhost" (whatever the hosts file says: every address it
resolves to must become an upstream), the reserved .invalid TLD (RFC 6761:
fails without a DNS answer), and names under the reserved .test TLD whose
addresses resolver_shim.c (an LD_PRELOAD library built here) chooses, so a
test can give a name several addresses, change them between reloads, and
see which process asked.
"""

import re
import signal
import socket
import subprocess

import pytest

from conftest import (BIN, build_preload, exchange, preload_into_servers, request,
                      wait_for)
from upstream_apps import apps, echo_handler  # noqa: F401 (apps)
from test_process import children

METHODS = "methods GET HEAD POST;"


def proxied(make_server, target, extra=""):
    return make_server("%s\nlocation /app/ {\n %s\n proxy_pass %s;\n}\n" %
                       (extra, METHODS, target))


def upstream_labels(srv):
    """The upstream labels /metrics lists, and each one's request count."""
    rs, rd = exchange(srv, request("GET", "/metrics", ["Connection: close"]))
    rd.sock.close()
    assert rs[0].status == 200
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r'^lingerd_upstream_requests_total\{location="/app/",upstream="([^"]+)"\} (\d+)$',
        rs[0].body.decode(), re.M)}


def get_app(srv, path):
    rs, rd = exchange(srv, request("GET", path, ["Connection: close"]))
    rd.sock.close()
    return rs[0]


def localhost_addresses():
    """What getaddrinfo gives lingerd for localhost: the same flags."""
    return sorted({(ai[0], ai[4][0]) for ai in socket.getaddrinfo(
        "localhost", 80, socket.AF_UNSPEC, socket.SOCK_STREAM, socket.IPPROTO_TCP,
        socket.AI_ADDRCONFIG)})


def label(name, family, ip, port):
    return "%s(%s:%d)" % (name, "[%s]" % ip if family == socket.AF_INET6 else ip, port)


def apps_on_one_port(apps, addresses):
    """One echo app per (family, ip), all on the same port (bounded tries
    to find a port free on every address)."""
    for _ in range(20):
        family, ip = addresses[0]
        first = apps(echo_handler, family=family, host=ip)
        port = int(first.addr.rsplit(":", 1)[1])
        started = [first]
        try:
            for family, ip in addresses[1:]:
                started.append(apps(echo_handler, family=family, host=ip, port=port))
            return port, started
        except OSError:
            for a in started:
                a.stop()
    pytest.fail("no port free on every address of %s" % addresses)


def test_localhost_reaches_every_address_it_resolves_to(make_server, apps):
    addresses = localhost_addresses()
    port, started = apps_on_one_port(apps, addresses)
    srv = proxied(make_server, "localhost:%d" % port,
                  'access_log_format "$request_uri $status $upstream_addr";')
    n = 2 * len(addresses)
    for i in range(n):
        r = get_app(srv, "/app/%d" % i)
        assert r.status == 200 and r.header("x-app") == "echo"
    # Round robin over one upstream per address: each app got its share.
    assert [a.get("requests") for a in started] == [2] * len(addresses)
    want = {label("localhost", f, ip, port): 2 for f, ip in addresses}
    assert upstream_labels(srv) == want
    # The access log names the upstream the same way.
    assert wait_for(lambda: "/app/%d 200 " % (n - 1) in srv.log(), timeout=5)
    logged = {l.split(" ")[2] for l in srv.log().splitlines() if l.startswith("/app/")}
    assert logged == set(want)


def run_check(conf_text, tmp_path):
    conf = tmp_path / "check.conf"
    conf.write_text(conf_text)
    # .invalid fails in the resolver library itself; the bound is for a
    # resolver that would ask the network anyway.
    p = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    # A refused configuration is freed like an accepted one (ASan build).
    assert "Sanitizer" not in out and "runtime error:" not in out, out
    return p.returncode, out, str(conf)


def test_a_name_that_does_not_resolve_fails_the_check(tmp_path):
    rc, out, conf = run_check("listen 127.0.0.1:1;\nlocation /app/ {\n"
                              "    proxy_pass 127.0.0.1:9,app.invalid:8000;\n}\n", tmp_path)
    assert rc != 0
    m = re.search(r"^%s:3: proxy_pass 127\.0\.0\.1:9,app\.invalid:8000: cannot resolve host "
                  r"name 'app\.invalid': (.+)$" % re.escape(conf), out, re.M)
    assert m, out
    assert m.group(1).strip()  # gai_strerror's reason
    assert "has errors" in out


def test_a_bad_host_name_is_refused_before_resolving(tmp_path):
    rc, out, conf = run_check("location /app/ {\n    proxy_pass my_app:8000;\n}\n", tmp_path)
    assert rc != 0
    assert ("%s:2: bad value 'my_app:8000' for 'proxy_pass': 'my_app': a host name with a "
            "character other than letters, digits, '-' and '.'" % conf) in out, out
    rc, out, conf = run_check("location /app/ {\n    proxy_pass 10.1:8000;\n}\n", tmp_path)
    assert rc != 0 and "not a valid IPv4 address" in out, out


def test_a_good_check_resolves_and_says_valid(tmp_path):
    rc, out, _ = run_check("listen 127.0.0.1:1;\nlocation /app/ {\n"
                           "    proxy_pass localhost:8000;\n}\n", tmp_path)
    assert rc == 0, out
    assert "is valid" in out


def test_a_reload_with_a_bad_name_keeps_the_old_configuration(make_server, apps):
    app = apps(echo_handler)
    port = int(app.addr.rsplit(":", 1)[1])
    srv = proxied(make_server, "localhost:%d" % port, "workers 1;")
    master = srv.proc.pid
    assert wait_for(lambda: len(children(master)) == 1)
    worker = children(master)[0]
    assert get_app(srv, "/app/before").status == 200
    text = open(srv.conf).read().replace("proxy_pass localhost:%d;" % port,
                                         "proxy_pass app.invalid:%d;" % port)
    with open(srv.conf, "w") as f:
        f.write(text)
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in srv.log(), timeout=30)
    assert "cannot resolve host name 'app.invalid'" in srv.log()
    assert children(master) == [worker]
    r = get_app(srv, "/app/after")
    assert r.status == 200 and r.header("x-app") == "echo"
    assert app.get("requests") == 2


# ---- names whose addresses the test chooses (resolver_shim.c) ----

@pytest.fixture(scope="session")
def resolver_shim(tmp_path_factory):
    return build_preload(tmp_path_factory, "resolver_shim.c")


@pytest.fixture
def hosts(resolver_shim, monkeypatch, tmp_path):
    """hosts("name addr...", ...) rewrites the shim's hosts file; .calls()
    lists (pid, name) of every getaddrinfo the server made."""
    path, log = tmp_path / "hosts", tmp_path / "resolver.log"
    path.write_text("")
    preload_into_servers(monkeypatch, resolver_shim)
    monkeypatch.setenv("LINGERD_RESOLVER_HOSTS", str(path))
    monkeypatch.setenv("LINGERD_RESOLVER_LOG", str(log))

    def write(*lines):
        path.write_text("".join(l + "\n" for l in lines))

    def calls():
        if not log.exists():
            return []
        return [(int(p), n) for p, n in (l.split(" ", 1) for l in log.read_text().split("\n")
                                         if l)]
    write.calls = calls
    return write


def second_loopback():
    """Another local address for a second upstream: ::1 when it can be
    bound, else 127.0.0.3 (Linux answers the whole 127/8)."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return socket.AF_INET6, "::1"
    except OSError:
        return socket.AF_INET, "127.0.0.3"


def test_each_address_of_a_name_is_an_upstream_resolved_by_the_master(make_server, apps, hosts):
    fam2, ip2 = second_loopback()
    port, started = apps_on_one_port(apps, [(socket.AF_INET, "127.0.0.1"), (fam2, ip2)])
    # Repeats are removed: two upstreams, not four.
    hosts("app.test 127.0.0.1 %s 127.0.0.1 %s" % (ip2, ip2))
    srv = proxied(make_server, "app.test:%d" % port, "workers 2;")
    master = srv.proc.pid
    assert wait_for(lambda: len(children(master)) == 2)
    for i in range(8):
        assert get_app(srv, "/app/%d" % i).status == 200
    assert all(a.get("requests") > 0 for a in started), [a.get("requests") for a in started]
    labels = upstream_labels(srv)
    assert set(labels) == {label("app.test", socket.AF_INET, "127.0.0.1", port),
                           label("app.test", fam2, ip2, port)}
    assert sum(labels.values()) == 8
    # Only the master asked; the workers got the addresses when they forked.
    askers = {p for p, n in hosts.calls() if n == "app.test"}
    assert askers == {master}, (askers, master, children(master))


def test_a_reload_resolves_the_name_again(make_server, apps, hosts):
    old = apps(echo_handler, host="127.0.0.1")
    port = int(old.addr.rsplit(":", 1)[1])
    new = apps(echo_handler, host="127.0.0.2", port=port)
    hosts("app.test 127.0.0.1")
    srv = proxied(make_server, "app.test:%d" % port, "workers 1;")
    assert get_app(srv, "/app/a").status == 200
    assert (old.get("requests"), new.get("requests")) == (1, 0)
    # The application moves; a reload follows it (that is the re-resolution).
    hosts("app.test 127.0.0.2")
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: set(upstream_labels(srv)) ==
                    {label("app.test", socket.AF_INET, "127.0.0.2", port)}, timeout=30)
    assert get_app(srv, "/app/b").status == 200
    assert new.get("requests") == 1
    # The name stops resolving: the reload is refused, the last answer stays.
    hosts("app.test")
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in srv.log(), timeout=30)
    assert re.search(r"proxy_pass app\.test:%d: cannot resolve host name 'app\.test': \S"
                     % port, srv.log())
    assert get_app(srv, "/app/c").status == 200
    assert (old.get("requests"), new.get("requests")) == (1, 2)
    master = srv.proc.pid
    assert {p for p, n in hosts.calls() if n == "app.test"} == {master}


def test_the_limit_counts_every_address_of_a_name(tmp_path, hosts):
    hosts("many.test " + " ".join("127.0.1.%d" % i for i in range(1, 31)))
    rc, out, _ = run_check("location /app/ {\n    proxy_pass 127.0.0.1:1,127.0.0.1:2,"
                           "many.test:80;\n}\n", tmp_path)
    assert rc == 0, out  # 32 upstreams: the most
    rc, out, conf = run_check("location /app/ {\n    proxy_pass 127.0.0.1:1,127.0.0.1:2,"
                              "127.0.0.1:3,many.test:80;\n}\n", tmp_path)
    assert rc != 0
    assert "%s:2: proxy_pass 127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,many.test:80: host name " \
        "'many.test' brings the list past 32 upstreams" % conf in out, out
