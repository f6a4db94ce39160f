/*
 * QAPI descriptions (schema.h) of what the monitor's commands take and
 * return, with QEMU's type names (its qapi/ schema files) as C names. The
 * commands point at these from their tables; query-qmp-schema prints
 * them.
 */
#pragma once

#include <stddef.h>

#include "schema.h"

/* Shorthands for static tables of members, enums and lists. */
#define QT_REQ(n, t) { (n), &(t), false }
#define QT_OPT(n, t) { (n), &(t), true }
#define QT_OBJECT(var, qname, ...)                                          \
    static const struct schema_member var##_members[] = {                   \
        __VA_ARGS__, { NULL } };                                            \
    const struct schema_type var = { .meta = SCHEMA_OBJECT,                 \
        .name = (qname), .members = var##_members }
#define QT_ENUM(var, qname, ...)                                            \
    static const char *const var##_values[] = { __VA_ARGS__, NULL };        \
    const struct schema_type var = { .meta = SCHEMA_ENUM,                   \
        .name = (qname), .values = var##_values }
#define QT_LIST(var, qname, elem)                                           \
    const struct schema_type var = { .meta = SCHEMA_ARRAY,                  \
        .name = (qname), .element = &(elem) }

extern const struct schema_type
    qt_version_info, qt_name_info, qt_status_info, qt_kvm_info,
    qt_memory_device_info_list, qt_memory_info, qt_acpi_ost_info_list,
    qt_memdev_list, qt_host_mem_policy, qt_memslots_info,
    qt_object_property_info_list, qt_object_type_info_list,
    qt_cpu_info_fast_list, qt_hotpluggable_cpu_list, qt_machine_info_list,
    qt_event_info_list, qt_schema_info_list, qt_process_info,
    qt_cmdline_info,
    qt_stats_target, qt_stats_provider, qt_stats_request_list,
    qt_stats_result_list, qt_stats_schema_list,
    qt_dirty_rate_info, qt_dirty_rate_mode, qt_time_unit,
    qt_migration_info, qt_migration_capability_status_list,
    qt_migration_parameters;
