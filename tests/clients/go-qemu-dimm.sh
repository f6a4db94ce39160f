#!/bin/sh
# tests/clients/go-qemu-dimm.sh CLIENT
#
# Starts hotmem with the bundled guest and a QMP socket, and runs CLIENT,
# tests/clients/go-qemu-dimm.go built by meson against Debian's go-qemu
# (GOPATH mode, no network), through the DIMM lifecycle (suite kvm). Needs
# golang-go and golang-github-digitalocean-go-qemu-dev (scripts/setup.sh).
set -eu
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
pid=
echo "1..1"
client=${1:-}
if [ -z "$client" ] || [ ! -x "$client" ]; then
    echo "not ok 1 - go-qemu: the client was not built: golang-go or golang-github-digitalocean-go-qemu-dev was missing when meson configured (scripts/setup.sh installs them; then meson setup --reconfigure build)"
    exit 1
fi
if [ ! -r "${HOTMEM_KVM:-/dev/kvm}" ]; then
    echo "ok 1 # SKIP ${HOTMEM_KVM:-/dev/kvm} cannot be opened"
    exit 0
fi
"$HOTMEM_BIN" -m 512M,slots=2,maxmem=2G -qmp "unix:$work/qmp.sock,server=on,wait=off" \
    </dev/null >"$work/console" 2>"$work/stderr" &
pid=$!
# The client dials once: wait for the socket (hotmem creates it at startup).
i=0
while [ ! -S "$work/qmp.sock" ] && [ $i -lt 300 ] && kill -0 "$pid" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
if "$client" "$work/qmp.sock" >"$work/out" 2>&1; then
    sed 's/^/# /' "$work/out"
    echo "ok 1 - go-qemu drove object-add, device_add, query-memory-devices, device_del, DEVICE_DELETED, object-del"
else
    sed 's/^/# /' "$work/out" "$work/stderr"
    echo "not ok 1 - go-qemu"
    exit 1
fi
