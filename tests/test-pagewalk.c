/*
 * The guest page-table walker against page tables built in a host buffer
 * that plays guest-physical memory [0, FAKE_SIZE).
 */
#include <string.h>
#include <glib.h>

#include "mmu/pagewalk.h"

#define FAKE_SIZE   (1u << 20)
#define KiB         (1ULL << 10)
#define MiB         (1ULL << 20)
#define GiB         (1ULL << 30)

#define CR0_PG      (1ULL << 31)
#define CR4_PSE     (1ULL << 4)
#define CR4_PAE     (1ULL << 5)
#define CR4_LA57    (1ULL << 12)
#define EFER_LME    (1ULL << 8)
#define EFER_LMA    (1ULL << 10)
#define P           1ULL        /* present */
#define RW          2ULL
#define PS          (1ULL << 7)
#define XD          (1ULL << 63)

struct fake {
    uint8_t *mem;
    uint64_t next_free;     /* bump allocator for table pages */
    unsigned reads;
};

static bool fake_read(void *opaque, uint64_t pa, void *buf, size_t len)
{
    struct fake *f = opaque;

    f->reads++;
    if (pa >= FAKE_SIZE || len > FAKE_SIZE - pa)
        return false;
    memcpy(buf, f->mem + pa, len);
    return true;
}

static void fake_init(struct fake *f)
{
    f->mem = g_malloc0(FAKE_SIZE);
    f->next_free = 0x1000;
    f->reads = 0;
}

static uint64_t alloc_table(struct fake *f)
{
    uint64_t pa = f->next_free;

    f->next_free += 0x1000;
    g_assert_cmpuint(f->next_free, <=, FAKE_SIZE);
    return pa;
}

static uint64_t get64(struct fake *f, uint64_t pa)
{
    uint64_t v;

    memcpy(&v, f->mem + pa, 8);
    return v;
}

static void put64(struct fake *f, uint64_t pa, uint64_t v)
{
    memcpy(f->mem + pa, &v, 8);
}

static void put32(struct fake *f, uint64_t pa, uint32_t v)
{
    memcpy(f->mem + pa, &v, 4);
}

/*
 * Maps va to pa with a page of page_size (4K, 2M or 1G) in the 4- or
 * 5-level tables rooted at root, creating tables on the way. Returns the
 * guest-physical address of the leaf entry.
 */
static uint64_t map64(struct fake *f, uint64_t root, unsigned levels,
                      uint64_t va, uint64_t pa, uint64_t page_size,
                      uint64_t extra)
{
    uint64_t table = root;

    for (int shift = 12 + 9 * (int)(levels - 1); ; shift -= 9) {
        uint64_t entry_pa = table + ((va >> shift) & 511) * 8;
        uint64_t e = get64(f, entry_pa);

        if (1ULL << shift == page_size) {
            put64(f, entry_pa, pa | P | RW | extra |
                               (page_size > 4 * KiB ? PS : 0));
            return entry_pa;
        }
        if (!(e & P)) {
            e = alloc_table(f) | P | RW;
            put64(f, entry_pa, e);
        }
        table = e & 0x000ffffffffff000ULL;
    }
}

static struct pagewalk_regs regs_4level(uint64_t cr3)
{
    return (struct pagewalk_regs){ .cr0 = CR0_PG | 1, .cr3 = cr3,
                                   .cr4 = CR4_PAE,
                                   .efer = EFER_LME | EFER_LMA };
}

static void expect_ok(const struct pagewalk_regs *r, struct fake *f,
                      uint64_t va, uint64_t want_pa, uint64_t want_size)
{
    GError *err = NULL;
    uint64_t pa = 0, size = 0;

    g_assert_true(pagewalk_translate(r, fake_read, f, va, &pa, &size,
                                     &err));
    g_assert_no_error(err);
    g_assert_cmphex(pa, ==, want_pa);
    g_assert_cmphex(size, ==, want_size);
}

static void expect_fail(const struct pagewalk_regs *r, struct fake *f,
                        uint64_t va, int code, const char *needle)
{
    GError *err = NULL;
    uint64_t pa = 0, size = 0;

    g_assert_false(pagewalk_translate(r, fake_read, f, va, &pa, &size,
                                      &err));
    g_assert_error(err, PAGEWALK_ERROR, code);
    if (g_test_verbose())
        g_printerr("%s\n", err->message);
    g_assert_nonnull(strstr(err->message, needle));
    g_error_free(err);
}

static void test_4level_sizes(void)
{
    struct fake f;
    uint64_t root;
    struct pagewalk_regs r;

    fake_init(&f);
    root = alloc_table(&f);
    r = regs_4level(root | 0x18);       /* PWT/PCD bits are not address */
    map64(&f, root, 4, 0x00007f1234567000ULL, 0xabcdef000ULL, 4 * KiB, XD);
    map64(&f, root, 4, 0x0000000040200000ULL, 0x3fe00000ULL, 2 * MiB, 0);
    /* Bit 12 of a large-page entry is PAT, not address. */
    map64(&f, root, 4, 0x0000000080400000ULL, 0x7600000ULL, 2 * MiB,
          1ULL << 12);
    map64(&f, root, 4, 0xffff800000000000ULL, 0xfc0000000ULL, GiB, XD);
    expect_ok(&r, &f, 0x00007f1234567abcULL, 0xabcdefabcULL, 4 * KiB);
    expect_ok(&r, &f, 0x0000000040212345ULL, 0x3fe12345ULL, 2 * MiB);
    expect_ok(&r, &f, 0x00000000805fffffULL, 0x77fffffULL, 2 * MiB);
    expect_ok(&r, &f, 0xffff80003ffffff8ULL, 0xffffffff8ULL, GiB);
    g_free(f.mem);
}

/* A 4 KiB mapping, then each entry on its path cleared in turn. */
static void test_4level_not_present(void)
{
    static const char *const names[] = { "PML4E", "PDPTE", "PDE", "PTE" };
    const uint64_t va = 0x0000512345678000ULL;
    struct fake f;
    uint64_t root, table, entries[4];
    struct pagewalk_regs r;

    fake_init(&f);
    root = alloc_table(&f);
    r = regs_4level(root);
    map64(&f, root, 4, va, 0x5000, 4 * KiB, 0);
    table = root;
    for (unsigned i = 0; i < 4; i++) {
        entries[i] = table + ((va >> (39 - 9 * i)) & 511) * 8;
        table = get64(&f, entries[i]) & 0x000ffffffffff000ULL;
    }
    expect_ok(&r, &f, va + 8, 0x5008, 4 * KiB);
    for (unsigned i = 0; i < 4; i++) {
        uint64_t saved = get64(&f, entries[i]);

        put64(&f, entries[i], saved & ~P);
        expect_fail(&r, &f, va + 8, PAGEWALK_ERROR_NOT_PRESENT, names[i]);
        put64(&f, entries[i], saved);
    }
    /* A neighbour in an empty page table. */
    expect_fail(&r, &f, va + 4 * KiB, PAGEWALK_ERROR_NOT_PRESENT, "PTE");
    g_free(f.mem);
}

static void test_4level_bad_addresses(void)
{
    struct fake f;
    uint64_t root, pml4e;
    struct pagewalk_regs r;

    fake_init(&f);
    root = alloc_table(&f);
    r = regs_4level(root);
    expect_fail(&r, &f, 0x0000800000000000ULL, PAGEWALK_ERROR_NON_CANONICAL,
                "not canonical");
    expect_fail(&r, &f, 0xfff0000000000000ULL, PAGEWALK_ERROR_NON_CANONICAL,
                "bits 63:48");
    g_assert_cmpuint(f.reads, ==, 0);
    /* PS in a PML4E is reserved (SDM table 4-15). */
    pml4e = root;
    put64(&f, pml4e, 0x40000000ULL | P | PS);
    expect_fail(&r, &f, 0x1000, PAGEWALK_ERROR_RESERVED, "PML4E");
    /* Tables outside guest RAM. */
    put64(&f, pml4e, 0x7000000000ULL | P);
    expect_fail(&r, &f, 0x1000, PAGEWALK_ERROR_UNREADABLE,
                "PDPTE at guest-physical 0x7000000000");
    r.cr3 = 2 * FAKE_SIZE;
    expect_fail(&r, &f, 0x1000, PAGEWALK_ERROR_UNREADABLE, "PML4E");
    g_free(f.mem);
}

static void test_5level(void)
{
    struct fake f;
    uint64_t root;
    struct pagewalk_regs r;

    fake_init(&f);
    root = alloc_table(&f);
    r = regs_4level(root);
    r.cr4 |= CR4_LA57;
    map64(&f, root, 5, 0x00ff123456600000ULL, 0x1a00000ULL, 2 * MiB, 0);
    expect_ok(&r, &f, 0x00ff1234566abcdeULL, 0x1aabcdeULL, 2 * MiB);
    /* Canonical for 5-level, not for 4-level. */
    expect_fail(&r, &f, 0x0100000000000000ULL, PAGEWALK_ERROR_NON_CANONICAL,
                "5-level");
    expect_fail(&r, &f, 0x0000800000000000ULL, PAGEWALK_ERROR_NOT_PRESENT,
                "PML5E");
    g_free(f.mem);
}

static void test_paging_off(void)
{
    struct pagewalk_regs r = { .cr0 = 1 };      /* PE only */
    struct fake f;

    fake_init(&f);
    expect_ok(&r, &f, 0x12345678, 0x12345678, 4 * KiB);
    expect_ok(&r, &f, 0xffffffff, 0xffffffff, 4 * KiB);
    expect_fail(&r, &f, 0x100000000ULL, PAGEWALK_ERROR_OUT_OF_RANGE,
                "paging off");
    r.cr0 = 0;                                  /* real mode too */
    expect_ok(&r, &f, 0xb8000, 0xb8000, 4 * KiB);
    g_assert_cmpuint(f.reads, ==, 0);
    g_free(f.mem);
}

static void test_pae(void)
{
    struct pagewalk_regs r = { .cr0 = CR0_PG | 1, .cr4 = CR4_PAE };
    struct fake f;
    uint64_t pdpt, pd, pt;

    fake_init(&f);
    /* SDM 4.4.1: the PDPT is 32-byte aligned, not page aligned. */
    pdpt = alloc_table(&f) + 0x20;
    pd = alloc_table(&f);
    pt = alloc_table(&f);
    r.cr3 = pdpt;
    put64(&f, pdpt + 3 * 8, pd | P);                  /* 0xc0000000 */
    put64(&f, pd + 1 * 8, 0x240000000ULL | P | PS | XD);  /* 2 MiB */
    put64(&f, pd + 2 * 8, pt | P | RW);
    put64(&f, pt + 5 * 8, 0x1234000ULL | P);
    expect_ok(&r, &f, 0xc0212345, 0x240012345ULL, 2 * MiB);
    expect_ok(&r, &f, 0xc0405678, 0x1234678, 4 * KiB);
    expect_fail(&r, &f, 0xc0406000, PAGEWALK_ERROR_NOT_PRESENT, "PTE");
    expect_fail(&r, &f, 0x40000000, PAGEWALK_ERROR_NOT_PRESENT, "PDPTE");
    expect_fail(&r, &f, 0x100000000ULL, PAGEWALK_ERROR_OUT_OF_RANGE, "PAE");
    g_free(f.mem);
}

static void test_32bit(void)
{
    struct pagewalk_regs r = { .cr0 = CR0_PG | 1, .cr4 = CR4_PSE };
    struct fake f;
    uint64_t pd, pt;

    fake_init(&f);
    pd = alloc_table(&f);
    pt = alloc_table(&f);
    r.cr3 = pd;
    put32(&f, pd + 0x300 * 4, (uint32_t)(pt | P | RW));      /* 0xc0000000 */
    put32(&f, pt + 7 * 4, 0x00abc000 | P);
    /* 4 MiB page at 0x5_00400000: PSE-36 puts bits 39:32 in 20:13. */
    put32(&f, pd + 0x301 * 4, 0x00400000 | (0x5u << 13) | P | PS);
    expect_ok(&r, &f, 0xc0007123, 0xabc123, 4 * KiB);
    expect_ok(&r, &f, 0xc0765432, 0x500765432ULL, 4 * MiB);
    expect_fail(&r, &f, 0xc0008000, PAGEWALK_ERROR_NOT_PRESENT, "PTE");
    expect_fail(&r, &f, 0x00001000, PAGEWALK_ERROR_NOT_PRESENT, "PDE");
    /* Without CR4.PSE the PS bit is ignored: the PDE points at a table. */
    r.cr4 = 0;
    put32(&f, pd + 0x302 * 4, (uint32_t)(pt | P | PS));
    expect_ok(&r, &f, 0xc0807abc, 0xabcabc, 4 * KiB);
    g_free(f.mem);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pagewalk/4level/page-sizes", test_4level_sizes);
    g_test_add_func("/pagewalk/4level/not-present", test_4level_not_present);
    g_test_add_func("/pagewalk/4level/bad-addresses",
                    test_4level_bad_addresses);
    g_test_add_func("/pagewalk/5level", test_5level);
    g_test_add_func("/pagewalk/paging-off", test_paging_off);
    g_test_add_func("/pagewalk/pae", test_pae);
    g_test_add_func("/pagewalk/32bit", test_32bit);
    return g_test_run();
}
