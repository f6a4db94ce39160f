/*
 * Linux accepts hotmem's platform: Debian's cloud kernel, booted as a PVH
 * vmlinux, prints what it understood of the memory map, the ACPI tables and
 * the NUMA topology before anything slow happens; this test reads those
 * lines and compares them with hotmem's documented layout (docs/boot.md,
 * docs/acpi.md). One boot, checked by several test cases, then stopped.
 *
 * The machine: -m 512M,slots=4,maxmem=8G -smp 2, a cold-plugged 256 MiB
 * DIMM, two NUMA nodes of 256 MiB with one vCPU each. Expected, by the rules
 * in the docs:
 *   e820      [0, 0x9fc00) RAM, [0x9fc00, 0x100000) reserved,
 *             [0x100000, 512 MiB) RAM, nothing else;
 *   window    starts at the first GiB boundary above RAM but not below
 *             4 GiB: 0x100000000; size (8G - 512M) rounded up to 1 GiB plus
 *             1 GiB per slot = 12 GiB; on the last node; hot-pluggable;
 *   nodes     node 0 [0, 256M), node 1 [256M, 512M); vCPU n has APIC id n.
 *
 * Skips when /dev/kvm or the kernel package cannot be had. The kernel's
 * lines appear after 30-50 s on the kvm_pvm development machines (its early
 * ring-0 code is emulated); $HOTMEM_LINUX_TIMEOUT (seconds, default 240)
 * bounds the wait.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "linuxenv.h"
#include "vmrunner.h"

#define MIB             (1ULL << 20)
#define GIB             (1ULL << 30)
#define WINDOW_BASE     (4 * GIB)
#define WINDOW_SIZE     (8 * GIB + 4 * GIB)
#define LAST_LINE       "Initmem setup node 1 "
#define USER_APPEND     "console=ttyS0 earlyprintk=serial,ttyS0 " \
                        "acpi_force_table_verification loglevel=8"

/* The one boot every test case reads. */
static struct {
    bool done;
    char *skip;             /* why the boot was not attempted */
    char *console;          /* everything Linux printed */
    GPtrArray *lines;       /* console lines without the timestamp */
    json_object *memdevs;   /* query-memory-devices' return value */
    double seconds;         /* until LAST_LINE */
} boot;

/* "[    1.234567] text" -> "text". */
static char *strip_timestamp(const char *line)
{
    const char *p = line;

    if (*p == '[') {
        const char *close = strchr(p, ']');

        if (close)
            p = close + 1 + (close[1] == ' ');
    }
    return g_strdup(p);
}

static json_object *query_memory_devices(const char *sock)
{
    struct linux_qmp *q = linux_qmp_open(sock, 10000);
    json_object *reply, *ret = NULL;

    g_assert_nonnull(q);
    reply = linux_qmp_execute(q, "{\"execute\": \"query-memory-devices\"}");
    g_assert_nonnull(reply);
    g_assert_true(json_object_object_get_ex(reply, "return", &ret));
    json_object_get(ret);
    json_object_put(reply);
    linux_qmp_close(q);
    return ret;
}

static int timeout_ms(void)
{
    const char *s = g_getenv("HOTMEM_LINUX_TIMEOUT");

    return (s ? atoi(s) : 240) * 1000;
}

static void boot_linux(void)
{
    struct linux_kernel k;
    g_autofree char *why = NULL, *dir = NULL, *sock = NULL, *qmp = NULL;
    const char *nokvm = vm_kvm_unavailable();
    gint64 t0;
    struct vm *vm;

    boot.done = true;
    if (nokvm) {
        boot.skip = g_strdup(nokvm);
        return;
    }
    switch (linux_kernel_get(&k, &why)) {
    case LINUX_ENV_SKIP:
        boot.skip = g_strdup_printf("no Linux kernel: %s", why);
        return;
    case LINUX_ENV_FAIL:
        g_error("%s", why);
    case LINUX_ENV_OK:
        break;
    }
    dir = g_dir_make_tmp("hotmem-linux-XXXXXX", NULL);
    sock = g_build_filename(dir, "qmp.sock", NULL);
    qmp = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    const char *args[] = {
        "-m", "512M,slots=4,maxmem=8G", "-smp", "2",
        "-object", "memory-backend-ram,id=m0,size=256M",
        "-device", "pc-dimm,id=d0,memdev=m0",
        "-object", "memory-backend-ram,id=ram-node0,size=256M",
        "-object", "memory-backend-ram,id=ram-node1,size=256M",
        "-numa", "node,nodeid=0,memdev=ram-node0,cpus=0",
        "-numa", "node,nodeid=1,memdev=ram-node1,cpus=1",
        "-kernel", k.vmlinux, "-append", USER_APPEND, "-qmp", qmp, NULL };
    t0 = g_get_monotonic_time();
    vm = vm_spawn(args);
    boot.memdevs = query_memory_devices(sock);
    for (gint64 end = t0 + (gint64)timeout_ms() * 1000;;) {
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        g_autofree char *line = vm_wait_line(vm, "", (int)MAX(left, 0));

        if (!line || strstr(line, LAST_LINE))
            break;
    }
    boot.seconds = (g_get_monotonic_time() - t0) / 1e6;
    vm_signal(vm, SIGTERM);
    vm_wait_exit(vm, 10000);
    boot.console = g_strdup(vm_console(vm));
    if (!strstr(boot.console, LAST_LINE))
        g_error("Linux did not print \"%s\" within %d s; console:\n%s\n"
                "stderr:\n%s", LAST_LINE, timeout_ms() / 1000, boot.console,
                vm_stderr(vm));
    g_test_message("%s %s: \"%s\" after %.1f s", k.package, k.version,
                   LAST_LINE, boot.seconds);
    vm_free(vm);
    g_unlink(sock);
    g_rmdir(dir);
    linux_kernel_clear(&k);
    /* Up to LAST_LINE: a fast host may have printed more before SIGTERM. */
    boot.lines = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) raw = g_strsplit(boot.console, "\n", -1);
    for (char **l = raw; *l; l++) {
        g_ptr_array_add(boot.lines, strip_timestamp(g_strchomp(*l)));
        if (strstr(*l, LAST_LINE))
            break;
    }
}

/* Boots on first use; false (test skipped) when Linux cannot run here. */
static bool need_boot(void)
{
    if (!boot.done)
        boot_linux();
    if (boot.skip)
        g_test_skip(boot.skip);
    return !boot.skip;
}

static bool has_line(const char *want)
{
    for (guint i = 0; i < boot.lines->len; i++) {
        if (!strcmp(boot.lines->pdata[i], want))
            return true;
    }
    return false;
}

static void expect_line(const char *want)
{
    if (!has_line(want))
        g_error("Linux did not print \"%s\"; console:\n%s", want,
                boot.console);
}

static void test_command_line(void)
{
    if (!need_boot())
        return;
    /* Slots and no policy in -append: hotmem adds the movable default. */
    expect_line("Command line: " USER_APPEND
                " memhp_default_state=online_movable");
}

static void test_e820(void)
{
    static const struct { uint64_t first, last; const char *type; } want[] = {
        { 0, 0x9fbff, "usable" },
        { 0x9fc00, 0xfffff, "reserved" },
        { 0x100000, 512 * MIB - 1, "usable" },
    };
    unsigned n = 0;

    if (!need_boot())
        return;
    for (guint i = 0; i < boot.lines->len; i++) {
        unsigned long long first, last;
        char type[32];

        if (sscanf(boot.lines->pdata[i], "BIOS-e820: [mem %llx-%llx] %31s",
                   &first, &last, type) != 3)
            continue;
        if (n >= G_N_ELEMENTS(want))
            g_error("unexpected e820 range: %s", (char *)boot.lines->pdata[i]);
        if (first != want[n].first || last != want[n].last ||
            strcmp(type, want[n].type))
            g_error("e820 range %u: Linux says %s, hotmem's layout is "
                    "[mem %#llx-%#llx] %s", n, (char *)boot.lines->pdata[i],
                    (unsigned long long)want[n].first,
                    (unsigned long long)want[n].last, want[n].type);
        /* The device-memory window is described by ACPI alone. */
        g_assert_true(last < WINDOW_BASE ||
                      first >= WINDOW_BASE + WINDOW_SIZE);
        n++;
    }
    g_assert_cmpuint(n, ==, G_N_ELEMENTS(want));
}

static void test_acpi_tables(void)
{
    static const char *const sigs[] = { "RSDP", "XSDT", "FACP", "DSDT",
                                        "APIC", "SRAT" };

    if (!need_boot())
        return;
    /* With acpi_force_table_verification Linux checks every checksum. */
    expect_line("ACPI: Early table checksum verification enabled");
    for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
        g_autofree char *prefix = g_strdup_printf("ACPI: %s 0x", sigs[i]);
        bool found = false;

        for (guint j = 0; j < boot.lines->len && !found; j++)
            found = g_str_has_prefix(boot.lines->pdata[j], prefix);
        if (!found)
            g_error("Linux did not list the %s table; console:\n%s", sigs[i],
                    boot.console);
    }
}

/* Lines about firmware tables that would mean Linux disliked something. */
static void test_no_warnings(void)
{
    static const char *const bad[] = {
        "checksum", "invalid", "Invalid", "[Firmware Bug]", "BIOS Error",
        "BIOS Warning", "ACPI Error", "ACPI Warning", "bad", "ignor",
        "overlap", "No NUMA configuration found", "NUMA turned off",
        "not listed by BIOS",
    };
    static const char *const fine[] = {
        "ACPI: Early table checksum verification enabled",
        "DMI not present or invalid.",  /* hotmem has no SMBIOS */
    };

    if (!need_boot())
        return;
    for (guint i = 0; i < boot.lines->len; i++) {
        const char *l = boot.lines->pdata[i];
        bool ok = false;

        for (size_t f = 0; f < G_N_ELEMENTS(fine) && !ok; f++)
            ok = !strcmp(l, fine[f]);
        for (size_t b = 0; b < G_N_ELEMENTS(bad) && !ok; b++) {
            if (strstr(l, bad[b]))
                g_error("Linux complained: \"%s\"; console:\n%s", l,
                        boot.console);
        }
    }
}

static void test_srat_window(void)
{
    g_autofree char *want = g_strdup_printf(
        "ACPI: SRAT: Node 1 PXM 1 [mem %#llx-%#llx] hotplug",
        (unsigned long long)WINDOW_BASE,
        (unsigned long long)(WINDOW_BASE + WINDOW_SIZE - 1));
    unsigned hotplug = 0;

    if (!need_boot())
        return;
    expect_line(want);
    for (guint i = 0; i < boot.lines->len; i++)
        hotplug += g_str_has_suffix(boot.lines->pdata[i], "] hotplug");
    g_assert_cmpuint(hotplug, ==, 1);
}

static void test_srat_cpus(void)
{
    if (!need_boot())
        return;
    expect_line("SRAT: PXM 0 -> APIC 0x00 -> Node 0");
    expect_line("SRAT: PXM 1 -> APIC 0x01 -> Node 1");
}

static void test_srat_nodes(void)
{
    if (!need_boot())
        return;
    expect_line("ACPI: SRAT: Node 0 PXM 0 [mem 0x00000000-0x0fffffff]");
    expect_line("ACPI: SRAT: Node 1 PXM 1 [mem 0x10000000-0x1fffffff]");
    /* Linux built both nodes from them (it keeps page 0 for itself). */
    expect_line("Initmem setup node 0 [mem 0x0000000000001000-"
                "0x000000000fffffff]");
    expect_line("Initmem setup node 1 [mem 0x0000000010000000-"
                "0x000000001fffffff]");
}

/* The cold-plugged DIMM lies inside the hot-pluggable SRAT range. */
static void test_cold_dimm_in_window(void)
{
    json_object *dimm, *data, *v;
    uint64_t addr, size;

    if (!need_boot())
        return;
    g_assert_cmpuint(json_object_array_length(boot.memdevs), ==, 1);
    dimm = json_object_array_get_idx(boot.memdevs, 0);
    g_assert_true(json_object_object_get_ex(dimm, "data", &data));
    g_assert_true(json_object_object_get_ex(data, "addr", &v));
    addr = (uint64_t)json_object_get_int64(v);
    g_assert_true(json_object_object_get_ex(data, "size", &v));
    size = (uint64_t)json_object_get_int64(v);
    g_assert_cmphex(size, ==, 256 * MIB);
    g_assert_cmphex(addr, >=, WINDOW_BASE);
    g_assert_cmphex(addr + size, <=, WINDOW_BASE + WINDOW_SIZE);
    g_assert_true(json_object_object_get_ex(data, "hotplugged", &v));
    g_assert_false(json_object_get_boolean(v));
    g_assert_true(json_object_object_get_ex(data, "hotpluggable", &v));
    g_assert_true(json_object_get_boolean(v));
}

int main(int argc, char **argv)
{
    int status;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/linux/pvh/command-line", test_command_line);
    g_test_add_func("/linux/pvh/e820", test_e820);
    g_test_add_func("/linux/pvh/acpi-tables", test_acpi_tables);
    g_test_add_func("/linux/pvh/no-warnings", test_no_warnings);
    g_test_add_func("/linux/pvh/srat-window", test_srat_window);
    g_test_add_func("/linux/pvh/srat-cpus", test_srat_cpus);
    g_test_add_func("/linux/pvh/srat-nodes", test_srat_nodes);
    g_test_add_func("/linux/pvh/cold-dimm-in-window",
                    test_cold_dimm_in_window);
    status = g_test_run();
    g_free(boot.skip);
    g_free(boot.console);
    if (boot.lines)
        g_ptr_array_free(boot.lines, TRUE);
    json_object_put(boot.memdevs);
    return status;
}
