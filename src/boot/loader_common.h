/*
 * Private to the loaders (loader.c, loader_pvh.c, loader_bzimage.c): helpers
 * for little-endian fields, guest writes with errors, and the placement rules
 * both boot protocols share (command line, initrd, RAM checks).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "boot/loader.h"

/*
 * Everything the loaders write below 1 MiB lives in [BOOT_GDT_ADDR,
 * LOADER_BOOT_DATA_END): GDT, hvm_start_info, modlist, memmap, boot_params,
 * page tables, command line. Kernel segments must stay out of it.
 */
#define LOADER_BOOT_DATA_START  BOOT_GDT_ADDR
#define LOADER_BOOT_DATA_END    (BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX)

#define LOADER_4G               0x100000000ULL

/* Boot structures are little-endian (x86); read and write them explicitly. */
static inline uint16_t ld_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t ld_le32(const uint8_t *p)
{
    return (uint32_t)ld_le16(p) | (uint32_t)ld_le16(p + 2) << 16;
}

static inline uint64_t ld_le64(const uint8_t *p)
{
    return (uint64_t)ld_le32(p) | (uint64_t)ld_le32(p + 4) << 32;
}

static inline void st_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void st_le32(uint8_t *p, uint32_t v)
{
    st_le16(p, (uint16_t)v);
    st_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void st_le64(uint8_t *p, uint64_t v)
{
    st_le32(p, (uint32_t)v);
    st_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t loader_align_down(uint64_t v, uint64_t a)
{
    return v & ~(a - 1);
}

static inline uint64_t loader_align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* True when the image is an ELF64 x86-64 file with a usable PVH entry note;
 * the error says what is wrong otherwise (loader_pvh.c). */
bool loader_pvh_entry(const uint8_t *image, size_t size, uint32_t *entry,
                      GError **err);
/* True when the image is a bzImage the 64-bit boot protocol can start
 * (loader_bzimage.c). */
bool loader_bzimage_check(const uint8_t *image, size_t size, GError **err);

/*
 * Fails unless [start, start + size) lies inside one e820 RAM range and
 * outside the loaders' boot data. what names the range in the error
 * ("segment", "initrd").
 */
bool loader_check_ram(const struct layout *l, const char *what,
                      uint64_t start, uint64_t size, GError **err);

/* Copies to / zeroes guest memory; an unmapped range is an error. */
bool loader_write(struct memmap *mm, uint64_t gpa, const void *src,
                  uint64_t len, const char *what, GError **err);
bool loader_zero(struct memmap *mm, uint64_t gpa, uint64_t len,
                 const char *what, GError **err);

/* Length of the command line (0 for NULL), after checking it against
 * max_len bytes (without the NUL); rule names where the limit comes from. */
bool loader_cmdline_len(const char *cmdline, uint64_t max_len,
                        const char *rule, size_t *len, GError **err);
/* Writes the command line, NUL-terminated, at BOOT_CMDLINE_ADDR. */
bool loader_write_cmdline(struct memmap *mm, const char *cmdline, size_t len,
                          GError **err);

/*
 * Chooses where the initrd goes: page aligned, as high as possible with its
 * end at or below limit, at or above 1 MiB, not overlapping the kernel's
 * [kstart, kend). Fails with the sizes involved when there is no room.
 */
bool loader_place_initrd(uint64_t size, uint64_t limit, uint64_t kstart,
                         uint64_t kend, uint64_t *addr, GError **err);
