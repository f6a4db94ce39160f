/*
 * The "dirty" console command: a paced page-dirtying load for measuring
 * the VMM's dirty-rate (calc-dirty-rate). Runs in ring 3 at native speed:
 * one read-modify-write of the first byte of each 4 KiB page, pages taken
 * in order across [BASE, BASE + SIZE) and wrapping, PAGES_PER_SEC of them
 * per second for SECONDS, paced by the TSC. The console is blocked while it
 * runs (interrupts stay pending until it is done). The TSC frequency comes
 * from tsc.c.
 */
#include "dirty.h"

#include "lib.h"
#include "print.h"
#include "tsc.h"
#include "x86.h"

#define DIRTY_MAX_RATE      1000000u
#define DIRTY_MAX_SECONDS   600u

extern char _end[];

/* Says where the frequency came from at every run, as the tests expect. */
static uint64_t dirty_tsc_hz(void)
{
    const char *source;
    uint64_t hz = tsc_hz(&source);

    if (hz)
        print_line("dirty tsc-hz=%lu source=%s", hz, source);
    return hz;
}

/* RAM at or above the guest's own image, or the DIMM window. */
bool dirty_range_ok(const struct boot_info *info, uint64_t base,
                    uint64_t size)
{
    uint64_t low = align_up_u64((uint64_t)_end, PAGE_SIZE_2M);
    uint64_t end = base + size;

    if (end < base || base < low)
        return false;
    if (base >= info->window_base && end <= info->window_limit)
        return true;
    for (uint32_t i = 0; i < info->memmap_kept; i++) {
        const struct hvm_memmap_table_entry *e = &info->memmap[i];

        if (e->type == 1 && base >= e->addr && end <= e->addr + e->size)
            return true;
    }
    return false;
}

/* Writes pages until total, never ahead of rate * elapsed. */
static uint64_t dirty_loop(uint64_t base, uint64_t pages, uint64_t rate,
                           uint64_t total, uint64_t hz, uint64_t *ticks)
{
    uint64_t start = tsc_read(), n = 0, next = 0;

    while (n < total) {
        uint64_t due = (tsc_read() - start) * rate / hz;

        if (due > total)
            due = total;
        while (n < due) {
            volatile uint8_t *p = (volatile uint8_t *)(base + next * PAGE_SIZE);

            *p = (uint8_t)(*p + 1);     /* the content changes every pass */
            next = next + 1 == pages ? 0 : next + 1;
            n++;
        }
        __asm__ volatile("pause");
    }
    *ticks = tsc_read() - start;
    return n;
}

static bool parse_args(char **w, uint32_t *rate, uint64_t *base,
                       uint64_t *size, uint32_t *seconds)
{
    if (!parse_dec_u32(w[0], DIRTY_MAX_RATE, rate) || !*rate) {
        print_line("error dirty: PAGES_PER_SEC \"%s\" must be 1 to %u", w[0],
                   DIRTY_MAX_RATE);
        return false;
    }
    if (!parse_hex_u64(w[1], base) || !parse_hex_u64(w[2], size)) {
        print_line("error dirty: BASE and SIZE must be 64-bit hex numbers");
        return false;
    }
    if (!parse_dec_u32(w[3], DIRTY_MAX_SECONDS, seconds) || !*seconds) {
        print_line("error dirty: SECONDS \"%s\" must be 1 to %u", w[3],
                   DIRTY_MAX_SECONDS);
        return false;
    }
    if (*base % PAGE_SIZE || *size % PAGE_SIZE || !*size) {
        print_line("error dirty: BASE 0x%lx and SIZE 0x%lx must be non-zero "
                   "multiples of 0x1000", *base, *size);
        return false;
    }
    return true;
}

/* Splits args at spaces into exactly 4 words, in place. */
static bool four_words(char *args, char **w)
{
    unsigned n = 0;

    for (;;) {
        while (*args == ' ')
            args++;
        if (!*args)
            return n == 4;
        if (n == 4)
            return false;
        w[n++] = args;
        while (*args && *args != ' ')
            args++;
        if (*args)
            *args++ = '\0';
    }
}

void cmd_dirty(const struct boot_info *info, const struct command *cmd,
               char *args)
{
    uint32_t rate, seconds;
    uint64_t base, size, hz, n, ticks, ms;
    char *w[4];

    if (!four_words(args, w)) {
        print_line("error usage: dirty PAGES_PER_SEC BASE SIZE SECONDS");
        return;
    }
    if (!parse_args(w, &rate, &base, &size, &seconds))
        return;
    if (!dirty_range_ok(info, base, size)) {
        print_line("error dirty: [0x%lx, 0x%lx) is not RAM above 0x%lx nor "
                   "in the DIMM window", base, base + size,
                   align_up_u64((uint64_t)_end, PAGE_SIZE_2M));
        return;
    }
    hz = dirty_tsc_hz();
    if (!hz) {
        print_line("error dirty: cannot tell the TSC frequency");
        return;
    }
    n = dirty_loop(base, size / PAGE_SIZE, rate, (uint64_t)rate * seconds,
                   hz, &ticks);
    ms = ticks * 1000 / hz;
    /* print_line has no zero padding: the three decimals by hand. */
    print_line("dirty done pages=%lu seconds=%lu.%c%c%c rate=%lu", n,
               ms / 1000, (char)('0' + ms / 100 % 10),
               (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
               ticks ? n * hz / ticks : 0);
}
