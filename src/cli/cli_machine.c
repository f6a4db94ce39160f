/* -machine and -accel: the machine type and accelerator, QEMU spelling. */
#include <inttypes.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "props.h"

/*
 * QEMU's versioned machine names (pc-q35-7.2, pc-i440fx-7.2, pc-7.2) name
 * the same machine here: hotmem's one machine has no versions to keep.
 */
static bool machine_type_known(const char *t)
{
    static const char *const prefixes[] = { "pc-q35-", "pc-i440fx-", "pc-" };

    if (!strcmp(t, "pc") || !strcmp(t, "q35"))
        return true;
    for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
        const char *v = t + strlen(prefixes[i]);

        if (g_str_has_prefix(t, prefixes[i]) && g_ascii_isdigit(*v) &&
            strspn(v, "0123456789.") == strlen(v))
            return true;
    }
    return false;
}

/*
 * Machine properties for devices hotmem does not have: off (or on, where
 * the property only tunes something hotmem does not do) is accepted with
 * no effect; asking for the device is refused.
 */
static const struct {
    const char *key;
    bool on_ok;             /* on is accepted too */
    const char *on_why;     /* why on is refused */
} quiet_machine_keys[] = {
    { "usb", false, "hotmem has no USB controller" },
    { "vmport", false, "hotmem has no VMware I/O port" },
    { "hpet", false, "hotmem has no HPET" },
    { "smm", false, "hotmem has no System Management Mode" },
    { "nvdimm", false, "hotmem has no NVDIMMs, only pc-dimm" },
    { "graphics", false, "hotmem has no display" },
    { "sata", false, "hotmem has no disk controllers" },
    { "acpi", true, NULL },     /* off is refused below */
    { "dump-guest-core", true, NULL },
    { "mem-merge", true, NULL },
};

static bool quiet_machine_key(const char *key, const char *val, bool *known,
                              GError **err)
{
    bool on;

    *known = false;
    for (size_t i = 0; i < G_N_ELEMENTS(quiet_machine_keys); i++) {
        if (strcmp(key, quiet_machine_keys[i].key))
            continue;
        *known = true;
        if (!strcmp(val, "auto") && !strcmp(key, "smm"))
            return true;
        if (!cli_parse_onoff("-machine", key, val, &on, err))
            return false;
        if (!strcmp(key, "acpi") && !on)
            return cli_fail(err, "-machine: acpi=off is not supported: "
                            "memory hot-plug and power-off go through ACPI");
        if (on && !quiet_machine_keys[i].on_ok)
            return cli_fail(err, "-machine: %s=on is not supported: %s", key,
                            quiet_machine_keys[i].on_why);
        return true;
    }
    return true;
}

/*
 * -machine [type=]NAME[,accel=kvm][,memory-backend=ID]
 * [,memhp-default-online=on|off]. hotmem has one machine; QEMU's pc and
 * q35 names are accepted so existing command lines work.
 */
static bool machine_key(struct cli_options *o, const char *key,
                        const char *val, GError **err)
{
    bool known;

    if (!strcmp(key, "type"))
        return machine_type_known(val) ||
               cli_fail(err, "-machine: type '%s' is not supported (hotmem "
                    "has one machine; pc, q35 and their versions such as "
                    "pc-q35-7.2 are accepted as its names)", val);
    if (!strcmp(key, "accel"))
        return !strcmp(val, "kvm") ||
               cli_fail(err, "-machine: accel '%s' is not supported (hotmem "
                    "only runs on kvm)", val);
    if (!strcmp(key, "memhp-default-online"))
        return cli_parse_onoff("-machine", key, val, &o->memhp_default_online,
                               err);
    if (!strcmp(key, "memory-backend")) {
        if (!*val)
            return cli_fail(err, "-machine: memory-backend is empty");
        g_free(o->memory_backend);
        o->memory_backend = g_strdup(val);
        return true;
    }
    if (!quiet_machine_key(key, val, &known, err))
        return false;
    return known ||
           cli_fail(err, "-machine: unknown property '%s' (expected type, "
                    "accel, memory-backend or memhp-default-online)", key);
}

bool cli_machine_parse(struct cli_options *o, const char *arg, GError **err)
{
    GPtrArray *kv = cli_keyval_split("-machine", arg, "type", err);
    bool ok = kv != NULL;

    for (guint i = 0; ok && i < kv->len; i += 2)
        ok = machine_key(o, kv->pdata[i], kv->pdata[i + 1], err);
    if (kv)
        g_ptr_array_unref(kv);
    return ok;
}

/* -accel kvm[,dirty-ring-size=N]: QEMU's rule is a power of two, 0 = off. */
bool cli_accel_parse(struct cli_options *o, const char *arg, GError **err)
{
    GPtrArray *kv = cli_keyval_split("-accel", arg, "accel", err);
    uint64_t n = 0;
    bool ok = kv != NULL;

    for (guint i = 0; ok && i < kv->len; i += 2) {
        const char *key = kv->pdata[i], *val = kv->pdata[i + 1];

        if (!strcmp(key, "accel") && strcmp(val, "kvm"))
            ok = cli_fail(err, "-accel: accelerator '%s' is not available "
                          "(hotmem has kvm)", val);
        else if (!strcmp(key, "dirty-ring-size"))
            ok = cli_parse_count("-accel", key, val, 0, UINT32_MAX, &n, err)
                 && ((n & (n - 1)) == 0 ||
                     cli_fail(err, "-accel: dirty-ring-size must be a power "
                              "of two (got %s)", val));
        else if (strcmp(key, "accel"))
            ok = cli_fail(err, "-accel: unknown property '%s' (hotmem knows "
                          "dirty-ring-size)", key);
    }
    if (ok)
        o->dirty_ring_size = (uint32_t)n;
    if (kv)
        g_ptr_array_unref(kv);
    return ok;
}

/* The -object bag with id, or NULL. */
static json_object *object_bag(const struct cli_options *o, const char *id)
{
    for (guint i = 0; o->objects && i < o->objects->len; i++) {
        json_object *v;

        if (json_object_object_get_ex(o->objects->pdata[i], "id", &v) &&
            !g_strcmp0(json_object_get_string(v), id))
            return o->objects->pdata[i];
    }
    return NULL;
}

static void bag_free(gpointer bag)
{
    json_object_put(bag);
}

static void add_object(struct cli_options *o, json_object *bag)
{
    if (!o->objects)
        o->objects = g_ptr_array_new_with_free_func(bag_free);
    g_ptr_array_insert(o->objects, 0, bag);
}

/* -mem-path / -mem-prealloc: boot RAM in a backend called pc.ram. */
static bool implied_ram_backend(struct cli_options *o, GError **err)
{
    json_object *bag;

    if (o->memory_backend && o->mem_path)
        return cli_fail(err, "-mem-path: boot RAM comes from -machine "
                        "memory-backend=%s here; give that object mem-path= "
                        "instead (QEMU refuses both together too)",
                        o->memory_backend);
    if (o->memory_backend || (!o->mem_path && !o->mem_prealloc))
        return true;
    if (o->nr_numa)         /* the nodes' memdevs hold boot RAM */
        return true;
    if (object_bag(o, "pc.ram"))
        return cli_fail(err, "-object: id 'pc.ram' is the boot RAM's backend "
                        "that -mem-path/-mem-prealloc create; use another id");
    bag = json_object_new_object();
    json_object_object_add(bag, "qom-type", json_object_new_string(
        o->mem_path ? "memory-backend-file" : "memory-backend-ram"));
    json_object_object_add(bag, "id", json_object_new_string("pc.ram"));
    json_object_object_add(bag, "size", json_object_new_uint64(o->ram_size));
    if (o->mem_path)
        json_object_object_add(bag, "mem-path",
                               json_object_new_string(o->mem_path));
    add_object(o, bag);
    o->memory_backend = g_strdup("pc.ram");
    return true;
}

/* -machine memory-backend=ID: -m's size must be the backend's, or is it. */
static bool check_memory_backend(struct cli_options *o, GError **err)
{
    json_object *bag = object_bag(o, o->memory_backend), *v;
    g_autoptr(GError) e = NULL;
    uint64_t size;

    for (unsigned i = 0; i < o->nr_numa; i++) {
        if (o->numa[i].memdev)
            return cli_fail(err, "-machine: memory-backend=%s and -numa "
                        "memdev= both say where boot RAM is; give one "
                        "(QEMU refuses both together too)",
                        o->memory_backend);
    }
    if (!bag)
        return cli_fail(err, "-machine: memory-backend '%s' names no -object",
                        o->memory_backend);
    if (!json_object_object_get_ex(bag, "size", &v))
        return true;        /* the backend reports its own error */
    if (!props_size(v, "size", &size, &e))
        return cli_fail(err, "-object %s: %s", o->memory_backend,
                        e->message);
    if (!o->ram_size_given) {
        o->ram_size = size;
        return true;
    }
    if (size != o->ram_size)
        return cli_fail(err, "-machine: memory-backend '%s' has size 0x%"
                        PRIx64 " but -m size is 0x%" PRIx64 ": they must "
                        "match", o->memory_backend, size, o->ram_size);
    return true;
}

bool cli_memory_finish(struct cli_options *o, GError **err)
{
    if (!implied_ram_backend(o, err))
        return false;
    /* QEMU: -mem-prealloc makes prealloc=on every backend's default. */
    for (guint i = 0; o->mem_prealloc && o->objects && i < o->objects->len;
         i++) {
        json_object *bag = o->objects->pdata[i];

        if (!json_object_object_get_ex(bag, "prealloc", NULL))
            json_object_object_add(bag, "prealloc",
                                   json_object_new_boolean(1));
    }
    return !o->memory_backend || check_memory_backend(o, err);
}
