#!/usr/bin/python3
"""Write the seed corpora of tests/fuzz/corpus/ from ../shared/corpora and a
few hand-written cases. Run once by hand (the output is committed); re-running
rewrites the files named "seed-*" and leaves the rest (inputs libFuzzer found
and we kept, regressions) alone.

  /usr/bin/python3 tests/fuzz/make_seeds.py

http1     every conformance .req as raw bytes ({{wait}}/{{sleep}} dropped,
          {{etag}} and dates replaced by fixed values), cut at 40 KiB (past every head limit)
chunked   the body after the head of every chunked request, plus edge cases
range     "SIZE\\nVALUE" from every Range field, plus edge cases
config    one statement per directive with its documented default, whole
          files with locations, includes and quoting, and broken ones
htpasswd  the test file, each accepted and refused scheme, comments, CRLF
proxy_protocol  v1 and v2 headers as HAProxy sends them (TCP4, TCP6, UNKNOWN,
          LOCAL, UNSPEC, AF_UNIX, TLVs), each followed by a request, and
          broken ones (each field, the length, the family)
http2     a client's frames after its preface, as Python's h2 writes them:
          requests with and without bodies, trailers, padding, CONTINUATION,
          and the malformed heads RFC 9113 §8.2-8.3 names
"""

import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPORA = os.path.normpath(os.path.join(REPO, "..", "shared", "corpora"))
SEED_MAX = 40 * 1024

sys.path.insert(0, CORPORA)
import run_corpus  # noqa: E402  (the corpus's own .req decoder)

VARS = {
    "etag": b'"5f3a-1c2"',
    "last-modified": b"Tue, 24 Nov 2026 20:23:06 GMT",
    "last-modified-rfc850": b"Tuesday, 24-Nov-26 20:23:06 GMT",
    "last-modified-asctime": b"Tue Nov 24 20:23:06 2026",
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data[:SEED_MAX])


def short(data):
    return hashlib.sha1(data).hexdigest()[:10]


def conformance_requests():
    folder = os.path.join(CORPORA, "http1")
    for fn in sorted(os.listdir(folder)):
        if not fn.endswith(".req"):
            continue
        with open(os.path.join(folder, fn)) as f:
            items = run_corpus.decode_req(f.read(), fn)
        out = b""
        for it in items:
            if it[0] == "data":
                out += it[1]
            elif it[0] == "var":
                out += VARS[it[1]]
        yield fn[:-4], out


def seeds_http1_chunked_range():
    ranges = set()
    for name, raw in conformance_requests():
        write("http1", name, raw)
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if sep and re.search(rb"(?im)^transfer-encoding:.*chunked", head):
            write("chunked", name, rest)
        for m in re.finditer(rb"(?im)^range:[ \t]*([^\r\n]*)", head):
            ranges.add(m.group(1))
    hand = [
        b"0\r\n\r\n", b"5\r\nhello\r\n0\r\n\r\n", b"5;ext=1;q=\"a\"\r\nhello\r\n0\r\n\r\n",
        b"ffffffffffffffff\r\n", b"10000000000000000\r\n", b"5\r\nhel", b"5\nhello\n0\n\n",
        b"0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", b"0\r\nbad trailer\r\n\r\n", b"-1\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n", b"5 \r\nhello\r\n0\r\n\r\n", b"\r\n",
        b"1\r\na\r\n1\r\nb\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
    ]
    for h in hand:
        write("chunked", "hand-" + short(h), h)
    hand_ranges = [
        b"bytes=0-0", b"bytes=-1", b"bytes=0-", b"bytes=5-4", b"bytes=0-4,2-8,10-",
        b"bytes=-0", b"bytes= 0-1 , 3-4", b"BYTES=1-2", b"items=0-1", b"bytes=",
        b"bytes=99999999999999999999-", b"bytes=1-2,3-4,5-6,7-8,9-10,11-12,13-14,15-16,17-18",
        b"bytes=18446744073709551615-18446744073709551615", b"bytes=0-1,,2-3",
    ]
    for v in sorted(ranges) + hand_ranges:
        for size in (b"1000", b"0", b"1", b"18446744073709551615"):
            data = size + b"\n" + v
            write("range", short(data), data)


def seeds_config():
    with open(os.path.join(REPO, "docs", "directives.md")) as f:
        text = f.read()
    for m in re.finditer(r"### (\w+)\n\n    ([^\n]*)\n(.*?)(?=\n### |\Z)", text, re.S):
        name, synopsis, body = m.groups()
        d = re.search(r"- Default: `([^`]*)`", body)
        value = d.group(1) if d else synopsis.split(" ", 1)[1].rstrip(";").split("|")[0]
        write("config", "dir-" + name, ("%s %s;\n" % (name, value)).encode())
        write("config", "loc-" + name,
              ("location /x/ {\n    %s %s;\n}\n" % (name, value)).encode())
    whole = [
        "listen 127.0.0.1:8080 backlog=128;\nlisten [::1]:8081;\nroot www;\n"
        "header_timeout 500ms;\nbody_max_bytes 1g;\n"
        "location /upload/ {\n    methods GET HEAD PUT POST DELETE;\n"
        "    auth_basic \"up \\\"loads\\\"\";\n    body_max_bytes 8k;\n    keepalive off;\n}\n",
        "nokeepalive_user_agent \"MSIE [1-6]\\.\" \"^curl/7\\.\";\nso_linger 2s;\n",
        "include missing.conf;\ninclude *.conf;\ninclude conf.d/*.conf;\n",
        "location / { lingering_close always; }\nlocation /a/ { }\nlocation /a/ { }\n",
        "# comment only\n\n   \t\n",
        "root \"unterminated;\n", "root www\n", "}\n", "{\n", "location /x/ {\n",
        "location /x/ { location /y/ { } }\n", "header_max_bytes 1k;\nrequest_line_max_bytes 8k;\n",
        "listen 99999;\nlisten *:0;\nlisten 1.2.3:80;\n", "connections_max 0;\n",
        "keepalive_timeout 1h1s;\nlingering_time 18446744073709551615ms;\n",
        "root " + "a" * 5000 + ";\n", "a b c d e f g h i j k l m n o p q r s t u v w x y z;\n",
    ]
    for w in whole:
        write("config", "file-" + short(w.encode()), w.encode())


def seeds_htpasswd():
    with open(os.path.join(REPO, "tests", "integration", "data", "htpasswd"), "rb") as f:
        base = f.read()
    write("htpasswd", "test-file", base)
    sha512 = (b"u6:$6$rounds=1000$saltsaltsalt$M5YXZP2ruRtaqDQINAK43o8XAHZwqG0mc3He6Q/"
              b"Mn.uhHxINcvz3oafMSGelq5bDiiPFtapiNvbgvXzkztJOu1\n")
    hand = [
        base + sha512, b"# users\n\n" + base.replace(b"\n", b"\r\n"), b"  " + base,
        base + base, b"plain:secret\n", b"des:abJnggxhB/yJU\n",
        b"md5:$apr1$abcdefgh$0123456789012345678901\n", b"sha:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n",
        b"s256:$5$salt$0123456789012345678901234567890123456789012\n",
        b"x2x:$2x$05$/39rRI5bZPXN3cg1dhxZPOU0eEbcMETOunE8nvcMMwfwfUSRGg/6e\n",
        b"trunc:$2y$05$/39rRI5bZPXN3cg1dhxZP\n", b":$2y$05$x\n", b"nocolon\n", b"",
        b"#only a comment\n", sha512.replace(b"u6", b"u\x01"), b"Basic dGVzdDp0ZXN0",
        b"0Basic  dGVzdDp0ZXN0", b"0basic dGVzdA==", b"0Basic dGVzdDp0ZXN0", b"0Basic ====",
    ]
    for h in hand:
        write("htpasswd", "hand-" + short(h), h)


def seeds_proxy_protocol():
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    inet = bytes([192, 0, 2, 7, 127, 0, 0, 1, 0xdc, 0x04, 0x01, 0xbb])
    inet6 = bytes(15) + b"\x01" + bytes(15) + b"\x01" + b"\x00\x50\x00\x51"
    tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x00" + b"\x20\x00\x05\x01\x00\x00\x00\x00"

    def v2(ver_cmd, fam, body):
        return sig + bytes([ver_cmd, fam]) + len(body).to_bytes(2, "big") + body

    seeds = {
        "v1-tcp4": b"PROXY TCP4 192.0.2.7 127.0.0.1 56324 443\r\n" + req,
        "v1-tcp6": b"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n" + req,
        "v1-unknown": b"PROXY UNKNOWN\r\n" + req,
        "v1-unknown-fields": b"PROXY UNKNOWN ffff:: ffff:: 1 2\r\n",
        "v1-port-leading-zero": b"PROXY TCP4 1.2.3.4 1.2.3.4 080 2\r\n",
        "v1-wrong-family": b"PROXY TCP4 ::1 ::1 1 2\r\n",
        "v1-no-crlf": b"PROXY UNKNOWN " + b"x" * 120,
        "v1-lf-only": b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n",
        "v2-inet": v2(0x21, 0x11, inet) + req,
        "v2-inet6": v2(0x21, 0x21, inet6) + req,
        "v2-inet-tlvs": v2(0x21, 0x11, inet + tlvs) + req,
        "v2-local": v2(0x20, 0x00, b"") + req,
        "v2-unspec": v2(0x21, 0x00, b""),
        "v2-unix": v2(0x21, 0x31, bytes(216)),
        "v2-family-4": v2(0x21, 0x41, inet),
        "v2-dgram": v2(0x21, 0x12, inet),
        "v2-short-length": v2(0x21, 0x11, inet[:11]),
        "v2-tlv-overrun": v2(0x21, 0x11, inet + b"\x01\x00\x09ab"),
        "v2-length-past-max": sig + b"\x21\x11\xff\xff" + inet,
        "http": req,
    }
    for name, data in seeds.items():
        write("proxy_protocol", name, data)


def seeds_http2():
    import struct
    import h2.config
    import h2.connection

    def client(validate=True):
        c = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=True, validate_outbound_headers=validate,
            normalize_outbound_headers=validate))
        c.initiate_connection()
        c.data_to_send()  # the preface and SETTINGS: the target adds the preface
        c.update_settings({})
        return c

    def frame(ftype, flags, sid, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
            struct.pack(">I", sid) + payload

    base = [(":method", "GET"), (":path", "/index.html"), (":scheme", "https"),
            (":authority", "localhost")]
    cases = {}
    c = client()
    c.send_headers(1, base, end_stream=True)
    c.send_headers(3, [(":method", "HEAD"), (":path", "/a%20b?x=1"), (":scheme", "http"),
                       (":authority", "example.org:8080"), ("range", "bytes=0-9"),
                       ("if-none-match", '"x"'), ("cookie", "a=1"), ("cookie", "b=2")],
                   end_stream=True)
    cases["two-gets"] = c.data_to_send()
    c = client()
    c.send_headers(1, [(":method", "PUT"), (":path", "/upload/x"), (":scheme", "https"),
                       (":authority", "localhost"), ("content-length", "10"),
                       ("authorization", "Basic dGVzdDp0ZXN0")])
    c.send_data(1, b"0123456789", end_stream=True, pad_length=7)
    cases["put-padded"] = c.data_to_send()
    c = client()
    c.send_headers(1, [(":method", "POST"), (":path", "/app/"), (":scheme", "https"),
                       (":authority", "localhost"), ("te", "trailers")])
    c.send_data(1, b"x" * 100)
    c.send_headers(1, [("x-trailer", "1")], end_stream=True)
    cases["post-trailers"] = c.data_to_send()
    c = client()
    c.send_headers(1, [(":method", "OPTIONS"), (":path", "*"), (":scheme", "https"),
                       (":authority", "localhost")], end_stream=True)
    c.reset_stream(1)
    cases["options-reset"] = c.data_to_send()
    bad = {
        "upper": base + [("X-Upper", "1")], "connection": base + [("connection", "close")],
        "te-gzip": base + [("te", "gzip")], "no-path": base[:1] + base[2:],
        "pseudo-after": base[:2] + [("accept", "*/*")] + base[2:],
        "no-slash": [(":method", "GET"), (":path", "x"), (":scheme", "http"),
                     (":authority", "a")],
        "connect": [(":method", "CONNECT"), (":authority", "a:443")],
        "host-differs": base + [("host", "other")], "big": base + [("x-big", "v" * 5000)],
    }
    for name, hdrs in bad.items():
        c = client(validate=False)
        c.send_headers(1, hdrs, end_stream=True)
        cases["bad-" + name] = c.data_to_send()
    c = client()
    c.send_headers(1, base, end_stream=True)
    whole = c.data_to_send()
    head = whole[:whole.index(b"\x01\x05\x00\x00\x00\x01") - 3]  # frames before HEADERS
    block = b"\x82\x84\x87\x41\x09localhost"
    cases["continuation"] = head + frame(0x1, 0x1, 1, block[:3]) + frame(0x9, 0x0, 1, block[3:6]) \
        + frame(0x9, 0x4, 1, block[6:])
    cases["continuation-flood"] = head + frame(0x1, 0x1, 1, block) + b"".join(
        frame(0x9, 0x0, 1, b"\x00\x03x-a\x01b") for _ in range(20))
    cases["pings"] = head + b"".join(frame(0x6, 0, 0, b"%08d" % i) for i in range(10))
    for name, data in cases.items():
        write("http2", name, data)


def main():
    seeds_http2()
    seeds_http1_chunked_range()
    seeds_config()
    seeds_htpasswd()
    seeds_proxy_protocol()
    for t in sorted(os.listdir(os.path.join(HERE, "corpus"))):
        print("%s: %d files" % (t, len(os.listdir(os.path.join(HERE, "corpus", t)))))


if __name__ == "__main__":
    main()
