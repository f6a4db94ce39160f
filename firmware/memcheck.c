/* The DIMM memory check (memcheck.h). Runs natively in ring 3. */
#include "memcheck.h"

#include "x86.h"

/*
 * The high bytes make every pattern differ from what an unbacked address
 * reads (all ones in hotmem, 0 in QEMU); the low bits are the address, so
 * two words that alias each other hold different patterns.
 */
#define MEMCHECK_XOR 0xa5a5a5a500000000ULL

#define WORD 8

static uint64_t pattern(uint64_t addr)
{
    return addr ^ MEMCHECK_XOR;
}

/* Writes the pattern (verify false) or compares against it (verify true). */
static bool check_word(uint64_t addr, bool verify, struct memcheck_failure *f)
{
    volatile uint64_t *p = (volatile uint64_t *)addr;
    uint64_t got;

    if (!verify) {
        *p = pattern(addr);
        return true;
    }
    got = *p;
    if (got == pattern(addr))
        return true;
    f->addr = addr;
    f->expected = pattern(addr);
    f->got = got;
    return false;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/*
 * One pass over the checked words. Offsets are clamped to the last word, so
 * a range shorter than a page still works; words checked twice hold the
 * same pattern.
 */
static bool check_pass(uint64_t base, uint64_t size, bool verify,
                       struct memcheck_failure *f)
{
    uint64_t last = size - WORD;
    uint64_t last_page = size > PAGE_SIZE ? size - PAGE_SIZE : 0;
    uint64_t edges[4] = { 0, min_u64(PAGE_SIZE - WORD, last), last_page, last };
    uint64_t off;
    unsigned i;

    for (i = 0; i < 4; i++)
        if (!check_word(base + edges[i], verify, f))
            return false;
    for (off = PAGE_SIZE_2M; off <= last; off += PAGE_SIZE_2M)
        if (!check_word(base + off, verify, f))
            return false;
    return true;
}

bool memcheck_range(uint64_t base, uint64_t size, struct memcheck_failure *f)
{
    check_pass(base, size, false, f);
    return check_pass(base, size, true, f);
}
