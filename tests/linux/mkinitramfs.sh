#!/bin/sh
# Builds the initramfs the full Linux hot-plug test boots (docs/linux.md):
# Debian's busybox-static plus tests/linux/initramfs-init as /init, packed
# as a gzip-compressed newc cpio by busybox's own cpio applet. Cached next to
# the kernel (see debian-fetch.sh); rebuilt when busybox or /init change.
#
# Output on stdout: BUSYBOX=<path> and INITRAMFS=<path>.
# Exit status: 0 done, 77 busybox-static cannot be had, 1 error.
set -eu

PKG=busybox-static
here=$(cd "$(dirname "$0")" && pwd)
. "$here/debian-fetch.sh"

init=$here/initramfs-init
[ -f "$init" ] || die "$init is missing"

# The newest cached busybox, for when apt cannot answer.
newest_cached() {
    for d in "$root"/${PKG}_*/; do
        [ -x "$d/busybox" ] && printf '%s\n' "${d%/}"
    done | sort -V | tail -n 1
}

fetch_busybox() {  # version dir
    work=$(mktemp -d "$root/.fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    say "downloading $PKG $1"
    deb=$(download_deb "$PKG" "$1" "$work") || return 1
    dpkg-deb -x "$deb" "$work/x" || die "dpkg-deb -x $deb failed"
    [ -x "$work/x/bin/busybox" ] || die "$deb has no bin/busybox"
    mkdir -p "$work/out"
    cp "$work/x/bin/busybox" "$work/out/busybox"
    rm -rf "$2"
    mv "$work/out" "$2"
    rm -rf "$work"
    trap - EXIT
}

open_cache
ver=$(candidate_version "$PKG")
if [ -z "$ver" ]; then
    refresh_lists || true
    ver=$(candidate_version "$PKG")
fi
if [ -n "$ver" ]; then
    bbdir=$root/${PKG}_$(echo "$ver" | tr : _)
    if [ ! -x "$bbdir/busybox" ] && ! fetch_busybox "$ver" "$bbdir"; then
        refresh_lists && ver=$(candidate_version "$PKG") && [ -n "$ver" ] &&
            bbdir=$root/${PKG}_$(echo "$ver" | tr : _) && fetch_busybox "$ver" "$bbdir" ||
            skip "apt-get download $PKG failed"
    fi
else
    bbdir=$(newest_cached)
    [ -n "$bbdir" ] || skip "$(unknown_reason "$PKG")"
fi
bb=$bbdir/busybox
"$bb" cpio --help 2>&1 | grep -q 'newc' ||
    skip "$bb has no cpio applet that writes newc archives"

sum=$(cat "$bb" "$init" "$here/mkinitramfs.sh" | sha256sum | cut -c1-16)
out=$root/initramfs-$sum.cpio.gz
if [ ! -f "$out" ]; then
    rm -f "$root"/initramfs-*.cpio.gz     # built from older inputs
    tree=$(mktemp -d "$root/.tree.XXXXXX")
    trap 'rm -rf "$tree"' EXIT
    chmod 0755 "$tree"
    mkdir -p "$tree/bin" "$tree/dev" "$tree/proc" "$tree/sys" "$tree/tmp"
    cp "$bb" "$tree/bin/busybox"
    cp "$init" "$tree/init"
    chmod 0755 "$tree/init" "$tree/bin/busybox"
    pack_initramfs "$bb" "$tree" "$out" || die "packing the initramfs failed"
    say "built $out"
fi
printf 'BUSYBOX=%s\nINITRAMFS=%s\n' "$bb" "$out"
