#!/bin/sh
# bench/upload_stall.sh — does an upload stall the other connections of its
# worker? A one-worker lingerd; a client GETs a small file every 5 ms on one
# kept-alive connection, first with nothing else going on (idle), then while
# UPLOADS concurrent PUTs of SIZE_MIB MiB run (curl -T, ROUNDS rounds, each
# file a new name, `sync` before each round). Prints GET latency p50, p99 and
# max for both phases (targets during the uploads: p99 <= 2 ms, max <= 10 ms).
#
#   bench/upload_stall.sh [LINGERD_BIN] [ROUNDS] [UPLOADS] [SIZE_MIB]
#   (defaults: build/release/lingerd 3 4 100; TMPDIR picks where files live)
#   Run it under `flock /tmp/lingerd-bench.lock` on a shared machine;
#   UPLOAD_CONF adds main-level directives (as in bench/upload.sh).
#
# The latency is the client's: from sending the request to the last byte of
# the response (a Python client, so tens of microseconds are its own). On a
# machine with two cores the curls, the kernel and lingerd share them, so
# some of the "during" latency is CPU time the GET waits for, not the loop.
# The server is stopped by its own PID (never by name).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
LINGERD=${1:-$REPO/build/release/lingerd}
ROUNDS=${2:-3}
UPLOADS=${3:-4}
SIZE_MIB=${4:-100}

D=$(mktemp -d "${TMPDIR:-/tmp}/lingerd-stall-bench.XXXXXX")
LPID=
cleanup() {
    [ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$D/www/upload"
printf 'small file\n' > "$D/www/small.txt"
head -c $((SIZE_MIB * 1048576)) /dev/urandom > "$D/body.bin"
{
    echo "listen 127.0.0.1:$PORT;"
    echo "root $D/www;"
    echo "workers 1;"
    # the small file from the cache would hide nothing: read it each time
    echo "file_cache_entries 0;"
    # one connection for the whole run (a GET every 5 ms passes the default 1000)
    echo "keepalive_requests 1000000000;"
    if [ "$(id -u)" = 0 ]; then echo "run_as_root on;"; fi
    [ -z "${UPLOAD_CONF:-}" ] || echo "$UPLOAD_CONF"
    echo "location /upload/ { methods GET HEAD PUT; body_max_bytes $((SIZE_MIB * 2))m; }"
} > "$D/lingerd.conf"
"$LINGERD" -c "$D/lingerd.conf" > "$D/log" 2>&1 &
LPID=$!
i=0
while ! curl -s -o /dev/null "http://127.0.0.1:$PORT/small.txt"; do
    kill -0 "$LPID" 2>/dev/null || { cat "$D/log" >&2; exit 1; }
    i=$((i + 1)); [ $i -lt 200 ] || { echo "lingerd did not start" >&2; exit 1; }
    sleep 0.05
done

echo "# files in $D ($(findmnt -n -o FSTYPE -T "$D") on $(findmnt -n -o SOURCE -T "$D"))"
echo "# lingerd $LINGERD (pid $LPID), workers 1; $ROUNDS rounds of $UPLOADS x $SIZE_MIB MiB PUT (curl -T)"

# The GET client: runs until the file STOP exists (at most 600 s), one GET
# every 5 ms, and writes one latency in microseconds per line.
cat > "$D/getter.py" <<'EOF'
import os, socket, sys, time
port, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
req = b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
lat = []
deadline = time.monotonic() + 600
nxt = time.monotonic()
while not os.path.exists(stop) and time.monotonic() < deadline:
    t0 = time.monotonic()
    s.sendall(req)
    buf = b""
    while True:
        got = s.recv(65536)
        if not got:
            sys.exit("getter: the server closed the connection")
        buf += got
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if sep:
            n = int([l.split(b":")[1] for l in head.split(b"\r\n")
                     if l.lower().startswith(b"content-length:")][0])
            if len(rest) >= n:
                break
    lat.append(int((time.monotonic() - t0) * 1e6))
    nxt += 0.005
    time.sleep(max(0.0, nxt - time.monotonic()))
with open(out, "w") as f:
    f.write("\n".join(map(str, lat)) + "\n")
EOF

stats() { # FILE NAME
    sort -n "$1" | awk -v name="$2" '{ v[NR] = $1 } END {
        p50 = v[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]
        p99 = v[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1]
        printf "%-8s GETs %5d  p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms\n", name, NR,
            p50 / 1000, p99 / 1000, v[NR] / 1000 }'
}

# idle: 2 s of GETs
python3 "$D/getter.py" "$PORT" "$D/idle.lat" "$D/stop-idle" &
GP=$!
sleep 2
touch "$D/stop-idle"
wait $GP

# during: the GETs run while each round's uploads do
python3 "$D/getter.py" "$PORT" "$D/busy.lat" "$D/stop-busy" &
GP=$!
sleep 0.2
r=1
while [ $r -le "$ROUNDS" ]; do
    rm -f "$D"/www/upload/*.bin
    sync
    u=1
    PIDS=
    while [ $u -le "$UPLOADS" ]; do
        curl -sS -o /dev/null -w "round $r upload $u: %{http_code} %{speed_upload} B/s\n" \
            -T "$D/body.bin" "http://127.0.0.1:$PORT/upload/f$u.bin" > "$D/curl.$r.$u" &
        PIDS="$PIDS $!"
        u=$((u + 1))
    done
    for p in $PIDS; do wait "$p"; done
    cat "$D"/curl.$r.*
    r=$((r + 1))
done
touch "$D/stop-busy"
wait $GP

stats "$D/idle.lat" idle
stats "$D/busy.lat" uploads
grep -c 'WARN\|ERROR' "$D/log" | sed 's/^/# warnings or errors in the log: /'
