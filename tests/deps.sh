#!/bin/sh
# Check what `make test` needs and install what is missing on Debian (as
# root, with apt-get); otherwise name exactly what is missing and fail.
# With --build, only what building lingerd needs (`make run`).
set -u
build_only=false
[ "${1:-}" = "--build" ] && build_only=true
what="make test"
$build_only && what="building lingerd"
missing=""
need() { # need PACKAGE TEST...
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
check() {
    missing=""
    need gcc command -v cc
    need make command -v make
    need libcrypt-dev test -f /usr/include/crypt.h
    need libssl-dev test -f /usr/include/openssl/ssl.h
    need zlib1g-dev test -f /usr/include/zlib.h
    $build_only && return 0
    need libcmocka-dev test -f /usr/include/cmocka.h
    need openssl command -v openssl
    need python3-pytest /usr/bin/python3 -c 'import pytest'
    need curl command -v curl
    need iproute2 command -v ss
    need apache2-utils command -v htpasswd
    # A real balancer in front of lingerd (test_proxy_protocol, test_scaleout).
    # Required, not optional: it is small and in Debian main, so a machine
    # that can install the rest can install it; the tests skip (saying so)
    # only where it truly is not there. /usr/sbin is not on every PATH.
    need haproxy sh -c 'command -v haproxy || test -x /usr/sbin/haproxy'
    need gunicorn command -v gunicorn  # the application server behind the proxy tests
    # HTTP/2: frame-level clients (test_http2) and nghttp/h2load
    need python3-h2 /usr/bin/python3 -c 'import h2'
    need nghttp2-client command -v nghttp
}
# Optional: tests that need these skip, saying why, when they are absent.
# headless Chromium renders /server-status and loads the site over HTTPS,
# trusting the test CA through an NSS database that certutil makes;
# promtool checks /metrics.
optional() {
    wanted=""
    command -v chromium >/dev/null 2>&1 || wanted="$wanted chromium"
    command -v certutil >/dev/null 2>&1 || wanted="$wanted libnss3-tools"
    command -v promtool >/dev/null 2>&1 || wanted="$wanted prometheus"
    [ -z "$wanted" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing (optional):$wanted"
        { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $wanted >/dev/null 2>&1; } ||
            echo "could not install (optional):$wanted; those tests will skip" >&2
    else
        echo "optional, for more tests: apt-get install$wanted" >&2
    fi
}
$build_only || optional
check
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null || {
        echo "apt-get could not install:$missing" >&2; exit 1; }
    check
    [ -z "$missing" ] && exit 0
fi
echo "$what needs these Debian packages:$missing" >&2
echo "install them with: apt-get install$missing" >&2
exit 1
