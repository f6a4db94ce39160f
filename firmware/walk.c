/*
 * The "walk" console command: a TLB-bound load. COUNT dependent 8-byte
 * reads at random cache lines of [BASE, BASE + SIZE), from ring 3 at native
 * speed; each address depends on the value read before it, so the reads
 * cannot overlap and each one pays its full translation cost. Over a range
 * much larger than the TLB's reach, that cost is what the host's page size
 * decides: hotmem-guest maps memory with 2 MiB pages, so the TLB holds
 * 2 MiB translations only where the host backs them with 2 MiB pages too
 * (transparent huge pages), else 4 KiB ones.
 *
 * Before the timed reads, one write per 4 KiB page of the range (the
 * warm-up, timed apart; each word keeps its value) faults every page into
 * the host's and the MMU's tables, so the walk measures translation, not
 * first touch. Reports TSC
 * ticks and the TSC frequency (tsc.c); the host turns them into time.
 */
#include "walk.h"

#include "command.h"
#include "dirty.h"
#include "lib.h"
#include "print.h"
#include "tsc.h"
#include "x86.h"

#define WALK_MAX_COUNT  1000000000u
#define CACHE_LINE      64

/* xorshift64* (Vigna): a full-period 64-bit generator, seed never 0. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/*
 * Rewrites the first word of every 4 KiB page with its own value: every
 * page is then backed by memory of its own (a read alone would map the
 * host's shared zero page) and mapped before the timed walk, and the
 * contents are kept (a DIMM's check pattern survives).
 */
static uint64_t warm_up(uint64_t base, uint64_t size)
{
    uint64_t sum = 0;

    for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
        volatile uint64_t *p = (volatile uint64_t *)(base + off);
        uint64_t v = *p;

        *p = v;
        sum += v;
    }
    return sum;
}

/*
 * count reads, each at a line chosen from the generator plus the value
 * just read (0 in fresh memory, but the CPU cannot know that): a chain of
 * dependent loads.
 */
static uint64_t walk_lines(uint64_t base, uint64_t lines, uint32_t count)
{
    uint64_t state = 0x9e3779b97f4a7c15ULL, v = 0;

    for (uint32_t i = 0; i < count; i++) {
        uint64_t line = (next_random(&state) + v) % lines;

        v = *(volatile uint64_t *)(base + line * CACHE_LINE);
    }
    return v;
}

void cmd_walk(const struct boot_info *info, const struct command *cmd,
              char *args)
{
    uint64_t base, size, hz, t0, warm, ticks, sum;
    const char *source;
    uint32_t count;
    char *w[3];

    if (command_split_words(args, w, 3) != 3) {
        command_usage_error(cmd);
        return;
    }
    if (!command_parse_hex("walk: BASE", w[0], &base) ||
        !command_parse_hex("walk: SIZE", w[1], &size) ||
        !command_parse_dec("walk: COUNT", w[2], WALK_MAX_COUNT, &count))
        return;
    if (base % PAGE_SIZE || size % PAGE_SIZE || !size || !count) {
        print_line("error walk: BASE 0x%lx and SIZE 0x%lx must be multiples "
                   "of 0x1000, SIZE and COUNT non-zero", base, size);
        return;
    }
    if (!dirty_range_ok(info, base, size)) {
        print_line("error walk: [0x%lx, 0x%lx) is not RAM above the guest's "
                   "image nor in the DIMM window", base, base + size);
        return;
    }
    hz = tsc_hz(&source);
    if (!hz) {
        print_line("error walk: cannot tell the TSC frequency");
        return;
    }
    t0 = tsc_read();
    sum = warm_up(base, size);
    warm = tsc_read() - t0;
    t0 = tsc_read();
    sum += walk_lines(base, size / CACHE_LINE, count);
    ticks = tsc_read() - t0;
    print_line("walk done base=0x%lx size=0x%lx count=%u ticks=%lu "
               "warm-ticks=%lu tsc-hz=%lu sum=0x%lx", base, size, count,
               ticks, warm, hz, sum);
}
