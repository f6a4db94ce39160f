/*
 * Guest physical layout: where boot RAM goes, the e820 map that describes
 * it, and the DIMM window above it.
 */
#include <string.h>
#include <glib.h>

#include "errors.h"
#include "mmu/layout.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define PHYS_BITS 46    /* a typical host; tests of the limit pass their own */

static void compute_ok(struct layout *l, uint64_t ram, uint32_t slots,
                       uint64_t maxmem, unsigned phys_bits)
{
    GError *err = NULL;

    g_assert_true(layout_compute(l, ram, slots, maxmem, phys_bits, &err));
    g_assert_no_error(err);
}

/* The error must be HM_ERROR_INVALID and its message must hold needle. */
static void compute_fails(uint64_t ram, uint32_t slots, uint64_t maxmem,
                          unsigned phys_bits, const char *needle)
{
    struct layout l;
    GError *err = NULL;

    if (layout_compute(&l, ram, slots, maxmem, phys_bits, &err)) {
        g_test_message("layout_compute(ram 0x%" G_GINT64_MODIFIER "x, slots "
                       "%u, maxmem 0x%" G_GINT64_MODIFIER "x, %u bits) "
                       "succeeded: window [0x%" G_GINT64_MODIFIER "x, +0x%"
                       G_GINT64_MODIFIER "x)", ram, slots, maxmem, phys_bits,
                       l.window_base, l.window_size);
        g_test_fail();
        return;
    }
    g_assert_error(err, HM_ERROR, HM_ERROR_INVALID);
    if (!err)
        return;
    g_test_message("%s", err->message);
    if (!strstr(err->message, needle)) {
        g_test_message("message \"%s\" lacks \"%s\"", err->message, needle);
        g_test_fail();
    }
    g_error_free(err);
}

static void test_low_only_256m(void)
{
    struct layout l;

    compute_ok(&l, 256 * MiB, 0, 0, PHYS_BITS);
    g_assert_cmpuint(l.ram_size, ==, 256 * MiB);
    g_assert_cmpuint(l.low_size, ==, 256 * MiB);
    g_assert_cmpuint(l.high_size, ==, 0);
    g_assert_cmpuint(l.ram_end, ==, 256 * MiB);
    g_assert_cmpuint(l.window_size, ==, 0);
    g_assert_cmpuint(l.slots, ==, 0);
}

static void test_low_only_3g(void)
{
    struct layout l;

    compute_ok(&l, 3 * GiB, 0, 0, PHYS_BITS);
    g_assert_cmpuint(l.low_size, ==, LAYOUT_LOWMEM_LIMIT);
    g_assert_cmpuint(l.high_size, ==, 0);
    g_assert_cmpuint(l.ram_end, ==, 3 * GiB);
}

static void test_split_6g(void)
{
    struct layout l;

    compute_ok(&l, 6 * GiB, 0, 0, PHYS_BITS);
    g_assert_cmpuint(l.low_size, ==, 3 * GiB);
    g_assert_cmpuint(l.high_size, ==, 3 * GiB);
    g_assert_cmpuint(l.ram_end, ==, LAYOUT_HIGHMEM_BASE + 3 * GiB);
}

static void test_split_one_page(void)
{
    struct layout l;

    compute_ok(&l, 3 * GiB + 4 * KiB, 0, 0, PHYS_BITS);
    g_assert_cmpuint(l.low_size, ==, 3 * GiB);
    g_assert_cmpuint(l.high_size, ==, 4 * KiB);
    g_assert_cmpuint(l.ram_end, ==, 4 * GiB + 4 * KiB);
}

static void test_minimum(void)
{
    struct layout l;

    compute_ok(&l, 2 * MiB, 0, 0, PHYS_BITS);
    g_assert_cmpuint(l.low_size, ==, 2 * MiB);
    g_assert_cmpuint(l.ram_end, ==, 2 * MiB);
}

static void test_error_tiny(void)
{
    compute_fails(0, 0, 0, PHYS_BITS, "minimum");
    compute_fails(4 * KiB, 0, 0, PHYS_BITS, "0x1000");
    compute_fails(1 * MiB, 0, 0, PHYS_BITS, "0x100000 is below the minimum");
    compute_fails(2 * MiB - 4 * KiB, 0, 0, PHYS_BITS, "0x1ff000");
}

static void test_error_misaligned(void)
{
    compute_fails(256 * MiB + 1, 0, 0, PHYS_BITS, "0x10000001");
    compute_fails(256 * MiB + 2048, 0, 0, PHYS_BITS, "page size 0x1000");
    compute_fails(6 * GiB + 512, 2, 8 * GiB, PHYS_BITS, "page size");
}

static void assert_range(const struct e820_range *r, uint64_t addr,
                         uint64_t end, uint32_t type)
{
    g_assert_cmphex(r->addr, ==, addr);
    g_assert_cmphex(r->addr + r->size, ==, end);
    g_assert_cmpuint(r->type, ==, type);
}

/* Sorted, non-overlapping, and nothing in the DIMM window. */
static void assert_e820_sane(const struct layout *l,
                             const struct e820_range *e, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmpuint(e[i].size, >, 0);
        if (i > 0)
            g_assert_cmphex(e[i - 1].addr + e[i - 1].size, <=, e[i].addr);
        if (l->window_size)
            g_assert_true(e[i].addr + e[i].size <= l->window_base ||
                          e[i].addr >= l->window_base + l->window_size);
    }
}

static void test_e820_low(void)
{
    struct e820_range e[LAYOUT_MAX_E820];
    struct layout l;
    unsigned n;

    compute_ok(&l, 256 * MiB, 1, 512 * MiB, PHYS_BITS);
    n = layout_e820(&l, e, G_N_ELEMENTS(e));
    g_assert_cmpuint(n, ==, 3);
    assert_range(&e[0], 0, LAYOUT_EBDA_START, E820_RAM);
    assert_range(&e[1], LAYOUT_EBDA_START, LAYOUT_HIGH_START, E820_RESERVED);
    assert_range(&e[2], LAYOUT_HIGH_START, 256 * MiB, E820_RAM);
    assert_e820_sane(&l, e, n);
}

static void test_e820_split(void)
{
    struct e820_range e[LAYOUT_MAX_E820];
    struct layout l;
    unsigned n;

    compute_ok(&l, 6 * GiB, 8, 16 * GiB, PHYS_BITS);
    n = layout_e820(&l, e, G_N_ELEMENTS(e));
    g_assert_cmpuint(n, ==, 4);
    assert_range(&e[0], 0, 0x9fc00, E820_RAM);
    assert_range(&e[1], 0x9fc00, 0x100000, E820_RESERVED);
    assert_range(&e[2], 0x100000, 3 * GiB, E820_RAM);
    assert_range(&e[3], 4 * GiB, 7 * GiB, E820_RAM);
    assert_e820_sane(&l, e, n);
}

/* RAM that ends exactly at the hole: no empty entry at 4 GiB. */
static void test_e820_3g(void)
{
    struct e820_range e[LAYOUT_MAX_E820];
    struct layout l;
    unsigned n;

    compute_ok(&l, 3 * GiB, 0, 0, PHYS_BITS);
    n = layout_e820(&l, e, G_N_ELEMENTS(e));
    g_assert_cmpuint(n, ==, 3);
    assert_range(&e[2], 0x100000, 3 * GiB, E820_RAM);
}

static void test_e820_max(void)
{
    struct e820_range e[LAYOUT_MAX_E820];
    struct layout l;

    memset(e, 0xa5, sizeof(e));
    compute_ok(&l, 6 * GiB, 0, 0, PHYS_BITS);
    g_assert_cmpuint(layout_e820(&l, e, 2), ==, 2);
    assert_range(&e[1], 0x9fc00, 0x100000, E820_RESERVED);
    g_assert_cmphex(e[2].addr, ==, 0xa5a5a5a5a5a5a5a5ULL);
    g_assert_cmpuint(layout_e820(&l, e, 0), ==, 0);
}

static void test_window_base(void)
{
    static const struct {
        uint64_t ram, maxmem, base;
    } cases[] = {
        { 6 * GiB, 10 * GiB, 7 * GiB },                 /* already aligned */
        { 6 * GiB + 512 * MiB, 10 * GiB, 8 * GiB },
        { 3 * GiB + 4 * KiB, 8 * GiB, 5 * GiB },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct layout l;

        compute_ok(&l, cases[i].ram, 4, cases[i].maxmem, PHYS_BITS);
        g_assert_cmphex(l.window_base, ==, cases[i].base);
        g_assert_cmphex(l.window_base % LAYOUT_WINDOW_ALIGN, ==, 0);
        g_assert_cmphex(l.window_base, >=, l.ram_end);
        g_assert_cmphex(l.window_size % LAYOUT_WINDOW_ALIGN, ==, 0);
        g_assert_cmpuint(l.slots, ==, 4);
        g_assert_cmphex(l.maxmem, ==, cases[i].maxmem);
    }
}

/* Places DIMMs first-fit in arrival order; returns the end of the last. */
static uint64_t place_dimms(uint64_t base, const uint64_t *size,
                            const uint64_t *align, unsigned n)
{
    uint64_t addr = base;

    for (unsigned i = 0; i < n; i++) {
        addr = (addr + align[i] - 1) & ~(align[i] - 1);
        addr += size[i];
    }
    return addr;
}

/*
 * Adversarial sets: every DIMM aligned to 1 GiB (or 2 MiB) with sizes that
 * leave the most padding, summing to exactly maxmem - size.
 */
static void check_dimm_set(uint64_t ram, uint32_t slots, uint64_t maxmem,
                           uint64_t align, uint64_t small)
{
    g_autofree uint64_t *size = g_new(uint64_t, slots);
    g_autofree uint64_t *al = g_new(uint64_t, slots);
    uint64_t left = maxmem - ram;
    struct layout l;

    compute_ok(&l, ram, slots, maxmem, PHYS_BITS);
    for (uint32_t i = 0; i < slots; i++) {
        size[i] = i + 1 < slots ? MIN(small, left) : left;
        left -= size[i];
        al[i] = align;
    }
    g_assert_cmphex(place_dimms(l.window_base, size, al, slots), <=,
                    l.window_base + l.window_size);
}

static void test_window_fits_dimms(void)
{
    check_dimm_set(256 * MiB, 1, 1 * GiB + 256 * MiB, GiB, 4 * KiB);
    check_dimm_set(6 * GiB, 8, 16 * GiB, GiB, 4 * KiB);
    check_dimm_set(6 * GiB, 8, 16 * GiB, GiB, GiB + 4 * KiB);
    check_dimm_set(6 * GiB, 8, 16 * GiB, 2 * MiB, 2 * MiB + 4 * KiB);
    check_dimm_set(6 * GiB + 4 * KiB, 256, 300 * GiB, GiB, 4 * KiB);
    check_dimm_set(8 * GiB, 3, 8 * GiB + 12 * KiB, GiB, 4 * KiB);
}

static void test_window_no_slots(void)
{
    struct layout l;

    compute_ok(&l, 6 * GiB, 0, 0, PHYS_BITS);
    g_assert_cmpuint(l.window_size, ==, 0);
    compute_ok(&l, 6 * GiB, 0, 6 * GiB, PHYS_BITS);
    g_assert_cmpuint(l.window_size, ==, 0);
    /* No window, so no limit from a small address width either. */
    compute_ok(&l, 6 * GiB, 0, 6 * GiB, 36);
}

static void test_window_phys_bits(void)
{
    struct layout l;

    /* [7 GiB, 64 GiB): 56 GiB hot-pluggable + 1 GiB for one slot. */
    compute_ok(&l, 6 * GiB, 1, 62 * GiB, 36);
    g_assert_cmphex(l.window_base + l.window_size, ==, 1ULL << 36);
    compute_fails(6 * GiB, 1, 62 * GiB + 4 * KiB, 36,
                  "guest physical address width of 36 bits");
    compute_fails(6 * GiB, 256, 7 * GiB, 36, "256 slots");
    compute_fails(1 * GiB, 1, 64 * GiB, 36, "0x1000000000");
    compute_ok(&l, 6 * GiB, 256, 1ULL << 50, 52);
    compute_ok(&l, 6 * GiB, 256, 1ULL << 50, 64);
}

/*
 * A maxmem near 2^64 (the CLI accepts maxmem=18446744073709547520B) must be
 * refused, not turned into a small window by a wrapped window size.
 */
static void test_window_wraps(void)
{
    uint64_t huge = UINT64_MAX & ~(LAYOUT_PAGE_SIZE - 1);

    compute_fails(6 * GiB, 256, huge, PHYS_BITS, "address width");
    compute_fails(6 * GiB, 256, huge, 64, "address width");
}

/*
 * The DIMM window must not cover the 32-bit hole [3 GiB, 4 GiB), where the
 * IOAPIC (0xfec00000) and LAPIC (0xfee00000) live: a DIMM placed there would
 * be shadowed by MMIO. QEMU starts device memory above 4 GiB for this reason.
 */
static void test_window_avoids_hole(void)
{
    static const struct {
        uint64_t ram, maxmem;
        uint32_t slots;
    } cases[] = {
        { 256 * MiB, 2 * GiB, 2 },
        { 1 * GiB, 8 * GiB, 4 },
        { 2 * GiB, 3 * GiB, 1 },
        { 3 * GiB, 4 * GiB, 1 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct layout l;
        uint64_t end;

        compute_ok(&l, cases[i].ram, cases[i].slots, cases[i].maxmem,
                   PHYS_BITS);
        end = l.window_base + l.window_size;
        g_test_message("ram 0x%" G_GINT64_MODIFIER "x: window [0x%"
                       G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER "x)",
                       cases[i].ram, l.window_base, end);
        g_assert_true(end <= LAYOUT_LOWMEM_LIMIT ||
                      l.window_base >= LAYOUT_HIGHMEM_BASE);
    }
}

/* Bad input yields an error, not a window computed from a wrapped value. */
static void test_error_maxmem_below_ram(void)
{
    compute_fails(1 * GiB, 2, 512 * MiB, PHYS_BITS, "maxmem");
    compute_fails(6 * GiB, 4, 0, PHYS_BITS, "maxmem");
}

/* Boot RAM above the address width is as unreachable as a window there. */
static void test_error_ram_beyond_phys_bits(void)
{
    compute_fails(64 * GiB, 0, 0, 36, "36 bits");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* Report every failing case, not just the first. */
    g_test_set_nonfatal_assertions();
    g_test_add_func("/layout/ram/low-only-256M", test_low_only_256m);
    g_test_add_func("/layout/ram/low-only-3G", test_low_only_3g);
    g_test_add_func("/layout/ram/split-6G", test_split_6g);
    g_test_add_func("/layout/ram/split-one-page", test_split_one_page);
    g_test_add_func("/layout/ram/minimum-2M", test_minimum);
    g_test_add_func("/layout/error/tiny", test_error_tiny);
    g_test_add_func("/layout/error/misaligned", test_error_misaligned);
    g_test_add_func("/layout/e820/low-only", test_e820_low);
    g_test_add_func("/layout/e820/split", test_e820_split);
    g_test_add_func("/layout/e820/exactly-3G", test_e820_3g);
    g_test_add_func("/layout/e820/max-entries", test_e820_max);
    g_test_add_func("/layout/window/base", test_window_base);
    g_test_add_func("/layout/window/fits-dimms", test_window_fits_dimms);
    g_test_add_func("/layout/window/no-slots", test_window_no_slots);
    g_test_add_func("/layout/window/phys-bits", test_window_phys_bits);
    g_test_add_func("/layout/window/wraps", test_window_wraps);
    g_test_add_func("/layout/window/avoids-32bit-hole",
                    test_window_avoids_hole);
    g_test_add_func("/layout/error/maxmem-below-ram",
                    test_error_maxmem_below_ram);
    g_test_add_func("/layout/error/ram-beyond-phys-bits",
                    test_error_ram_beyond_phys_bits);
    return g_test_run();
}
