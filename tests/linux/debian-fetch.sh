# Shell helpers shared by get-kernel.sh and mkinitramfs.sh: the cache
# directory, apt look-ups that refresh stale package lists once, and
# downloading one package. Sourced, not run.

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
skip() { say "SKIP: $*"; exit 77; }
die() { say "error: $*"; exit 1; }

# $HOTMEM_CACHE/linux, else ${XDG_CACHE_HOME:-~/.cache}/hotmem/linux.
cache_root() {
    if [ -n "${HOTMEM_CACHE:-}" ]; then
        printf '%s/linux\n' "$HOTMEM_CACHE"
    else
        printf '%s/hotmem/linux\n' "${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}"
    fi
}

# Creates the cache and serialises fetches: tests run in parallel.
open_cache() {
    root=$(cache_root)
    mkdir -p "$root" || skip "cannot create the cache directory $root"
    exec 9>"$root/.lock"
    flock 9 || die "cannot lock $root/.lock"
}

# apt-get update, only possible as root.
refresh_lists() {
    [ "$(id -u)" = 0 ] || return 1
    [ -z "${lists_refreshed:-}" ] || return 1
    lists_refreshed=1
    say "updating the package lists (apt-get update)"
    apt-get update -qq >/dev/null 2>&1
}

# The version apt would install ("" when unknown).
candidate_version() {
    apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' |
        grep -v '(none)' | head -n 1
}

# Downloads package $1 version $2 into directory $3; the .deb's path on
# stdout. Fails with apt's last line on stderr.
download_deb() {
    (cd "$3" && apt-get download -q "$1=$2" >download.log 2>&1) || {
        tail -n 1 "$3/download.log" >&2
        return 1
    }
    ls "$3"/*.deb
}

# Why apt could not name package $1, for the skip message.
unknown_reason() {
    if [ -n "${lists_refreshed:-}" ]; then
        printf 'apt does not know %s even after apt-get update (no access to the Debian archive?)\n' "$1"
    else
        printf 'apt does not know %s (not a Debian system, or no package lists and not root to run apt-get update)\n' "$1"
    fi
}

# The versioned package that metapackage $1 depends on, e.g.
# linux-image-amd64 -> linux-image-6.1.0-57-amd64 ("" when unknown). The
# version is never written down in this project: apt names it.
resolve_depends() {
    apt-cache depends "$1" 2>/dev/null |
        sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ <>]*\).*/\1/p' | head -n 1
}

# Packs directory $2 as a gzip-compressed newc cpio at $3 with busybox $1's
# own cpio applet (no host cpio needed): files in sorted order, owned by
# root, so the same inputs give the same archive.
pack_initramfs() {  # busybox tree out
    (cd "$2" && find . | LC_ALL=C sort | "$1" cpio -o -H newc -R 0:0 2>/dev/null) |
        gzip -9n >"$3.tmp" || return 1
    mv "$3.tmp" "$3"
}
