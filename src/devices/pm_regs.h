/*
 * Hardware-reduced power-management registers (ACPI 6.5 section 4.8.3.7,
 * "Sleep Control and Status Registers", and 4.8.3.6 the reset register):
 * the FADT points the guest at these three byte-wide I/O ports.
 */
#pragma once

#include <glib.h>

#include "bus.h"

enum pm_request { PM_REQUEST_POWEROFF, PM_REQUEST_RESET };
typedef void (*pm_request_fn)(void *opaque, enum pm_request req);

struct pm_regs;

/* Ports and values come from acpi/tables.h (ACPI_SLEEP_CTL_PORT, ...). */
struct pm_regs *pm_regs_create(struct bus *bus, pm_request_fn fn,
                               void *opaque, GError **err);
void pm_regs_destroy(struct pm_regs *p);

struct aml;
/* Appends Name(_S5, Package { SLP_TYP, 0 }) to scope (section 7.4.2). */
void pm_regs_build_aml(struct aml *scope);
