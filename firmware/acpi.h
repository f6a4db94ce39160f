/*
 * ACPI table check (ACPI 6.5 chapter 5): hotmem-guest follows the RSDP from
 * hvm_start_info to the XSDT, every table it lists and the FADT's DSDT,
 * verifies headers and checksums, and reads the MADT (CPUs) and the SRAT
 * (NUMA nodes, hot-pluggable memory). It reports on the console
 * (docs/guest-console.md, "ACPI"); a failure is a report, never a panic.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "boot.h"

/* Hot-pluggable ranges kept from the SRAT; more is reported as an error. */
#define ACPI_HOTPLUG_MAX 64

struct acpi_hotplug_range {
    uint64_t base;
    uint64_t size;
    uint32_t node;          /* proximity domain */
};

struct acpi_summary {
    bool ok;                /* every check passed ("acpi ok" was printed) */
    unsigned tables;        /* tables with a verified header and checksum */
    unsigned cpus;          /* enabled local APIC and x2APIC entries */
    unsigned nodes;         /* distinct proximity domains, 1 without SRAT */
    unsigned n_hotplug;
    struct acpi_hotplug_range hotplug[ACPI_HOTPLUG_MAX];
};

/*
 * Runs every check and prints "acpi none", "acpi error ..." lines, or
 * "acpi ok ..." followed by one "srat hotplug ..." line per enabled
 * hot-pluggable memory range. Fills *out (out->ok tells the verdict).
 */
void acpi_check(const struct boot_info *info, struct acpi_summary *out);

/*
 * The boot-time check: acpi_check(), then, when it passed and the SRAT has
 * hot-pluggable memory, narrows the lazily mapped device-memory window to
 * the span of those ranges and sets info->srat_hotplug.
 */
void acpi_boot(struct boot_info *info);

/*
 * Prints one "acpi table SIG addr=.. len=.." line per table reached (RSDP
 * first), plus the "acpi error ..." lines of any check that fails on the way.
 */
void acpi_list_tables(const struct boot_info *info);
