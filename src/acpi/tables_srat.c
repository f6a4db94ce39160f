/*
 * SRAT: System Resource Affinity Table (ACPI 6.5, 5.2.16). Puts every vCPU
 * and every byte of boot RAM in a proximity domain, and describes the DIMM
 * window as enabled, hot-pluggable memory so the OS reserves room for
 * memory that arrives later.
 */
#include <string.h>

#include "acpi/tables_writer.h"
#include "errors.h"

#define SRAT_REVISION               3
#define SRAT_TYPE_LOCAL_APIC        0   /* 5.2.16.1 */
#define SRAT_TYPE_MEMORY            1   /* 5.2.16.2 */
#define SRAT_TYPE_LOCAL_X2APIC      2   /* 5.2.16.3 */
#define SRAT_LOCAL_APIC_LEN         16
#define SRAT_MEMORY_LEN             40
#define SRAT_LOCAL_X2APIC_LEN       24
#define SRAT_CPU_ENABLED            (1u << 0)
#define SRAT_MEM_ENABLED            (1u << 0)
#define SRAT_MEM_HOT_PLUGGABLE      (1u << 1)

uint32_t acpi_cpu_node(const struct acpi_config *cfg, unsigned i)
{
    return cfg->cpu_node ? cfg->cpu_node[i] : 0;
}

bool acpi_srat_wanted(const struct acpi_config *cfg)
{
    return cfg->nr_nodes > 0 || cfg->mem.slots > 0;
}

/* Without explicit nodes there is one implied node 0 owning all RAM. */
static bool node_known(const struct acpi_config *cfg, uint32_t id)
{
    if (cfg->nr_nodes == 0)
        return id == 0;
    for (unsigned i = 0; i < cfg->nr_nodes; i++) {
        if (cfg->nodes[i].id == id)
            return true;
    }
    return false;
}

static bool check_nodes(const struct acpi_config *cfg, GError **err)
{
    uint64_t sum = 0;

    if (cfg->nr_nodes > ACPI_MAX_NODES) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "%u NUMA nodes given, at most %u are supported",
                    cfg->nr_nodes, ACPI_MAX_NODES);
        return false;
    }
    for (unsigned i = 0; i < cfg->nr_nodes; i++) {
        for (unsigned j = 0; j < i; j++) {
            if (cfg->nodes[j].id == cfg->nodes[i].id) {
                g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                            "NUMA node id %u appears twice",
                            cfg->nodes[i].id);
                return false;
            }
        }
        if (!g_uint64_checked_add(&sum, sum, cfg->nodes[i].mem))
            sum = UINT64_MAX;
    }
    if (cfg->nr_nodes && sum != cfg->mem.ram_size) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "NUMA node memory sums to 0x%" G_GINT64_MODIFIER "x, "
                    "but the RAM size is 0x%" G_GINT64_MODIFIER "x; the "
                    "nodes must share all boot RAM exactly", sum,
                    cfg->mem.ram_size);
        return false;
    }
    return true;
}

bool acpi_srat_check(const struct acpi_config *cfg, GError **err)
{
    if (!check_nodes(cfg, err))
        return false;
    for (unsigned i = 0; i < cfg->cpus; i++) {
        uint32_t node = acpi_cpu_node(cfg, i);

        if (!node_known(cfg, node)) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "vCPU %u is on NUMA node %u, which is not among "
                        "the %u configured nodes", i, node,
                        MAX(cfg->nr_nodes, 1u));
            return false;
        }
    }
    return true;
}

/* 5.2.16.1 Processor Local APIC/SAPIC Affinity Structure. */
static void srat_put_local_apic(GByteArray *t, uint8_t apic_id,
                                uint32_t node)
{
    acpi_put_u8(t, SRAT_TYPE_LOCAL_APIC);           /* Type */
    acpi_put_u8(t, SRAT_LOCAL_APIC_LEN);            /* Length */
    acpi_put_u8(t, node & 0xff);                    /* Proximity Domain
                                                       [7:0] */
    acpi_put_u8(t, apic_id);                        /* APIC ID */
    acpi_put_u32(t, SRAT_CPU_ENABLED);              /* Flags */
    acpi_put_u8(t, 0);                              /* Local SAPIC EID */
    acpi_put_u8(t, (node >> 8) & 0xff);             /* Proximity Domain */
    acpi_put_u8(t, (node >> 16) & 0xff);            /*   [31:8], */
    acpi_put_u8(t, (node >> 24) & 0xff);            /*   3 bytes */
    acpi_put_u32(t, 0);                             /* Clock Domain */
}

/* 5.2.16.3 Processor Local x2APIC Affinity Structure. */
static void srat_put_local_x2apic(GByteArray *t, uint32_t x2apic_id,
                                  uint32_t node)
{
    acpi_put_u8(t, SRAT_TYPE_LOCAL_X2APIC);         /* Type */
    acpi_put_u8(t, SRAT_LOCAL_X2APIC_LEN);          /* Length */
    acpi_put_u16(t, 0);                             /* Reserved */
    acpi_put_u32(t, node);                          /* Proximity Domain */
    acpi_put_u32(t, x2apic_id);                     /* X2APIC ID */
    acpi_put_u32(t, SRAT_CPU_ENABLED);              /* Flags */
    acpi_put_u32(t, 0);                             /* Clock Domain */
    acpi_put_u32(t, 0);                             /* Reserved */
}

/* 5.2.16.2 Memory Affinity Structure. */
static void srat_put_memory(GByteArray *t, uint64_t base, uint64_t len,
                            uint32_t node, uint32_t flags)
{
    acpi_put_u8(t, SRAT_TYPE_MEMORY);               /* Type */
    acpi_put_u8(t, SRAT_MEMORY_LEN);                /* Length */
    acpi_put_u32(t, node);                          /* Proximity Domain */
    acpi_put_u16(t, 0);                             /* Reserved */
    acpi_put_u32(t, base & 0xffffffffu);            /* Base Address Low */
    acpi_put_u32(t, base >> 32);                    /* Base Address High */
    acpi_put_u32(t, len & 0xffffffffu);             /* Length Low */
    acpi_put_u32(t, len >> 32);                     /* Length High */
    acpi_put_u32(t, 0);                             /* Reserved */
    acpi_put_u32(t, flags);                         /* Flags */
    acpi_put_u64(t, 0);                             /* Reserved */
}

/*
 * Boot RAM bytes [start, start + len), counted in RAM order, on node.
 * Boot RAM is [0, low_size) followed by [4 GiB, 4 GiB + high_size), so a
 * slice crossing the end of low RAM becomes two entries.
 */
static void srat_put_ram_slice(GByteArray *t, const struct acpi_memory *l,
                               uint64_t start, uint64_t len, uint32_t node)
{
    uint64_t end = start + len;

    if (len == 0)
        return;
    if (start < l->low_size)
        srat_put_memory(t, start, MIN(end, l->low_size) - start, node,
                        SRAT_MEM_ENABLED);
    if (end > l->low_size) {
        uint64_t high_start = MAX(start, l->low_size) - l->low_size;

        srat_put_memory(t, l->high_base + high_start,
                        end - l->low_size - high_start, node,
                        SRAT_MEM_ENABLED);
    }
}

static void srat_put_boot_ram(GByteArray *t, const struct acpi_config *cfg)
{
    const struct acpi_memory *l = &cfg->mem;
    uint64_t start = 0;

    if (cfg->nr_nodes == 0) {
        srat_put_ram_slice(t, l, 0, l->ram_size, 0);
        return;
    }
    for (unsigned i = 0; i < cfg->nr_nodes; i++) {
        srat_put_ram_slice(t, l, start, cfg->nodes[i].mem, cfg->nodes[i].id);
        start += cfg->nodes[i].mem;
    }
}

/* 5.2.16 System Resource Affinity Table; acpi_srat_check() passed. */
GByteArray *acpi_srat_build(const struct acpi_config *cfg)
{
    const struct acpi_memory *l = &cfg->mem;
    GByteArray *t = acpi_table_begin("SRAT", SRAT_REVISION);

    acpi_put_u32(t, 1);                             /* Reserved: 1 for
                                                       compatibility */
    acpi_put_u64(t, 0);                             /* Reserved */
    for (unsigned i = 0; i < cfg->cpus; i++) {
        if (i < ACPI_XAPIC_ID_LIMIT)
            srat_put_local_apic(t, i, acpi_cpu_node(cfg, i));
        else
            srat_put_local_x2apic(t, i, acpi_cpu_node(cfg, i));
    }
    srat_put_boot_ram(t, cfg);
    if (l->slots && l->window_size)
        srat_put_memory(t, l->window_base, l->window_size,
                        cfg->hotplug_node,
                        SRAT_MEM_ENABLED | SRAT_MEM_HOT_PLUGGABLE);
    acpi_table_finish(t);
    return t;
}
