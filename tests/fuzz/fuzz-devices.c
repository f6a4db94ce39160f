/*
 * Fuzz target: the guest side of every emulated device, with DIMMs coming
 * and going. The input is a sequence of operations on the fuzz machine
 * (fuzzvm.h), decoded one after the other:
 *
 *   guest  a port or MMIO access (space, device or address, offset, size
 *          1/2/4/8, value, read or write) dispatched on the machine's bus
 *          as a vCPU exit is (bus_dispatch): the memory hot-plug register
 *          block, the GED, the sleep/reset registers, the power port,
 *          COM1, or any port; or a short sequence an OSPM would write
 *          (select a slot and eject it, report an _OST, scan all slots)
 *   host   device_add of a DIMM (backend, id, slot, address), device_del,
 *          object-del, bytes arriving on the serial port, system_powerdown
 *
 * After every operation, besides "no crash, no leak":
 *   - a guest access never plugs a DIMM, never removes one whose removal
 *     device_del did not request, never requests a removal itself, and
 *     never changes a DIMM's id, address, size, backend or node; every
 *     removal is announced by exactly one DEVICE_DELETED;
 *   - a refused device_add / device_del changes nothing; an accepted one
 *     changes its own slot only and raises the GED interrupt;
 *   - the GED register, read by the guest, shows the memory event after
 *     every accepted device_add / device_del since its last read;
 *   - reads of the register block say what the selected slot's DIMM record
 *     says (docs/acpi.md: address, size, node, enabled);
 *   - the memslot table equals what the fake KVM holds (fuzz_vm_check).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "acpi/tables.h"
#include "backend/backend.h"
#include "bus.h"
#include "devices/ged.h"
#include "devices/memhp.h"
#include "devices/serial.h"
#include "fuzzvm.h"
#include "hotmem/guest-abi.h"
#include "machine/machine_internal.h"

#define MAX_OPS         64
#define NAME_MAX_LEN    64      /* ids and paths the harness makes */
#define NR_IDS          6       /* "d0".."d5" */
#define EXTRA_SLOTS     2       /* selectors beyond the last slot */

struct input {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes && in->n; i++, in->n--)
        v |= (uint64_t)*in->p++ << (8 * i);
    return v;
}

/* FUZZ_VERBOSE=1: what each operation did, to read a reproducer. */
static void trace(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void trace(const char *fmt, ...)
{
    static int verbose = -1;
    va_list ap;

    if (verbose < 0)
        verbose = g_getenv("FUZZ_VERBOSE") != NULL;
    if (!verbose)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static uint8_t take8(struct input *in)
{
    return (uint8_t)take(in, 1);
}

/* ---- what the harness knows ------------------------------------------ */

struct dimm_view {
    bool present, has_id;
    char id[NAME_MAX_LEN], path[NAME_MAX_LEN];
    uint64_t addr, size;
    const void *backend;
    uint32_t node;
    struct pc_dimm_slot_state hp;
};

struct snapshot {
    struct dimm_view slot[FUZZ_VM_SLOTS];
    uint64_t plugged;
    unsigned memslots;
};

struct state {
    struct fuzz_vm *vm;
    uint32_t selector;          /* last value written to 0x00, as sized */
    bool ged_memory_due;        /* an accepted request since the GED read */
    bool ged_power_due;
    unsigned deleted_events;    /* DEVICE_DELETED seen so far */
};

static void snapshot_take(struct state *st, struct snapshot *s)
{
    struct machine *m = st->vm->m;

    memset(s, 0, sizeof(*s));
    g_mutex_lock(&m->dimm_lock);
    for (unsigned i = 0; i < FUZZ_VM_SLOTS; i++) {
        const struct pc_dimm *d = m->dimm_slots[i];

        if (!d)
            continue;
        s->slot[i] = (struct dimm_view){
            .present = true, .has_id = d->id != NULL, .addr = d->addr,
            .size = d->size, .backend = d->backend, .node = d->node,
            .hp = d->hp };
        g_strlcpy(s->slot[i].id, d->id ? d->id : "", NAME_MAX_LEN);
        g_strlcpy(s->slot[i].path, d->path, NAME_MAX_LEN);
    }
    s->plugged = m->plugged_size;
    g_mutex_unlock(&m->dimm_lock);
    s->memslots = memmap_count(m->memmap);
}

/* The DIMM itself (not its slot state) is the same. */
static bool same_dimm(const struct dimm_view *a, const struct dimm_view *b)
{
    return a->present == b->present && a->has_id == b->has_id &&
           !strcmp(a->id, b->id) && !strcmp(a->path, b->path) &&
           a->addr == b->addr &&
           a->size == b->size && a->backend == b->backend &&
           a->node == b->node;
}

static bool same_slot(const struct dimm_view *a, const struct dimm_view *b)
{
    return same_dimm(a, b) && !memcmp(&a->hp, &b->hp, sizeof(a->hp));
}

static unsigned count_events(struct state *st, const char *name)
{
    GPtrArray *ev = st->vm->events;
    size_t n = strlen(name);
    unsigned count = 0;

    for (guint i = 0; i < ev->len; i++) {
        const char *e = g_ptr_array_index(ev, i);

        count += !strncmp(e, name, n) && e[n] == ' ';
    }
    return count;
}

/* After a guest access: only what the guest has a right to changed. */
static void check_guest_effect(struct state *st, const struct snapshot *a,
                               const struct snapshot *b, const char *what)
{
    unsigned removed = 0, deleted;

    for (unsigned i = 0; i < FUZZ_VM_SLOTS; i++) {
        const struct dimm_view *x = &a->slot[i], *y = &b->slot[i];

        if (!x->present && y->present)
            fuzz_fail("%s plugged a DIMM into slot %u", what, i);
        if (x->present && !y->present) {
            if (!x->hp.unplug_requested)
                fuzz_fail("%s removed DIMM '%s' (slot %u) whose removal "
                          "nobody requested", what, x->path, i);
            removed++;
            continue;
        }
        if (!x->present)
            continue;
        if (!same_dimm(x, y))
            fuzz_fail("%s changed DIMM '%s' in slot %u: [0x%" PRIx64 " +0x%"
                      PRIx64 "] is now [0x%" PRIx64 " +0x%" PRIx64 "]", what,
                      x->path, i, x->addr, x->size, y->addr, y->size);
        if (!x->hp.unplug_requested && y->hp.unplug_requested)
            fuzz_fail("%s requested the removal of DIMM '%s' (slot %u)",
                      what, x->path, i);
    }
    deleted = count_events(st, "DEVICE_DELETED");
    if (deleted - st->deleted_events != removed)
        fuzz_fail("%s removed %u DIMMs but sent %u DEVICE_DELETED", what,
                  removed, deleted - st->deleted_events);
    st->deleted_events = deleted;
}

/* After a host request: refused changes nothing, accepted only its slot. */
static void check_host_effect(struct state *st, const struct snapshot *a,
                              const struct snapshot *b, bool accepted,
                              int slot, const char *what)
{
    for (unsigned i = 0; i < FUZZ_VM_SLOTS; i++) {
        if ((!accepted || (int)i != slot) &&
            !same_slot(&a->slot[i], &b->slot[i]))
            fuzz_fail("%s changed slot %u", what, i);
    }
    if (!accepted && (a->plugged != b->plugged || a->memslots != b->memslots))
        fuzz_fail("refused %s changed the memory map", what);
    if (accepted && !st->vm->kvm.irq_level[GED_GSI])
        fuzz_fail("accepted %s left the GED interrupt low", what);
}

/* ---- guest ------------------------------------------------------------ */

static const struct {
    uint16_t base, len;
} devices[] = {
    { MEMHP_PORT, MEMHP_LEN },
    { GED_PORT, 4 },
    { ACPI_SLEEP_CTL_PORT, 3 },
    { HOTMEM_POWER_PORT, 1 },
    { HOTMEM_COM1_PORT, 8 },
};

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;
}

/* What docs/acpi.md says a read of the register block returns. */
static bool memhp_expected(struct state *st, const struct snapshot *s,
                           uint64_t off, uint64_t *want)
{
    const struct dimm_view *d;

    if (st->selector >= FUZZ_VM_SLOTS) {
        *want = UINT32_MAX;
        return true;
    }
    d = &s->slot[st->selector];
    if (!d->present)
        return false;       /* an empty slot: not specified beyond "0" */
    switch (off) {
    case 0x00: *want = (uint32_t)d->addr; return true;
    case 0x04: *want = (uint32_t)(d->addr >> 32); return true;
    case 0x08: *want = (uint32_t)d->size; return true;
    case 0x0c: *want = (uint32_t)(d->size >> 32); return true;
    case 0x10: *want = d->node; return true;
    default: return false;
    }
}

/* Dispatches one access and checks its effects; returns what was read. */
static uint64_t guest_io(struct state *st, enum bus_space space,
                         uint64_t addr, unsigned size, uint64_t value,
                         bool write)
{
    struct snapshot a, b;
    uint8_t data[8];
    uint64_t got = 0, want;
    char what[80];

    g_snprintf(what, sizeof(what), "guest %s of %u bytes at %s 0x%" PRIx64,
               write ? "write" : "read", size,
               space == BUS_PIO ? "port" : "MMIO", addr);
    memcpy(data, &value, sizeof(data));
    snapshot_take(st, &a);
    bus_dispatch(st->vm->m->bus, space, addr, data, size, write);
    snapshot_take(st, &b);
    check_guest_effect(st, &a, &b, what);
    memcpy(&got, data, size);
    trace("%s: 0x%" PRIx64, what, write ? value & size_mask(size) : got);
    if (space == BUS_PIO && addr == MEMHP_PORT && write)
        st->selector = (uint32_t)(value & size_mask(MIN(size, 4u)));
    if (space == BUS_PIO && addr >= MEMHP_PORT &&
        addr < MEMHP_PORT + MEMHP_LEN && !write && size == 4 &&
        memhp_expected(st, &a, addr - MEMHP_PORT, &want) && got != want)
        fuzz_fail("%s: read 0x%" PRIx64 ", the DIMM record says 0x%" PRIx64,
                  what, got, want);
    if (space == BUS_PIO && addr == MEMHP_PORT + 0x14 && !write &&
        st->selector < FUZZ_VM_SLOTS &&
        (got & 1) != a.slot[st->selector].present)
        fuzz_fail("%s: slot %u enabled bit %u, but the slot is %s", what,
                  st->selector, (unsigned)(got & 1),
                  a.slot[st->selector].present ? "plugged" : "empty");
    if (space == BUS_PIO && addr == GED_PORT && !write) {
        if (st->ged_memory_due && !(got & GED_EVENT_MEMORY))
            fuzz_fail("%s: GED read 0x%" PRIx64 " without the memory event "
                      "of an accepted device_add/device_del", what, got);
        if (st->ged_power_due && !(got & GED_EVENT_POWER))
            fuzz_fail("%s: GED read 0x%" PRIx64 " without the power button "
                      "event of system_powerdown", what, got);
        st->ged_memory_due = st->ged_power_due = false;
    }
    return got;
}

static void op_guest_pio(struct state *st, struct input *in)
{
    uint8_t dev = take8(in), off = take8(in), flags = take8(in);
    unsigned size = 1u << (flags & 3);
    uint64_t value = take(in, size);
    uint64_t port;

    if (dev % (G_N_ELEMENTS(devices) + 1) < G_N_ELEMENTS(devices)) {
        unsigned i = dev % (G_N_ELEMENTS(devices) + 1);

        /* A little past the end too: neighbours and unclaimed ports. */
        port = devices[i].base + off % (devices[i].len + 4u);
    } else {
        port = (uint16_t)take(in, 2);
    }
    guest_io(st, BUS_PIO, port, size, value, flags & 4);
}

static void op_guest_mmio(struct state *st, struct input *in)
{
    uint8_t flags = take8(in);
    unsigned size = 1u << (flags & 3);
    uint64_t addr = take(in, 8);
    uint64_t value = take(in, size);

    /* Nothing claims MMIO yet: reads must return all ones, nothing crash. */
    if (flags & 8)
        addr = st->vm->m->layout.window_base + addr % (64ULL << 20);
    guest_io(st, BUS_MMIO, addr, size, value, flags & 4);
}

static void reg_write(struct state *st, unsigned off, unsigned size,
                      uint32_t v)
{
    guest_io(st, BUS_PIO, MEMHP_PORT + off, size, v, true);
}

static uint32_t reg_read(struct state *st, unsigned off, unsigned size)
{
    return (uint32_t)guest_io(st, BUS_PIO, MEMHP_PORT + off, size, 0, false);
}

/* _EJ0 of a slot as the DSDT writes it, maybe after clearing "removing". */
static void op_guest_eject(struct state *st, struct input *in)
{
    uint8_t v = take8(in);

    reg_write(st, 0x00, 4, v % (FUZZ_VM_SLOTS + EXTRA_SLOTS));
    if (v & 0x80)
        reg_write(st, 0x14, 1, 0x4);
    reg_write(st, 0x14, 1, 0x8);
}

/* _OST(event, status) of a slot, with the codes the DSDT and Linux use. */
static void op_guest_ost(struct state *st, struct input *in)
{
    static const uint32_t events[] = { 0x1, 0x3, 0x103, 0x200 };
    static const uint32_t statuses[] = { 0x0, 0x1, 0x80, 0x81, 0x84, 0x86 };
    uint8_t v = take8(in), e = take8(in), s = take8(in);

    reg_write(st, 0x00, 4, v % (FUZZ_VM_SLOTS + EXTRA_SLOTS));
    reg_write(st, 0x04, 4, e & 0x80 ? take(in, 4)
                                    : events[e % G_N_ELEMENTS(events)]);
    reg_write(st, 0x08, 4, s & 0x80 ? take(in, 4)
                                    : statuses[s % G_N_ELEMENTS(statuses)]);
}

/*
 * What an OSPM does on a GED interrupt (the DSDT's _EVT and MSCN): read
 * the event register, then for every slot acknowledge inserting (and
 * report success) or removing (then eject, or refuse with _OST 0x103/1).
 */
static void op_guest_scan(struct state *st, struct input *in)
{
    uint8_t choices = take8(in);

    guest_io(st, BUS_PIO, GED_PORT, 4, 0, false);
    for (unsigned i = 0; i < FUZZ_VM_SLOTS; i++) {
        uint32_t status;

        reg_write(st, 0x00, 4, i);
        status = reg_read(st, 0x14, 1);
        if (status & 0x2) {
            reg_write(st, 0x14, 1, 0x2);
            reg_write(st, 0x04, 4, 0x1);
            reg_write(st, 0x08, 4, 0x0);
        } else if (status & 0x4) {
            reg_write(st, 0x14, 1, 0x4);
            if (choices & (1u << i)) {
                reg_write(st, 0x04, 4, 0x103);
                reg_write(st, 0x08, 4, 0x1);
            } else {
                reg_write(st, 0x14, 1, 0x8);
            }
        }
    }
}

/* ---- host ------------------------------------------------------------- */

static const char *dimm_id(unsigned i)
{
    static const char *const ids[NR_IDS] = { "d0", "d1", "d2", "d3", "d4",
                                             "d5" };

    return ids[i % NR_IDS];
}

static void op_device_add(struct state *st, struct input *in)
{
    uint8_t backend = take8(in), id = take8(in), slot = take8(in);
    uint8_t addr = take8(in);
    json_object *args = json_object_new_object();
    g_autoptr(GError) err = NULL;
    struct snapshot a, b;
    int changed = -1;
    bool ok;

    json_object_object_add(args, "driver", json_object_new_string("pc-dimm"));
    json_object_object_add(args, "memdev", json_object_new_string(
        backend < 250 ? fuzz_vm_backend_id(backend) : "nothing"));
    if (id % 8 < NR_IDS)
        json_object_object_add(args, "id", json_object_new_string(
                                   dimm_id(id)));
    else if (id % 8 == 7)
        json_object_object_add(args, "id", json_object_new_string("1bad"));
    if (slot)
        json_object_object_add(args, "slot", json_object_new_int(
            (slot - 1) % (FUZZ_VM_SLOTS + EXTRA_SLOTS)));
    if (addr & 0x80)
        json_object_object_add(args, "addr", json_object_new_uint64(
            st->vm->m->layout.window_base + (addr & 0x3f) * (1ULL << 20)));
    snapshot_take(st, &a);
    ok = machine_device_add(st->vm->m, args, &err);
    trace("device_add %s: %s", json_object_to_json_string(args),
          ok ? "ok" : err->message);
    snapshot_take(st, &b);
    for (unsigned i = 0; ok && i < FUZZ_VM_SLOTS; i++) {
        if (!a.slot[i].present && b.slot[i].present) {
            if (changed >= 0)
                fuzz_fail("device_add filled slots %d and %u", changed, i);
            changed = (int)i;
        }
    }
    if (ok && changed < 0)
        fuzz_fail("device_add succeeded and no slot was filled");
    if (!ok && (!err || !err->message[0]))
        fuzz_fail("device_add refused without saying why");
    if (ok && !b.slot[changed].hp.inserting)
        fuzz_fail("hot-added DIMM in slot %d is not inserting", changed);
    check_host_effect(st, &a, &b, ok, changed, "device_add");
    st->ged_memory_due |= ok;
    json_object_put(args);
}

static void op_device_del(struct state *st, struct input *in)
{
    const char *id = dimm_id(take8(in));
    g_autoptr(GError) err = NULL;
    struct snapshot a, b;
    int slot = -1;
    bool ok;

    snapshot_take(st, &a);
    ok = machine_device_del(st->vm->m, id, &err);
    trace("device_del %s: %s", id, ok ? "ok" : err->message);
    snapshot_take(st, &b);
    for (unsigned i = 0; i < FUZZ_VM_SLOTS; i++) {
        if (a.slot[i].present && a.slot[i].has_id &&
            !strcmp(a.slot[i].id, id))
            slot = (int)i;
    }
    if (ok && (slot < 0 || !b.slot[slot].hp.unplug_requested ||
               !b.slot[slot].hp.removing || !same_dimm(&a.slot[slot],
                                                       &b.slot[slot])))
        fuzz_fail("device_del %s accepted, but its DIMM is not marked for "
                  "removal", id);
    if (!ok && (!err || !err->message[0]))
        fuzz_fail("device_del refused without saying why");
    check_host_effect(st, &a, &b, ok, slot, "device_del");
    st->ged_memory_due |= ok;
}

static void op_object_del(struct state *st, struct input *in)
{
    const char *id = fuzz_vm_backend_id(take8(in));
    g_autoptr(GError) err = NULL;
    struct snapshot a, b;
    bool ok;

    snapshot_take(st, &a);
    ok = machine_object_del(st->vm->m, id, &err);
    trace("object-del %s: %s", id, ok ? "ok" : err->message);
    snapshot_take(st, &b);
    /* A backend in use can never go; the DIMMs stay as they were. */
    for (unsigned i = 0; i < FUZZ_VM_SLOTS; i++) {
        if (!same_slot(&a.slot[i], &b.slot[i]))
            fuzz_fail("object-del %s changed slot %u", id, i);
        if (ok && a.slot[i].present && a.slot[i].backend &&
            !strcmp(backend_id(a.slot[i].backend), id))
            fuzz_fail("object-del removed %s, which DIMM '%s' uses", id,
                      a.slot[i].path);
    }
}

static void op_serial_input(struct state *st, struct input *in)
{
    uint8_t buf[32];
    size_t want = take8(in) % sizeof(buf);
    size_t n = MIN(want, in->n);

    memcpy(buf, in->p, n);
    in->p += n;
    in->n -= n;
    trace("serial input of %zu bytes: %zu taken", n,
          serial_receive(st->vm->m->com1, buf, n));
}

static void op_powerdown(struct state *st, struct input *in)
{
    trace("system_powerdown");
    machine_powerdown(st->vm->m);
    st->ged_power_due = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    struct state st = { .vm = fuzz_vm_new(NULL, NULL) };

    for (unsigned i = 0; i < MAX_OPS && in.n; i++) {
        switch (take8(&in) % 16) {
        case 0: case 1: case 2: case 3: case 4:
            op_guest_pio(&st, &in);
            break;
        case 5: op_guest_mmio(&st, &in); break;
        case 6: op_guest_eject(&st, &in); break;
        case 7: op_guest_ost(&st, &in); break;
        case 8: case 9: op_guest_scan(&st, &in); break;
        case 10: case 11: op_device_add(&st, &in); break;
        case 12: op_device_del(&st, &in); break;
        case 13: op_object_del(&st, &in); break;
        case 14: op_serial_input(&st, &in); break;
        default: op_powerdown(&st, &in); break;
        }
        fuzz_vm_check(st.vm);
    }
    for (guint i = 0; i < st.vm->events->len; i++)
        trace("event %s", (char *)g_ptr_array_index(st.vm->events, i));
    fuzz_vm_free(st.vm);
    return 0;
}
