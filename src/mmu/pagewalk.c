/*
 * Guest page-table walker (Intel SDM vol. 3A, chapter 4). One loop serves
 * the three modes with 64-bit entries (PAE, 4-level, 5-level): each level
 * takes some bits of the linear address as an index into a table of 8-byte
 * entries, and either ends the walk on a page (PS = 1, or the last level)
 * or points at the next table. 32-bit paging, with 4-byte entries, has its
 * own short function.
 */
#include "mmu/pagewalk.h"

#include <inttypes.h>

G_DEFINE_QUARK(hotmem-pagewalk-error-quark, pagewalk_error)

/* Architectural bits (SDM 2.5 control registers, 4.5 tables 4-14..4-20). */
#define CR0_PG          (1ULL << 31)
#define CR4_PSE         (1ULL << 4)
#define CR4_PAE         (1ULL << 5)
#define CR4_LA57        (1ULL << 12)
#define EFER_LMA        (1ULL << 10)
#define PTE_P           (1ULL << 0)
#define PTE_PS          (1ULL << 7)

/*
 * Bits 51:12 of a 64-bit entry or of CR3 hold a physical address (M = 52,
 * the architectural maximum; bits above the CPU's MAXPHYADDR are reserved
 * and zero in any table the CPU accepts). Bit 63 is XD, 62:52 are ignored
 * or protection keys; bits 11:0 of CR3 are flags or the PCID.
 */
#define ADDR_MASK_64    0x000ffffffffff000ULL
#define PAE_CR3_MASK    0xffffffe0ULL       /* SDM 4.4.1: bits 31:5 */
#define PAGE_4K         (1ULL << 12)

enum pagewalk_mode pagewalk_mode(const struct pagewalk_regs *regs)
{
    if (!(regs->cr0 & CR0_PG))
        return PAGEWALK_MODE_OFF;
    if (regs->efer & EFER_LMA)
        return regs->cr4 & CR4_LA57 ? PAGEWALK_MODE_5LEVEL
                                    : PAGEWALK_MODE_4LEVEL;
    return regs->cr4 & CR4_PAE ? PAGEWALK_MODE_PAE : PAGEWALK_MODE_32BIT;
}

const char *pagewalk_mode_name(enum pagewalk_mode mode)
{
    static const char *const names[] = {
        [PAGEWALK_MODE_OFF] = "paging off",
        [PAGEWALK_MODE_32BIT] = "32-bit paging",
        [PAGEWALK_MODE_PAE] = "PAE paging",
        [PAGEWALK_MODE_4LEVEL] = "4-level paging",
        [PAGEWALK_MODE_5LEVEL] = "5-level paging",
    };

    return names[mode];
}

/* One level of a walk with 64-bit entries. */
struct level {
    const char *name;       /* the SDM's name of the entry */
    unsigned shift;         /* lowest linear-address bit of the index */
    unsigned index_bits;
    bool ps_allowed;        /* PS = 1 maps a page here */
};

static const struct level levels_5[] = {
    { "PML5E", 48, 9, false }, { "PML4E", 39, 9, false },
    { "PDPTE", 30, 9, true }, { "PDE", 21, 9, true }, { "PTE", 12, 9, false },
};
/* 4-level paging: the last four rows of the 5-level walk. */
static const struct level *const levels_4 = &levels_5[1];
/* PAE (SDM 4.4): 4 PDPTEs indexed by bits 31:30, which never map a page. */
static const struct level levels_pae[] = {
    { "PDPTE", 30, 2, false }, { "PDE", 21, 9, true }, { "PTE", 12, 9, false },
};

static void set_entry_error(GError **err, enum pagewalk_error_code code,
                            enum pagewalk_mode mode, uint64_t va,
                            const char *name, uint64_t entry_pa,
                            uint64_t entry, const char *what)
{
    g_set_error(err, PAGEWALK_ERROR, code,
                "virtual address 0x%" PRIx64 " is not mapped (%s): %s at "
                "guest-physical 0x%" PRIx64 " (value 0x%" PRIx64 ") %s",
                va, pagewalk_mode_name(mode), name, entry_pa, entry, what);
}

static bool read_entry(pagewalk_read_fn read_phys, void *opaque,
                       enum pagewalk_mode mode, uint64_t va,
                       const char *name, uint64_t entry_pa, size_t width,
                       uint64_t *entry, GError **err)
{
    uint32_t e32 = 0;
    uint64_t e64 = 0;

    if (!read_phys(opaque, entry_pa, width == 4 ? (void *)&e32 : &e64,
                   width)) {
        g_set_error(err, PAGEWALK_ERROR, PAGEWALK_ERROR_UNREADABLE,
                    "virtual address 0x%" PRIx64 " cannot be translated "
                    "(%s): its %s at guest-physical 0x%" PRIx64 " is not "
                    "in guest RAM", va, pagewalk_mode_name(mode), name,
                    entry_pa);
        return false;
    }
    /* x86 is little-endian, and so is every host this runs on. */
    *entry = width == 4 ? e32 : e64;
    return true;
}

/* PAE, 4-level and 5-level paging: a table of levels, 8-byte entries. */
static bool walk_64(const struct level *levels, unsigned n,
                    enum pagewalk_mode mode, uint64_t table,
                    pagewalk_read_fn read_phys, void *opaque, uint64_t va,
                    uint64_t *pa, uint64_t *page_size, GError **err)
{
    for (unsigned i = 0; i < n; i++) {
        const struct level *l = &levels[i];
        uint64_t index = (va >> l->shift) & ((1ULL << l->index_bits) - 1);
        uint64_t entry_pa = table + index * 8, entry, size;

        if (!read_entry(read_phys, opaque, mode, va, l->name, entry_pa, 8,
                        &entry, err))
            return false;
        if (!(entry & PTE_P)) {
            set_entry_error(err, PAGEWALK_ERROR_NOT_PRESENT, mode, va,
                            l->name, entry_pa, entry, "is not present");
            return false;
        }
        size = 1ULL << l->shift;
        if (i + 1 < n && (entry & PTE_PS) && !l->ps_allowed) {
            set_entry_error(err, PAGEWALK_ERROR_RESERVED, mode, va, l->name,
                            entry_pa, entry,
                            "has the reserved PS bit (7) set");
            return false;
        }
        if (i + 1 == n || (entry & PTE_PS)) {
            /* Bits below the page size are the offset (and, for large
             * pages, bit 12 is PAT: SDM tables 4-15, 4-17). */
            *pa = (entry & ADDR_MASK_64 & ~(size - 1)) | (va & (size - 1));
            *page_size = size;
            return true;
        }
        table = entry & ADDR_MASK_64;
    }
    g_assert_not_reached();
}

/*
 * 32-bit paging (SDM 4.3): a 1024-entry page directory of 4-byte entries;
 * with CR4.PSE a PDE with PS maps 4 MiB, and its bits 20:13 are bits 39:32
 * of the page's physical address (PSE-36, table 4-4).
 */
static bool walk_32(const struct pagewalk_regs *regs,
                    pagewalk_read_fn read_phys, void *opaque, uint64_t va,
                    uint64_t *pa, uint64_t *page_size, GError **err)
{
    enum pagewalk_mode mode = PAGEWALK_MODE_32BIT;
    uint64_t pde_pa = (regs->cr3 & 0xfffff000ULL) + ((va >> 22) & 0x3ff) * 4;
    uint64_t pte_pa, pde, pte;

    if (!read_entry(read_phys, opaque, mode, va, "PDE", pde_pa, 4, &pde,
                    err))
        return false;
    if (!(pde & PTE_P)) {
        set_entry_error(err, PAGEWALK_ERROR_NOT_PRESENT, mode, va, "PDE",
                        pde_pa, pde, "is not present");
        return false;
    }
    if ((pde & PTE_PS) && (regs->cr4 & CR4_PSE)) {
        *pa = (pde & 0xffc00000ULL) | (((pde >> 13) & 0xff) << 32) |
              (va & 0x3fffff);
        *page_size = 4ULL << 20;
        return true;
    }
    pte_pa = (pde & 0xfffff000ULL) + ((va >> 12) & 0x3ff) * 4;
    if (!read_entry(read_phys, opaque, mode, va, "PTE", pte_pa, 4, &pte,
                    err))
        return false;
    if (!(pte & PTE_P)) {
        set_entry_error(err, PAGEWALK_ERROR_NOT_PRESENT, mode, va, "PTE",
                        pte_pa, pte, "is not present");
        return false;
    }
    *pa = (pte & 0xfffff000ULL) | (va & 0xfff);
    *page_size = PAGE_4K;
    return true;
}

/* SDM 3.3.7.1: bits 63:N-1 all equal, N = 48 (4-level) or 57 (5-level). */
static bool is_canonical(uint64_t va, unsigned bits)
{
    int64_t shifted = (int64_t)(va << (64 - bits)) >> (64 - bits);

    return (uint64_t)shifted == va;
}

static bool check_linear(enum pagewalk_mode mode, uint64_t va, GError **err)
{
    unsigned bits = mode == PAGEWALK_MODE_5LEVEL ? 57 : 48;

    if (mode == PAGEWALK_MODE_4LEVEL || mode == PAGEWALK_MODE_5LEVEL) {
        if (is_canonical(va, bits))
            return true;
        g_set_error(err, PAGEWALK_ERROR, PAGEWALK_ERROR_NON_CANONICAL,
                    "virtual address 0x%" PRIx64 " is not canonical for %s "
                    "(bits 63:%u must all equal bit %u)", va,
                    pagewalk_mode_name(mode), bits, bits - 1);
        return false;
    }
    if (va <= UINT32_MAX)
        return true;
    g_set_error(err, PAGEWALK_ERROR, PAGEWALK_ERROR_OUT_OF_RANGE,
                "virtual address 0x%" PRIx64 " is beyond the 32-bit linear "
                "address space (%s)", va, pagewalk_mode_name(mode));
    return false;
}

bool pagewalk_translate(const struct pagewalk_regs *regs,
                        pagewalk_read_fn read_phys, void *opaque,
                        uint64_t va, uint64_t *pa, uint64_t *page_size,
                        GError **err)
{
    enum pagewalk_mode mode = pagewalk_mode(regs);

    if (!check_linear(mode, va, err))
        return false;
    switch (mode) {
    case PAGEWALK_MODE_OFF:
        *pa = va;
        *page_size = PAGE_4K;
        return true;
    case PAGEWALK_MODE_32BIT:
        return walk_32(regs, read_phys, opaque, va, pa, page_size, err);
    case PAGEWALK_MODE_PAE:
        return walk_64(levels_pae, G_N_ELEMENTS(levels_pae), mode,
                       regs->cr3 & PAE_CR3_MASK, read_phys, opaque, va, pa,
                       page_size, err);
    case PAGEWALK_MODE_4LEVEL:
        return walk_64(levels_4, 4, mode, regs->cr3 & ADDR_MASK_64,
                       read_phys, opaque, va, pa, page_size, err);
    case PAGEWALK_MODE_5LEVEL:
        return walk_64(levels_5, 5, mode, regs->cr3 & ADDR_MASK_64,
                       read_phys, opaque, va, pa, page_size, err);
    }
    g_assert_not_reached();
}
