#!/bin/sh
# make fuzz-regress (and make test): every file of tests/fuzz/corpus/TARGET
# through build/fuzz-regress/fuzz_TARGET once (ASan+UBSan, no libFuzzer
# needed), then the parser-vs-server differential over the http1 corpus.
# One line per part, then "fuzz-regress: N passed, M failed" (N counts inputs).
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# no arguments: every target that has a corpus
[ "$#" -eq 0 ] && set -- $(ls tests/fuzz/corpus)

count() { # count OUTFILE RC -> adds "N passed, M failed" of the last such line
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
    p=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
    p=${p:-0}; f=${f:-0}
    if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed: the input is on stderr
    passed=$((passed + p)); failed=$((failed + f))
}

for t in "$@"; do
    out="$log/$t.out"
    if [ ! -d "tests/fuzz/corpus/$t" ]; then
        echo "fuzz-regress $t: no corpus"; failed=$((failed + 1)); continue
    fi
    # one process for the whole corpus: a crash names its input ("running ...")
    find "tests/fuzz/corpus/$t" -type f | sort | \
        xargs "build/fuzz-regress/fuzz_$t" >"$out" 2>"$log/$t.err"
    rc=$?
    count "$out" "$rc"
    if [ "$rc" -ne 0 ]; then
        echo "FAILED: fuzz_$t"; tail -30 "$log/$t.err"
        echo "fuzz-regress $t: crashed (rc $rc)"
    else
        echo "fuzz-regress $(tail -1 "$out")"
    fi
done

out="$log/differential.out"
"$PYTHON" tests/fuzz/differential.py >"$out" 2>&1
rc=$?
count "$out" "$rc"
[ "$rc" -ne 0 ] && tail -40 "$out"
echo "fuzz-regress $(tail -1 "$out")"

echo "fuzz-regress: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
