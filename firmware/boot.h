/*
 * What hotmem-guest learns at boot: the PVH memory map, the RAM total and
 * the device-memory window (docs/guest-console.md, "Guest physical layout").
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pvh.h"

#define BOOT_MEMMAP_MAX 64

struct boot_info {
    uint64_t ram_size;      /* sum of the HVM_MEMMAP_RAM entries' sizes */
    uint64_t ram_end;       /* end of the highest RAM entry */
    uint64_t window_base;   /* first 1 GiB boundary at or above ram_end */
    uint64_t window_limit;  /* 1 << phys_bits, at most 2^47 */
    bool srat_hotplug;      /* the SRAT lists hot-pluggable memory (acpi.c) */
    unsigned phys_bits;     /* CPUID 0x80000008 EAX[7:0] */
    uint64_t rsdp_paddr;
    uint32_t memmap_total;  /* entries the VMM passed */
    uint32_t memmap_kept;   /* entries copied into memmap[] */
    struct hvm_memmap_table_entry memmap[BOOT_MEMMAP_MAX];
};

/*
 * Reads hvm_start_info and its memory map, computes the window. Returns false
 * (and prints why) when the start info is unusable.
 */
bool boot_read_start_info(struct boot_info *info,
                          const struct hvm_start_info *start_info);

/*
 * Identity-maps every memory-map range, the I/O APIC and local APIC pages
 * (uncached) and sets up the lazily mapped window. Returns false (and prints
 * why) on failure.
 */
bool boot_map_memory(const struct boot_info *info);
