"""HTTPS configuration: lingerd -t on certificates, keys and tls listeners, and
a reload with a broken certificate that leaves the old workers serving.

Certificates are made per test by tlscerts.py (openssl CLI) in tmp_path.
"""

import os
import signal
import subprocess

import pytest

from conftest import BIN, get, wait_for
from test_process import children
from tlscerts import TestCA, openssl_available

pytestmark = pytest.mark.skipif(not openssl_available(), reason="needs the openssl tool")


@pytest.fixture
def ca(tmp_path):
    return TestCA(tmp_path / "certs")


def check(tmp_path, text):
    """lingerd -t on a configuration; (exit code, stdout + stderr, conf path)."""
    conf = tmp_path / "tls.conf"
    conf.write_text(text)
    p = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout + p.stderr, str(conf)


def test_t_accepts_a_good_tls_configuration(tmp_path, ca):
    ec = ca.leaf("www.example.test", "*.example.test")
    rsa = ca.leaf("rsa.example.test", key="rsa")
    rc, out, conf = check(tmp_path,
                          "listen 127.0.0.1:8443 tls backlog=64;\n"
                          "listen 127.0.0.1:8080;\n"
                          "tls_certificate %s %s;\n"
                          "tls_certificate %s %s;\n"
                          "tls_protocols TLSv1.3;\n"
                          "hsts 8760h;\n"
                          "https_redirect on;\n" % (ec.cert, ec.key, rsa.cert, rsa.key))
    assert rc == 0, out
    assert "is valid" in out
    assert "warning" not in out


def test_t_refuses_a_key_that_does_not_match_with_file_and_line(tmp_path, ca):
    good = ca.leaf("good.example.test")
    bad = ca.mismatched("bad.example.test", key="rsa")
    rc, out, conf = check(tmp_path,
                          "listen 127.0.0.1:8443 tls;\n"
                          "tls_certificate %s %s;\n"
                          "\n"
                          "tls_certificate %s %s;\n" % (good.cert, good.key, bad.cert, bad.key))
    assert rc == 1, out
    assert "%s:4: the private key does not match the certificate" % conf in out
    assert "has errors" in out


def test_t_refuses_a_missing_certificate_with_file_and_line(tmp_path, ca):
    good = ca.leaf("good.example.test")
    missing = str(tmp_path / "nowhere.pem")
    rc, out, conf = check(tmp_path,
                          "tls_certificate %s %s;\n" % (missing, good.key))
    assert rc == 1, out
    assert "%s:1: certificate %s: No such file or directory" % (conf, missing) in out


def test_t_warns_of_an_expired_certificate_and_passes(tmp_path, ca):
    old = ca.leaf("old.example.test", expired=True)
    soon = ca.leaf("soon.example.test", days=5)
    rc, out, conf = check(tmp_path,
                          "listen 127.0.0.1:8443 tls;\n"
                          "tls_certificate %s %s;\n"
                          "tls_certificate %s %s;\n" % (old.cert, old.key, soon.cert, soon.key))
    assert rc == 0, out
    assert "%s:2: warning: certificate for old.example.test expired on 2020-02-01" % conf in out
    assert "%s:3: warning: certificate for soon.example.test expires in 4 days" % conf in out \
        or "%s:3: warning: certificate for soon.example.test expires in 5 days" % conf in out


def test_a_tls_listener_without_certificates_is_refused(tmp_path):
    rc, out, conf = check(tmp_path, "root www;\nlisten 127.0.0.1:8443 tls;\n")
    assert rc == 1, out
    assert "%s:2: listen 127.0.0.1:8443 tls: no tls_certificate is configured" % conf in out


def test_t_refuses_protocols_older_than_tls12_and_unknown_ciphers(tmp_path, ca):
    rc, out, conf = check(tmp_path, "tls_protocols TLSv1 TLSv1.2;\n")
    assert rc == 1 and "%s:1: bad value 'TLSv1' for 'tls_protocols'" % conf in out, out
    leaf = ca.leaf("a.example.test")
    rc, out, conf = check(tmp_path, "tls_ciphers NOT-A-CIPHER;\ntls_certificate %s %s;\n"
                          % (leaf.cert, leaf.key))
    assert rc == 1 and "tls_ciphers 'NOT-A-CIPHER'" in out, out


def test_a_reload_with_a_broken_certificate_keeps_the_old_workers(make_server, ca):
    good = ca.leaf("good.example.test")
    srv = make_server("workers 1;\ntls_certificate %s %s;\n" % (good.cert, good.key))
    master = srv.proc.pid
    assert wait_for(lambda: len(children(master)) == 1)
    worker = children(master)[0]
    assert get(srv, "/").status == 200

    bad = ca.mismatched("good.example.test")
    text = open(srv.conf).read().replace(good.key, bad.key)
    with open(srv.conf, "w") as f:
        f.write(text)
    line = text[:text.index(bad.key)].count("\n") + 1
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in srv.log(), timeout=10), srv.log()
    assert "%s:%d: the private key does not match the certificate" % (srv.conf, line) \
        in srv.log()
    assert children(master) == [worker]
    assert get(srv, "/").status == 200

    # the file itself going missing is refused the same way
    os.rename(good.cert, good.cert + ".gone")
    with open(srv.conf, "w") as f:
        f.write(text.replace(bad.key, good.key))
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: srv.log().count("reload refused") == 2, timeout=10), srv.log()
    assert "certificate %s: No such file or directory" % good.cert in srv.log()
    assert children(master) == [worker]
    assert get(srv, "/").status == 200

    # and a good one is taken: new workers replace the old
    os.rename(good.cert + ".gone", good.cert)
    srv.send_signal(signal.SIGHUP)
    assert wait_for(lambda: worker not in children(master) and len(children(master)) == 1,
                    timeout=20)
    assert get(srv, "/").status == 200
