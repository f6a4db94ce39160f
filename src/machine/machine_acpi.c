/* DSDT assembly and the -dump-acpi writer. */
#include "machine/machine_acpi.h"

#include <cpuid.h>
#include <errno.h>
#include <sys/stat.h>

#include "acpi/aml.h"
#include "devices/ged.h"
#include "devices/memhp.h"
#include "devices/pm_regs.h"
#include "devices/serial.h"
#include "props.h"
#include "errors.h"
#include "hotmem/guest-abi.h"

#define POWER_BUTTON_PATH "\\_SB.PWRB"

/* The control-method power button (ACPI 6.5 section 4.8.2.2.1.3). */
static void build_power_button(struct aml *scope)
{
    struct aml *dev = aml_device("PWRB");

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0C0C")));
    aml_append(dev, aml_name_decl("_UID", aml_int(0)));
    aml_append(scope, dev);
}

static struct aml *build_dsdt_body(const struct machine_config *cfg)
{
    struct aml *body = aml_sequence();
    struct aml *sb = aml_scope("\\_SB");

    serial_build_aml(sb, "COM1", HOTMEM_COM1_PORT, HOTMEM_COM1_IRQ, 1);
    build_power_button(sb);
    ged_build_aml(sb, cfg->slots ? MEMHP_SCAN_METHOD : NULL,
                  POWER_BUTTON_PATH);
    memhp_build_aml(sb, cfg->slots);
    aml_append(body, sb);
    pm_regs_build_aml(body);
    return body;
}

struct acpi_memory machine_acpi_memory(const struct layout *l)
{
    return (struct acpi_memory){
        .ram_size = l->ram_size, .low_size = l->low_size,
        .high_base = LAYOUT_HIGHMEM_BASE, .slots = l->slots,
        .window_base = l->window_base, .window_size = l->window_size,
    };
}

bool machine_acpi_build(const struct machine_config *cfg,
                        const struct layout *layout, struct acpi_tables *out,
                        GError **err)
{
    struct aml *body = build_dsdt_body(cfg);
    struct acpi_numa_node implied = { .id = 0, .mem = layout->ram_size };
    struct acpi_config acfg = {
        .mem = machine_acpi_memory(layout),
        .cpus = cfg->smp,
        .cpu_node = cfg->cpu_node,
        .nr_nodes = cfg->nr_nodes,
        .nodes = cfg->nodes,
    };
    size_t len;
    const uint8_t *bytes = aml_data(body, &len);
    bool ok;

    /* With hot-plug slots and no -numa, one node is implied (SRAT). */
    if (cfg->nr_nodes == 0 && cfg->slots > 0) {
        acfg.nr_nodes = 1;
        acfg.nodes = &implied;
    }
    /* The window belongs to the last node, as QEMU does. */
    acfg.hotplug_node = acfg.nr_nodes ? acfg.nodes[acfg.nr_nodes - 1].id : 0;
    acfg.dsdt_body = bytes;
    acfg.dsdt_body_len = len;
    ok = acpi_tables_build(&acfg, ACPI_TABLES_ADDR, out, err);
    aml_free(body);
    return ok;
}

static unsigned host_phys_bits(void)
{
    unsigned a, b, c, d;

    if (__get_cpuid(0x80000008, &a, &b, &c, &d))
        return a & 0xff;
    return 36;
}

static bool write_tables(const struct acpi_tables *t, const char *dir,
                         GError **err)
{
    for (guint i = 0; i < t->tables->len; i++) {
        const struct acpi_table_blob *b =
            &g_array_index(t->tables, struct acpi_table_blob, i);
        g_autofree char *name = g_ascii_strdown(b->signature, -1);
        g_autofree char *file = g_strconcat(name, ".dat", NULL);
        g_autofree char *path = g_build_filename(dir, file, NULL);

        if (!g_file_set_contents(path, (const char *)t->data->data +
                                 b->offset, (gssize)b->len, err)) {
            g_prefix_error(err, "-dump-acpi: ");
            return false;
        }
    }
    return true;
}

/* The "size" of the -object with id, as the backend will read it. */
static bool object_size(const struct machine_config *cfg, const char *id,
                        uint64_t *size, GError **err)
{
    for (unsigned i = 0; i < cfg->nr_objects; i++) {
        json_object *o = cfg->objects[i], *v_id, *v;

        if (!json_object_object_get_ex(o, "id", &v_id) ||
            g_strcmp0(json_object_get_string(v_id), id) ||
            !json_object_object_get_ex(o, "size", &v))
            continue;
        return props_size(v, "size", size, err);
    }
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "-numa: memdev '%s' names no -object with a size", id);
    return false;
}

/* -numa memdev nodes take their size from their backends. */
static bool dump_node_sizes(const struct machine_config *cfg,
                            struct acpi_numa_node *nodes, GError **err)
{
    for (unsigned i = 0; i < cfg->nr_nodes; i++) {
        nodes[i] = cfg->nodes[i];
        if (cfg->node_memdev && cfg->node_memdev[i] &&
            !object_size(cfg, cfg->node_memdev[i], &nodes[i].mem, err))
            return false;
    }
    return true;
}

bool machine_acpi_dump(const struct machine_config *config, const char *dir,
                       GError **err)
{
    struct machine_config copy = *config, *cfg = &copy;
    g_autofree struct acpi_numa_node *nodes =
        g_new0(struct acpi_numa_node, config->nr_nodes + 1);
    struct layout layout;
    struct acpi_tables t = { 0 };
    unsigned bits;
    bool ok;

    if (!dump_node_sizes(config, nodes, err))
        return false;
    copy.nodes = nodes;

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "-dump-acpi %s: cannot create directory: %s", dir,
                    g_strerror(errno));
        return false;
    }
    if (!cpu_model_phys_bits(&cfg->cpu, host_phys_bits(), &bits, err) ||
        !layout_compute(&layout, cfg->ram_size, cfg->slots, cfg->maxmem,
                        bits, err))
        return false;
    ok = machine_acpi_build(cfg, &layout, &t, err) &&
         write_tables(&t, dir, err);
    acpi_tables_clear(&t);
    return ok;
}
