#!/bin/sh
# The main job: boot the bundled hotmem-guest and hot-plug memory into it.
# Runs examples/demo.scn with the hotplug harness, echoing the guest console
# and every QMP message (docs/harness.md explains the format).
set -eu
cd "$(dirname "$0")/.."
exec ./build/harness/hotmem-harness --verbose --vmm ./build/src/hotmem \
    examples/demo.scn
