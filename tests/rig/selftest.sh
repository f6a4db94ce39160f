#!/bin/bash
# The nested KVM host's own test (suite rig, docs/testing.md), in TAP: what
# tests/rig/run promises, checked from outside. Runs where scripts/test.sh
# uses the nested host.
#
#   BUILD=build tests/rig/selftest.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
run=tests/rig/run
# the VM holder of this build (tests/rig/kvm-hold.c)
export HOTMEM_RIG_HOLD=${HOTMEM_RIG_HOLD:-$(cd "$build" && pwd -P)/tests/rig-kvm-hold}
n=0
fails=0

check() {  # description, then the condition as a command
    local what=$1; shift
    n=$((n + 1))
    if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fails=$((fails + 1)); fi
}
has() { grep -qF -- "$2" "$1"; }

echo "1..12"
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# One boot checks most of it: the command's output, error output, status,
# directory, environment, /dev/kvm and its speed, loopback, shares.
RIG_SELFTEST_VAR='a b' $run -- bash -c '
    echo "cwd=$PWD var=$RIG_SELFTEST_VAR rig=$HOTMEM_RIG"
    echo to-stderr >&2
    HOTMEM_BIN='"$build"'/src/hotmem '"$build"'/tests/kvm-probe
    touch '"$build"'/.rig-selftest && echo rw-ok
    grep -qx rig-kvm-hold /proc/[0-9]*/comm && echo hold-ok
    exit 7' >"$out" 2>"$err"
status=$?
check "the command's exit status comes back" [ "$status" = 7 ]
check "stdout comes back, cwd and environment as outside" \
    has "$out" "cwd=$PWD var=a b rig=1"
check "stderr comes back apart from stdout" \
    bash -c "grep -q to-stderr '$err' && ! grep -q to-stderr '$out'"
check "/dev/kvm inside runs guest kernel code fast" has "$out" "fast ring0-mips="
check "one KVM VM is held open inside (rig-kvm-hold)" has "$out" "hold-ok"
check "the checkout is shared read-write" \
    bash -c "grep -q rw-ok '$out' && [ -f '$build/.rig-selftest' ]"
rm -f "$build/.rig-selftest"

# Loopback is up: hotmem's monitor listens on 127.0.0.1 in tests.
$run -- "$build/tests/test-qmp" -p /qmp/listen/tcp -p /qmp/listen/tcp-addresses >"$out" 2>"$err"
check "TCP over loopback works inside (test-qmp /qmp/listen/tcp)" \
    bash -c "[ $? = 0 ] && grep -q '^ok 1 ' '$out' && grep -q '^ok 2 ' '$out'"

# The watchdog: a command silent for longer than --quiet-limit is killed.
start=$SECONDS
$run --quiet-limit 20 --no-retry -- sleep 600 >"$out" 2>"$err"
status=$?
check "a silent command is killed by the watchdog (status 124)" [ "$status" = 124 ]
check "... well before it would have ended" [ $((SECONDS - start)) -lt 120 ]
check "... and the watchdog says so" has "$err" "no output for 20 s"
# A nested host that does not reach its init in time is killed as hung at
# boot, long before the quiet-limit watchdog would act (a 1 s limit: the
# boot takes several seconds).
start=$SECONDS
$run --boot-limit 1 --no-retry -- true >"$out" 2>"$err"
status=$?
check "a boot that stalls is killed (status 124)" [ "$status" = 124 ]
check "... and the boot watchdog says so" \
    has "$err" "did not reach its init within 1 s: it hangs at boot"
[ "$fails" = 0 ] || { echo "# stdout:"; sed 's/^/# /' "$out"; echo "# stderr:"; sed 's/^/# /' "$err"; }
exit 0
