#!/bin/sh
# Wraps the hotmem-guest ELF into an assembler file that embeds it as
# hotmem_guest_image[] / hotmem_guest_image_end[] (see src/boot/guest_image.h).
set -e
in=$(realpath "$1")
cat > "$2" <<ASM
    .section .rodata
    .balign 64
    .globl hotmem_guest_image
    .globl hotmem_guest_image_end
hotmem_guest_image:
    .incbin "$in"
hotmem_guest_image_end:
    .section .note.GNU-stack,"",@progbits
ASM
