/*
 * Memory hot-plug register block (layout in docs/acpi.md):
 *   read   0x00 address low    0x04 address high   0x08 size low
 *          0x0c size high      0x10 proximity      0x14 status byte
 *   write  0x00 slot selector  0x04 OST event      0x08 OST status
 *          0x14 control byte (bit 1 clear insert, bit 2 clear remove,
 *                             bit 3 eject)
 * Unknown offsets read as all ones; writes that make no sense (selector out
 * of range, eject of an empty slot or one nobody asked to remove) are
 * ignored. All state changes happen under one lock; callbacks run after it
 * is dropped.
 */
#include "devices/memhp.h"

#include <string.h>

#include "errors.h"

#define STATUS_ENABLED      (1u << 0)
#define STATUS_INSERTING    (1u << 1)
#define STATUS_REMOVING     (1u << 2)
#define CONTROL_CLEAR_INSERT (1u << 1)
#define CONTROL_CLEAR_REMOVE (1u << 2)
#define CONTROL_EJECT       (1u << 3)

struct memhp {
    GMutex lock;
    struct bus *bus;
    struct memhp_ops ops;
    unsigned nr_slots;
    struct memhp_slot_state *slots;
    uint32_t selector;
};

/* What a guest write asks the machine to do, once the lock is dropped. */
struct memhp_action {
    bool ost, eject;
    unsigned slot;
    uint32_t event, status;
};

static uint32_t read_reg(struct memhp *h, uint64_t offset)
{
    struct memhp_slot_state *s;

    if (h->selector >= h->nr_slots)
        return UINT32_MAX;
    s = &h->slots[h->selector];
    switch (offset) {
    case 0x00: return (uint32_t)s->addr;
    case 0x04: return (uint32_t)(s->addr >> 32);
    case 0x08: return (uint32_t)s->size;
    case 0x0c: return (uint32_t)(s->size >> 32);
    case 0x10: return s->node;
    case 0x14:
        return (s->enabled ? STATUS_ENABLED : 0) |
               (s->inserting ? STATUS_INSERTING : 0) |
               (s->removing ? STATUS_REMOVING : 0);
    default: return UINT32_MAX;
    }
}

static void write_control(struct memhp *h, struct memhp_slot_state *s,
                          uint32_t v, struct memhp_action *act)
{
    if (v & CONTROL_CLEAR_INSERT)
        s->inserting = false;
    if (v & CONTROL_CLEAR_REMOVE)
        s->removing = false;
    if ((v & CONTROL_EJECT) && s->enabled && s->unplug_requested) {
        act->eject = true;
        act->slot = h->selector;
    }
}

static void write_reg(struct memhp *h, uint64_t offset, uint32_t v,
                      struct memhp_action *act)
{
    struct memhp_slot_state *s;

    if (offset == 0x00) {
        h->selector = v;
        return;
    }
    if (h->selector >= h->nr_slots)
        return;
    s = &h->slots[h->selector];
    switch (offset) {
    case 0x04:
        s->ost_event = v;
        break;
    case 0x08:
        /* The status write completes an _OST call (ACPI 6.5 6.3.5). */
        s->ost_status = v;
        *act = (struct memhp_action){ .ost = true, .slot = h->selector,
                                      .event = s->ost_event, .status = v };
        break;
    case 0x14:
        write_control(h, s, v, act);
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

    g_mutex_lock(&h->lock);
    if (is_write) {
        memcpy(&v, data, MIN(len, sizeof(v)));
        write_reg(h, offset, v, &act);
    } else {
        v = read_reg(h, offset);
    }
    g_mutex_unlock(&h->lock);
    if (!is_write) {
        memset(data, 0, len);
        memcpy(data, &v, MIN(len, sizeof(v)));
    }
    if (act.ost && h->ops.ost)
        h->ops.ost(h->ops.opaque, act.slot, act.event, act.status);
    if (act.eject && h->ops.eject)
        h->ops.eject(h->ops.opaque, act.slot);
}

struct memhp *memhp_create(struct bus *bus, unsigned slots,
                           const struct memhp_ops *ops, GError **err)
{
    struct memhp *h = g_new0(struct memhp, 1);

    g_mutex_init(&h->lock);
    h->bus = bus;
    h->ops = *ops;
    h->nr_slots = slots;
    h->slots = g_new0(struct memhp_slot_state, slots);
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
    g_mutex_clear(&h->lock);
    g_free(h->slots);
    g_free(h);
}

bool memhp_plug(struct memhp *h, unsigned slot, uint64_t addr, uint64_t size,
                uint32_t node, bool hotplug, GError **err)
{
    bool ok = false;

    g_mutex_lock(&h->lock);
    if (slot >= h->nr_slots) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "slot %u is out of range (0..%u)", slot, h->nr_slots - 1);
    } else if (h->slots[slot].enabled) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "slot %u is busy",
                    slot);
    } else {
        h->slots[slot] = (struct memhp_slot_state){
            .enabled = true, .inserting = hotplug, .addr = addr,
            .size = size, .node = node };
        ok = true;
    }
    g_mutex_unlock(&h->lock);
    if (ok && hotplug && h->ops.notify)
        h->ops.notify(h->ops.opaque);
    return ok;
}

bool memhp_request_unplug(struct memhp *h, unsigned slot, GError **err)
{
    bool ok = false;

    g_mutex_lock(&h->lock);
    if (slot >= h->nr_slots || !h->slots[slot].enabled) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "slot %u holds no DIMM", slot);
    } else {
        h->slots[slot].removing = true;
        h->slots[slot].unplug_requested = true;
        ok = true;
    }
    g_mutex_unlock(&h->lock);
    if (ok && h->ops.notify)
        h->ops.notify(h->ops.opaque);
    return ok;
}

void memhp_cancel_unplug(struct memhp *h, unsigned slot)
{
    g_mutex_lock(&h->lock);
    if (slot < h->nr_slots) {
        h->slots[slot].removing = false;
        h->slots[slot].unplug_requested = false;
    }
    g_mutex_unlock(&h->lock);
}

void memhp_clear(struct memhp *h, unsigned slot)
{
    g_mutex_lock(&h->lock);
    if (slot < h->nr_slots)
        memset(&h->slots[slot], 0, sizeof(h->slots[slot]));
    g_mutex_unlock(&h->lock);
}

bool memhp_slot_state(struct memhp *h, unsigned slot,
                      struct memhp_slot_state *out)
{
    bool ok;

    g_mutex_lock(&h->lock);
    ok = slot < h->nr_slots;
    if (ok)
        *out = h->slots[slot];
    g_mutex_unlock(&h->lock);
    return ok;
}
