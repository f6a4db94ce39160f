/* Guest physical layout: where boot RAM and the DIMM window go. */
#include "mmu/layout.h"

#include "errors.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/*
 * Every DIMM is aligned to its backend's page size, at most 1 GiB (the
 * largest x86 huge page), so reserving 1 GiB per slot on top of the
 * hot-pluggable amount lets any set of DIMMs whose sizes sum to
 * maxmem - size fit, whatever order they arrive in. The window never starts
 * below 4 GiB: the 32-bit hole holds the IOAPIC, the LAPIC and device MMIO.
 */
static bool compute_window(struct layout *l, uint64_t limit,
                           unsigned phys_bits, GError **err)
{
    uint64_t hotplug, size, end;

    if (l->maxmem < l->ram_size) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "maxmem 0x%" G_GINT64_MODIFIER "x is smaller than the "
                    "RAM size 0x%" G_GINT64_MODIFIER "x", l->maxmem,
                    l->ram_size);
        return false;
    }
    hotplug = l->maxmem - l->ram_size;
    l->window_base = MAX(align_up(l->ram_end, LAYOUT_WINDOW_ALIGN),
                         LAYOUT_HIGHMEM_BASE);
    size = align_up(hotplug, LAYOUT_WINDOW_ALIGN);
    if (size < hotplug ||
        !g_uint64_checked_add(&size, size,
                              (uint64_t)l->slots * LAYOUT_WINDOW_ALIGN) ||
        !g_uint64_checked_add(&end, l->window_base, size) || end > limit) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "device-memory window at 0x%" G_GINT64_MODIFIER "x for "
                    "maxmem 0x%" G_GINT64_MODIFIER "x and %u slots (1 GiB "
                    "of alignment room each) exceeds the guest physical "
                    "address width of %u bits", l->window_base, l->maxmem,
                    l->slots, phys_bits);
        return false;
    }
    l->window_size = size;
    return true;
}

bool layout_compute(struct layout *l, uint64_t ram_size, uint32_t slots,
                    uint64_t maxmem, unsigned phys_bits, GError **err)
{
    uint64_t limit = phys_bits >= 64 ? UINT64_MAX : (1ULL << phys_bits);

    *l = (struct layout){ 0 };
    if (ram_size < LAYOUT_HIGH_START * 2) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "RAM size 0x%" G_GINT64_MODIFIER "x is below the minimum "
                    "0x%llx (2 MiB)", ram_size, LAYOUT_HIGH_START * 2);
        return false;
    }
    if (ram_size % LAYOUT_PAGE_SIZE) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "RAM size 0x%" G_GINT64_MODIFIER "x is not a multiple of "
                    "the page size 0x%llx", ram_size, LAYOUT_PAGE_SIZE);
        return false;
    }
    l->ram_size = ram_size;
    l->slots = slots;
    l->maxmem = maxmem;
    l->low_size = MIN(ram_size, LAYOUT_LOWMEM_LIMIT);
    l->high_size = ram_size - l->low_size;
    l->ram_end = l->high_size ? LAYOUT_HIGHMEM_BASE + l->high_size
                              : l->low_size;
    if (l->ram_end > limit) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "RAM size 0x%" G_GINT64_MODIFIER "x puts guest RAM up to "
                    "0x%" G_GINT64_MODIFIER "x, beyond the guest physical "
                    "address width of %u bits", ram_size, l->ram_end,
                    phys_bits);
        return false;
    }
    if (slots == 0)
        return true;
    return compute_window(l, limit, phys_bits, err);
}

static unsigned add_range(struct e820_range *out, unsigned n, unsigned max,
                          uint64_t addr, uint64_t size, uint32_t type)
{
    if (size == 0 || n >= max)
        return n;
    out[n] = (struct e820_range){ .addr = addr, .size = size, .type = type };
    return n + 1;
}

unsigned layout_e820(const struct layout *l, struct e820_range *out,
                     unsigned max)
{
    unsigned n = 0;

    /* Conventional memory, then the EBDA/BIOS area (ACPI tables live here). */
    n = add_range(out, n, max, 0, LAYOUT_EBDA_START, E820_RAM);
    n = add_range(out, n, max, LAYOUT_EBDA_START,
                  LAYOUT_HIGH_START - LAYOUT_EBDA_START, E820_RESERVED);
    n = add_range(out, n, max, LAYOUT_HIGH_START,
                  l->low_size - LAYOUT_HIGH_START, E820_RAM);
    n = add_range(out, n, max, LAYOUT_HIGHMEM_BASE, l->high_size, E820_RAM);
    return n;
}
