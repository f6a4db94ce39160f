/*
 * The contents of the MADT and the SRAT (see acpi_tables.h). Both are a fixed
 * part after the table header followed by a list of entries that each start
 * with Type (1 byte) and Length (1 byte); unknown types are skipped by
 * their length, and every field is read only after the entry's length has
 * been checked to cover it.
 */
#include "acpi_tables.h"

#include "print.h"

/* MADT, ACPI 6.5 5.2.12: header, Local Interrupt Controller
 * Address (4), Flags (4), then the interrupt controller structures. */
#define MADT_ENTRIES_OFF        44
#define MADT_LOCAL_APIC         0   /* 5.2.12.2 */
#define MADT_LOCAL_APIC_LEN     8
#define MADT_LOCAL_APIC_FLAGS   4
#define MADT_LOCAL_X2APIC       9   /* 5.2.12.12 */
#define MADT_LOCAL_X2APIC_LEN   16
#define MADT_LOCAL_X2APIC_FLAGS 8
#define MADT_FLAG_ENABLED       0x1 /* 5.2.12.2 Local APIC Flags */

/* SRAT, ACPI 6.5 5.2.16: header, Reserved (4, "1" for
 * compatibility), Reserved (8), then the static resource allocation
 * structures. */
#define SRAT_ENTRIES_OFF        48
#define SRAT_CPU                0   /* 5.2.16.1 */
#define SRAT_CPU_LEN            16
#define SRAT_CPU_PXM_LO         2   /* Proximity Domain [7:0] */
#define SRAT_CPU_FLAGS          4
#define SRAT_CPU_PXM_HI         9   /* Proximity Domain [31:8], 3 bytes */
#define SRAT_MEMORY             1   /* 5.2.16.2 */
#define SRAT_MEMORY_LEN         40
#define SRAT_MEMORY_PXM         2
#define SRAT_MEMORY_BASE_LO     8
#define SRAT_MEMORY_BASE_HI     12
#define SRAT_MEMORY_LENGTH_LO   16
#define SRAT_MEMORY_LENGTH_HI   20
#define SRAT_MEMORY_FLAGS       28
#define SRAT_X2APIC             2   /* 5.2.16.3 */
#define SRAT_X2APIC_LEN         24
#define SRAT_X2APIC_PXM         4
#define SRAT_X2APIC_FLAGS       12
#define SRAT_FLAG_ENABLED       0x1 /* 5.2.16.1-3 flags */
#define SRAT_FLAG_HOTPLUGGABLE  0x2 /* 5.2.16.2 flags */

/* Distinct proximity domains the guest tracks. */
#define SRAT_DOMAINS_MAX        256

/*
 * Walks the entry list of t from offset first. Returns the offset of the next
 * entry, t->len at the end, or 0 (after an error line) when the entry at off
 * is shorter than its own header or runs past the table.
 */
static uint32_t next_entry(const struct acpi_table *t, uint32_t off)
{
    uint8_t len;

    if (t->len - off < 2) {
        acpi_error("table %s at 0x%lx: %u stray bytes at offset 0x%x after "
                   "the last entry", t->sig, t->addr, t->len - off, off);
        return 0;
    }
    len = t->bytes[off + 1];
    if (len < 2 || len > t->len - off) {
        acpi_error("table %s at 0x%lx: entry type %u at offset 0x%x has "
                   "length %u (%u bytes left in the table)", t->sig, t->addr,
                   t->bytes[off], off, len, t->len - off);
        return 0;
    }
    return off + len;
}

/* The entry at off is shorter than its type requires (need bytes). */
static bool entry_too_short(const struct acpi_table *t, uint32_t off,
                            uint8_t need)
{
    if (t->bytes[off + 1] >= need)
        return false;
    acpi_error("table %s at 0x%lx: entry type %u at offset 0x%x has length "
               "%u, type %u needs %u", t->sig, t->addr, t->bytes[off], off,
               t->bytes[off + 1], t->bytes[off], need);
    return true;
}

bool acpi_madt_count_cpus(const struct acpi_table *madt, unsigned *cpus)
{
    uint32_t off, next;
    uint32_t flags;

    *cpus = 0;
    if (madt->len < MADT_ENTRIES_OFF) {
        acpi_error("table APIC at 0x%lx: length 0x%x is below %u",
                   madt->addr, madt->len, MADT_ENTRIES_OFF);
        return false;
    }
    for (off = MADT_ENTRIES_OFF; off < madt->len; off = next) {
        const uint8_t *e = madt->bytes + off;

        next = next_entry(madt, off);
        if (!next)
            return false;
        if (e[0] == MADT_LOCAL_APIC) {
            if (entry_too_short(madt, off, MADT_LOCAL_APIC_LEN))
                return false;
            flags = acpi_read32(e + MADT_LOCAL_APIC_FLAGS);
        } else if (e[0] == MADT_LOCAL_X2APIC) {
            if (entry_too_short(madt, off, MADT_LOCAL_X2APIC_LEN))
                return false;
            flags = acpi_read32(e + MADT_LOCAL_X2APIC_FLAGS);
        } else {
            continue;
        }
        /* Online Capable (bit 1) alone is a CPU that may come later. */
        if (flags & MADT_FLAG_ENABLED)
            (*cpus)++;
    }
    return true;
}

struct srat_domains {
    unsigned count;
    uint32_t pxm[SRAT_DOMAINS_MAX];
};

static bool add_domain(const struct acpi_table *srat, struct srat_domains *d,
                       uint32_t pxm)
{
    unsigned i;

    for (i = 0; i < d->count; i++)
        if (d->pxm[i] == pxm)
            return true;
    if (d->count == SRAT_DOMAINS_MAX) {
        acpi_error("table %s at 0x%lx: more than %u proximity domains "
                   "(guest limit)", srat->sig, srat->addr, SRAT_DOMAINS_MAX);
        return false;
    }
    d->pxm[d->count++] = pxm;
    return true;
}

static bool add_hotplug(const struct acpi_table *srat, struct acpi_summary *s,
                        const uint8_t *e, uint32_t pxm)
{
    struct acpi_hotplug_range *r;

    if (s->n_hotplug == ACPI_HOTPLUG_MAX) {
        acpi_error("table %s at 0x%lx: more than %u hot-pluggable memory "
                   "ranges (guest limit)", srat->sig, srat->addr,
                   ACPI_HOTPLUG_MAX);
        return false;
    }
    r = &s->hotplug[s->n_hotplug++];
    r->base = (uint64_t)acpi_read32(e + SRAT_MEMORY_BASE_HI) << 32 |
              acpi_read32(e + SRAT_MEMORY_BASE_LO);
    r->size = (uint64_t)acpi_read32(e + SRAT_MEMORY_LENGTH_HI) << 32 |
              acpi_read32(e + SRAT_MEMORY_LENGTH_LO);
    r->node = pxm;
    return true;
}

/*
 * One SRAT entry: *pxm and *flags of the three affinity types the guest
 * reads. Returns 1 for an affinity entry, 0 for another type, -1 when the
 * entry is too short for its type.
 */
static int srat_affinity(const struct acpi_table *srat, uint32_t off,
                         uint32_t *pxm, uint32_t *flags)
{
    const uint8_t *e = srat->bytes + off;

    switch (e[0]) {
    case SRAT_CPU:
        if (entry_too_short(srat, off, SRAT_CPU_LEN))
            return -1;
        *pxm = e[SRAT_CPU_PXM_LO] | (uint32_t)e[SRAT_CPU_PXM_HI] << 8 |
               (uint32_t)e[SRAT_CPU_PXM_HI + 1] << 16 |
               (uint32_t)e[SRAT_CPU_PXM_HI + 2] << 24;
        *flags = acpi_read32(e + SRAT_CPU_FLAGS);
        return 1;
    case SRAT_MEMORY:
        if (entry_too_short(srat, off, SRAT_MEMORY_LEN))
            return -1;
        *pxm = acpi_read32(e + SRAT_MEMORY_PXM);
        *flags = acpi_read32(e + SRAT_MEMORY_FLAGS);
        return 1;
    case SRAT_X2APIC:
        if (entry_too_short(srat, off, SRAT_X2APIC_LEN))
            return -1;
        *pxm = acpi_read32(e + SRAT_X2APIC_PXM);
        *flags = acpi_read32(e + SRAT_X2APIC_FLAGS);
        return 1;
    default:
        return 0;
    }
}

bool acpi_srat_parse(const struct acpi_table *srat, struct acpi_summary *s)
{
    struct srat_domains domains = { 0 };
    uint32_t off, next, pxm, flags;
    int kind;

    s->nodes = 0;
    s->n_hotplug = 0;
    if (srat->len < SRAT_ENTRIES_OFF) {
        acpi_error("table %s at 0x%lx: length 0x%x is below %u", srat->sig,
                   srat->addr, srat->len, SRAT_ENTRIES_OFF);
        return false;
    }
    for (off = SRAT_ENTRIES_OFF; off < srat->len; off = next) {
        next = next_entry(srat, off);
        if (!next)
            return false;
        kind = srat_affinity(srat, off, &pxm, &flags);
        if (kind < 0)
            return false;
        /* Disabled entries are placeholders (QEMU emits zeroed ones). */
        if (kind == 0 || !(flags & SRAT_FLAG_ENABLED))
            continue;
        if (!add_domain(srat, &domains, pxm))
            return false;
        if (srat->bytes[off] == SRAT_MEMORY &&
            (flags & SRAT_FLAG_HOTPLUGGABLE) &&
            !add_hotplug(srat, s, srat->bytes + off, pxm))
            return false;
    }
    s->nodes = domains.count;
    return true;
}
