"""Several lingerd instances behind a real HAProxy: health, drain, rolling
restarts, and the lingering close seen through the balancer.

The clients never retry (test_process.Load: keep-alive and new-connection
GETs): a request closed without an answer is a failure, a reset is counted.
They go through HAProxy from 127.0.0.2. HAProxy checks health_path every
100 ms (fall 2, rise 2) and sends PROXY v2; its idle keep-alive toward
clients (5s) is shorter than lingerd's keepalive_timeout (15s).
"""

import os
import signal
import socket
import tempfile

import pytest

from conftest import Reader, Server, request, wait_for
from haproxy import HAPROXY, SKIP_REASON, Via, balancer  # noqa: F401 (fixture)
from test_linger import MIB, post_of
from test_process import Load, children
from test_proxy_protocol import lb_config, start_instance

needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason=SKIP_REASON)

DRAIN = "drain_delay %s;\nshutdown_timeout 10s;"


def ask(port, path, conn=None, close=True):
    """GET path on conn (or a new connection): (status, Connection header, conn)."""
    s = conn or socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request("GET", path, ["Connection: close"] if close else []))
    r = Reader(s).response()
    return r.status, (r.header("connection") or "").lower(), s


def test_health_path_fails_from_the_moment_a_drain_begins(make_server):
    srv = make_server("health_path /healthz;\ndrain_delay 1s;\nlog_level info;")
    status, _, s = ask(srv.port, "/healthz")
    assert status == 200
    s.close()
    # A reload: the old worker's connections see 503 and close; new ones 200.
    _, _, kept = ask(srv.port, "/about.txt", close=False)
    before = set(children(srv.proc.pid))
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: len(set(children(srv.proc.pid)) - before) == 1)
    status, connection, kept = ask(srv.port, "/healthz", conn=kept, close=False)
    assert (status, connection) == (503, "close")
    assert kept.recv(1) == b""  # and the connection ends there
    kept.close()
    status, _, s = ask(srv.port, "/healthz")
    assert status == 200
    s.close()
    # SIGQUIT with drain_delay: health fails at once, the rest is served,
    # then the graceful stop.
    srv.send_signal(signal.SIGQUIT)
    assert wait_for(lambda: ask(srv.port, "/healthz")[0] == 503, timeout=5)
    status, connection, s = ask(srv.port, "/healthz", close=False)
    assert (status, connection) == (503, "close")
    s.close()
    status, _, s = ask(srv.port, "/about.txt")
    assert status == 200
    s.close()
    assert srv.proc.wait(timeout=30) == 0
    log = srv.log()
    assert log.index("health_path fails now") < log.index("drain_delay passed")


def restart_in_place(srv, extra):
    """A new instance on srv's port, as an operator's restart would start it."""
    d = tempfile.mkdtemp(dir=os.path.dirname(srv.tmpdir))
    text, mport = lb_config(extra)
    new = Server(d, text, port=srv.port, listen_options=" proxy_protocol").start()
    new.metrics_port = mport
    return new


def stop_through_health_check(lb, name, srv):
    """SIGQUIT; then whether HAProxy's check took the instance out before
    its graceful stop began, and the client requests that reached it after
    that (the master logs when the stop begins: after drain_delay, or at
    once without one)."""
    srv.send_signal(signal.SIGQUIT)
    assert lb.wait_status(name, "DOWN"), lb.log()
    log = srv.log()
    began = "drain_delay passed" if "drain_delay" in log else "SIGQUIT: graceful stop"
    down_first = began not in log
    assert srv.proc.wait(timeout=30) == 0
    log = srv.log()
    late = [l for l in log[log.index(began):].splitlines() if "GET /about.txt" in l]
    assert srv.stop() == 0
    return down_first, late


@needs_haproxy
@pytest.mark.parametrize("delay", ["1500ms", pytest.param("0s", marks=pytest.mark.release_only)])
def test_rolling_restart_through_haproxy_fails_no_request(make_server, balancer,  # noqa: F811
                                                          delay):
    """With drain_delay, each instance is out of HAProxy's rotation before it
    closes anything: no request fails. Without (0s), the stop begins before
    the health check can notice, and requests HAProxy routed meanwhile are
    lost (the counts are printed; how many depends on timing)."""
    drain = DRAIN % delay
    instances = {"a": start_instance(make_server, drain), "b": start_instance(make_server, drain)}
    lb = balancer([(n, s.port) for n, s in instances.items()], proxy="v2")
    assert lb.wait_status("a", "UP") and lb.wait_status("b", "UP"), lb.log()
    load = Load(Via(lb), keepalive_threads=3, fresh_threads=3, duration=120).start()
    restarted, drains = [], []
    try:
        assert wait_for(lambda: load.ok > 100)
        for name in ("a", "b"):
            old = instances[name]
            drains.append((name,) + stop_through_health_check(lb, name, old))
            instances[name] = restart_in_place(old, drain)
            restarted.append(instances[name])
            assert lb.wait_status(name, "UP"), lb.log()
            mark = load.ok
            assert wait_for(lambda: load.ok > mark + 100)
        # and once a reload of an instance under the same load
        a = instances["a"]
        before = set(children(a.proc.pid))
        a.send_signal(signal.SIGHUP)
        assert wait_for(lambda: len(set(children(a.proc.pid)) - before) == 1)
        mark = load.ok
        assert wait_for(lambda: load.ok > mark + 100)
    finally:
        load.stop_new.set()
        load.stop_all.set()
        load.join()
        for srv in restarted:
            assert srv.stop() == 0, srv.log()[-3000:]
    summary = "ok=%d failed=%d resets=%d late=%d errors=%s" % (
        load.ok, load.failed, load.resets, load.late, load.errors[:5])
    print(summary, [(n, down_first, len(late)) for n, down_first, late in drains])
    if delay == "0s":
        assert not any(down_first for _, down_first, _ in drains), drains
        return
    for name, down_first, late in drains:
        assert down_first, "%s began its stop before HAProxy took it out" % name
        assert not late, (name, late[:3])
    assert load.failed == 0 and load.resets == 0 and load.late == 0, summary
    assert load.ok > 500, summary


def refused_then_next(via, data, chunk=256 * 1024):
    """Send a whole refused request (data), read its answer, then ask for
    /about.txt on the same connection: (status, reset seen, next status).
    HAProxy keeps the client's connection alive after relaying the refusal
    (lingerd closed only its own side), so the next request is answered."""
    s = via.connect(timeout=20)
    rd = Reader(s, timeout=20)
    status = following = None
    reset = False
    try:
        for i in range(0, len(data), chunk):
            s.sendall(data[i:i + chunk])
        r = rd.response()
        status = r.status if r else None
        if r is not None:
            s.sendall(request("GET", "/about.txt", ["Connection: close"]))
            r = rd.response()
            following = r.status if r else None
    except (ConnectionResetError, BrokenPipeError):
        reset = True
    s.close()
    return status, reset or rd.reset, following


@needs_haproxy
@pytest.mark.parametrize("mode", ["on", "off"])
def test_refused_uploads_through_haproxy_read_their_401_and_413(make_server, balancer,  # noqa
                                                                 mode):
    """The seed's failure, through the balancer. HAProxy 2.6 relays the early
    401/413 as soon as lingerd sends it, keeps reading the client's body and
    keeps the client's connection open for its next request; what the client
    gets is decided by lingerd's close toward HAProxy: lingering, every
    answer arrives whole; with lingering_close off, HAProxy's server
    connection is reset and the client sees resets and lost answers."""
    srv = start_instance(make_server, "body_max_bytes 256k;\nlingering_close %s;" % mode)
    lb = balancer([("a", srv.port)], proxy="v2")
    assert lb.wait_status("a", "UP"), lb.log()
    via = Via(lb)
    put = request("PUT", "/upload/big.bin", ["Content-Length: %d" % (16 * MIB)]) + \
        b"x" * (16 * MIB)
    trials = 10 if mode == "on" else 5
    puts = [refused_then_next(via, put) for _ in range(trials)]
    posts = [refused_then_next(via, post_of(4 * MIB, chunked))
             for chunked in (False, True) * (trials // 2)]
    print("lingering_close %s: PUT %s POST %s" % (mode, puts, posts))
    if mode == "on":
        assert all(r == (401, False, 200) for r in puts), puts
        assert all(r == (413, False, 200) for r in posts), posts
    else:
        bad = [r for r in puts + posts if r[1] or r[0] is None]
        assert bad, "a plain close behind HAProxy should reach the client"
