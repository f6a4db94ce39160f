/*
 * The Xen PVH boot ABI, as far as hotmem-guest uses it.
 * Xen: xen/include/public/arch-x86/hvm/start_info.h and docs/misc/pvh.pandoc.
 * Safe to include from assembly (constants only there).
 */
#pragma once

/* ELF note type whose descriptor is the 32-bit physical entry point. */
#define XEN_ELFNOTE_PHYS32_ENTRY    18

#define HVM_START_MAGIC             0x336ec578

/* hvm_memmap_table_entry.type: the e820 types (ACPI 6.5 table 15.4). */
#define HVM_MEMMAP_RAM              1
#define HVM_MEMMAP_RESERVED         2
#define HVM_MEMMAP_ACPI             3
#define HVM_MEMMAP_NVS              4

#ifndef __ASSEMBLER__
#include <stdint.h>

/* EBX at the PVH entry points here. */
struct hvm_start_info {
    uint32_t magic;             /* HVM_START_MAGIC */
    uint32_t version;           /* memmap_* below exist from version 1 */
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;     /* NUL-terminated, 0 if none */
    uint64_t rsdp_paddr;        /* ACPI RSDP, 0 if none */
    uint64_t memmap_paddr;      /* version >= 1 */
    uint32_t memmap_entries;    /* version >= 1 */
    uint32_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;              /* HVM_MEMMAP_* */
    uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap entry layout");
#endif
