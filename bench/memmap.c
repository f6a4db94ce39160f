/*
 * bench/memmap: the cost of one guest-physical translation, for memslot
 * tables of 2, 32 and 256 slots (the DIMM limit), three ways:
 *
 *   cached    memmap_translate() with a warm per-thread cache: every
 *             lookup lands in the slot the cache remembers (a vCPU
 *             hammering one device buffer);
 *   uncached  memmap_gpa_to_hva(): read lock plus binary search each time;
 *   missing   memmap_translate() where each lookup is in another slot than
 *             the one before, so the cache misses every time (generation
 *             check, then the same search, plus the refill).
 *
 * uncached and missing use the same random sequence of slots.
 *
 * No KVM: the table is built with a fake KVM_SET_USER_MEMORY_REGION, and
 * host addresses are never dereferenced. ns per lookup, median of RUNS runs.
 *
 *   bench-memmap [LOOKUPS [RUNS]]       (default 4000000 and 7)
 *
 * Figures, never assertions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <glib.h>

#include "mmu/memmap.h"

#include "benchstat.h"

#define SLOT_SIZE   (128ULL << 20)
#define BASE        (4ULL << 30)
#define NADDR       4096            /* precomputed addresses, a power of 2 */

static int fake_set_region(void *opaque, uint32_t slot, uint32_t flags,
                           uint64_t gpa, uint64_t size, void *hva)
{
    return 0;
}

/* Adjacent slots with a 2 MiB gap between them, as DIMMs in the window. */
static struct memmap *build_table(unsigned slots)
{
    struct memmap *mm = memmap_new(slots, fake_set_region, NULL);

    for (unsigned i = 0; i < slots; i++) {
        uint64_t gpa = BASE + i * (SLOT_SIZE + (2ULL << 20));
        g_autofree char *owner = g_strdup_printf("dimm%u", i);

        if (!memmap_add(mm, gpa, SLOT_SIZE,
                        (void *)(uintptr_t)(0x7f0000000000ULL + gpa), 0,
                        owner, NULL, NULL)) {
            g_printerr("bench-memmap: cannot add slot %u\n", i);
            exit(1);
        }
    }
    return mm;
}

enum mode { CACHED, UNCACHED, MISSING };

/* Addresses for a mode: 8-byte aligned, at random offsets in the slots. */
static void fill_addresses(uint64_t *addr, unsigned slots, enum mode mode,
                           uint32_t seed)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
    unsigned prev = 0;

    for (unsigned i = 0; i < NADDR; i++) {
        unsigned s = 0;

        /* Random slots, never the previous one: the cache always misses
         * (uncached sees the same sequence, for comparison). */
        while (mode != CACHED && s == prev)
            s = (unsigned)g_rand_int_range(rand, 0, (gint32)slots);
        prev = s;
        addr[i] = BASE + s * (SLOT_SIZE + (2ULL << 20)) +
                  (g_rand_int_range(rand, 0, (gint32)(SLOT_SIZE / 8)) * 8ULL);
    }
}

static double run(struct memmap *mm, const uint64_t *addr, enum mode mode,
                  unsigned long lookups)
{
    struct memmap_cache cache = { 0 };
    uintptr_t sink = 0;
    double t0 = bench_now_ns();

    for (unsigned long i = 0; i < lookups; i++) {
        uint64_t gpa = addr[i & (NADDR - 1)];

        if (mode == UNCACHED)
            sink += (uintptr_t)memmap_gpa_to_hva(mm, gpa, 8);
        else
            sink += (uintptr_t)memmap_translate(mm, &cache, gpa, 8);
    }
    if (sink == 1)          /* keeps the loop; never true */
        printf("!");
    return (bench_now_ns() - t0) / (double)lookups;
}

int main(int argc, char **argv)
{
    static const unsigned sizes[] = { 2, 32, 256 };
    static const char *const names[] = { "cached", "uncached", "missing" };
    unsigned long lookups = argc > 1 ? strtoul(argv[1], NULL, 0) : 4000000;
    unsigned runs = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 7;
    uint64_t addr[NADDR];
    double *t = g_new(double, runs);

    bench_print_environment(stdout);
    if (!lookups || !runs) {
        g_printerr("usage: bench-memmap [LOOKUPS [RUNS]]\n");
        return 2;
    }
    printf("memmap lookup, ns per lookup (median of %u runs of %lu)\n",
           runs, lookups);
    printf("%6s %10s %10s %10s\n", "slots", names[0], names[1], names[2]);
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        struct memmap *mm = build_table(sizes[s]);

        printf("%6u", sizes[s]);
        for (enum mode mode = CACHED; mode <= MISSING; mode++) {
            fill_addresses(addr, sizes[s], mode, 42 + s);
            run(mm, addr, mode, lookups / 10 + 1);      /* warm up */
            for (unsigned r = 0; r < runs; r++)
                t[r] = run(mm, addr, mode, lookups);
            printf(" %10.1f", bench_median(t, runs));
        }
        printf("\n");
        memmap_free(mm);
    }
    g_free(t);
    return 0;
}
