/*
 * ACPI tables for a hardware-reduced x86 platform (ACPI 6.5): RSDP, XSDT,
 * FADT, MADT, SRAT and a DSDT whose body the machine builds from its
 * devices' AML. The tables are laid out in one blob meant to be copied to a
 * fixed guest-physical address; every pointer inside it is absolute.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* Fixed platform resources referenced by the tables (docs/acpi.md). */
#define ACPI_TABLES_ADDR        0xa0000ULL  /* in the reserved e820 range */
#define ACPI_TABLES_MAX         0x60000ULL  /* up to 1 MiB */
#define ACPI_IOAPIC_ID          0
#define ACPI_IOAPIC_ADDR        0xfec00000U
#define ACPI_LAPIC_ADDR         0xfee00000U
#define ACPI_SLEEP_CTL_PORT     0x0b04      /* FADT SLEEP_CONTROL_REG */
#define ACPI_SLEEP_STS_PORT     0x0b05      /* FADT SLEEP_STATUS_REG */
#define ACPI_RESET_PORT         0x0b06      /* FADT RESET_REG */
#define ACPI_RESET_VALUE        0x0f
#define ACPI_S5_SLP_TYP         5           /* _S5 package value */

#define ACPI_MAX_NODES          64

struct acpi_numa_node {
    uint32_t id;            /* proximity domain */
    uint64_t mem;           /* bytes of boot RAM on this node */
};

/*
 * Guest RAM and the DIMM window as SRAT describes them (docs/acpi.md): boot
 * RAM is [0, low_size) then [high_base, high_base + ram_size - low_size).
 */
struct acpi_memory {
    uint64_t ram_size;
    uint64_t low_size;
    uint64_t high_base;
    uint32_t slots;
    uint64_t window_base, window_size;
};

struct acpi_config {
    struct acpi_memory mem;
    unsigned cpus;
    /* APIC id of each vCPU is its index; node of each vCPU: */
    const uint32_t *cpu_node;       /* NULL: all on node 0 */
    unsigned nr_nodes;              /* 0: no SRAT unless slots > 0 */
    const struct acpi_numa_node *nodes;
    uint32_t hotplug_node;          /* proximity of the DIMM window */
    /* The DSDT body (definition block contents), AML bytes. */
    const uint8_t *dsdt_body;
    size_t dsdt_body_len;
};

struct acpi_table_blob {
    char signature[5];      /* "RSDP", "XSDT", "FACP", "APIC", "SRAT", ... */
    uint64_t addr;          /* guest-physical address */
    size_t offset;          /* offset in acpi_tables.data */
    size_t len;
};

struct acpi_tables {
    GByteArray *data;       /* everything, to copy at base */
    uint64_t base;          /* guest-physical address of data[0] */
    uint64_t rsdp_addr;
    GArray *tables;         /* struct acpi_table_blob, RSDP first */
};

/*
 * Builds every table at base. Fails when they would not fit in
 * ACPI_TABLES_MAX bytes or the configuration is inconsistent (node memory
 * not summing to the RAM size, a vCPU on an unknown node).
 */
bool acpi_tables_build(const struct acpi_config *cfg, uint64_t base,
                       struct acpi_tables *out, GError **err);
void acpi_tables_clear(struct acpi_tables *t);

/* Sets the checksum byte so the 8-bit sum of data[0..len) is zero. */
void acpi_checksum_fix(uint8_t *data, size_t len, size_t checksum_offset);
uint8_t acpi_checksum(const uint8_t *data, size_t len);
