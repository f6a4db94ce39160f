/*
 * bench/hotplug-scale: does a hot-plug operation cost the same with 256
 * DIMMs plugged as with 2? Instructions hotmem itself executes for
 *
 *   device_add            the k-th DIMM (k = 2, 64, 128, 256), slots=256;
 *   device_del            with k DIMMs plugged: the request, then the
 *                         guest's eject through the hot-plug register block
 *                         (the memslot goes, DEVICE_DELETED is sent);
 *   query-memory-devices  with k DIMMs, the reply's JSON text, per DIMM;
 *
 * with dirty logging off and on (on: dirty_log_start(), as calc-dirty-rate
 * and migration do), and the ratio #256/#2 (issue 16 asks for <= 1.5).
 *
 * No KVM: the machine is built with its KVM calls injected
 * (machine_config.kvm_stub: memslots, interrupt lines and the dirty log's
 * ioctls go to functions that do nothing), so the figures are hotmem's own
 * cost and none of the kernel's. Instructions are counted by valgrind's
 * callgrind: the program runs itself under it, switches collection on
 * around each measured operation only (client requests) and dumps the
 * count after it; this process reads the dumps. Instruction counts are
 * nearly deterministic, so ROUNDS (default 3) runs per mode, interleaved
 * off/on, show only what varies (allocator, hash-table growth).
 *
 *   bench-hotplug-scale [ROUNDS]
 *
 * Figures, never assertions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <valgrind/callgrind.h>

#include "bus.h"
#include "devices/memhp.h"
#include "machine/machine.h"
#include "machine/machine_internal.h"
#include "mmu/dirty.h"

#include "benchstat.h"

#define MIB         (1ULL << 20)
#define DIMM_SIZE   (128 * MIB)
#define SLOTS       256u

static const unsigned points[] = { 2, 64, 128, 256 };

/* ---- the child: a stub machine, run under callgrind ---- */

static int stub_set_region(void *opaque, uint32_t slot, uint32_t flags,
                           uint64_t gpa, uint64_t size, void *hva)
{
    return 0;
}

static void stub_irq_line(void *opaque, uint32_t gsi, bool level)
{
}

/* No capability offered (bitmap mode); GET_DIRTY_LOG finds nothing. */
static int stub_vm_ioctl(void *opaque, unsigned long request, void *arg)
{
    return 0;
}

static void drop_event(void *opaque, const char *event, const char *key,
                       bool limited, json_object *data)
{
    json_object_put(data);
}

/*
 * The figure for #p is the median of a window of WINDOW operations: the
 * one with p DIMMs and the WINDOW - 1 before it (after it for #2, which
 * has only DIMM #1 before it). A single operation's count moves with the
 * allocator's state; the window shows that spread.
 */
#define WINDOW 5

static unsigned window_start(unsigned p)
{
    return p > WINDOW ? p - WINDOW + 1 : 2;
}

/* The point whose window holds operation k, or 0. */
static unsigned point_of(unsigned k)
{
    for (size_t i = 0; i < G_N_ELEMENTS(points); i++) {
        if (k >= window_start(points[i]) &&
            k < window_start(points[i]) + WINDOW)
            return points[i];
    }
    return 0;
}

static void collect(bool on)
{
    if (on)
        CALLGRIND_TOGGLE_COLLECT;
}

/* Label: WHAT MODE POINT K (K: DIMMs plugged). */
static void dump(bool on, const char *what, const char *mode, unsigned k)
{
    if (on) {
        g_autofree char *label = NULL;

        CALLGRIND_TOGGLE_COLLECT;
        label = g_strdup_printf("%s %s %u %u", what, mode, point_of(k), k);
        CALLGRIND_DUMP_STATS_AT(label);
    }
}

static void object_done(void *opaque, GError *err)
{
    if (err) {
        g_printerr("bench-hotplug-scale: object-add: %s\n", err->message);
        exit(1);
    }
    *(bool *)opaque = true;
}

static void object_add(struct machine *m, unsigned k)
{
    g_autofree char *s = g_strdup_printf(
        "{\"qom-type\": \"memory-backend-ram\", \"id\": \"m%u\", "
        "\"size\": %llu}", k, DIMM_SIZE);
    json_object *args = json_tokener_parse(s);
    bool done = false;

    machine_object_add(m, args, object_done, &done);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
    json_object_put(args);
}

static void guest_write(struct machine *m, unsigned off, uint32_t v)
{
    bus_dispatch(m->bus, BUS_PIO, MEMHP_PORT + off, (uint8_t *)&v,
                 off == 0x14 ? 1 : 4, true);
}

static void must(bool ok, GError *err, const char *what)
{
    if (!ok) {
        g_printerr("bench-hotplug-scale: %s: %s\n", what,
                   err ? err->message : "failed");
        exit(1);
    }
}

static void add_one(struct machine *m, const char *mode, unsigned k)
{
    g_autofree char *s = g_strdup_printf(
        "{\"driver\": \"pc-dimm\", \"id\": \"d%u\", \"memdev\": \"m%u\"}",
        k, k);
    json_object *args = json_tokener_parse(s);
    GError *err = NULL;
    bool ok;

    object_add(m, k);
    collect(point_of(k));
    ok = machine_device_add(m, args, &err);
    dump(point_of(k), "add", mode, k);
    must(ok, err, "device_add");
    json_object_put(args);
    /* The guest acknowledges the insert (not measured). */
    guest_write(m, 0x00, k - 1);
    guest_write(m, 0x14, 0x2);
}

static void query_devices(struct machine *m, const char *mode, unsigned k)
{
    json_object *o;

    collect(true);
    o = machine_query_memory_devices(m);
    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    json_object_put(o);
    dump(true, "query", mode, k);
}

static void del_one(struct machine *m, const char *mode, unsigned k)
{
    g_autofree char *id = g_strdup_printf("d%u", k);
    GError *err = NULL;
    bool ok;

    collect(point_of(k));
    ok = machine_device_del(m, id, &err);
    guest_write(m, 0x00, k - 1);
    guest_write(m, 0x14, 0x4);          /* acknowledge the remove event */
    guest_write(m, 0x14, 0x8);          /* _EJ0 */
    dump(point_of(k), "del", mode, k);
    must(ok, err, "device_del");
}

static int child(const char *mode)
{
    struct machine_kvm_stub stub = { stub_set_region, stub_irq_line, NULL,
                                     40, 32764, stub_vm_ioctl };
    struct machine_config cfg = {
        .ram_size = 256 * MIB, .slots = SLOTS,
        .maxmem = 256 * MIB + SLOTS * DIMM_SIZE, .smp = 1,
        .serial = MACHINE_SERIAL_NONE, .kvm_stub = &stub,
        .emit = drop_event,
    };
    GError *err = NULL;
    struct machine *m = machine_create(&cfg, &err);

    must(m != NULL, err, "machine");
    if (!strcmp(mode, "on"))
        must(dirty_log_start(m->dirty, &err), err, "dirty_log_start");
    for (unsigned k = 1; k <= SLOTS; k++) {
        add_one(m, mode, k);
        if (point_of(k))
            query_devices(m, mode, k);
    }
    for (unsigned k = SLOTS; k >= 1; k--)
        del_one(m, mode, k);
    machine_destroy(m);
    return 0;
}

/* ---- the parent: runs the child under callgrind, reads its dumps ---- */

/*
 * "WHAT MODE POINT K" -> results["WHAT MODE POINT"], per DIMM for the
 * query.
 */
static void add_result(GHashTable *results, const char *label, double ir)
{
    char what[16], mode[8];
    unsigned point, k;
    g_autofree char *key = NULL;
    GArray *a;

    if (sscanf(label, "%15s %7s %u %u", what, mode, &point, &k) != 4)
        return;
    if (!strcmp(what, "query"))
        ir /= k;
    key = g_strdup_printf("%s %s %u", what, mode, point);
    a = g_hash_table_lookup(results, key);
    if (!a) {
        a = g_array_new(FALSE, FALSE, sizeof(double));
        g_hash_table_insert(results, g_steal_pointer(&key), a);
    }
    g_array_append_val(a, ir);
}

/* results: "WHAT MODE POINT" -> GArray of double. */
static void read_dumps(const char *dir, GHashTable *results)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;
        const char *label = NULL;
        double ir = -1;

        if (!g_file_get_contents(path, &text, NULL, NULL))
            continue;
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
            if (g_str_has_prefix(*l, "desc: Trigger: Client Request: "))
                label = *l + strlen("desc: Trigger: Client Request: ");
            else if (g_str_has_prefix(*l, "summary: "))
                ir = g_ascii_strtod(*l + strlen("summary: "), NULL);
            else if (g_str_has_prefix(*l, "totals: ") && ir < 0)
                ir = g_ascii_strtod(*l + strlen("totals: "), NULL);
        }
        if (label && ir >= 0)
            add_result(results, label, ir);
        g_unlink(path);
    }
}

static bool run_child(const char *self, const char *mode, GHashTable *results)
{
    g_autofree char *dir = g_dir_make_tmp("hotplug-scale-XXXXXX", NULL);
    g_autofree char *out = g_strdup_printf("--callgrind-out-file=%s/cg.out",
                                           dir);
    const char *argv[] = { "valgrind", "--tool=callgrind", "-q",
                           "--collect-atstart=no", out, self, "--child",
                           mode, NULL };
    /* Bind every symbol at start: no operation pays for a first call. */
    g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "LD_BIND_NOW",
                                         "1", TRUE);
    g_autoptr(GError) err = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_SEARCH_PATH, NULL,
                      NULL, NULL, NULL, &status, &err) ||
        !g_spawn_check_wait_status(status, &err)) {
        g_printerr("bench-hotplug-scale: valgrind: %s\n", err->message);
        return false;
    }
    read_dumps(dir, results);
    g_rmdir(dir);
    return true;
}

/* Median and range of one point's operations; false: none. */
static bool figure(GHashTable *results, const char *what, const char *mode,
                   unsigned k, double *med, double *lo, double *hi)
{
    g_autofree char *label = g_strdup_printf("%s %s %u", what, mode, k);
    GArray *a = g_hash_table_lookup(results, label);
    double *v;

    if (!a || !a->len)
        return false;
    v = (double *)a->data;
    *med = bench_median(v, a->len);
    *lo = v[0];
    *hi = v[a->len - 1];
    return true;
}

static void print_row(GHashTable *results, const char *title,
                      const char *what, const char *mode)
{
    double first = 0, last = 0;

    printf("%-28s %-4s", title, mode);
    for (size_t i = 0; i < G_N_ELEMENTS(points); i++) {
        double med, lo, hi;

        g_autofree char *cell = NULL;

        if (!figure(results, what, mode, points[i], &med, &lo, &hi)) {
            printf(" %22s", "-");
            continue;
        }
        cell = g_strdup_printf("%.1f [%.1f-%.1f]", med / 1e3, lo / 1e3,
                               hi / 1e3);
        printf(" %22s", cell);
        if (i == 0)
            first = med;
        last = med;
    }
    printf("  %5.2fx\n", first > 0 ? last / first : 0);
}

int main(int argc, char **argv)
{
    g_autoptr(GHashTable) results = NULL;
    g_autofree char *self = NULL;
    unsigned rounds;

    if (argc == 3 && !strcmp(argv[1], "--child"))
        return child(argv[2]);
    rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 3;
    if (!g_find_program_in_path("valgrind")) {
        printf("bench-hotplug-scale: valgrind is not installed (apt install "
               "valgrind): no figures\n");
        return 0;
    }
    self = g_file_read_link("/proc/self/exe", NULL);
    results = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify)g_array_unref);
    for (unsigned r = 0; r < rounds; r++) {
        if (!run_child(self, "off", results) ||
            !run_child(self, "on", results))
            return 1;
    }
    printf("environment: no KVM: the machine's KVM calls (memslots, "
           "interrupt lines, dirty-log ioctls) go to stubs that do nothing, "
           "so these are hotmem's own instructions, none of the kernel's; "
           "counted by valgrind's callgrind\n");
    printf("hot-plug cost at the k-th DIMM (128 MiB each, slots=%u), "
           "thousands of instructions: median [min-max] of the %u "
           "operations k-%u..k (#2: 2..%u) over %u rounds; dirty log "
           "off/on\n", SLOTS, WINDOW, WINDOW - 1, WINDOW + 1, rounds);
    printf("%-28s %-4s", "operation", "log");
    for (size_t i = 0; i < G_N_ELEMENTS(points); i++) {
        g_autofree char *h = g_strdup_printf("#%u", points[i]);

        printf(" %22s", h);
    }
    printf("  #256/#2\n");
    print_row(results, "device_add", "add", "off");
    print_row(results, "device_add", "add", "on");
    print_row(results, "device_del (+ guest eject)", "del", "off");
    print_row(results, "device_del (+ guest eject)", "del", "on");
    print_row(results, "query-memory-devices /DIMM", "query", "off");
    print_row(results, "query-memory-devices /DIMM", "query", "on");
    printf("target (issue 16): #256/#2 <= 1.5 for each row\n");
    return 0;
}
