/*
 * A Linux guest migrated with a hot-added online_movable DIMM
 * (docs/linux.md, docs/migration.md): the Linux of linux-hotplug (Debian's
 * cloud kernel, the busybox initramfs of initramfs-init, 2 vCPUs) gets a
 * 512 MiB DIMM, which it onlines into ZONE_MOVABLE; it writes 128 MiB of
 * random data to a tmpfs file, whose pages the kernel takes from that zone
 * first. The source is migrated while it runs; the destination is started
 * with x-query-cmdline's options. Then, on the destination:
 *  - the DIMM holds what it held (samples of the file found at page starts
 *    in the DIMM, host side, before the restored guest runs: -S);
 *  - the guest goes on: its console answers, userspace runs, its clocks
 *    (uptime, and the kernel's TSC-based printk clock) did not go back and
 *    run at the host's pace, no lockup or clocksource complaint;
 *  - MemTotal has the DIMM, the file's md5 is unchanged;
 *  - device_del: Linux offlines the memory (moving the file out), ejects
 *    it, DEVICE_DELETED arrives, MemTotal shrinks, the md5 is unchanged.
 * A second destination restores from the same file and goes on too.
 *
 * The transport is one table entry (struct transport): file:, then a live
 * migration over unix: (the destination listening first, started from
 * x-query-cmdline's options, -S: the DIMM checked before it runs). Both
 * move the same source: booting Linux is most of this test's time, and a
 * file snapshot leaves its source running, so the unix: case migrates
 * what the file: case saved from (it boots one itself when run alone).
 * Needs guest kernel code at hardware speed (suite ring0): skips below
 * LINUX_MIN_RING0_MIPS, saying what it measured.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

#include "linuxenv.h"
#include "qmpclient.h"
#include "vmrunner.h"

#define TIMEOUT_MS      120000
#define DIMM_ADDR       ((uint64_t)0x100000000)
#define DIMM_SIZE       ((uint64_t)512 << 20)
#define DIMM_KB         (DIMM_SIZE >> 10)
#define SAMPLES         8
#define SAMPLE_STRIDE   (16ULL << 20)      /* file offsets 0, 16M, ... */
#define SAMPLE_LEN      32
#define HOLD_US         (25 * G_USEC_PER_SEC)

struct node {
    struct vm *vm;
    struct qmp *qmp;
    char *sock;
};

/* A guest's clocks: /proc/uptime and a printk timestamp (sched_clock,
 * from the TSC through kvm-clock or the TSC clocksource). */
struct guest_clock {
    double uptime, kmsg;
    char *clocksource;
};

struct env {
    char *dir, *kernel, *initrd;
    struct node src;    /* booted once, shared by the transports */
    uint64_t base_kb;
    char *md5;
    guint8 samples[SAMPLES][SAMPLE_LEN];
    bool in_dimm[SAMPLES];
    struct guest_clock before;
    int complaints;     /* the source's, before the migration */
    int migrations;     /* of the shared source so far */
    int marks;
};

/* How the stream goes from source to destination. */
struct transport {
    const char *name;
    /* The URI both sides use, in dir. */
    char *(*uri)(const char *dir);
    /* The destination must be waiting before the source sends. */
    bool destination_first;
    /* The stream stays (a file): a second destination can read it, and
     * the source goes on (a file snapshot). */
    bool replayable;
    /* Hold the destination past Linux's RCU stall timeout before cont
     * (once is enough: the file: case). */
    bool hold;
};

static char *file_uri(const char *dir)
{
    return g_strdup_printf("file:%s/linux.snap", dir);
}

static char *unix_uri(const char *dir)
{
    return g_strdup_printf("unix:%s/linux-mig.sock", dir);
}

static const struct transport transports[] = {
    { "file", file_uri, false, true, true },
    { "unix", unix_uri, true, false, false },
};

/* ---- one hotmem ---------------------------------------------------- */

static void node_start(struct env *e, struct node *n, const char *name,
                       char **args)
{
    g_autofree char *spec = NULL;
    GPtrArray *argv = g_ptr_array_new();

    n->sock = g_strdup_printf("%s/%s.sock", e->dir, name);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", n->sock);
    for (; *args; args++)
        g_ptr_array_add(argv, *args);
    g_ptr_array_add(argv, "-qmp");
    g_ptr_array_add(argv, spec);
    g_ptr_array_add(argv, NULL);
    n->vm = vm_spawn((const char *const *)argv->pdata);
    g_ptr_array_free(argv, TRUE);
    n->qmp = qmp_connect(n->sock, TIMEOUT_MS);
    qmp_on_closed(n->qmp, vm_explain_exit, n->vm);
    g_assert_nonnull(n->qmp);
}

static void node_stop(struct node *n)
{
    if (n->qmp)
        qmp_close(n->qmp);
    if (n->vm)
        vm_free(n->vm);
    g_free(n->sock);
    memset(n, 0, sizeof(*n));
}

/* The guest's line starting with prefix (g_free it); fails the test with
 * the console and stderr when it does not come. */
static char *guest_line(struct node *n, const char *prefix)
{
    char *line = vm_wait_line(n->vm, prefix, TIMEOUT_MS);

    if (!line)
        g_error("no console line '%s'\n--- console:\n%s\n--- stderr:\n%s",
                prefix, vm_console(n->vm), vm_stderr(n->vm));
    if (strstr(line, "hotmem-linux: error"))
        g_error("the guest said: %s", line);
    return line;
}

/* Sends a console command and waits for the answer starting with prefix. */
static char *guest_ask(struct node *n, const char *cmd, const char *prefix)
{
    g_assert_true(vm_send(n->vm, cmd));
    return guest_line(n, prefix);
}

/* A shell command the guest runs; its output is read by the caller. */
static void guest_sh(struct node *n, const char *script)
{
    g_autofree char *cmd = g_strconcat("sh ", script, NULL);

    g_assert_true(vm_send(n->vm, cmd));
}

static void guest_sh_done(struct node *n)
{
    g_autofree char *line = guest_line(n, "hotmem-linux: sh status=");

    g_assert_cmpstr(line, ==, "hotmem-linux: sh status=0");
}

static void wait_memtotal(struct node *n, uint64_t kb)
{
    g_autofree char *cmd = g_strdup_printf("wait-memtotal %" G_GUINT64_FORMAT,
                                           kb);
    g_autofree char *want = g_strdup_printf("hotmem-linux: memtotal-kb=%"
                                            G_GUINT64_FORMAT, kb);
    g_autofree char *line = guest_ask(n, cmd, "hotmem-linux: memtotal-kb=");

    g_assert_cmpstr(line, ==, want);
}

static void guest_clock_read(struct env *e, struct node *n,
                             struct guest_clock *c)
{
    g_autofree char *script = NULL, *line = NULL;
    g_auto(GStrv) words = NULL;

    /* The printk clock of a message written now: sched_clock. */
    script = g_strdup_printf(
        "echo lm14-mark-%d >/dev/kmsg; "
        "echo \"hotmem-linux: clock uptime=$(cut -d' ' -f1 /proc/uptime)"
        " kmsg=$(dmesg | grep 'lm14-mark-%d$' | tail -n1 | tr -d '[]' |"
        " awk '{print $1}')"
        " cs=$(cat /sys/devices/system/clocksource/clocksource0/"
        "current_clocksource)\"", e->marks, e->marks);
    e->marks++;
    guest_sh(n, script);
    line = guest_line(n, "hotmem-linux: clock ");
    guest_sh_done(n);
    words = g_strsplit(line + strlen("hotmem-linux: clock "), " ", -1);
    g_assert_cmpuint(g_strv_length(words), ==, 3);
    g_assert_true(g_str_has_prefix(words[0], "uptime="));
    g_assert_true(g_str_has_prefix(words[1], "kmsg="));
    g_assert_true(g_str_has_prefix(words[2], "cs="));
    c->uptime = g_ascii_strtod(words[0] + 7, NULL);
    c->kmsg = g_ascii_strtod(words[1] + 5, NULL);
    g_free(c->clocksource);
    c->clocksource = g_strdup(words[2] + 3);
    g_assert_cmpfloat(c->uptime, >, 0);
    g_assert_cmpfloat(c->kmsg, >, 0);
}

static char *guest_md5(struct node *n)
{
    g_autofree char *line = NULL;

    guest_sh(n, "echo \"hotmem-linux: md5 $(md5sum /tmp/pattern |"
                " cut -d' ' -f1)\"");
    line = guest_line(n, "hotmem-linux: md5 ");
    guest_sh_done(n);
    return g_strdup(line + strlen("hotmem-linux: md5 "));
}

/* Lockups, stalls and clock trouble the kernel reported so far. */
#define COMPLAINTS "soft lockup|hung task|rcu.*stall|unstable|clocksource.*skew"

static int complaints(struct node *n)
{
    g_autofree char *line = NULL;

    guest_sh(n, "echo \"hotmem-linux: complaints $(dmesg | grep -ciE '"
                COMPLAINTS "')\"");
    line = guest_line(n, "hotmem-linux: complaints ");
    guest_sh_done(n);
    return atoi(line + strlen("hotmem-linux: complaints "));
}

/* None since the source's count before the migration. */
static void expect_no_new_complaints(struct env *e, struct node *n)
{
    if (complaints(n) == e->complaints)
        return;
    guest_sh(n, "dmesg | grep -iE '" COMPLAINTS "'; dmesg | tail -n 30");
    guest_sh_done(n);
    g_error("the restored kernel complained:\n%s", vm_console(n->vm));
}

static char *run_state(struct node *n)
{
    json_object *r = qmp_return(n->qmp, "{\"execute\": \"query-status\"}");
    char *s = g_strdup(json_object_get_string(json_object_object_get(r,
                                                                  "status")));

    json_object_put(r);
    return s;
}

static char *wait_state_change(struct node *n, const char *state)
{
    for (int i = 0; i < TIMEOUT_MS / 100; i++) {
        char *s = run_state(n);

        if (strcmp(s, state))
            return s;
        g_free(s);
        g_usleep(100000);
    }
    g_error("still %s after %d ms; stderr:\n%s", state, TIMEOUT_MS,
            vm_stderr(n->vm));
}

/* ---- the DIMM seen from the host ----------------------------------- */

/* Which samples start a page of the DIMM's memory (pmemsave). */
static void dimm_samples(struct env *e, struct node *n, const char *name,
                         bool found[SAMPLES])
{
    g_autofree char *path = g_build_filename(e->dir, name, NULL);
    const guint8 *mem;
    int fd;

    qmp_ok(n->qmp, "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": "
           "%" G_GUINT64_FORMAT ", \"size\": %" G_GUINT64_FORMAT
           ", \"filename\": \"%s\"}}", DIMM_ADDR, DIMM_SIZE, path);
    fd = open(path, O_RDONLY);
    g_assert_cmpint(fd, >=, 0);
    mem = mmap(NULL, DIMM_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
    g_assert_true(mem != MAP_FAILED);
    close(fd);
    memset(found, 0, SAMPLES * sizeof(bool));
    for (uint64_t off = 0; off < DIMM_SIZE; off += 4096) {
        for (int i = 0; i < SAMPLES; i++) {
            if (!memcmp(mem + off, e->samples[i], SAMPLE_LEN))
                found[i] = true;
        }
    }
    munmap((void *)mem, DIMM_SIZE);
    g_unlink(path);
}

/* ---- the steps ------------------------------------------------------ */

static void source_boot(struct env *e, struct node *src)
{
    char *args[] = { "-m", "512M,slots=4,maxmem=8G", "-smp", "2",
                     "-kernel", e->kernel, "-initrd", e->initrd,
                     "-append", "console=ttyS0 quiet", NULL };
    g_autofree char *ready = NULL, *range = NULL;
    json_object *ev;

    node_start(e, src, "src", args);
    ready = guest_line(src, "hotmem-linux: ready memtotal-kb=");
    e->base_kb = g_ascii_strtoull(ready + strlen("hotmem-linux: ready "
                                                 "memtotal-kb="), NULL, 10);
    g_assert_nonnull(strstr(ready, "policy=online_movable"));
    qmp_ok(src->qmp, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": \"m1\", "
           "\"size\": %" G_GUINT64_FORMAT "}}", DIMM_SIZE);
    qmp_ok(src->qmp, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"d1\", \"memdev\": \"m1\"}}");
    ev = qmp_wait_event(src->qmp, "ACPI_DEVICE_OST", TIMEOUT_MS);
    g_assert_nonnull(ev);
    json_object_put(ev);
    wait_memtotal(src, e->base_kb + DIMM_KB);
    range = guest_ask(src, "range 0x100000000 0x20000000",
                      "hotmem-linux: range ");
    g_assert_cmpstr(range, ==, "hotmem-linux: range addr=0x100000000 "
                    "size=0x20000000 blocks=4 online=4 movable=4 normal=0");
}

/* 128 MiB of random data in tmpfs: its md5 and a sample every 16 MiB. */
static void source_pattern(struct env *e, struct node *src)
{
    int in = 0;

    guest_sh(src, "dd if=/dev/urandom of=/tmp/pattern bs=1M count=128 "
                  "2>/dev/null");
    guest_sh_done(src);
    e->md5 = guest_md5(src);
    g_assert_cmpuint(strlen(e->md5), ==, 32);
    guest_sh(src, "for k in 0 1 2 3 4 5 6 7; do echo \"hotmem-linux: sample"
                  " $k $(od -An -tx1 -N32 -j $((k * 16777216)) /tmp/pattern"
                  " | tr -d ' \\n')\"; done");
    for (int i = 0; i < SAMPLES; i++) {
        g_autofree char *want = g_strdup_printf("hotmem-linux: sample %d ",
                                                i);
        g_autofree char *line = guest_line(src, want);
        const char *hex = line + strlen(want);

        g_assert_cmpuint(strlen(hex), ==, 2 * SAMPLE_LEN);
        for (int b = 0; b < SAMPLE_LEN; b++) {
            char byte[3] = { hex[2 * b], hex[2 * b + 1], 0 };

            e->samples[i][b] = (guint8)g_ascii_strtoull(byte, NULL, 16);
        }
    }
    guest_sh_done(src);
    /* Movable page cache comes from ZONE_MOVABLE first: the DIMM. */
    dimm_samples(e, src, "src-dimm", e->in_dimm);
    for (int i = 0; i < SAMPLES; i++)
        in += e->in_dimm[i];
    g_test_message("%d of %d samples of the file are in the DIMM", in,
                   SAMPLES);
    g_assert_cmpint(in, >=, SAMPLES / 2);
}

/* The destination's options: x-query-cmdline's. */
static GPtrArray *source_options(struct node *src)
{
    json_object *r = qmp_return(src->qmp,
                                "{\"execute\": \"x-query-cmdline\"}");
    json_object *args = json_object_object_get(r, "args");
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    g_test_message("destination: %s", json_object_get_string(
                       json_object_object_get(r, "cmdline")));
    for (size_t i = 0; i < json_object_array_length(args); i++)
        g_ptr_array_add(argv, g_strdup(json_object_get_string(
                                  json_object_array_get_idx(args, i))));
    json_object_put(r);
    return argv;
}

/* migrate, until completed. */
static void source_migrate(struct env *e, struct node *src, const char *uri)
{
    g_autofree char *status = NULL;

    /* Where the file's pages are now (the kernel may have moved some
     * since the last migration): what the destination must show. */
    if (e->migrations++)
        dimm_samples(e, src, "src-dimm", e->in_dimm);
    e->complaints = complaints(src);
    guest_clock_read(e, src, &e->before);
    qmp_ok(src->qmp, "{\"execute\": \"migrate\", \"arguments\": "
           "{\"uri\": \"%s\"}}", uri);
    for (int i = 0; i < TIMEOUT_MS / 100; i++) {
        json_object *info = qmp_return(src->qmp,
                                       "{\"execute\": \"query-migrate\"}");

        g_free(status);
        status = g_strdup(json_object_get_string(
                              json_object_object_get(info, "status")));
        if (!strcmp(status, "failed"))
            g_error("migration failed: %s", json_object_to_json_string(info));
        json_object_put(info);
        if (!strcmp(status, "completed"))
            break;
        g_usleep(100000);
    }
    g_assert_cmpstr(status, ==, "completed");
}

static void destination_start(struct env *e, struct node *dst,
                              const char *name, GPtrArray *options,
                              const char *uri, bool held)
{
    GPtrArray *argv = g_ptr_array_new();

    for (guint i = 0; i < options->len; i++)
        g_ptr_array_add(argv, options->pdata[i]);
    if (held)
        g_ptr_array_add(argv, "-S");
    g_ptr_array_add(argv, "-incoming");
    g_ptr_array_add(argv, (gpointer)uri);
    g_ptr_array_add(argv, NULL);
    node_start(e, dst, name, (char **)argv->pdata);
    g_ptr_array_free(argv, TRUE);
}

/* The restored guest goes on from where it was. */
static void check_goes_on(struct env *e, struct node *dst)
{
    struct guest_clock now = { 0 }, later = { 0 };
    g_autofree char *md5 = NULL, *range = NULL, *alive = NULL;
    json_object *devs;

    alive = guest_ask(dst, "status", "hotmem-linux: status ");
    g_assert_nonnull(strstr(alive, "policy=online_movable"));
    guest_clock_read(e, dst, &now);
    g_test_message("clock before migration: uptime %.2f kmsg %.6f (%s); "
                   "after: uptime %.2f kmsg %.6f (%s)", e->before.uptime,
                   e->before.kmsg, e->before.clocksource, now.uptime,
                   now.kmsg, now.clocksource);
    g_assert_cmpstr(now.clocksource, ==, e->before.clocksource);
    g_assert_cmpfloat(now.uptime, >=, e->before.uptime);
    g_assert_cmpfloat(now.kmsg, >=, e->before.kmsg);
    /* And they run: a second of guest sleep is about a second on each. */
    guest_sh(dst, "sleep 1");
    guest_sh_done(dst);
    guest_clock_read(e, dst, &later);
    g_assert_cmpfloat(later.uptime - now.uptime, >=, 0.9);
    g_assert_cmpfloat(later.uptime - now.uptime, <, 30);
    g_assert_cmpfloat(later.kmsg - now.kmsg, >=, 0.9);
    g_assert_cmpfloat(later.kmsg - now.kmsg, <, 30);
    g_free(now.clocksource);
    g_free(later.clocksource);
    wait_memtotal(dst, e->base_kb + DIMM_KB);
    range = guest_ask(dst, "range 0x100000000 0x20000000",
                      "hotmem-linux: range ");
    g_assert_cmpstr(range, ==, "hotmem-linux: range addr=0x100000000 "
                    "size=0x20000000 blocks=4 online=4 movable=4 normal=0");
    md5 = guest_md5(dst);
    g_assert_cmpstr(md5, ==, e->md5);
    devs = qmp_return(dst->qmp, "{\"execute\": \"query-memory-devices\"}");
    g_assert_cmpuint(json_object_array_length(devs), ==, 1);
    g_assert_true(json_object_get_boolean(json_object_object_get(
        json_object_object_get(json_object_array_get_idx(devs, 0), "data"),
        "hotplugged")));
    json_object_put(devs);
    expect_no_new_complaints(e, dst);
}

/* device_del: Linux moves the file out, offlines, ejects. */
static void check_removable(struct env *e, struct node *dst)
{
    g_autofree char *md5 = NULL, *range = NULL;
    json_object *ev;

    qmp_ok(dst->qmp, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"d1\"}}");
    ev = qmp_wait_event(dst->qmp, "DEVICE_DELETED", TIMEOUT_MS);
    if (!ev)
        g_error("no DEVICE_DELETED; console:\n%s", vm_console(dst->vm));
    g_assert_cmpstr(json_object_get_string(json_object_object_get(
        json_object_object_get(ev, "data"), "device")), ==, "d1");
    json_object_put(ev);
    wait_memtotal(dst, e->base_kb);
    range = guest_ask(dst, "range 0x100000000 0x20000000",
                      "hotmem-linux: range ");
    g_assert_true(g_str_has_prefix(range, "hotmem-linux: range "
                                   "addr=0x100000000 size=0x20000000 "
                                   "blocks=0 "));
    md5 = guest_md5(dst);
    g_assert_cmpstr(md5, ==, e->md5);
    expect_no_new_complaints(e, dst);
}

/* The source, booted and written to once for every transport. */
static struct node *shared_source(struct env *e)
{
    if (!e->src.vm) {
        source_boot(e, &e->src);
        g_test_message("source: Linux up, DIMM online");
        source_pattern(e, &e->src);
    }
    return &e->src;
}

static void test_migrate(struct env *e, const struct transport *t)
{
    g_autofree char *uri = t->uri(e->dir), *state = NULL;
    g_autoptr(GPtrArray) options = NULL;
    struct node *src = shared_source(e), dst = { 0 }, again = { 0 };
    bool found[SAMPLES];

    options = source_options(src);
    /* Held (-S): the DIMM as the stream had it, before the guest runs. */
    if (t->destination_first)
        destination_start(e, &dst, "dst", options, uri, true);
    source_migrate(e, src, uri);
    g_test_message("migrated to %s", uri);
    if (!t->replayable)
        node_stop(&e->src);     /* postmigrate: the guest is dst's now */
    if (!t->destination_first)
        destination_start(e, &dst, "dst", options, uri, true);
    state = wait_state_change(&dst, "inmigrate");
    g_assert_cmpstr(state, ==, "paused");
    dimm_samples(e, &dst, "dst-dimm", found);
    for (int i = 0; i < SAMPLES; i++)
        g_assert_cmpint(found[i], ==, e->in_dimm[i]);
    /*
     * Held longer than Linux's RCU stall timeout (21 s): guest time must
     * not count it, or the kernel reports stalls once it runs.
     */
    if (t->hold) {
        g_test_message("destination held: the DIMM as saved; holding %d s",
                       (int)(HOLD_US / G_USEC_PER_SEC));
        g_usleep(HOLD_US);
    }
    qmp_ok(dst.qmp, "{\"execute\": \"cont\"}");
    check_goes_on(e, &dst);
    g_test_message("destination runs on; device_del");
    check_removable(e, &dst);
    g_test_message("DIMM removed on the destination");
    node_stop(&dst);

    if (!t->replayable)
        return;
    /* The same file again, running at once (no -S). */
    destination_start(e, &again, "again", options, uri, false);
    g_clear_pointer(&state, g_free);
    state = wait_state_change(&again, "inmigrate");
    g_assert_cmpstr(state, ==, "running");
    check_goes_on(e, &again);
    g_test_message("second restore runs on; device_del");
    check_removable(e, &again);
    node_stop(&again);
}

/* ---- setup ---------------------------------------------------------- */

static struct env env;
static const char *skip_why;

static void run_one(gconstpointer data)
{
    if (skip_why) {
        g_test_skip(skip_why);
        return;
    }
    test_migrate(&env, data);
}

/* NULL when Linux can run here; else why not (a skip). Fails on a broken
 * script. */
static char *prepare(void)
{
    g_autofree char *report = NULL;
    char *why = NULL;
    struct linux_kernel k;
    double mips = 0;
    bool force = g_strcmp0(g_getenv("HOTMEM_LINUX_FORCE"), "1") == 0;

    switch (linux_ring0_mips(&mips, &report, &why)) {
    case LINUX_ENV_SKIP:
        return why;
    case LINUX_ENV_FAIL:
        g_error("%s", why);
    case LINUX_ENV_OK:
        break;
    }
    g_test_message("%s", report);
    if (mips < LINUX_MIN_RING0_MIPS && !force)
        return linux_too_slow_message(mips);
    switch (linux_kernel_get(&k, &why)) {
    case LINUX_ENV_SKIP:
        return why;
    case LINUX_ENV_FAIL:
        g_error("%s", why);
    case LINUX_ENV_OK:
        break;
    }
    env.kernel = g_strdup(k.vmlinux);
    g_test_message("%s %s", k.package, k.version);
    linux_kernel_clear(&k);
    switch (linux_initramfs_get(&env.initrd, &why)) {
    case LINUX_ENV_SKIP:
        return why;
    case LINUX_ENV_FAIL:
        g_error("%s", why);
    case LINUX_ENV_OK:
        break;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    GDir *d;
    const char *name;
    int status;

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(transports); i++) {
        g_autofree char *path = g_strdup_printf(
            "/linux/migrate/%s/dimm-online-movable", transports[i].name);

        g_test_add_data_func(path, &transports[i], run_one);
    }
    env.dir = g_dir_make_tmp("hotmem-linux-migrate-XXXXXX", NULL);
    g_assert_nonnull(env.dir);
    skip_why = prepare();
    status = g_test_run();
    node_stop(&env.src);
    d = g_dir_open(env.dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(env.dir, name, NULL);

        g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(env.dir);
    return status;
}
