#!/usr/bin/python3
"""The parser's verdict against the server's: every file of the request-parser
corpus (tests/fuzz/corpus/http1) goes to build/fuzz-regress/verdict, which
says from the pure modules alone what the server must answer to the first
request, and over a fresh loopback connection to a lingerd started here with
its defaults (header_timeout shortened). The two must agree:

  a status (400 414 417 431 501 505 200)   the server's first response has it
  again                                    no response, or 408
  routed                                   any status but the refusals above
  routed-badbody                           the same, or 400
  routed-incomplete                        the same, or no response, or 408

Usage: differential.py [CORPUS_DIR]; prints mismatches, then
"differential: N passed, M failed". Needs $LINGERD_BIN (default release).
"""

import concurrent.futures
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from conftest import Server  # noqa: E402

REFUSALS = {400, 414, 417, 431, 501, 505}
CASE_TIMEOUT_S = 6


def first_status(port, data):
    """The first final status the server sends, None if it sends none."""
    buf = b""
    with socket.create_connection(("127.0.0.1", port), timeout=CASE_TIMEOUT_S) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # refused early and closed: the answer may be there already
        deadline = time.monotonic() + CASE_TIMEOUT_S
        while time.monotonic() < deadline:
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                parts = head.split(b"\r\n", 1)[0].split(b" ")
                status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
                if status >= 200 or status < 0:
                    return status
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                chunk = b""
            if not chunk:
                return None
            buf += chunk
    return None


def agrees(verdict, status):
    if verdict == "again":
        return status in (None, 408)
    if verdict == "routed":
        return status is not None and status not in REFUSALS
    if verdict == "routed-incomplete":
        return status in (None, 408) or status not in REFUSALS
    if verdict == "routed-badbody":
        return status is not None and (status == 400 or status not in REFUSALS)
    return status == int(verdict)


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "http1")
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus))
    tool = os.path.join(REPO, "build", "fuzz-regress", "verdict")
    out = subprocess.run([tool] + files, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    if out.returncode != 0:
        print(out.stderr[-3000:])
        print("differential: 0 passed, 1 failed")
        return 1
    verdicts = dict(line.rsplit(" ", 1) for line in out.stdout.splitlines())
    with tempfile.TemporaryDirectory() as d:
        srv = Server(d, "header_timeout 1s;\nbody_timeout 1s;\nkeepalive_timeout 1s;\n").start()
        passed = failed = 0
        try:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                def one(path):
                    with open(path, "rb") as f:
                        return path, first_status(srv.port, f.read())
                for path, status in pool.map(one, files):
                    v = verdicts[path]
                    if agrees(v, status):
                        passed += 1
                    else:
                        failed += 1
                        print("MISMATCH %s: parser says %s, server answered %s"
                              % (os.path.basename(path), v, status))
        finally:
            rc = srv.stop()
        if rc != 0:
            print("server exited %s: %s" % (rc, srv.log()[-2000:]))
            failed += 1
    print("differential: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
