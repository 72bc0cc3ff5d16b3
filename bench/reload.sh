#!/bin/bash
# bench/reload.sh [RELOADS] — requests lost to reloads, lingerd beside nginx.
#
# For each server in turn: wrk -t1 -c20 -d14s keep-alive GETs of a 1 KiB
# file while the master gets SIGHUP once a second, RELOADS times (10). wrk
# never retries: its "Socket errors: read N" counts connections closed with
# a request unanswered, "Non-2xx" the wrong answers. Both servers run a
# master with one worker and their default keep-alive timeouts. Also prints
# how long lingerd's old workers lived after their SIGHUP (the drain's cost).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
reloads=${1:-10}
bin=${LINGERD:-$here/build/release/lingerd}
[ -x "$bin" ] || make -C "$here" build/release/lingerd >/dev/null
command -v nginx >/dev/null && command -v wrk >/dev/null || {
    echo "needs nginx and wrk (apt-get install nginx-light wrk)" >&2; exit 1; }
d=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$d"; }
trap cleanup EXIT
mkdir -p "$d/www"
chmod 755 "$d" "$d/www"  # nginx's workers run as another user
head -c 1024 /dev/urandom > "$d/www/1k.bin"; chmod 644 "$d/www/1k.bin"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
root_opt=$([ "$(id -u)" = 0 ] && echo "run_as_root on;" || true)

# run_load NAME MASTER_PID PORT: wrk for the whole run, SIGHUP once a second.
run_load() {
    local name=$1 master=$2 p=$3
    taskset -c 0 wrk -t1 -c20 -d14s "http://127.0.0.1:$p/1k.bin" > "$d/$name.wrk" &
    local wrk_pid=$!
    sleep 2
    for _ in $(seq "$reloads"); do
        kill -HUP "$master"
        sleep 1
    done
    wait "$wrk_pid"
    local errs non2xx
    errs=$(grep -o 'Socket errors:.*' "$d/$name.wrk" || echo "Socket errors: none")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$d/$name.wrk"); non2xx=${non2xx:-0}
    printf '%-8s %-60s non-2xx %s  (%s)\n' "$name" "$errs" "$non2xx" \
        "$(awk '/requests in/ {print $1, "requests"}' "$d/$name.wrk")"
}

# lingerd: master + 1 worker, defaults otherwise.
lp=$(port)
printf 'listen 127.0.0.1:%s backlog=4096;\nroot %s/www;\nworkers 1;\n%s\naccess_log off;\nerror_log %s/lingerd.log;\nlog_level info;\n' \
    "$lp" "$d" "$root_opt" "$d" > "$d/lingerd.conf"
taskset -c 1 "$bin" -c "$d/lingerd.conf" 2>>"$d/lingerd.log" &
lm=$!; pids+=("$lm"); sleep 0.5

# nginx: master + 1 worker, its defaults (keepalive_timeout 75s).
np=$(port); mkdir -p "$d/nginx"
cat > "$d/nginx/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log $d/nginx/error.log; pid $d/nginx/nginx.pid;
events { worker_connections 4096; }
http { access_log off; sendfile on; server { listen 127.0.0.1:$np backlog=4096; root $d/www; } }
CONF
taskset -c 1 nginx -p "$d/nginx" -c "$d/nginx/nginx.conf" &
nm=$!; pids+=("$nm"); sleep 0.5

echo "wrk -t1 -c20 -d14s, SIGHUP once a second x$reloads (one worker each)"
run_load lingerd "$lm" "$lp"
run_load nginx "$nm" "$np"

# How long each retired lingerd worker lived after its SIGHUP, as the master
# logs it ("worker N drained in M ms").
grep -o 'drained in [0-9]* ms' "$d/lingerd.log" | awk '{ms[NR]=$3; s+=$3; if ($3>m) m=$3}
    END { if (NR) printf "lingerd old workers: %d drained, mean %.0f ms, longest %d ms after SIGHUP\n", NR, s/NR, m }'
