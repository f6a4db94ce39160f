/*
 * The OSPM side of memory hot-plug (ospm.h). The register protocol is
 * docs/acpi.md "Memory hot-plug register block"; the flow follows the DSDT's
 * MSCN and what Linux's ACPI memory hot-plug driver does on its Device Check
 * and Eject Request notifications; the console lines are in
 * docs/guest-console.md "Memory hot-plug".
 *
 * Every register access here is port I/O from ring 3 (about 50 us each on
 * the development machines), so each path reads only what it needs. Ring 3
 * runs with IF=0: nothing interrupts a select-then-access sequence, and
 * ged_pending can be read and cleared without racing the interrupt handler.
 */
#include "ospm.h"

#include "acpi_hw.h"
#include "io.h"
#include "memcheck.h"
#include "paging.h"
#include "power.h"
#include "print.h"

/* A DIMM the guest uses (onlined and checked). */
struct dimm {
    bool used;
    uint64_t addr;
    uint64_t size;
    uint32_t node;
};

/* Written by the GED interrupt handler (lowcore.S). */
extern volatile uint32_t ged_pending;

static unsigned slot_count;
static bool refuse_eject;
static bool ignore_memory_events;
static bool ignore_eject;
static struct dimm dimms[MEMHP_SLOTS_MAX];

/* The outcome of bringing a DIMM online. */
enum online_result {
    ONLINE_OK,
    ONLINE_MAP_FAILED,      /* unusable range, or page-table pool empty */
    ONLINE_CHECK_FAILED,
};

static void select_slot(unsigned slot)
{
    outl(MEMHP_SELECTOR, slot);
}

static uint8_t slot_status(void)
{
    return inb(MEMHP_STATUS);
}

/* _OST (ACPI 6.5 6.3.5) for the selected slot: the status write completes it. */
static void write_ost(uint32_t event, uint32_t status)
{
    outl(MEMHP_OST_EVENT, event);
    outl(MEMHP_OST_STATUS, status);
}

/* The selected slot's range and proximity domain. */
static void read_dimm(struct dimm *d)
{
    d->addr = inl(MEMHP_ADDR_LO) | (uint64_t)inl(MEMHP_ADDR_HI) << 32;
    d->size = inl(MEMHP_SIZE_LO) | (uint64_t)inl(MEMHP_SIZE_HI) << 32;
    d->node = inl(MEMHP_NODE);
}

/*
 * A selector beyond the last slot reads all ones. QEMU's block reads 0
 * there instead, so under QEMU the count stops only at the limit.
 */
static unsigned count_slots(void)
{
    unsigned n;

    for (n = 0; n < MEMHP_SLOTS_MAX; n++) {
        select_slot(n);
        if (slot_status() == MEMHP_STATUS_NO_SLOT)
            break;
    }
    return n;
}

/* Page-aligned, non-empty and inside the identity map's reach. */
static bool range_usable(const struct dimm *d)
{
    return d->size != 0 && d->addr % PAGE_SIZE == 0 &&
           d->size % PAGE_SIZE == 0 && d->addr < PAGING_IDENTITY_LIMIT &&
           d->size <= PAGING_IDENTITY_LIMIT - d->addr;
}

/*
 * Maps the DIMM (2 MiB pages already mapped by the lazy window are kept)
 * and checks it. The DIMM is recorded as used only when both succeed.
 */
static enum online_result online_dimm(unsigned slot, const struct dimm *d,
                                      struct memcheck_failure *f)
{
    if (!range_usable(d) ||
        !paging_map_identity(d->addr, d->size, PAGING_WRITE_BACK))
        return ONLINE_MAP_FAILED;
    if (!memcheck_range(d->addr, d->size, f))
        return ONLINE_CHECK_FAILED;
    dimms[slot] = *d;
    dimms[slot].used = true;
    return ONLINE_OK;
}

static void print_online(unsigned slot, const struct dimm *d,
                         enum online_result r,
                         const struct memcheck_failure *f)
{
    switch (r) {
    case ONLINE_OK:
        print_line("dimm slot=%u online addr=0x%lx size=0x%lx", slot,
                   d->addr, d->size);
        break;
    case ONLINE_MAP_FAILED:
        print_line("dimm slot=%u map failed addr=0x%lx size=0x%lx", slot,
                   d->addr, d->size);
        break;
    case ONLINE_CHECK_FAILED:
        print_line("dimm slot=%u check failed addr=0x%lx expected=0x%lx "
                   "got=0x%lx", slot, f->addr, f->expected, f->got);
        break;
    }
}

/*
 * Device Check (MSCN's Notify(MPxx, 1)): acknowledge the insertion, bring
 * the DIMM online, report the outcome through _OST, then on the console (a
 * test that sees the line may query the VMM's _OST record at once).
 */
static void handle_insert(unsigned slot, uint8_t status)
{
    struct memcheck_failure f;
    struct dimm d;
    enum online_result r;

    outb(MEMHP_CONTROL, MEMHP_CONTROL_CLEAR_INSERT);
    if (!(status & MEMHP_STATUS_ENABLED))
        return;     /* _STA would say absent: nothing to bring online */
    read_dimm(&d);
    dimms[slot].used = false;
    r = online_dimm(slot, &d, &f);
    write_ost(OST_EVENT_DEVICE_CHECK, r == ONLINE_OK ? OST_SUCCESS
                                                     : OST_FAILURE);
    print_online(slot, &d, r, &f);
}

/*
 * Eject Request (MSCN's Notify(MPxx, 3)): acknowledge it and report
 * "ejection in progress" as Linux does, then either refuse ("device in
 * use") or stop using the range, _EJ0, and report the OSPM eject done.
 *
 * The 2 MiB mappings stay: removing them would cost a trapped page-table
 * write per 2 MiB and a TLB flush that ring 3 cannot do (invlpg and CR3 are
 * ring 0 only), and the lazy window maps any touched address again anyway.
 * Forgetting the DIMM is what stops the guest from using it.
 */
static void handle_remove(unsigned slot)
{
    outb(MEMHP_CONTROL, MEMHP_CONTROL_CLEAR_REMOVE);
    if (ignore_eject) {
        /* A guest that lost the request: acknowledged, nothing else. */
        print_line("dimm slot=%u eject ignored", slot);
        return;
    }
    write_ost(OST_EVENT_EJECT_REQUEST, OST_EJECT_IN_PROGRESS);
    if (refuse_eject) {
        write_ost(OST_EVENT_EJECT_REQUEST, OST_EJECT_IN_USE);
        print_line("dimm slot=%u eject refused", slot);
        return;
    }
    dimms[slot].used = false;
    outb(MEMHP_CONTROL, MEMHP_CONTROL_EJECT);
    write_ost(OST_EVENT_OSPM_EJECT, OST_SUCCESS);
    print_line("dimm slot=%u ejected", slot);
}

/*
 * Both events of a slot are handled in one pass, insertion first: a DIMM
 * whose removal was requested before the guest saw it arrive reads
 * inserting and removing at once, and its GED events were one. Each event
 * is cleared before it is handled, so one the VMM raises meanwhile stays
 * set for the scan its own GED event runs.
 */
void ospm_scan(void)
{
    unsigned slot;

    for (slot = 0; slot < slot_count; slot++) {
        uint8_t status;

        select_slot(slot);
        status = slot_status();
        if (status == MEMHP_STATUS_NO_SLOT)
            continue;
        if (status & MEMHP_STATUS_INSERTING)
            handle_insert(slot, status);
        if (status & MEMHP_STATUS_REMOVING)
            handle_remove(slot);
    }
}

/*
 * Cold-plugged DIMMs are enabled from boot and never inserting; nobody
 * waits for an _OST about them. A DIMM still marked inserting is left to
 * the scan its GED event will run.
 */
static void online_cold_plugged(void)
{
    unsigned slot;

    for (slot = 0; slot < slot_count; slot++) {
        struct memcheck_failure f;
        struct dimm d;
        uint8_t status;

        select_slot(slot);
        status = slot_status();
        if (status == MEMHP_STATUS_NO_SLOT ||
            (status & (MEMHP_STATUS_ENABLED | MEMHP_STATUS_INSERTING)) !=
            MEMHP_STATUS_ENABLED)
            continue;
        read_dimm(&d);
        print_online(slot, &d, online_dimm(slot, &d, &f), &f);
    }
}

void ospm_boot(const struct boot_info *info)
{
    /* No hot-pluggable SRAT range: no DIMM could ever appear. */
    if (!info->srat_hotplug)
        return;
    slot_count = count_slots();
    if (slot_count == 0)
        return;
    print_line("memory slots=%u", slot_count);
    online_cold_plugged();
}

void ospm_service(void)
{
    uint32_t events = ged_pending;

    if (!events)
        return;
    ged_pending = 0;
    /* All ones: no GED at the port (plain QEMU, where GSI 9 is the SCI). */
    if (events == UINT32_MAX)
        return;
    if ((events & GED_EVENT_MEMORY) && ignore_memory_events)
        print_line("hp-ignore dropped memory event");
    else if ((events & GED_EVENT_MEMORY) && slot_count)
        ospm_scan();
    if (events & GED_EVENT_POWER) {
        print_line("power button");
        power_off_acpi();
    }
}

unsigned ospm_slot_count(void)
{
    return slot_count;
}

void ospm_set_refuse_eject(bool on)
{
    refuse_eject = on;
}

void ospm_set_ignore_events(bool on)
{
    ignore_memory_events = on;
}

void ospm_set_ignore_eject(bool on)
{
    ignore_eject = on;
}

void ospm_print_dimms(void)
{
    unsigned slot, n = 0;

    for (slot = 0; slot < slot_count; slot++) {
        const struct dimm *d = &dimms[slot];

        if (!d->used)
            continue;
        print_line("dimm slot=%u addr=0x%lx size=0x%lx node=%u", slot,
                   d->addr, d->size, d->node);
        n++;
    }
    print_line("dimms count=%u", n);
}

void ospm_memtest(unsigned slot)
{
    struct memcheck_failure f;
    const struct dimm *d;

    if (slot >= slot_count || !dimms[slot].used) {
        print_line("error memtest: slot %u holds no DIMM in use (see dimms)",
                   slot);
        return;
    }
    d = &dimms[slot];
    if (memcheck_range(d->addr, d->size, &f))
        print_line("memtest slot=%u ok", slot);
    else
        print_line("memtest slot=%u failed addr=0x%lx expected=0x%lx "
                   "got=0x%lx", slot, f.addr, f.expected, f.got);
}
