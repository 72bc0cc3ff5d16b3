#!/bin/sh
# make fuzz: run each libFuzzer target for FUZZ_SECONDS over a working corpus
# (build/fuzz/corpus/TARGET, seeded from tests/fuzz/corpus/TARGET). Crashing
# inputs land in build/fuzz/artifacts/; copy one into tests/fuzz/corpus/TARGET/
# (named "crash-...") once fixed, so `make fuzz-regress` keeps it fixed.
# Prints per target: executions, exec/s, corpus size, and whether it crashed.
set -u
secs=${FUZZ_SECONDS:-60}
status=0
mkdir -p build/fuzz/artifacts
for t in "$@"; do
    work=build/fuzz/corpus/$t
    mkdir -p "$work"
    out=build/fuzz/$t.log
    # -timeout: one input may take at most 10 s (a hang is a finding too);
    # -rss_limit_mb: a leak or runaway allocation is a finding.
    build/fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/$t- \
        "$work" tests/fuzz/corpus/$t >"$out" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out" | tail -1)
    files=$(ls "$work" | wc -l)
    if [ "$rc" -eq 0 ]; then verdict="no crash"; else verdict="CRASH (rc $rc)"; status=1; fi
    echo "fuzz $t: ${execs:-?} executions in ${secs}s (${rate:-?}/s), corpus $files, $verdict"
    if [ "$rc" -ne 0 ]; then
        grep -E 'ERROR|FUZZ_CHECK|runtime error|Test unit written' "$out" | head -10
    fi
done
exit $status
