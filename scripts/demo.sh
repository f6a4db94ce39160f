#!/bin/sh
# The main job: boot the bundled hotmem-guest and talk to it on its console.
# (Memory hot-plug joins this demo when the monitor lands; see README.)
set -eu
cd "$(dirname "$0")/.."
{
    sleep 1
    echo mem
    echo ping
    echo poweroff
} | ./build/hotmem -m 512M,slots=4,maxmem=8G -smp 2 -name demo || status=$?
echo "demo: hotmem exited with status ${status:-0}"
exit "${status:-0}"
