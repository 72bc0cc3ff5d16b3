#!/bin/sh
# Run every test of `make test` and end with one line: "total: N passed, M failed".
#   unit tests (cmocka), release and ASan+UBSan builds;
#   black-box tests (pytest, over loopback) against the release server and,
#   at the same time, against the ASan+UBSan server. The conformance corpus
#   runs inside pytest.
#   fuzz regression: every fuzz corpus file through its target, and the
#   parser-vs-server differential (tests/fuzz/regress.sh).
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

add() { passed=$((passed + $1)); failed=$((failed + $2)); }

run_units() { # run_units FLAVOUR
    for t in build/$1/tests/unit/test_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        out="$log/$1-$name.out"
        LINGERD_SOURCE_DIR=. "$t" >"$out" 2>&1
        rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
        p=${p:-0}; f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed or sanitizer report
        add "$p" "$f"
        if [ "$f" -ne 0 ]; then echo "FAILED: $1 $name"; tail -40 "$out"; fi
        echo "unit ($1) $name: $p passed, $f failed"
    done
}

start_pytest() { # start_pytest FLAVOUR [PYTEST ARGS...]: in the background
    flavour=$1
    shift
    (
        LINGERD_BIN=build/$flavour/lingerd "$PYTHON" -m pytest -q -p no:cacheprovider "$@" \
            tests/integration >"$log/pytest-$flavour.out" 2>&1
        echo $? >"$log/pytest-$flavour.rc"
    ) &
}

collect_pytest() { # collect_pytest FLAVOUR: after wait
    flavour=$1
    out="$log/pytest-$flavour.out"
    rc=$(cat "$log/pytest-$flavour.rc" 2>/dev/null || echo 1)
    tail_line=$(grep -E '^[=]* ?[0-9]+ (passed|failed)' "$out" | tail -1)
    p=$(echo "$tail_line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) passed.*/\1/p;s/^\([0-9][0-9]*\) passed.*/\1/p' | head -1)
    f=$(echo "$tail_line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) failed.*/\1/p;s/^\([0-9][0-9]*\) failed.*/\1/p' | head -1)
    e=$(echo "$tail_line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) error.*/\1/p' | head -1)
    p=${p:-0}; f=${f:-0}; e=${e:-0}
    f=$((f + e))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    add "$p" "$f"
    if [ "$f" -ne 0 ]; then grep -E '^(FAILED|ERROR)' "$out" | head -40; tail -60 "$out"; fi
    echo "integration ($flavour): $p passed, $f failed  [$tail_line]"
}

run_fuzz() { # the fuzz corpora through every target, and the differential
    out="$log/fuzz.out"
    PYTHON="$PYTHON" sh tests/fuzz/regress.sh >"$out" 2>&1
    rc=$?
    p=$(sed -n 's/^fuzz-regress: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out")
    f=$(sed -n 's/^fuzz-regress: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out")
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    add "$p" "$f"
    grep '^fuzz-regress ' "$out"
    if [ "$f" -ne 0 ]; then tail -40 "$out"; fi
}

run_units release
run_units asan
# The two black-box passes mostly wait on the network and on deadlines, not
# on the CPU: run side by side (each test picks its own free ports and
# temporary directories), with the fuzz regression beside them.
start_pytest release
# Tests marked release_only (a browser's view of a page, reproductions of a
# naive behaviour) check nothing more under the sanitizers; the sanitizer run
# leaves them out so make test stays within its time.
start_pytest asan -m "not release_only"
run_fuzz
wait
collect_pytest release
collect_pytest asan

echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
