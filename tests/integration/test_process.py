"""The process model: workers, reload, graceful stop, upgrade, systemd, privileges."""

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BIN, Reader, Server, get, request, wait_for


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


class Load:
    """Bounded client load: keep-alive connections and new-connection requests.

    Nothing is retried: a keep-alive connection that the server closed with
    a request unanswered is a failure (a drain must answer what it took and
    say "Connection: close"; tests/integration/test_drain.py has the same
    client with POSTs). A reset anywhere is counted."""

    def __init__(self, srv, keepalive_threads=3, fresh_threads=3, duration=60):
        self.srv = srv
        self.stop_new = threading.Event()
        self.stop_all = threading.Event()
        self.lock = threading.Lock()
        self.ok = self.failed = self.resets = self.late = 0
        self.quit_at = None  # monotonic time the stop signal was sent
        self.local = threading.local()
        self.errors = []
        self.deadline = time.monotonic() + duration
        self.threads = [threading.Thread(target=self.keepalive) for _ in range(keepalive_threads)]
        self.threads += [threading.Thread(target=self.fresh) for _ in range(fresh_threads)]

    def count(self, what, err=None):
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)
            if err is not None and len(self.errors) < 20:
                self.errors.append(repr(err))

    def one_fresh(self):
        """One request on a new connection: True if answered right. Notes in
        self.sent (per thread) when the request had left, or None."""
        self.local.sent = None
        s = self.srv.connect(timeout=10)
        try:
            s.sendall(request("GET", "/about.txt", ["Connection: close"]))
            self.local.sent = time.monotonic()
            r = Reader(s).response()
            return r is not None and r.status == 200 and r.body.startswith(b"lingerd")
        finally:
            s.close()

    def fresh(self):
        while not self.stop_new.is_set() and time.monotonic() < self.deadline:
            try:
                if self.one_fresh():
                    self.count("ok")
                    continue
                what, err = "failed", "fresh connection closed without an answer"
            except ConnectionResetError as e:
                what, err = "resets", e
            except OSError as e:
                what, err = "failed", e
            # A request that had not wholly left before the stop signal is
            # not one the server promised to answer: a thread can note its
            # start, then run only after the stop, and its connection sits
            # in the queue of a socket about to close. Count it apart. (On
            # loopback a sent request is in the accept queue when sendall
            # returns; a stopping worker accepts what is queued.)
            sent = self.local.sent
            if self.quit_at is not None and (sent is None or sent >= self.quit_at):
                what = "late"
            self.count(what, err)

    def keepalive(self):
        s, rd = None, None
        while not self.stop_all.is_set() and time.monotonic() < self.deadline:
            if s is None:
                if self.stop_new.is_set():
                    return
                try:
                    s = self.srv.connect(timeout=10)
                    rd = Reader(s)
                except OSError as e:
                    self.count("failed", e)
                    return
            try:
                s.sendall(request("GET", "/about.txt"))
                r = rd.response()
            except ConnectionResetError as e:
                self.count("resets", e)
                s.close()
                s = None
                continue
            except OSError:
                r = None
            if r is None:
                # Closed by the server with the request unanswered.
                self.count("failed", "keep-alive request closed without an answer")
                s.close()
                s = None
                continue
            if r.status == 200:
                self.count("ok")
            else:
                self.count("failed", "keep-alive status %d" % r.status)
            if (r.header("connection") or "").lower() == "close":
                s.close()
                s = None
        if s is not None:
            s.close()

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self):
        for t in self.threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in self.threads)


def test_ten_reloads_and_a_graceful_stop_under_load_lose_nothing(make_server):
    srv = make_server("workers 2;\nshutdown_timeout 10s;")
    master = srv.proc.pid
    assert wait_for(lambda: len(children(master)) == 2)
    load = Load(srv).start()
    time.sleep(0.5)
    for i in range(10):
        before = set(children(master))
        srv.send_signal(signal.SIGHUP)
        # New workers appear; old ones drain and leave.
        assert wait_for(lambda: len(set(children(master)) - before) >= 2, timeout=10), i
        time.sleep(0.3)
    load.stop_new.set()  # no new connections from here: the stop closes the sockets
    load.quit_at = time.monotonic()
    srv.send_signal(signal.SIGQUIT)
    load.join()
    rc = srv.proc.wait(timeout=30)
    assert rc == 0
    print("load: ok=%d failed=%d resets=%d opened-after-stop=%d" %
          (load.ok, load.failed, load.resets, load.late))
    assert load.ok > 100
    assert load.failed == 0 and load.resets == 0, (load.failed, load.resets, load.errors)


def test_a_killed_worker_is_replaced_and_the_socket_keeps_answering(make_server):
    srv = make_server("workers 2;")
    master = srv.proc.pid
    assert wait_for(lambda: len(children(master)) == 2)
    victim = children(master)[0]
    os.kill(victim, signal.SIGKILL)
    answered = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert get(srv, "/").status == 200
        answered += 1
        kids = children(master)
        if len(kids) == 2 and victim not in kids:
            break
    kids = children(master)
    assert victim not in kids and len(kids) == 2, kids
    assert answered >= 1
    assert "killed by signal 9" in srv.log()


def test_a_broken_reload_keeps_the_old_configuration_serving(make_server):
    srv = make_server("workers 1;")
    master = srv.proc.pid
    assert wait_for(lambda: len(children(master)) == 1)
    worker = children(master)[0]
    with open(srv.conf, "a") as f:
        f.write("\nkeepalive_timout 5s;\nworkers banana;\n")
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in srv.log(), timeout=10)
    log = srv.log()
    assert "did you mean 'keepalive_timeout'" in log
    assert "workers" in log
    assert children(master) == [worker]
    assert get(srv, "/").status == 200


def test_a_good_reload_applies_the_new_configuration(make_server):
    srv = make_server("workers 1;\nserver_header before;")
    assert get(srv, "/").header("server") == "before"
    text = open(srv.conf).read().replace("server_header before;", "server_header after;")
    with open(srv.conf, "w") as f:
        f.write(text)
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: get(srv, "/").header("server") == "after", timeout=10)


def test_fd_exhaustion_recovers_when_connections_close(tmp_path):
    d = tempfile.mkdtemp(dir=str(tmp_path))
    srv = Server(d, "workers 1;\nrlimit_nofile 0;")
    import resource

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    srv_args = [BIN, "-c", srv.conf]
    srv.stderr = open(srv.stderr_path, "w")
    srv.proc = subprocess.Popen(srv_args, stdout=srv.stderr, stderr=srv.stderr,
                                preexec_fn=low_nofile)
    try:
        assert wait_for(lambda: _can_connect(srv), timeout=10)
        hogs = []
        for _ in range(80):  # more than the worker's descriptors
            try:
                s = socket.create_connection((srv.host, srv.port), timeout=2)
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # hold it open mid-head
                hogs.append(s)
            except OSError:
                break
        time.sleep(0.5)
        for s in hogs:
            s.close()
        # Once they are gone the server accepts and answers again.
        assert wait_for(lambda: _get_ok(srv), timeout=10)
        assert srv.proc.poll() is None
    finally:
        assert srv.stop() == 0


def _can_connect(srv):
    try:
        socket.create_connection((srv.host, srv.port), timeout=1).close()
        return True
    except OSError:
        return False


def _get_ok(srv):
    try:
        return get(srv, "/").status == 200
    except Exception:
        return False


def test_pid_file_and_dash_s(make_server, tmp_path):
    pid_file = str(tmp_path / "lingerd.pid")
    srv = make_server("workers 1;\npid_file %s;" % pid_file)
    assert wait_for(lambda: os.path.exists(pid_file))
    assert int(open(pid_file).read()) == srv.proc.pid
    master = srv.proc.pid
    assert wait_for(lambda: len(children(master)) == 1)
    worker = children(master)[0]
    subprocess.run([BIN, "-c", srv.conf, "-s", "reload"], check=True, timeout=10)
    assert wait_for(lambda: children(master) and worker not in children(master), timeout=10)
    subprocess.run([BIN, "-c", srv.conf, "-s", "quit"], check=True, timeout=10)
    assert srv.proc.wait(timeout=20) == 0
    assert not os.path.exists(pid_file)


def test_systemd_notify_ready_reloading_stopping(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    d = tempfile.mkdtemp(dir=str(tmp_path))
    srv = Server(d, "workers 1;")
    os.environ["NOTIFY_SOCKET"] = path
    try:
        srv.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    try:
        assert sock.recv(100) == b"READY=1"
        srv.send_signal(signal.SIGHUP)
        assert sock.recv(100) == b"RELOADING=1"
        assert sock.recv(100) == b"READY=1"
        srv.send_signal(signal.SIGQUIT)
        assert sock.recv(100) == b"STOPPING=1"
    finally:
        srv.stop()
        sock.close()


def test_socket_activation_with_listen_fds(tmp_path):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    port = lsock.getsockname()[1]
    d = tempfile.mkdtemp(dir=str(tmp_path))
    srv = Server(d, "workers 1;")
    srv.port = port
    with open(srv.conf) as f:
        text = f.read()
    text = "\n".join(l for l in text.splitlines() if not l.startswith("listen "))
    text += "\nlisten 127.0.0.1:%d;\n" % port
    with open(srv.conf, "w") as f:
        f.write(text)
    fd = lsock.fileno()

    def as_fd3():
        os.dup2(fd, 3)
        os.environ["LISTEN_PID"] = str(os.getpid())

    env = dict(os.environ, LISTEN_FDS="1")
    srv.stderr = open(srv.stderr_path, "w")
    srv.proc = subprocess.Popen(["/bin/sh", "-c", 'LISTEN_PID=$$ exec "$0" -c "$1"', BIN,
                                 srv.conf], stdout=srv.stderr, stderr=srv.stderr, env=env,
                                pass_fds=(3,), preexec_fn=lambda: os.dup2(fd, 3))
    lsock.close()  # only lingerd holds it now
    try:
        assert wait_for(lambda: _get_ok(srv), timeout=10)
        assert "Address already in use" not in srv.log()
    finally:
        assert srv.stop() == 0


def test_binary_upgrade_on_sigusr2_keeps_serving(make_server, tmp_path):
    pid_file = str(tmp_path / "up.pid")
    srv = make_server("workers 1;\npid_file %s;" % pid_file)
    old = srv.proc.pid
    assert wait_for(lambda: os.path.exists(pid_file))
    srv.send_signal(signal.SIGUSR2)
    new = None
    try:
        assert wait_for(lambda: os.path.exists(pid_file + ".oldbin") and
                        os.path.exists(pid_file) and int(open(pid_file).read()) != old,
                        timeout=10), srv.log()[-3000:]
        new = int(open(pid_file).read())
        assert wait_for(lambda: len(children(new)) == 1, timeout=10)
        srv.send_signal(signal.SIGQUIT)  # the old master drains and leaves
        assert srv.proc.wait(timeout=20) == 0
        for _ in range(20):
            assert get(srv, "/").status == 200  # served by the new binary
    finally:
        # The new master is not the harness's child: stop it by its PID
        # whatever happened above, so no test leaves a server behind.
        if new is None and os.path.exists(pid_file):
            try:
                new = int(open(pid_file).read())
            except ValueError:
                new = None
        if new is not None and new != old:
            try:
                os.kill(new, signal.SIGTERM)
            except ProcessLookupError:
                pass
    assert wait_for(lambda: not os.path.exists("/proc/%d" % new) or
                    open("/proc/%d/stat" % new).read().split()[2] == "Z", timeout=20)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_workers_drop_root_and_root_without_user_is_refused(tmp_path):
    d = tempfile.mkdtemp(dir="/tmp")
    os.chmod(d, 0o755)
    try:
        srv = Server(d, "workers 1;\nuser nobody;")
        for dirpath, dirnames, filenames in os.walk(d):
            os.chmod(dirpath, 0o755)
            for fn in filenames:
                os.chmod(os.path.join(dirpath, fn), 0o644)
        srv.start()
        try:
            master = srv.proc.pid
            assert wait_for(lambda: len(children(master)) == 1)
            # The worker switches users right after fork: poll, bounded.
            assert wait_for(lambda: uid_of(children(master)[0]) != 0, timeout=5)
            assert uid_of(master) == 0
            assert get(srv, "/").status == 200
        finally:
            assert srv.stop() == 0
        refused = subprocess.run([BIN, "-p", "1", "-r", d], capture_output=True, text=True,
                                 timeout=10)
        assert refused.returncode != 0
        assert "refusing to run workers as root" in refused.stderr
    finally:
        subprocess.run(["rm", "-rf", d])
