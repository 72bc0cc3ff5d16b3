# bench/ir-lib.sh — what bench/vhost-ir.sh and bench/proxy-ir.sh share: a free
# loopback port, a bounded wait for a port to open, the checked client load
# (a warm-up, then requests every one of which bench/clients.py exact checks)
# and the instruction count of one lingerd run under callgrind. Sourced, not
# run: the caller sets here, bin, tmp, warm and port first.

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # wait_port PORT: at most 600 tries 0.1 s apart, then fails
    i=0
    until /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),1)" \
            2>/dev/null; do
        i=$((i + 1)); [ $i -lt 600 ] || { echo "port $1 did not open" >&2; cat "$tmp/server.log" >&2; exit 1; }
        sleep 0.1
    done
}

load() { # load PATH REQUESTS: the warm-up, then REQUESTS checked requests
    /usr/bin/python3 "$here/clients.py" exact "$port" "$1" "$warm" 10 keepalive 1 >"$tmp/warm.json"
    if [ "$2" -gt 0 ]; then
        /usr/bin/python3 "$here/clients.py" exact "$port" "$1" "$2" 50 keepalive 1 >"$tmp/run.json"
        grep -q "\"bad_status\": 0, \"short\": 0, \"errors\": 0, \"unfinished\": 0" "$tmp/run.json" ||
            { echo "faults: $(cat "$tmp/run.json")" >&2; exit 1; }
    fi
}

ir_of_run() { # ir_of_run CONF PATH REQUESTS -> total Ir (user space)
    rm -f "$tmp"/cg.out.*
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out.%p" "$bin" -c "$1" \
        >"$tmp/server.log" 2>&1 &
    vpid=$!
    wait_port "$port"
    load "$2" "$3"
    kill -TERM $vpid
    wait $vpid || true
    awk '/^(summary|totals):/ { s += $2; exit } END { print s }' "$tmp"/cg.out.*
}
