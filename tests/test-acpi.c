/*
 * ACPI tables checked against the reference implementation (ACPICA, as
 * packaged by Debian's acpica-tools): for several configurations, hotmem
 * -dump-acpi writes the tables, `iasl -d` must disassemble every one without
 * errors, and `acpiexec` must load the DSDT and evaluate every memory
 * device's _STA, _CRS, _PXM, _OST and _EJ0 and the scan method with the
 * register block reading all zeros and all ones, with no AML exception and
 * the right result types. Needs no KVM; skips when acpica-tools is absent.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <cpuid.h>

struct config {
    const char *name;
    const char *args[16];
    unsigned slots;
    bool srat;
};

/* -m for 256 slots: maxmem as near 1 TiB as this host's width allows. */
static char m256[64];

static const struct config configs[] = {
    { "no-slots", { "-m", "256M", NULL }, 0, false },
    { "4-slots", { "-m", "512M,slots=4,maxmem=8G", NULL }, 4, true },
    { "256-slots", { "-m", m256, "-smp", "4", NULL }, 256, true },
    { "2-nodes", { "-m", "2G,slots=2,maxmem=4G", "-smp", "2", "-object",
                   "memory-backend-ram,id=n0,size=1G", "-object",
                   "memory-backend-ram,id=n1,size=1G", "-numa",
                   "node,nodeid=0,memdev=n0,cpus=0", "-numa",
                   "node,nodeid=1,memdev=n1,cpus=1", NULL }, 2, true },
};

static char *run(const char *const *argv, int *status)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GError) e = NULL;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                      NULL, &out, &err, status, &e))
        g_error("cannot run %s: %s", argv[0], e->message);
    return g_strconcat(out, err, NULL);
}

static char *dump(const struct config *c)
{
    char *dir = g_dir_make_tmp("hotmem-acpi-XXXXXX", NULL);
    const char *argv[24] = { g_getenv("HOTMEM_BIN"), "-dump-acpi", dir };
    g_autofree char *out = NULL;
    int n = 3, status;

    for (int i = 0; c->args[i]; i++)
        argv[n++] = c->args[i];
    out = run(argv, &status);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("hotmem -dump-acpi failed:\n%s", out);
    return dir;
}

static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);

        g_unlink(p);
    }
    g_dir_close(d);
    g_rmdir(dir);
}

static bool skip_without_acpica(void)
{
    g_autofree char *iasl = g_find_program_in_path("iasl");
    g_autofree char *exec = g_find_program_in_path("acpiexec");

    if (!iasl || !exec)
        g_test_skip("acpica-tools (iasl, acpiexec) is not installed; "
                    "scripts/setup.sh installs it");
    return !iasl || !exec;
}

static void check_disassembly(const char *dir, const char *table)
{
    g_autofree char *dat = g_strdup_printf("%s/%s.dat", dir, table);
    g_autofree char *dsl = g_strdup_printf("%s/%s.dsl", dir, table);
    const char *argv[] = { "iasl", "-d", dat, NULL };
    g_autofree char *out = NULL, *text = NULL;
    int status;

    g_assert_true(g_file_test(dat, G_FILE_TEST_EXISTS));
    out = run(argv, &status);
    if (!g_spawn_check_wait_status(status, NULL) || strstr(out, "Error") ||
        strstr(out, "Warning"))
        g_error("iasl -d %s failed:\n%s", dat, out);
    g_assert_true(g_file_get_contents(dsl, &text, NULL, NULL));
    /* iasl flags bad checksums and unknown fields inside the listing. */
    g_assert_null(strstr(text, "Incorrect checksum"));
    g_assert_null(strstr(text, "**** "));
}

static void test_disassemble(gconstpointer data)
{
    const struct config *c = data;
    static const char *const tables[] = { "xsdt", "facp", "apic", "dsdt" };
    g_autofree char *dir = NULL;

    if (skip_without_acpica())
        return;
    dir = dump(c);
    for (size_t i = 0; i < G_N_ELEMENTS(tables); i++)
        check_disassembly(dir, tables[i]);
    /*
     * The RSDP has no standard header, and this iasl cannot disassemble it
     * from a file; test-acpi-tables checks its fields and checksums.
     */
    g_autofree char *rsdp = g_strdup_printf("%s/rsdp.dat", dir);
    g_autofree char *srat = g_strdup_printf("%s/srat.dat", dir);

    g_assert_true(g_file_test(rsdp, G_FILE_TEST_EXISTS));
    if (c->srat)
        check_disassembly(dir, "srat");
    else
        g_assert_false(g_file_test(srat, G_FILE_TEST_EXISTS));
    remove_dir(dir);
}

/*
 * acpiexec simulates the register block as plain memory that starts filled
 * with one byte value and keeps what AML writes, so the order of commands
 * matters: queries first, then the scan, then _OST and _EJ0 (which write).
 */
struct exec_run {
    const char *dsdt;
    unsigned slots;
    uint8_t fill;
    char *output;
};

static char *exec_commands(unsigned slots)
{
    GString *c = g_string_new(NULL);
    static const char *const queries[] = { "_STA", "_PXM", "_CRS" };

    for (size_t q = 0; q < G_N_ELEMENTS(queries); q++)
        for (unsigned i = 0; i < slots; i++)
            g_string_append_printf(c, "evaluate \\_SB.MHPC.MP%02X.%s\n", i,
                                   queries[q]);
    g_string_append(c, "evaluate \\_SB.MHPC.MSCN\n");
    g_string_append(c, "evaluate \\_SB.GED0._EVT 9\n");
    for (unsigned i = 0; i < slots; i++)
        g_string_append_printf(c, "evaluate \\_SB.MHPC.MP%02X._OST 0x103 "
                               "0x80 (00)\nevaluate \\_SB.MHPC.MP%02X._EJ0 1\n",
                               i, i);
    g_string_append(c, "quit\n");
    return g_string_free(c, FALSE);
}

/* Runs acpiexec on r->dsdt with the commands on its standard input. */
static gpointer exec_thread(gpointer data)
{
    struct exec_run *r = data;
    g_autofree char *fill = g_strdup_printf("0x%02x", r->fill);
    g_autofree char *cmds = exec_commands(r->slots);
    const char *argv[] = { "acpiexec", "-fv", fill, r->dsdt, NULL };
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(GError) err = NULL;
    char *out = NULL;

    p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDIN_PIPE |
                          G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                          G_SUBPROCESS_FLAGS_STDERR_MERGE, &err);
    g_assert_no_error(err);
    g_subprocess_communicate_utf8(p, cmds, NULL, &out, NULL, &err);
    g_assert_no_error(err);
    r->output = out;
    return NULL;
}

static unsigned count(const char *text, const char *needle)
{
    unsigned n = 0;

    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Every line of acpiexec's that reports trouble. */
static void assert_no_aml_trouble(const struct exec_run *r)
{
    static const char *const bad[] = { "ACPI Error", "ACPI Exception",
                                       "ACPI Warning", "AE_", "Could not" };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (strstr(r->output, bad[i]))
            g_error("acpiexec -fv 0x%02x reported \"%s\":\n%s", r->fill,
                    bad[i], strstr(r->output, bad[i]));
    }
}

static void check_exec_result(const struct exec_run *r)
{
    unsigned n = r->slots;
    /* MSCN runs once directly and once more from _EVT when the GED's
     * event register (same fill) has the memory bit set. */
    unsigned scans = 1 + (r->fill & 0x01);
    const char *sta = r->fill == 0xff ? "[Integer] = 000000000000000F"
                                      : "[Integer] = 0000000000000000";

    assert_no_aml_trouble(r);
    /* _STA: 0xF when the enabled bit reads 1, else 0. */
    g_assert_cmpuint(count(r->output, sta), >=, n);
    /* _CRS returns a resource-template buffer for every slot. */
    g_assert_cmpuint(count(r->output, "[Buffer]"), ==, n);
    /* _OST and _EJ0 return nothing. */
    g_assert_cmpuint(count(r->output, "No object was returned"), >=, 2 * n);
    /* The scan: Device Check for inserting slots, Eject Request for ones
     * being removed, both for a slot with both events (a removal requested
     * before the guest saw the insertion), nothing when neither bit is set.
     * The scan writes back the events it read (write 1 to clear), which
     * acpiexec's memory keeps, so every slot reads the same. */
    g_assert_cmpuint(count(r->output, "Value 0x01 (Device Check)"), ==,
                     r->fill & 0x02 ? scans * n : 0);
    g_assert_cmpuint(count(r->output, "Value 0x03 (Eject Request)"), ==,
                     r->fill & 0x04 ? scans * n : 0);
    /* The power-button bit of the GED notifies PWRB (0x80). */
    g_assert_cmpuint(count(r->output, "[PWRB]"), ==, r->fill & 0x02 ? 1 : 0);
    g_assert_cmpuint(count(r->output, "Evaluating"), ==, 5 * n + 2);
}

static void test_acpiexec(gconstpointer data)
{
    const struct config *c = data;
    static const uint8_t fills[] = { 0x00, 0xff, 0x04, 0x06 };
    struct exec_run runs[G_N_ELEMENTS(fills)];
    GThread *threads[G_N_ELEMENTS(fills)];
    g_autofree char *dir = NULL, *dsdt = NULL;

    if (skip_without_acpica())
        return;
    dir = dump(c);
    dsdt = g_build_filename(dir, "dsdt.dat", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(fills); i++) {
        runs[i] = (struct exec_run){ dsdt, c->slots, fills[i], NULL };
        threads[i] = g_thread_new("acpiexec", exec_thread, &runs[i]);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(fills); i++) {
        g_thread_join(threads[i]);
        check_exec_result(&runs[i]);
        g_free(runs[i].output);
    }
    remove_dir(dir);
}

/*
 * The guest's physical address width is the host's (CPUID 0x80000008), 39
 * to 52 bits on real machines and 40 under QEMU's TCG by default. hotmem
 * puts the window for 256 slots at 4 GiB and gives each slot 1 GiB of
 * alignment room (docs/acpi.md), so 1 GiB of RAM with maxmem=M needs
 * 4 + (M - 1) + 256 GiB of address space: size M from the width found.
 */
static void size_256_slots(void)
{
    unsigned a, b, c, d, bits = 36;
    uint64_t limit_gib, max_gib = 1024;

    if (__get_cpuid(0x80000008, &a, &b, &c, &d))
        bits = a & 0xff;
    limit_gib = bits >= 30 ? 1ULL << (bits - 30) : 0;
    if (limit_gib < 4 + 256 + 64)
        g_error("a %u-bit guest physical address space has no room for 256 "
                "slots", bits);
    max_gib = MIN(max_gib, limit_gib - 4 - 256 + 1);
    g_snprintf(m256, sizeof(m256), "1G,slots=256,maxmem=%" G_GUINT64_FORMAT
               "G", max_gib);
    g_test_message("%u physical address bits: -m %s", bits, m256);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    size_256_slots();
    for (size_t i = 0; i < G_N_ELEMENTS(configs); i++) {
        g_autofree char *p = g_strdup_printf("/acpi/iasl/%s",
                                             configs[i].name);

        g_test_add_data_func(p, &configs[i], test_disassemble);
        if (configs[i].slots) {
            g_autofree char *e = g_strdup_printf("/acpi/acpiexec/%s",
                                                 configs[i].name);

            g_test_add_data_func(e, &configs[i], test_acpiexec);
        }
    }
    return g_test_run();
}
