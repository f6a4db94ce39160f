#!/bin/sh
# With -Dstatic_libs=true (the default) the hotmem binary needs libc (and
# ld.so) alone at run time: GLib, PCRE2, json-c and liburing are linked in,
# so the dynamic linker maps and relocates one library (docs/performance.md:
# startup instructions and resident memory). With false, they are shared.
# A sanitizer build adds its runtimes (libasan, libubsan, libm and the like
# they pull in), which are not among the libraries the option is about.
# TAP. Arguments: the binary, the option's value.
set -u
bin=$1 static=$2
echo "1..1"
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
others=$(echo "$needed" | tr ' ' '\n' | grep -v -e '^libc\.so\.' -e '^ld-linux' \
    -e '^libasan\.so\.' -e '^libubsan\.so\.' -e '^libclang_rt\.' -e '^$' |
    tr '\n' ' ')
if [ "$static" = true ]; then
    if [ -z "$others" ]; then
        echo "ok 1 - static_libs=true: hotmem needs only libc and ld.so ($needed)"
    else
        echo "not ok 1 - static_libs=true, yet hotmem needs: $others"
    fi
else
    case " $needed " in
    *" libglib-2.0.so."*) echo "ok 1 - static_libs=false: GLib is shared ($needed)" ;;
    *) echo "not ok 1 - static_libs=false, yet hotmem does not need GLib: $needed" ;;
    esac
fi
