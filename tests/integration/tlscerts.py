"""Test certificates, made at run time with the openssl command-line tool.

A throw-away CA in a temporary directory signs leaf certificates (ECDSA
P-256 or RSA 2048) for the DNS names a test asks for; the leaf's file holds
the leaf and then the CA (a chain, as servers are given them). Also an
expired certificate and a certificate with somebody else's key. Nothing
here is ever written into the source tree: keys live and die with the
test's tmp directory.

    ca = TestCA(tmp_path)
    leaf = ca.leaf("www.example.test", "*.example.test")          # ECDSA
    rsa = ca.leaf("rsa.example.test", key="rsa")
    old = ca.leaf("old.example.test", expired=True)
    bad = ca.mismatched("bad.example.test")    # cert and a key of another
    leaf.cert, leaf.key                         # paths
"""

import os
import subprocess

OPENSSL = "openssl"

CA_CONF = """\
[ ca ]
default_ca = test_ca

[ test_ca ]
database = {dir}/index.txt
new_certs_dir = {dir}/issued
serial = {dir}/serial
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no

[ any_name ]
commonName = supplied

[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
"""


def _run(*args, cwd=None):
    p = subprocess.run([OPENSSL] + list(args), cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), p.stderr))
    return p.stdout


def _newkey_args(key):
    if key == "rsa":
        return ["-newkey", "rsa:2048"]
    if key == "ec":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    raise ValueError("key must be 'ec' or 'rsa', not %r" % key)


class Leaf:
    def __init__(self, cert, key, names):
        self.cert = cert  # PEM: the leaf, then the CA
        self.key = key    # PEM private key, unencrypted
        self.names = names


class TestCA:
    """A CA in dir/ca/, its leaves in dir/."""

    __test__ = False  # not a pytest class, despite its name

    def __init__(self, tmp_dir):
        self.dir = os.path.join(str(tmp_dir), "ca")
        os.makedirs(os.path.join(self.dir, "issued"))
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.conf = os.path.join(self.dir, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(CA_CONF.format(dir=self.dir))
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        _run("req", "-x509", *_newkey_args("ec"), "-nodes", "-keyout", self.key,
             "-out", self.cert, "-days", "365", "-subj", "/CN=lingerd test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.out = str(tmp_dir)
        self.count = 0

    def leaf(self, *names, key="ec", days=90, expired=False, cn=None):
        """A certificate for DNS names (its subjectAltName), valid for days
        or expired in 2020; the subject CN is cn, else the first name (with
        no names, cn is the only name the certificate has)."""
        self.count += 1
        base = os.path.join(self.out, "leaf%d" % self.count)
        subject = "/CN=%s" % (cn or names[0])
        req = ["req", "-new", *_newkey_args(key), "-nodes", "-keyout", base + ".key",
               "-out", base + ".csr", "-subj", subject]
        if names:
            req += ["-addext", "subjectAltName=" + ",".join("DNS:" + n for n in names)]
        _run(*req)
        sign = ["ca", "-batch", "-notext", "-config", self.conf, "-extensions", "leaf",
                "-cert", self.cert, "-keyfile", self.key, "-in", base + ".csr",
                "-out", base + ".leaf.pem"]
        if expired:
            sign += ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]
        else:
            sign += ["-days", str(days)]
        _run(*sign)
        with open(base + ".leaf.pem") as f, open(self.cert) as c, \
                open(base + ".pem", "w") as out:
            out.write(f.read() + c.read())
        os.chmod(base + ".key", 0o600)
        return Leaf(base + ".pem", base + ".key", list(names))

    def mismatched(self, *names, key="ec"):
        """A certificate for names with the key of another certificate."""
        a = self.leaf(*names, key=key)
        b = self.leaf(*names, key=key)
        return Leaf(a.cert, b.key, list(names))


def openssl_available():
    try:
        _run("version")
        return True
    except (OSError, RuntimeError):
        return False
