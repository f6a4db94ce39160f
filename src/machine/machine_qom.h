/*
 * The machine as QEMU's monitor describes it beyond the memory queries:
 * its object tree (qom-list, qom-get, qom-set, qom-list-types,
 * device-list-properties), its vCPUs (query-cpus-fast,
 * query-hotpluggable-cpus), the machine types (query-machines), and what
 * the human monitor's "info numa" and "info mtree" show. Results are new
 * JSON values with QEMU's shapes; errors are HM_ERROR with QEMU's texts
 * (HM_ERROR_DEVICE_NOT_FOUND where QEMU says DeviceNotFound). Main thread.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

#include "machine/machine.h"

/* [{"name", "type"}] of the object at path (absolute or partial). */
json_object *machine_qom_list(struct machine *m, const char *path,
                              GError **err);
json_object *machine_qom_get(struct machine *m, const char *path,
                             const char *property, GError **err);
bool machine_qom_set(struct machine *m, const char *path,
                     const char *property, json_object *value, GError **err);
/* [{"name", "abstract"?, "parent"?}]; implements NULL: every type. */
json_object *machine_qom_list_types(const char *implements, bool abstract);
json_object *machine_device_list_properties(const char *type_name,
                                            GError **err);

/* The NUMA node vCPU cpu belongs to (0 without -numa). */
unsigned machine_cpu_node(struct machine *m, unsigned cpu);

/* [CpuInfoFast] and [HotpluggableCPU] (a machine without vCPUs: []). */
json_object *machine_query_cpus_fast(struct machine *m);
json_object *machine_query_hotpluggable_cpus(struct machine *m);
/* [MachineInfo]: the machine types -machine accepts. */
json_object *machine_query_machines(struct machine *m);
/*
 * [{"node", "cpus": [int], "size", "plugged"}] per NUMA node as the guest
 * sees them (one node 0 without -numa): boot RAM plus DIMMs on the node,
 * and the DIMMs' part.
 */
json_object *machine_query_numa(struct machine *m);
/*
 * The guest-physical memory map: [{"addr", "size", "kind", "name"}] by
 * address, boot RAM ranges and DIMMs ("ram"), and the device-memory
 * window ("window").
 */
json_object *machine_query_memory_map(struct machine *m);
