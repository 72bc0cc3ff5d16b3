#!/bin/sh
# bench/upload.sh — upload throughput: a 100 MiB PUT over loopback to lingerd
# (release build) and to nginx (dav_methods PUT), with curl -T, against what
# the file system itself does with `dd ... conv=fdatasync`; RUNS runs each,
# interleaved; prints every run, the medians and two ratios:
#
#   lingerd (durable) / dd conv=fdatasync   the disk's own speed, same file
#                                           system, same run (target >= 0.9)
#   lingerd (upload_fsync off) / nginx      neither fsyncs (target >= 1.0)
#
#   bench/upload.sh [LINGERD_BIN] [RUNS] [SIZE_MIB]
#   (defaults: build/release/lingerd 5 100; TMPDIR picks where files live)
#   Run it under `flock /tmp/lingerd-bench.lock` on a shared machine.
#   UPLOAD_CONF="upload_writeback_bytes 32m;" adds main-level directives to
#   lingerd's configuration (for tuning runs).
#
# Each PUT creates a new file (the previous run's is removed and `sync` is run
# before every upload and every dd, so no run pays for another's writeback).
# No location asks for authentication. lingerd's /upload/ fsyncs the file and
# its directory before it answers, as dd's conv=fdatasync does once at the
# end; /scratch/ has upload_fsync off (a build without the directive skips
# that row), like nginx, which renames its temporary file into place without
# an fsync. curl's speed_upload is bytes / time until the response, so the
# fsync is inside lingerd's number.
#
# Servers are stopped by their own PIDs (never by name).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
LINGERD=${1:-$REPO/build/release/lingerd}
RUNS=${2:-5}
SIZE_MIB=${3:-100}
NGINX=${NGINX:-nginx}

D=$(mktemp -d "${TMPDIR:-/tmp}/lingerd-upload-bench.XXXXXX")
LPID=
NPID=
cleanup() {
    [ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null || true
    [ -n "$NPID" ] && kill "$NPID" 2>/dev/null && wait "$NPID" 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_listening() { # PORT PID NAME LOG
    i=0
    while ! curl -s -o /dev/null "http://127.0.0.1:$1/"; do
        kill -0 "$2" 2>/dev/null || { echo "$3 exited at start:" >&2; cat "$4" >&2; exit 1; }
        i=$((i + 1))
        [ $i -lt 200 ] || { echo "$3 did not start listening" >&2; exit 1; }
        sleep 0.05
    done
}

echo "# files in $D ($(findmnt -n -o FSTYPE -T "$D") on $(findmnt -n -o SOURCE -T "$D"))"
head -c $((SIZE_MIB * 1048576)) /dev/urandom > "$D/body.bin"

# --- lingerd ---
LP=$(free_port)
mkdir -p "$D/lingerd/www/upload" "$D/lingerd/www/scratch"
HAS_OFF=
"$LINGERD" -h 2>&1 | grep -q '^  upload_fsync ' && HAS_OFF=1
{
    echo "listen 127.0.0.1:$LP;"
    echo "root $D/lingerd/www;"
    # Newer builds: one worker, like nginx below; and say so when run as root.
    if "$LINGERD" -h 2>&1 | grep -q '^  workers '; then echo "workers 1;"; fi
    if [ "$(id -u)" = 0 ] && "$LINGERD" -h 2>&1 | grep -q '^  run_as_root '; then
        echo "run_as_root on;"
    fi
    [ -z "${UPLOAD_CONF:-}" ] || echo "$UPLOAD_CONF"
    echo "location /upload/ { methods GET HEAD PUT; body_max_bytes 200m; }"
    if [ -n "$HAS_OFF" ]; then
        echo "location /scratch/ { methods GET HEAD PUT; body_max_bytes 200m; upload_fsync off; }"
    fi
} > "$D/lingerd/lingerd.conf"
# -e debug: the upload's log line gives the time its fsyncs took.
"$LINGERD" -e debug -c "$D/lingerd/lingerd.conf" > "$D/lingerd/log" 2>&1 &
LPID=$!
wait_listening "$LP" "$LPID" lingerd "$D/lingerd/log"

# --- nginx ---
NP=$(free_port)
N=$D/nginx
mkdir -p "$N/www/upload" "$N/tmp" "$N/logs"
cat > "$N/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $N/error.log;
pid $N/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $N/tmp;
    proxy_temp_path $N/tmp;
    fastcgi_temp_path $N/tmp;
    uwsgi_temp_path $N/tmp;
    scgi_temp_path $N/tmp;
    server {
        listen 127.0.0.1:$NP;
        root $N/www;
        location /upload/ {
            dav_methods PUT;
            client_body_temp_path $N/tmp;
            client_max_body_size 200m;
            create_full_put_path on;
        }
    }
}
EOF
"$NGINX" -p "$N" -c "$N/nginx.conf" 2> "$N/stderr.log" &
NPID=$!
wait_listening "$NP" "$NPID" nginx "$N/stderr.log"

# --- runs ---
CMD="curl -sS -o /dev/null -w '%{http_code} %{speed_upload}' -T $D/body.bin URL"
echo "# command: $CMD"
echo "# dd: dd if=/dev/zero of=$D/dd.bin bs=1M count=$SIZE_MIB conv=fdatasync"
echo "# lingerd $LINGERD (pid $LPID) port $LP; nginx $($NGINX -v 2>&1 | sed 's/.*: //') (pid $NPID) port $NP"
echo "run what         status  MB/s"
put() { # NAME PORT URLPATH STORED_FILE RUN
    rm -f "$4"
    sync
    out=$(curl -sS -o /dev/null -w '%{http_code} %{speed_upload}' -T "$D/body.bin" \
        "http://127.0.0.1:$2$3")
    code=${out% *}
    speed=${out#* }
    case $code in 201|204) ;; *) echo "$1: HTTP $code" >&2; exit 1 ;; esac
    cmp -s "$D/body.bin" "$4" || { echo "$1: stored file differs" >&2; exit 1; }
    mbs=$(awk -v s="$speed" 'BEGIN { printf "%.1f", s / 1e6 }')
    echo "$mbs" >> "$D/$1.speeds"
    printf '%-3s %-12s %-7s %s\n' "$5" "$1" "$code" "$mbs"
}
dd_run() { # RUN
    rm -f "$D/dd.bin"
    sync
    # dd's own figure is rounded; take bytes and seconds from its summary.
    line=$(LC_ALL=C dd if=/dev/zero of="$D/dd.bin" bs=1M count="$SIZE_MIB" conv=fdatasync 2>&1 |
        grep copied)
    mbs=$(echo "$line" | awk '{ for (i = 1; i <= NF; i++) if ($i == "s,") t = $(i - 1);
        printf "%.1f", $1 / t / 1e6 }')
    echo "$mbs" >> "$D/dd.speeds"
    printf '%-3s %-12s %-7s %s\n' "$1" "dd-fdatasync" "-" "$mbs"
}
one_round() { # RUN ORDER
    for what in $2; do
        case $what in
        lingerd) put lingerd "$LP" /upload/f.bin "$D/lingerd/www/upload/f.bin" "$1" ;;
        off) [ -z "$HAS_OFF" ] || put lingerd-off "$LP" /scratch/f.bin \
            "$D/lingerd/www/scratch/f.bin" "$1" ;;
        nginx) put nginx "$NP" /upload/f.bin "$N/www/upload/f.bin" "$1" ;;
        dd) dd_run "$1" ;;
        esac
    done
}
i=1
while [ $i -le "$RUNS" ]; do
    # Rotate the order, so no one always runs first after the sync.
    case $((i % 4)) in
    1) one_round $i "lingerd dd off nginx" ;;
    2) one_round $i "dd nginx lingerd off" ;;
    3) one_round $i "off lingerd nginx dd" ;;
    0) one_round $i "nginx off dd lingerd" ;;
    esac
    i=$((i + 1))
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ML=$(median "$D/lingerd.speeds")
MN=$(median "$D/nginx.speeds")
MD=$(median "$D/dd.speeds")
# How much of lingerd's time went to the fsyncs nginx does not do; each line
# says which row it belongs to (the scratch area's fsync is skipped: ~0 ms).
grep -o '/[a-z]*/f\.bin: [0-9]* bytes in [0-9]* ms; fsync [0-9.]* ms, rename and directory fsync [0-9.]* ms' \
    "$D/lingerd/log" |
    sed -e 's|^/upload/f\.bin: |# lingerd log, durable: |' -e 's|^/scratch/f\.bin: |# lingerd log, fsync off: |' || true
echo "# MB = 10^6 bytes; $SIZE_MIB MiB body; medians of $RUNS runs each"
echo "median lingerd (durable) $ML MB/s, dd conv=fdatasync $MD MB/s: lingerd/dd $(ratio "$ML" "$MD") (target >= 0.90)"
if [ -n "$HAS_OFF" ]; then
    MO=$(median "$D/lingerd-off.speeds")
    echo "median lingerd (upload_fsync off) $MO MB/s, nginx $MN MB/s: lingerd-off/nginx $(ratio "$MO" "$MN") (target >= 1.00)"
fi
echo "median lingerd (durable) $ML MB/s, nginx $MN MB/s: lingerd/nginx $(ratio "$ML" "$MN")"
