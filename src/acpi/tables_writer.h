/*
 * Internal to the ACPI table builders (src/acpi/tables*.c): a little-endian
 * append writer over a GByteArray, the common table header, and the
 * builders that live in their own files. Not for use outside src/acpi/.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "acpi/tables.h"

/* Every ACPI value is little-endian (ACPI 6.5, 5.2 "ACPI System
 * Description Tables": all numeric values are little-endian). */
void acpi_put_u8(GByteArray *t, uint8_t v);
void acpi_put_u16(GByteArray *t, uint16_t v);
void acpi_put_u32(GByteArray *t, uint32_t v);
void acpi_put_u64(GByteArray *t, uint64_t v);
/* Writes exactly width bytes: s, then zeros (no terminator when full). */
void acpi_put_chars(GByteArray *t, const char *s, size_t width);
void acpi_put_zeros(GByteArray *t, size_t n);
void acpi_set_u32(GByteArray *t, size_t offset, uint32_t v);

/* Starts a table with the common header (5.2.6); Length and Checksum are
 * left zero until acpi_table_finish() patches them. */
GByteArray *acpi_table_begin(const char *signature, uint8_t revision);
void acpi_table_finish(GByteArray *t);

/* SRAT (tables_srat.c). */
bool acpi_srat_check(const struct acpi_config *cfg, GError **err);
bool acpi_srat_wanted(const struct acpi_config *cfg);
GByteArray *acpi_srat_build(const struct acpi_config *cfg);
/* Node of vCPU i (cfg->cpu_node, or 0 when that is NULL). */
uint32_t acpi_cpu_node(const struct acpi_config *cfg, unsigned i);

/* APIC ids from 0xff up need x2APIC structures (5.2.12.12, 5.2.16.3):
 * 0xff is the xAPIC broadcast id and cannot name a processor. */
#define ACPI_XAPIC_ID_LIMIT 0xff
