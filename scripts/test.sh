#!/bin/bash
# Runs hotmem's tests where they can run (docs/testing.md): every test on
# every kind of machine, nothing skipped for want of a fast /dev/kvm.
#
#   scripts/test.sh                 # the whole suite (README, .ci/run)
#   scripts/test.sh TEST...         # meson test arguments, in the place
#                                   # the KVM tests run (see below)
#
# Where /dev/kvm runs guest kernel code at hardware speed, everything runs
# here. Where it is emulated (kvm_pvm) the tests run here except suite
# ring0 (a booted Linux), and suite linux runs inside the nested KVM host
# (tests/rig/run), where guest ring 0 runs fast enough for Linux; the
# hotmem-guest suites (kvm, scenario) ran against this machine's KVM and
# are not run twice. Where there is no /dev/kvm, suites unit and acpi run
# here and the rest inside the nested host. Suite rig (the nested host's
# own test) runs here wherever the nested host is used. HOTMEM_TEST_WHERE=
# here|rig forces one place for everything.
#
# Then the unit and end-to-end suites run again from a second build,
# build-san, made with AddressSanitizer (leak detection on) and
# UndefinedBehaviorSanitizer, in the same places; every process of those
# runs, hotmem's included, writes its reports to build-san/sanitizer-logs,
# and a single report fails the run (--no-sanitize leaves this out).
#
# Under CI (or --fuzz) every libFuzzer target then runs for
# HOTMEM_FUZZ_TIME seconds (15) from its corpus (tests/fuzz/run.sh, clang,
# ASan+UBSan), one per core at a time; a finding fails the run. Suite fuzz (every target replaying
# its corpus and crash reproducers) runs with unit everywhere.
#
# With --bench it then runs bench/linux-hotplug where the Linux tests ran
# (benchmarks are not tests: CI leaves it out). Each part prints how long
# it took. It prints one closing line, "tests: N passed, N failed,
# N skipped"; under CI, or with --no-skips, a skipped test fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."

bench=
noskips=${CI:+1}
fuzz=${CI:+1}
sanitize=1
args=()
for a in "$@"; do
    case $a in
        --bench) bench=1 ;;
        --no-sanitize) sanitize=0 ;;
        --fuzz) fuzz=1 ;;
        --no-skips) noskips=1 ;;
        *) args+=("$a") ;;
    esac
done

# The nested host sometimes stalls (docs/testing.md): up to three boots.
rig_tries=${HOTMEM_RIG_TRIES:-3}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed_runs=0
build=build     # the build the meson runs use (build-san for the sanitizers)

# meson test, here or in the nested host; its output also kept for the tally.
run_tests() {  # here|rig name meson-test-args...
    local where=$1 name=$2; shift 2
    local cmd=(meson test -C "$build" --print-errorlogs "$@") t0=$SECONDS
    echo "== $name: ${cmd[*]}$([ "$where" = rig ] && echo ' (in the nested KVM host)')"
    if [ "$where" = rig ]; then
        cmd=(tests/rig/run --tries "$rig_tries" ${rig_quiet:+--quiet-limit "$rig_quiet"}
             -- "${cmd[@]}" --no-rebuild --logbase "rig-$name")
    fi
    "${cmd[@]}" 2>&1 | tee "$logs/$name.log"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" != 0 ] && [ "$where" = rig ] && rerun_in_rig "$name"; then
        rc=0
    fi
    [ "$rc" = 0 ] || failed_runs=$((failed_runs + 1))
    # A run that died before meson's summary still counts as a failure.
    grep -q '^Ok:' "$logs/$name.log" || echo "Fail: 1" >>"$logs/$name.log"
    echo "== $name took $((SECONDS - t0)) s"
}

# The tests that failed in a meson run's log ("N/M hotmem:suite / name ...").
failed_tests() {  # log
    sed -n '/^Summary of Failures:/,/^Ok:/p' "$1" |
        sed -n 's|^ *[0-9][0-9]*/[0-9][0-9]* [^ ]* / \([^ ]*\) .*|\1|p' |
        sort -u
}

# The nested host is unstable (docs/testing.md): tests that failed inside it
# run again in a fresh boot, one at a time (a quiet nested host), up to
# $HOTMEM_RIG_RERUNS (4) times, each time the ones still failing. Passing
# then, they count as passed and are named; failing every time, they fail.
# Nothing run here is retried.
rerun_in_rig() {  # name
    local name=$1 tests first n round=1 rc=1
    tests=$(failed_tests "$logs/$name.log")
    [ -n "$tests" ] || return 1
    first=$tests
    n=$(echo "$tests" | wc -l)
    while [ "$round" -le "${HOTMEM_RIG_RERUNS:-4}" ]; do
        echo "== $(echo "$tests" | wc -l) test(s) failed inside the nested host; again in a fresh boot, one at a time (rerun $round): $(echo $tests)"
        # shellcheck disable=SC2086
        tests/rig/run --tries "$rig_tries" ${rig_quiet:+--quiet-limit "$rig_quiet"} \
            -- meson test -C "$build" --no-rebuild --num-processes 1 \
            --print-errorlogs --logbase "rig-$name-rerun$round" $tests 2>&1 |
            tee "$logs/$name.rerun$round"
        rc=${PIPESTATUS[0]}
        [ "$rc" = 0 ] && break
        # Only those that failed again go round once more; none named (the
        # run died before meson's summary) means all of them.
        tests=$(failed_tests "$logs/$name.rerun$round" | grep -xF "$tests" ||
                echo "$tests")
        round=$((round + 1))
    done
    [ "$rc" = 0 ] || return 1
    # The first run's failures passed: count them as passed, and say so.
    awk -v n="$n" '/^Ok:/ { $2 += n } /^Fail:/ { $2 -= n } { print }' \
        "$logs/$name.log" >"$logs/$name.tmp" && mv "$logs/$name.tmp" "$logs/$name.log"
    echo "$(echo $first)" >>"$logs/reruns"
    return 0
}

probe=$(HOTMEM_BIN=build/src/hotmem build/tests/kvm-probe)
kind=$?
echo "== /dev/kvm: $probe"
case ${HOTMEM_TEST_WHERE:-} in
    here) kind=0 ;;
    rig) kind=2 ;;
    "") ;;
    *) echo "HOTMEM_TEST_WHERE must be here or rig, not $HOTMEM_TEST_WHERE" >&2; exit 2 ;;
esac

linux_where=here
if [ ${#args[@]} -gt 0 ]; then
    [ "$kind" = 0 ] || linux_where=rig
    run_tests "$linux_where" selected "${args[@]}"
else
    case $kind in
        0|3) run_tests here all --no-suite rig ;;
        1)  run_tests here here --no-suite ring0
            linux_where=rig
            run_tests rig rig --suite linux --no-suite slow
            # meson shows nothing of a test until it ends, and a soak, a
            # Linux migration or a console storm runs for minutes: the
            # watchdog must wait longer for these (suite slow).
            # One at a time: two Linux guests of 2 vCPUs each on the nested
            # host's 2 emulated CPUs stall each other (RCU stalls, lost
            # deadlines) and fail more often than they save time.
            # migrate-cpr too: its case with the old process alive runs
            # only on a real KVM (test-migrate-cpr.c).
            rig_quiet=900 run_tests rig rig-slow --num-processes 1 soak-linux \
                linux-migrate linux-console migrate-cpr ;;
        *)  run_tests here here --suite unit --suite acpi --suite fuzz --suite rig
            linux_where=rig
            run_tests rig rig --suite kvm --suite kvm-heavy --suite scenario \
                --suite linux --no-suite slow
            rig_quiet=900 run_tests rig rig-slow --num-processes 1 --suite slow ;;
    esac
fi

# The same suites under ASan+UBSan, where they ran above (suite rig is the
# nested host itself, ring0 only where Linux runs at hardware speed), but
# the soak (suite slow).
if [ "$sanitize" = 1 ] && [ ${#args[@]} -eq 0 ]; then
    echo "== build-san: AddressSanitizer (leaks too) + UndefinedBehaviorSanitizer"
    if { [ -d build-san ] || meson setup build-san -Db_sanitize=address,undefined \
             -Db_lundef=false >/dev/null; } && ninja -C build-san >/dev/null; then
        san_logs=$PWD/build-san/sanitizer-logs
        rm -rf "$san_logs" && mkdir -p "$san_logs"
        export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:log_path=$san_logs/asan"
        export UBSAN_OPTIONS="print_stacktrace=1:log_path=$san_logs/ubsan"
        build=build-san
        case $kind in
            0|3) run_tests here san --no-suite rig --no-suite slow ;;
            1)  run_tests here san --no-suite ring0 --no-suite rig \
                    --no-suite slow ;;
            *)  run_tests here san --suite unit --suite acpi --suite fuzz
                run_tests rig san-rig --suite kvm --suite kvm-heavy \
                    --suite scenario --suite linux --no-suite slow ;;
        esac
        build=build
        unset ASAN_OPTIONS UBSAN_OPTIONS
        reports=$(find "$san_logs" -type f | wc -l)
        if [ "$reports" -gt 0 ]; then
            echo "== sanitizer reports: $reports (build-san/sanitizer-logs):"
            find "$san_logs" -type f | head -n 20 | while read -r f; do
                echo "--- $f"; head -n 40 "$f"
            done
            failed_runs=$((failed_runs + 1))
        fi
        echo "== sanitizer reports: $reports"
    else
        echo "== build-san: the sanitizer build failed"
        failed_runs=$((failed_runs + 1))
    fi
fi

if [ -n "$fuzz" ] && [ ${#args[@]} -eq 0 ]; then
    echo "== fuzzing: every target for ${HOTMEM_FUZZ_TIME:-15} s (tests/fuzz/run.sh)"
    t0=$SECONDS
    if tests/fuzz/run.sh -j "$(nproc)" --time "${HOTMEM_FUZZ_TIME:-15}" 2>&1 | tee "$logs/fuzz.out"; then
        echo "Ok: 1" >"$logs/fuzz.log"
    else
        echo "Fail: 1" >"$logs/fuzz.log"
        failed_runs=$((failed_runs + 1))
    fi
    echo "== fuzzing took $((SECONDS - t0)) s (the build included)"
fi

if [ -n "$bench" ]; then
    echo "== bench/linux-hotplug$([ "$linux_where" = rig ] && echo ' (in the nested KVM host: times are emulated, compare ratios only)')"
    cmd=(meson test -C build --benchmark --verbose linux-hotplug)
    [ "$linux_where" = here ] ||
        cmd=(tests/rig/run --tries "$rig_tries" -- "${cmd[@]}" --no-rebuild
             --logbase rig-bench)
    "${cmd[@]}" || failed_runs=$((failed_runs + 1))
fi

# meson's summary lines ("Ok:  35"), added up over the runs.
sum() { sed -n "s/^$1: *\([0-9][0-9]*\) *$/\1/p" "$logs"/*.log | awk '{ s += $1 } END { print s + 0 }'; }
ok=$(sum Ok); skip=$(sum Skipped)
fail=$(( $(sum Fail) + $(sum Timeout) + $(sum 'Unexpected Pass') ))
if [ "$skip" -gt 0 ]; then
    echo "== skipped:"
    grep -h ' SKIP ' "$logs"/*.log | sed 's/^/   /'
    if [ -n "$noskips" ]; then
        echo "== a skipped test is a failure here (CI or --no-skips): it proves nothing"
        failed_runs=$((failed_runs + 1))
    fi
fi
if [ -s "$logs/reruns" ]; then
    echo "== failed once inside the nested host, passed in a fresh boot: $(cat "$logs/reruns" | tr '\n' ' ')"
fi
if grep -q '^rig: retrying' "$logs"/*; then
    echo "== the nested KVM host hung or died and was retried: its kernel log is in build/meson-logs/rig-kernel-*.log"
fi
echo "== scripts/test.sh took $SECONDS s"
echo "tests: $ok passed, $fail failed, $skip skipped"
[ "$failed_runs" = 0 ] && [ "$fail" = 0 ]
