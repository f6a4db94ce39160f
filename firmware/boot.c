/*
 * Boot information from the PVH start info (Xen docs/misc/pvh.pandoc) and
 * the initial identity map.
 *
 * hotmem's layout rule (DESIGN.md, docs/guest-console.md): the device-memory
 * window for hot-plugged DIMMs starts at the first 1 GiB boundary at or above
 * the end of the highest RAM range but never below 4 GiB, and is not in the
 * memory map. Its size is
 * only known through ACPI, so the guest maps it lazily, from 2 MiB page
 * faults, up to the CPU's physical address width.
 */
#include "boot.h"

#define FOUR_GIB 0x100000000ULL

#include "lib.h"
#include "paging.h"
#include "print.h"
#include "x86.h"

#define DEFAULT_PHYS_BITS 36    /* SDM Vol. 3A 4.1.4, without leaf 0x80000008 */

/* MAXPHYADDR: CPUID.80000008H:EAX[7:0] (SDM Vol. 2A CPUID). */
static unsigned cpu_phys_bits(void)
{
    if (cpuid(0x80000000).eax < 0x80000008)
        return DEFAULT_PHYS_BITS;
    return cpuid(0x80000008).eax & 0xff;
}

/* The start info and the memory map may lie outside the boot map (2 MiB). */
static bool map_boot_data(uint64_t addr, uint64_t size)
{
    if (paging_map_identity(addr, size, PAGING_WRITE_BACK))
        return true;
    print_line("error cannot map boot data at 0x%lx size 0x%lx", addr, size);
    return false;
}

static void add_memmap_entry(struct boot_info *info,
                             const struct hvm_memmap_table_entry *e)
{
    if (info->memmap_kept < BOOT_MEMMAP_MAX)
        info->memmap[info->memmap_kept++] = *e;
    if (e->type != HVM_MEMMAP_RAM)
        return;
    info->ram_size += e->size;
    if (e->addr + e->size > info->ram_end)
        info->ram_end = e->addr + e->size;
}

bool boot_read_start_info(struct boot_info *info,
                          const struct hvm_start_info *si)
{
    const struct hvm_memmap_table_entry *map;
    uint64_t limit;
    uint32_t i;

    memset(info, 0, sizeof(*info));
    if (!map_boot_data((uint64_t)si, sizeof(*si)))
        return false;
    if (si->magic != HVM_START_MAGIC) {
        print_line("error hvm_start_info at 0x%lx has magic 0x%x, not 0x%x",
                   (uint64_t)si, si->magic, HVM_START_MAGIC);
        return false;
    }
    info->rsdp_paddr = si->rsdp_paddr;
    if (si->version >= 1 && si->memmap_paddr && si->memmap_entries) {
        info->memmap_total = si->memmap_entries;
        if (!map_boot_data(si->memmap_paddr,
                           (uint64_t)si->memmap_entries * sizeof(*map)))
            return false;
        map = (const struct hvm_memmap_table_entry *)si->memmap_paddr;
        for (i = 0; i < si->memmap_entries; i++)
            add_memmap_entry(info, &map[i]);
    }

    info->phys_bits = cpu_phys_bits();
    limit = info->phys_bits >= 47 ? PAGING_IDENTITY_LIMIT
                                  : 1ULL << info->phys_bits;
    /* Never inside the 32-bit hole (IOAPIC, LAPIC, device MMIO). */
    info->window_base = align_up_u64(info->ram_end, PAGE_SIZE_1G);
    if (info->window_base < FOUR_GIB)
        info->window_base = FOUR_GIB;
    info->window_limit = limit;
    return true;
}

/* Memory is write-back; reserved and unknown ranges may be MMIO. */
static uint64_t memmap_cache_mode(const struct hvm_memmap_table_entry *e)
{
    switch (e->type) {
    case HVM_MEMMAP_RAM:
    case HVM_MEMMAP_ACPI:
    case HVM_MEMMAP_NVS:
        return PAGING_WRITE_BACK;
    default:
        return PAGING_UNCACHED;
    }
}

bool boot_map_memory(const struct boot_info *info)
{
    uint32_t i;

    /* APIC pages first: a 2 MiB page keeps the first mapping it gets. */
    if (!paging_map_identity(IOAPIC_BASE, PAGE_SIZE, PAGING_UNCACHED) ||
        !paging_map_identity(LAPIC_BASE, PAGE_SIZE, PAGING_UNCACHED)) {
        print_line("error cannot map the APIC pages");
        return false;
    }
    for (i = 0; i < info->memmap_kept; i++) {
        const struct hvm_memmap_table_entry *e = &info->memmap[i];

        if (!paging_map_identity(e->addr, e->size, memmap_cache_mode(e))) {
            print_line("error cannot map memory map entry base=0x%lx "
                       "size=0x%lx: beyond 2^47 or page-table pool exhausted",
                       e->addr, e->size);
            return false;
        }
    }
    /* Without RAM there is no layout rule to apply. */
    if (info->ram_end && info->window_base < info->window_limit)
        paging_set_lazy_window(info->window_base, info->window_limit);
    return true;
}
