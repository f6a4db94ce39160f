/* The bundled hotmem-guest ELF, embedded at build time (firmware/embed.sh). */
#pragma once

#include <stddef.h>
#include <stdint.h>

extern const uint8_t hotmem_guest_image[];
extern const uint8_t hotmem_guest_image_end[];

static inline size_t guest_image_size(void)
{
    return (size_t)(hotmem_guest_image_end - hotmem_guest_image);
}
