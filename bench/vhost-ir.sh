#!/bin/sh
# bench/vhost-ir.sh — instructions per request of workload (a) (GET /1k.bin,
# keep-alive, 50 connections) under callgrind, for one lingerd binary, with
# the benchmark's single site and with three server blocks in front of it
# (the measured site is the third block and not the default: every request
# is a Host lookup that misses two blocks first). Method as bench.py's
# callgrind phase: (Ir of start + warm-up + N requests - Ir of start +
# warm-up) / N, user space, one process (master_process off), every response
# checked by bench/clients.py exact. Deterministic to about 1%: run it on a
# busy machine too.
#
#   bench/vhost-ir.sh [LINGERD] [N]      defaults: build/release/lingerd 20000
#   LAYOUTS="single" bench/vhost-ir.sh OLD_BINARY   (a binary without server blocks)
#
# Run it under flock /tmp/lingerd-bench.lock like every benchmark here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../build/release/lingerd}")
n=${2:-20000}
warm=500
layouts=${LAYOUTS:-"single vhost"}
tmp=$(mktemp -d /tmp/lingerd-vhost-ir.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/www"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"

. "$here/ir-lib.sh"
port=$(free_port)

conf() { # conf LAYOUT -> a configuration file path
    f="$tmp/$1.conf"
    cat >"$f" <<EOC
master_process off;
run_as_root on;
access_log off;
listen 127.0.0.1:$port backlog=4096;
mime_types_file "";
keepalive_requests 1000000;
keepalive_timeout 300s;
root $tmp/www;
EOC
    if [ "$1" = vhost ]; then
        cat >>"$f" <<EOC
server { server_name a.example www.a.example; }
server { server_name *.b.example b.example; }
server { server_name bench 127.0.0.1 localhost; }
EOC
    fi
    echo "$f"
}

for layout in $layouts; do
    c=$(conf "$layout")
    base=$(ir_of_run "$c" /1k.bin 0)
    total=$(ir_of_run "$c" /1k.bin "$n")
    echo "$layout $(basename "$bin") n=$n Ir/req $(( (total - base) / n ))"
done
