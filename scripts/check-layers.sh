#!/bin/sh
# Fails when a file under src/ includes a header from a layer above its own
# (docs/architecture.md draws the layers; suite unit runs this).
#
#   scripts/check-layers.sh [SRC_DIR]
#
# Layers, top to bottom; a file may include its own layer and those below:
#   6 main.c
#   5 monitor/ cli/ migration/
#   4 machine/
#   3 boot/ devices/
#   2 mmu/
#   1 acpi/ backend/ kvm bus anon_pages errors exit_signals json_strict props schema (and include/, generated headers)
set -eu
src=${1:-$(dirname "$0")/../src}
cd "$src"

rank() {  # path relative to src/ -> layer number (0: not ours)
    case $1 in
        main.c) echo 6 ;;
        monitor/*|cli/*|migration/*) echo 5 ;;
        machine/*) echo 4 ;;
        boot/*|devices/*) echo 3 ;;
        mmu/*) echo 2 ;;
        acpi/*|backend/*|kvm.[ch]|bus.[ch]|anon_pages.[ch]|errors.[ch]|exit_signals.[ch]|json_strict.[ch]|props.[ch]|schema.[ch]) echo 1 ;;
        *) echo 0 ;;
    esac
}

bad=0
checked=0
for f in $(find . -name '*.[ch]' | sed 's|^\./||' | sort); do
    fr=$(rank "$f")
    [ "$fr" -gt 0 ] || { echo "check-layers: $f is in no layer: add it to scripts/check-layers.sh"; bad=1; continue; }
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        [ -f "$inc" ] || continue        # include/, generated headers
        ir=$(rank "$inc")
        checked=$((checked + 1))
        if [ "$ir" -gt "$fr" ]; then
            echo "check-layers: $f (layer $fr) includes $inc (layer $ir): includes must point down"
            bad=1
        fi
    done
done
echo "check-layers: $checked includes checked"
exit $bad
