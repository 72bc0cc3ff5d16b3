#!/bin/bash
# bench/accept.sh [ROUNDS] — workload (b), one request per connection, with
# and without deferred accept, lingerd against nginx in the same accept mode.
#
# h2o turns TCP_DEFER_ACCEPT on by default (strace shows it); nginx has it as
# `listen ... deferred`, lingerd as `defer_accept`. bench/run measures every
# server in its default mode; this script shows the like-for-like pairs.
# Servers on cpu 1, wrk on cpu 0; CPU per request of each worker from
# /proc/PID/stat (utime + stime) over each 3 s slice; slices interleaved.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
bin=${LINGERD:-$here/build/release/lingerd}
[ -x "$bin" ] || make -C "$here" build/release/lingerd >/dev/null
command -v nginx >/dev/null && command -v wrk >/dev/null || {
    echo "needs nginx and wrk (apt-get install nginx-light wrk)" >&2; exit 1; }
d=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT
mkdir -p "$d/www"
head -c 1024 /dev/urandom > "$d/www/1k.bin"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
root_opt=$([ "$(id -u)" = 0 ] && echo "run_as_root on;" || true)

start_lingerd() { # name defer
    local p; p=$(port)
    printf 'listen 127.0.0.1:%s backlog=4096;\nroot %s/www;\nworkers 1;\n%s\naccess_log off;\ndefer_accept %s;\n' \
        "$p" "$d" "$root_opt" "$2" > "$d/$1.conf"
    taskset -c 1 "$bin" -c "$d/$1.conf" 2>"$d/$1.log" &
    local m=$!; pids+=("$m"); sleep 0.5
    servers+=("$1 $(cat /proc/$m/task/$m/children | awk '{print $1}') $p")
}
start_nginx() { # name deferred-or-empty
    local p; p=$(port); mkdir -p "$d/$1"
    cat > "$d/$1/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; error_log $d/$1/error.log; pid $d/$1/nginx.pid;
events { worker_connections 4096; }
http { access_log off; sendfile on; server { listen 127.0.0.1:$p $2 backlog=4096; root $d/www; } }
CONF
    taskset -c 1 nginx -p "$d/$1" -c "$d/$1/nginx.conf" &
    local w=$!; pids+=("$w"); sleep 0.5
    servers+=("$1 $w $p")
}
# Started in this shell (not in $(...)), so the trap stops them by PID.
servers=()
start_lingerd lingerd off
start_nginx nginx ""
start_lingerd lingerd-defer 1s
start_nginx nginx-deferred deferred
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
declare -A sum
for r in $(seq "$rounds"); do
    for s in "${servers[@]}"; do
        read -r name w p <<< "$s"
        c0=$(cpu "$w")
        n=$(taskset -c 0 wrk -t1 -c50 -d3s -H "Connection: close" "http://127.0.0.1:$p/1k.bin" |
            awk '/requests in/ {print $1}')
        c1=$(cpu "$w")
        us=$(python3 -c "print(round(($c1-$c0)*1e6/$(getconf CLK_TCK)/$n,2))")
        printf '%-15s round %d: %7d req %6s us/req\n' "$name" "$r" "$n" "$us"
        sum[$name]="${sum[$name]:-} $us"
    done
done
med() { python3 -c "import statistics,sys; print(statistics.median(map(float,sys.argv[1:])))" $1; }
l=$(med "${sum[lingerd]}"); n=$(med "${sum[nginx]}")
ld=$(med "${sum[lingerd-defer]}"); nd=$(med "${sum[nginx-deferred]}")
echo "median CPU us/req: lingerd $l, nginx $n (x$(python3 -c "print(round($l/$n,2))")); " \
     "deferred: lingerd $ld, nginx $nd (x$(python3 -c "print(round($ld/$nd,2))"))"
