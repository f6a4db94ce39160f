/*
 * ACPI tables (src/acpi/tables.c): layout, checksums, and every field the
 * guest relies on, for a set of machine shapes; then, when iasl is
 * installed, the reference disassembler must read each table cleanly.
 */
#include <string.h>
#include <sys/wait.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "acpi/tables.h"
#include "machine/machine_acpi.h"
#include "errors.h"
#include "mmu/layout.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

#define PHYS_BITS   46
#define MAX_CPUS    300
#define MAX_MEM     6

/* Name(TEST, 1): NameOp, NameSeg, OneOp. */
static const uint8_t dsdt_body[] = { 0x08, 'T', 'E', 'S', 'T', 0x01 };

struct mem_entry {
    uint64_t base, len;
    uint32_t node, flags;       /* flags: 1 enabled, 3 enabled+hotplug */
};

struct tcase {
    const char *name;
    uint64_t ram;
    uint32_t slots;
    uint64_t maxmem;
    unsigned cpus;
    unsigned nr_nodes;
    struct acpi_numa_node nodes[3];
    /* vCPU i is on cpu_nodes[i * nr_cpu_nodes / cpus]; none: cpu_node NULL */
    unsigned nr_cpu_nodes;
    uint32_t cpu_nodes[3];
    uint32_t hotplug_node;
    bool has_srat;
    unsigned nr_mem;            /* expected SRAT memory entries, in order */
    struct mem_entry mem[MAX_MEM];
};

static const struct tcase cases[] = {
    { .name = "1cpu-256M", .ram = 256 * MiB, .cpus = 1 },
    { .name = "4cpu-512M-slots4", .ram = 512 * MiB, .slots = 4,
      .maxmem = 8 * GiB, .cpus = 4, .has_srat = true, .nr_mem = 2,
      /* window: 1 GiB aligned 7.5 GiB hot-pluggable + 4 slots x 1 GiB */
      .mem = { { 0, 512 * MiB, 0, 1 }, { 4 * GiB, 12 * GiB, 0, 3 } } },
    { .name = "4cpu-1G-slots256-1T", .ram = GiB, .slots = 256,
      .maxmem = TiB, .cpus = 4, .has_srat = true, .nr_mem = 2,
      .mem = { { 0, GiB, 0, 1 }, { 4 * GiB, 1023 * GiB + 256 * GiB, 0, 3 } } },
    { .name = "numa-split-hole", .ram = 6 * GiB, .slots = 2,
      .maxmem = 8 * GiB, .cpus = 4, .nr_nodes = 2,
      .nodes = { { 0, 2 * GiB }, { 1, 4 * GiB } },
      .nr_cpu_nodes = 2, .cpu_nodes = { 0, 1 }, .hotplug_node = 1,
      .has_srat = true, .nr_mem = 4,
      .mem = { { 0, 2 * GiB, 0, 1 }, { 2 * GiB, GiB, 1, 1 },
               { 4 * GiB, 3 * GiB, 1, 1 }, { 7 * GiB, 4 * GiB, 1, 3 } } },
    { .name = "numa-3-nodes-no-slots", .ram = 4 * GiB, .cpus = 3,
      .nr_nodes = 3, .nodes = { { 0, GiB }, { 1, 2 * GiB }, { 2, GiB } },
      .nr_cpu_nodes = 3, .cpu_nodes = { 0, 1, 2 }, .has_srat = true,
      .nr_mem = 3,
      .mem = { { 0, GiB, 0, 1 }, { GiB, 2 * GiB, 1, 1 },
               { 4 * GiB, GiB, 2, 1 } } },
    { .name = "numa-wide-pxm", .ram = 2 * GiB, .cpus = 2, .nr_nodes = 2,
      .nodes = { { 5, GiB }, { 0x01020304, GiB } }, .nr_cpu_nodes = 2,
      .cpu_nodes = { 5, 0x01020304 }, .has_srat = true, .nr_mem = 2,
      .mem = { { 0, GiB, 5, 1 }, { GiB, GiB, 0x01020304, 1 } } },
    { .name = "300cpu-x2apic", .ram = GiB, .slots = 1, .maxmem = 2 * GiB,
      .cpus = 300, .has_srat = true, .nr_mem = 2,
      .mem = { { 0, GiB, 0, 1 }, { 4 * GiB, 2 * GiB, 0, 3 } } },
};

struct env {
    struct layout layout;
    uint32_t cpu_node[MAX_CPUS];
    struct acpi_config cfg;
    struct acpi_tables t;
};

/* Little-endian reads of table fields. */
static uint16_t rd16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
    return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void env_config(struct env *e, const struct tcase *c)
{
    GError *err = NULL;

    memset(e, 0, sizeof(*e));
    g_assert_true(layout_compute(&e->layout, c->ram, c->slots, c->maxmem,
                                 PHYS_BITS, &err));
    g_assert_no_error(err);
    e->cfg = (struct acpi_config){
        .mem = machine_acpi_memory(&e->layout), .cpus = c->cpus, .nr_nodes = c->nr_nodes,
        .nodes = c->nodes, .hotplug_node = c->hotplug_node,
        .dsdt_body = dsdt_body, .dsdt_body_len = sizeof(dsdt_body),
    };
    if (c->nr_cpu_nodes) {
        for (unsigned i = 0; i < c->cpus; i++)
            e->cpu_node[i] = c->cpu_nodes[i * c->nr_cpu_nodes / c->cpus];
        e->cfg.cpu_node = e->cpu_node;
    }
}

static void env_build(struct env *e, const struct tcase *c)
{
    GError *err = NULL;

    env_config(e, c);
    g_assert_true(acpi_tables_build(&e->cfg, ACPI_TABLES_ADDR, &e->t, &err));
    g_assert_no_error(err);
    g_assert_nonnull(e->t.data);
}

/* The table with signature sig, or NULL. */
static const uint8_t *find_table(const struct acpi_tables *t, const char *sig,
                                 const struct acpi_table_blob **blob)
{
    for (unsigned i = 0; t->tables && i < t->tables->len; i++) {
        const struct acpi_table_blob *b =
            &g_array_index(t->tables, struct acpi_table_blob, i);

        if (strcmp(b->signature, sig) == 0) {
            if (blob)
                *blob = b;
            return t->data->data + b->offset;
        }
    }
    return NULL;
}

static const uint8_t *table_or_fail(const struct env *e, const char *sig)
{
    const uint8_t *p = find_table(&e->t, sig, NULL);

    if (!p) {
        g_test_message("no %s table", sig);
        g_test_fail();
    }
    return p;
}

/* 5.2.6 header fields shared by every table but the RSDP. */
static void check_header(const struct acpi_table_blob *b, const uint8_t *p)
{
    g_assert_cmpmem(p, 4, b->signature, 4);
    g_assert_cmpuint(rd32(p + 4), ==, b->len);
    g_assert_cmpmem(p + 10, 6, "HOTMEM", 6);
    g_assert_cmpmem(p + 16, 8, "HOTMEMVM", 8);
    g_assert_cmpuint(rd32(p + 24), ==, 1);
    g_assert_cmpmem(p + 28, 4, "HTMM", 4);
    g_assert_cmpuint(rd32(p + 32), ==, 1);
}

static void test_layout_checksums(gconstpointer data)
{
    const struct tcase *c = data;
    static const char *const order[] = { "RSDP", "XSDT", "FACP", "APIC",
                                         "SRAT", "DSDT" };
    struct env e;
    unsigned n = 0;
    size_t end = 0;

    env_build(&e, c);
    g_assert_cmpuint(e.t.base, ==, ACPI_TABLES_ADDR);
    g_assert_cmpuint(e.t.tables->len, ==, c->has_srat ? 6 : 5);
    for (unsigned i = 0; i < G_N_ELEMENTS(order); i++) {
        const struct acpi_table_blob *b;

        if (strcmp(order[i], "SRAT") == 0 && !c->has_srat)
            continue;
        b = &g_array_index(e.t.tables, struct acpi_table_blob, n++);
        g_assert_cmpstr(b->signature, ==, order[i]);
        g_assert_cmpuint(b->addr, ==, e.t.base + b->offset);
        g_assert_cmpuint(b->addr % (i == 0 ? 16 : 8), ==, 0);
        g_assert_cmpuint(b->offset, >=, end);
        end = b->offset + b->len;
        g_assert_cmpuint(end, <=, e.t.data->len);
        g_assert_cmpuint(acpi_checksum(e.t.data->data + b->offset, b->len),
                         ==, 0);
        if (i != 0)
            check_header(b, e.t.data->data + b->offset);
    }
    g_assert_cmpuint(end, ==, e.t.data->len);
    g_assert_cmpuint(e.t.data->len, <=, ACPI_TABLES_MAX);
    acpi_tables_clear(&e.t);
    g_assert_null(e.t.data);
    g_assert_null(e.t.tables);
}

static void test_rsdp_xsdt(gconstpointer data)
{
    const struct tcase *c = data;
    const char *const want[] = { "FACP", "APIC", "SRAT" };
    const struct acpi_table_blob *xb, *b;
    const uint8_t *r, *x;
    struct env e;

    env_build(&e, c);
    g_assert_cmpuint(e.t.rsdp_addr, ==, ACPI_TABLES_ADDR);
    r = table_or_fail(&e, "RSDP");
    x = find_table(&e.t, "XSDT", &xb);
    if (!r || !x)
        goto out;
    g_assert_cmpmem(r, 8, "RSD PTR ", 8);
    g_assert_cmpuint(acpi_checksum(r, 20), ==, 0);
    g_assert_cmpuint(acpi_checksum(r, 36), ==, 0);
    g_assert_cmpmem(r + 9, 6, "HOTMEM", 6);
    g_assert_cmpuint(r[15], ==, 2);                 /* Revision */
    g_assert_cmpuint(rd32(r + 16), ==, 0);          /* RsdtAddress */
    g_assert_cmpuint(rd32(r + 20), ==, 36);         /* Length */
    g_assert_cmpuint(rd64(r + 24), ==, xb->addr);   /* XsdtAddress */
    g_assert_cmpuint(x[8], ==, 1);
    g_assert_cmpuint(xb->len, ==, 36 + 8 * (c->has_srat ? 3 : 2));
    for (unsigned i = 0; i < (xb->len - 36) / 8; i++) {
        g_assert_nonnull(find_table(&e.t, want[i], &b));
        g_assert_cmpuint(rd64(x + 36 + 8 * i), ==, b->addr);
    }
out:
    acpi_tables_clear(&e.t);
}

static void test_fadt(gconstpointer data)
{
    static const uint8_t zero[96];
    const struct acpi_table_blob *db;
    const uint8_t *f;
    struct env e;

    env_build(&e, data);
    f = table_or_fail(&e, "FACP");
    if (!f || !find_table(&e.t, "DSDT", &db))
        goto out;
    g_assert_cmpuint(rd32(f + 4), ==, 276);
    g_assert_cmpuint(f[8], ==, 6);                  /* Revision */
    g_assert_cmpuint(f[131], ==, 5);                /* Minor Version */
    g_assert_cmpuint(rd32(f + 36), ==, 0);          /* FIRMWARE_CTRL */
    g_assert_cmpuint(rd32(f + 40), ==, 0);          /* DSDT */
    g_assert_cmpuint(rd16(f + 46), ==, 0);          /* SCI_INT */
    g_assert_cmpmem(f + 56, 40, zero, 40);          /* PM1/PM2/TMR/GPE */
    g_assert_cmpuint(rd16(f + 109), ==, (1 << 2) | (1 << 5));
    g_assert_cmpuint(rd32(f + 112), ==,
                     (1 << 20) | (1 << 10) | (1 << 5) | (1 << 4));
    /* RESET_REG: SystemIO, 8 bits, offset 0, byte access */
    g_assert_cmpmem(f + 116, 4, "\x01\x08\x00\x01", 4);
    g_assert_cmpuint(rd64(f + 120), ==, ACPI_RESET_PORT);
    g_assert_cmpuint(f[128], ==, ACPI_RESET_VALUE);
    g_assert_cmpuint(rd64(f + 132), ==, 0);         /* X_FIRMWARE_CTRL */
    g_assert_cmpuint(rd64(f + 140), ==, db->addr);  /* X_DSDT */
    g_assert_cmpmem(f + 148, 96, zero, 96);         /* X_PM1a.. X_GPE1 */
    g_assert_cmpmem(f + 244, 4, "\x01\x08\x00\x01", 4);
    g_assert_cmpuint(rd64(f + 248), ==, ACPI_SLEEP_CTL_PORT);
    g_assert_cmpmem(f + 256, 4, "\x01\x08\x00\x01", 4);
    g_assert_cmpuint(rd64(f + 260), ==, ACPI_SLEEP_STS_PORT);
    g_assert_cmpmem(f + 268, 8, "HOTMEM\0\0", 8);
    /* The DSDT is the header plus the body, verbatim. */
    g_assert_cmpuint(db->len, ==, 36 + sizeof(dsdt_body));
    g_assert_cmpmem(e.t.data->data + db->offset + 36, sizeof(dsdt_body),
                    dsdt_body, sizeof(dsdt_body));
    g_assert_cmpuint(e.t.data->data[db->offset + 8], ==, 2);
out:
    acpi_tables_clear(&e.t);
}

/* Checks MADT entry p for vCPU i: xAPIC below id 255, x2APIC from there. */
static void check_madt_cpu(const uint8_t *p, unsigned i)
{
    if (i < 255) {
        g_assert_cmpuint(p[0], ==, 0);
        g_assert_cmpuint(p[1], ==, 8);
        g_assert_cmpuint(p[2], ==, i);              /* UID */
        g_assert_cmpuint(p[3], ==, i);              /* APIC ID */
        g_assert_cmpuint(rd32(p + 4), ==, 1);       /* Enabled */
    } else {
        g_assert_cmpuint(p[0], ==, 9);
        g_assert_cmpuint(p[1], ==, 16);
        g_assert_cmpuint(rd32(p + 4), ==, i);       /* X2APIC ID */
        g_assert_cmpuint(rd32(p + 8), ==, 1);       /* Enabled */
        g_assert_cmpuint(rd32(p + 12), ==, i);      /* UID */
    }
}

static void test_madt(gconstpointer data)
{
    const struct tcase *c = data;
    const uint8_t *m, *p, *end;
    unsigned cpu = 0, ioapic = 0, iso = 0;
    struct env e;

    env_build(&e, c);
    m = table_or_fail(&e, "APIC");
    if (!m)
        goto out;
    g_assert_cmpuint(m[8], ==, 5);
    g_assert_cmpuint(rd32(m + 36), ==, ACPI_LAPIC_ADDR);
    g_assert_cmpuint(rd32(m + 40), ==, 1);          /* PCAT_COMPAT */
    end = m + rd32(m + 4);
    for (p = m + 44; p < end && p[1]; p += p[1]) {
        if (p[0] == 0 || p[0] == 9) {
            check_madt_cpu(p, cpu++);
        } else if (p[0] == 1) {
            ioapic++;
            g_assert_cmpuint(p[1], ==, 12);
            g_assert_cmpuint(p[2], ==, ACPI_IOAPIC_ID);
            g_assert_cmpuint(rd32(p + 4), ==, ACPI_IOAPIC_ADDR);
            g_assert_cmpuint(rd32(p + 8), ==, 0);   /* GSI base */
        } else if (p[0] == 2) {
            iso++;
            g_assert_cmpmem(p, 4, "\x02\x0a\x00\x00", 4); /* bus 0, IRQ 0 */
            g_assert_cmpuint(rd32(p + 4), ==, 2);   /* GSI */
            g_assert_cmpuint(rd16(p + 8), ==, 0);   /* Flags */
        } else {
            g_test_message("unexpected MADT entry type %u", p[0]);
            g_test_fail();
        }
    }
    g_assert_true(p == end);
    g_assert_cmpuint(cpu, ==, c->cpus);
    g_assert_cmpuint(ioapic, ==, 1);
    g_assert_cmpuint(iso, ==, 1);
out:
    acpi_tables_clear(&e.t);
}

static void check_srat_cpu(const struct env *e, const uint8_t *p, unsigned i)
{
    uint32_t node = e->cfg.cpu_node ? e->cfg.cpu_node[i] : 0;

    if (i < 255) {
        g_assert_cmpuint(p[0], ==, 0);
        g_assert_cmpuint(p[1], ==, 16);
        g_assert_cmpuint(p[3], ==, i);              /* APIC ID */
        g_assert_cmpuint(rd32(p + 4), ==, 1);       /* Enabled */
        g_assert_cmpuint(p[2] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
                         (uint32_t)p[11] << 24, ==, node);
    } else {
        g_assert_cmpuint(p[0], ==, 2);
        g_assert_cmpuint(p[1], ==, 24);
        g_assert_cmpuint(rd32(p + 4), ==, node);
        g_assert_cmpuint(rd32(p + 8), ==, i);       /* X2APIC ID */
        g_assert_cmpuint(rd32(p + 12), ==, 1);      /* Enabled */
    }
}

static void check_srat_mem(const uint8_t *p, const struct mem_entry *want)
{
    g_assert_cmpuint(p[1], ==, 40);
    g_assert_cmpuint(rd32(p + 2), ==, want->node);
    g_assert_cmpuint(rd64(p + 8), ==, want->base);
    g_assert_cmpuint(rd64(p + 16), ==, want->len);
    g_assert_cmpuint(rd32(p + 28), ==, want->flags);
}

static void test_srat(gconstpointer data)
{
    static const uint8_t zero[8];
    const struct tcase *c = data;
    const uint8_t *s, *p, *end;
    unsigned cpu = 0, mem = 0;
    struct env e;

    env_build(&e, c);
    s = find_table(&e.t, "SRAT", NULL);
    g_assert_true(!s == !c->has_srat);
    if (!s)
        goto out;
    g_assert_cmpuint(s[8], ==, 3);
    g_assert_cmpuint(rd32(s + 36), ==, 1);          /* Reserved: 1 */
    g_assert_cmpmem(s + 40, 8, zero, 8);
    end = s + rd32(s + 4);
    for (p = s + 48; p < end && p[1]; p += p[1]) {
        if (p[0] == 0 || p[0] == 2) {
            g_assert_cmpuint(mem, ==, 0);           /* CPUs come first */
            check_srat_cpu(&e, p, cpu++);
        } else if (p[0] == 1 && mem < c->nr_mem) {
            check_srat_mem(p, &c->mem[mem++]);
        } else {
            g_test_message("unexpected SRAT entry type %u (memory entry "
                           "%u of %u)", p[0], mem, c->nr_mem);
            g_test_fail();
        }
    }
    g_assert_true(p == end);
    g_assert_cmpuint(cpu, ==, c->cpus);
    g_assert_cmpuint(mem, ==, c->nr_mem);
out:
    acpi_tables_clear(&e.t);
}

/* --- iasl --- */

/* Lines of the disassembly that report problems; true when none is an
 * error. Warnings are shown but do not fail the test. */
static bool dsl_clean(const char *sig, const char *dsl)
{
    g_auto(GStrv) lines = g_strsplit(dsl, "\n", -1);
    bool ok = true;

    for (char **l = lines; *l; l++) {
        if (strstr(*l, "Error") || strstr(*l, "Warning"))
            g_test_message("%s: %s", sig, *l);
        if (strstr(*l, "Error"))
            ok = false;
    }
    return ok;
}

/* Runs iasl -d on dir/stem.dat; true when it succeeds without errors. */
static bool iasl_disassembles(const char *dir, const char *sig,
                              const char *stem)
{
    g_autofree char *dat = g_strconcat(stem, ".dat", NULL);
    g_autofree char *dsl_name = g_strconcat(stem, ".dsl", NULL);
    g_autofree char *dsl_path = g_build_filename(dir, dsl_name, NULL);
    g_autofree char *out = NULL, *errout = NULL, *dsl = NULL;
    char *argv[] = { "iasl", "-d", dat, NULL };
    gint status = -1;

    g_assert_true(g_spawn_sync(dir, argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                               NULL, &out, &errout, &status, NULL));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        !g_file_get_contents(dsl_path, &dsl, NULL, NULL)) {
        g_test_message("iasl -d %s failed (status %d):\n%s%s", dat, status,
                       out, errout);
        return false;
    }
    if (strstr(out, "Error") || strstr(errout, "Error"))
        g_test_message("iasl -d %s said:\n%s%s", dat, out, errout);
    return dsl_clean(sig, dsl) && !strstr(out, "Error") &&
           !strstr(errout, "Error");
}

static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        g_remove(path);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

static void test_iasl(gconstpointer data)
{
    g_autofree char *iasl = g_find_program_in_path("iasl");
    g_autofree char *dir = NULL;
    GError *err = NULL;
    struct env e;

    if (!iasl) {
        g_test_skip("iasl not installed (Debian package acpica-tools)");
        return;
    }
    env_build(&e, data);
    dir = g_dir_make_tmp("hotmem-acpi-XXXXXX", &err);
    g_assert_no_error(err);
    for (unsigned i = 0; dir && i < e.t.tables->len; i++) {
        const struct acpi_table_blob *b =
            &g_array_index(e.t.tables, struct acpi_table_blob, i);
        g_autofree char *stem = g_ascii_strdown(b->signature, -1);
        g_autofree char *name = g_strconcat(stem, ".dat", NULL);
        g_autofree char *path = g_build_filename(dir, name, NULL);

        /* iasl's binary-table detector reads the first 36 bytes as a
         * table header, and "RSD PTR " is not a valid 4-character
         * signature; the RSDP is checked field by field above. */
        if (strcmp(b->signature, "RSDP") == 0) {
            g_test_message("RSDP not disassembled: iasl -d only reads "
                           "tables with a standard header");
            continue;
        }
        g_assert_true(g_file_set_contents(path, (const char *)e.t.data->data
                                          + b->offset, b->len, NULL));
        if (!iasl_disassembles(dir, b->signature, stem))
            g_test_fail();
    }
    if (dir && g_test_failed())
        g_test_message("iasl input and output kept in %s", dir);
    else if (dir)
        remove_dir(dir);
    acpi_tables_clear(&e.t);
}

/* --- Errors --- */

/* Building must fail with HM_ERROR_INVALID naming both needles. */
static void build_fails(const struct acpi_config *cfg, const char *needle1,
                        const char *needle2)
{
    struct acpi_tables t;
    GError *err = NULL;

    if (acpi_tables_build(cfg, ACPI_TABLES_ADDR, &t, &err)) {
        g_test_message("build succeeded with 0x%x bytes", t.data->len);
        g_test_fail();
        acpi_tables_clear(&t);
        return;
    }
    g_assert_error(err, HM_ERROR, HM_ERROR_INVALID);
    g_assert_null(t.data);
    g_assert_null(t.tables);
    if (!err)
        return;
    g_test_message("%s", err->message);
    g_assert_nonnull(strstr(err->message, needle1));
    g_assert_nonnull(strstr(err->message, needle2));
    g_error_free(err);
}

static const struct tcase numa_6g = {
    .ram = 6 * GiB, .cpus = 2, .nr_nodes = 2,
    .nodes = { { 0, 2 * GiB }, { 1, 4 * GiB } },
};

static void test_error_node_sum(void)
{
    struct tcase c = numa_6g;
    struct env e;

    c.nodes[1].mem = 3 * GiB;
    env_config(&e, &c);
    build_fails(&e.cfg, "0x140000000", "0x180000000");
}

static void test_error_cpu_node(void)
{
    struct tcase c = numa_6g;
    struct env e;

    c.nr_cpu_nodes = 2;
    c.cpu_nodes[0] = 1;
    c.cpu_nodes[1] = 7;
    env_config(&e, &c);
    build_fails(&e.cfg, "vCPU 1", "node 7");
}

static void test_error_cpu_node_without_nodes(void)
{
    struct tcase c = { .ram = GiB, .slots = 1, .maxmem = 2 * GiB,
                       .cpus = 2, .nr_cpu_nodes = 2, .cpu_nodes = { 0, 1 } };
    struct env e;

    env_config(&e, &c);
    build_fails(&e.cfg, "vCPU 1", "node 1");
}

static void test_error_duplicate_node(void)
{
    struct tcase c = numa_6g;
    struct env e;

    c.nodes[1].id = 0;
    env_config(&e, &c);
    build_fails(&e.cfg, "node id 0", "twice");
}

static void test_error_no_cpus(void)
{
    struct tcase c = { .ram = GiB };
    struct env e;

    env_config(&e, &c);
    build_fails(&e.cfg, "vCPU", "0");
}

/* The DSDT comes last, so its body can fill the area to the last byte. */
static void test_error_dsdt_too_big(void)
{
    struct env e;
    size_t fixed, room;
    uint8_t *body;
    GError *err = NULL;

    env_build(&e, &cases[0]);
    fixed = e.t.data->len - sizeof(dsdt_body);
    acpi_tables_clear(&e.t);
    room = ACPI_TABLES_MAX - fixed;
    body = g_malloc0(ACPI_TABLES_MAX + 1);
    e.cfg.dsdt_body = body;
    e.cfg.dsdt_body_len = room;
    g_assert_true(acpi_tables_build(&e.cfg, ACPI_TABLES_ADDR, &e.t, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(e.t.data->len, ==, ACPI_TABLES_MAX);
    acpi_tables_clear(&e.t);
    e.cfg.dsdt_body_len = room + 1;
    build_fails(&e.cfg, "ACPI_TABLES_MAX", "0x60001");
    e.cfg.dsdt_body_len = ACPI_TABLES_MAX + 1;
    build_fails(&e.cfg, "DSDT body", "ACPI_TABLES_MAX");
    g_free(body);
}

static void test_error_too_many_cpus(void)
{
    struct tcase c = { .ram = GiB, .slots = 1, .maxmem = 2 * GiB };
    struct env e;

    env_config(&e, &c);
    e.cfg.cpus = 30000;         /* fails once the tables are sized */
    build_fails(&e.cfg, "all tables", "ACPI_TABLES_MAX");
    e.cfg.cpus = 1000000;       /* fails before anything is built */
    build_fails(&e.cfg, "MADT", "ACPI_TABLES_MAX");
}

/* --- Helpers --- */

static void test_checksum_fix(void)
{
    uint8_t buf[7] = { 1, 2, 3, 0xaa, 0xfe, 0x80, 9 };

    acpi_checksum_fix(buf, sizeof(buf), 3);
    g_assert_cmpuint(acpi_checksum(buf, sizeof(buf)), ==, 0);
    g_assert_cmpuint(buf[3], ==, (uint8_t)(0x100 - (1 + 2 + 3 + 0xfe + 0x80
                                                    + 9)));
    g_assert_cmpuint(acpi_checksum(NULL, 0), ==, 0);
}

/* Alignment follows guest addresses, not offsets in the blob. */
static void test_unaligned_base(void)
{
    const struct acpi_table_blob *b;
    struct acpi_tables t;
    struct env e;
    GError *err = NULL;

    env_config(&e, &cases[1]);
    g_assert_true(acpi_tables_build(&e.cfg, 0xa0004, &t, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(t.rsdp_addr, ==, 0xa0010);
    for (unsigned i = 0; i < t.tables->len; i++) {
        b = &g_array_index(t.tables, struct acpi_table_blob, i);
        g_assert_cmpuint(b->addr, ==, 0xa0004 + b->offset);
        g_assert_cmpuint(b->addr % (i ? 8 : 16), ==, 0);
        g_assert_cmpuint(acpi_checksum(t.data->data + b->offset, b->len),
                         ==, 0);
    }
    acpi_tables_clear(&t);
    acpi_tables_clear(&t);      /* clearing twice is harmless */
}

static void add_case_tests(const char *group, GTestDataFunc fn)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/acpi/tables/%s/%s", group,
                                                cases[i].name);

        g_test_add_data_func(path, &cases[i], fn);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    add_case_tests("layout", test_layout_checksums);
    add_case_tests("rsdp-xsdt", test_rsdp_xsdt);
    add_case_tests("fadt-dsdt", test_fadt);
    add_case_tests("madt", test_madt);
    add_case_tests("srat", test_srat);
    add_case_tests("iasl", test_iasl);
    g_test_add_func("/acpi/tables/layout/unaligned-base", test_unaligned_base);
    g_test_add_func("/acpi/tables/checksum/fix", test_checksum_fix);
    g_test_add_func("/acpi/tables/error/node-memory-sum",
                    test_error_node_sum);
    g_test_add_func("/acpi/tables/error/cpu-unknown-node",
                    test_error_cpu_node);
    g_test_add_func("/acpi/tables/error/cpu-node-without-nodes",
                    test_error_cpu_node_without_nodes);
    g_test_add_func("/acpi/tables/error/duplicate-node",
                    test_error_duplicate_node);
    g_test_add_func("/acpi/tables/error/no-cpus", test_error_no_cpus);
    g_test_add_func("/acpi/tables/error/dsdt-too-big",
                    test_error_dsdt_too_big);
    g_test_add_func("/acpi/tables/error/too-many-cpus",
                    test_error_too_many_cpus);
    return g_test_run();
}
