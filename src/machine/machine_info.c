/*
 * vCPUs, machine types, NUMA nodes and the guest-physical memory map, in
 * the shapes of QEMU's query-cpus-fast, query-hotpluggable-cpus,
 * query-machines (qapi/machine.json) and for "info numa" / "info mtree".
 */
#include "machine/machine_qom.h"

#include <string.h>

#include "machine/machine_internal.h"

unsigned machine_cpu_node(struct machine *m, unsigned cpu)
{
    return m->cfg.cpu_node ? m->cfg.cpu_node[cpu] : 0;
}

/*
 * Whether the guest has NUMA nodes: -numa, or one implicit node because
 * DIMM slots need SRAT (machine_acpi.c; QEMU does the same).
 */
static bool has_numa(struct machine *m)
{
    return m->cfg.nr_nodes > 0 || m->cfg.slots > 0;
}

/* CpuInstanceProperties: core i of socket 0, as QEMU places -smp N. */
static json_object *cpu_props(struct machine *m, unsigned i)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "core-id", json_object_new_int64(i));
    json_object_object_add(o, "thread-id", json_object_new_int64(0));
    if (has_numa(m))
        json_object_object_add(o, "node-id",
                               json_object_new_int64(machine_cpu_node(m, i)));
    json_object_object_add(o, "socket-id", json_object_new_int64(0));
    return o;
}

static unsigned cpu_count(struct machine *m)
{
    return m->vcpus ? vcpus_count(m->vcpus) : 0;
}

json_object *machine_query_cpus_fast(struct machine *m)
{
    json_object *list = json_object_new_array();

    for (unsigned i = 0; i < cpu_count(m); i++) {
        json_object *o = json_object_new_object();
        g_autofree char *path = g_strdup_printf("/machine/unattached/"
                                                "device[%u]", i);

        json_object_object_add(o, "thread-id", json_object_new_int64(
                                   vcpus_thread_id(m->vcpus, i)));
        json_object_object_add(o, "props", cpu_props(m, i));
        json_object_object_add(o, "qom-path", json_object_new_string(path));
        json_object_object_add(o, "cpu-index", json_object_new_int64(i));
        json_object_object_add(o, "target", json_object_new_string("x86_64"));
        json_object_array_add(list, o);
    }
    return list;
}

/* Every vCPU is present (hotmem plugs no CPUs); highest first, as QEMU. */
json_object *machine_query_hotpluggable_cpus(struct machine *m)
{
    json_object *list = json_object_new_array();

    for (unsigned i = cpu_count(m); i-- > 0;) {
        json_object *o = json_object_new_object();
        g_autofree char *path = g_strdup_printf("/machine/unattached/"
                                                "device[%u]", i);

        json_object_object_add(o, "props", cpu_props(m, i));
        json_object_object_add(o, "vcpus-count", json_object_new_int64(1));
        json_object_object_add(o, "qom-path", json_object_new_string(path));
        json_object_object_add(o, "type",
                               json_object_new_string("host-x86_64-cpu"));
        json_object_array_add(list, o);
    }
    return list;
}

static json_object *machine_info(const char *name, const char *alias,
                                 bool is_default)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "hotpluggable-cpus",
                           json_object_new_boolean(false));
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "numa-mem-supported",
                           json_object_new_boolean(false));
    json_object_object_add(o, "default-cpu-type",
                           json_object_new_string("host-x86_64-cpu"));
    if (is_default)
        json_object_object_add(o, "is-default", json_object_new_boolean(1));
    /* -smp takes at most 255 vCPUs (the xAPIC ids of the MADT). */
    json_object_object_add(o, "cpu-max", json_object_new_int64(255));
    json_object_object_add(o, "deprecated", json_object_new_boolean(false));
    json_object_object_add(o, "default-ram-id",
                           json_object_new_string("pc.ram"));
    json_object_object_add(o, "alias", json_object_new_string(alias));
    return o;
}

/* hotmem has one machine; -machine takes QEMU's pc and q35 names for it. */
json_object *machine_query_machines(struct machine *m)
{
    json_object *list = json_object_new_array();

    (void)m;
    json_object_array_add(list, machine_info("pc-q35-7.2", "q35", false));
    json_object_array_add(list, machine_info("pc-i440fx-7.2", "pc", true));
    return list;
}

json_object *machine_query_numa(struct machine *m)
{
    unsigned nodes = MAX(m->cfg.nr_nodes, 1u);
    json_object *list = json_object_new_array();

    for (unsigned n = 0; n < nodes; n++) {
        uint32_t id = m->cfg.nr_nodes ? m->nodes[n].id : 0;
        uint64_t ram = m->cfg.nr_nodes ? m->nodes[n].mem : m->cfg.ram_size;
        uint64_t plugged = 0;
        json_object *o = json_object_new_object();
        json_object *cpus = json_object_new_array();

        for (unsigned c = 0; c < m->cfg.smp; c++) {
            if (machine_cpu_node(m, c) == id)
                json_object_array_add(cpus, json_object_new_int64(c));
        }
        g_mutex_lock(&m->dimm_lock);
        for (unsigned s = 0; s < m->cfg.slots; s++) {
            const struct pc_dimm *d = m->dimm_slots[s];

            if (d && d->node == id)
                plugged += d->size;
        }
        g_mutex_unlock(&m->dimm_lock);
        json_object_object_add(o, "node", json_object_new_int64(id));
        json_object_object_add(o, "cpus", cpus);
        json_object_object_add(o, "size",
                               json_object_new_uint64(ram + plugged));
        json_object_object_add(o, "plugged", json_object_new_uint64(plugged));
        json_object_array_add(list, o);
    }
    return list;
}

static json_object *map_entry(uint64_t addr, uint64_t size, const char *kind,
                              const char *name)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "addr", json_object_new_uint64(addr));
    json_object_object_add(o, "size", json_object_new_uint64(size));
    json_object_object_add(o, "kind", json_object_new_string(kind));
    json_object_object_add(o, "name", json_object_new_string(name));
    return o;
}

static void add_memslot(void *opaque, const struct memmap_slot *s)
{
    json_object_array_add(opaque, map_entry(s->gpa, s->size, "ram",
                                            s->owner));
}

static int by_addr(const void *a, const void *b)
{
    uint64_t x = json_object_get_uint64(json_object_object_get(
                     *(json_object *const *)a, "addr"));
    uint64_t y = json_object_get_uint64(json_object_object_get(
                     *(json_object *const *)b, "addr"));

    if (x != y)
        return x < y ? -1 : 1;
    /* The window before the first DIMM inside it. */
    return strcmp(json_object_get_string(json_object_object_get(
                      *(json_object *const *)b, "kind")),
                  json_object_get_string(json_object_object_get(
                      *(json_object *const *)a, "kind")));
}

json_object *machine_query_memory_map(struct machine *m)
{
    json_object *list = json_object_new_array();

    memmap_foreach(m->memmap, add_memslot, list);
    if (m->layout.window_size)
        json_object_array_add(list, map_entry(m->layout.window_base,
                                              m->layout.window_size,
                                              "window", "device-memory"));
    json_object_array_sort(list, by_addr);
    return list;
}

void machine_current_config(struct machine *m, struct machine_config *out)
{
    *out = m->cfg;
    out->objects = machine_object_bags(m, &out->nr_objects);
    out->devices = machine_dimm_bags(m, &out->nr_devices);
}

void machine_current_config_clear(struct machine_config *c)
{
    for (unsigned i = 0; i < c->nr_objects; i++)
        json_object_put(c->objects[i]);
    for (unsigned i = 0; i < c->nr_devices; i++)
        json_object_put(c->devices[i]);
    g_free((gpointer)c->objects);
    g_free((gpointer)c->devices);
    c->objects = c->devices = NULL;
    c->nr_objects = c->nr_devices = 0;
}
