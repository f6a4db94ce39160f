/*
 * Interrupt routing for the serial port and the Generic Event Device: legacy
 * 8259 PICs masked, the I/O APIC delivering a pin to the boot CPU's local
 * APIC. All from ring 3 through the identity-mapped, cache-disabled APIC
 * pages (paging.c).
 */
#pragma once

#include <stdint.h>

void pic_mask_all(void);

/* Software-enables the local APIC with the given spurious vector. */
void lapic_enable(uint8_t spurious_vector);

uint8_t lapic_id(void);

/* Routes I/O APIC input pin to vector: fixed, edge, active high, physical. */
void ioapic_route(unsigned pin, uint8_t vector, uint8_t dest_apic_id);

/* The same, level-triggered, active high (the GED's GSI, docs/acpi.md). */
void ioapic_route_level(unsigned pin, uint8_t vector, uint8_t dest_apic_id);
