#!/bin/sh
# scripts/check-layers.sh on the tree, and on a copy with an include that
# points up (it must fail and name it). TAP.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
echo "1..2"
if out=$("$top/scripts/check-layers.sh" "$top/src" 2>&1); then
    echo "ok 1 - every include in src/ points down"
else
    echo "not ok 1 - includes that point up:"; echo "$out" | sed 's/^/# /'
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$top/src" "$tmp/src"
printf '#include "machine/machine.h"\n' >>"$tmp/src/acpi/aml.c"
out=$("$top/scripts/check-layers.sh" "$tmp/src" 2>&1)
if [ $? -ne 0 ] && echo "$out" | grep -q 'acpi/aml.c (layer 1) includes machine/machine.h (layer 4): includes must point down'; then
    echo "ok 2 - a planted upward include fails and is named"
else
    echo "not ok 2 - a planted upward include was not caught:"; echo "$out" | sed 's/^/# /'
fi
