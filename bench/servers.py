"""servers.py — the servers bench.py measures: how each is configured,
started, found (its worker's pid), checked ready and stopped, and what they
cost as the kernel counts it (CPU time, memory). Stdlib only.
"""
import glob
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
APACHE = shutil.which("apache2") or "/usr/sbin/apache2"   # /usr/sbin: not on every PATH
SERVER_CPU, GEN_CPU = "1", "0"  # taskset cores: server, load generator
READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
# Three sites; the one every workload reaches (Host: 127.0.0.1 from wrk,
# "bench" or "localhost" from clients.py) is the third and not the default.
VHOST_SITES = ("server { server_name a.example www.a.example; }\n"
               "server { server_name *.b.example b.example; }\n"
               "server { server_name bench localhost 127.0.0.1;")

OFC = ("open_file_cache max=1000 inactive=60s;\n    open_file_cache_valid 60s;\n"
       "    open_file_cache_errors on;")



def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Server:
    def __init__(self, name, args, port, tls_port, cg=False, cg_tag=""):
        self.name, self.args, self.port, self.cg = name, args, port, cg
        self.tls_port = tls_port
        self.kind = name.split("-")[0]
        # Every server but the canned ceiling has an HTTPS listener; lingerd
        # only when it knows tls_certificate and starts with it (start()).
        self.tls = self.kind not in ("canned", "haproxy") and (
            self.kind != "lingerd" or "tls_certificate" in args.lingerd_directives)
        self.no_tls_reason = None if self.tls else (
            "no TLS" if self.kind == "canned" else "proxy workload (n) only"
            if self.kind == "haproxy" else "this lingerd has no tls_certificate")
        # A directory per callgrind run: a process of one run that exits
        # late (h2o's) cannot write its profile among the next run's.
        self.dir = os.path.join(args.tmp, "srv", (f"cg-{cg_tag}-" if cg else "") + name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.pid = None          # the PID we started
        self.worker = None       # the PID doing the work (a child, if any)

    def render(self, template, out, extra=None):
        with open(os.path.join(HERE, "conf", template)) as f:
            text = f.read()
        subst = {"@PORT@": str(self.port), "@TLSPORT@": str(self.tls_port),
                 "@ROOT@": self.args.root, "@TMP@": self.dir,
                 "@CERT@": self.args.cert, "@KEY@": self.args.key,
                 "@UPSTREAM@": "127.0.0.1:%d" % self.args.upstream_port}
        subst.update(extra or {})
        for k, v in subst.items():
            text = text.replace(k, v)
        lines = []
        for line in text.splitlines():
            words = line.split()
            if words[-2:] == ["#if-supported", "tls"] and not self.tls:
                continue
            if line.rstrip().endswith("#if-supported") or words[-2:] == ["#if-supported", "tls"]:
                directive = words[0]
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
            vhost = self.name == "lingerd-vhost"
            return [a.lingerd, "-c", self.render("lingerd.conf.in", "lingerd.conf",
                                                 {"@SITES@": VHOST_SITES if vhost else "",
                                                  "@SITES_END@": "}" if vhost else ""})]
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
        if kind == "haproxy":
            return ["haproxy", "-db", "-f", self.render("haproxy.cfg.in", "haproxy.cfg")]
        if kind == "apache":       # -X: one process that serves by itself, in the foreground
            return [APACHE, "-X", "-f", self.render("apache.conf.in", "apache.conf")]
        raise ValueError(self.name)

    def start(self):
        """Start the server; a lingerd that exits at start with its HTTPS
        lines (it knows the directives but has no TLS transport yet) is
        started again without them, and its TLS workloads show n/a."""
        try:
            self.start_once()
        except RuntimeError as e:
            if self.kind != "lingerd" or not self.tls:
                raise
            text = str(e)
            if "exited at start" in text.splitlines()[0]:
                tail = [l.strip() for l in text.splitlines()[1:] if l.strip()]
                msg = next((l for l in reversed(tail) if "tls" in l.lower()),
                           tail[-1] if tail else "?")
                # Its message without the configuration file's FILE:LINE.
                why = "refused to start with a tls listener: " + re.sub(r"^\S+:\d+: ", "", msg)
            else:
                why = "its tls listener did not answer: " + text
            log(f"{self.name}: {why}; starting it again without: no TLS workloads for it")
            self.tls = False
            self.no_tls_reason = why
            self.start_once()

    def start_once(self):
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
            if http_get_ok(self.port) and (not self.tls or tls_get_ok(self.tls_port)):
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


def tls_get_ok(port, path="/1k.bin"):
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
                          "Connection: close\r\n\r\n".encode())
                return s.recv(64).startswith(b"HTTP/1.1 200")
    except (OSError, ssl.SSLError):
        return False


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tls_params(port, ca, version):
    """What a client sees on port: protocol, cipher, key exchange, signature
    and whether the certificate verifies against the run's CA, from
    `openssl s_client -brief` (version: -tls1_3 or -tls1_2)."""
    try:
        p = subprocess.run(["openssl", "s_client", "-brief", version, "-connect",
                            f"127.0.0.1:{port}", "-servername", "localhost",
                            "-CAfile", ca, "-verify_hostname", "localhost"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "s_client failed"
    got = {}
    for line in (p.stdout + p.stderr).splitlines():
        k, _, v = line.partition(":")
        got[k.strip()] = v.strip()
    if "Protocol version" not in got:
        return "no handshake"
    return " ".join([got.get("Protocol version", "?"), got.get("Ciphersuite", "?"),
                     got.get("Server Temp Key", "?").split(",")[0],
                     got.get("Signature type", "?"),
                     "verified" if got.get("Verification") == "OK"
                     else "NOT VERIFIED: " + got.get("Verification error", "?")])


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
