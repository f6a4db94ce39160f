/*
 * Kernel loaders: a PVH ELF (Xen PVH entry note, hvm_start_info) and a Linux
 * bzImage (x86 boot protocol, 64-bit entry). Each writes the kernel, its boot
 * information and any initrd into guest memory and describes the CPU state the
 * boot vCPU must start in. Guest-physical placement is documented in
 * docs/boot.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "mmu/layout.h"
#include "mmu/memmap.h"

/* Fixed guest-physical addresses used by the loaders (below 1 MiB). */
#define BOOT_GDT_ADDR           0x0500ULL   /* GDT for 64-bit Linux entry */
#define BOOT_START_INFO_ADDR    0x6000ULL   /* hvm_start_info */
#define BOOT_MODLIST_ADDR       0x6040ULL   /* hvm_modlist_entry[1] */
#define BOOT_MEMMAP_ADDR        0x6080ULL   /* hvm_memmap_table_entry[] */
#define BOOT_ZERO_PAGE_ADDR     0x7000ULL   /* Linux boot_params */
#define BOOT_PML4_ADDR          0x9000ULL   /* page tables for 64-bit entry */
#define BOOT_PDPT_ADDR          0xa000ULL
#define BOOT_PD_ADDR            0xb000ULL   /* 4 pages: identity map 4 GiB */
#define BOOT_CMDLINE_ADDR       0x20000ULL
#define BOOT_CMDLINE_MAX        0x10000ULL  /* including the NUL */
#define BOOT_KERNEL_ADDR        0x100000ULL /* bzImage protected-mode code */

/* Selectors of the GDT built for the 64-bit Linux entry (boot protocol). */
#define BOOT_CS_SELECTOR        0x10
#define BOOT_DS_SELECTOR        0x18

enum boot_cpu_mode {
    BOOT_CPU_PROT32,    /* PVH: 32-bit protected mode, paging off */
    BOOT_CPU_LONG64,    /* Linux 64-bit boot protocol: long mode */
};

/* What the boot vCPU must look like at its first instruction. */
struct boot_entry {
    enum boot_cpu_mode mode;
    uint64_t rip;
    uint64_t rbx;       /* PVH: hvm_start_info address */
    uint64_t rsi;       /* Linux: boot_params address */
    uint64_t cr3;       /* LONG64: PML4 address */
    uint64_t gdt_base;  /* LONG64: GDT address */
    uint16_t gdt_limit;
};

struct boot_images {
    const uint8_t *kernel;
    size_t kernel_size;
    const uint8_t *initrd;      /* NULL when there is none */
    size_t initrd_size;
    const char *cmdline;        /* NULL or "" for none */
    uint64_t rsdp_addr;         /* 0 until ACPI tables exist */
};

enum boot_format { BOOT_FORMAT_UNKNOWN, BOOT_FORMAT_PVH_ELF,
                   BOOT_FORMAT_BZIMAGE };

/* Recognises a kernel image by its content. */
enum boot_format loader_detect(const uint8_t *image, size_t size);

/*
 * Writes at the x86 reset vector (physical 0xffff0, F000:FFF0) a real-mode
 * stub that resets the machine through the FADT's reset register: what a
 * guest that resets "through the BIOS" runs. loader_load() does it.
 */
bool loader_put_reset_vector(struct memmap *mm, GError **err);

/*
 * Loads according to loader_detect(); a file that is neither format, is
 * truncated, or does not fit in RAM is a clear error and nothing is started.
 */
bool loader_load(struct memmap *mm, const struct layout *l,
                 const struct boot_images *img, struct boot_entry *entry,
                 GError **err);

bool loader_load_pvh(struct memmap *mm, const struct layout *l,
                     const struct boot_images *img, struct boot_entry *entry,
                     GError **err);
bool loader_load_bzimage(struct memmap *mm, const struct layout *l,
                         const struct boot_images *img,
                         struct boot_entry *entry, GError **err);

/*
 * Reads the image at path (what: "-kernel" or "-initrd", for messages).
 * Refuses, without blocking, anything but a regular file (a FIFO, /dev/zero)
 * and a file larger than limit (guest RAM). *data is g_free()d by the
 * caller.
 */
bool loader_read_file(const char *what, const char *path, uint64_t limit,
                      uint8_t **data, size_t *len, GError **err);
