/*
 * bench/vs-qemu, the Linux guest (vsq.h): Debian's cloud kernel (the PVH
 * vmlinux, the same file for both VMMs) and the busybox initramfs of
 * tests/linux, one VM at a time, hotmem and QEMU alternating from round to
 * round. Each round boots (exec -> /init's ready line), then for each DIMM
 * size and for N DIMMs at once: object-add and device_add sent together
 * until their replies; from then until /proc/meminfo's MemTotal has grown
 * (the guest polls every 10 ms); device_del until DEVICE_DELETED (the
 * event's timestamp: Linux has offlined the memory, online_movable, and
 * ejected it); MemTotal back, object-del; then the guest powers off.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "benchstat.h"
#include "linuxenv.h"
#include "qmpline.h"
#include "vmrunner.h"
#include "vsq.h"

#define MIB ((uint64_t)1 << 20)
#define BOOT_TIMEOUT_MS 150000
#define STEP_TIMEOUT_MS 150000
#define APPEND "console=ttyS0 quiet memhp_default_state=online_movable"

struct guest {
    enum vsq_vmm w;
    struct vm *vm;
    struct qline *q;
    char *sock;
    unsigned long long base_kb;
    GError *err;
};

/* The same machine for both: memory, vCPUs, kernel, initramfs, append. */
static GPtrArray *linux_args(const struct vsq_config *c, enum vsq_vmm w,
                             const char *kernel, const char *initrd,
                             const char *sock)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    uint64_t most = c->multi_n * c->multi_size;
    static const char *const qemu[] = { "-accel", "kvm", "-machine", "q35",
                                        "-cpu", "host", "-nodefaults",
                                        "-no-user-config", "-display", "none",
                                        "-serial", "stdio", "-no-reboot" };

    for (unsigned i = 0; i < VSQ_NR_SIZES; i++)
        most = MAX(most, c->sizes[i]);
    if (w == VSQ_QEMU)
        for (size_t i = 0; i < G_N_ELEMENTS(qemu); i++)
            g_ptr_array_add(a, g_strdup(qemu[i]));
    g_ptr_array_add(a, g_strdup("-m"));
    g_ptr_array_add(a, g_strdup_printf("1G,slots=%u,maxmem=%" PRIu64 "M",
                                       MAX(8u, c->multi_n),
                                       1024 + most / MIB));
    const char *const rest[] = { "-smp", "2", "-kernel", kernel, "-initrd",
                                 initrd, "-append", APPEND, "-qmp" };

    for (size_t i = 0; i < G_N_ELEMENTS(rest); i++)
        g_ptr_array_add(a, g_strdup(rest[i]));
    g_ptr_array_add(a, g_strdup_printf("unix:%s,server=on,wait=off", sock));
    g_ptr_array_add(a, NULL);
    return a;
}

/* Records why g failed, with the end of its console; false. */
static bool fail(struct guest *g, const char *what)
{
    const char *con = g->vm ? vm_console(g->vm) : "";
    size_t len = strlen(con);

    printf("vs-qemu: %s with Linux: %s\n  console (end): %s\n  stderr: %s\n",
           vsq_name(g->w), what, con + (len > 800 ? len - 800 : 0),
           g->vm ? vm_stderr(g->vm) : "");
    fflush(stdout);
    return false;
}

static bool boot(const struct vsq_config *c, struct guest *g,
                 const char *kernel, const char *initrd, double *ms)
{
    g_autoptr(GPtrArray) args = NULL;
    g_autofree char *ready = NULL;
    double t0;

    g->sock = g_strdup_printf("%s/linux-%s.sock", c->dir, vsq_name(g->w));
    g_unlink(g->sock);
    args = linux_args(c, g->w, kernel, initrd, g->sock);
    t0 = bench_now_ms();
    g->vm = vm_spawn_program(g->w == VSQ_HOTMEM ? c->hotmem : c->qemu,
                             (const char *const *)args->pdata);
    ready = vm_wait_line(g->vm, "hotmem-linux: ready memtotal-kb=",
                         BOOT_TIMEOUT_MS);
    if (!ready)
        return fail(g, "no ready line from /init");
    *ms = bench_now_ms() - t0;
    g->base_kb = g_ascii_strtoull(ready + strlen("hotmem-linux: ready "
                                                 "memtotal-kb="), NULL, 10);
    g->q = qline_open(g->sock, vm_pid(g->vm), STEP_TIMEOUT_MS, &g->err);
    if (!g->q || !qline_call(g->q, STEP_TIMEOUT_MS, &g->err,
                             "{\"execute\": \"qmp_capabilities\"}"))
        return fail(g, g->err->message);
    return true;
}

static bool wait_memtotal(struct guest *g, unsigned long long kb)
{
    g_autofree char *cmd = g_strdup_printf("wait-memtotal %llu 140 0.01", kb);
    g_autofree char *want = g_strdup_printf("hotmem-linux: memtotal-kb=%llu",
                                            kb);
    g_autofree char *line = NULL;

    if (!vm_send(g->vm, cmd))
        return fail(g, "console closed");
    line = vm_wait_line(g->vm, "hotmem-linux: ", STEP_TIMEOUT_MS);
    if (!line || strcmp(line, want))
        return fail(g, line ? line : "no answer to wait-memtotal");
    return true;
}

/* Reads count replies, each a success. */
static bool replies_ok(struct guest *g, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (!qline_ok(g->q, STEP_TIMEOUT_MS, &g->err))
            return fail(g, g->err->message);
    return true;
}

/* Adds and removes k DIMMs of size bytes: the figures at index idx. */
static bool plug_cycle(struct guest *g, struct vsq_figures *f, unsigned idx,
                       unsigned k, uint64_t size, unsigned *serial)
{
    g_autoptr(GString) add = g_string_new(NULL), del = g_string_new(NULL);
    unsigned first = *serial;
    double t0, t0_wall, last = 0;

    for (unsigned i = first; i < first + k; i++) {
        g_string_append_printf(add, "{\"execute\": \"object-add\", "
            "\"arguments\": {\"qom-type\": \"memory-backend-ram\", \"id\": "
            "\"lm%u\", \"size\": %" PRIu64 "}}\r\n", i, size);
        g_string_append_printf(add, "{\"execute\": \"device_add\", "
            "\"arguments\": {\"driver\": \"pc-dimm\", \"id\": \"ld%u\", "
            "\"memdev\": \"lm%u\"}}\r\n", i, i);
        g_string_append_printf(del, "{\"execute\": \"device_del\", "
            "\"arguments\": {\"id\": \"ld%u\"}}\r\n", i);
    }
    *serial += k;
    /* All commands in one write: the "at once" of N DIMMs. */
    g_string_truncate(add, add->len - 2);
    t0 = bench_now_ms();
    if (!qline_send(g->q, &g->err, "%s", add->str) || !replies_ok(g, 2 * k))
        return fail(g, g->err ? g->err->message : "device_add");
    vsq_add(f, VSQ_REPLY + idx, g->w, bench_now_ms() - t0);
    if (!wait_memtotal(g, g->base_kb + k * (size >> 10)))
        return false;
    vsq_add(f, VSQ_MEMTOTAL + idx, g->w, bench_now_ms() - t0);

    g_string_truncate(del, del->len - 2);
    t0_wall = g_get_real_time() / 1000.0;
    if (!qline_send(g->q, &g->err, "%s", del->str) || !replies_ok(g, k))
        return fail(g, g->err ? g->err->message : "device_del");
    for (unsigned i = first; i < first + k; i++) {
        g_autofree char *id = g_strdup_printf("ld%u", i);
        json_object *e = qline_event(g->q, "DEVICE_DELETED", id,
                                     STEP_TIMEOUT_MS, &g->err);

        if (!e)
            return fail(g, g->err->message);
        last = MAX(last, qline_event_ms(e));
        json_object_put(e);
    }
    vsq_add(f, VSQ_DELETED + idx, g->w, last - t0_wall);
    if (!wait_memtotal(g, g->base_kb))
        return false;
    for (unsigned i = first; i < first + k; i++)
        if (!qline_call(g->q, STEP_TIMEOUT_MS, &g->err, "{\"execute\": "
                        "\"object-del\", \"arguments\": {\"id\": \"lm%u\"}}",
                        i))
            return fail(g, g->err->message);
    return true;
}

static void guest_free(struct guest *g)
{
    qline_close(g->q);
    vm_free(g->vm);
    if (g->sock)
        g_unlink(g->sock);
    g_free(g->sock);
    g_clear_error(&g->err);
}

/* One boot of w and every hot-plug step; figures into f. */
static void linux_round(const struct vsq_config *c, struct vsq_figures *f,
                        enum vsq_vmm w, const char *kernel,
                        const char *initrd)
{
    struct guest g = { .w = w };
    unsigned serial = 0;
    double ms = 0, t0 = bench_now_ms();
    bool ok = boot(c, &g, kernel, initrd, &ms);

    if (ok)
        vsq_add(f, VSQ_BOOT, w, ms);
    for (unsigned i = 0; ok && i < VSQ_NR_SIZES; i++)
        ok = plug_cycle(&g, f, i, 1, c->sizes[i], &serial);
    if (ok)
        ok = plug_cycle(&g, f, VSQ_NR_SIZES, c->multi_n, c->multi_size,
                        &serial);
    if (ok && vm_send(g.vm, "poweroff") && vm_wait_exit(g.vm, 60000) < 0)
        printf("vs-qemu: %s did not power off within 60 s\n", vsq_name(w));
    printf("vs-qemu: Linux under %s: %s, %.0f s\n", vsq_name(w),
           ok ? "every step done" : "stopped", (bench_now_ms() - t0) / 1e3);
    fflush(stdout);
    guest_free(&g);
}

bool vsq_linux(const struct vsq_config *c, struct vsq_figures *f)
{
    struct linux_kernel k;
    g_autofree char *why = NULL, *initrd = NULL;
    enum linux_env_status st = linux_kernel_get(&k, &why);
    unsigned nvmm = c->qemu ? 2 : 1;

    if (st == LINUX_ENV_OK)
        st = linux_initramfs_get(&initrd, &why);
    if (st != LINUX_ENV_OK) {
        printf("vs-qemu: no Linux figures: %s\n", why);
        return false;
    }
    printf("vs-qemu: Linux guest: %s %s (%s), append \"%s\"\n", k.package,
           k.version, k.vmlinux, APPEND);
    for (unsigned round = 0; round < c->rounds; round++) {
        for (unsigned i = 0; i < nvmm; i++)
            linux_round(c, f, (round + i) % nvmm, k.vmlinux, initrd);
        printf("vs-qemu: Linux round %u of %u done\n", round + 1, c->rounds);
        fflush(stdout);
    }
    linux_kernel_clear(&k);
    return true;
}
