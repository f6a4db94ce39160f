/*
 * The monitor events the machine sends: one table, read by the emitter
 * (machine_emit() takes an index into it, so only events listed here can
 * go out) and by the monitor (query-qmp-schema describes each event's data
 * from the same entry; query-events lists the names). Names and data
 * shapes are QEMU's (qapi/run-state.json, qapi/acpi.json,
 * qapi/qdev.json, qapi/migration.json); docs/qmp.md "Events".
 */
#pragma once

#include "schema.h"

enum machine_event {
    MACHINE_EVENT_SHUTDOWN,
    MACHINE_EVENT_POWERDOWN,
    MACHINE_EVENT_RESET,
    MACHINE_EVENT_STOP,
    MACHINE_EVENT_RESUME,
    MACHINE_EVENT_ACPI_DEVICE_OST,
    MACHINE_EVENT_DEVICE_DELETED,
    MACHINE_EVENT_DEVICE_UNPLUG_GUEST_ERROR,
    MACHINE_EVENT_MIGRATION,
    MACHINE_EVENT_COUNT,
};

struct machine_event_info {
    const char *name;
    /* The "data" member: an object type (schema_empty: no "data"). */
    const struct schema_type *data;
};

extern const struct machine_event_info machine_events[MACHINE_EVENT_COUNT];

/* Types the events share with query results. */
extern const struct schema_type machine_acpi_ost_info_type;    /* ACPIOSTInfo */
extern const struct schema_type machine_run_state_type;        /* RunState */
extern const struct schema_type machine_migration_status_type; /* MigrationStatus */
