#!/bin/sh
# Installs what hotmem needs on Debian 12 (as root), then configures and
# builds into ./build. Safe to run again.
set -eu
cd "$(dirname "$0")/.."
# acpica-tools: the ACPI tests; lz4/xz-utils/zstd: the Linux tests unpack
# Debian's kernel payload (fetched at test time, tests/linux/get-kernel.sh);
# golang-go, golang-github-digitalocean-go-qemu-dev: a real QMP client
# in the tests (tests/clients); qemu-system-x86: the nested KVM host (tests/rig) on machines without a
# fast /dev/kvm, and the peer the benchmarks compare against; clang and
# libclang-rt-14-dev: libFuzzer for the fuzz targets (tests/fuzz/run.sh).
PKGS="gcc meson ninja-build pkg-config libglib2.0-dev libjson-c-dev
      liburing-dev acpica-tools lz4 xz-utils zstd qemu-system-x86
      clang libclang-rt-14-dev
      golang-go golang-github-digitalocean-go-qemu-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing >/dev/null
fi
[ -d build ] || meson setup build
ninja -C build
