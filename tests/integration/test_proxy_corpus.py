"""The conformance corpus through the proxy: lingerd in front of lingerd.

The front proxies every path to an origin lingerd configured as the corpus
assumes (default site, /upload/ with Basic auth), so each case checks that
the proxy keeps the origin's answer (status, fields, body, framing) and
that the front still refuses bad requests itself. A case that had to differ
would be listed with the reason and must keep failing, so the list only
shrinks.
"""

import json
import os
import subprocess
import tempfile

from conftest import Server
from test_corpus import CASES, CORPUS

# case -> why the proxied answer differs from the origin's (none today)
THROUGH_PROXY_DIFFERS = {}


def test_corpus_through_the_proxy(tmp_path):
    assert CASES, "conformance corpus not found"
    origin = Server(tempfile.mkdtemp(dir=str(tmp_path)), "").start()
    front = Server(tempfile.mkdtemp(dir=str(tmp_path)),
                   "location / {\n methods GET HEAD POST PUT DELETE OPTIONS;\n"
                   " proxy_pass 127.0.0.1:%d;\n}\n" % origin.port, uploads=False).start()
    try:
        proc = subprocess.run(
            ["/usr/bin/python3", os.path.join(CORPUS, "run_corpus.py"), "--host", front.host,
             "--port", str(front.port), "--json", "--jobs", "4"],
            capture_output=True, text=True, timeout=600)
    finally:
        assert front.stop() == 0, front.log()[-3000:]
        assert origin.stop() == 0, origin.log()[-3000:]
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            obj = json.loads(line)
            results[obj.get("case") or obj.get("name")] = obj
    assert set(results) == set(CASES), proc.stdout[-2000:] + proc.stderr[-2000:]
    failed = sorted(c for c, r in results.items() if not r.get("passed", r.get("ok")))
    assert failed == sorted(THROUGH_PROXY_DIFFERS), json.dumps(
        {c: results[c] for c in failed if c not in THROUGH_PROXY_DIFFERS}, indent=1)[:4000]
