"""h2.py — the HTTP/2 side of bench/run (workloads (o), (p)): whether a
server gives h2 in ALPN, h2load's command line, and what its summary says.

bench.py measures the server around the h2load process exactly as around
wrk (CPU time from /proc, busy time of both cores); this file only knows
h2load and ALPN. A server that does not choose h2 is not measured over
HTTP/1.1 instead: h2load is told to offer h2 alone, and a summary that does
not say "Application protocol: h2" is a fault. Stdlib only.
"""
import re
import socket
import ssl

ALPN_OFFER = ["h2", "http/1.1"]   # what a browser offers
PROBE_TIMEOUT_S = 5.0


def alpn_probe(port):
    """One TLS handshake to 127.0.0.1:port offering h2 then http/1.1.
    Returns (protocol chosen or None, "TLSv1.3 CIPHER") or (None, why) when
    no handshake completed. The certificate is not verified here (bench.py
    checks it against the run's CA with openssl s_client)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_alpn_protocols(ALPN_OFFER)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return s.selected_alpn_protocol(), f"{s.version()} {s.cipher()[0]}"
    except (OSError, ssl.SSLError) as e:
        return None, f"no TLS handshake ({e})"


def skip_reason(port):
    """None when the server on port chooses h2; else why its h2 rows are
    skipped, in words for the table."""
    proto, tls = alpn_probe(port)
    if proto == "h2":
        return None
    offered = ", ".join(ALPN_OFFER)
    if tls.startswith("no TLS"):
        return f"skipped: {tls}"
    return (f"skipped: ALPN did not give h2 (offered {offered}; the server chose "
            f"{proto or 'none'}, {tls})")


def argv(port, path, conns, streams, seconds, requests=None):
    """h2load: conns connections, streams concurrent streams on each, for
    seconds (a slice) or for exactly requests in all (callgrind); h2
    offered alone (no fallback to HTTP/1.1), one thread (the load
    generator's cpu is pinned by the caller)."""
    amount = f"-n{requests}" if requests else f"-D{seconds}"
    return ["h2load", "--npn-list=h2", "-t1", f"-c{conns}", f"-m{streams}", amount,
            f"https://127.0.0.1:{port}{path}"]


_FINISHED = re.compile(r"^finished in ([\d.]+)(m?s),", re.M)
_REQUESTS = re.compile(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                       r"(\d+) failed, (\d+) errored, (\d+) timeout", re.M)
_STATUS = re.compile(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", re.M)
_TRAFFIC = re.compile(r"^traffic: .*?, [^,]*\((\d+)\) data", re.M)
_APP = re.compile(r"^Application protocol: (\S+)", re.M)
_TLS = re.compile(r"^TLS Protocol: (\S+)\s*\nCipher: (\S+)", re.M)


def parse(out, body, in_flight):
    """h2load's summary -> {"requests", "wall_s", "data_bytes", "protocol",
    "tls", "faults"}: requests are the 2xx/3xx responses completed; a fault
    for anything failed, errored, timed out or not 2xx/3xx, for a protocol
    other than h2, and for short responses. h2load counts the DATA bytes
    received within the measured duration, but a response that completes in
    it counts whole, though it may have begun before (each connection sends
    its first requests as it connects): so up to in_flight (connections x
    streams) responses' bytes may be missing, and no more."""
    fin, req, st, tr = (r.search(out) for r in (_FINISHED, _REQUESTS, _STATUS, _TRAFFIC))
    if not (fin and req and st and tr):
        return {"faults": {"h2load failed": 1}, "raw": out[-400:]}
    wall = float(fin.group(1)) / (1000 if fin.group(2) == "ms" else 1)
    done, ok, failed, errored, timeout = (int(req.group(i)) for i in (3, 4, 5, 6, 7))
    c2, c3, c4, c5 = (int(st.group(i)) for i in (1, 2, 3, 4))
    data = int(tr.group(1))
    app = _APP.search(out)
    tls = _TLS.search(out)
    faults = {k: v for k, v in (("failed", failed), ("errored", errored),
                                ("timeout", timeout), ("non-2xx", c4 + c5)) if v}
    n = c2 + c3
    if n == 0:
        faults["no requests"] = 1
    if n and data < max(0, n - in_flight) * body:
        faults["short"] = max(0, n - in_flight) * body - data
    if not app or app.group(1) != "h2":
        faults["not h2"] = app.group(1) if app else "no protocol"
    return {"requests": n, "done": done, "succeeded": ok, "wall_s": wall,
            "data_bytes": data, "protocol": app.group(1) if app else None,
            "tls": f"{tls.group(1)} {tls.group(2)}" if tls else None, "faults": faults}
