/*
 * Seeded patterns that show whether memory survived a migration
 * (docs/guest-console.md, "pattern"). The pages of one or two ranges are
 * taken as one sequence and written in passes, in order and wrapping;
 * pass P fills each page: a value V derived from SEED, the page's
 * address and P in the second u64, V plus the word's index in the words
 * after it, V's complement in the last u64, and its pass number in the
 * first u64, written last. So at any instant the pages hold pass P up to
 * some page and pass P-1 after it, and pattern-check, which reads every
 * byte, can tell a page that missed a write (an older pass in the
 * middle), a page that was lost (a wrong value) or a torn page (words of
 * two passes) apart. A new
 * run goes on from where the memory says the last one stopped, so a
 * migrated guest can write on and be checked again.
 */
#include "pattern.h"

#include "command.h"
#include "dirty.h"
#include "lib.h"
#include "print.h"
#include "serial.h"
#include "tsc.h"
#include "x86.h"

#define MAX_RATE        10000000u
#define MAX_SECONDS     600u
#define MAX_RANGES      2u
/*
 * Console input is looked for every 1/10 s or every 256 pages written,
 * whichever comes first (a port read each, which traps): a fast writer
 * then stops long before it comes round to the pages it wrote before (a
 * migration test checks what the last pass brought over, not what it
 * rewrote). Polling 100 times a second made a writer paced at 2048
 * pages/s fall more than 10 ms behind often enough to lose a third of
 * its pages here (kvm_pvm).
 */
#define INPUT_POLLS_PER_SEC 10u
#define INPUT_POLL_PAGES    256u
/* A paced run catches up at most rate / CATCH_UP_DIV pages (10 ms). */
#define CATCH_UP_DIV        100u

struct ranges {
    uint64_t base[MAX_RANGES], pages[MAX_RANGES], total;
    unsigned n;
};

static uint64_t mix(uint64_t seed, uint64_t addr, uint64_t pass)
{
    /* splitmix64's finaliser over the three inputs. */
    uint64_t z = seed ^ (addr * 0x9e3779b97f4a7c15ULL) ^
                 (pass * 0xbf58476d1ce4e5b9ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t page_addr(const struct ranges *r, uint64_t i)
{
    return i < r->pages[0] ? r->base[0] + i * PAGE_SIZE
                           : r->base[1] + (i - r->pages[0]) * PAGE_SIZE;
}

static volatile uint64_t *words(uint64_t addr)
{
    return (volatile uint64_t *)addr;
}

#define PAGE_WORDS      (PAGE_SIZE / 8)

/* Word k of a page of pass P whose value is v (P 0: never written). */
static uint64_t expected_word(uint64_t pass, uint64_t v, unsigned k)
{
    if (!pass)
        return 0;
    if (k == 0)
        return pass;
    return k == PAGE_WORDS - 1 ? ~v : v + k - 1;
}

static void write_page(uint64_t addr, uint64_t seed, uint64_t pass)
{
    uint64_t v = mix(seed, addr, pass);

    for (unsigned k = 1; k < PAGE_WORDS; k++)
        words(addr)[k] = expected_word(pass, v, k);
    words(addr)[0] = pass;
}

static bool parse_ranges(const struct boot_info *info, const char *name,
                         char **w, unsigned n, struct ranges *r)
{
    r->n = n / 2;
    r->total = 0;
    r->pages[1] = 0;
    for (unsigned i = 0; i < r->n; i++) {
        uint64_t size;

        if (!parse_hex_u64(w[2 * i], &r->base[i]) ||
            !parse_hex_u64(w[2 * i + 1], &size) || r->base[i] % PAGE_SIZE ||
            size % PAGE_SIZE || !size) {
            print_line("error %s: BASE and SIZE must be hex, non-zero "
                       "multiples of 0x1000", name);
            return false;
        }
        if (!dirty_range_ok(info, r->base[i], size)) {
            print_line("error %s: [0x%lx, 0x%lx) is not RAM above the "
                       "guest's image nor in the DIMM window", name,
                       r->base[i], r->base[i] + size);
            return false;
        }
        r->pages[i] = size / PAGE_SIZE;
        r->total += r->pages[i];
    }
    return true;
}

/*
 * Where the last run stopped: *pass of the first page, *next the first
 * page holding another pass (total when none). Fresh memory: pass 1,
 * page 0.
 */
static void find_position(const struct ranges *r, uint64_t *pass,
                          uint64_t *next)
{
    uint64_t p = words(page_addr(r, 0))[0], i;

    for (i = 1; i < r->total; i++) {
        if (words(page_addr(r, i))[0] != p)
            break;
    }
    *pass = p;
    *next = i;
}

/*
 * Checks every byte of every page; false with a report line at the first
 * bad word. A page written by pass P holds expected_word(P, ...) in each
 * word; a page not written yet holds zeros.
 */
static bool check(const struct ranges *r, uint64_t seed, uint64_t pass,
                  uint64_t next)
{
    for (uint64_t i = 0; i < r->total; i++) {
        uint64_t addr = page_addr(r, i);
        uint64_t want = i < next ? pass : pass - 1;
        uint64_t v = want ? mix(seed, addr, want) : 0;

        for (unsigned k = 0; k < PAGE_WORDS; k++) {
            uint64_t exp = expected_word(want, v, k), got = words(addr)[k];

            if (got == exp)
                continue;
            print_line("pattern-check failed addr=0x%lx word=%u pass=%lu "
                       "expected=0x%lx got=0x%lx", addr, k, want, exp, got);
            return false;
        }
    }
    return true;
}

void cmd_pattern_check(const struct boot_info *info,
                       const struct command *cmd, char *args)
{
    char *w[1 + 2 * MAX_RANGES];
    unsigned n = command_split_words(args, w, 1 + 2 * MAX_RANGES);
    struct ranges r;
    uint64_t seed, pass, next;

    if ((n != 3 && n != 5) || !parse_hex_u64(w[0], &seed)) {
        print_line("error usage: pattern-check SEED BASE SIZE [BASE SIZE]");
        return;
    }
    if (!parse_ranges(info, "pattern-check", w + 1, n - 1, &r))
        return;
    find_position(&r, &pass, &next);
    if (check(&r, seed, pass, next))
        print_line("pattern-check ok pages=%lu pass=%lu next=%lu", r.total,
                   pass, next);
}

void cmd_pattern(const struct boot_info *info, const struct command *cmd,
                 char *args)
{
    char *w[3 + 2 * MAX_RANGES];
    unsigned n = command_split_words(args, w, 3 + 2 * MAX_RANGES);
    uint32_t rate, seconds;
    uint64_t seed, pass, next, hz, start, end, poll, poll_done, done = 0;
    uint64_t ms, behind = 0;
    struct ranges r;
    const char *source;

    if ((n != 5 && n != 7) || !parse_hex_u64(w[0], &seed) ||
        !parse_dec_u32(w[1], MAX_RATE, &rate) ||
        !parse_dec_u32(w[2], MAX_SECONDS, &seconds) || !seconds) {
        print_line("error usage: pattern SEED PAGES_PER_SEC SECONDS BASE "
                   "SIZE [BASE SIZE] (PAGES_PER_SEC at most %u, 0: as fast "
                   "as it can; SECONDS 1 to %u)", MAX_RATE, MAX_SECONDS);
        return;
    }
    if (!parse_ranges(info, "pattern", w + 3, n - 3, &r))
        return;
    hz = tsc_hz(&source);
    if (!hz) {
        print_line("error pattern: cannot tell the TSC frequency");
        return;
    }
    find_position(&r, &pass, &next);
    if (!pass || next == r.total) {     /* fresh, or a pass just ended */
        pass++;
        next = 0;
    }
    /* Tests wait for this before they count on pages being written. */
    print_line("pattern started pass=%lu next=%lu", pass, next);
    start = tsc_read();
    end = start + (uint64_t)seconds * hz;
    poll = start + hz / INPUT_POLLS_PER_SEC;
    poll_done = INPUT_POLL_PAGES;
    for (uint64_t now = start; now < end; now = tsc_read()) {
        uint64_t due = rate ? (now - start) * rate / hz - behind : done + 256;

        /*
         * Behind by more than 10 ms of pages (the vCPU did not run, e.g.
         * throttled): the rest is let go, so the rate is what the writer
         * gets done while it runs, as for a program bound by its CPU.
         */
        if (rate && due > done + rate / CATCH_UP_DIV + 1) {
            behind += due - done - rate / CATCH_UP_DIV - 1;
            due = done + rate / CATCH_UP_DIV + 1;
        }
        while (done < due) {
            write_page(page_addr(&r, next), seed, pass);
            done++;
            if (++next == r.total) {
                next = 0;
                pass++;
            }
        }
        /* A line on the console ends the run early; it is read next. */
        if (now >= poll || done >= poll_done) {
            if (serial_rx_pending())
                break;
            poll = now + hz / INPUT_POLLS_PER_SEC;
            poll_done = done + INPUT_POLL_PAGES;
        }
        __asm__ volatile("pause");
    }
    ms = (tsc_read() - start) * 1000 / hz;
    print_line("pattern done pages=%lu pass=%lu next=%lu seconds=%lu.%c%c%c",
               done, next ? pass : pass - 1, next ? next : r.total,
               ms / 1000, (char)('0' + ms / 100 % 10),
               (char)('0' + ms / 10 % 10), (char)('0' + ms % 10));
}
