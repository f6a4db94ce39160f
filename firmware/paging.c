/*
 * Identity map with 2 MiB pages, 4-level paging (Intel SDM Vol. 3A 4.5:
 * PML4E -> PDPTE -> PDE with PS=1, tables 4-15, 4-17 and 4-18).
 *
 * No TLB flush is needed anywhere here: entries only go from not-present to
 * present, and not-present translations are never cached (SDM Vol. 3A
 * 4.10.2.3); a stale miss at worst faults once more, and paging_fault_in
 * treats an already-present entry as success.
 */
#include "paging.h"

#include "lib.h"
#include "x86.h"

#define PTE_ADDR_MASK       0x000ffffffffff000ULL
#define TABLE_ENTRIES       512

/*
 * Page-table pages for everything past the boot map: one per GiB mapped (a
 * page directory) plus one per 512 GiB (a PDPT). They come from .bss, so they
 * start zeroed and are never freed.
 */
#define POOL_PAGES          128

extern uint64_t paging_pml4[TABLE_ENTRIES];     /* entry.S */

static uint64_t pool[POOL_PAGES][TABLE_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static unsigned pool_used;
static uint64_t lazy_base;
static uint64_t lazy_limit;

static unsigned table_index(uint64_t addr, unsigned level_shift)
{
    return (addr >> level_shift) & (TABLE_ENTRIES - 1);
}

/* The table an entry points to, allocating it when the entry is not present. */
static uint64_t *next_table(uint64_t *table, unsigned index)
{
    uint64_t *next;

    if (table[index] & PTE_P)
        return (uint64_t *)(table[index] & PTE_ADDR_MASK);
    if (pool_used == POOL_PAGES)
        return 0;
    next = pool[pool_used++];
    table[index] = (uint64_t)next | PTE_TABLE;
    return next;
}

static bool map_2m(uint64_t addr, uint64_t flags)
{
    uint64_t *pdpt, *pd;
    unsigned i;

    pdpt = next_table(paging_pml4, table_index(addr, 39));
    if (!pdpt)
        return false;
    pd = next_table(pdpt, table_index(addr, 30));
    if (!pd)
        return false;
    i = table_index(addr, 21);
    if (!(pd[i] & PTE_P))
        pd[i] = addr | PTE_P | PTE_RW | PTE_US | PTE_PS | flags;
    return true;
}

/*
 * Maps the 2 MiB pages of [addr, end), which lie in one 1 GiB region (one
 * page directory). A page directory that does not exist yet is filled
 * before it is linked: once the MMU uses a table, kvm_pvm traps every write
 * to it (about 40 us), so a fresh GiB costs one trapped write instead of up
 * to 512. A directory that exists already (the lazy window may have created
 * it) is completed in place.
 */
static bool map_region_1g(uint64_t addr, uint64_t end, uint64_t flags)
{
    uint64_t *pdpt, *pd;
    unsigned i;
    bool fresh;

    pdpt = next_table(paging_pml4, table_index(addr, 39));
    if (!pdpt)
        return false;
    i = table_index(addr, 30);
    fresh = !(pdpt[i] & PTE_P);
    if (fresh) {
        if (pool_used == POOL_PAGES)
            return false;
        pd = pool[pool_used++];
    } else {
        pd = (uint64_t *)(pdpt[i] & PTE_ADDR_MASK);
    }
    for (; addr < end; addr += PAGE_SIZE_2M) {
        unsigned j = table_index(addr, 21);

        if (!(pd[j] & PTE_P))
            pd[j] = addr | PTE_P | PTE_RW | PTE_US | PTE_PS | flags;
    }
    if (fresh)
        pdpt[i] = (uint64_t)pd | PTE_TABLE;
    return true;
}

/*
 * Page-table pages that mapping the 2 MiB-aligned [addr, end) would take
 * from the pool: a PDPT per 512 GiB region and a page directory per 1 GiB
 * region that has none yet.
 */
static uint64_t pages_needed(uint64_t addr, uint64_t end)
{
    uint64_t needed = 0, *pdpt = 0;
    unsigned last_pml4 = TABLE_ENTRIES;

    for (addr = align_down_u64(addr, PAGE_SIZE_1G); addr < end;
         addr += PAGE_SIZE_1G) {
        unsigned i = table_index(addr, 39);

        if (i != last_pml4) {
            last_pml4 = i;
            pdpt = paging_pml4[i] & PTE_P
                   ? (uint64_t *)(paging_pml4[i] & PTE_ADDR_MASK) : 0;
            needed += !pdpt;
        }
        needed += !pdpt || !(pdpt[table_index(addr, 30)] & PTE_P);
    }
    return needed;
}

bool paging_map_identity(uint64_t base, uint64_t size, uint64_t flags)
{
    uint64_t addr, end, next;

    if (size == 0)
        return true;
    if (base >= PAGING_IDENTITY_LIMIT || size > PAGING_IDENTITY_LIMIT - base)
        return false;
    end = align_up_u64(base + size, PAGE_SIZE_2M);
    /* All or nothing: a range too big must not use up the pool. */
    if (pages_needed(base, end) > POOL_PAGES - pool_used)
        return false;
    for (addr = align_down_u64(base, PAGE_SIZE_2M); addr < end; addr = next) {
        next = align_down_u64(addr, PAGE_SIZE_1G) + PAGE_SIZE_1G;
        if (next > end)
            next = end;
        if (!map_region_1g(addr, next, flags))
            return false;
    }
    return true;
}

void paging_set_lazy_window(uint64_t base, uint64_t limit)
{
    lazy_base = base;
    lazy_limit = limit < PAGING_IDENTITY_LIMIT ? limit : PAGING_IDENTITY_LIMIT;
}

unsigned paging_pool_free(void)
{
    return POOL_PAGES - pool_used;
}

int paging_fault_in(uint64_t addr)
{
    if (addr < lazy_base || addr >= lazy_limit)
        return 0;
    return map_2m(align_down_u64(addr, PAGE_SIZE_2M), PAGING_WRITE_BACK);
}
