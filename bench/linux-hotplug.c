/*
 * bench/linux-hotplug: DIMM hot-plug times with a real Linux guest, figures
 * only (docs/linux.md).
 *
 *   HOTMEM_BIN=... HOTMEM_LINUX_DIR=tests/linux bench-linux-hotplug [ROUNDS]
 *
 * Boots Debian's cloud kernel (PVH vmlinux) with the busybox initramfs of
 * tests/linux, hotmem adding memhp_default_state=online_movable, and for
 * DIMMs of 1, 2 and 4 GiB measures, ROUNDS times each (default 5):
 *   add->ost      device_add sent .. ACPI_DEVICE_OST success: Linux has
 *                 added the memory and (auto-)onlined it, then acknowledged
 *   add->meminfo  device_add sent .. /proc/meminfo shows it (the guest
 *                 polls every 10 ms; includes the console round trip)
 *   del->deleted  device_del sent .. DEVICE_DELETED: Linux has offlined
 *                 (migrating pages out), removed and ejected it
 * (times from QMP event timestamps) and prints medians, also per GiB.
 * Where guest kernel code is emulated (hotmem-guest's ring0-mips below
 * LINUX_MIN_RING0_MIPS) it prints that it skipped, with the measured speed,
 * and exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "linuxenv.h"
#include "vmrunner.h"

#include "benchstat.h"

#define GIB             (1ULL << 30)
#define BOOT_TIMEOUT_MS 300000
#define STEP_TIMEOUT_MS 120000

static const unsigned sizes_gib[] = { 1, 2, 4 };

/* Wall clock, as in QMP's event timestamps. */
static double now_ms(void)
{
    return g_get_real_time() / 1000.0;
}

/* An event's "timestamp" in the same unit. */
static double event_ms(json_object *e)
{
    json_object *ts, *sec, *usec;

    if (!json_object_object_get_ex(e, "timestamp", &ts) ||
        !json_object_object_get_ex(ts, "seconds", &sec) ||
        !json_object_object_get_ex(ts, "microseconds", &usec))
        return now_ms();
    return json_object_get_int64(sec) * 1e3 +
           json_object_get_int64(usec) / 1e3;
}

static void die(const char *what, struct vm *vm)
{
    fprintf(stderr, "linux-hotplug: %s\nconsole:\n%s\nstderr:\n%s\n", what,
            vm ? vm_console(vm) : "", vm ? vm_stderr(vm) : "");
    exit(1);
}

static void qmp_ok(struct linux_qmp *q, struct vm *vm, const char *cmd)
{
    json_object *r = linux_qmp_execute(q, cmd);

    if (!r || !json_object_object_get_ex(r, "return", NULL))
        die(r ? json_object_to_json_string(r) : "QMP connection lost", vm);
    json_object_put(r);
}

/* Waits for the ACPI_DEVICE_OST of device with the given source; returns
 * its timestamp. */
static double wait_ost(struct linux_qmp *q, struct vm *vm, const char *device,
                       int source)
{
    for (;;) {
        json_object *e = linux_qmp_event(q, "ACPI_DEVICE_OST",
                                         STEP_TIMEOUT_MS);
        json_object *data, *info, *v;
        bool match;

        if (!e)
            die("no ACPI_DEVICE_OST", vm);
        match = json_object_object_get_ex(e, "data", &data) &&
                json_object_object_get_ex(data, "info", &info) &&
                json_object_object_get_ex(info, "device", &v) &&
                !g_strcmp0(json_object_get_string(v), device) &&
                json_object_object_get_ex(info, "source", &v) &&
                json_object_get_int(v) == source;
        if (match && json_object_object_get_ex(info, "status", &v) &&
            json_object_get_int(v) != 0)
            die(json_object_to_json_string(e), vm);
        double at = event_ms(e);

        json_object_put(e);
        if (match)
            return at;
    }
}

static void wait_memtotal(struct vm *vm, unsigned long long kb)
{
    g_autofree char *cmd = g_strdup_printf("wait-memtotal %llu 120 0.01",
                                           kb);
    g_autofree char *want = g_strdup_printf("hotmem-linux: memtotal-kb=%llu",
                                            kb);
    g_autofree char *line = NULL;

    if (!vm_send(vm, cmd))
        die("console closed", vm);
    line = vm_wait_line(vm, "hotmem-linux: ", STEP_TIMEOUT_MS);
    if (!line || strcmp(line, want))
        die(line ? line : "no answer to wait-memtotal", vm);
}

struct times { double ost, meminfo, deleted; };

static struct times round_trip(struct linux_qmp *q, struct vm *vm,
                               unsigned gib, unsigned long long base_kb,
                               unsigned n)
{
    g_autofree char *add_obj = g_strdup_printf(
        "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
        "\"memory-backend-ram\", \"id\": \"bm%u\", \"size\": %llu}}", n,
        (unsigned long long)gib * GIB);
    g_autofree char *add_dev = g_strdup_printf(
        "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
        "\"pc-dimm\", \"id\": \"bd%u\", \"memdev\": \"bm%u\"}}", n, n);
    g_autofree char *del_dev = g_strdup_printf(
        "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"bd%u\"}}", n);
    g_autofree char *del_obj = g_strdup_printf(
        "{\"execute\": \"object-del\", \"arguments\": {\"id\": \"bm%u\"}}", n);
    g_autofree char *id = g_strdup_printf("bd%u", n);
    struct times t;
    json_object *e;
    double t0;

    qmp_ok(q, vm, add_obj);
    t0 = now_ms();
    qmp_ok(q, vm, add_dev);
    wait_memtotal(vm, base_kb + gib * (GIB >> 10));
    t.meminfo = now_ms() - t0;
    t.ost = wait_ost(q, vm, id, 1) - t0;
    t0 = now_ms();
    qmp_ok(q, vm, del_dev);
    e = linux_qmp_event(q, "DEVICE_DELETED", STEP_TIMEOUT_MS);
    if (!e)
        die("no DEVICE_DELETED", vm);
    t.deleted = event_ms(e) - t0;
    json_object_put(e);
    wait_memtotal(vm, base_kb);
    qmp_ok(q, vm, del_obj);
    return t;
}

/* A kernel, initramfs or measurement that could not be had. */
static int report_env(enum linux_env_status st, const char *why)
{
    if (st == LINUX_ENV_SKIP) {
        printf("linux-hotplug: skipped: %s\n", why);
        return 0;
    }
    fprintf(stderr, "linux-hotplug: %s\n", why);
    return 1;
}

static int run(unsigned rounds)
{
    struct linux_kernel k;
    g_autofree char *why = NULL, *initrd = NULL, *dir = NULL, *sock = NULL;
    g_autofree char *qmp = NULL, *ready = NULL;
    unsigned long long base_kb;
    struct linux_qmp *q;
    struct vm *vm;

    enum linux_env_status st = linux_kernel_get(&k, &why);

    if (st == LINUX_ENV_OK)
        st = linux_initramfs_get(&initrd, &why);
    if (st != LINUX_ENV_OK)
        return report_env(st, why);
    dir = g_dir_make_tmp("bench-linux-XXXXXX", NULL);
    sock = g_build_filename(dir, "qmp.sock", NULL);
    qmp = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    const char *args[] = { "-m", "1G,slots=2,maxmem=6G", "-smp", "2",
                           "-kernel", k.vmlinux, "-initrd", initrd,
                           "-append", "console=ttyS0 quiet", "-qmp", qmp,
                           NULL };
    vm = vm_spawn(args);
    q = linux_qmp_open(sock, 10000);
    if (!q)
        die("cannot connect to QMP", vm);
    ready = vm_wait_line(vm, "hotmem-linux: ready memtotal-kb=",
                         BOOT_TIMEOUT_MS);
    if (!ready)
        die("Linux did not reach its shell", vm);
    base_kb = g_ascii_strtoull(ready + strlen("hotmem-linux: ready "
                                              "memtotal-kb="), NULL, 10);
    printf("linux-hotplug: %s %s, %u rounds per size (medians)\n",
           k.package, k.version, rounds);
    printf("%8s %12s %12s %12s %12s %12s\n", "size", "add->ost", "add->meminfo",
           "del->deleted", "online/GiB", "remove/GiB");
    for (unsigned s = 0, n = 0; s < G_N_ELEMENTS(sizes_gib); s++) {
        double ost[64], mi[64], del[64];

        for (unsigned r = 0; r < rounds; r++, n++) {
            struct times t = round_trip(q, vm, sizes_gib[s], base_kb, n);

            ost[r] = t.ost;
            mi[r] = t.meminfo;
            del[r] = t.deleted;
        }
        double mo = bench_median(ost, rounds), mm = bench_median(mi, rounds);
        double md = bench_median(del, rounds);

        printf("%6u G %9.1f ms %9.1f ms %9.1f ms %9.1f ms %9.1f ms\n",
               sizes_gib[s], mo, mm, md, mm / sizes_gib[s],
               md / sizes_gib[s]);
    }
    vm_send(vm, "poweroff");
    vm_wait_exit(vm, 30000);
    vm_free(vm);
    linux_qmp_close(q);
    g_unlink(sock);
    g_rmdir(dir);
    linux_kernel_clear(&k);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 5;
    g_autofree char *why = NULL, *report = NULL;
    double mips = 0;

    bench_print_environment(stdout);
    if (rounds < 1 || rounds > 64) {
        fprintf(stderr, "usage: %s [ROUNDS (1..64)]\n", argv[0]);
        return 2;
    }
    enum linux_env_status st = linux_ring0_mips(&mips, &report, &why);

    if (st != LINUX_ENV_OK)
        return report_env(st, why);
    if (mips < LINUX_MIN_RING0_MIPS &&
        g_strcmp0(g_getenv("HOTMEM_LINUX_FORCE"), "1")) {
        g_autofree char *msg = linux_too_slow_message(mips);

        printf("linux-hotplug: skipped: %s\n  (%s)\n", msg, report);
        return 0;
    }
    return run(rounds);
}
