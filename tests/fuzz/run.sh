#!/bin/sh
# Runs the libFuzzer targets (docs/testing.md, "Fuzzing"):
#
#   tests/fuzz/run.sh [--time N] [--build DIR] [--keep] [-j JOBS] [TARGET...]
#
# Configures DIR (default build-fuzz: CC=clang, -Dfuzz=true, ASan+UBSan)
# if it is not yet, builds the targets, and runs each one in turn, one
# process on one core, for N seconds (default 60) from its checked-in
# corpus tests/fuzz/corpus/TARGET (read only: what it finds goes to
# DIR/fuzz-work/TARGET/corpus, emptied first unless --keep). Prints per
# JOBS targets at a time (default 1; each is one process on one core, so
# -j 2 on 2 cores halves the wall time and not the budget). Prints per
# target the executions, executions per second, coverage (libFuzzer's
# cov: edges and ft: features), corpus size and findings; a finding is
# saved in DIR/fuzz-work/TARGET/artifacts/ with the report in log.txt.
# Exit status: 0 when no target found anything, 1 otherwise, 2 on a usage
# or build error. TARGET is one of: qmp qmp-machine devices cli props
# scenario (default: all).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
time=60
build=$src/build-fuzz
keep=0
jobs=1
all="qmp qmp-machine devices cli props scenario"

while [ $# -gt 0 ]; do
    case $1 in
    --time) time=$2; shift 2 ;;
    --time=*) time=${1#--time=}; shift ;;
    --build) build=$2; shift 2 ;;
    --build=*) build=${1#--build=}; shift ;;
    --keep) keep=1; shift ;;
    -j) jobs=$2; shift 2 ;;
    -j*) jobs=${1#-j}; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
targets=${*:-$all}
for t in $targets; do
    case " $all " in
    *" $t "*) ;;
    *) echo "run.sh: unknown target '$t' (one of: $all)" >&2; exit 2 ;;
    esac
done
case $build in /*) ;; *) build=$(pwd)/$build ;; esac

if [ ! -f "$build/build.ninja" ]; then
    echo "run.sh: configuring $build (clang, -Dfuzz=true, ASan+UBSan)"
    CC=${CC:-clang} meson setup "$build" "$src" -Dfuzz=true \
        -Db_sanitize=address,undefined >"$build.setup.log" 2>&1 || {
        cat "$build.setup.log" >&2
        exit 2
    }
    rm -f "$build.setup.log"
fi
ninja_targets=""
for t in $targets; do
    ninja_targets="$ninja_targets tests/fuzz/fuzz-$t"
done
# shellcheck disable=SC2086
ninja -C "$build" $ninja_targets >"$build/fuzz-build.log" 2>&1 || {
    tail -40 "$build/fuzz-build.log" >&2
    echo "run.sh: build failed (is $build configured with -Dfuzz=true?)" >&2
    exit 2
}

# A UBSan report is a finding, not a warning; leaks are checked per input.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

case $jobs in ''|*[!0-9]*|0) echo "run.sh: -j takes a positive number" >&2; exit 2 ;; esac

# One target's run; its summary goes to $work/summary.txt, and the status
# is 1 when it found something.
fuzz_one() {  # target
    local t=$1 work=$build/fuzz-work/$1 dict="" last cov ft corp findings
    [ $keep = 1 ] || rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
    # The machine-backed targets write files (mem-path, pmemsave) into a
    # scratch directory of their own; the working directory is $work.
    # shellcheck disable=SC2086
    (cd "$work" && "$build/tests/fuzz/fuzz-$t" -max_total_time="$time" \
        -print_final_stats=1 -timeout=30 -rss_limit_mb=2560 \
        -artifact_prefix="$work/artifacts/" $dict \
        "$work/corpus" "$src/tests/fuzz/corpus/$t") >"$work/log.txt" 2>&1 ||
        true
    stat() {
        sed -n "s/^stat::$1: *//p" "$work/log.txt" | tail -1
    }
    last=$(grep -E '^#[0-9]+' "$work/log.txt" | tail -1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
    findings=$(ls "$work/artifacts" | wc -l)
    {
        printf '%-12s %4ss  %9s execs  %6s/s  cov %-5s ft %-6s corpus %-5s findings %s\n' \
            "$t" "$time" "$(stat number_of_executed_units)" \
            "$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" \
            "${corp:-?}" "$findings"
        if [ "$findings" -gt 0 ] || ! grep -q '^Done ' "$work/log.txt"; then
            grep -E 'invariant|ERROR: |SUMMARY|runtime error|Test unit written' \
                "$work/log.txt" | head -10 | sed 's/^/    /'
            echo "    log: $work/log.txt"
        fi
    } >"$work/summary.txt"
    [ "$findings" = 0 ] && grep -q '^Done ' "$work/log.txt"
}

found=0
set -- $targets
while [ $# -gt 0 ]; do
    batch=""
    while [ $# -gt 0 ] && [ "$(echo $batch | wc -w)" -lt "$jobs" ]; do
        batch="$batch $1"; shift
    done
    pids=""
    for t in $batch; do
        fuzz_one "$t" &
        pids="$pids $!"
    done
    for p in $pids; do wait "$p" || found=1; done
    for t in $batch; do cat "$build/fuzz-work/$t/summary.txt"; done
done
exit $found
