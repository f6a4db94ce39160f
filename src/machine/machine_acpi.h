/*
 * The ACPI tables of a machine configuration: the DSDT assembled from each
 * device's AML, then every table (acpi/tables.h). Used when the machine is
 * built and by -dump-acpi, which needs no KVM.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "acpi/tables.h"
#include "machine/machine.h"
#include "mmu/layout.h"

/* The layout as the ACPI tables describe it. */
struct acpi_memory machine_acpi_memory(const struct layout *l);

bool machine_acpi_build(const struct machine_config *cfg,
                        const struct layout *layout, struct acpi_tables *out,
                        GError **err);

/*
 * -dump-acpi: computes the layout with the host's physical address width and
 * writes every table to dir/<signature in lower case>.dat.
 */
bool machine_acpi_dump(const struct machine_config *cfg, const char *dir,
                       GError **err);
