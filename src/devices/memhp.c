/*
 * Memory hot-plug register block (layout in docs/acpi.md):
 *   read   0x00 address low    0x04 address high   0x08 size low
 *          0x0c size high      0x10 proximity      0x14 status byte
 *   write  0x00 slot selector  0x04 OST event      0x08 OST status
 *          0x14 control byte (bit 1 clear insert, bit 2 clear remove,
 *                             bit 3 eject)
 * Unknown offsets read as all ones; writes that make no sense (selector out
 * of range, eject of an empty slot or one nobody asked to remove) are
 * ignored. The state is the owner's DIMM records, under the owner's lock;
 * callbacks run after it is dropped.
 *
 * _OST calls are reported to the owner, marked as answers when they answer
 * a host request on their slot: each hot-add, each removal request and
 * each eject leaves the slot owing the host a couple of _OST calls
 * ("in progress", then the outcome). Others the guest made on its own
 * (the owner rate-limits their events); for an empty slot that owes
 * nothing, none is reported at all.
 */
#include "devices/memhp.h"

#include <string.h>

#include "devices/pc_dimm.h"
#include "errors.h"

/* Control byte (offset 0x14 written): an event bit written as 1 clears it. */
#define CONTROL_CLEAR_INSERT MEMHP_STATUS_INSERTING
#define CONTROL_CLEAR_REMOVE MEMHP_STATUS_REMOVING
#define CONTROL_EJECT       (1u << 3)

/*
 * _OST calls a slot owes after a hot-add or a removal request: an eject
 * request is answered "in progress" (0x84), then the outcome; an insert
 * with one call. A removal request adds to what the slot still owes (a
 * device_del right after the device_add), to a bound only the host's
 * requests reach. The eject settles the DIMM's account but for one call:
 * the guest's last word on it, which arrives at the now empty slot.
 */
#define ANSWERS_REQUEST     2
#define ANSWERS_EJECT       1
#define ANSWERS_MAX         8

struct memhp {
    GMutex *lock;                   /* the owner's */
    struct bus *bus;
    struct memhp_ops ops;
    unsigned nr_slots;
    struct pc_dimm *const *table;   /* the owner's; NULL: empty slot */
    uint32_t selector;              /* under lock */
    /*
     * The _OST event written for a slot that holds no DIMM: the guest's
     * last word on an ejected DIMM (0x103) arrives after its record is gone.
     */
    uint32_t empty_ost_event;
    uint8_t *answers;               /* per slot: _OST calls owed the host */
};

/* What a guest write asks the machine to do, once the lock is dropped. */
struct memhp_action {
    bool ost, answer, eject;
    unsigned slot;
    uint32_t event, status;
};

static void owe_answers(struct memhp *h, unsigned slot, unsigned n)
{
    h->answers[slot] = MIN(h->answers[slot] + n, ANSWERS_MAX);
}

/* The selected slot's DIMM, or NULL (empty, or selector out of range). */
static struct pc_dimm *selected(struct memhp *h)
{
    return h->selector < h->nr_slots ? h->table[h->selector] : NULL;
}

static uint32_t read_reg(struct memhp *h, uint64_t offset)
{
    const struct pc_dimm *d = selected(h);

    if (h->selector >= h->nr_slots)
        return UINT32_MAX;
    if (!d)                 /* an empty slot: all zeros, not enabled */
        return offset <= 0x14 && offset % 4 == 0 ? 0 : UINT32_MAX;
    switch (offset) {
    case 0x00: return (uint32_t)d->addr;
    case 0x04: return (uint32_t)(d->addr >> 32);
    case 0x08: return (uint32_t)d->size;
    case 0x0c: return (uint32_t)(d->size >> 32);
    case 0x10: return d->node;
    case 0x14:
        return MEMHP_STATUS_ENABLED |
               (d->hp.inserting ? MEMHP_STATUS_INSERTING : 0) |
               (d->hp.removing ? MEMHP_STATUS_REMOVING : 0);
    default: return UINT32_MAX;
    }
}

static void write_control(struct memhp *h, struct pc_dimm *d, uint32_t v,
                          struct memhp_action *act)
{
    if (v & CONTROL_CLEAR_INSERT)
        d->hp.inserting = false;
    if (v & CONTROL_CLEAR_REMOVE)
        d->hp.removing = false;
    if ((v & CONTROL_EJECT) && d->hp.unplug_requested) {
        act->eject = true;
        act->slot = h->selector;
        h->answers[h->selector] = ANSWERS_EJECT;
    }
}

/* The status write completes an _OST call (ACPI 6.5 6.3.5). */
static void write_ost_status(struct memhp *h, struct pc_dimm *d, uint32_t v,
                             struct memhp_action *act)
{
    unsigned slot = h->selector;
    bool answer = h->answers[slot] > 0;

    if (!d && !answer)
        return;             /* an empty slot nobody asked about */
    if (answer)
        h->answers[slot]--;
    if (d)
        d->hp.ost_status = v;
    *act = (struct memhp_action){
        .ost = true, .answer = answer, .slot = slot, .status = v,
        .event = d ? d->hp.ost_event : h->empty_ost_event };
}

static void write_reg(struct memhp *h, uint64_t offset, uint32_t v,
                      struct memhp_action *act)
{
    struct pc_dimm *d;

    if (offset == 0x00) {
        h->selector = v;
        return;
    }
    if (h->selector >= h->nr_slots)
        return;
    d = selected(h);
    switch (offset) {
    case 0x04:
        *(d ? &d->hp.ost_event : &h->empty_ost_event) = v;
        break;
    case 0x08:
        write_ost_status(h, d, v, act);
        break;
    case 0x14:
        if (d)
            write_control(h, d, v, act);
        break;
    default:
        break;
    }
}

static void memhp_access(void *opaque, uint64_t offset, uint8_t *data,
                         uint32_t len, bool is_write)
{
    struct memhp *h = opaque;
    struct memhp_action act = { 0 };
    uint32_t v = 0;

    g_mutex_lock(h->lock);
    if (is_write) {
        memcpy(&v, data, MIN(len, sizeof(v)));
        write_reg(h, offset, v, &act);
    } else {
        v = read_reg(h, offset);
    }
    g_mutex_unlock(h->lock);
    if (!is_write) {
        memset(data, 0, len);
        memcpy(data, &v, MIN(len, sizeof(v)));
    }
    if (act.ost && h->ops.ost)
        h->ops.ost(h->ops.opaque, act.slot, act.event, act.status,
                   act.answer);
    if (act.eject && h->ops.eject)
        h->ops.eject(h->ops.opaque, act.slot);
}

struct memhp *memhp_create(struct bus *bus, unsigned slots,
                           struct pc_dimm *const *table, GMutex *lock,
                           const struct memhp_ops *ops, GError **err)
{
    struct memhp *h = g_new0(struct memhp, 1);

    h->lock = lock;
    h->bus = bus;
    h->ops = *ops;
    h->nr_slots = slots;
    h->table = table;
    h->answers = g_new0(uint8_t, MAX(slots, 1));
    if (!bus_register(bus, BUS_PIO, MEMHP_PORT, MEMHP_LEN, memhp_access, h,
                      err)) {
        memhp_destroy(h);
        return NULL;
    }
    return h;
}

void memhp_destroy(struct memhp *h)
{
    if (!h)
        return;
    bus_unregister(h->bus, BUS_PIO, MEMHP_PORT);
    g_free(h->answers);
    g_free(h);
}

void memhp_plugged(struct memhp *h, unsigned slot, bool hotplug)
{
    struct pc_dimm *d = slot < h->nr_slots ? h->table[slot] : NULL;

    if (!d)
        return;
    d->hp = (struct pc_dimm_slot_state){ .inserting = hotplug };
    h->answers[slot] = hotplug ? ANSWERS_REQUEST : 0;   /* a new DIMM */
    if (hotplug && h->ops.notify)
        h->ops.notify(h->ops.opaque);
}

bool memhp_request_unplug(struct memhp *h, unsigned slot, GError **err)
{
    struct pc_dimm *d = slot < h->nr_slots ? h->table[slot] : NULL;

    if (!d) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "slot %u holds no DIMM", slot);
        return false;
    }
    d->hp.removing = true;
    d->hp.unplug_requested = true;
    owe_answers(h, slot, ANSWERS_REQUEST);
    if (h->ops.notify)
        h->ops.notify(h->ops.opaque);
    return true;
}

void memhp_reset(struct memhp *h)
{
    if (!h)
        return;
    h->selector = 0;
    h->empty_ost_event = 0;
    for (unsigned i = 0; i < h->nr_slots; i++) {
        struct pc_dimm *d = h->table[i];

        h->answers[i] = 0;          /* the requests are gone with the reset */
        if (d) {
            d->hp.inserting = false;
            d->hp.removing = false;
            d->hp.unplug_requested = false;
        }
    }
}

void memhp_cancel_unplug(struct memhp *h, unsigned slot)
{
    struct pc_dimm *d = slot < h->nr_slots ? h->table[slot] : NULL;

    if (d) {
        d->hp.removing = false;
        d->hp.unplug_requested = false;
    }
}

void memhp_get_state(struct memhp *h, struct memhp_state *st)
{
    *st = (struct memhp_state){ .selector = h->selector,
                                .empty_ost_event = h->empty_ost_event };
}

void memhp_set_state(struct memhp *h, const struct memhp_state *st)
{
    h->selector = st->selector;
    h->empty_ost_event = st->empty_ost_event;
}
