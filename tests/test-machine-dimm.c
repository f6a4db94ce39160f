/*
 * Every DIMM rule of the machine, without /dev/kvm: the machine is built
 * with its KVM calls injected (machine_config.kvm_stub), so device_add,
 * device_del and object-del run their real code, memslots are counted
 * instead of installed, the GED's interrupt is recorded, and the guest's
 * side (acknowledge, _OST, eject) is written to the hot-plug register block
 * through the machine's bus, as the DSDT's methods do. Refused requests are
 * checked by message text and must leave the machine as it was.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <linux/kvm.h>

#include "devices/ged.h"
#include "devices/memhp.h"
#include "errors.h"
#include "machine/machine.h"
#include "machine/machine_internal.h"
#include "mmu/dirty.h"
#include "mmu/dirtyrate.h"

#define MIB (1ULL << 20)

#define STUB_SLOTS 16

/*
 * KVM as far as the machine can tell: memslots, the GED line, and a dirty
 * log per memslot that KVM keeps while the slot has KVM_MEM_LOG_DIRTY_PAGES
 * (the guest's writes go there through guest_writes_pages()).
 */
struct kvm_log {
    unsigned regions;           /* set_region calls */
    uint64_t last_gpa, last_size;
    uint32_t last_flags;
    unsigned ged_raises;        /* GED line driven high */
    struct {
        uint64_t gpa, size;
        uint32_t flags;
        void *hva;
        uint64_t *dirty;        /* while flags has LOG_DIRTY_PAGES */
    } slot[STUB_SLOTS];
};

struct fixture {
    struct kvm_log kvm;
    struct machine_kvm_stub stub;
    struct machine *m;
    GPtrArray *events;          /* "NAME {data}" strings */
};

static int stub_set_region(void *opaque, uint32_t slot, uint32_t flags,
                           uint64_t gpa, uint64_t size, void *hva)
{
    struct kvm_log *l = opaque;

    g_assert_cmpuint(slot, <, STUB_SLOTS);
    l->regions++;
    l->last_gpa = gpa;
    l->last_size = size;
    l->last_flags = flags;
    /* As KVM: the log starts empty when logging is switched on. */
    if (!size || !(flags & KVM_MEM_LOG_DIRTY_PAGES))
        g_clear_pointer(&l->slot[slot].dirty, g_free);
    else if (!l->slot[slot].dirty)
        l->slot[slot].dirty = g_new0(uint64_t, (size / 4096 + 63) / 64);
    l->slot[slot].gpa = gpa;
    l->slot[slot].hva = hva;
    l->slot[slot].size = size;
    l->slot[slot].flags = size ? flags : 0;
    return 0;
}

/* KVM_GET_DIRTY_LOG returns and clears; nothing else is offered. */
static int stub_vm_ioctl(void *opaque, unsigned long request, void *arg)
{
    struct kvm_log *l = opaque;
    struct kvm_dirty_log *log = arg;
    size_t bytes;

    if (request == KVM_CHECK_EXTENSION)
        return 0;
    if (request != KVM_GET_DIRTY_LOG)
        return -ENOTTY;
    if (log->slot >= STUB_SLOTS || !l->slot[log->slot].dirty)
        return -ENOENT;
    bytes = (l->slot[log->slot].size / 4096 + 63) / 64 * sizeof(uint64_t);
    memcpy(log->dirty_bitmap, l->slot[log->slot].dirty, bytes);
    memset(l->slot[log->slot].dirty, 0, bytes);
    return 0;
}

/* The guest writes n pages from gpa: KVM logs them if the slot logs. */
static void guest_writes_pages(struct kvm_log *l, uint64_t gpa, unsigned n)
{
    for (unsigned i = 0; i < STUB_SLOTS; i++) {
        uint64_t off = gpa - l->slot[i].gpa;

        if (!l->slot[i].size || off >= l->slot[i].size)
            continue;
        for (uint64_t p = off / 4096; p < off / 4096 + n; p++) {
            if (l->slot[i].dirty)
                l->slot[i].dirty[p / 64] |= 1ULL << (p % 64);
        }
        return;
    }
    g_assert_not_reached();
}

static void kvm_log_clear(struct kvm_log *l)
{
    for (unsigned i = 0; i < STUB_SLOTS; i++)
        g_free(l->slot[i].dirty);
}

static void stub_irq_line(void *opaque, uint32_t gsi, bool level)
{
    struct kvm_log *l = opaque;

    if (gsi == GED_GSI && level)
        l->ged_raises++;
}

/* "NAME {data}"; "limited NAME {data}" for an event the guest raised on
 * its own, which the monitor rate-limits per key. */
static void record_event(void *opaque, const char *event, const char *key,
                         bool limited, json_object *data)
{
    struct fixture *f = opaque;

    if (limited)
        g_assert_nonnull(key);
    g_ptr_array_add(f->events, g_strdup_printf("%s%s %s",
                    limited ? "limited " : "", event,
                    data ? json_object_to_json_string_ext(
                               data, JSON_C_TO_STRING_PLAIN |
                                      JSON_C_TO_STRING_NOSLASHESCAPE) : "{}"));
    json_object_put(data);
}

static json_object *parse(const char *s)
{
    json_object *o = json_tokener_parse(s);

    g_assert_nonnull(o);
    return o;
}

/* A machine of ram bytes, 4 slots, maxmem 1 GiB, and -device args if
 * any; with a dirty log when dirty_log (the stub plays KVM's). */
static void build_ram(struct fixture *f, const char *device, uint64_t ram,
                      bool dirty_log)
{
    g_autoptr(GError) err = NULL;
    json_object *obj = parse("{\"qom-type\": \"memory-backend-ram\", "
                             "\"id\": \"boot-dimm-mem\", \"size\": "
                             "268435456}");
    json_object *dev = device ? parse(device) : NULL;
    struct machine_config cfg = {
        .ram_size = ram, .slots = 4, .maxmem = 1024 * MIB, .smp = 1,
        .serial = MACHINE_SERIAL_NONE, .kvm_stub = &f->stub,
        .emit = record_event, .opaque = f,
        .objects = &obj, .nr_objects = 1,
        .devices = &dev, .nr_devices = dev ? 1 : 0,
    };

    memset(f, 0, sizeof(*f));
    f->stub = (struct machine_kvm_stub){ stub_set_region, stub_irq_line,
                                         &f->kvm, 40, STUB_SLOTS,
                                         dirty_log ? stub_vm_ioctl : NULL };
    f->events = g_ptr_array_new_with_free_func(g_free);
    f->m = machine_create(&cfg, &err);
    g_assert_no_error(err);
    g_assert_nonnull(f->m);
    json_object_put(obj);
    json_object_put(dev);
}

static void build(struct fixture *f, const char *device, bool dirty_log)
{
    build_ram(f, device, 256 * MIB, dirty_log);
}

static void setup(struct fixture *f, gconstpointer data)
{
    build(f, data, true);
}

static void setup_no_dirty_log(struct fixture *f, gconstpointer data)
{
    build(f, data, false);
}

static void teardown(struct fixture *f, gconstpointer data)
{
    machine_destroy(f->m);
    kvm_log_clear(&f->kvm);
    g_ptr_array_free(f->events, TRUE);
}

static void object_done(void *opaque, GError *err)
{
    g_assert_no_error(err);
    *(bool *)opaque = true;
}

static void object_add(struct fixture *f, const char *id, uint64_t size)
{
    g_autofree char *s = g_strdup_printf(
        "{\"qom-type\": \"memory-backend-ram\", \"id\": \"%s\", "
        "\"size\": %" G_GUINT64_FORMAT "}", id, size);
    json_object *args = parse(s);
    bool done = false;

    machine_object_add(f->m, args, object_done, &done);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
    json_object_put(args);
}

static bool device_add(struct fixture *f, const char *json, GError **err)
{
    json_object *args = parse(json);
    bool ok = machine_device_add(f->m, args, err);

    json_object_put(args);
    return ok;
}

/* The guest's side: registers of the hot-plug block (docs/acpi.md). */
static void guest_write(struct fixture *f, unsigned off, uint32_t v)
{
    bus_dispatch(f->m->bus, BUS_PIO, MEMHP_PORT + off, (uint8_t *)&v,
                 off == 0x14 ? 1 : 4, true);
}

static uint32_t guest_status(struct fixture *f, unsigned slot)
{
    uint8_t v = 0;

    guest_write(f, 0x00, slot);
    bus_dispatch(f->m->bus, BUS_PIO, MEMHP_PORT + 0x14, &v, 1, false);
    return v;
}

static void guest_ost(struct fixture *f, unsigned slot, uint32_t event,
                      uint32_t status)
{
    guest_write(f, 0x00, slot);
    guest_write(f, 0x04, event);
    guest_write(f, 0x08, status);
}

static void guest_eject(struct fixture *f, unsigned slot)
{
    guest_write(f, 0x00, slot);
    guest_write(f, 0x14, 0x4);          /* acknowledge the remove event */
    guest_write(f, 0x14, 0x8);          /* _EJ0 */
}

static char *memory_devices(struct fixture *f)
{
    json_object *o = machine_query_memory_devices(f->m);
    char *s = g_strdup(json_object_to_json_string_ext(o,
                                                      JSON_C_TO_STRING_PLAIN |
                                      JSON_C_TO_STRING_NOSLASHESCAPE));

    json_object_put(o);
    return s;
}

static void assert_event(struct fixture *f, unsigned i, const char *want)
{
    g_assert_cmpuint(f->events->len, >, i);
    g_assert_cmpstr(g_ptr_array_index(f->events, i), ==, want);
}

static void test_hot_add(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *devs = NULL;
    unsigned regions = f->kvm.regions;

    object_add(f, "m0", 256 * MIB);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                             "\"memdev\": \"m0\"}", &err));
    /* One memslot, at the window's start (4 GiB), installed once. */
    g_assert_cmpuint(f->kvm.regions, ==, regions + 1);
    g_assert_cmphex(f->kvm.last_gpa, ==, 0x100000000ULL);
    g_assert_cmphex(f->kvm.last_size, ==, 256 * MIB);
    g_assert_cmpuint(f->kvm.ged_raises, ==, 1);
    g_assert_cmphex(guest_status(f, 0), ==, 0x3);   /* enabled|inserting */
    devs = memory_devices(f);
    g_assert_cmpstr(devs, ==, "[{\"type\":\"dimm\",\"data\":{\"id\":\"d0\","
                    "\"addr\":4294967296,\"size\":268435456,\"slot\":0,"
                    "\"node\":0,\"memdev\":\"/objects/m0\",\"hotplugged\":"
                    "true,\"hotpluggable\":true}}]");
    /* The guest acknowledges and reports success. */
    guest_write(f, 0x14, 0x2);
    g_assert_cmphex(guest_status(f, 0), ==, 0x1);
    guest_ost(f, 0, 0x1, 0x0);
    assert_event(f, 0, "ACPI_DEVICE_OST {\"info\":{\"device\":\"d0\","
                 "\"slot\":\"0\",\"slot-type\":\"DIMM\",\"source\":1,"
                 "\"status\":0}}");
}

static void test_cold_plug(struct fixture *f, gconstpointer data)
{
    g_autofree char *devs = memory_devices(f);

    g_assert_nonnull(strstr(devs, "\"id\":\"boot-dimm\""));
    g_assert_nonnull(strstr(devs, "\"hotplugged\":false"));
    g_assert_cmphex(guest_status(f, 0), ==, 0x1);   /* no insert event */
    g_assert_cmpuint(f->kvm.ged_raises, ==, 0);
}

/* A request the machine must refuse, with this message, changing nothing. */
struct refusal {
    const char *args;
    const char *message;
};

static const struct refusal add_refusals[] = {
    { "{\"id\": \"x\", \"memdev\": \"m1\"}", "Parameter 'driver' is missing" },
    { "{\"driver\": \"virtio-mem\", \"memdev\": \"m1\"}",
      "'virtio-mem' is not a valid device model name (hotmem has pc-dimm)" },
    { "{\"driver\": \"pc-dimm\", \"id\": \"x\"}",
      "'memdev' property is not set: a pc-dimm needs a memory backend "
      "(object-add memory-backend-*)" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"m0\"}",
      "can't use already busy memdev: m0" },
    { "{\"driver\": \"pc-dimm\", \"id\": \"d0\", \"memdev\": \"m1\"}",
      "Duplicate device ID 'd0'" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"m1\", \"slot\": 4}",
      "slot 4 is out of range: the machine has 4 slots (0..3)" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"m1\", \"slot\": 0}",
      "slot 0 is busy with DIMM 'd0'" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"m1\", \"node\": 1}",
      "DIMM node 1 does not exist (the machine has 1 NUMA node)" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"m1\", \"addr\": 4295032832}",
      "address 0x100010000 is not aligned to 0x200000" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"m1\", \"addr\": 4294967296}",
      "address range [0x100000000, 0x110000000) overlaps DIMM 'd0' at "
      "[0x100000000, 0x110000000)" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"m1\", \"addr\": 2097152}",
      "DIMM [0x200000, +0x10000000) is outside the device-memory window" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"odd\"}",
      "memdev 'odd' size 0x100000 is not a multiple of the DIMM alignment "
      "0x200000" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"big\"}",
      "not enough space for 0x40000000 bytes: 0x10000000 of the 0x30000000 "
      "bytes maxmem allows beyond RAM are in use" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"m1\", \"size\": 1}",
      "Property 'pc-dimm.size' not found" },
    { "{\"driver\": \"pc-dimm\", \"memdev\": \"m1\", \"id\": \"9x\"}",
      "Parameter 'id' expects an identifier" },
};

static void test_add_refused(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *before = NULL;
    unsigned regions, raises;

    object_add(f, "m0", 256 * MIB);
    object_add(f, "m1", 256 * MIB);
    object_add(f, "odd", 1 * MIB);
    object_add(f, "big", 1024 * MIB);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                             "\"memdev\": \"m0\"}", &err));
    before = memory_devices(f);
    regions = f->kvm.regions;
    raises = f->kvm.ged_raises;
    for (size_t i = 0; i < G_N_ELEMENTS(add_refusals); i++) {
        g_autoptr(GError) e = NULL;
        g_autofree char *after = NULL;
        g_autofree char *args = NULL;
        json_object *o = parse(add_refusals[i].args);

        if (!json_object_object_get_ex(o, "driver", NULL) &&
            strstr(add_refusals[i].message, "driver") == NULL)
            json_object_object_add(o, "driver",
                                   json_object_new_string("pc-dimm"));
        args = g_strdup(json_object_to_json_string(o));
        json_object_put(o);
        g_assert_false(device_add(f, args, &e));
        g_assert_error(e, HM_ERROR, HM_ERROR_INVALID);
        if (!strstr(e->message, add_refusals[i].message))
            g_error("device_add %s: '%s' lacks '%s'", args, e->message,
                    add_refusals[i].message);
        after = memory_devices(f);
        g_assert_cmpstr(after, ==, before);
        g_assert_cmpuint(f->kvm.regions, ==, regions);
        g_assert_cmpuint(f->kvm.ged_raises, ==, raises);
    }
    g_assert_cmpuint(f->events->len, ==, 0);
}

static char *to_json(json_object *o)
{
    char *s = g_strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

    json_object_put(o);
    return s;
}

static void hot_add_acked(struct fixture *f, const char *json, unsigned slot);
static void hot_remove(struct fixture *f, const char *id, unsigned slot);

/* QEMU's class and text for a memdev that names no object. */
static void test_unknown_memdev(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"x\", "
                              "\"memdev\": \"nope\"}", &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_DEVICE_NOT_FOUND);
    g_assert_cmpstr(err->message, ==, "Device 'nope' not found");
    g_assert_cmpuint(f->kvm.regions, ==, 1);    /* boot RAM only */
}

/*
 * A DIMM without id is removed through its QOM path; a refused device_add
 * without id used a number up first, as in QEMU (so this one is
 * device[1]). DEVICE_DELETED then has only "path".
 */
static void test_anonymous_del_by_path(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    object_add(f, "m0", 256 * MIB);
    object_add(f, "m1", 256 * MIB);
    g_assert_false(device_add(f, "{\"driver\": \"pc-dimm\", \"memdev\": "
                              "\"nope\"}", &err));
    g_clear_error(&err);
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"memdev\": \"m0\"}", 0);
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"d1\", "
                  "\"memdev\": \"m1\"}", 1);
    g_assert_false(machine_device_del(f->m,
                   "/machine/peripheral-anon/device[0]", &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_DEVICE_NOT_FOUND);
    g_assert_cmpstr(err->message, ==,
                    "Device '/machine/peripheral-anon/device[0]' not found");
    g_clear_error(&err);
    hot_remove(f, "/machine/peripheral-anon/device[1]", 0);
    assert_event(f, 0, "DEVICE_DELETED "
                 "{\"path\":\"/machine/peripheral-anon/device[1]\"}");
    hot_remove(f, "/machine/peripheral/d1", 1);
    assert_event(f, 1, "DEVICE_DELETED {\"device\":\"d1\","
                 "\"path\":\"/machine/peripheral/d1\"}");
}

/*
 * A file on 4 KiB pages may be plugged at any 4 KiB boundary with a size
 * in 4 KiB units, as in QEMU; anonymous RAM keeps 2 MiB.
 */
static void test_file_page_align(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("hotmem-dimm-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "f0", NULL);
    g_autofree char *obj = g_strdup_printf(
        "{\"qom-type\": \"memory-backend-file\", \"id\": \"f0\", "
        "\"size\": 1052672, \"mem-path\": \"%s\"}", path);
    uint64_t addr = f->m->layout.window_base + 0x1000;
    g_autofree char *dev = g_strdup_printf(
        "{\"driver\": \"pc-dimm\", \"id\": \"d0\", \"memdev\": \"f0\", "
        "\"addr\": %" G_GUINT64_FORMAT "}", addr);
    g_autofree char *want = g_strdup_printf("\"addr\":%" G_GUINT64_FORMAT
                                            ",\"size\":1052672", addr);
    g_autofree char *devs = NULL;
    json_object *args = parse(obj);
    bool done = false;

    machine_object_add(f->m, args, object_done, &done);
    g_assert_true(done);
    json_object_put(args);
    g_assert_true(device_add(f, dev, &err));
    g_assert_no_error(err);
    devs = memory_devices(f);
    g_assert_nonnull(strstr(devs, want));
    g_assert_cmphex(f->kvm.last_gpa, ==, addr);
    g_assert_cmphex(f->kvm.last_size, ==, 1052672);
    machine_destroy(f->m);
    f->m = NULL;
    g_unlink(path);
    g_rmdir(dir);
}

/*
 * query-acpi-ospm-status lists every slot, as QEMU does: empty ones with
 * source 0, status 0, and a slot keeps the guest's last word after its
 * DIMM is gone (0x103, success, without "device").
 */
static void test_ospm_every_slot(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *empty = to_json(machine_query_acpi_ospm_status(f->m));
    g_autofree char *after = NULL;

    g_assert_cmpstr(empty, ==,
        "[{\"slot\":\"0\",\"slot-type\":\"DIMM\",\"source\":0,\"status\":0},"
        "{\"slot\":\"1\",\"slot-type\":\"DIMM\",\"source\":0,\"status\":0},"
        "{\"slot\":\"2\",\"slot-type\":\"DIMM\",\"source\":0,\"status\":0},"
        "{\"slot\":\"3\",\"slot-type\":\"DIMM\",\"source\":0,\"status\":0}]");
    object_add(f, "m0", 256 * MIB);
    object_add(f, "m1", 256 * MIB);
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                  "\"memdev\": \"m0\"}", 0);
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"d1\", "
                  "\"memdev\": \"m1\"}", 1);
    guest_ost(f, 1, 0x1, 0x0);
    g_assert_true(machine_device_del(f->m, "d0", &err));
    guest_ost(f, 0, 0x3, 0x84);
    guest_eject(f, 0);
    guest_ost(f, 0, 0x103, 0x0);
    after = to_json(machine_query_acpi_ospm_status(f->m));
    g_assert_cmpstr(after, ==,
        "[{\"slot\":\"0\",\"slot-type\":\"DIMM\",\"source\":259,\"status\":0},"
        "{\"device\":\"d1\",\"slot\":\"1\",\"slot-type\":\"DIMM\",\"source\":1,"
        "\"status\":0},"
        "{\"slot\":\"2\",\"slot-type\":\"DIMM\",\"source\":0,\"status\":0},"
        "{\"slot\":\"3\",\"slot-type\":\"DIMM\",\"source\":0,\"status\":0}]");
}

/*
 * The anonymous boot RAM is QEMU's "pc.ram": query-memdev lists it, and
 * it can be neither deleted, nor plugged, nor created again.
 */
static void test_boot_ram_object(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *memdev = to_json(machine_query_memdev(f->m));
    json_object *dup = parse("{\"qom-type\": \"memory-backend-ram\", "
                             "\"id\": \"pc.ram\", \"size\": 2097152}");
    GError *add_err = NULL;

    g_assert_nonnull(strstr(memdev, "{\"id\":\"pc.ram\",\"size\":268435456,"
                            "\"merge\":true,\"dump\":true,\"prealloc\":false,"
                            "\"share\":false,\"reserve\":true,"
                            "\"host-nodes\":[],\"policy\":\"default\"}"));
    g_assert_false(machine_object_del(f->m, "pc.ram", &err));
    g_assert_cmpstr(err->message, ==,
                    "object 'pc.ram' is in use, can not be deleted");
    g_clear_error(&err);
    g_assert_false(device_add(f, "{\"driver\": \"pc-dimm\", \"memdev\": "
                              "\"pc.ram\"}", &err));
    g_assert_cmpstr(err->message, ==, "can't use already busy memdev: pc.ram");
    machine_object_add(f->m, dup, (machine_done_fn)g_propagate_error,
                       &add_err);
    json_object_put(dup);
    g_assert_nonnull(add_err);
    g_assert_cmpstr(add_err->message, ==,
                    "an object with id 'pc.ram' already exists");
    g_error_free(add_err);
}

/* QMP object-add is typed as in QEMU: no strings for sizes or booleans. */
static void test_object_add_typed(struct fixture *f, gconstpointer data)
{
    static const struct refusal typed[] = {
        { "\"size\": \"1G\"", "Parameter 'size' expects uint64" },
        { "\"size\": -1", "Parameter 'size' expects uint64" },
        { "\"size\": 1048576, \"prealloc\": \"on\"",
          "Invalid parameter type for 'prealloc', expected: boolean" },
        { "\"size\": 1048576, \"share\": \"on\"",
          "Invalid parameter type for 'share', expected: boolean" },
        { "\"size\": 1048576, \"prealloc-threads\": \"2\"",
          "Parameter 'prealloc-threads' expects uint64" },
        { "\"size\": 1048576, \"host-nodes\": \"0\"",
          "Invalid parameter type for 'host-nodes', expected: array" },
        { "\"size\": 1048576, \"host-nodes\": [\"0\"]",
          "Invalid parameter type for 'host-nodes[0]', expected: integer" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(typed); i++) {
        g_autofree char *s = g_strdup_printf(
            "{\"qom-type\": \"memory-backend-ram\", \"id\": \"x\", %s}",
            typed[i].args);
        json_object *args = parse(s);
        GError *err = NULL;

        machine_object_add(f->m, args, (machine_done_fn)g_propagate_error,
                           &err);
        json_object_put(args);
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, typed[i].message);
        g_error_free(err);
    }
}

/*
 * system_reset with three DIMMs: one the guest onlined, one whose insert
 * event it never took, one whose removal it never answered. After it,
 * each reads enabled only (cold-plugged), the removal is dropped (the
 * memory is hotmem's to touch again), no event is pending on the GED, and
 * RESET says who asked. A new device_del works.
 */
static void test_system_reset(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *before = NULL, *after = NULL;
    uint8_t ged = 0xff;

    object_add(f, "m0", 256 * MIB);
    object_add(f, "m1", 256 * MIB);
    object_add(f, "m2", 256 * MIB);
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                  "\"memdev\": \"m0\"}", 0);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d1\", "
                             "\"memdev\": \"m1\"}", &err));
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"d2\", "
                  "\"memdev\": \"m2\"}", 2);
    g_assert_true(machine_device_del(f->m, "d2", &err));
    g_assert_cmphex(guest_status(f, 1), ==, 0x3);
    g_assert_cmphex(guest_status(f, 2), ==, 0x5);
    before = memory_devices(f);
    machine_system_reset(f->m);
    g_assert_cmphex(guest_status(f, 0), ==, 0x1);
    g_assert_cmphex(guest_status(f, 1), ==, 0x1);
    g_assert_cmphex(guest_status(f, 2), ==, 0x1);
    bus_dispatch(f->m->bus, BUS_PIO, GED_PORT, &ged, 1, false);
    g_assert_cmphex(ged, ==, 0);
    after = memory_devices(f);
    g_assert_cmpstr(after, ==, before);
    assert_event(f, f->events->len - 1, "RESET {\"guest\":false,"
                 "\"reason\":\"host-qmp-system-reset\"}");
    /* The dropped removal: an eject now is refused, as one nobody asked. */
    guest_eject(f, 2);
    g_assert_nonnull(f->m->dimm_slots[2]);
    hot_remove(f, "d2", 2);
    assert_event(f, f->events->len - 1, "DEVICE_DELETED {\"device\":\"d2\","
                 "\"path\":\"/machine/peripheral/d2\"}");
}

/* The guest's reset: on the main loop, reason guest-reset. */
static void test_guest_reset(struct fixture *f, gconstpointer data)
{
    uint8_t reset = 0x0f;

    bus_dispatch(f->m->bus, BUS_PIO, 0x0b06, &reset, 1, true);
    while (f->events->len == 0)
        g_main_context_iteration(NULL, TRUE);
    assert_event(f, 0, "RESET {\"guest\":true,\"reason\":\"guest-reset\"}");
    g_assert_cmpint(machine_exit_status(f->m), ==, -1);
}

/* With no_reboot (-no-reboot), the guest's reset ends the machine. */
static void test_guest_reset_no_reboot(void)
{
    struct fixture f = { 0 };
    struct machine_config cfg = {
        .ram_size = 256 * MIB, .slots = 4, .maxmem = 1024 * MIB, .smp = 1,
        .serial = MACHINE_SERIAL_NONE, .kvm_stub = &f.stub,
        .emit = record_event, .opaque = &f, .no_reboot = true,
    };
    g_autoptr(GError) err = NULL;
    uint8_t reset = 0x0f;

    f.stub = (struct machine_kvm_stub){ stub_set_region, stub_irq_line,
                                        &f.kvm, 40, STUB_SLOTS, NULL };
    f.events = g_ptr_array_new_with_free_func(g_free);
    f.m = machine_create(&cfg, &err);
    g_assert_no_error(err);
    bus_dispatch(f.m->bus, BUS_PIO, 0x0b06, &reset, 1, true);
    assert_event(&f, 0, "SHUTDOWN {\"guest\":true,\"reason\":\"guest-reset\"}");
    g_assert_cmpint(machine_exit_status(f.m), ==, 0);
    machine_destroy(f.m);
    kvm_log_clear(&f.kvm);
    g_ptr_array_free(f.events, TRUE);
}

/* Without slots, query-memory-size-summary still says plugged-memory 0. */
static void test_summary_no_slots(void)
{
    struct kvm_log log = { 0 };
    struct machine_kvm_stub stub = { stub_set_region, stub_irq_line, &log,
                                     40, STUB_SLOTS, NULL };
    struct machine_config cfg = {
        .ram_size = 256 * MIB, .maxmem = 256 * MIB, .smp = 1,
        .serial = MACHINE_SERIAL_NONE, .kvm_stub = &stub,
    };
    g_autoptr(GError) err = NULL;
    struct machine *m = machine_create(&cfg, &err);
    g_autofree char *s = NULL;

    g_assert_no_error(err);
    s = to_json(machine_query_memory_size_summary(m));
    g_assert_cmpstr(s, ==, "{\"base-memory\":268435456,\"plugged-memory\":0}");
    machine_destroy(m);
    kvm_log_clear(&log);
}

/*
 * Issue 15, defect 14: device_add of a backend whose object-add is still
 * preallocating said "memdev 'm0' not found (object-add it first)", though
 * object-add had been issued. It must say what is going on.
 */
static void test_add_preallocating(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    json_object *args = parse("{\"qom-type\": \"memory-backend-ram\", "
                              "\"id\": \"m0\", \"size\": 16777216, "
                              "\"prealloc\": true}");
    bool done = false;

    machine_object_add(f->m, args, object_done, &done);
    json_object_put(args);
    g_assert_false(done);
    g_assert_false(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                              "\"memdev\": \"m0\"}", &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_INVALID);
    g_assert_cmpstr(err->message, ==, "memdev 'm0' is still being "
                    "preallocated: its object-add has not returned yet");
    g_assert_cmpuint(f->kvm.regions, ==, 1);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                             "\"memdev\": \"m0\"}", NULL));
}

static void test_slots_full(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < 5; i++) {
        g_autofree char *id = g_strdup_printf("m%u", i);

        object_add(f, id, 128 * MIB);
    }
    for (unsigned i = 0; i < 4; i++) {
        g_autofree char *a = g_strdup_printf("{\"driver\": \"pc-dimm\", "
                                             "\"memdev\": \"m%u\"}", i);

        g_assert_true(device_add(f, a, &err));
    }
    g_assert_false(device_add(f, "{\"driver\": \"pc-dimm\", \"memdev\": "
                              "\"m4\"}", &err));
    g_assert_cmpstr(err->message, ==,
                    "no free slot: all 4 DIMM slots are in use");
}

/* device_del, the guest's refusal, a retry, the eject, and object-del. */
static void test_remove(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    unsigned regions;

    object_add(f, "m0", 256 * MIB);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                             "\"memdev\": \"m0\"}", &err));
    guest_write(f, 0x14, 0x2);
    g_assert_false(machine_device_del(f->m, "nope", &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_DEVICE_NOT_FOUND);
    g_assert_cmpstr(err->message, ==, "Device 'nope' not found");
    g_clear_error(&err);
    g_assert_false(machine_object_del(f->m, "m0", &err));
    g_assert_cmpstr(err->message, ==,
                    "object 'm0' is in use, can not be deleted");
    g_clear_error(&err);

    g_assert_true(machine_device_del(f->m, "d0", &err));
    g_assert_cmpuint(f->kvm.ged_raises, ==, 2);
    g_assert_cmphex(guest_status(f, 0), ==, 0x5);   /* enabled|removing */
    /* The guest acknowledges the request and loses it: nothing happens. */
    guest_write(f, 0x14, 0x4);
    g_assert_cmphex(guest_status(f, 0), ==, 0x1);
    /* device_del again sends the request again, as QEMU does. */
    g_assert_true(machine_device_del(f->m, "d0", &err));
    g_assert_no_error(err);
    g_assert_cmpuint(f->kvm.ged_raises, ==, 3);
    g_assert_cmphex(guest_status(f, 0), ==, 0x5);
    g_assert_cmpuint(f->events->len, ==, 0);

    /* The guest refuses (eject: 0x103, status 0x84 in progress then 0x82
     * unsuccessful): the DIMM stays and a new device_del may ask again. */
    guest_write(f, 0x14, 0x4);
    guest_ost(f, 0, 0x103, 0x82);
    assert_event(f, 0, "ACPI_DEVICE_OST {\"info\":{\"device\":\"d0\","
                 "\"slot\":\"0\",\"slot-type\":\"DIMM\",\"source\":259,"
                 "\"status\":130}}");
    assert_event(f, 1, "DEVICE_UNPLUG_GUEST_ERROR {\"device\":\"d0\","
                 "\"path\":\"/machine/peripheral/d0\"}");
    g_assert_cmphex(guest_status(f, 0), ==, 0x1);
    guest_write(f, 0x14, 0x8);                      /* eject: not asked */
    g_assert_cmpuint(f->events->len, ==, 2);

    g_assert_true(machine_device_del(f->m, "d0", &err));
    regions = f->kvm.regions;
    guest_eject(f, 0);
    g_assert_cmpuint(f->kvm.regions, ==, regions + 1);
    g_assert_cmpuint(f->kvm.last_size, ==, 0);      /* memslot deleted */
    assert_event(f, 2, "DEVICE_DELETED {\"device\":\"d0\",\"path\":"
                 "\"/machine/peripheral/d0\"}");
    g_assert_cmphex(guest_status(f, 0), ==, 0);
    g_autofree char *devs = memory_devices(f);
    g_assert_cmpstr(devs, ==, "[]");
    /* The guest's last word on the ejected DIMM is still reported. */
    guest_ost(f, 0, 0x103, 0x0);
    assert_event(f, 3, "ACPI_DEVICE_OST {\"info\":{\"slot\":\"0\","
                 "\"slot-type\":\"DIMM\",\"source\":259,\"status\":0}}");
    g_assert_true(machine_object_del(f->m, "m0", &err));
    g_assert_false(machine_object_del(f->m, "m0", &err));
    g_assert_cmpstr(err->message, ==, "object 'm0' not found");
}

/*
 * _OST calls the guest makes on its own (issue 15, defect 12): none is
 * reported for an empty slot, and those for an occupied one are marked for
 * the monitor's rate limit. Its answers to hot-add, device_del and eject
 * are not: they go out at once.
 */
static void test_ost_unsolicited(struct fixture *f, gconstpointer data)
{
    static const uint32_t pairs[][2] = {    /* what an OSPM writes */
        { 0x1, 0x0 }, { 0x1, 0x1 }, { 0x3, 0x84 }, { 0x3, 0x81 },
        { 0x103, 0x0 },
    };
    g_autoptr(GError) err = NULL;

    /* Empty slots, never used: nothing. */
    for (unsigned i = 0; i < 1000; i++)
        guest_ost(f, i % 4, pairs[i % 5][0], pairs[i % 5][1]);
    g_assert_cmpuint(f->events->len, ==, 0);

    object_add(f, "m0", 128 * MIB);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                             "\"memdev\": \"m0\"}", &err));
    guest_write(f, 0x14, 0x2);
    guest_ost(f, 0, 0x1, 0x0);
    assert_event(f, 0, "ACPI_DEVICE_OST {\"info\":{\"device\":\"d0\","
                 "\"slot\":\"0\",\"slot-type\":\"DIMM\",\"source\":1,"
                 "\"status\":0}}");
    /* The flood: every slot in turn, every pair. Only slot 0's count (250),
     * all limited but the first, which the hot-add's spare answer covers.
     * (0x3, 0x81) is a refusal, but nobody asked for a removal. */
    for (unsigned i = 0; i < 1000; i++)
        guest_ost(f, i % 4, pairs[i % 5][0], pairs[i % 5][1]);
    g_assert_cmpuint(f->events->len, ==, 1 + 250);
    for (unsigned i = 2; i < f->events->len; i++)
        g_assert_true(g_str_has_prefix(g_ptr_array_index(f->events, i),
                                       "limited ACPI_DEVICE_OST {\"info\":"
                                       "{\"device\":\"d0\",\"slot\":\"0\","));
    g_ptr_array_set_size(f->events, 0);

    /* device_del: the guest's answers are not limited, before the eject
     * nor after it, at the empty slot. */
    g_assert_true(machine_device_del(f->m, "d0", &err));
    guest_ost(f, 0, 0x3, 0x84);
    guest_eject(f, 0);
    guest_ost(f, 0, 0x103, 0x0);
    assert_event(f, 0, "ACPI_DEVICE_OST {\"info\":{\"device\":\"d0\","
                 "\"slot\":\"0\",\"slot-type\":\"DIMM\",\"source\":3,"
                 "\"status\":132}}");
    assert_event(f, 1, "DEVICE_DELETED {\"device\":\"d0\",\"path\":"
                 "\"/machine/peripheral/d0\"}");
    assert_event(f, 2, "ACPI_DEVICE_OST {\"info\":{\"slot\":\"0\","
                 "\"slot-type\":\"DIMM\",\"source\":259,\"status\":0}}");
    /* The slot is empty and owes nothing now. */
    for (unsigned i = 0; i < 100; i++)
        guest_ost(f, 0, pairs[i % 5][0], pairs[i % 5][1]);
    g_assert_cmpuint(f->events->len, ==, 3);
}

/* The guest's read of the GED event register (returns and clears). */
static uint32_t guest_ged_events(struct fixture *f)
{
    uint32_t v = 0;

    bus_dispatch(f->m->bus, BUS_PIO, GED_PORT, (uint8_t *)&v, 4, false);
    return v;
}

/*
 * device_del right after device_add, before the guest scanned: the two
 * requests are one GED event, and the slot reads inserting and removing at
 * once. A guest that handles only the insertion leaves the removal pending;
 * asking again reaches it, and the eject then completes the removal.
 */
static void test_add_then_del(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    object_add(f, "m0", 128 * MIB);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                             "\"memdev\": \"m0\"}", &err));
    g_assert_true(machine_device_del(f->m, "d0", &err));
    g_assert_cmphex(guest_ged_events(f), ==, GED_EVENT_MEMORY);
    g_assert_cmphex(guest_ged_events(f), ==, 0);    /* one event for both */
    g_assert_cmphex(guest_status(f, 0), ==, 0x7);   /* enabled|ins|rem */
    /* Only the insertion is handled, and acknowledged alone. */
    guest_write(f, 0x14, 0x2);
    guest_ost(f, 0, 0x1, 0x0);
    g_assert_cmphex(guest_status(f, 0), ==, 0x5);   /* removal still due */
    g_assert_true(machine_device_del(f->m, "d0", &err));
    g_assert_cmphex(guest_ged_events(f), ==, GED_EVENT_MEMORY);
    g_assert_cmphex(guest_status(f, 0), ==, 0x5);
    guest_eject(f, 0);
    assert_event(f, 1, "DEVICE_DELETED {\"device\":\"d0\",\"path\":"
                 "\"/machine/peripheral/d0\"}");
    g_assert_false(machine_device_del(f->m, "d0", &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_DEVICE_NOT_FOUND);
    g_assert_cmpstr(err->message, ==, "Device 'd0' not found");
}

/*
 * A read-only backend's DIMM gets a read-only memslot: the guest's writes
 * then become MMIO exits nobody claims (dropped, as in QEMU) instead of a
 * KVM_RUN failure that ended the VM ("vCPU 0: Bad address").
 */
static void test_readonly(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-machine-dimm-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "ro.img", NULL);
    g_autofree char *obj = NULL;
    json_object *args;
    bool done = false;
    FILE *fp = fopen(path, "w");

    g_assert_nonnull(fp);
    g_assert_cmpint(ftruncate(fileno(fp), 2 * MIB), ==, 0);
    fclose(fp);
    obj = g_strdup_printf("{\"qom-type\": \"memory-backend-file\", \"id\": "
                          "\"ro\", \"size\": 2097152, \"mem-path\": "
                          "\"%s\", \"readonly\": true}", path);
    args = parse(obj);
    machine_object_add(f->m, args, object_done, &done);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
    json_object_put(args);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                             "\"memdev\": \"ro\"}", &err));
    g_assert_no_error(err);
    g_assert_cmphex(f->kvm.last_flags, ==, KVM_MEM_READONLY);
    g_assert_cmphex(f->kvm.last_size, ==, 2 * MIB);
    /* A writable DIMM beside it is not read-only. */
    object_add(f, "rw", 2 * MIB);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d1\", "
                             "\"memdev\": \"rw\"}", &err));
    g_assert_cmphex(f->kvm.last_flags, ==, 0);
    g_unlink(path);
    g_rmdir(dir);
}

/* A DIMM without id: QEMU's anonymous path names it in events. */
static void test_anonymous(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    object_add(f, "m0", 256 * MIB);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"memdev\": "
                             "\"m0\", \"slot\": 2}", &err));
    guest_write(f, 0x00, 2);
    guest_write(f, 0x14, 0x2);
    g_assert_true(f->m->dimm_slots[2] != NULL);
    g_assert_cmpstr(f->m->dimm_slots[2]->path, ==,
                    "/machine/peripheral-anon/device[0]");
}

/* calc-dirty-rate in dirty-bitmap mode over a window of ms. */
static void calc_dirty_rate(struct fixture *f, int64_t ms)
{
    g_autoptr(GError) err = NULL;
    struct dirtyrate_request r = { .calc_time = ms, .calc_time_ms = true,
                                   .has_mode = true,
                                   .mode = DIRTYRATE_DIRTY_BITMAP };

    g_assert_true(machine_calc_dirty_rate(f->m, &r, &err));
    g_assert_no_error(err);
}

/* Runs the main loop until the window closed; returns the pages counted. */
static uint64_t dirty_rate_pages(struct fixture *f)
{
    struct dirtyrate_info info;

    for (;;) {
        machine_query_dirty_rate(f->m, &info);
        dirtyrate_info_clear(&info);
        if (info.status == DIRTYRATE_MEASURED)
            return info.pages;
        g_main_context_iteration(NULL, TRUE);
    }
}

static void hot_add_acked(struct fixture *f, const char *json, unsigned slot)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(device_add(f, json, &err));
    g_assert_no_error(err);
    guest_write(f, 0x00, slot);
    guest_write(f, 0x14, 0x2);
}

static void hot_remove(struct fixture *f, const char *id, unsigned slot)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(machine_device_del(f->m, id, &err));
    guest_eject(f, slot);
    g_assert_null(f->m->dimm_slots[slot]);
}

/*
 * Issue 15, defect 6: during a dirty-bitmap measurement, a DIMM is removed
 * and the same backend plugged again: same slot, address, size and host
 * address, and KVM gives it the same memslot id. The guest's writes to it
 * must count (they were lost: its memslot was taken for the removed one,
 * on its way out, and never read).
 */
static void test_dirty_readded(struct fixture *f, gconstpointer data)
{
    static const char d0[] = "{\"driver\": \"pc-dimm\", \"id\": \"d0\", "
                             "\"memdev\": \"m0\"}";
    uint64_t addr;
    uint32_t id;

    object_add(f, "m0", 256 * MIB);
    hot_add_acked(f, d0, 0);
    addr = f->m->dimm_slots[0]->addr;
    id = memmap_find(f->m->memmap, addr)->slot;
    calc_dirty_rate(f, 100);
    guest_writes_pages(&f->kvm, addr, 3);       /* the old DIMM's */
    hot_remove(f, "d0", 0);
    hot_add_acked(f, d0, 0);
    g_assert_cmphex(f->m->dimm_slots[0]->addr, ==, addr);
    g_assert_cmpuint(memmap_find(f->m->memmap, addr)->slot, ==, id);
    g_assert_cmphex(f->kvm.last_flags, ==, KVM_MEM_LOG_DIRTY_PAGES);
    guest_writes_pages(&f->kvm, addr + 16 * MIB, 100);
    g_assert_cmpuint(dirty_rate_pages(f), ==, 3 + 100);
}

/*
 * Issue 15, defect 16: calc-time -2^63 (seconds) was multiplied by 1000
 * before its range was checked, a signed overflow UBSan reports. Every
 * out-of-range value is refused, in its own unit, before any arithmetic.
 */
static void test_dirty_rate_calc_time_range(struct fixture *f,
                                            gconstpointer data)
{
    static const struct {
        int64_t t;
        bool ms;
        const char *message;
    } cases[] = {
        { INT64_MIN, false, "calc-time -9223372036854775808 s is out of "
          "range: it must be 1 to 60 s" },
        { INT64_MIN, true, "calc-time -9223372036854775808 ms is out of "
          "range: it must be 50 to 60000 ms" },
        { INT64_MAX, false, "calc-time 9223372036854775807 s is out of "
          "range: it must be 1 to 60 s" },
        { INT64_MAX / 1000 + 1, false, "calc-time 9223372036854776 s is "
          "out of range" },
        { -1, false, "calc-time -1 s is out of range" },
        { 0, false, "calc-time 0 s is out of range" },
        { 61, false, "calc-time 61 s is out of range" },
        { 49, true, "calc-time 49 ms is out of range" },
        { 60001, true, "calc-time 60001 ms is out of range" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        struct dirtyrate_request r = { .calc_time = cases[i].t,
                                       .calc_time_ms = cases[i].ms };

        g_assert_false(machine_calc_dirty_rate(f->m, &r, &err));
        g_assert_error(err, HM_ERROR, HM_ERROR_INVALID);
        if (!g_str_has_prefix(err->message, cases[i].message))
            g_error("'%s' is not '%s'", err->message, cases[i].message);
    }
    calc_dirty_rate(f, 50);
    dirty_rate_pages(f);
}

/*
 * device_add of a DIMM on a new backend, device_del, eject. The backends
 * stay (an object-del would let the next one get the same host address).
 */
static void plug_cycle(struct fixture *f, unsigned i, unsigned dirty_pages)
{
    g_autofree char *mem = g_strdup_printf("m%u", i);
    g_autofree char *dev = g_strdup_printf(
        "{\"driver\": \"pc-dimm\", \"id\": \"d0\", \"memdev\": \"%s\"}",
        mem);

    object_add(f, mem, 256 * MIB);
    hot_add_acked(f, dev, 0);
    if (dirty_pages)
        guest_writes_pages(&f->kvm, f->m->dimm_slots[0]->addr, dirty_pages);
    hot_remove(f, "d0", 0);
}

/*
 * Issue 15, defect 5: a removed DIMM's dirty-log record (two bitmaps) was
 * kept until the next measurement started: 20 add/remove cycles of 256 MiB
 * DIMMs left 20 records, 320 KiB. The cycles must leave the log as it was:
 * empty with logging off; during a measurement the removed DIMMs' bits
 * wait for its end, and then they are gone too.
 */
static void test_dirty_log_memory(struct fixture *f, gconstpointer data)
{
    struct dirty_log_usage u;

    for (unsigned i = 0; i < 20; i++)
        plug_cycle(f, i, 0);
    dirty_log_usage(f->m->dirty, &u);
    g_assert_cmpuint(u.removed, ==, 0);
    g_assert_cmpuint(u.bytes, ==, 0);
    g_assert_cmpuint(u.slots, ==, 0);

    calc_dirty_rate(f, 100);
    for (unsigned i = 0; i < 20; i++)
        plug_cycle(f, 100 + i, 1);
    dirty_log_usage(f->m->dirty, &u);
    g_assert_cmpuint(u.slots, ==, 1);           /* boot RAM */
    g_assert_cmpuint(u.removed, ==, 20);
    g_assert_cmpuint(dirty_rate_pages(f), ==, 20);
    dirty_log_usage(f->m->dirty, &u);
    g_assert_cmpuint(u.slots, ==, 0);
    g_assert_cmpuint(u.removed, ==, 0);
    g_assert_cmpuint(u.bytes, ==, 0);
}

/*
 * First fit after removals: the lowest hole is reused, by address and by
 * slot, and ids stay found whatever order DIMMs come and go in.
 */
static void test_refill_hole(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    uint64_t base;

    object_add(f, "ma", 128 * MIB);
    object_add(f, "mb", 128 * MIB);
    object_add(f, "mc", 256 * MIB);
    object_add(f, "md", 128 * MIB);
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"zz\", "
                  "\"memdev\": \"ma\"}", 0);
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"aa\", "
                  "\"memdev\": \"mb\"}", 1);
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"mm\", "
                  "\"memdev\": \"mc\"}", 2);
    base = f->m->dimm_slots[0]->addr;
    g_assert_cmphex(f->m->dimm_slots[2]->addr, ==, base + 256 * MIB);
    hot_remove(f, "zz", 0);
    /* 256 MiB does not fit the 128 MiB hole: after the last, slot 0. */
    object_add(f, "me", 256 * MIB);
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"ee\", "
                  "\"memdev\": \"me\"}", 0);
    g_assert_cmphex(f->m->dimm_slots[0]->addr, ==, base + 512 * MIB);
    /* 128 MiB fits it: first fit, in the next free slot. */
    hot_add_acked(f, "{\"driver\": \"pc-dimm\", \"id\": \"bb\", "
                  "\"memdev\": \"md\"}", 3);
    g_assert_cmphex(f->m->dimm_slots[3]->addr, ==, base);
    hot_remove(f, "aa", 1);
    hot_remove(f, "mm", 2);
    hot_remove(f, "ee", 0);
    g_assert_false(machine_device_del(f->m, "zz", &err));
    g_assert_cmpstr(err->message, ==, "Device 'zz' not found");
    hot_remove(f, "bb", 3);
    g_autofree char *devs = memory_devices(f);
    g_assert_cmpstr(devs, ==, "[]");
}

/*
 * A machine built on the stub has no vCPUs, no KVM statistics and, when the
 * stub plays no dirty log, no dirty log, yet every monitor command may reach it: stop and cont change only
 * the run state, query-stats finds nothing, calc-dirty-rate says why not.
 */
static void test_without_kvm(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    json_object *results = json_object_new_array();
    json_object *schemas;
    struct dirtyrate_request req = { .calc_time = 1 };

    machine_resume(f->m);
    g_assert_cmpint(machine_run_state(f->m), ==, MACHINE_RUNNING);
    machine_pause(f->m);
    g_assert_cmpint(machine_run_state(f->m), ==, MACHINE_PAUSED);
    g_assert_cmpuint(f->events->len, ==, 2);
    assert_event(f, 0, "RESUME {}");
    assert_event(f, 1, "STOP {}");
    g_assert_true(machine_query_stats(f->m, false, NULL, NULL, results,
                                      &err));
    g_assert_true(machine_query_stats(f->m, true, NULL, NULL, results,
                                      &err));
    g_assert_no_error(err);
    g_assert_cmpuint(json_object_array_length(results), ==, 0);
    json_object_put(results);
    schemas = machine_query_stats_schemas(f->m, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(json_object_array_length(schemas), ==, 0);
    json_object_put(schemas);
    g_assert_false(machine_calc_dirty_rate(f->m, &req, &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED);
    g_assert_cmpstr(err->message, ==, "the dirty rate needs KVM's dirty "
                    "log, which this machine (built without KVM) does not "
                    "have");
}

/* The mapping at addr has the VmFlag flag ("hg", "nh"; proc(5) smaps). */
static bool has_vm_flag(const void *addr, const char *flag)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    bool inside = false;

    g_assert_true(g_file_get_contents("/proc/self/smaps", &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        unsigned long lo, hi;

        if (sscanf(*l, "%lx-%lx ", &lo, &hi) == 2) {
            inside = lo <= (uintptr_t)addr && (uintptr_t)addr < hi;
        } else if (inside && g_str_has_prefix(*l, "VmFlags:")) {
            g_auto(GStrv) words = g_strsplit(*l + strlen("VmFlags:"), " ",
                                             -1);

            return g_strv_contains((const char *const *)words, flag);
        }
    }
    g_error("no mapping holds %p", addr);
}

/*
 * Guest memory can be mapped by KVM with 2 MiB pages only where a 2 MiB
 * guest-physical page lies in one 2 MiB host page: every memslot (boot RAM,
 * a cold-plugged DIMM, hot-plugged ram and memfd DIMMs) starts on a 2 MiB
 * boundary on both sides, as QEMU's RAM blocks do, and is advised for
 * transparent huge pages (but the boot area). The boot RAM's size is
 * no multiple of 2 MiB, so the kernel does not align its mapping by itself
 * (as Linux 6.7+ does for anonymous mappings of whole 2 MiB units).
 */
static void test_huge_page_alignment(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    json_object *args = parse("{\"qom-type\": \"memory-backend-memfd\", "
                              "\"id\": \"mfd\", \"size\": 6291456}");
    bool done = false;
    unsigned checked = 0;

    teardown(f, data);
    build_ram(f, data, 255 * MIB + 4096, true);
    machine_object_add(f->m, args, object_done, &done);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
    json_object_put(args);
    object_add(f, "small", 2 * MIB);
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d1\", "
                             "\"memdev\": \"mfd\"}", &err));
    g_assert_true(device_add(f, "{\"driver\": \"pc-dimm\", \"id\": \"d2\", "
                             "\"memdev\": \"small\"}", &err));
    for (unsigned i = 0; i < STUB_SLOTS; i++) {
        uintptr_t hva = (uintptr_t)f->kvm.slot[i].hva;

        if (!f->kvm.slot[i].size)
            continue;
        if (hva % (2 * MIB) || f->kvm.slot[i].gpa % (2 * MIB))
            g_error("memslot %u: gpa 0x%" G_GINT64_MODIFIER "x at host "
                    "address %p: not both on a 2 MiB boundary", i,
                    f->kvm.slot[i].gpa, f->kvm.slot[i].hva);
        checked++;
    }
    g_assert_cmpuint(checked, ==, 4);   /* RAM, boot-dimm, d1, d2 */
    /*
     * Boot RAM is advised for huge pages but for its first 2 MiB, which
     * holds what hotmem writes at boot (machine_ram.c).
     */
    g_assert_cmphex(f->kvm.slot[0].gpa, ==, 0);
    g_assert_true(has_vm_flag(f->kvm.slot[0].hva, "nh"));
    g_assert_false(has_vm_flag(f->kvm.slot[0].hva, "hg"));
    g_assert_true(has_vm_flag((uint8_t *)f->kvm.slot[0].hva + 2 * MIB, "hg"));
}

int main(int argc, char **argv)
{
    static const char cold[] = "{\"driver\": \"pc-dimm\", \"id\": "
                               "\"boot-dimm\", \"memdev\": \"boot-dimm-mem\"}";

    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn, data) \
    g_test_add("/machine-dimm/" path, struct fixture, data, setup, fn, \
               teardown)
    ADD("hot-add", test_hot_add, NULL);
    ADD("cold-plug", test_cold_plug, cold);
    ADD("add-refused", test_add_refused, NULL);
    ADD("slots-full", test_slots_full, NULL);
    ADD("add-preallocating", test_add_preallocating, NULL);
    ADD("remove", test_remove, NULL);
    ADD("add-then-del", test_add_then_del, NULL);
    ADD("ost-unsolicited", test_ost_unsolicited, NULL);
    ADD("anonymous", test_anonymous, NULL);
    ADD("anonymous-del-by-path", test_anonymous_del_by_path, NULL);
    ADD("unknown-memdev", test_unknown_memdev, NULL);
    ADD("file-page-align", test_file_page_align, NULL);
    ADD("ospm-every-slot", test_ospm_every_slot, NULL);
    ADD("boot-ram-object", test_boot_ram_object, NULL);
    ADD("object-add-typed", test_object_add_typed, NULL);
    g_test_add_func("/machine-dimm/summary-no-slots", test_summary_no_slots);
    ADD("system-reset", test_system_reset, NULL);
    ADD("guest-reset", test_guest_reset, NULL);
    g_test_add_func("/machine-dimm/guest-reset-no-reboot",
                    test_guest_reset_no_reboot);
    ADD("readonly", test_readonly, NULL);
    ADD("refill-hole", test_refill_hole, NULL);
    ADD("dirty-readded", test_dirty_readded, NULL);
    ADD("dirty-log-memory", test_dirty_log_memory, NULL);
    ADD("dirty-rate-calc-time-range", test_dirty_rate_calc_time_range, NULL);
    g_test_add("/machine-dimm/without-kvm", struct fixture, NULL,
               setup_no_dirty_log, test_without_kvm, teardown);
    ADD("huge-page-alignment", test_huge_page_alignment, cold);
    return g_test_run();
}
