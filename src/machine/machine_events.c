/* The machine's events and the QAPI types of their data. */
#include "machine/machine_events.h"

#include <stddef.h>

static const char *const shutdown_cause_values[] = {
    "none", "host-error", "host-qmp-quit", "host-qmp-system-reset",
    "host-signal", "host-ui", "guest-shutdown", "guest-reset",
    "guest-panic", "subsystem-reset", "snapshot-load", NULL,
};
static const struct schema_type shutdown_cause_type = {
    .meta = SCHEMA_ENUM, .name = "ShutdownCause",
    .values = shutdown_cause_values,
};

/* QEMU's RunState values; hotmem enters prelaunch, running, paused and
 * shutdown (machine_run_state_name()). */
static const char *const run_state_values[] = {
    "debug", "inmigrate", "internal-error", "io-error", "paused",
    "postmigrate", "prelaunch", "finish-migrate", "restore-vm", "running",
    "save-vm", "shutdown", "suspended", "watchdog", "guest-panicked",
    "colo", NULL,
};
const struct schema_type machine_run_state_type = {
    .meta = SCHEMA_ENUM, .name = "RunState", .values = run_state_values,
};

static const char *const acpi_slot_type_values[] = { "DIMM", "CPU", NULL };
static const struct schema_type acpi_slot_type_type = {
    .meta = SCHEMA_ENUM, .name = "ACPISlotType",
    .values = acpi_slot_type_values,
};

static const struct schema_member acpi_ost_info_members[] = {
    { "device", &schema_str, true },
    { "slot", &schema_str, false },
    { "slot-type", &acpi_slot_type_type, false },
    { "source", &schema_int, false },
    { "status", &schema_int, false },
    { NULL },
};
const struct schema_type machine_acpi_ost_info_type = {
    .meta = SCHEMA_OBJECT, .name = "ACPIOSTInfo",
    .members = acpi_ost_info_members,
};

static const struct schema_member shutdown_members[] = {
    { "guest", &schema_bool, false },
    { "reason", &shutdown_cause_type, false },
    { NULL },
};
static const struct schema_type shutdown_data = {
    .meta = SCHEMA_OBJECT, .name = "q_obj_SHUTDOWN-arg",
    .members = shutdown_members,
};

static const struct schema_type reset_data = {
    .meta = SCHEMA_OBJECT, .name = "q_obj_RESET-arg",
    .members = shutdown_members,
};

static const struct schema_member ost_members[] = {
    { "info", &machine_acpi_ost_info_type, false }, { NULL },
};
static const struct schema_type ost_data = {
    .meta = SCHEMA_OBJECT, .name = "q_obj_ACPI_DEVICE_OST-arg",
    .members = ost_members,
};

/* DEVICE_DELETED and DEVICE_UNPLUG_GUEST_ERROR: the device's id, if it
 * has one, and its QOM path. */
static const struct schema_member device_members[] = {
    { "device", &schema_str, true },
    { "path", &schema_str, false },
    { NULL },
};
static const struct schema_type device_data = {
    .meta = SCHEMA_OBJECT, .name = "q_obj_DEVICE_DELETED-arg",
    .members = device_members,
};

/* QEMU's MigrationStatus values; hotmem enters setup, active, completed
 * and failed (docs/migration.md). */
static const char *const migration_status_values[] = {
    "none", "setup", "cancelling", "cancelled", "active", "postcopy-active",
    "postcopy-paused", "postcopy-recover-setup", "postcopy-recover",
    "completed", "failed", "colo", "pre-switchover", "device", "wait-unplug",
    NULL,
};
const struct schema_type machine_migration_status_type = {
    .meta = SCHEMA_ENUM, .name = "MigrationStatus",
    .values = migration_status_values,
};

static const struct schema_member migration_members[] = {
    { "status", &machine_migration_status_type, false }, { NULL },
};
static const struct schema_type migration_data = {
    .meta = SCHEMA_OBJECT, .name = "q_obj_MIGRATION-arg",
    .members = migration_members,
};

const struct machine_event_info machine_events[MACHINE_EVENT_COUNT] = {
    [MACHINE_EVENT_SHUTDOWN] = { "SHUTDOWN", &shutdown_data },
    [MACHINE_EVENT_POWERDOWN] = { "POWERDOWN", &schema_empty },
    [MACHINE_EVENT_RESET] = { "RESET", &reset_data },
    [MACHINE_EVENT_STOP] = { "STOP", &schema_empty },
    [MACHINE_EVENT_RESUME] = { "RESUME", &schema_empty },
    [MACHINE_EVENT_ACPI_DEVICE_OST] = { "ACPI_DEVICE_OST", &ost_data },
    [MACHINE_EVENT_DEVICE_DELETED] = { "DEVICE_DELETED", &device_data },
    [MACHINE_EVENT_DEVICE_UNPLUG_GUEST_ERROR] = {
        "DEVICE_UNPLUG_GUEST_ERROR", &device_data },
    [MACHINE_EVENT_MIGRATION] = { "MIGRATION", &migration_data },
};
