#!/bin/sh
# Fetches and caches what the nested KVM host boots (docs/testing.md):
# Debian's generic kernel (the metapackage linux-image-amd64 names the
# versioned package; no version is written down here), the modules it needs
# for KVM and 9p with their dependencies as the package's own modules.dep
# gives them, and an initramfs of busybox-static, those modules and
# tests/rig/init.
#
#   tests/rig/get-host.sh       # prints RIG_KERNEL=, RIG_INITRD=, RIG_KPACKAGE=
#
# Cache: next to the Linux tests' kernel (tests/linux/debian-fetch.sh).
# A cached host is used without network when apt cannot answer.
# Exit status: 0 done, 1 error (the message names what is missing).
set -eu

META=linux-image-amd64
# What the nested host loads: KVM for the CPU QEMU emulates (AMD SVM), and
# virtio-9p for the shared folders. Their dependencies come from modules.dep.
WANT="kvm-amd virtio_pci 9pnet_virtio 9p"

here=$(cd "$(dirname "$0")" && pwd)
linux=$here/../linux
. "$linux/debian-fetch.sh"
skip() { die "$*"; }     # nothing here is optional: missing means broken

# busybox-static comes through the Linux tests' initramfs, which this also
# builds so that nothing inside the nested host needs the network. Before
# open_cache: mkinitramfs.sh takes the same lock.
bbout=$("$linux/mkinitramfs.sh") || die "tests/linux/mkinitramfs.sh failed: busybox-static is needed"
BB=$(printf '%s\n' "$bbout" | sed -n 's/^BUSYBOX=//p')
[ -x "$BB" ] || die "mkinitramfs.sh named no busybox"

# Everything the module list needs, dependencies first: modules.dep lists a
# module's dependencies, whose own come first, recursively. Names compare
# with - and _ alike, as modprobe does.
module_path() {  # moddir name: its path as modules.dep spells it
    awk -F: -v m="$2" 'BEGIN { gsub(/-/, "_", m) }
        { n = $1; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); gsub(/-/, "_", n)
          if (n == m) { print $1; exit } }' "$1/modules.dep"
}
deps_of() {  # moddir path: its dependencies (recursively), then itself
    for d in $(awk -F': *' -v p="$2" '$1 == p { print $2; exit }' "$1/modules.dep"); do
        deps_of "$1" "$d"
    done
    printf '%s\n' "$2"
}
load_order() {  # moddir name...
    md=$1; shift
    for m in "$@"; do
        path=$(module_path "$md" "$m")
        if [ -z "$path" ]; then
            tr - _ <"$md/modules.builtin" | grep -q "/$(echo "$m" | tr - _)\.ko" && continue
            die "module $m is neither in $md/modules.dep nor built in"
        fi
        deps_of "$md" "$path"
    done | awk '!seen[$0]++'
}

# Kernel and modules of one package version into $dir.
fetch_host() {  # pkg ver dir
    work=$(mktemp -d "$root/.fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    say "downloading $1 $2 (the nested host's kernel)"
    deb=$(download_deb "$1" "$2" "$work") || return 1
    dpkg-deb -x "$deb" "$work/x" || die "dpkg-deb -x $deb failed"
    z=$(ls "$work"/x/boot/vmlinuz-* 2>/dev/null | head -n 1)
    [ -n "$z" ] || die "$deb has no boot/vmlinuz-*"
    kver=${z##*/vmlinuz-}
    md=$work/x/lib/modules/$kver
    [ -d "$md" ] || die "$deb has no lib/modules/$kver"
    # Debian's package leaves modules.dep to depmod at install time.
    "$BB" depmod -b "$work/x" "$kver" || die "depmod of $deb failed"
    mkdir -p "$work/out/modules"
    load_order "$md" $WANT >"$work/order"
    : >"$work/out/modules.load"
    while read -r p; do
        cp "$md/$p" "$work/out/modules/" || die "$p is missing from $deb"
        printf '%s\n' "${p##*/}" >>"$work/out/modules.load"
    done <"$work/order"
    cp "$z" "$work/out/vmlinuz"
    printf '%s\n' "$1" >"$work/out/package"
    rm -rf "$3"
    mv "$work/out" "$3"
    rm -rf "$work"
    trap - EXIT
}

newest_cached() {
    for d in "$root"/rig-linux-image-*/; do
        [ -f "$d/vmlinuz" ] && [ -f "$d/modules.load" ] && printf '%s\n' "${d%/}"
    done | sort -V | tail -n 1
}

open_cache
pkg=$(resolve_depends "$META")
if [ -z "$pkg" ]; then
    refresh_lists || true
    pkg=$(resolve_depends "$META")
fi
if [ -n "$pkg" ] && ver=$(candidate_version "$pkg") && [ -n "$ver" ]; then
    dir=$root/rig-${pkg}_$(echo "$ver" | tr : _)
    if [ ! -f "$dir/modules.load" ] && ! fetch_host "$pkg" "$ver" "$dir"; then
        refresh_lists && ver=$(candidate_version "$pkg") && [ -n "$ver" ] &&
            dir=$root/rig-${pkg}_$(echo "$ver" | tr : _) && fetch_host "$pkg" "$ver" "$dir" ||
            die "apt-get download $pkg failed"
    fi
else
    dir=$(newest_cached)
    [ -n "$dir" ] || die "$(unknown_reason "$META")"
    say "apt does not know $META; using the cached $dir"
fi

# The initramfs: rebuilt when busybox, /init, the modules or this script change.
sum=$(cat "$BB" "$here/init" "$0" "$dir/modules.load" | sha256sum | cut -c1-16)
out=$dir/initramfs-$sum.cpio.gz
if [ ! -f "$out" ]; then
    rm -f "$dir"/initramfs-*.cpio.gz
    tree=$(mktemp -d "$root/.tree.XXXXXX")
    trap 'rm -rf "$tree"' EXIT
    chmod 0755 "$tree"
    mkdir -p "$tree/bin" "$tree/dev" "$tree/proc" "$tree/sys" "$tree/newroot" \
        "$tree/ctl" "$tree/modules"
    cp "$BB" "$tree/bin/busybox"
    cp "$here/init" "$tree/init"
    cp "$dir"/modules/*.ko "$tree/modules/"
    cp "$dir/modules.load" "$tree/modules.load"
    chmod 0755 "$tree/init" "$tree/bin/busybox"
    pack_initramfs "$BB" "$tree" "$out" ||
        die "packing the nested host's initramfs failed"
    say "built $out"
fi
printf 'RIG_KERNEL=%s\nRIG_INITRD=%s\nRIG_KPACKAGE=%s\n' "$dir/vmlinuz" "$out" \
    "$(cat "$dir/package")"
