/*
 * pc-dimm lifecycle. device_add checks everything first, then installs the
 * memslot and fills the controller slot, so a failure leaves the VM as it
 * was. device_del only asks the guest (again, when repeated before the
 * guest answered); the DIMM goes when the guest ejects
 * (machine_dimm_on_eject, on a vCPU thread), then DEVICE_DELETED is sent.
 * A guest that answers the eject request with a failure _OST status keeps
 * the DIMM and DEVICE_UNPLUG_GUEST_ERROR is sent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "devices/pc_dimm.h"
#include "errors.h"
#include "machine/machine_internal.h"

/* ACPI 6.5 section 6.3.5, _OST (OSPM Status Indication): its tables of
 * source event codes and of status codes per event. */
#define OST_EVENT_EJECT_REQUEST     0x03
#define OST_EVENT_OSPM_EJECT        0x103
#define OST_STATUS_SUCCESS          0x00
#define OST_STATUS_EJECT_IN_PROGRESS 0x84

static void dimm_free(struct pc_dimm *d)
{
    if (!d)
        return;
    g_free(d->id);
    g_free(d->path);
    g_free(d);
}

void machine_dimm_table_init(struct machine *m)
{
    g_mutex_init(&m->dimm_lock);
    m->dimm_slots = g_new0(struct pc_dimm *, m->cfg.slots + 1);
    m->slot_ost = g_new0(struct machine_slot_ost, m->cfg.slots + 1);
    m->dimm_ids = g_ptr_array_sized_new(m->cfg.slots);
    m->dimm_ranges = g_array_sized_new(FALSE, FALSE,
                                       sizeof(struct pc_dimm_range),
                                       m->cfg.slots);
}

bool machine_dimms_init(struct machine *m, GError **err)
{
    for (unsigned i = 0; i < m->cfg.nr_devices; i++) {
        if (!machine_device_add(m, m->cfg.devices[i], err)) {
            g_prefix_error(err, "-device: ");
            return false;
        }
    }
    return true;
}

void machine_dimms_free(struct machine *m)
{
    if (!m->dimm_slots)
        return;
    for (unsigned i = 0; i < m->cfg.slots; i++)
        dimm_free(m->dimm_slots[i]);
    g_clear_pointer(&m->dimm_slots, g_free);
    g_clear_pointer(&m->slot_ost, g_free);
    if (m->dimm_ids)
        g_ptr_array_free(g_steal_pointer(&m->dimm_ids), TRUE);
    g_clear_pointer(&m->dimm_ranges, g_array_unref);
    g_mutex_clear(&m->dimm_lock);
}

/* Index in dimm_ids of id, or of where it would go (*found false). */
static unsigned id_index(struct machine *m, const char *id, bool *found)
{
    unsigned lo = 0, hi = m->dimm_ids->len;

    *found = false;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = strcmp(((struct pc_dimm *)g_ptr_array_index(m->dimm_ids,
                                                            mid))->id, id);

        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct pc_dimm *find_by_id(struct machine *m, const char *id)
{
    bool found;
    unsigned i = id_index(m, id, &found);

    return found ? g_ptr_array_index(m->dimm_ids, i) : NULL;
}

/* Index of the first range at or above addr. */
static unsigned range_index(struct machine *m, uint64_t addr)
{
    unsigned lo = 0, hi = m->dimm_ranges->len;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (g_array_index(m->dimm_ranges, struct pc_dimm_range,
                          mid).addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Where range i would start if it continued the packed ranges before it. */
static uint64_t packed_end(struct machine *m, unsigned i)
{
    const struct pc_dimm_range *r;

    if (i == 0)
        return m->layout.window_base;
    r = &g_array_index(m->dimm_ranges, struct pc_dimm_range, i - 1);
    return r->addr + r->size;
}

/* d enters (or leaves) the slot table and both indexes. dimm_lock held. */
static void table_insert(struct machine *m, struct pc_dimm *d)
{
    struct pc_dimm_range r = { d->addr, d->size, d->id ?: "(anonymous)" };
    unsigned i = range_index(m, d->addr);
    bool found;

    m->dimm_slots[d->slot] = d;
    if (d->id)
        g_ptr_array_insert(m->dimm_ids, (gint)id_index(m, d->id, &found), d);
    g_array_insert_val(m->dimm_ranges, i, r);
    /* Filling the first gap extends the packed run, maybe over others. */
    if (i == m->dimm_packed && d->addr == packed_end(m, i)) {
        while (m->dimm_packed < m->dimm_ranges->len &&
               g_array_index(m->dimm_ranges, struct pc_dimm_range,
                             m->dimm_packed).addr ==
               packed_end(m, m->dimm_packed))
            m->dimm_packed++;
    }
}

static void table_remove(struct machine *m, struct pc_dimm *d)
{
    unsigned i = range_index(m, d->addr);
    bool found;

    m->dimm_slots[d->slot] = NULL;
    m->dimm_free_hint = MIN(m->dimm_free_hint, d->slot);
    if (d->id) {
        unsigned j = id_index(m, d->id, &found);

        if (found)
            g_ptr_array_remove_index(m->dimm_ids, j);
    }
    g_array_remove_index(m->dimm_ranges, i);
    m->dimm_packed = MIN(m->dimm_packed, i);
}

/* The slot to use: the requested one if valid and free, else lowest free. */
static bool pick_slot(struct machine *m, const struct pc_dimm_props *p,
                      unsigned *slot, GError **err)
{
    if (p->has_slot) {
        if (p->slot >= m->cfg.slots) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "slot %u is out of range: the machine has %u slots "
                        "(0..%u)", p->slot, m->cfg.slots, m->cfg.slots - 1);
            return false;
        }
        if (m->dimm_slots[p->slot]) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "slot %u is busy with DIMM '%s'", p->slot,
                        m->dimm_slots[p->slot]->id ?: "(anonymous)");
            return false;
        }
        *slot = p->slot;
        return true;
    }
    for (unsigned i = m->dimm_free_hint; i < m->cfg.slots; i++) {
        if (!m->dimm_slots[i]) {
            m->dimm_free_hint = i;  /* every slot below i is busy */
            *slot = i;
            return true;
        }
    }
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "no free slot: all %u DIMM slots are in use", m->cfg.slots);
    return false;
}

static bool check_node(struct machine *m, const struct pc_dimm_props *p,
                       GError **err)
{
    if (!p->has_node)
        return true;
    for (unsigned i = 0; i < m->cfg.nr_nodes; i++) {
        if (m->cfg.nodes[i].id == p->node)
            return true;
    }
    if (m->cfg.nr_nodes == 0 && p->node == 0)
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "DIMM node %u does not exist (the machine has %u NUMA "
                "node%s)", p->node, MAX(m->cfg.nr_nodes, 1u),
                m->cfg.nr_nodes > 1 ? "s" : "");
    return false;
}

static struct backend *pick_backend(struct machine *m,
                                    const struct pc_dimm_props *p,
                                    GError **err)
{
    struct backend *b = machine_object_find(m, p->memdev);

    if (!b && machine_object_preallocating(m, p->memdev)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "memdev '%s' is still being preallocated: its "
                    "object-add has not returned yet", p->memdev);
        return NULL;
    }
    if (!b && !machine_is_boot_ram(m, p->memdev)) {
        /* QEMU's class and text: the link to the object cannot be set. */
        g_set_error(err, HM_ERROR, HM_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", p->memdev);
        return NULL;
    }
    if (!b || backend_in_use(b)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "can't use already busy memdev: %s", p->memdev);
        return NULL;
    }
    return b;
}

/*
 * A DIMM's alignment, QEMU's (memory_device_get_free_addr(), the memory
 * region's alignment): its address and size are multiples of the backend's
 * page size, and of 2 MiB for anonymous RAM (QEMU maps that aligned to
 * THP's size). A file or memfd on 4 KiB pages may sit at any 4 KiB
 * boundary.
 */
static uint64_t dimm_align(const struct backend *b)
{
    if (!strcmp(backend_type(b), "memory-backend-ram"))
        return MAX(backend_page_size(b), PC_DIMM_MIN_ALIGN);
    return backend_page_size(b);
}

/* Room left under maxmem, and the DIMM's alignment rules. */
static bool check_size(struct machine *m, struct backend *b, uint64_t align,
                       GError **err)
{
    uint64_t size = backend_size(b);
    uint64_t room = m->cfg.maxmem - m->cfg.ram_size - m->plugged_size;

    if (size % align) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "memdev '%s' size 0x%" PRIx64 " is not a multiple of the "
                    "DIMM alignment 0x%" PRIx64, backend_id(b), size, align);
        return false;
    }
    if (size > room) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "not enough space for 0x%" PRIx64 " bytes: 0x%" PRIx64
                    " of the 0x%" PRIx64 " bytes maxmem allows beyond RAM "
                    "are in use", size, m->plugged_size,
                    m->cfg.maxmem - m->cfg.ram_size);
        return false;
    }
    return true;
}

static bool place(struct machine *m, const struct pc_dimm_props *p,
                  uint64_t size, uint64_t align, uint64_t *addr, GError **err)
{
    struct pc_dimm_space space = {
        .window_base = m->layout.window_base,
        .window_size = m->layout.window_size,
        .used = (const struct pc_dimm_range *)m->dimm_ranges->data,
        .nr_used = m->dimm_ranges->len, .nr_packed = m->dimm_packed };

    return pc_dimm_place(&space, size, align, p->has_addr, p->addr, addr,
                         err);
}

static bool check_id(struct machine *m, const struct pc_dimm_props *p,
                     GError **err)
{
    if (p->id && find_by_id(m, p->id)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Duplicate device ID '%s'", p->id);
        return false;
    }
    return true;
}

/*
 * Validates and installs, then fills the controller slot (which notifies the
 * guest through the GED for a hot-plug). Called with dimm_lock held.
 */
static bool plug_locked(struct machine *m, const struct pc_dimm_props *p,
                        unsigned anon, bool hotplug, GError **err)
{
    struct pc_dimm *d;
    struct backend *b;
    uint64_t align, addr;
    unsigned slot;

    if (!check_id(m, p, err) || !(b = pick_backend(m, p, err)))
        return false;
    align = dimm_align(b);
    if (!check_size(m, b, align, err) || !pick_slot(m, p, &slot, err) ||
        !check_node(m, p, err) ||
        !place(m, p, backend_size(b), align, &addr, err))
        return false;
    d = g_new0(struct pc_dimm, 1);
    d->id = g_strdup(p->id);
    d->path = p->id ? g_strdup_printf("/machine/peripheral/%s", p->id)
                    : g_strdup_printf("/machine/peripheral-anon/device[%u]",
                                      anon);
    *d = (struct pc_dimm){ .id = d->id, .path = d->path, .backend = b,
                                .slot = slot, .addr = addr,
                                .size = backend_size(b), .node = p->node,
                                .hotplugged = hotplug };
    if (!machine_dimm_memslot_add(m, addr, d->size, backend_host_addr(b),
                                  backend_readonly(b),
                                  d->id ? d->id : d->path, err)) {
        dimm_free(d);
        return false;
    }
    table_insert(m, d);
    if (slot == m->dimm_free_hint)
        m->dimm_free_hint++;
    m->plugged_size += d->size;
    backend_set_in_use(b, true);
    memhp_plugged(m->memhp, slot, hotplug);
    return true;
}

bool machine_device_add(struct machine *m, json_object *args, GError **err)
{
    struct pc_dimm_props p;
    json_object *drv;
    bool hotplug = m->built, ok;
    unsigned anon = 0;

    if (g_atomic_int_get(&m->migrating)) {
        /* QEMU's words: the stream describes the DIMMs as they were. */
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "device_add not allowed while migrating");
        return false;
    }
    if (!json_object_object_get_ex(args, "driver", &drv) ||
        !json_object_is_type(drv, json_type_string)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Parameter 'driver' is missing");
        return false;
    }
    if (strcmp(json_object_get_string(drv), "pc-dimm")) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "'%s' is not a valid device model name (hotmem has "
                    "pc-dimm)", json_object_get_string(drv));
        return false;
    }
    /*
     * As in QEMU, a device without id takes its number in
     * /machine/peripheral-anon before its properties are checked: a
     * refused one uses a number up too.
     */
    if (!json_object_object_get_ex(args, "id", NULL))
        anon = m->anon_devices++;
    if (m->cfg.slots == 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "memory hot-plug is not enabled: start with -m SIZE,"
                    "slots=N,maxmem=SIZE");
        return false;
    }
    if (!pc_dimm_props_parse(args, &p, err))
        return false;
    g_mutex_lock(&m->dimm_lock);
    ok = plug_locked(m, &p, anon, hotplug, err);
    g_mutex_unlock(&m->dimm_lock);
    pc_dimm_props_clear(&p);
    return ok;
}

/*
 * A QOM path names any DIMM, anonymous ones included
 * (/machine/peripheral-anon/device[N]); QEMU's device_del takes both.
 */
static struct pc_dimm *find_by_path(struct machine *m, const char *path)
{
    for (unsigned i = 0; i < m->cfg.slots; i++) {
        if (m->dimm_slots[i] && !strcmp(m->dimm_slots[i]->path, path))
            return m->dimm_slots[i];
    }
    return NULL;
}

bool machine_device_del(struct machine *m, const char *id, GError **err)
{
    struct pc_dimm *d;
    bool ok = false;

    if (g_atomic_int_get(&m->migrating)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "device_del not allowed while migrating");
        return false;
    }
    g_mutex_lock(&m->dimm_lock);
    d = id[0] == '/' ? find_by_path(m, id) : find_by_id(m, id);
    if (!d) {
        g_set_error(err, HM_ERROR, HM_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", id);
    } else if (memhp_request_unplug(m->memhp, d->slot, err)) {
        /*
         * From now on hotmem itself stops touching the DIMM's memory.
         * Asked again while a removal is pending, the request goes to the
         * guest again, as in QEMU: a guest that lost it gets another
         * chance, so the DIMM cannot stay stuck half-removed.
         */
        memmap_set_removing(m->memmap, d->addr, true);
        ok = true;
    }
    g_mutex_unlock(&m->dimm_lock);
    return ok;
}

/* ACPIOSTInfo (QEMU qapi/acpi.json). */
static json_object *ost_info(const struct pc_dimm *d, unsigned slot,
                             uint32_t event, uint32_t status)
{
    json_object *info = json_object_new_object();
    char num[16];

    g_snprintf(num, sizeof(num), "%u", slot);
    if (d && d->id)
        json_object_object_add(info, "device",
                               json_object_new_string(d->id));
    json_object_object_add(info, "slot", json_object_new_string(num));
    json_object_object_add(info, "slot-type", json_object_new_string("DIMM"));
    json_object_object_add(info, "source", json_object_new_int64(event));
    json_object_object_add(info, "status", json_object_new_int64(status));
    return info;
}

static json_object *device_event_data(const struct pc_dimm *d)
{
    json_object *data = json_object_new_object();

    if (d->id)
        json_object_object_add(data, "device",
                               json_object_new_string(d->id));
    json_object_object_add(data, "path", json_object_new_string(d->path));
    return data;
}

static bool is_eject_failure(uint32_t event, uint32_t status)
{
    return (event == OST_EVENT_EJECT_REQUEST ||
            event == OST_EVENT_OSPM_EJECT) &&
           status != OST_STATUS_SUCCESS &&
           status != OST_STATUS_EJECT_IN_PROGRESS;
}

/*
 * vCPU thread: the guest completed an _OST for slot. One it made on its
 * own, not answering a host request (answer), is rate-limited per slot:
 * a guest writing the register in a loop cannot flood the monitor's
 * clients (docs/qmp.md, "Event rate limits").
 */
void machine_dimm_on_ost(void *opaque, unsigned slot, uint32_t event,
                         uint32_t status, bool answer)
{
    struct machine *m = opaque;
    struct pc_dimm *d;
    json_object *refused = NULL, *data = json_object_new_object();
    char key[24];

    g_mutex_lock(&m->dimm_lock);
    d = slot < m->cfg.slots ? m->dimm_slots[slot] : NULL;
    if (slot < m->cfg.slots)
        m->slot_ost[slot] = (struct machine_slot_ost){ event, status };
    json_object_object_add(data, "info", ost_info(d, slot, event, status));
    if (d && d->hp.unplug_requested && is_eject_failure(event, status)) {
        /* The guest keeps the DIMM; it stays fully usable. */
        memhp_cancel_unplug(m->memhp, slot);
        memmap_set_removing(m->memmap, d->addr, false);
        refused = device_event_data(d);
    }
    g_mutex_unlock(&m->dimm_lock);
    g_snprintf(key, sizeof(key), "slot %u", slot);
    machine_emit_keyed(m, MACHINE_EVENT_ACPI_DEVICE_OST, key, !answer, data);
    if (refused)
        machine_emit(m, MACHINE_EVENT_DEVICE_UNPLUG_GUEST_ERROR, refused);
}

/* vCPU thread: the guest ejected slot after device_del asked it to. */
void machine_dimm_on_eject(void *opaque, unsigned slot)
{
    struct machine *m = opaque;
    struct pc_dimm *d;
    g_autoptr(GError) err = NULL;
    json_object *deleted = NULL;

    g_mutex_lock(&m->dimm_lock);
    d = slot < m->cfg.slots ? m->dimm_slots[slot] : NULL;
    if (d && d->hp.unplug_requested &&
        !machine_dimm_memslot_remove(m, d->addr, &err)) {
        /*
         * KVM still maps the DIMM: freeing its memory now would pull it
         * from under the guest. Like QEMU when a memslot cannot be
         * unregistered, the machine ends, saying why.
         */
        g_autofree char *why = g_strdup_printf("eject of DIMM slot %u: %s",
                                               slot, err->message);

        g_mutex_unlock(&m->dimm_lock);
        machine_request_exit(m, 1, false, "host-error", why);
        return;
    }
    if (d && d->hp.unplug_requested) {
        backend_set_in_use(d->backend, false);
        m->plugged_size -= d->size;
        table_remove(m, d);
        deleted = device_event_data(d);
        dimm_free(d);
    }
    g_mutex_unlock(&m->dimm_lock);
    if (deleted)
        machine_emit(m, MACHINE_EVENT_DEVICE_DELETED, deleted);
}

/* MemoryDeviceInfo (QEMU qapi/machine.json), type "dimm". */
static json_object *dimm_info(const struct pc_dimm *d)
{
    json_object *data = json_object_new_object();
    json_object *info = json_object_new_object();
    g_autofree char *memdev = g_strdup_printf("/objects/%s",
                                              backend_id(d->backend));

    if (d->id)
        json_object_object_add(data, "id", json_object_new_string(d->id));
    json_object_object_add(data, "addr", json_object_new_uint64(d->addr));
    json_object_object_add(data, "size", json_object_new_uint64(d->size));
    json_object_object_add(data, "slot", json_object_new_int64(d->slot));
    json_object_object_add(data, "node", json_object_new_int64(d->node));
    json_object_object_add(data, "memdev", json_object_new_string(memdev));
    json_object_object_add(data, "hotplugged",
                           json_object_new_boolean(d->hotplugged));
    json_object_object_add(data, "hotpluggable", json_object_new_boolean(1));
    json_object_object_add(info, "type", json_object_new_string("dimm"));
    json_object_object_add(info, "data", data);
    return info;
}

json_object *machine_query_memory_devices(struct machine *m)
{
    json_object *list = json_object_new_array();

    g_mutex_lock(&m->dimm_lock);
    for (unsigned i = 0; i < m->cfg.slots; i++) {
        if (m->dimm_slots[i])
            json_object_array_add(list, dimm_info(m->dimm_slots[i]));
    }
    g_mutex_unlock(&m->dimm_lock);
    return list;
}

/* A plugged DIMM as the -device that places it where it is. */
static json_object *dimm_bag(const struct pc_dimm *d)
{
    json_object *bag = json_object_new_object();
    char addr[24];

    json_object_object_add(bag, "driver", json_object_new_string("pc-dimm"));
    if (d->id)
        json_object_object_add(bag, "id", json_object_new_string(d->id));
    json_object_object_add(bag, "memdev",
                           json_object_new_string(backend_id(d->backend)));
    json_object_object_add(bag, "slot", json_object_new_int64(d->slot));
    json_object_object_add(bag, "addr", json_object_new_string_len(addr,
                           snprintf(addr, sizeof(addr), "0x%" PRIx64,
                                    d->addr)));
    json_object_object_add(bag, "node", json_object_new_int64(d->node));
    return bag;
}

json_object **machine_dimm_bags(struct machine *m, unsigned *n)
{
    GPtrArray *bags = g_ptr_array_new();

    g_mutex_lock(&m->dimm_lock);
    for (unsigned i = 0; i < m->cfg.slots; i++) {
        if (m->dimm_slots[i])
            g_ptr_array_add(bags, dimm_bag(m->dimm_slots[i]));
    }
    g_mutex_unlock(&m->dimm_lock);
    *n = bags->len;
    g_ptr_array_add(bags, NULL);
    return (json_object **)g_ptr_array_free(bags, FALSE);
}

json_object *machine_query_memory_size_summary(struct machine *m)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "base-memory",
                           json_object_new_uint64(m->cfg.ram_size));
    /* QEMU reports it (0) on a machine without slots too. */
    g_mutex_lock(&m->dimm_lock);
    json_object_object_add(o, "plugged-memory",
                           json_object_new_uint64(m->plugged_size));
    g_mutex_unlock(&m->dimm_lock);
    return o;
}

/*
 * One ACPIOSTInfo per slot, empty ones included (source 0, status 0 until
 * the guest reports on the slot), as QEMU lists them: the last _OST the
 * guest sent for the slot, which outlives the DIMM it was about.
 */
json_object *machine_query_acpi_ospm_status(struct machine *m)
{
    json_object *list = json_object_new_array();

    g_mutex_lock(&m->dimm_lock);
    for (unsigned i = 0; i < m->cfg.slots; i++)
        json_object_array_add(list, ost_info(m->dimm_slots[i], i,
                                             m->slot_ost[i].event,
                                             m->slot_ost[i].status));
    g_mutex_unlock(&m->dimm_lock);
    return list;
}
