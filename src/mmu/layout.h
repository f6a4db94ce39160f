/*
 * Guest physical address layout (see docs/boot.md and DESIGN.md).
 *
 * Boot RAM fills guest-physical memory from 0 up to the 32-bit hole; what does
 * not fit continues at 4 GiB. The device-memory window for hot-pluggable DIMMs
 * starts at the next 1 GiB boundary above the end of RAM. The window is not
 * part of the e820 map.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define LAYOUT_PAGE_SIZE        0x1000ULL
#define LAYOUT_EBDA_START       0x9fc00ULL      /* top of conventional RAM */
#define LAYOUT_HIGH_START       0x100000ULL     /* 1 MiB */
#define LAYOUT_LOWMEM_LIMIT     0xc0000000ULL   /* 32-bit hole: 3 GiB .. 4 GiB */
#define LAYOUT_HIGHMEM_BASE     0x100000000ULL  /* RAM continues at 4 GiB */
#define LAYOUT_WINDOW_ALIGN     0x40000000ULL   /* window starts on 1 GiB */
#define LAYOUT_IOAPIC_BASE      0xfec00000ULL
#define LAYOUT_LAPIC_BASE       0xfee00000ULL

/* e820 / hvm_memmap entry types (ACPI 6.5 table 15.4, Xen hvm_start_info). */
enum e820_type {
    E820_RAM = 1,
    E820_RESERVED = 2,
    E820_ACPI = 3,
    E820_NVS = 4,
    E820_UNUSABLE = 5,
};

struct e820_range {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

#define LAYOUT_MAX_E820 8

struct layout {
    uint64_t ram_size;      /* total boot RAM */
    uint64_t low_size;      /* RAM mapped at [0, low_size) */
    uint64_t high_size;     /* RAM mapped at [4 GiB, 4 GiB + high_size) */
    uint64_t ram_end;       /* first guest-physical byte above all boot RAM */
    uint64_t window_base;   /* device-memory window (0 size when no slots) */
    uint64_t window_size;
    uint32_t slots;
    uint64_t maxmem;
};

/*
 * Computes the layout for ram_size bytes of boot RAM, slots DIMM slots and
 * maxmem bytes in all (0 when there are no slots). phys_bits is the guest
 * physical address width; the window must end below 1 << phys_bits.
 */
bool layout_compute(struct layout *l, uint64_t ram_size, uint32_t slots,
                    uint64_t maxmem, unsigned phys_bits, GError **err);

/* Writes the e820 map (sorted, non-overlapping); returns the entry count. */
unsigned layout_e820(const struct layout *l, struct e820_range *out,
                     unsigned max);
