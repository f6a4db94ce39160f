#!/bin/sh
# Fetches Debian's current cloud kernel and caches it, for the tests in
# tests/linux/ (docs/linux.md). The version is never written down here: the
# metapackage linux-image-cloud-amd64 names the versioned package it depends
# on, and that is what gets downloaded.
#
#   tests/linux/get-kernel.sh            # prints VMLINUZ=, VMLINUX=, KVERSION=
#
# Output on stdout, one KEY=VALUE per line (safe to eval):
#   KPACKAGE  the versioned package, e.g. linux-image-6.1.0-56-cloud-amd64
#   KVERSION  its Debian version
#   VMLINUZ   the bzImage from the package
#   VMLINUX   the uncompressed ELF kernel, decompressed here from the
#             bzImage's payload
# Cache: $HOTMEM_CACHE/linux, else ${XDG_CACHE_HOME:-~/.cache}/hotmem/linux,
# one directory per package version. A cached kernel is used without network.
# Exit status: 0 done, 77 the package cannot be had (meson's "skip"), 1 error.
set -eu

META=linux-image-cloud-amd64

. "$(dirname "$0")/debian-fetch.sh"

resolve_package() { resolve_depends "$META"; }

# Little-endian unsigned integers from the bzImage header.
le() {  # file offset bytes
    od -An -t u"$3" -j "$2" -N "$3" --endian=little "$1" | tr -d ' '
}

# Decompresses the bzImage's payload (boot protocol 2.08+: payload_offset and
# payload_length in the setup header, relative to the protected-mode code)
# with the host tool that matches its magic number.
extract_vmlinux() {  # vmlinuz out
    z=$1; out=$2
    [ "$(od -An -c -j 0x202 -N 4 "$z" | tr -d ' ')" = HdrS ] ||
        die "$z is not a bzImage (no HdrS at 0x202)"
    proto=$(le "$z" 0x206 2)
    [ "$proto" -ge $((0x208)) ] ||
        die "$z speaks boot protocol $proto; payload fields need 2.08"
    setup=$(le "$z" 0x1f1 1)
    [ "$setup" -ne 0 ] || setup=4
    poff=$(( (setup + 1) * 512 + $(le "$z" 0x248 4) ))
    plen=$(le "$z" 0x24c 4)
    payload=$out.payload
    tail -c +$((poff + 1)) "$z" | head -c "$plen" >"$payload"
    # The kernel build appends the decompressed size (LE32) to every
    # compressed payload; the decompressors must not see it.
    want=$(le "$payload" $((plen - 4)) 4)
    head -c $((plen - 4)) "$payload" >"$payload.z"
    magic=$(od -An -tx1 -N 6 "$payload.z" | tr -d ' \n')
    case $magic in
        1f8b*)          tool="gzip -dc" ;;
        fd377a585a00)   tool="xz -dc" ;;
        02214c18*)      tool="lz4 -dc" ;;    # lz4 legacy frame
        28b52ffd*)      tool="zstd -dcq" ;;
        425a68*)        tool="bzip2 -dc" ;;
        5d00*)          tool="xz --format=lzma -dc" ;;
        894c5a4f*)      tool="lzop -dc" ;;
        *) die "unknown payload compression (magic $magic) in $z" ;;
    esac
    command -v "${tool%% *}" >/dev/null ||
        skip "the payload is ${tool%% *}-compressed and ${tool%% *} is not installed"
    say "decompressing the payload ($plen bytes) with ${tool%% *}"
    $tool <"$payload.z" >"$out.tmp" || die "$tool failed on the payload of $z"
    got=$(stat -c %s "$out.tmp")
    [ "$got" = "$want" ] ||
        die "decompressed $got bytes, the payload says $want"
    [ "$(od -An -c -N 4 "$out.tmp" | tr -d ' ')" = '177ELF' ] ||
        die "the decompressed payload is not an ELF file"
    rm -f "$payload" "$payload.z"
    mv "$out.tmp" "$out"
}

print_paths() {  # dir
    printf 'KPACKAGE=%s\nKVERSION=%s\nVMLINUZ=%s\nVMLINUX=%s\n' \
        "$(cat "$1/package")" "$(cat "$1/version")" "$1/vmlinuz" "$1/vmlinux"
}

# The newest complete kernel in the cache, for when apt cannot answer.
newest_cached() {
    for d in "$root"/linux-image-*/; do
        [ -f "$d/vmlinux" ] && [ -f "$d/vmlinuz" ] && printf '%s\n' "${d%/}"
    done | sort -V | tail -n 1
}

open_cache
command -v apt-cache >/dev/null || {
    d=$(newest_cached)
    [ -n "$d" ] || skip "apt-cache is not available to find $META"
    print_paths "$d"; exit 0
}
pkg=$(resolve_package)
if [ -z "$pkg" ]; then
    refresh_lists || true
    pkg=$(resolve_package)
fi
if [ -z "$pkg" ]; then
    d=$(newest_cached)
    [ -n "$d" ] || skip "$(unknown_reason "$META")"
    say "apt does not know $META; using the cached $d"
    print_paths "$d"; exit 0
fi
ver=$(candidate_version "$pkg")
[ -n "$ver" ] || skip "$META depends on $pkg, which has no installable version"
dir=$root/${pkg}_$(echo "$ver" | tr : _)
if [ -f "$dir/vmlinux" ] && [ -f "$dir/vmlinuz" ]; then
    print_paths "$dir"; exit 0
fi

work=$(mktemp -d "$root/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
say "downloading $pkg $ver"
if ! deb=$(download_deb "$pkg" "$ver" "$work"); then
    # Stale lists name a version the mirror no longer has: refresh once.
    refresh_lists && ver=$(candidate_version "$pkg") && [ -n "$ver" ] &&
        dir=$root/${pkg}_$(echo "$ver" | tr : _) && deb=$(download_deb "$pkg" "$ver" "$work") ||
        skip "apt-get download $pkg failed"
fi
dpkg-deb -x "$deb" "$work/x" || die "dpkg-deb -x $deb failed"
z=$(ls "$work"/x/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$z" ] || die "$deb has no boot/vmlinuz-*"
mkdir -p "$work/out"
cp "$z" "$work/out/vmlinuz"
extract_vmlinux "$work/out/vmlinuz" "$work/out/vmlinux"
cp "$work"/x/boot/config-* "$work/out/config" 2>/dev/null || true
printf '%s\n' "$pkg" >"$work/out/package"
printf '%s\n' "$ver" >"$work/out/version"
rm -rf "$dir"
mv "$work/out" "$dir"
say "cached in $dir"
print_paths "$dir"
