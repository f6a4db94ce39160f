#!/bin/sh
# The main job: boot the bundled hotmem-guest and hot-plug memory into it.
# Runs examples/demo.scn with the hotplug harness, echoing the guest console
# and every QMP message (docs/harness.md explains the format).
#
# Where this machine has no usable /dev/kvm (a cloud VM or laptop VM without
# nested virtualization), the demo runs inside the nested KVM host instead:
# Debian's kernel under QEMU's software emulator, with KVM loaded
# (tests/rig/run, docs/testing.md). HOTMEM_DEMO_RIG=1 asks for it anyway.
set -eu
cd "$(dirname "$0")/.."
demo="./build/harness/hotmem-harness --verbose --vmm ./build/src/hotmem examples/demo.scn"

probe=$(HOTMEM_BIN=build/src/hotmem build/tests/kvm-probe) && kind=0 || kind=$?
why="no usable /dev/kvm here ($probe)"
if [ "${HOTMEM_DEMO_RIG:-}" = 1 ]; then
    why="HOTMEM_DEMO_RIG=1 asks for the nested host (here: $probe)"
    kind=2
fi
case $kind in
    0)  exec $demo ;;
    1)  echo "demo: /dev/kvm here emulates guest kernel code ($probe);" \
             "the bundled guest runs its main loop in ring 3, so it runs here."
        exec $demo ;;
    *)  echo "demo: $why."
        echo "demo: running the demo inside the nested KVM host instead" \
             "(QEMU's emulator; about 10 s more to start, times are emulated)."
        exec tests/rig/run -- $demo ;;
esac
