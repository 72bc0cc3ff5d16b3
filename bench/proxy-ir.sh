#!/bin/sh
# bench/proxy-ir.sh — instructions per proxied request of workload (n) (GET
# /px/1k.bin, keep-alive on both sides, 50 client connections, 1 KiB from a
# canned upstream) under callgrind, for one lingerd binary. Method as
# bench/vhost-ir.sh: (Ir of start + warm-up + N requests - Ir of start +
# warm-up) / N, user space, one process (master_process off), every response
# checked by bench/clients.py exact. Deterministic to about 1%, so a change's
# effect shows on a busy machine too. With SYSCALLS=1 it also runs the same
# load under strace -c -f (no callgrind) and prints the system calls per
# request.
#
#   bench/proxy-ir.sh [LINGERD] [N]      defaults: build/release/lingerd 20000
#
# Run it under flock /tmp/lingerd-bench.lock like every benchmark here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../build/release/lingerd}")
n=${2:-20000}
warm=500
tmp=$(mktemp -d /tmp/lingerd-proxy-ir.XXXXXX)
upid=""
cleanup() {
    [ -z "$upid" ] || { kill "$upid" 2>/dev/null; wait "$upid" 2>/dev/null || true; }
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/www"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"
cc -O2 -o "$tmp/canned" "$here/canned.c"

. "$here/ir-lib.sh"
port=$(free_port)
uport=$(free_port)
"$tmp/canned" "$uport" "$tmp/www/1k.bin" "$tmp/www/1k.bin" >"$tmp/canned.log" 2>&1 &
upid=$!
wait_port "$uport"

cat >"$tmp/lingerd.conf" <<EOC
master_process off;
run_as_root on;
access_log off;
listen 127.0.0.1:$port backlog=4096;
mime_types_file "";
keepalive_requests 1000000;
keepalive_timeout 300s;
proxy_keepalive_conns 64;
proxy_keepalive_timeout 300s;
root $tmp/www;
pid_file $tmp/lingerd.pid;
location /px/ { proxy_pass 127.0.0.1:$uport; }
EOC

syscalls_of_run() { # syscalls_of_run REQUESTS -> "name count" lines
    strace -c -f -o "$tmp/strace.out" "$bin" -c "$tmp/lingerd.conf" >"$tmp/server.log" 2>&1 &
    spid=$!
    wait_port "$port"
    load /px/1k.bin "$1"
    kill -TERM "$(cat "$tmp/lingerd.pid")" # lingerd's own PID: strace passes no signal on
    wait $spid || true
    awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $NF, $4 }' "$tmp/strace.out"
}

base=$(ir_of_run "$tmp/lingerd.conf" /px/1k.bin 0)
total=$(ir_of_run "$tmp/lingerd.conf" /px/1k.bin "$n")
echo "proxy $(basename "$bin") n=$n Ir/req $(( (total - base) / n ))"
if [ -n "${SYSCALLS:-}" ]; then
    syscalls_of_run 0 >"$tmp/sys0"
    syscalls_of_run "$n" >"$tmp/sys1"
    awk -v n="$n" 'NR == FNR { b[$1] = $2; next }
        { d = $2 - b[$1]; if (d > n / 100) printf "  %-14s %.2f/req\n", $1, d / n; t += d }
        END { printf "  %-14s %.2f/req\n", "all", t / n }' "$tmp/sys0" "$tmp/sys1"
fi
