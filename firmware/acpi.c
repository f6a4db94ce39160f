/*
 * Finding and verifying the ACPI tables (ACPI 6.5 5.2): the RSDP (5.2.5.3)
 * leads to the XSDT (5.2.8), or to the RSDT (5.2.7) when the RSDP is
 * revision 0 or has no XSDT address; every table it lists gets its header
 * (5.2.6) and checksum verified; the FADT (5.2.9) leads to the DSDT
 * (5.2.11.1). acpi_tables.c then reads the MADT and the SRAT.
 *
 * Bounds: nothing is read before the whole range is known to lie in
 * memory-map ranges (boot.c identity-maps every one of them), and table
 * lengths are capped at ACPI_TABLE_MAX_LEN, so corrupt pointers and lengths
 * give an "acpi error" line, never a fault.
 */
#include "acpi.h"

#include <stdarg.h>

#include "acpi_tables.h"
#include "lib.h"
#include "paging.h"
#include "print.h"

/* RSDP, ACPI 6.5 5.2.5.3. */
#define RSDP_SIGNATURE          "RSD PTR "
#define RSDP_SIGNATURE_LEN      8
#define RSDP_V1_LEN             20  /* what Checksum covers */
#define RSDP_V2_LEN             36  /* revision 2 and later: Length field */
#define RSDP_MAX_LEN            0x1000
#define RSDP_OFF_REVISION       15
#define RSDP_OFF_RSDT           16
#define RSDP_OFF_LENGTH         20
#define RSDP_OFF_XSDT           24

/* FADT, ACPI 6.5 5.2.9: DSDT (4 bytes) and X_DSDT (8 bytes). */
#define FADT_OFF_DSDT           40
#define FADT_OFF_X_DSDT         140

/* Root table entries followed; a longer root table is an error. */
#define ACPI_ROOT_ENTRIES_MAX   256

struct acpi_walk {
    const struct boot_info *info;
    bool list;              /* print an "acpi table" line per table */
    bool failed;            /* an "acpi error" line was printed */
    unsigned tables;        /* headers and checksums verified */
    struct acpi_table fadt, madt, srat;     /* len 0: none verified */
    bool fadt_listed, madt_listed;  /* listed, even if not verified */
};

void acpi_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_vline("acpi error ", fmt, ap);
    va_end(ap);
}

/*
 * True when [addr, addr + len) is covered by memory-map ranges (adjacent
 * ranges may share the span). Those are exactly what boot.c mapped.
 */
static bool range_mapped(const struct boot_info *info, uint64_t addr,
                         uint64_t len)
{
    uint64_t end = addr + len;
    uint32_t i;

    if (len == 0 || end < addr)
        return false;
    while (addr < end) {
        uint64_t next = addr;

        for (i = 0; i < info->memmap_kept; i++) {
            const struct hvm_memmap_table_entry *e = &info->memmap[i];

            if (addr >= e->addr && addr - e->addr < e->size) {
                next = e->addr + e->size;
                break;
            }
        }
        if (next == addr)
            return false;
        addr = next;
    }
    return true;
}

static uint8_t checksum(const uint8_t *p, uint32_t len)
{
    uint8_t sum = 0;

    while (len--)
        sum += *p++;
    return sum;
}

/* A printable copy of a signature: other bytes become '?'. */
static void signature_text(char *out, const uint8_t *p, unsigned len)
{
    unsigned i;

    for (i = 0; i < len; i++)
        out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    out[len] = '\0';
}

/* "what" or "what N" into out[32], for error lines. */
static void origin_text(char *out, const char *what, int index)
{
    char digits[12];
    unsigned n = 0, len = 0;

    while (*what && len < 20)
        out[len++] = *what++;
    if (index >= 0) {
        out[len++] = ' ';
        do {
            digits[n++] = (char)('0' + index % 10);
            index /= 10;
        } while (index);
        while (n)
            out[len++] = digits[--n];
    }
    out[len] = '\0';
}

/*
 * Verifies the table at addr: mapped, signature (expect, or any when NULL),
 * length, checksum. what/index name the pointer for error lines ("XSDT
 * entry 3"). Fills *t and counts the table on success; prints one error line
 * on failure.
 */
static bool verify_table(struct acpi_walk *w, uint64_t addr,
                         const char *expect, const char *what, int index,
                         struct acpi_table *t)
{
    const uint8_t *p = (const uint8_t *)addr;
    char from[32];
    uint32_t len;
    uint8_t sum;

    t->sig[0] = '\0';
    origin_text(from, what, index);
    if (addr == 0 || !range_mapped(w->info, addr, ACPI_HEADER_LEN)) {
        acpi_error("table at 0x%lx (%s) is outside the memory map", addr,
                   from);
        return false;
    }
    signature_text(t->sig, p, 4);
    if (expect && memcmp(p, expect, 4)) {
        acpi_error("table at 0x%lx (%s) has signature \"%s\", expected "
                   "\"%s\"", addr, from, t->sig, expect);
        return false;
    }
    len = acpi_read32(p + ACPI_HEADER_OFF_LENGTH);
    if (len < ACPI_HEADER_LEN || len > ACPI_TABLE_MAX_LEN) {
        acpi_error("table %s at 0x%lx length 0x%x is outside [0x%x, 0x%x]",
                   t->sig, addr, len, ACPI_HEADER_LEN, ACPI_TABLE_MAX_LEN);
        return false;
    }
    if (!range_mapped(w->info, addr, len)) {
        acpi_error("table %s at 0x%lx len 0x%x runs past the memory map",
                   t->sig, addr, len);
        return false;
    }
    if (w->list)
        print_line("acpi table %s addr=0x%lx len=0x%x", t->sig, addr, len);
    sum = checksum(p, len);
    if (sum) {
        acpi_error("table %s at 0x%lx checksum sum=0x%x", t->sig, addr, sum);
        return false;
    }
    t->addr = addr;
    t->len = len;
    t->bytes = p;
    w->tables++;
    return true;
}

/*
 * RSDP, ACPI 6.5 5.2.5.3: signature, Checksum over the first 20 bytes and,
 * from revision 2, Extended Checksum over Length bytes. Sets *root to the
 * XSDT address (*entry_size 8) or, for revision 0 or a zero XSDT address,
 * to the RSDT address (*entry_size 4).
 */
static bool check_rsdp(struct acpi_walk *w, uint64_t addr, uint64_t *root,
                       unsigned *entry_size)
{
    const uint8_t *p = (const uint8_t *)addr;
    char sig[RSDP_SIGNATURE_LEN + 1];
    uint32_t len = RSDP_V1_LEN;
    uint8_t revision, sum;

    if (!range_mapped(w->info, addr, RSDP_V1_LEN)) {
        acpi_error("rsdp at 0x%lx is outside the memory map", addr);
        return false;
    }
    if (memcmp(p, RSDP_SIGNATURE, RSDP_SIGNATURE_LEN)) {
        signature_text(sig, p, RSDP_SIGNATURE_LEN);
        acpi_error("rsdp at 0x%lx has signature \"%s\", expected \"%s\"",
                   addr, sig, RSDP_SIGNATURE);
        return false;
    }
    revision = p[RSDP_OFF_REVISION];
    if (revision >= 2) {
        len = acpi_read32(p + RSDP_OFF_LENGTH);
        if (len < RSDP_V2_LEN || len > RSDP_MAX_LEN ||
            !range_mapped(w->info, addr, len)) {
            acpi_error("rsdp at 0x%lx revision %u length 0x%x is not in "
                       "[0x%x, 0x%x] or runs past the memory map", addr,
                       revision, len, RSDP_V2_LEN, RSDP_MAX_LEN);
            return false;
        }
    }
    if (w->list)
        print_line("acpi table RSDP addr=0x%lx len=0x%x", addr, len);
    sum = checksum(p, RSDP_V1_LEN);
    if (sum) {
        acpi_error("rsdp at 0x%lx checksum sum=0x%x", addr, sum);
        return false;
    }
    sum = checksum(p, len);
    if (sum) {
        acpi_error("rsdp at 0x%lx extended checksum sum=0x%x", addr, sum);
        return false;
    }
    *root = revision >= 2 ? acpi_read64(p + RSDP_OFF_XSDT) : 0;
    *entry_size = 8;
    if (!*root) {
        *root = acpi_read32(p + RSDP_OFF_RSDT);
        *entry_size = 4;
    }
    return true;
}

/* DSDT through X_DSDT, or through DSDT when X_DSDT is absent or 0. */
static void follow_dsdt(struct acpi_walk *w, const struct acpi_table *fadt)
{
    struct acpi_table dsdt;
    const char *field = "FACP X_DSDT";
    uint64_t addr = 0;

    if (fadt->len >= FADT_OFF_X_DSDT + 8)
        addr = acpi_read64(fadt->bytes + FADT_OFF_X_DSDT);
    if (!addr && fadt->len >= FADT_OFF_DSDT + 4) {
        field = "FACP DSDT";
        addr = acpi_read32(fadt->bytes + FADT_OFF_DSDT);
    }
    if (!addr) {
        acpi_error("table FACP at 0x%lx has neither X_DSDT nor DSDT",
                   fadt->addr);
        w->failed = true;
        return;
    }
    if (!verify_table(w, addr, "DSDT", field, -1, &dsdt))
        w->failed = true;
}

/* Remembers the first FADT, MADT and SRAT; the DSDT follows its FADT. */
static void note_table(struct acpi_walk *w, const struct acpi_table *t)
{
    if (!memcmp(t->sig, "FACP", 4) && !w->fadt.len) {
        w->fadt = *t;
        follow_dsdt(w, t);
    } else if (!memcmp(t->sig, "APIC", 4) && !w->madt.len) {
        w->madt = *t;
    } else if (!memcmp(t->sig, "SRAT", 4) && !w->srat.len) {
        w->srat = *t;
    }
}

static void walk_root(struct acpi_walk *w, const struct acpi_table *root,
                      unsigned entry_size)
{
    uint32_t body = root->len - ACPI_HEADER_LEN;
    uint32_t n = body / entry_size, i;
    struct acpi_table t;
    uint64_t addr;

    if (body % entry_size || n > ACPI_ROOT_ENTRIES_MAX) {
        acpi_error("table %s at 0x%lx length 0x%x does not hold whole "
                   "%u-byte entries, at most %u", root->sig, root->addr,
                   root->len, entry_size, ACPI_ROOT_ENTRIES_MAX);
        w->failed = true;
        return;
    }
    for (i = 0; i < n; i++) {
        const uint8_t *e = root->bytes + ACPI_HEADER_LEN + i * entry_size;

        addr = entry_size == 8 ? acpi_read64(e) : acpi_read32(e);
        if (verify_table(w, addr, 0, entry_size == 8 ? "XSDT entry" :
                         "RSDT entry", (int)i, &t))
            note_table(w, &t);
        else
            w->failed = true;
        /* A broken FADT or MADT has its own error line already. */
        w->fadt_listed |= !memcmp(t.sig, "FACP", 4);
        w->madt_listed |= !memcmp(t.sig, "APIC", 4);
    }
}

static void walk_tables(struct acpi_walk *w)
{
    struct acpi_table root;
    unsigned entry_size;
    uint64_t root_addr;
    bool xsdt;

    if (!check_rsdp(w, w->info->rsdp_paddr, &root_addr, &entry_size)) {
        w->failed = true;
        return;
    }
    xsdt = entry_size == 8;
    if (!verify_table(w, root_addr, xsdt ? "XSDT" : "RSDT",
                      xsdt ? "RSDP XsdtAddress" : "RSDP RsdtAddress", -1,
                      &root)) {
        w->failed = true;
        return;
    }
    walk_root(w, &root, entry_size);
    if (!w->fadt_listed)
        acpi_error("table %s at 0x%lx lists no FACP (FADT)", root.sig,
                   root.addr);
    if (!w->madt_listed)
        acpi_error("table %s at 0x%lx lists no APIC (MADT)", root.sig,
                   root.addr);
    if (!w->fadt.len || !w->madt.len)
        w->failed = true;
}

void acpi_check(const struct boot_info *info, struct acpi_summary *out)
{
    struct acpi_walk w = { .info = info };
    unsigned i;

    memset(out, 0, sizeof(*out));
    if (!info->rsdp_paddr) {
        print_line("acpi none");
        return;
    }
    walk_tables(&w);
    out->tables = w.tables;
    if (w.madt.len && !acpi_madt_count_cpus(&w.madt, &out->cpus))
        w.failed = true;
    if (!w.srat.len)
        out->nodes = 1;
    else if (!acpi_srat_parse(&w.srat, out))
        w.failed = true;
    if (w.failed)
        return;
    out->ok = true;
    print_line("acpi ok tables=%u cpus=%u nodes=%u", out->tables, out->cpus,
               out->nodes);
    for (i = 0; i < out->n_hotplug; i++)
        print_line("srat hotplug base=0x%lx size=0x%lx node=%u",
                   out->hotplug[i].base, out->hotplug[i].size,
                   out->hotplug[i].node);
}

void acpi_boot(struct boot_info *info)
{
    static struct acpi_summary summary;
    uint64_t base = UINT64_MAX, limit = 0;
    unsigned i;

    acpi_check(info, &summary);
    if (!summary.ok)
        return;
    for (i = 0; i < summary.n_hotplug; i++) {
        const struct acpi_hotplug_range *r = &summary.hotplug[i];

        if (r->size == 0 || r->base + r->size < r->base)
            continue;
        if (r->base < base)
            base = r->base;
        if (r->base + r->size > limit)
            limit = r->base + r->size;
    }
    if (limit == 0)
        return;
    info->window_base = base;
    info->window_limit = limit;
    info->srat_hotplug = true;
    paging_set_lazy_window(base, limit);
}

void acpi_list_tables(const struct boot_info *info)
{
    struct acpi_walk w = { .info = info, .list = true };

    if (!info->rsdp_paddr) {
        print_line("acpi none");
        return;
    }
    walk_tables(&w);
}
