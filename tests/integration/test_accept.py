"""defer_accept: connections are handed over when their first bytes arrive."""

import re
import time

from conftest import Reader, get, request


def accepted(srv):
    body = get(srv, "/metrics").body.decode()
    return int(re.search(r"^lingerd_accepted_total (\d+)", body, re.M).group(1))


def test_defer_accept_hands_over_a_connection_with_its_first_bytes(make_server):
    srv = make_server("defer_accept 5s;")
    before = accepted(srv)  # this request's own connection counts once
    silent = srv.connect()
    time.sleep(0.3)  # not a synchronisation: giving a wrong server time to accept
    assert accepted(srv) == before + 1, "a connection with no bytes was accepted"
    silent.sendall(request("GET", "/", ["Connection: close"]))
    r = Reader(silent).response()
    assert r.status == 200
    silent.close()
    assert accepted(srv) == before + 3


def test_by_default_a_silent_connection_waits_in_the_kernel_then_is_timed_out(make_server):
    # defer_accept 1s is the default: a connection that sends nothing costs
    # the worker nothing at first; once the kernel gives up deferring it is
    # accepted like any other and closed by header_timeout.
    srv = make_server("header_timeout 1s;")
    before = accepted(srv)
    silent = srv.connect(timeout=15)
    time.sleep(0.3)  # not a synchronisation: giving a wrong server time to accept
    assert accepted(srv) == before + 1, "a connection with no bytes was accepted at once"
    t0 = time.monotonic()
    assert silent.recv(1) == b"", "the silent connection was not closed"
    waited = time.monotonic() - t0
    silent.close()
    assert waited < 12, "closed only after %.1fs" % waited
    assert accepted(srv) >= before + 3  # the two looks at /metrics, and the silent one


def test_without_defer_accept_a_silent_connection_is_accepted(make_server):
    srv = make_server("defer_accept off;")
    before = accepted(srv)
    silent = srv.connect()
    deadline = time.monotonic() + 5
    calls = 0
    while True:  # every look at /metrics is a connection of its own
        calls += 1
        seen = accepted(srv)
        if seen >= before + calls + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert seen == before + calls + 1, "the silent connection was not accepted"
    silent.close()
