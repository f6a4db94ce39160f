/*
 * Memory hot-plug controller: the 24-byte register block at I/O 0x0a00 that
 * the DSDT's memory devices drive (docs/acpi.md, "Memory hot-plug register
 * block"). It keeps no copy of a DIMM: it reads and updates the owner's
 * DIMM records (devices/pc_dimm.h). The machine plugs and unplugs; the
 * guest selects a slot, reads where the DIMM is, acknowledges insert and
 * remove events, reports _OST status and ejects.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "bus.h"

#define MEMHP_PORT          0x0a00
#define MEMHP_LEN           0x18
#define MEMHP_SCAN_METHOD   "\\_SB.MHPC.MSCN"

/*
 * Status byte (offset 0x14). The two event bits read as pending events and
 * are cleared by writing them back as 1 (docs/acpi.md).
 */
#define MEMHP_STATUS_ENABLED    (1u << 0)
#define MEMHP_STATUS_INSERTING  (1u << 1)
#define MEMHP_STATUS_REMOVING   (1u << 2)
#define MEMHP_STATUS_EVENTS     (MEMHP_STATUS_INSERTING | MEMHP_STATUS_REMOVING)

struct memhp_ops {
    void *opaque;
    /* Ask the guest to scan (GED memory event). */
    void (*notify)(void *opaque);
    /*
     * The guest wrote an _OST status for slot (event, status). answer: it
     * answers a host request on the slot (hot-add, removal request,
     * eject); otherwise the guest made the call on its own. Calls for an
     * empty slot that owes no answer are not reported.
     */
    void (*ost)(void *opaque, unsigned slot, uint32_t event,
                uint32_t status, bool answer);
    /* The guest ejected slot, whose removal was requested. */
    void (*eject)(void *opaque, unsigned slot);
};

struct memhp;
struct pc_dimm;

/*
 * The controller for slots table[0..slots): the owner's slot table of
 * DIMM records (NULL: empty slot), guarded by the owner's lock, which the
 * guest's register accesses take. The owner keeps both alive longer than
 * the controller; the callbacks run with the lock dropped.
 */
struct memhp *memhp_create(struct bus *bus, unsigned slots,
                           struct pc_dimm *const *table, GMutex *lock,
                           const struct memhp_ops *ops, GError **err);
void memhp_destroy(struct memhp *h);

/*
 * The rest is called by the owner with its lock held.
 *
 * table[slot] was just filled. hotplug: the slot starts inserting and the
 * guest is asked to scan; otherwise (cold plug) the DIMM is there at boot.
 */
void memhp_plugged(struct memhp *h, unsigned slot, bool hotplug);
/*
 * Marks an occupied slot removing and asks the guest to scan; again when
 * a removal is already pending (the guest may have lost the request).
 */
bool memhp_request_unplug(struct memhp *h, unsigned slot, GError **err);
/*
 * The guest refused the removal: the DIMM stays, fully usable, and a later
 * memhp_request_unplug() may ask again.
 */
void memhp_cancel_unplug(struct memhp *h, unsigned slot);

/*
 * Machine reset: the selector and every slot's pending insert and remove
 * events are cleared and a pending removal is dropped, so each plugged
 * DIMM reads enabled only, as a cold-plugged one; the DIMMs stay. The
 * owner's lock is held.
 */
void memhp_reset(struct memhp *h);

/*
 * Migration: what the controller itself holds (the slots' state is in the
 * DIMM records): the selector and the _OST event written for an empty
 * slot. The owner's lock is held.
 */
struct memhp_state {
    uint32_t selector;
    uint32_t empty_ost_event;
};
void memhp_get_state(struct memhp *h, struct memhp_state *st);
void memhp_set_state(struct memhp *h, const struct memhp_state *st);

struct aml;
/* Appends Device(MHPC) and one PNP0C80 device per slot to scope (\_SB). */
void memhp_build_aml(struct aml *scope, unsigned slots);
