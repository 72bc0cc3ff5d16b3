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

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

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

ir_of_run() { # ir_of_run CONF REQUESTS -> total Ir
    rm -f "$tmp"/cg.out.*
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out.%p" "$bin" -c "$1" \
        >"$tmp/server.log" 2>&1 &
    vpid=$!
    i=0
    until /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" \
            2>/dev/null; do
        i=$((i + 1)); [ $i -lt 600 ] || { echo "lingerd did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }
        sleep 0.1
    done
    /usr/bin/python3 "$here/clients.py" exact "$port" /1k.bin "$warm" 10 keepalive 1 >"$tmp/warm.json"
    if [ "$2" -gt 0 ]; then
        /usr/bin/python3 "$here/clients.py" exact "$port" /1k.bin "$2" 50 keepalive 1 >"$tmp/run.json"
        grep -q "\"bad_status\": 0, \"short\": 0, \"errors\": 0, \"unfinished\": 0" "$tmp/run.json" ||
            { echo "faults: $(cat "$tmp/run.json")" >&2; exit 1; }
    fi
    kill -TERM $vpid
    wait $vpid || true
    awk '/^(summary|totals):/ { s += $2; exit } END { print s }' "$tmp"/cg.out.*
}

for layout in $layouts; do
    c=$(conf "$layout")
    base=$(ir_of_run "$c" 0)
    total=$(ir_of_run "$c" "$n")
    echo "$layout $(basename "$bin") n=$n Ir/req $(( (total - base) / n ))"
done
