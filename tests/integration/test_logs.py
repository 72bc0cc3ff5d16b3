"""Access log and error log, black-box: formats, close reasons, escaping,
and reopening on SIGUSR1 after logrotate renamed the files."""

import json
import os
import re
import signal
import subprocess

from conftest import BIN, Reader, fd_targets, request, wait_for
from test_process import children

COMBINED = re.compile(
    r'^127\.0\.0\.1 - (?P<user>\S+) \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" '
    r'"(?P<agent>(?:[^"\\]|\\.)*)" (?P<ms>\d+) (?P<close>\S+)$')


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def reopened(pid, paths):
    """Whether pid holds every path open and none of the renamed files
    (PATH.1), as /proc/<pid>/fd names them: it has reopened its logs."""
    held = set(fd_targets(pid))
    return all(p in held and p + ".1" not in held for p in paths)


def test_access_log_combined_with_close_reason(make_server, tmp_path):
    log = str(tmp_path / "access.log")
    srv = make_server("access_log %s;" % log)
    size = os.path.getsize(os.path.join(srv.root, "index.html"))
    s = srv.connect()
    s.sendall(request("GET", "/index.html?x=1", ["Referer: http://ref/", "User-Agent: t\"x"]) +
              request("GET", "/nope", ["Connection: close"]))
    rd = Reader(s)
    assert rd.response().status == 200 and rd.response().status == 404
    s.close()
    assert wait_for(lambda: len(lines(log)) == 2)
    first, second = [COMBINED.match(l) for l in lines(log)]
    assert first and second, lines(log)
    assert first["request"] == "GET /index.html?x=1 HTTP/1.1" and first["status"] == "200"
    assert int(first["bytes"]) == size
    assert first["referer"] == "http://ref/" and first["agent"] == 't\\"x'
    assert first["close"] == "-"  # the connection stayed open
    assert second["status"] == "404" and second["close"] == "requested"


def test_access_log_our_own_400_and_user(make_server, tmp_path):
    log = str(tmp_path / "access.log")
    srv = make_server("access_log %s;" % log)
    s = srv.connect()
    s.sendall(request("GET", "/upload/", ["Authorization: Basic dGVzdDp0ZXN0"]))
    assert Reader(s).response().status in (200, 403, 404)
    s.sendall(b"GET / HTTP/1.1\r\nHost : bad\r\n\r\n")
    rd = Reader(s)
    assert rd.response().status == 400
    rd.read_until_close()
    s.close()
    assert wait_for(lambda: len(lines(log)) == 2)
    ok, bad = [COMBINED.match(l) for l in lines(log)]
    assert ok["user"] == "test"
    assert bad["request"] == "-" and bad["status"] == "400" and bad["close"] == "error"


def test_access_log_json_lines(make_server, tmp_path):
    log = str(tmp_path / "access.json")
    srv = make_server("access_log %s;\naccess_log_format json;" % log)
    s = srv.connect()
    s.sendall(request("GET", "/?a=%22", ["User-Agent: \xe9\"", "Connection: close"]))
    assert Reader(s).response().status == 200
    s.close()
    assert wait_for(lambda: len(lines(log)) == 1)
    e = json.loads(lines(log)[0])
    assert e["status"] == 200 and e["request_method"] == "GET"
    assert e["request_uri"] == "/?a=%22" and e["query_string"] == "a=%22"
    assert e["http_user_agent"] == "\xe9\"" and e["http_referer"] is None
    assert e["close_reason"] == "requested" and e["connection_requests"] == 1
    assert e["remote_addr"] == "127.0.0.1" and e["bytes_sent"] > e["body_bytes_sent"] > 0


def test_access_log_custom_format_and_off(make_server, tmp_path):
    log = str(tmp_path / "custom.log")
    srv = make_server('access_log %s;\naccess_log_format "$status|$request_method|$uri|'
                      '$$|${connection_requests}";' % log)
    s = srv.connect()
    s.sendall(request("HEAD", "/") + request("GET", "/"))
    rd = Reader(s)
    assert rd.response(head_request=True).status == 200
    assert rd.response().status == 200
    s.close()
    assert wait_for(lambda: len(lines(log)) == 2)
    assert lines(log) == ["200|HEAD|/|$|1", "200|GET|/|$|2"]

    quiet = make_server("access_log off;")
    s = quiet.connect()
    s.sendall(request("GET", "/", ["Connection: close"]))
    assert Reader(s).response().status == 200
    s.close()
    assert '"GET / HTTP/1.1"' not in quiet.log()


def test_bad_access_log_format_is_a_config_error(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text('access_log_format "$remote_addr $nosuch";\nstatus_path nope;\n')
    p = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "bad.conf:1: bad value '$remote_addr $nosuch' for 'access_log_format': " \
           "unknown field '$nosuch'" in p.stderr
    assert "bad.conf:2: bad value 'nope' for 'status_path': must start with '/'" in p.stderr


def test_sigusr1_reopens_renamed_logs(make_server, tmp_path):
    access = str(tmp_path / "access.log")
    errors = str(tmp_path / "error.log")
    srv = make_server("access_log %s;\nerror_log %s;\nlog_level info;" % (access, errors))

    def bad_request():
        s = srv.connect()
        s.sendall(b"GET / HTTP/1.1\r\nHost : bad\r\n\r\n")
        rd = Reader(s)
        assert rd.response().status == 400
        rd.read_until_close()
        s.close()

    bad_request()
    assert wait_for(lambda: len(lines(access)) == 1)
    assert wait_for(lambda: any("bad request" in l for l in lines(errors)))
    # Every connection message names the peer and the state.
    line = [l for l in lines(errors) if "bad request" in l][0]
    assert re.search(r"\[info\] \d+: conn=\d+ fd=\d+ peer=127\.0\.0\.1:\d+ state=READ_HEAD "
                     r"bad request: ", line), line

    workers = children(srv.proc.pid)
    assert len(workers) == 1
    os.rename(access, access + ".1")  # what logrotate does, then it signals
    os.rename(errors, errors + ".1")
    srv.send_signal(signal.SIGUSR1)
    # The master creates the new files before it passes the signal on; the
    # request must wait until the worker that logs it has reopened them too.
    assert wait_for(lambda: all(reopened(pid, (access, errors))
                                for pid in [srv.proc.pid] + workers))
    bad_request()
    assert wait_for(lambda: len(lines(access)) == 1)
    assert wait_for(lambda: any("bad request" in l for l in lines(errors)))
    assert len(lines(access + ".1")) == 1  # nothing more went to the renamed file
    assert sum("bad request" in l for l in lines(errors + ".1")) == 1
