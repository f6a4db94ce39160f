/*
 * bench/prealloc: how fast guest memory is preallocated, per thread count,
 * next to the floor and to QEMU:
 *
 *   - floor: this program maps the same size (2 MiB-aligned, as backends
 *     are) and faults it in with one madvise(MADV_POPULATE_WRITE) per
 *     thread on as many threads, with MADV_HUGEPAGE and with no advice
 *     (the host's default: 4 KiB pages where the THP mode is "madvise");
 *   - hotmem: backend_new() + backend_prealloc() of a memory-backend-ram,
 *     with transparent huge pages (the default) and with thp=off;
 *   - QEMU, where qemu-system-x86_64 is installed: the reply time of
 *     object-add memory-backend-ram with prealloc=on and prealloc-threads
 *     (a QEMU with -machine none, started once; object-del after each).
 *
 * Runs interleave (each round runs every variant, in an order rotated
 * from round to round); printed are the median, min and max, GiB/s of the
 * median, the share of the memory that came as transparent huge pages
 * (AnonHugePages after the run) and the ratio to the MADV_HUGEPAGE floor.
 *
 *   bench-prealloc [SIZE [ROUNDS]]      (default 1G and 5)
 *
 * Figures, never assertions (docs/performance.md).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "backend/backend.h"
#include "cli/cli.h"

#include "benchstat.h"
#include "qmpclient.h"
#include "vmrunner.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HUGE (2ULL << 20)
#define MAX_ROUNDS 32

enum variant { FLOOR_HUGE, FLOOR_PLAIN, HOTMEM, HOTMEM_NOTHP, QEMU,
               NR_VARIANTS };

static const char *const variant_names[NR_VARIANTS] = {
    [FLOOR_HUGE] = "floor: MADV_POPULATE_WRITE, MADV_HUGEPAGE",
    [FLOOR_PLAIN] = "floor: MADV_POPULATE_WRITE, no advice",
    [HOTMEM] = "hotmem memory-backend-ram (thp default)",
    [HOTMEM_NOTHP] = "hotmem memory-backend-ram thp=off",
    [QEMU] = "QEMU object-add memory-backend-ram",
};

struct sample {
    double ms;
    double huge;                /* AnonHugePages / size */
};

struct peer {
    struct vm *vm;
    struct qmp *qmp;
    char *dir;
};

/* The AnonHugePages (bytes) of this process's mapping that holds addr. */
static uint64_t anon_huge(const void *addr)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    bool inside = false;

    if (!g_file_get_contents("/proc/self/smaps", &text, NULL, NULL))
        return 0;
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        unsigned long lo, hi;

        if (sscanf(*l, "%lx-%lx ", &lo, &hi) == 2)
            inside = lo <= (uintptr_t)addr && (uintptr_t)addr < hi;
        else if (inside && g_str_has_prefix(*l, "AnonHugePages:"))
            return g_ascii_strtoull(*l + strlen("AnonHugePages:"), NULL,
                                    10) << 10;
    }
    return 0;
}

/* A 2 MiB-aligned anonymous mapping of size bytes (over-map and trim). */
static uint8_t *map_huge_aligned(uint64_t size)
{
    uint8_t *area = mmap(NULL, size + HUGE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    uint8_t *p;

    if (area == MAP_FAILED) {
        g_printerr("bench-prealloc: mmap: %s\n", g_strerror(errno));
        exit(1);
    }
    p = (uint8_t *)(((uintptr_t)area + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
    if (p > area)
        munmap(area, p - area);
    munmap(p + size, area + HUGE - p);
    return p;
}

struct floor_chunk {
    uint8_t *p;
    uint64_t len;
    int rc;
};

static gpointer floor_thread(gpointer data)
{
    struct floor_chunk *c = data;

    c->rc = madvise(c->p, c->len, MADV_POPULATE_WRITE) ? errno : 0;
    return NULL;
}

/* One madvise(MADV_POPULATE_WRITE) per thread over 2 MiB-aligned chunks. */
static struct sample run_floor(uint64_t size, unsigned threads, bool advise)
{
    uint8_t *p = map_huge_aligned(size);
    uint64_t per = (size / HUGE + threads - 1) / threads * HUGE;
    struct floor_chunk c[threads];
    GThread *t[threads];
    struct sample s;
    double t0;

    if (advise)
        madvise(p, size, MADV_HUGEPAGE);
    t0 = bench_now_ms();
    for (unsigned i = 0; i < threads; i++) {
        c[i] = (struct floor_chunk){ p + MIN(i * per, size),
                                     i * per < size ? MIN(per, size - i * per)
                                                    : 0, 0 };
        t[i] = g_thread_new("floor", floor_thread, &c[i]);
    }
    for (unsigned i = 0; i < threads; i++) {
        g_thread_join(t[i]);
        if (c[i].rc) {
            g_printerr("bench-prealloc: MADV_POPULATE_WRITE: %s\n",
                       g_strerror(c[i].rc));
            exit(1);
        }
    }
    s.ms = bench_now_ms() - t0;
    s.huge = anon_huge(p) / (double)size;
    munmap(p, size);
    return s;
}

/* backend_new() + backend_prealloc(): what object-add with prealloc does
 * before its reply. Freeing is untimed. */
static struct sample run_hotmem(uint64_t size, unsigned threads, bool thp)
{
    g_autofree char *json = g_strdup_printf(
        "{\"size\": %" PRIu64 ", \"prealloc-threads\": %u, \"thp\": %s}",
        size, threads, thp ? "true" : "false");
    json_object *props = json_tokener_parse(json);
    GError *err = NULL;
    struct backend *b;
    struct sample s = { 0, 0 };
    double t0 = bench_now_ms();

    b = backend_new("memory-backend-ram", "bench", props, &err);
    if (b && backend_prealloc(b, NULL, NULL, &err))
        s.ms = bench_now_ms() - t0;
    json_object_put(props);
    if (err) {
        g_printerr("bench-prealloc: %s\n", err->message);
        exit(1);
    }
    s.huge = anon_huge(backend_host_addr(b)) / (double)size;
    backend_free(b);
    return s;
}

static bool peer_start(struct peer *q)
{
    g_autofree char *bin = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *sock = NULL, *spec = NULL;
    const char *args[] = { "-machine", "none", "-nodefaults", "-display",
                           "none", "-qmp", NULL, NULL };

    if (!bin)
        return false;
    q->dir = g_dir_make_tmp("bench-prealloc-XXXXXX", NULL);
    sock = g_build_filename(q->dir, "qmp.sock", NULL);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    args[6] = spec;
    q->vm = vm_spawn_program(bin, args);
    q->qmp = qmp_connect(sock, 30000);
    return true;
}

static void peer_stop(struct peer *q)
{
    g_autofree char *sock = g_build_filename(q->dir, "qmp.sock", NULL);

    qmp_close(q->qmp);
    vm_free(q->vm);
    g_unlink(sock);
    g_rmdir(q->dir);
    g_free(q->dir);
}

/* The object-add round trip, then its huge pages; object-del untimed. */
static struct sample run_qemu(struct peer *q, uint64_t size, unsigned threads)
{
    uint64_t before = bench_anon_huge_bytes(vm_pid(q->vm));
    struct sample s;
    double t0 = bench_now_ms();

    qmp_ok(q->qmp, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": \"m\", \"size\": %"
           PRIu64 ", \"prealloc\": true, \"prealloc-threads\": %u}}", size,
           threads);
    s.ms = bench_now_ms() - t0;
    s.huge = (bench_anon_huge_bytes(vm_pid(q->vm)) - before) / (double)size;
    qmp_ok(q->qmp, "{\"execute\": \"object-del\", \"arguments\": "
           "{\"id\": \"m\"}}");
    return s;
}

static struct sample run(enum variant v, struct peer *q, uint64_t size,
                         unsigned threads)
{
    switch (v) {
    case FLOOR_HUGE:
        return run_floor(size, threads, true);
    case FLOOR_PLAIN:
        return run_floor(size, threads, false);
    case HOTMEM:
        return run_hotmem(size, threads, true);
    case HOTMEM_NOTHP:
        return run_hotmem(size, threads, false);
    default:
        return run_qemu(q, size, threads);
    }
}

static void print_row(unsigned threads, enum variant v, struct sample *s,
                      unsigned rounds, uint64_t size, double floor_ms)
{
    double ms[MAX_ROUNDS], huge[MAX_ROUNDS], med;

    for (unsigned r = 0; r < rounds; r++) {
        ms[r] = s[r].ms;
        huge[r] = s[r].huge;
    }
    med = bench_median(ms, rounds);
    printf("%7u  %-44s %8.1f [%7.1f-%7.1f] %6.2f %5.0f%% %6.2fx\n", threads,
           variant_names[v], med, ms[0], ms[rounds - 1],
           size / (double)(1ULL << 30) / (med / 1e3),
           100 * bench_median(huge, rounds), med / floor_ms);
}

int main(int argc, char **argv)
{
    uint64_t size = 1ULL << 30;
    unsigned rounds = 5, cpus = g_get_num_processors();
    unsigned threads[2] = { 1, cpus }, nr_threads = cpus > 1 ? 2 : 1;
    struct sample (*s)[NR_VARIANTS][MAX_ROUNDS];
    struct peer qemu = { 0 };
    bool have_qemu;
    unsigned nv;
    GError *err = NULL;

    if (argc > 1 && !cli_parse_size(argv[1], 1, &size, &err)) {
        g_printerr("bench-prealloc: %s\n", err->message);
        return 2;
    }
    if (argc > 2)
        rounds = CLAMP(atoi(argv[2]), 1, MAX_ROUNDS);
    size = size / HUGE * HUGE;
    if (!size) {
        g_printerr("usage: bench-prealloc [SIZE [ROUNDS]] (SIZE >= 2M)\n");
        return 2;
    }
    bench_print_environment(stdout);
    bench_print_thp(stdout);
    have_qemu = peer_start(&qemu);
    nv = have_qemu ? NR_VARIANTS : QEMU;
    printf("# %.2f GiB, %u interleaved rounds, %u host CPUs%s; median "
           "[min-max] ms, GiB/s of the median, huge = AnonHugePages/size, "
           "x = time / the MADV_HUGEPAGE floor's\n",
           size / (double)(1ULL << 30), rounds, cpus,
           have_qemu ? "" : "; qemu-system-x86_64 not installed: no QEMU row");
    printf("%7s  %-44s %8s %17s %6s %6s %7s\n", "threads", "what", "ms",
           "[min-max]", "GiB/s", "huge", "x");
    s = g_malloc0(sizeof(*s) * nr_threads);
    for (unsigned r = 0; r < rounds; r++) {
        for (unsigned t = 0; t < nr_threads; t++) {
            for (unsigned i = 0; i < nv; i++) {
                enum variant v = (r + t + i) % nv;

                s[t][v][r] = run(v, &qemu, size, threads[t]);
            }
        }
    }
    for (unsigned t = 0; t < nr_threads; t++) {
        double floor_ms[MAX_ROUNDS];

        for (unsigned r = 0; r < rounds; r++)
            floor_ms[r] = s[t][FLOOR_HUGE][r].ms;
        for (unsigned v = 0; v < nv; v++)
            print_row(threads[t], v, s[t][v], rounds, size,
                      bench_median(floor_ms, rounds));
    }
    if (have_qemu)
        peer_stop(&qemu);
    g_free(s);
    return 0;
}
