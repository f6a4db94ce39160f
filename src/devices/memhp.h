/*
 * Memory hot-plug controller: the 24-byte register block at I/O 0x0a00 that
 * the DSDT's memory devices drive (docs/acpi.md, "Memory hot-plug register
 * block"). It holds one status record per DIMM slot; the machine plugs and
 * unplugs, the guest selects a slot, reads where the DIMM is, acknowledges
 * insert and remove events, reports _OST status and ejects.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "bus.h"

#define MEMHP_PORT          0x0a00
#define MEMHP_LEN           0x18
#define MEMHP_SCAN_METHOD   "\\_SB.MHPC.MSCN"

struct memhp_ops {
    void *opaque;
    /* Ask the guest to scan (GED memory event). */
    void (*notify)(void *opaque);
    /* The guest wrote an _OST status for slot (event, status). */
    void (*ost)(void *opaque, unsigned slot, uint32_t event,
                uint32_t status);
    /* The guest ejected slot, whose removal was requested. */
    void (*eject)(void *opaque, unsigned slot);
};

struct memhp_slot_state {
    bool enabled;           /* a DIMM is there and usable */
    bool inserting;         /* insert event not yet acknowledged */
    bool removing;          /* remove event not yet acknowledged */
    bool unplug_requested;  /* device_del pending until the guest ejects */
    uint64_t addr, size;
    uint32_t node;
    uint32_t ost_event, ost_status;
};

struct memhp;

struct memhp *memhp_create(struct bus *bus, unsigned slots,
                           const struct memhp_ops *ops, GError **err);
void memhp_destroy(struct memhp *h);

/*
 * Fills slot. hotplug: mark it inserting and notify the guest; otherwise
 * (cold plug) the DIMM is simply present at boot.
 */
bool memhp_plug(struct memhp *h, unsigned slot, uint64_t addr, uint64_t size,
                uint32_t node, bool hotplug, GError **err);
/* Marks an occupied slot removing and notifies the guest. */
bool memhp_request_unplug(struct memhp *h, unsigned slot, GError **err);
/*
 * The guest refused the removal: the DIMM stays, fully usable, and a later
 * memhp_request_unplug() may ask again.
 */
void memhp_cancel_unplug(struct memhp *h, unsigned slot);
/* Empties slot (after the eject callback, once the memory is gone). */
void memhp_clear(struct memhp *h, unsigned slot);
/* A copy of slot's state; false when slot is out of range. */
bool memhp_slot_state(struct memhp *h, unsigned slot,
                      struct memhp_slot_state *out);

struct aml;
/* Appends Device(MHPC) and one PNP0C80 device per slot to scope (\_SB). */
void memhp_build_aml(struct aml *scope, unsigned slots);
