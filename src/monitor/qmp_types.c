/*
 * The result types of the monitor's commands, as QEMU's schema defines
 * them (qapi/misc.json, machine.json, qom.json, introspect.json,
 * stats.json, migration.json) and limited to what hotmem answers: a
 * member QEMU has and hotmem never sends is left out, a hotmem-only
 * command (x-query-memslots, x-query-process) describes its own shape.
 */
#include "monitor/qmp_types.h"

#include "machine/machine_events.h"

/* ---- misc.json, run-state.json, kvm ----------------------------------- */

QT_OBJECT(qt_version_triple, "VersionTriple",
          QT_REQ("major", schema_int), QT_REQ("minor", schema_int),
          QT_REQ("micro", schema_int));
QT_OBJECT(qt_version_info, "VersionInfo",
          QT_REQ("qemu", qt_version_triple), QT_REQ("package", schema_str));
QT_OBJECT(qt_name_info, "NameInfo", QT_OPT("name", schema_str));
QT_OBJECT(qt_status_info, "StatusInfo",
          QT_REQ("running", schema_bool), QT_REQ("singlestep", schema_bool),
          QT_REQ("status", machine_run_state_type));
QT_OBJECT(qt_kvm_info, "KvmInfo",
          QT_REQ("enabled", schema_bool), QT_REQ("present", schema_bool));

/* ---- machine.json: memory --------------------------------------------- */

QT_OBJECT(qt_pc_dimm_device_info, "PCDIMMDeviceInfo",
          QT_OPT("id", schema_str), QT_REQ("addr", schema_int),
          QT_REQ("size", schema_int), QT_REQ("slot", schema_int),
          QT_REQ("node", schema_int), QT_REQ("memdev", schema_str),
          QT_REQ("hotplugged", schema_bool),
          QT_REQ("hotpluggable", schema_bool));
QT_OBJECT(qt_pc_dimm_wrapper, "PCDIMMDeviceInfoWrapper",
          QT_REQ("data", qt_pc_dimm_device_info));
QT_ENUM(qt_memory_device_info_kind, "MemoryDeviceInfoKind", "dimm");
static const struct schema_member memory_device_info_members[] = {
    QT_REQ("type", qt_memory_device_info_kind), { NULL },
};
static const struct schema_variant memory_device_info_variants[] = {
    { "dimm", &qt_pc_dimm_wrapper }, { NULL },
};
static const struct schema_type qt_memory_device_info = {
    .meta = SCHEMA_OBJECT, .name = "MemoryDeviceInfo",
    .members = memory_device_info_members, .tag = "type",
    .variants = memory_device_info_variants,
};
QT_LIST(qt_memory_device_info_list, "MemoryDeviceInfoList",
        qt_memory_device_info);
QT_OBJECT(qt_memory_info, "MemoryInfo",
          QT_REQ("base-memory", schema_int),
          QT_OPT("plugged-memory", schema_int));
QT_LIST(qt_acpi_ost_info_list, "ACPIOSTInfoList",
        machine_acpi_ost_info_type);
QT_ENUM(qt_host_mem_policy, "HostMemPolicy",
        "default", "preferred", "bind", "interleave");
QT_OBJECT(qt_memdev, "Memdev",
          QT_OPT("id", schema_str), QT_REQ("size", schema_int),
          QT_REQ("merge", schema_bool), QT_REQ("dump", schema_bool),
          QT_REQ("prealloc", schema_bool), QT_REQ("share", schema_bool),
          QT_OPT("reserve", schema_bool),
          QT_REQ("host-nodes", schema_int_list),
          QT_REQ("policy", qt_host_mem_policy));
QT_LIST(qt_memdev_list, "MemdevList", qt_memdev);

/* x-query-memslots (hotmem's own; docs/mmu.md). */
QT_OBJECT(qt_memslot_info, "x-MemslotInfo",
          QT_REQ("slot", schema_int), QT_REQ("addr", schema_int),
          QT_REQ("size", schema_int), QT_REQ("host-addr", schema_int),
          QT_REQ("flags", schema_str_list), QT_REQ("owner", schema_str),
          QT_REQ("removing", schema_bool));
QT_LIST(qt_memslot_info_list, "x-MemslotInfoList", qt_memslot_info);
QT_OBJECT(qt_memslots_info, "x-MemslotsInfo",
          QT_REQ("generation", schema_int),
          QT_REQ("slots", qt_memslot_info_list));

/* x-query-process (hotmem's own; docs/qmp.md). */
QT_OBJECT(qt_process_info, "x-ProcessInfo",
          QT_REQ("rss", schema_int), QT_REQ("rss-guest", schema_int),
          QT_REQ("rss-vmm", schema_int), QT_REQ("rss-peak", schema_int),
          QT_REQ("threads", schema_int), QT_REQ("fds", schema_int),
          QT_REQ("heap-in-use", schema_int), QT_REQ("heap-free", schema_int));

/* x-query-cmdline (hotmem's own; docs/migration.md). */
QT_OBJECT(qt_cmdline_info, "x-CmdlineInfo",
          QT_REQ("args", schema_str_list), QT_REQ("cmdline", schema_str));

/* ---- machine.json: CPUs and machine types ----------------------------- */

QT_OBJECT(qt_cpu_instance_properties, "CpuInstanceProperties",
          QT_OPT("node-id", schema_int), QT_OPT("socket-id", schema_int),
          QT_OPT("die-id", schema_int), QT_OPT("cluster-id", schema_int),
          QT_OPT("core-id", schema_int), QT_OPT("thread-id", schema_int));
QT_ENUM(qt_sys_emu_target, "SysEmuTarget", "x86_64");
QT_OBJECT(qt_cpu_info_fast, "CpuInfoFast",
          QT_REQ("cpu-index", schema_int), QT_REQ("qom-path", schema_str),
          QT_REQ("thread-id", schema_int),
          QT_OPT("props", qt_cpu_instance_properties),
          QT_REQ("target", qt_sys_emu_target));
QT_LIST(qt_cpu_info_fast_list, "CpuInfoFastList", qt_cpu_info_fast);
QT_OBJECT(qt_hotpluggable_cpu, "HotpluggableCPU",
          QT_REQ("type", schema_str), QT_REQ("vcpus-count", schema_int),
          QT_REQ("props", qt_cpu_instance_properties),
          QT_OPT("qom-path", schema_str));
QT_LIST(qt_hotpluggable_cpu_list, "HotpluggableCPUList", qt_hotpluggable_cpu);
QT_OBJECT(qt_machine_info, "MachineInfo",
          QT_REQ("name", schema_str), QT_OPT("alias", schema_str),
          QT_OPT("is-default", schema_bool), QT_REQ("cpu-max", schema_int),
          QT_REQ("hotpluggable-cpus", schema_bool),
          QT_REQ("numa-mem-supported", schema_bool),
          QT_REQ("deprecated", schema_bool),
          QT_OPT("default-cpu-type", schema_str),
          QT_OPT("default-ram-id", schema_str));
QT_LIST(qt_machine_info_list, "MachineInfoList", qt_machine_info);

/* ---- qom.json ---------------------------------------------------------- */

QT_OBJECT(qt_object_property_info, "ObjectPropertyInfo",
          QT_REQ("name", schema_str), QT_REQ("type", schema_str),
          QT_OPT("description", schema_str),
          QT_OPT("default-value", schema_any));
QT_LIST(qt_object_property_info_list, "ObjectPropertyInfoList",
        qt_object_property_info);
QT_OBJECT(qt_object_type_info, "ObjectTypeInfo",
          QT_REQ("name", schema_str), QT_OPT("abstract", schema_bool),
          QT_OPT("parent", schema_str));
QT_LIST(qt_object_type_info_list, "ObjectTypeInfoList", qt_object_type_info);

/* ---- control.json: query-events (QEMU 7.2 has dropped it) -------------- */

QT_OBJECT(qt_event_info, "EventInfo", QT_REQ("name", schema_str));
QT_LIST(qt_event_info_list, "EventInfoList", qt_event_info);

/* ---- introspect.json: query-qmp-schema describes itself ---------------- */

QT_ENUM(qt_schema_meta_type, "SchemaMetaType", "builtin", "enum", "array",
        "object", "alternate", "command", "event");
QT_ENUM(qt_json_type, "JSONType", "string", "number", "int", "boolean",
        "null", "object", "array", "value");
QT_OBJECT(qt_schema_info_builtin, "SchemaInfoBuiltin",
          QT_REQ("json-type", qt_json_type));
QT_OBJECT(qt_schema_info_enum_member, "SchemaInfoEnumMember",
          QT_REQ("name", schema_str));
QT_LIST(qt_schema_info_enum_member_list, "SchemaInfoEnumMemberList",
        qt_schema_info_enum_member);
QT_OBJECT(qt_schema_info_enum, "SchemaInfoEnum",
          QT_REQ("members", qt_schema_info_enum_member_list),
          QT_REQ("values", schema_str_list));
QT_OBJECT(qt_schema_info_array, "SchemaInfoArray",
          QT_REQ("element-type", schema_str));
QT_OBJECT(qt_schema_info_object_member, "SchemaInfoObjectMember",
          QT_REQ("name", schema_str), QT_REQ("type", schema_str),
          QT_OPT("default", schema_any));
QT_LIST(qt_schema_info_object_member_list, "SchemaInfoObjectMemberList",
        qt_schema_info_object_member);
QT_OBJECT(qt_schema_info_object_variant, "SchemaInfoObjectVariant",
          QT_REQ("case", schema_str), QT_REQ("type", schema_str));
QT_LIST(qt_schema_info_object_variant_list, "SchemaInfoObjectVariantList",
        qt_schema_info_object_variant);
QT_OBJECT(qt_schema_info_object, "SchemaInfoObject",
          QT_REQ("members", qt_schema_info_object_member_list),
          QT_OPT("tag", schema_str),
          QT_OPT("variants", qt_schema_info_object_variant_list));
QT_OBJECT(qt_schema_info_alternate_member, "SchemaInfoAlternateMember",
          QT_REQ("type", schema_str));
QT_LIST(qt_schema_info_alternate_member_list,
        "SchemaInfoAlternateMemberList", qt_schema_info_alternate_member);
QT_OBJECT(qt_schema_info_alternate, "SchemaInfoAlternate",
          QT_REQ("members", qt_schema_info_alternate_member_list));
QT_OBJECT(qt_schema_info_command, "SchemaInfoCommand",
          QT_REQ("arg-type", schema_str), QT_REQ("ret-type", schema_str),
          QT_OPT("allow-oob", schema_bool));
QT_OBJECT(qt_schema_info_event, "SchemaInfoEvent",
          QT_REQ("arg-type", schema_str));
static const struct schema_member schema_info_members[] = {
    QT_REQ("name", schema_str), QT_REQ("meta-type", qt_schema_meta_type),
    QT_OPT("features", schema_str_list), { NULL },
};
static const struct schema_variant schema_info_variants[] = {
    { "builtin", &qt_schema_info_builtin },
    { "enum", &qt_schema_info_enum },
    { "array", &qt_schema_info_array },
    { "object", &qt_schema_info_object },
    { "alternate", &qt_schema_info_alternate },
    { "command", &qt_schema_info_command },
    { "event", &qt_schema_info_event },
    { NULL },
};
static const struct schema_type qt_schema_info = {
    .meta = SCHEMA_OBJECT, .name = "SchemaInfo",
    .members = schema_info_members, .tag = "meta-type",
    .variants = schema_info_variants,
};
QT_LIST(qt_schema_info_list, "SchemaInfoList", qt_schema_info);

/* ---- stats.json --------------------------------------------------------- */

QT_ENUM(qt_stats_target, "StatsTarget", "vm", "vcpu", "cryptodev");
QT_ENUM(qt_stats_provider, "StatsProvider", "kvm", "cryptodev");
QT_OBJECT(qt_stats_request, "StatsRequest",
          QT_REQ("provider", qt_stats_provider),
          QT_OPT("names", schema_str_list));
QT_LIST(qt_stats_request_list, "StatsRequestList", qt_stats_request);
static const struct schema_type *const stats_value_alternatives[] = {
    &schema_int, &schema_bool, &schema_int_list, NULL,
};
static const struct schema_type qt_stats_value = {
    .meta = SCHEMA_ALTERNATE, .name = "StatsValue",
    .alternatives = stats_value_alternatives,
};
QT_OBJECT(qt_stats, "Stats",
          QT_REQ("name", schema_str), QT_REQ("value", qt_stats_value));
QT_LIST(qt_stats_list, "StatsList", qt_stats);
QT_OBJECT(qt_stats_result, "StatsResult",
          QT_REQ("provider", qt_stats_provider),
          QT_OPT("qom-path", schema_str), QT_REQ("stats", qt_stats_list));
QT_LIST(qt_stats_result_list, "StatsResultList", qt_stats_result);
QT_ENUM(qt_stats_type, "StatsType", "cumulative", "instant", "peak",
        "linear-histogram", "log2-histogram");
QT_ENUM(qt_stats_unit, "StatsUnit", "bytes", "seconds", "cycles",
        "boolean");
QT_OBJECT(qt_stats_schema_value, "StatsSchemaValue",
          QT_REQ("name", schema_str), QT_REQ("type", qt_stats_type),
          QT_OPT("unit", qt_stats_unit), QT_OPT("base", schema_int),
          QT_REQ("exponent", schema_int), QT_OPT("bucket-size", schema_int));
QT_LIST(qt_stats_schema_value_list, "StatsSchemaValueList",
        qt_stats_schema_value);
QT_OBJECT(qt_stats_schema, "StatsSchema",
          QT_REQ("provider", qt_stats_provider),
          QT_REQ("target", qt_stats_target),
          QT_REQ("stats", qt_stats_schema_value_list));
QT_LIST(qt_stats_schema_list, "StatsSchemaList", qt_stats_schema);

/* ---- migration.json: dirty rate ---------------------------------------- */

QT_ENUM(qt_dirty_rate_status, "DirtyRateStatus",
        "unstarted", "measuring", "measured");
QT_ENUM(qt_dirty_rate_mode, "DirtyRateMeasureMode",
        "page-sampling", "dirty-ring", "dirty-bitmap");
QT_ENUM(qt_time_unit, "TimeUnit", "second", "millisecond");
QT_OBJECT(qt_dirty_rate_vcpu, "DirtyRateVcpu",
          QT_REQ("id", schema_int), QT_REQ("dirty-rate", schema_int));
QT_LIST(qt_dirty_rate_vcpu_list, "DirtyRateVcpuList", qt_dirty_rate_vcpu);
QT_OBJECT(qt_dirty_rate_info, "DirtyRateInfo",
          QT_OPT("dirty-rate", schema_int),
          QT_REQ("status", qt_dirty_rate_status),
          QT_REQ("start-time", schema_int), QT_REQ("calc-time", schema_int),
          QT_REQ("calc-time-unit", qt_time_unit),
          QT_REQ("sample-pages", schema_int),
          QT_REQ("mode", qt_dirty_rate_mode),
          QT_OPT("vcpu-dirty-rate", qt_dirty_rate_vcpu_list));

/* ---- migration.json: migration ------------------------------------------ */

QT_OBJECT(qt_migration_stats, "MigrationStats",
          QT_REQ("transferred", schema_int), QT_REQ("remaining", schema_int),
          QT_REQ("total", schema_int), QT_REQ("duplicate", schema_int),
          QT_REQ("normal", schema_int), QT_REQ("normal-bytes", schema_int),
          QT_REQ("dirty-pages-rate", schema_int),
          QT_REQ("mbps", schema_number),
          QT_REQ("dirty-sync-count", schema_int),
          QT_REQ("postcopy-requests", schema_int),
          QT_REQ("page-size", schema_int),
          QT_REQ("multifd-bytes", schema_int),
          QT_REQ("pages-per-second", schema_int),
          QT_REQ("precopy-bytes", schema_int),
          QT_REQ("downtime-bytes", schema_int),
          QT_REQ("postcopy-bytes", schema_int),
          QT_REQ("dirty-sync-missed-zero-copy", schema_int));
QT_OBJECT(qt_migration_info, "MigrationInfo",
          QT_OPT("status", machine_migration_status_type),
          QT_OPT("ram", qt_migration_stats),
          QT_OPT("total-time", schema_int),
          QT_OPT("expected-downtime", schema_int),
          QT_OPT("downtime", schema_int),
          QT_OPT("setup-time", schema_int),
          QT_OPT("cpu-throttle-percentage", schema_int),
          QT_OPT("error-desc", schema_str));
QT_ENUM(qt_mig_mode, "MigMode", "normal", "cpr-transfer");
QT_OBJECT(qt_migration_parameters, "MigrationParameters",
          QT_OPT("max-bandwidth", schema_int),
          QT_OPT("downtime-limit", schema_int),
          QT_OPT("throttle-trigger-threshold", schema_int),
          QT_OPT("cpu-throttle-initial", schema_int),
          QT_OPT("cpu-throttle-increment", schema_int),
          QT_OPT("cpu-throttle-tailslow", schema_bool),
          QT_OPT("max-cpu-throttle", schema_int),
          QT_OPT("x-stall-timeout", schema_int),
          QT_OPT("mode", qt_mig_mode));
QT_ENUM(qt_migration_capability, "MigrationCapability", "events",
        "auto-converge", "return-path");
QT_OBJECT(qt_migration_capability_status, "MigrationCapabilityStatus",
          QT_REQ("capability", qt_migration_capability),
          QT_REQ("state", schema_bool));
QT_LIST(qt_migration_capability_status_list, "MigrationCapabilityStatusList",
        qt_migration_capability_status);
