/*
 * Internal to the ACPI check: byte readers, the error line, and the parsers
 * of the tables whose contents matter to the guest (acpi_tables.c: MADT and
 * SRAT). acpi.c finds and verifies the tables first, so the parsers get a
 * table whose length is sane, whose bytes are mapped and whose checksum holds.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "acpi.h"

/* System Description Table Header, ACPI 6.5 5.2.6. */
#define ACPI_HEADER_LEN         36
#define ACPI_HEADER_OFF_LENGTH  4

/*
 * Longest table the guest accepts. A corrupt length must not send the
 * checksum loop through gigabytes (or off the identity map).
 */
#define ACPI_TABLE_MAX_LEN      0x100000

/* A table that passed acpi.c's checks. */
struct acpi_table {
    uint64_t addr;
    uint32_t len;
    const uint8_t *bytes;   /* identity map: bytes == (const uint8_t *)addr */
    char sig[5];            /* printable copy of the signature */
};

/* ACPI is little-endian (ACPI 6.5 5.2); fields are often unaligned. */
static inline uint32_t acpi_read32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t acpi_read64(const uint8_t *p)
{
    return (uint64_t)acpi_read32(p) | (uint64_t)acpi_read32(p + 4) << 32;
}

/* Prints "acpi error " and the formatted text as one console line. */
void acpi_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * MADT (ACPI 6.5 5.2.12): counts the enabled Processor Local APIC and
 * Processor Local x2APIC entries. Returns false after printing why the
 * entry list is malformed.
 */
bool acpi_madt_count_cpus(const struct acpi_table *madt, unsigned *cpus);

/*
 * SRAT (ACPI 6.5 5.2.16): sets s->nodes to the number of distinct proximity
 * domains of the enabled affinity entries and keeps the enabled
 * hot-pluggable memory ranges in s->hotplug, in table order. Returns false
 * after printing why the table is malformed or exceeds the guest's limits.
 */
bool acpi_srat_parse(const struct acpi_table *srat, struct acpi_summary *s);
