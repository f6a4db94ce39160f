/*
 * The soak (suite slow, docs/testing.md): hundreds of hot-add/hot-remove
 * cycles against the real binary, then the VMM must be back where it
 * started.
 *
 *   /soak/hotmem-guest  HOTMEM_SOAK_CYCLES (1000) cycles with the bundled
 *                       guest: sizes 2 MiB..2 GiB, ram/memfd/file backends,
 *                       random free slots and NUMA nodes, some ejects the
 *                       guest refuses first, some removals sent right after
 *                       the add; guest memory checked after every add.
 *   /soak/linux         HOTMEM_SOAK_LINUX_CYCLES (100) cycles with Debian's
 *                       kernel (online_movable): MemTotal grows and shrinks
 *                       by the DIMM, and data the guest wrote while the
 *                       DIMM was online survives its removal.
 *
 * At the end: open descriptors, threads, memslots equal to the start, and
 * heap in use, resident memory and KVM's mapped pages back within a small
 * allowance (printed). HOTMEM_SOAK_SEED picks the sequence (default: the
 * time; the seed is printed so a failure can be replayed).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "linuxenv.h"
#include "qmpclient.h"
#include "vmrunner.h"

#define MIB (1024ull * 1024)
#define GUEST_TIMEOUT_MS 60000
#define MAX_SLOTS 8

/* What a finished soak may keep beyond what it started with. */
#define HEAP_ALLOWANCE (256 * 1024)
#define RSS_ALLOWANCE (4 * MIB)
#define PAGES_ALLOWANCE 1024

enum backend_kind { BACKEND_RAM, BACKEND_MEMFD, BACKEND_FILE, N_BACKENDS };
static const char *const backend_names[] = { "ram", "memfd", "file" };

struct dimm {
    bool live;
    unsigned n;                 /* dN, mN */
    enum backend_kind kind;
    uint64_t addr, size, mark;  /* mark: the value poked at addr + 8 */
    char *file;
    char *sum;                  /* Linux: the data written while online */
};

/* The VMM's own footprint, from x-query-process, x-query-memslots and
 * query-stats. */
struct footprint {
    int64_t rss, heap, fds, threads;  /* rss: the VMM's, not the guest's */
    unsigned memslots;
    uint64_t mapped;            /* KVM's pages_4k + pages_2m + pages_1g */
    bool have_mapped;
};

struct soak {
    bool linux_guest;
    struct vm *vm;
    struct qmp *q;
    char *dir;
    GRand *rand;
    struct dimm slots[MAX_SLOTS];
    unsigned nslots, next_n, live;
    uint64_t base_kb;           /* Linux: MemTotal without DIMMs */
    /* What happened, for the closing figures. */
    unsigned adds, removes, refused, quick, by_kind[N_BACKENDS];
    uint64_t bytes_added;
};

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;

    g_assert_true(json_object_object_get_ex(o, key, &v));
    return v;
}

static int64_t int_member(json_object *o, const char *key)
{
    return json_object_get_int64(member(o, key));
}

/* The next `name` event whose data has device == id (or any with NULL),
 * skipping the others of that name. */
static json_object *wait_event(struct soak *s, const char *name,
                               const char *id)
{
    for (;;) {
        json_object *e = qmp_wait_event(s->q, name, GUEST_TIMEOUT_MS);
        json_object *data, *info, *dev = NULL;

        if (!e)
            g_error("soak: no %s event for %s within %d ms", name,
                    id ? id : "any device", GUEST_TIMEOUT_MS);
        data = member(e, "data");
        info = json_object_object_get_ex(data, "info", &info) ? info : data;
        json_object_object_get_ex(info, "device", &dev);
        if (!id || (dev && !strcmp(json_object_get_string(dev), id)))
            return e;
        json_object_put(e);
    }
}

static char *console(struct soak *s, const char *prefix)
{
    char *line = vm_wait_line(s->vm, prefix, GUEST_TIMEOUT_MS);

    if (!line) {
        /*
         * Input raises the UART's receive interrupt, whose handler also
         * sends what waits to be sent: output that resumes now means the
         * guest had lost a transmit interrupt, not hung.
         */
        gsize had = strlen(vm_console(s->vm));

        if (s->linux_guest && vm_send(s->vm, "")) {
            g_free(vm_wait_line(s->vm, "\x01never", 5000));
            g_printerr("after a newline on the console, %s\n",
                       strlen(vm_console(s->vm)) > had ? "output resumed"
                                                       : "nothing more came");
        }
        vm_explain_stall(s->vm);
        g_error("soak: no console line \"%s...\" within %d ms; the "
                "console's last lines:\n%s", prefix, GUEST_TIMEOUT_MS,
                vm_console_tail(s->vm, 12));
    }
    return line;
}

/* Sends a guest command and returns its reply line (prefix must match). */
static char *command(struct soak *s, const char *prefix, const char *fmt,
                     ...) G_GNUC_PRINTF(3, 4);
static char *command(struct soak *s, const char *prefix, const char *fmt,
                     ...)
{
    g_autofree char *cmd = NULL;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_assert_true(vm_send(s->vm, cmd));
    return console(s, prefix);
}

static uint64_t peek(struct soak *s, uint64_t addr)
{
    g_autofree char *want = g_strdup_printf("hotmem-guest: peek addr=0x%"
                                            PRIx64 " value=", addr);
    g_autofree char *line = command(s, want, "peek 0x%" PRIx64, addr);

    return g_ascii_strtoull(line + strlen(want), NULL, 16);
}

static void poke(struct soak *s, uint64_t addr, uint64_t value)
{
    g_autofree char *want = g_strdup_printf("hotmem-guest: poke addr=0x%"
                                            PRIx64 " value=0x%" PRIx64,
                                            addr, value);
    g_free(command(s, want, "poke 0x%" PRIx64 " 0x%" PRIx64, addr, value));
}

static void footprint(struct soak *s, struct footprint *f)
{
    json_object *p = qmp_return(s->q, "{\"execute\": \"x-query-process\"}");
    json_object *m = qmp_return(s->q, "{\"execute\": \"x-query-memslots\"}");
    json_object *st = qmp_return(s->q, "{\"execute\": \"query-stats\", "
                                 "\"arguments\": {\"target\": \"vm\", "
                                 "\"providers\": [{\"provider\": \"kvm\", "
                                 "\"names\": [\"pages_4k\", \"pages_2m\", "
                                 "\"pages_1g\"]}]}}");

    f->rss = int_member(p, "rss-vmm");
    f->heap = int_member(p, "heap-in-use");
    f->fds = int_member(p, "fds");
    f->threads = int_member(p, "threads");
    f->memslots = (unsigned)json_object_array_length(member(m, "slots"));
    /* The process has its monitor socket, KVM fds and guest RAM at least. */
    g_assert_cmpint(f->fds, >=, 3);
    g_assert_cmpint(f->rss, >, 0);
    g_assert_cmpint(f->heap, >, 0);
    g_assert_cmpint(f->threads, >=, 2);
    f->mapped = 0;
    f->have_mapped = json_object_array_length(st) > 0;
    if (f->have_mapped) {
        json_object *stats = member(json_object_array_get_idx(st, 0),
                                    "stats");

        for (size_t i = 0; i < json_object_array_length(stats); i++)
            f->mapped += (uint64_t)int_member(
                json_object_array_get_idx(stats, i), "value");
    }
    json_object_put(p);
    json_object_put(m);
    json_object_put(st);
}

/* ---- one DIMM ---------------------------------------------------------- */

static uint64_t pick_size(struct soak *s)
{
    /* Linux needs whole 128 MiB memory blocks. */
    static const uint64_t guest_sizes[] = {
        2 * MIB, 4 * MIB, 32 * MIB, 128 * MIB, 256 * MIB, 512 * MIB,
        1024 * MIB, 2048 * MIB,
    };
    static const uint64_t linux_sizes[] = { 128 * MIB, 256 * MIB, 512 * MIB };

    if (s->linux_guest)
        return linux_sizes[g_rand_int_range(s->rand, 0, 3)];
    return guest_sizes[g_rand_int_range(s->rand, 0, G_N_ELEMENTS(guest_sizes))];
}

static int free_slot(struct soak *s)
{
    unsigned start = (unsigned)g_rand_int_range(s->rand, 0, (gint32)s->nslots);

    for (unsigned i = 0; i < s->nslots; i++) {
        unsigned k = (start + i) % s->nslots;

        if (!s->slots[k].live)
            return (int)k;
    }
    return -1;
}

static void object_add(struct soak *s, struct dimm *d)
{
    switch (d->kind) {
    case BACKEND_RAM:
    case BACKEND_MEMFD:
        qmp_ok(s->q, "{\"execute\": \"object-add\", \"arguments\": "
               "{\"qom-type\": \"memory-backend-%s\", \"id\": \"m%u\", "
               "\"size\": %" PRIu64 "}}", backend_names[d->kind], d->n,
               d->size);
        break;
    default:
        d->file = g_strdup_printf("%s/m%u", s->dir, d->n);
        qmp_ok(s->q, "{\"execute\": \"object-add\", \"arguments\": "
               "{\"qom-type\": \"memory-backend-file\", \"id\": \"m%u\", "
               "\"size\": %" PRIu64 ", \"mem-path\": \"%s\", "
               "\"share\": true}}", d->n, d->size, d->file);
        break;
    }
}

static void object_del(struct soak *s, struct dimm *d)
{
    qmp_ok(s->q, "{\"execute\": \"object-del\", \"arguments\": "
           "{\"id\": \"m%u\"}}", d->n);
    if (d->file) {
        g_unlink(d->file);
        g_clear_pointer(&d->file, g_free);
    }
}

/* The guest's eject completes the removal: DEVICE_DELETED, then the
 * backend goes. */
static void finish_removal(struct soak *s, unsigned slot, struct dimm *d)
{
    g_autofree char *id = g_strdup_printf("d%u", d->n);

    if (!s->linux_guest) {
        g_autofree char *want = g_strdup_printf("hotmem-guest: dimm slot=%u "
                                                "ejected", slot);
        g_free(console(s, want));
    }
    json_object_put(wait_event(s, "DEVICE_DELETED", id));
    object_del(s, d);
    d->live = false;
    s->live--;
    s->removes++;
}

/* Linux: wait until MemTotal is base + what is plugged (the guest gives
 * up after 120 s and says so; that line never matches, so this fails). */
static void linux_wait_memtotal(struct soak *s)
{
    uint64_t kb = s->base_kb;
    g_autofree char *want = NULL;

    for (unsigned i = 0; i < s->nslots; i++)
        if (s->slots[i].live)
            kb += s->slots[i].size / 1024;
    want = g_strdup_printf("hotmem-linux: memtotal-kb=%" PRIu64, kb);
    g_free(command(s, want, "wait-memtotal %" PRIu64 " 120", kb));
}

/* Linux: the md5 line of /tmp/dN, which write first fills with 8 MiB of
 * random bytes. */
static char *linux_file_sum(struct soak *s, unsigned n, bool write)
{
    g_autofree char *want = g_strdup_printf("hotmem-linux: sum d%u ", n);
    g_autofree char *fill = write ? g_strdup_printf(
        "dd if=/dev/urandom of=/tmp/d%u bs=1M count=8 2>/dev/null; ", n)
                                  : g_strdup("");

    return command(s, want, "sh %secho hotmem-linux: sum d%u "
                   "$(md5sum </tmp/d%u)", fill, n, n);
}

static void check_guest_memory(struct soak *s, struct dimm *d)
{
    /* The words after the guest's own check pattern: a fresh backend
     * reads zeros, at both ends, and then keeps what was written. */
    uint64_t lo = d->addr + 8, hi = d->addr + d->size - 16;

    g_assert_cmphex(peek(s, lo), ==, 0);
    g_assert_cmphex(peek(s, hi), ==, 0);
    d->mark = 0x50a0000000000000ull | ((uint64_t)d->n << 16) | d->kind;
    poke(s, lo, d->mark);
    poke(s, hi, ~d->mark);
    g_assert_cmphex(peek(s, lo), ==, d->mark);
    g_assert_cmphex(peek(s, hi), ==, ~d->mark);
    if (d->file) {
        /* share=on: the guest's write is in the file itself. */
        uint64_t v = 0;
        int fd = open(d->file, O_RDONLY);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(pread(fd, &v, 8, 8), ==, 8);
        close(fd);
        g_assert_cmphex(v, ==, d->mark);
    }
}

static void hot_add(struct soak *s)
{
    int slot = free_slot(s);
    struct dimm *d;
    unsigned node;
    bool quick;
    g_autofree char *id = NULL;

    g_assert_cmpint(slot, >=, 0);
    d = &s->slots[slot];
    *d = (struct dimm){ .n = ++s->next_n, .size = pick_size(s),
                        .kind = (enum backend_kind)
                            g_rand_int_range(s->rand, 0, N_BACKENDS) };
    id = g_strdup_printf("d%u", d->n);
    node = s->linux_guest ? 0 : (unsigned)g_rand_int_range(s->rand, 0, 2);
    quick = !s->linux_guest && g_rand_int_range(s->rand, 0, 20) == 0;
    object_add(s, d);
    qmp_ok(s->q, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"%s\", \"memdev\": \"m%u\", "
           "\"slot\": %d, \"node\": %u}}", id, d->n, slot, node);
    d->live = true;
    s->live++;
    s->adds++;
    s->by_kind[d->kind]++;
    s->bytes_added += d->size;
    if (quick) {
        /* Removed before the guest has (necessarily) seen it. */
        qmp_ok(s->q, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"%s\"}}", id);
        s->quick++;
        finish_removal(s, (unsigned)slot, d);
        return;
    }
    json_object_put(wait_event(s, "ACPI_DEVICE_OST", id));
    if (s->linux_guest) {
        /* Online and in use: new data goes where the allocator puts it,
         * the DIMM's ZONE_MOVABLE among others; it must survive the
         * removal, which migrates it out. */
        linux_wait_memtotal(s);
        d->sum = linux_file_sum(s, d->n, true);
        return;
    }
    {
        g_autofree char *want = g_strdup_printf("hotmem-guest: dimm slot=%d ",
                                                slot);
        g_autofree char *line = console(s, want);
        g_autofree char *online = g_strdup_printf(
            "%sonline addr=0x", want);

        g_assert_true(g_str_has_prefix(line, online));
        d->addr = g_ascii_strtoull(line + strlen(online), NULL, 16);
        g_assert_nonnull(strstr(line, " size=0x"));
        g_assert_cmphex(g_ascii_strtoull(strstr(line, " size=0x") + 8, NULL,
                                         16), ==, d->size);
    }
    check_guest_memory(s, d);
}

static void hot_remove(struct soak *s)
{
    unsigned k = (unsigned)g_rand_int_range(s->rand, 0, (gint32)s->live);
    unsigned slot = 0;
    struct dimm *d;
    g_autofree char *id = NULL;

    for (slot = 0; slot < s->nslots; slot++)
        if (s->slots[slot].live && k-- == 0)
            break;
    d = &s->slots[slot];
    id = g_strdup_printf("d%u", d->n);
    if (!s->linux_guest && g_rand_int_range(s->rand, 0, 20) == 0) {
        /* The guest refuses first: the DIMM stays, intact; then a second
         * device_del goes through. */
        g_autofree char *refused = g_strdup_printf(
            "hotmem-guest: dimm slot=%u eject refused", slot);

        g_free(command(s, "hotmem-guest: refuse-eject on", "refuse-eject on"));
        qmp_ok(s->q, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"%s\"}}", id);
        g_free(console(s, refused));
        json_object_put(wait_event(s, "DEVICE_UNPLUG_GUEST_ERROR", id));
        g_free(command(s, "hotmem-guest: refuse-eject off",
                       "refuse-eject off"));
        g_assert_cmphex(peek(s, d->addr + 8), ==, d->mark);
        s->refused++;
    }
    qmp_ok(s->q, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"%s\"}}", id);
    finish_removal(s, slot, d);
    if (s->linux_guest) {
        g_autofree char *sum = NULL;

        linux_wait_memtotal(s);
        sum = linux_file_sum(s, d->n, false);
        g_assert_cmpstr(sum, ==, d->sum);
        g_free(command(s, "hotmem-linux: sh status=0", "sh rm /tmp/d%u",
                       d->n));
        g_clear_pointer(&d->sum, g_free);
    }
}

/* ---- the run ----------------------------------------------------------- */

static bool soak_start(struct soak *s, const char *const *extra)
{
    g_autofree char *sock = NULL, *qmp_arg = NULL;
    g_autofree char *mem = g_strdup_printf("%s,slots=%u,maxmem=%s",
                                           s->linux_guest ? "1G" : "512M",
                                           MAX_SLOTS,
                                           s->linux_guest ? "8G" : "24G");
    const char *args[24] = { "-m", mem, "-qmp" };
    unsigned n = 3;
    const char *seed_env = g_getenv("HOTMEM_SOAK_SEED");
    guint32 seed = seed_env ? (guint32)g_ascii_strtoull(seed_env, NULL, 0)
                            : (guint32)g_get_real_time();

    s->dir = g_dir_make_tmp("hotmem-soak-XXXXXX", NULL);
    sock = g_build_filename(s->dir, "qmp.sock", NULL);
    qmp_arg = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    args[n++] = qmp_arg;
    for (; *extra; extra++)
        args[n++] = *extra;
    args[n] = NULL;
    s->nslots = MAX_SLOTS;
    s->rand = g_rand_new_with_seed(seed);
    printf("# soak: seed %u (HOTMEM_SOAK_SEED=%u replays it)\n", seed, seed);
    s->vm = vm_spawn(args);
    if (s->linux_guest) {
        g_autofree char *ready = console(s, "hotmem-linux: ready memtotal-kb=");

        s->base_kb = g_ascii_strtoull(ready + strlen("hotmem-linux: ready "
                                                     "memtotal-kb="), NULL, 10);
    } else {
        g_free(console(s, "hotmem-guest: ready"));
        g_free(console(s, "hotmem-guest: memory slots=8"));
    }
    s->q = qmp_connect(sock, GUEST_TIMEOUT_MS);
    qmp_on_closed(s->q, vm_explain_exit, s->vm);
    return true;
}

static void soak_end(struct soak *s)
{
    g_autofree char *sock = g_build_filename(s->dir, "qmp.sock", NULL);

    vm_send(s->vm, "poweroff");
    g_assert_cmpint(vm_wait_exit(s->vm, GUEST_TIMEOUT_MS), ==, 0);
    vm_free(s->vm);
    qmp_close(s->q);
    g_unlink(sock);
    g_rmdir(s->dir);
    g_free(s->dir);
    g_rand_free(s->rand);
}

static void report(const char *what, int64_t start, int64_t end)
{
    printf("# soak: %-20s %12" PRId64 " -> %12" PRId64 " (%+" PRId64 ")\n",
           what, start, end, end - start);
}

static void soak_run(struct soak *s, unsigned cycles)
{
    struct footprint before, after;
    gint64 t0;
    unsigned max_live = s->linux_guest ? 3 : 4;

    /* One cycle first, so that what the first hot-plug creates once
     * (threads, rings, caches) is part of the baseline. */
    hot_add(s);
    hot_remove(s);
    footprint(s, &before);
    t0 = g_get_monotonic_time();
    while (s->adds < cycles + 1 || s->live) {
        bool add = s->adds < cycles + 1 &&
                   (s->live == 0 ||
                    (s->live < max_live && g_rand_boolean(s->rand)));

        if (add)
            hot_add(s);
        else
            hot_remove(s);
        if (add && s->adds % (s->linux_guest ? 10 : 100) == 0)
            printf("# soak: %u cycles, %u DIMMs plugged, %.1f s\n",
                   s->adds - 1, s->live,
                   (double)(g_get_monotonic_time() - t0) / 1e6);
    }
    footprint(s, &after);
    printf("# soak: %u adds, %u removes (%u refused first, %u right after "
           "the add), %.1f GiB added; backends ram %u, memfd %u, file %u; "
           "%.1f s\n", s->adds - 1, s->removes - 1, s->refused, s->quick,
           (double)s->bytes_added / (1024.0 * MIB), s->by_kind[BACKEND_RAM],
           s->by_kind[BACKEND_MEMFD], s->by_kind[BACKEND_FILE],
           (double)(g_get_monotonic_time() - t0) / 1e6);
    report("open fds", before.fds, after.fds);
    report("threads", before.threads, after.threads);
    report("memslots", before.memslots, after.memslots);
    report("heap in use (bytes)", before.heap, after.heap);
    report("vmm rss (bytes)", before.rss, after.rss);
    if (before.have_mapped)
        report("kvm mapped pages", (int64_t)before.mapped,
               (int64_t)after.mapped);
    else
        printf("# soak: this KVM has no pages_4k/2m/1g statistics\n");
    g_assert_cmpint(after.fds, ==, before.fds);
    g_assert_cmpint(after.threads, ==, before.threads);
    g_assert_cmpuint(after.memslots, ==, before.memslots);
    g_assert_cmpint(after.heap, <=, before.heap + HEAP_ALLOWANCE);
    g_assert_cmpint(after.rss, <=, before.rss + (int64_t)RSS_ALLOWANCE);
    if (before.have_mapped)
        g_assert_cmpuint(after.mapped, <=, before.mapped + PAGES_ALLOWANCE);
}

static unsigned env_cycles(const char *name, unsigned def)
{
    const char *v = g_getenv(name);

    return v ? (unsigned)g_ascii_strtoull(v, NULL, 10) : def;
}

static void test_hotmem_guest(void)
{
    struct soak s = { 0 };
    static const char *const extra[] = {
        "-object", "memory-backend-ram,id=soak-node0,size=256M",
        "-object", "memory-backend-ram,id=soak-node1,size=256M",
        "-numa", "node,nodeid=0,memdev=soak-node0",
        "-numa", "node,nodeid=1,memdev=soak-node1", NULL,
    };
    const char *why = vm_kvm_unavailable();

    if (why) {
        g_test_skip(why);
        return;
    }
    soak_start(&s, extra);
    soak_run(&s, env_cycles("HOTMEM_SOAK_CYCLES", 1000));
    soak_end(&s);
}

static void test_linux(void)
{
    struct soak s = { .linux_guest = true };
    struct linux_kernel k = { 0 };
    g_autofree char *initrd = NULL, *why = NULL;
    double mips;
    const char *extra[] = { "-smp", "2", "-kernel", NULL, "-initrd", NULL,
                            "-append", "console=ttyS0 quiet", NULL };

    if (vm_kvm_unavailable()) {
        g_test_skip(vm_kvm_unavailable());
        return;
    }
    switch (linux_ring0_mips(&mips, NULL, &why)) {
    case LINUX_ENV_OK:
        break;
    case LINUX_ENV_SKIP:
        g_test_skip(why);
        return;
    default:
        g_error("ring0-mips: %s", why);
    }
    if (mips < LINUX_MIN_RING0_MIPS) {
        g_autofree char *msg = linux_too_slow_message(mips);

        g_test_skip(msg);
        return;
    }
    if (linux_kernel_get(&k, &why) != LINUX_ENV_OK ||
        linux_initramfs_get(&initrd, &why) != LINUX_ENV_OK)
        g_error("the Linux kernel or initramfs: %s", why);
    extra[3] = k.vmlinux;
    extra[5] = initrd;
    soak_start(&s, extra);
    soak_run(&s, env_cycles("HOTMEM_SOAK_LINUX_CYCLES", 100));
    soak_end(&s);
    linux_kernel_clear(&k);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);       /* progress lines as they come */
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/soak/hotmem-guest", test_hotmem_guest);
    g_test_add_func("/soak/linux", test_linux);
    return g_test_run();
}
