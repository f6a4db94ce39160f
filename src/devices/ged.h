/*
 * Generic Event Device (ACPI 6.5 section 5.6.9, _HID ACPI0013): the only
 * interrupt-signalled event source of a hardware-reduced platform. One 32-bit
 * read-and-clear event register in I/O space; each bit is one event source.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "bus.h"

#define GED_PORT            0x0b00      /* 4 bytes: event register */
#define GED_GSI             9           /* level, active high */
#define GED_EVENT_MEMORY    (1u << 0)   /* memory hot-plug: scan the slots */
#define GED_EVENT_POWER     (1u << 1)   /* power button pressed */

struct ged;

/* Drives the interrupt line; called with the GED's lock held. */
typedef void (*ged_irq_fn)(void *opaque, bool level);

struct ged *ged_create(struct bus *bus, ged_irq_fn set_irq, void *opaque,
                       GError **err);
void ged_destroy(struct ged *g);

/* Latches events and raises the interrupt. Thread-safe. */
void ged_raise(struct ged *g, uint32_t events);
/* Machine reset: events nobody read are dropped and the line goes low. */
void ged_reset(struct ged *g);

/* Migration: the latched events; setting them drives the line to match. */
uint32_t ged_pending(struct ged *g);
void ged_set_pending(struct ged *g, uint32_t events);

struct aml;
/*
 * Appends Device(GED0) to scope. Its _EVT calls memory_scan (a method path,
 * NULL when there is no memory hot-plug) and notifies power_button (a
 * device path) with 0x80 (ACPI 6.5 section 4.8.2.2.1.3).
 */
void ged_build_aml(struct aml *scope, const char *memory_scan,
                   const char *power_button);
