"""The public conformance corpus (../shared/corpora/http1), one test per case.

The whole corpus runs once against a server configured as the corpus README
assumes (default site, /upload/ with user test:test); each case is then a
test of its own. Cases listed in tests/corpus-pending.txt must still fail
(so the list only shrinks); tests/corpus-deviations.txt lists cases whose
expectation we believe contradicts the RFC, with the reason, and they are
reported, never silently skipped.

The same corpus runs again over HTTPS (run_corpus.py --tls) against a TLS
listener with a certificate from a test CA made for the run, verifying the
certificate and requiring close_notify before every server close: the
expectations are the same, and a close without close_notify fails a case.
"""

import json
import os
import subprocess

import pytest

from conftest import REPO, Server
from tlscerts import TestCA

CORPUS = os.path.normpath(os.path.join(REPO, "..", "shared", "corpora"))
if not os.path.isdir(CORPUS):
    CORPUS = os.path.normpath(os.path.join(REPO, "shared", "corpora"))
CASES_DIR = os.path.join(CORPUS, "http1")


def _listed(name):
    path = os.path.join(REPO, "tests", name)
    if not os.path.exists(path):
        return {}
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                case, _, why = line.partition(" ")
                out[case] = why.strip()
    return out


PENDING = _listed("corpus-pending.txt")
DEVIATIONS = _listed("corpus-deviations.txt")
CASES = sorted(f[:-4] for f in os.listdir(CASES_DIR) if f.endswith(".req")) \
    if os.path.isdir(CASES_DIR) else []


def _run_corpus(tmp_path_factory, tls):
    d = str(tmp_path_factory.mktemp("corpus-tls" if tls else "corpus"))
    extra = []
    config = ""
    if tls:
        ca = TestCA(d)
        leaf = ca.leaf("localhost")
        config = "tls_certificate %s %s;" % (leaf.cert, leaf.key)
        extra = ["--tls", "--cafile", ca.cert, "--sni", "localhost", "--require-close-notify"]
    srv = Server(d, config, tls=tls).start()
    try:
        proc = subprocess.run(
            ["/usr/bin/python3", os.path.join(CORPUS, "run_corpus.py"), "--host", srv.host,
             "--port", str(srv.port), "--json", "--jobs", "4"] + extra,
            capture_output=True, text=True, timeout=600)
    finally:
        rc = srv.stop()
    assert rc == 0, srv.log()[-3000:]
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            obj = json.loads(line)
            results[obj.get("case") or obj.get("name")] = obj
    assert results, proc.stdout[-2000:] + proc.stderr[-2000:]
    return results


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory):
    return _run_corpus(tmp_path_factory, tls=False)


@pytest.fixture(scope="module")
def corpus_results_tls(tmp_path_factory):
    return _run_corpus(tmp_path_factory, tls=True)


def test_corpus_is_present():
    assert CASES, "conformance corpus not found at %s" % CASES_DIR


def test_pending_and_deviation_lists_name_real_cases():
    for case in list(PENDING) + list(DEVIATIONS):
        assert case in CASES, "listed case %s does not exist" % case


def _check_case(results, case):
    r = results.get(case)
    assert r is not None, "the runner reported nothing for %s" % case
    ok = r.get("passed", r.get("ok"))
    if case in DEVIATIONS:
        assert not ok, "%s passes now: remove it from corpus-deviations.txt" % case
        return
    if case in PENDING:
        assert not ok, "%s passes now: remove it from corpus-pending.txt" % case
        return
    assert ok, json.dumps(r, indent=1)[:3000]


@pytest.mark.parametrize("case", CASES)
def test_corpus_case(corpus_results, case):
    _check_case(corpus_results, case)


@pytest.mark.parametrize("case", CASES)
def test_corpus_case_over_tls(corpus_results_tls, case):
    _check_case(corpus_results_tls, case)
