#!/usr/bin/python3
"""bench.py — the body of bench/run: start the servers, run the workloads in
interleaved slices, measure cost (CPU time, callgrind Ir, memory), print one
table and write it (and JSON for plot.py) to the results directory.

Invoked by bench/run, which installs packages, builds lingerd and canned,
makes the document root and raises the fd limit. Stdlib only.
"""
import argparse
import glob
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
CLIENTS = os.path.join(HERE, "clients.py")
WRK_LUA = os.path.join(HERE, "wrk.lua")
BASE = "nginx"                 # ratios are to this server
SERVER_CPU, GEN_CPU = "1", "0"  # taskset cores: server, load generator
READY_TIMEOUT_S = 10.0
HZ = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT_S = 10.0

# name -> (kind, variant). nginx-ctl is a second, identical nginx: the control.
SERVERS = ["lingerd", "nginx", "nginx-ctl", "nginx-ofc", "lighttpd", "h2o", "canned"]

OFC = ("open_file_cache max=1000 inactive=60s;\n    open_file_cache_valid 60s;\n"
       "    open_file_cache_errors on;")

# Rate workloads run with wrk: (key, title, path, connections, mode, body bytes)
RATE = [
    ("a", "1 KiB keep-alive, 50 conns", "/1k.bin", 50, "keepalive", 1024),
    ("b", "1 KiB, Connection: close, 50 conns", "/1k.bin", 50, "close", 1024),
    ("c", "1 KiB pipelined x16, 50 conns", "/1k.bin", 50, "pipeline", 1024),
    ("d", "1 MiB keep-alive, 10 conns", "/1m.bin", 10, "keepalive", 1 << 20),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- servers

class Server:
    def __init__(self, name, args, port, cg=False):
        self.name, self.args, self.port, self.cg = name, args, port, cg
        self.dir = os.path.join(args.tmp, "srv", ("cg-" if cg else "") + name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.pid = None          # the PID we started
        self.worker = None       # the PID doing the work (a child, if any)

    def render(self, template, out, extra=None):
        with open(os.path.join(HERE, "conf", template)) as f:
            text = f.read()
        subst = {"@PORT@": str(self.port), "@ROOT@": self.args.root, "@TMP@": self.dir}
        subst.update(extra or {})
        for k, v in subst.items():
            text = text.replace(k, v)
        lines = []
        for line in text.splitlines():
            if line.rstrip().endswith("#if-supported"):
                directive = line.split()[0]
                if directive not in self.args.lingerd_directives:
                    continue
            lines.append(line)
        path = os.path.join(self.dir, out)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def argv(self):
        a, kind = self.args, self.name.split("-")[0]
        if kind == "lingerd":
            return [a.lingerd, "-c", self.render("lingerd.conf.in", "lingerd.conf")]
        if kind == "nginx":
            ofc = OFC if self.name == "nginx-ofc" else "# no open_file_cache"
            conf = self.render("nginx.conf.in", "nginx.conf", {"@OFC@": ofc})
            return ["nginx", "-p", self.dir, "-c", conf]
        if kind == "lighttpd":
            return ["lighttpd", "-D", "-f", self.render("lighttpd.conf.in", "lighttpd.conf")]
        if kind == "h2o":
            return ["h2o", "-c", self.render("h2o.yaml.in", "h2o.yaml")]
        if kind == "canned":
            return [a.canned, str(self.port), os.path.join(a.root, "1k.bin"),
                    os.path.join(a.root, "1m.bin")]
        raise ValueError(self.name)

    def start(self):
        cmd = ["taskset", "-c", SERVER_CPU]
        if self.cg:
            cmd += ["valgrind", "--tool=callgrind", "--trace-children=yes",
                    "--callgrind-out-file=" + os.path.join(self.dir, "callgrind.out.%p")]
        cmd += self.argv()
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        self.pid = self.proc.pid
        timeout = READY_TIMEOUT_S * (6 if self.cg else 1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(os.path.join(self.dir, "stdout.log"), errors="replace") as f:
                    tail = f.read()[-600:]
                raise RuntimeError(f"{self.name} exited at start:\n{tail}")
            if http_get_ok(self.port):
                # Only lingerd's children are its workers (h2o's are helpers).
                kind = self.name.split("-")[0]
                self.worker = find_worker(self.pid) if kind == "lingerd" else self.pid
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {timeout:.0f}s: see {self.dir}/stdout.log")

    def stop(self):
        """SIGTERM to the PID we started; SIGKILL to that PID if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT_S * (6 if self.cg else 1))
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(STOP_TIMEOUT_S)


def find_worker(pid):
    """The child of pid if it has one (lingerd's or any master's worker),
    else pid itself: a single-process server is its own worker."""
    kids = []
    for f in glob.glob(f"/proc/{pid}/task/*/children"):
        with open(f) as fh:
            kids += [int(k) for k in fh.read().split()]
    return min(kids) if kids else pid


def http_get_ok(port, path="/1k.bin"):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def core_busy():
    """Busy jiffies (all but idle and iowait) of every core, from /proc/stat."""
    busy = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                v = [int(x) for x in line.split()[1:]]
                busy[line.split()[0][3:]] = sum(v) - v[3] - v[4]
    return busy


def cpu_ns(pid):
    """CPU time of every thread of pid, in ns (schedstat: user + system)."""
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
        except OSError:
            pass
    return total


def memory(pid):
    """Rss, Pss, Private_Dirty and Anonymous of pid, in bytes."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Rss", "Pss", "Private_Dirty", "Anonymous"):
                out[k] = int(v.split()[0]) * 1024
    return out


# ---------------------------------------------------------------- load

def wrk(server, key, path, conns, mode, body, seconds):
    """One slice of wrk against server; returns a dict of figures and faults."""
    env = dict(os.environ)
    cmd = ["taskset", "-c", GEN_CPU, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s",
           "--timeout", "5s", "-s", WRK_LUA]
    if mode == "close":
        cmd += ["-H", "Connection: close"]
    env["WRK_PIPELINE"] = "16" if mode == "pipeline" else "1"
    cmd.append(f"http://127.0.0.1:{server.port}{path}")
    c0, b0 = cpu_ns(server.worker), core_busy()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = p.stdout.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = status
    c1, b1 = cpu_ns(server.worker), core_busy()
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
        "cpu_us": (c1 - c0) / 1e3 / n if n else None,
        # The whole cost, wherever the kernel did the work: on loopback the
        # receiver's softirq often runs on the sender's core, and a
        # window-limited sender transmits from the ACK's softirq on the
        # client's core. Busy time of both cores (server, wrk, kernel).
        "machine_us": sum(b1[k] - b0[k] for k in (SERVER_CPU, GEN_CPU)) / HZ * 1e6 / n
                      if n else None,
        "srv_busy": (c1 - c0) / 1e9 / wall,
        "gen_busy": (ru.ru_utime + ru.ru_stime) / wall,
        # What else ran on the two cores: busy time not ours (one core = 100%).
        "others": max(0.0, sum(b1[k] - b0[k] for k in (SERVER_CPU, GEN_CPU)) / HZ / wall
                      - (c1 - c0) / 1e9 / wall - (ru.ru_utime + ru.ru_stime) / wall),
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

def phase_rate(args, servers, results):
    """Workloads (a)-(d): warm-up, then reps rounds; each round runs one slice
    of every server, the order rotated each round, so drift hits all alike."""
    for key, title, path, conns, mode, body in RATE:
        log(f"({key}) {title}: warm-up")
        for s in servers:
            wrk(s, key, path, conns, mode, body, args.warmup)
        for rep in range(args.reps):
            order = servers[rep % len(servers):] + servers[:rep % len(servers)]
            for s in order:
                r = wrk(s, key, path, conns, mode, body, args.slice)
                results.setdefault(key, {}).setdefault(s.name, []).append(r)
                log(f"({key}) rep {rep + 1} {s.name:10} {r.get('rate', 0):10.0f}/s "
                    f"cpu {r.get('cpu_us') or 0:6.2f}us  {r['faults'] or ''}")


def phase_idle(args, servers, results):
    """(e) memory per idle keep-alive connection: the average over all N, and
    the slope between N/5 and N, which leaves out one-time growth (a table
    or arena that grows once on the first burst)."""
    n, first = args.idle, args.idle // 5
    for s in servers:
        m0 = memory(s.worker)
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
        results.setdefault("e", {})[s.name] = [r]
        log(f"(e) {s.name:10} Private_Dirty {r['Private_Dirty']:7.0f} B/conn "
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
}


def callgrind_run(args, name, port, key, n):
    """Ir of one whole run under callgrind: start, warm-up, n requests of
    workload key (none if key is None), stop. Returns (Ir, faults)."""
    s = Server(name, args, port, cg=True)
    for f in glob.glob(os.path.join(s.dir, "callgrind.out.*")):
        os.unlink(f)
    s.start()
    faults = {}
    try:
        jobs = [("/1k.bin", 10, "keepalive", 1, args.cg_warmup)]
        if key:
            path, conns, mode, depth = CG[key]
            jobs.append((path, conns, mode, depth, n))
        for path, conns, mode, depth, count in jobs:
            out = subprocess.run(["taskset", "-c", GEN_CPU, PY, CLIENTS, "exact", str(port),
                                  path, str(count), str(conns), mode, str(depth)],
                                 capture_output=True, text=True, timeout=900).stdout
            r = json.loads(out.strip().splitlines()[-1])
            for k in ("bad_status", "short", "errors", "unfinished"):
                if r[k]:
                    faults[k] = faults.get(k, 0) + r[k]
    finally:
        s.stop()
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


def phase_callgrind(args, names, results):
    """User-space instructions per request: (Ir of a run with n requests -
    Ir of the same run with none) / n, for every server and workload."""
    port = args.port + 50
    for name in names:
        base, bfaults = callgrind_run(args, name, port, None, 0)
        for key, n in (("a", args.cg_n), ("b", args.cg_n // 4), ("c", args.cg_n),
                       ("d", max(10, args.cg_n // 100))):
            ir, faults = callgrind_run(args, name, port, key, n)
            faults.update(bfaults)
            r = {"ir": (ir - base) / n, "faults": faults}
            results.setdefault("cg-" + key, {})[name] = [r]
            log(f"callgrind ({key}) {name:10} {r['ir']:9.0f} Ir/req {faults or ''}")
        port += 1


# ---------------------------------------------------------------- table

ROWS = [  # (result key, field, label, format, higher is better)
    ("a", "rate", "(a) req/s", "k", True),
    ("a", "p99_ms", "(a) p99 ms", "f2", False),
    ("a", "cpu_us", "(a) CPU us/req", "f2", False),
    ("cg-a", "ir", "(a) Ir/req", "i", False),
    ("a", "srv_busy", "(a) server busy", "pct", None),
    ("a", "gen_busy", "(a) wrk busy", "pct", None),
    ("a", "others", "(a) others' load", "pct", None),
    ("b", "rate", "(b) req/s", "k", True),
    ("b", "p99_ms", "(b) p99 ms", "f2", False),
    ("b", "cpu_us", "(b) CPU us/req", "f2", False),
    ("cg-b", "ir", "(b) Ir/req", "i", False),
    ("b", "machine_us", "(b) both cores us/req", "f2", False),
    ("b", "srv_busy", "(b) server busy", "pct", None),
    ("b", "others", "(b) others' load", "pct", None),
    ("c", "rate", "(c) req/s", "k", True),
    ("c", "cpu_us", "(c) CPU us/req", "f2", False),
    ("cg-c", "ir", "(c) Ir/req", "i", False),
    ("c", "srv_busy", "(c) server busy", "pct", None),
    ("c", "gen_busy", "(c) wrk busy", "pct", None),
    ("c", "others", "(c) others' load", "pct", None),
    ("d", "mbps", "(d) MB/s", "i", True),
    ("d", "cpu_us", "(d) CPU us/req", "i", False),
    ("d", "machine_us", "(d) both cores us/req", "i", False),
    ("cg-d", "ir", "(d) Ir/req", "i", False),
    ("d", "others", "(d) others' load", "pct", None),
    ("e", "slope", "(e) B/idle conn (slope)", "i", False),
    ("e", "Private_Dirty", "(e) B/idle conn (avg)", "i", False),
    ("f", "Private_Dirty", "(f) B/linger conn (dirty)", "i", False),
    ("f", "rate", "(f) (a) req/s lingering", "k", True),
    ("f", "cpu_us", "(f) (a) CPU us/req ling.", "f2", False),
    ("f", "alive_after", "(f) still lingering", "i", None),
]


# Issue 9's targets for lingerd: (row label, use the ratio?, limit).
TARGETS = [
    ("(a) CPU us/req", True, 0.45),
    ("(c) CPU us/req", True, 0.30),
    ("(b) CPU us/req", True, 0.80),
    ("(a) Ir/req", False, 4000),
    ("(e) B/idle conn (slope)", False, 256),
]


def fmt(v, how):
    if v is None:
        return "-"
    if how == "k":
        return f"{v / 1000:.1f}k"
    if how == "f2":
        return f"{v:.2f}"
    if how == "pct":
        return f"{v * 100:.0f}%"
    return f"{v:.0f}"


def summarise(results, names):
    """Per row and server: median value, spread (half the min-max range, %),
    median of per-round ratios to BASE, and the faults seen."""
    table = {}
    for key, field, label, how, _ in ROWS:
        per = results.get(key, {})
        base = per.get(BASE, [])
        for name in names:
            runs = per.get(name)
            if not runs:
                continue
            vals = [r.get(field) for r in runs if r.get(field) is not None]
            faults = {}
            for r in runs:
                for k, v in r.get("faults", {}).items():
                    faults[k] = faults.get(k, 0) + v if isinstance(v, int) else v
            cell = {"value": None, "spread": None, "ratio": None, "faults": faults}
            if vals:
                med = statistics.median(vals)
                cell["value"] = med
                if len(vals) > 1 and med:
                    cell["spread"] = (max(vals) - min(vals)) / 2 / abs(med)
                ratios = [r.get(field) / b.get(field) for r, b in zip(runs, base)
                          if r.get(field) is not None and b.get(field)]
                if ratios and how != "pct" and field != "alive_after":
                    cell["ratio"] = statistics.median(ratios)
            table[(label, name)] = cell
    return table


def render(table, names, header):
    lw, cw = 26, 17
    lines = header[:]
    lines.append("")
    lines.append("".ljust(lw) + "".join(n.rjust(cw) for n in names))
    notes = []
    for key, field, label, how, _ in ROWS:
        if not any((label, n) in table for n in names):
            continue
        row = label.ljust(lw)
        for n in names:
            c = table.get((label, n))
            if c is None or c["value"] is None and not c["faults"]:
                txt = "n/a"
            elif c["faults"]:
                txt = "INVALID"
                notes.append(f"  {label} / {n}: {json.dumps(c['faults'])}")
            else:
                txt = fmt(c["value"], how)
                if c["spread"] is not None and c["spread"] >= 0.005:
                    txt += f"±{c['spread'] * 100:.0f}"
                if c["ratio"] is not None:
                    txt += f" x{c['ratio']:.2f}"
            row += txt.rjust(cw)
        lines.append(row)
    lines.append("")
    lines.append("value±spread x ratio: median over rounds, ± half the min-max range in %,")
    lines.append(f"x = median over rounds of (server / {BASE}) in the same round.")
    lines.append(f"nginx-ctl is a second, identical {BASE}: its ratios show the noise.")
    lines.append("")
    lines.append("lingerd's targets (issue 9):")
    for label, use_ratio, limit in TARGETS:
        c = table.get((label, "lingerd"))
        v = c and (c["ratio"] if use_ratio else c["value"])
        if v is None or c["faults"]:
            verdict = "not measured"
        else:
            verdict = ("met" if v <= limit else "not met") + f": {v:.2f}" if use_ratio \
                else ("met" if v < limit else "not met") + f": {v:.0f}"
        lines.append(f"  {label:26} {'x' if use_ratio else '<'}{limit:<6} {verdict}")
    if notes:
        lines.append("")
        lines.append("INVALID figures (errors, non-2xx or short responses seen):")
        lines += notes
    return "\n".join(lines) + "\n"


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
            ["valgrind", "--version"])),
        f"{platform.node()} {platform.release()}, {os.cpu_count()} cpus: {cpu}",
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--lingerd", required=True)
    ap.add_argument("--canned", required=True)
    ap.add_argument("--commit", default="?")
    ap.add_argument("--results", required=True)
    ap.add_argument("--port", type=int, default=28100)
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--only-callgrind", action="store_true")
    args = ap.parse_args()
    if args.quick:                    # about a minute: fewer servers, 1 s slices
        args.warmup, args.slice, args.reps = 1, 1, 2
        if args.servers == ",".join(SERVERS):
            args.servers = "lingerd,nginx,nginx-ctl,canned"
        args.idle, args.linger, args.cg_n, args.cg_warmup = 2000, 300, 2000, 100
    else:
        args.warmup, args.slice, args.reps = 2, 3, 3
        args.idle, args.linger, args.cg_n, args.cg_warmup = 10000, 1000, 20000, 500
    names = args.servers.split(",")
    help_text = subprocess.run([args.lingerd, "-h"], capture_output=True, text=True).stdout
    args.lingerd_directives = {l.split()[0] for l in help_text.splitlines()
                               if l.startswith("  ") and l.strip()}

    header = [
        f"bench/run{' --quick' if args.quick else ''}  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
    ] + versions(args) + [
        f"servers on cpu {SERVER_CPU}, wrk -t1 and clients on cpu {GEN_CPU}; "
        f"slices {args.slice}s x {args.reps} rounds (+{args.warmup}s warm-up), interleaved; "
        f"(e) {args.idle} conns, (f) {args.linger} conns; callgrind n={args.cg_n} (a,c), "
        f"{args.cg_n // 4} (b), {max(10, args.cg_n // 100)} (d)",
    ]
    b0 = core_busy()
    time.sleep(1.0)
    b1 = core_busy()
    header.append(f"before the run, others kept {sum(b1[k] - b0[k] for k in b0) / HZ:.0%} "
                  f"of a core busy (of {len(b0)})")
    servers = [Server(n, args, args.port + i) for i, n in enumerate(names)]
    results = {}
    t0 = time.monotonic()
    try:
        for s in servers if not args.only_callgrind else []:
            s.start()
            log(f"started {s.name} pid {s.pid} worker {s.worker} port {s.port}")
        if not args.only_callgrind:
            phase_rate(args, servers, results)
            phase_idle(args, servers, results)
            phase_linger(args, servers, results)
    finally:
        for s in servers:
            s.stop()
    if not args.no_callgrind:
        phase_callgrind(args, names, results)
    header.append(f"took {time.monotonic() - t0:.0f}s")
    table = summarise(results, names)
    text = render(table, names, header)
    print(text)
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "latest.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(args.results, "latest.json"), "w") as f:
        json.dump({"header": header, "names": names, "base": BASE,
                   "rows": [[label, {n: table.get((label, n)) for n in names}]
                            for _, _, label, _, _ in ROWS]}, f, indent=1)


if __name__ == "__main__":
    main()
