#!/usr/bin/python3
"""bench.py — the body of bench/run: start the servers, run the workloads in
interleaved slices, measure cost (CPU time, callgrind Ir, memory), print one
table and write it (and JSON for plot.py) to the results directory.

Invoked by bench/run, which installs packages, builds lingerd and canned,
makes the document root and the run's test certificate, and raises the fd
limit. Stdlib only.
"""
import argparse
import glob
import gzip
import http.client
import json
import os
import platform
import subprocess
import threading
import time

import h2
from servers import (APACHE, GEN_CPU, READY_TIMEOUT_S, SERVER_CPU, STOP_TIMEOUT_S, Server,
                     core_busy, cpu_ns, free_port, http_get_ok, log, memory, tls_params)
from table import BASE, BASE_OF, ROWS, render, summarise

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
CLIENTS = os.path.join(HERE, "clients.py")
WRK_LUA = os.path.join(HERE, "wrk.lua")
HZ = os.sysconf("SC_CLK_TCK")

# name -> (kind, variant). nginx-ctl is a second, identical nginx: the control.
# lingerd-vhost (only when named in --servers) is lingerd with three server
# blocks, the measured site third: the cost of virtual hosts. h2o-ctl (only
# when named, or in a run of the HTTP/2 workloads alone) is the control of
# those, whose ratios are to h2o.
SERVERS = ["lingerd", "nginx", "nginx-ctl", "nginx-ofc", "lighttpd", "h2o", "canned", "haproxy",
           "apache"]
H2_SERVERS = ["lingerd", "h2o", "h2o-ctl", "nginx", "apache"]  # default for --workloads=o,p

# Rate workloads: (key, title, path, connections, mode, body bytes, client).
# client "wrk": wrk over http; "wrk-tls": wrk over https; "hs": clients.py
# handshake, one TLS connection per request from HS_PROCS processes
# (connections = processes), mode "full" (never resumed) or "resume" (tickets).
RATE = [
    ("a", "1 KiB keep-alive, 50 conns", "/1k.bin", 50, "keepalive", 1024, "wrk"),
    ("b", "1 KiB, Connection: close, 50 conns", "/1k.bin", 50, "close", 1024, "wrk"),
    ("c", "1 KiB pipelined x16, 50 conns", "/1k.bin", 50, "pipeline", 1024, "wrk"),
    ("d", "1 MiB keep-alive, 10 conns", "/1m.bin", 10, "keepalive", 1 << 20, "wrk"),
    # Compression: a 16 KiB CSS file asked for with Accept-Encoding: gzip, on
    # lingerd and nginx only (the others are not configured for it). The body
    # size is each server's own gzip length, read by gzip_probe before.
    ("l", "16 KiB CSS, gzip: precompressed .gz sibling, 50 conns", "/pre/16k.css", 50,
     "keepalive", None, "wrk-gzip"),
    ("m", "16 KiB CSS, gzip: compressed on the fly, 50 conns", "/fly/16k.css", 50,
     "keepalive", None, "wrk-gzip"),
    # Reverse proxy: 1 KiB from an upstream (a second canned, on the client's
    # cpu, so the proxy's cpu is the proxy's alone), keep-alive on both sides.
    ("n", "1 KiB proxied from an upstream, keep-alive both sides, 50 conns", "/px/1k.bin", 50,
     "keepalive", 1024, "wrk-proxy"),
]
GZIP_KINDS = ("lingerd", "nginx")  # servers that run the "wrk-gzip" workloads
PROXY_KINDS = ("lingerd", "nginx", "haproxy")  # servers that run "wrk-proxy"
# HTTP/2 over TLS with h2load, (o) and (p): every server that offers h2.
H2_RATE = [
    ("o", "h2 1 KiB, 50 conns x 16 streams", "/1k.bin", 50, 16, 1024, "h2load"),
    ("p", "h2 1 MiB, 8 conns", "/1m.bin", 8, 1, 1 << 20, "h2load"),
]
H2_KINDS = ("lingerd", "h2o", "nginx", "apache")
ONLY_PROXY_KINDS = ("haproxy",)  # servers that run nothing else
ONLY_H2_KINDS = ("apache",)
HS_PROCS = 4
TLS_RATE = [
    ("g", "TLS 1 KiB keep-alive, 50 conns", "/1k.bin", 50, "keepalive", 1024, "wrk-tls"),
    ("h", "TLS full handshake per request", "/1k.bin", HS_PROCS, "full", 1024, "hs"),
    ("i", "TLS resumed handshake per request", "/1k.bin", HS_PROCS, "resume", 1024, "hs"),
    ("j", "TLS 1 MiB keep-alive, 10 conns", "/1m.bin", 10, "keepalive", 1 << 20, "wrk-tls"),
]
RESUMED_MIN = 0.90    # (i) is INVALID below this share of resumed handshakes


# ---------------------------------------------------------------- load

def timed(server, cmd, env=None):
    """Run the load generator cmd to its end; its output, and what the slice
    cost: the server's CPU time (ns), busy jiffies of the two cores, and the
    generator's rusage."""
    c0, b0 = cpu_ns(server.worker), core_busy()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = p.stdout.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    c1, b1 = cpu_ns(server.worker), core_busy()
    return out, (c1 - c0, sum(b1[k] - b0[k] for k in (SERVER_CPU, GEN_CPU)), ru)


def costs(n, wall, cost):
    """The cost rows of a slice of n requests over wall seconds."""
    srv_ns, busy, ru = cost
    gen = (ru.ru_utime + ru.ru_stime) / wall
    return {
        "cpu_us": srv_ns / 1e3 / n if n else None,
        # The whole cost, wherever the kernel did the work: on loopback the
        # receiver's softirq often runs on the sender's core, and a
        # window-limited sender transmits from the ACK's softirq on the
        # client's core. Busy time of both cores (server, load, kernel).
        "machine_us": busy / HZ * 1e6 / n if n else None,
        "srv_busy": srv_ns / 1e9 / wall,
        "gen_busy": gen,
        # What else ran on the two cores: busy time not ours (one core = 100%).
        "others": max(0.0, busy / HZ / wall - srv_ns / 1e9 / wall - gen),
    }


def wrk(server, key, path, conns, mode, body, seconds, tls=False, gzip_ok=False):
    """One slice of wrk against server (its https listener if tls; with
    Accept-Encoding: gzip if gzip_ok); returns a dict of figures and faults."""
    env = dict(os.environ)
    cmd = ["taskset", "-c", GEN_CPU, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s",
           "--timeout", "5s", "-s", WRK_LUA]
    if mode == "close":
        cmd += ["-H", "Connection: close"]
    if gzip_ok:
        cmd += ["-H", "Accept-Encoding: gzip"]
    env["WRK_PIPELINE"] = "16" if mode == "pipeline" else "1"
    if tls:
        cmd.append(f"https://127.0.0.1:{server.tls_port}{path}")
    else:
        cmd.append(f"http://127.0.0.1:{server.port}{path}")
    out, cost = timed(server, cmd, env)
    line = next((l for l in out.splitlines() if l.startswith("WRKJSON ")), None)
    if line is None:
        return {"faults": {"wrk failed": 1}, "raw": out[-400:]}
    w = json.loads(line[8:])
    wall = w["duration_us"] / 1e6
    n = w["requests"]
    faults = {k: w[k] for k in ("connect", "read", "write", "timeout") if w[k]}
    if w["status"]:
        faults["non-2xx"] = w["status"]
    if n and w["bytes"] < n * body:
        faults["short"] = n * body - w["bytes"]
    if n == 0:
        faults["no requests"] = 1
    return {
        "rate": n / wall,
        "p99_ms": w["p99_us"] / 1000 if mode != "pipeline" else None,
        "mbps": w["bytes"] / wall / 1e6,
        **costs(n, wall, cost),
        "faults": faults,
    }


def h2load(server, path, conns, streams, body, seconds):
    """One slice of h2load (HTTP/2 over TLS, h2 only) against server's https
    listener: the same figures as wrk(), from h2load's summary."""
    cmd = ["taskset", "-c", GEN_CPU] + h2.argv(server.tls_port, path, conns, streams, seconds)
    out, cost = timed(server, cmd)
    r = h2.parse(out, body, conns * streams)
    if "requests" not in r:
        log(f"h2load failed against {server.name}: {r['raw']}")
        return r
    n, wall = r["requests"], r["wall_s"]
    return {"rate": n / wall, "mbps": r["data_bytes"] / wall / 1e6, **costs(n, wall, cost),
            "tls": r["tls"], "faults": r["faults"]}


def handshakes(server, key, path, procs, mode, body, seconds):
    """One slice of clients.py handshake against server's https listener:
    procs processes, each a loop of new TLS connection, one GET, the
    server's close; mode full (no session offered) or resume (the newest
    ticket offered). Same figures as wrk(), plus the share resumed."""
    cmd = ["taskset", "-c", GEN_CPU, PY, CLIENTS, "handshake", str(server.tls_port), path,
           str(seconds), str(procs), mode]
    c0, b0 = cpu_ns(server.worker), core_busy()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    c1, b1 = cpu_ns(server.worker), core_busy()
    line = next((l for l in out.splitlines() if l.startswith("HSJSON ")), None)
    if line is None:
        log(f"clients.py handshake failed: {out[-400:]}")
        return {"faults": {"client failed": 1}, "raw": out[-400:]}
    h = json.loads(line[7:])
    wall, n = h["wall_s"], h["ok"]
    faults = {k: h[k] for k in ("bad_status", "short", "errors") if h[k]}
    if n == 0:
        faults["no requests"] = 1
    done = n + h["bad_status"] + h["short"]
    resumed = h["resumed"] / done if done else None
    if mode == "full" and h["resumed"]:
        faults["resumed"] = h["resumed"]          # a full handshake was wanted
    if mode == "resume" and resumed is not None and resumed < RESUMED_MIN:
        faults[f"resumed under {RESUMED_MIN:.0%}"] = round(resumed, 3)
    busy = sum(b1[k] - b0[k] for k in (SERVER_CPU, GEN_CPU)) / HZ
    gen = h["cpu_s"]                  # the load processes, without Python's start-up
    return {
        "rate": n / wall if wall else None,
        "p99_ms": h["p99_ms"],
        "cpu_us": (c1 - c0) / 1e3 / n if n else None,
        "machine_us": busy * 1e6 / n if n else None,
        "srv_busy": (c1 - c0) / 1e9 / wall if wall else None,
        "gen_busy": gen / wall if wall else None,
        # The client's start-up (Python, before the slice's clock) is ours too.
        "others": max(0.0, (busy - (c1 - c0) / 1e9 - (ru.ru_utime + ru.ru_stime)) / wall)
                  if wall else None,
        "resumed": resumed,
        "faults": faults,
    }


def clients(args, *cargs):
    return subprocess.Popen(["taskset", "-c", GEN_CPU, PY, CLIENTS, *map(str, cargs)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def read_line(p, prefix, timeout):
    """The first line of p's output starting with prefix, as parsed JSON."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith(prefix + " "):
            return json.loads(line[len(prefix) + 1:])
    raise RuntimeError(f"clients.py gave no '{prefix}' line")


# ---------------------------------------------------------------- phases

def one_slice(s, key, path, conns, mode, body, client, seconds):
    if client == "hs":
        return handshakes(s, key, path, conns, mode, body, seconds)
    if client == "h2load":                  # mode: concurrent streams per connection
        return h2load(s, path, conns, mode, body, seconds)
    return wrk(s, key, path, conns, mode, body, seconds, tls=client == "wrk-tls",
               gzip_ok=client == "wrk-gzip")


def gzip_probe(args, s, path):
    """One GET of path with Accept-Encoding: gzip: the length of the gzip
    body, which must decode to the file; None and a fault otherwise."""
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    try:
        c.request("GET", path, headers={"Accept-Encoding": "gzip"})
        r = c.getresponse()
        body = r.read()
        enc = r.getheader("Content-Encoding")
    finally:
        c.close()
    with open(os.path.join(args.root, path.lstrip("/")), "rb") as f:
        want = f.read()
    if r.status != 200 or enc != "gzip" or gzip.decompress(body) != want:
        return None, {"not gzip": f"{r.status} {enc}"}
    return len(body), {}


def phase_rate(args, servers, results, workloads):
    """Workloads (a)-(d), (g)-(j), (l)-(p): warm-up, then reps rounds; each
    round runs one slice of every server, the order rotated each round, so
    drift hits all alike."""
    every = servers
    for key, title, path, conns, mode, body, client in workloads:
        if key not in args.workloads:
            continue
        servers = [s for s in every if s.kind not in ONLY_PROXY_KINDS + ONLY_H2_KINDS]
        sizes = {}
        if client == "wrk-proxy":
            servers = [s for s in every if s.kind in PROXY_KINDS]
        if client == "h2load":
            servers = h2_servers(every, key, results)
        if client == "wrk-gzip":
            servers = [s for s in every if s.kind in GZIP_KINDS]
            for s in servers:
                sizes[s.name] = gzip_probe(args, s, path)
                log(f"({key}) {s.name}: gzip body {sizes[s.name][0]} bytes "
                    f"{sizes[s.name][1] or ''}")
        if not servers:
            continue
        log(f"({key}) {title}: warm-up")
        for s in servers:
            one_slice(s, key, path, conns, mode, sizes.get(s.name, (body,))[0] or 0, client,
                      args.warmup)
        for rep in range(args.reps):
            order = servers[rep % len(servers):] + servers[:rep % len(servers)]
            for s in order:
                size, probe_faults = sizes.get(s.name, (body, {}))
                r = one_slice(s, key, path, conns, mode, size or 0, client, args.slice)
                r["faults"].update(probe_faults)
                results.setdefault(key, {}).setdefault(s.name, []).append(r)
                log(f"({key}) rep {rep + 1} {s.name:10} {r.get('rate', 0):10.0f}/s "
                    f"cpu {r.get('cpu_us') or 0:6.2f}us  {r['faults'] or ''}")


def h2_servers(every, key, results):
    """The servers that run HTTP/2 workload key: those that offer h2 and
    have TLS, asked now (ALPN), not assumed. One that does not choose h2 gets
    a row saying why it was skipped."""
    chosen = []
    for s in every:
        if s.kind not in H2_KINDS:
            continue
        why = h2.skip_reason(s.tls_port) if s.tls else "skipped: no TLS listener: " + \
            (s.no_tls_reason or "?")
        if why:
            log(f"({key}) {s.name}: {why}")
            results.setdefault(key, {})[s.name] = [{"skipped": why, "faults": {}}]
        else:
            chosen.append(s)
    return chosen


def phase_idle(args, servers, results, tls=False):
    """(e) memory per idle keep-alive connection: the average over all N, and
    the slope between N/5 and N, which leaves out one-time growth (a table
    or arena that grows once on the first burst). (k), tls: the same over
    TLS, each connection after its full handshake and one request."""
    key = "k" if tls else "e"
    n = args.tls_idle if tls else args.idle
    first = n // 5
    for s in servers:
        m0 = memory(s.worker)
        if tls:
            p = clients(args, "tlsidle", s.tls_port, "/1k.bin", n, first)
        else:
            p = clients(args, "idle", s.port, "/1k.bin", n, first)
        faults = {}
        try:
            read_line(p, "ready", 120)
            time.sleep(0.5)
            m1 = memory(s.worker)
            p.stdin.write("more\n")
            p.stdin.flush()
            ready = read_line(p, "ready", 120)
            time.sleep(0.5)
            m2 = memory(s.worker)
        finally:
            p.stdin.close()
        closed = read_line(p, "closed", 30)["closed_by_server"]
        p.wait(30)
        if ready["failed"]:
            faults["failed"] = ready["failed"]
        if ready["status"] != {"200": ready["open"]}:
            faults["status"] = ready["status"]
        if closed:
            faults["closed by server"] = closed
        r = {k: (m2[k] - m0[k]) / n for k in m0}
        r["slope"] = (m2["Private_Dirty"] - m1["Private_Dirty"]) / (n - first)
        r["faults"] = faults
        results.setdefault(key, {})[s.name] = [r]
        log(f"({key}) {s.name:10} Private_Dirty {r['Private_Dirty']:7.0f} B/conn "
            f"(slope {r['slope']:.0f}) Rss {r['Rss']:7.0f} B/conn {faults or ''}")


def phase_linger(args, servers, results):
    """(f) memory per lingering connection, and (a) while they linger."""
    for s in servers:
        if s.name == "canned":
            continue                      # no bodies, no 413: nothing to measure
        m0 = memory(s.worker)
        p = clients(args, "linger", s.port, "/up/x", args.linger)
        faults = {}
        latest = {}
        try:
            ready = read_line(p, "ready", 120)

            def follow():
                for line in p.stdout:
                    if line.startswith("alive "):
                        latest.update(json.loads(line[6:]))
            t = threading.Thread(target=follow, daemon=True)
            t.start()
            time.sleep(1.0)
            m1 = memory(s.worker)
            alive_before = latest.get("alive", 0)
            a = wrk(s, "a", "/1k.bin", 50, "keepalive", 1024, args.slice)
            alive_after = latest.get("alive", 0)
        finally:
            p.stdin.close()
        p.wait(30)
        if ready["failed"]:
            faults["failed"] = ready["failed"]
        if ready["status"] != {"413": ready["open"]}:
            faults["status"] = ready["status"]
        faults.update(a["faults"])
        n = args.linger
        r = {k: (m1[k] - m0[k]) / n for k in m0}
        r.update({"rate": a.get("rate"), "cpu_us": a.get("cpu_us"),
                  "alive_before": alive_before, "alive_after": alive_after,
                  "faults": faults})
        results.setdefault("f", {})[s.name] = [r]
        log(f"(f) {s.name:10} Private_Dirty {r['Private_Dirty']:7.0f} B/conn, "
            f"(a) {r['rate'] or 0:.0f}/s cpu {r['cpu_us'] or 0:.2f}us, "
            f"lingering {alive_before}->{alive_after} {faults or ''}")


CG = {  # key -> (path, connections, mode, depth), requests come from args
    "a": ("/1k.bin", 50, "keepalive", 1),
    "b": ("/1k.bin", 50, "close", 1),
    "c": ("/1k.bin", 50, "pipeline", 16),
    "d": ("/1m.bin", 10, "keepalive", 1),
    "l": ("/pre/16k.css", 50, "keepalive", 1),   # with Accept-Encoding: gzip
    "m": ("/fly/16k.css", 50, "keepalive", 1),
}


def callgrind_run(args, name, port, key, n):
    """Ir of one whole run under callgrind: start, warm-up, n requests of
    workload key (none if key is None), stop. Returns (Ir, faults); for
    (o), (None, {"skipped": why}) when the server does not choose h2."""
    s = Server(name, args, port, free_port(), cg=True, cg_tag=f"{key or 'startup'}{n}")
    for f in glob.glob(os.path.join(s.dir, "callgrind.out.*")):
        os.unlink(f)
    s.start()
    faults = {}
    try:
        jobs = [("/1k.bin", 10, "keepalive", 1, args.cg_warmup)]
        if key == "o":
            why = h2.skip_reason(s.tls_port)
            if why:
                return None, {"skipped": why}
            path, conns, streams, body = "/1k.bin", 50, 16, 1024
            out = subprocess.run(["taskset", "-c", GEN_CPU] + h2.argv(
                s.tls_port, path, conns, streams, None, n), capture_output=True, text=True,
                timeout=900).stdout
            faults.update(h2.parse(out, body, 0)["faults"])
        elif key:
            path, conns, mode, depth = CG[key]
            jobs.append((path, conns, mode, depth, n))
        env = dict(os.environ)
        if key in ("l", "m"):
            env["BENCH_ACCEPT_ENCODING"] = "gzip"
        for path, conns, mode, depth, count in jobs:
            out = subprocess.run(["taskset", "-c", GEN_CPU, PY, CLIENTS, "exact", str(port),
                                  path, str(count), str(conns), mode, str(depth)],
                                 capture_output=True, text=True, timeout=900, env=env).stdout
            r = json.loads(out.strip().splitlines()[-1])
            for k in ("bad_status", "short", "errors", "unfinished"):
                if r[k]:
                    faults[k] = faults.get(k, 0) + r[k]
    finally:
        s.stop()
    profiles_settled(s.dir)
    ir, parts = 0, []
    for f in sorted(glob.glob(os.path.join(s.dir, "callgrind.out.*"))):
        with open(f) as fh:        # one file per process (master, worker)
            for line in fh:
                if line.startswith("summary:") or line.startswith("totals:"):
                    ir += int(line.split()[1])
                    parts.append(f"{os.path.basename(f)[14:]}:{int(line.split()[1])}")
                    break
    log(f"callgrind {name} {key or 'startup'}: Ir by pid {' '.join(parts)}")
    if ir == 0:
        faults["no callgrind output"] = 1
    return ir, faults


def profiles_settled(path, quiet_s=1.0, limit_s=20.0):
    """Wait (bounded) until the callgrind profiles in path are written (each
    is created empty as its process starts, and filled as it exits) and stop
    changing: a server's children (h2o's) may exit after the PID we stopped."""
    def sizes():
        return sorted((f, os.path.getsize(f)) for f in
                      glob.glob(os.path.join(path, "callgrind.out.*")))
    last, since, deadline = sizes(), time.monotonic(), time.monotonic() + limit_s
    while time.monotonic() < deadline and (time.monotonic() - since < quiet_s or
                                           any(size == 0 for _, size in last)):
        time.sleep(0.2)
        now = sizes()
        if now != last:
            last, since = now, time.monotonic()


def phase_callgrind(args, names, results):
    """User-space instructions per request: (Ir of a run with n requests -
    Ir of the same run with none) / n, for every server and workload."""
    port = args.port + 50 if args.port else free_port()
    for name in names:
        kind, base = name.split("-")[0], None
        for key, n in (("a", args.cg_n), ("b", args.cg_n // 4), ("c", args.cg_n),
                       ("d", max(10, args.cg_n // 100)), ("l", args.cg_n // 4),
                       ("m", args.cg_n // 4)):
            if key not in args.workloads or kind in ONLY_H2_KINDS or (
                    key in ("l", "m") and kind not in GZIP_KINDS):
                continue
            if base is None:
                base, bfaults = callgrind_run(args, name, port, None, 0)
            ir, faults = callgrind_run(args, name, port, key, n)
            faults.update(bfaults)
            r = {"ir": (ir - base) / n, "faults": faults}
            results.setdefault("cg-" + key, {})[name] = [r]
            log(f"callgrind ({key}) {name:10} {r['ir']:9.0f} Ir/req {faults or ''}")
        if "o" in args.workloads and kind in H2_KINDS:
            callgrind_h2(args, name, port, results)
        port = port + 1 if args.port else free_port()


def callgrind_h2(args, name, port, results):
    """(o) in instructions: a run whose 50 connections carry one request
    each, and one whose 50 carry n in all (16 streams at a time); the
    difference over n - 50 leaves out start-up and the 50 handshakes."""
    n0, n = 50, args.cg_n // 2
    if name.split("-")[0] == "apache":
        # callgrind opens its profile as root at start and writes it at
        # exit as the user Apache became (www-data): it cannot.
        results.setdefault("cg-o", {})[name] = [{"skipped": "not under callgrind: Apache "
                                                 "serves as www-data, and callgrind then "
                                                 "cannot write the profile it opened as root"}]
        return
    base, bfaults = callgrind_run(args, name, port, "o", n0)
    if base is None:
        results.setdefault("cg-o", {})[name] = [bfaults]
        log(f"callgrind (o) {name:10} {bfaults['skipped']}")
        return
    ir, faults = callgrind_run(args, name, port, "o", n)
    faults.update(bfaults)
    r = {"ir": (ir - base) / (n - n0), "faults": faults}
    results.setdefault("cg-o", {})[name] = [r]
    log(f"callgrind (o) {name:10} {r['ir']:9.0f} Ir/req {faults or ''}")


def versions(args):
    def first(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [
        f"lingerd {args.commit}; " + "; ".join(first(c) for c in (
            ["nginx", "-v"], ["lighttpd", "-v"], ["h2o", "--version"], ["wrk", "-v"],
            ["valgrind", "--version"], [APACHE, "-v"], ["h2load", "--version"])),
        f"{platform.node()} {platform.release()}, {os.cpu_count()} cpus: {cpu}",
    ]


def tls_header(args, servers):
    """What the TLS rows ran with: the certificate, kTLS, and what a client
    actually negotiates with each server (TLS 1.3 and TLS 1.2)."""
    subj = subprocess.run(["openssl", "x509", "-in", args.cert, "-noout", "-subject"],
                          capture_output=True, text=True).stdout.strip()
    try:
        with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
            ulp = f.read().split()
    except OSError:
        ulp = []
    lines = [
        f"TLS: one ECDSA P-256 certificate ({subj}, signed by a CA made for this run) "
        "for every server; TLS 1.3 with OpenSSL's default suites, TLS 1.2 "
        "ECDHE-ECDSA-AES128-GCM-SHA256; session tickets on, no server-side session cache",
        "kTLS: off in every configuration; this kernel's tcp_available_ulp: "
        f"{' '.join(ulp) or '-'} ({'has' if 'tls' in ulp else 'no'} tls ULP)",
    ]
    if args.workloads & set("hik"):
        lines.append(f"(h),(i): clients.py handshake, {HS_PROCS} processes, one connection each at "
                     f"a time; (k) {args.tls_idle} conns")
    for s in servers:
        if s.tls:
            lines.append(f"  {s.name:10} {tls_params(s.tls_port, args.ca, '-tls1_3')}; "
                         f"{tls_params(s.tls_port, args.ca, '-tls1_2')}")
        else:
            lines.append(f"  {s.name:10} n/a: {s.no_tls_reason}")
    return lines


def h2_header(servers):
    """What each HTTP/2 server's TLS listener chooses when offered h2 and
    http/1.1 in ALPN, as a browser offers them."""
    lines = [f"(o), (p): h2load -t1 --npn-list=h2 over TLS; ALPN {', '.join(h2.ALPN_OFFER)} "
             "offered to each server:"]
    for s in servers:
        if s.kind in H2_KINDS:
            proto, tls = h2.alpn_probe(s.tls_port) if s.tls else (None, "no TLS listener")
            lines.append(f"  {s.name:10} {proto or 'no ALPN protocol'} ({tls})")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--lingerd", required=True)
    ap.add_argument("--canned", required=True)
    ap.add_argument("--cert", required=True, help="server certificate (PEM)")
    ap.add_argument("--key", required=True, help="its private key (PEM)")
    ap.add_argument("--ca", required=True, help="the CA that signed it (PEM)")
    ap.add_argument("--commit", default="?")
    ap.add_argument("--results", required=True)
    ap.add_argument("--port", type=int, default=0,
                    help="first port (0: free ports chosen by the kernel)")
    ap.add_argument("--servers", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tls-only", action="store_true")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--only-callgrind", action="store_true")
    ap.add_argument("--workloads", default=None,
                    help="letters of the workloads to run, like l,m (default: all)")
    args = ap.parse_args()
    # a partial run writes results/latest-<letters>.txt, never over a full one
    args.only = "".join(sorted(set(args.workloads.replace(",", "")))) if args.workloads else ""
    args.workloads = set(args.only or "abcdefghijklmnop")
    h2_only = args.workloads <= {"o", "p"}
    if args.quick:                    # about a minute: fewer servers, 1 s slices
        args.warmup, args.slice, args.reps = 1, 1, 2
        default = "lingerd,nginx,nginx-ctl" + ("" if args.tls_only else ",canned")
        args.idle, args.linger, args.cg_n, args.cg_warmup = 2000, 300, 2000, 100
        args.tls_idle = 1000
    else:
        args.warmup, args.slice, args.reps = 2, 3, 3
        default = ",".join(n for n in SERVERS if not (args.tls_only and n == "canned"))
        args.idle, args.linger, args.cg_n, args.cg_warmup = 10000, 1000, 20000, 500
        args.tls_idle = 2000
    if h2_only:                       # the HTTP/2 workloads alone: their servers only
        default = ",".join(H2_SERVERS)
    args.servers = args.servers or default
    if args.tls_only:                 # no callgrind figures for these workloads
        args.no_callgrind, args.only_callgrind = True, False
    names = args.servers.split(",")
    help_text = subprocess.run([args.lingerd, "-h"], capture_output=True, text=True).stdout
    args.lingerd_directives = {l.split()[0] for l in help_text.splitlines()
                               if l.startswith("  ") and l.strip()}

    header = [
        f"bench/run{' --quick' if args.quick else ''}{' --tls-only' if args.tls_only else ''}"
        f"{' --workloads=' + ','.join(args.only) if args.only else ''}"
        f"  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
    ] + versions(args) + [
        f"servers on cpu {SERVER_CPU}, wrk -t1, h2load -t1 and clients on cpu {GEN_CPU}; "
        f"slices {args.slice}s x {args.reps} rounds (+{args.warmup}s warm-up), interleaved"
        + ("" if args.tls_only or h2_only else
           f"; (e) {args.idle} conns, (f) {args.linger} conns; callgrind n={args.cg_n} (a,c), "
           f"{args.cg_n // 4} (b), {max(10, args.cg_n // 100)} (d)")
        + ("" if args.no_callgrind or "o" not in args.workloads else
           f"; callgrind (o): {args.cg_n // 2} requests less 50"),
    ]
    b0 = core_busy()
    time.sleep(1.0)
    b1 = core_busy()
    header.append(f"before the run, others kept {sum(b1[k] - b0[k] for k in b0) / HZ:.0%} "
                  f"of a core busy (of {len(b0)})")
    if args.port:
        ports = [(args.port + i, args.port + 25 + i) for i in range(len(names))]
    else:
        ports = [(free_port(), free_port()) for _ in names]
    # The upstream of (n): a canned server on the clients' cpu, for every
    # run (the proxies' configurations name it); idle when (n) is not run.
    args.upstream_port = args.port + 49 if args.port else free_port()
    upstream = subprocess.Popen(
        ["taskset", "-c", GEN_CPU, args.canned, str(args.upstream_port),
         os.path.join(args.root, "1k.bin"), os.path.join(args.root, "1m.bin")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    servers = [Server(n, args, p, tp) for n, (p, tp) in zip(names, ports)]
    results = {}
    t0 = time.monotonic()
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not http_get_ok(args.upstream_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        for s in servers if not args.only_callgrind else []:
            s.start()
            log(f"started {s.name} pid {s.pid} worker {s.worker} port {s.port}"
                + (f" tls {s.tls_port}" if s.tls else " (no tls)"))
        if not args.only_callgrind:
            header += tls_header(args, servers)
            if args.workloads & {"o", "p"} and not (args.tls_only and not args.only):
                header += h2_header(servers)
        if not args.only_callgrind and not args.tls_only:
            phase_rate(args, servers, results, RATE)
            plain = [s for s in servers if s.kind not in ONLY_PROXY_KINDS + ONLY_H2_KINDS]
            if "e" in args.workloads:
                phase_idle(args, plain, results)
            if "f" in args.workloads:
                phase_linger(args, plain, results)
        if not args.only_callgrind:
            tls_servers = [s for s in servers if s.tls and s.kind not in ONLY_H2_KINDS]
            phase_rate(args, tls_servers, results, TLS_RATE)
            if "k" in args.workloads:
                phase_idle(args, tls_servers, results, tls=True)
            if not args.tls_only or args.only:
                phase_rate(args, servers, results, H2_RATE)
    finally:
        for s in servers:
            s.stop()
        upstream.terminate()  # by the PID started, also when a server failed to start
        upstream.wait(STOP_TIMEOUT_S)
    if not args.no_callgrind:
        phase_callgrind(args, [n for n in names if n.split("-")[0] not in ONLY_PROXY_KINDS],
                        results)
    header.append(f"took {time.monotonic() - t0:.0f}s")
    table = summarise(results, names)
    lingerd = next((s for s in servers if s.kind == "lingerd"), None)
    no_tls = lingerd.no_tls_reason if lingerd and not lingerd.tls else None
    text = render(table, names, header, no_tls)
    print(text)
    os.makedirs(args.results, exist_ok=True)
    out = ("latest-tls" if args.tls_only else "latest") + (f"-{args.only}" if args.only else "")
    with open(os.path.join(args.results, out + ".txt"), "w") as f:
        f.write(text)
    with open(os.path.join(args.results, out + ".json"), "w") as f:
        json.dump({"header": header, "names": names, "base": BASE, "base_of": BASE_OF,
                   "rows": [[label, {n: table.get((label, n)) for n in names}]
                            for _, _, label, _, _ in ROWS]}, f, indent=1)


if __name__ == "__main__":
    main()
