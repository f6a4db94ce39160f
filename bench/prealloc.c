/*
 * bench/prealloc: how fast a memory-backend-ram is preallocated, against a
 * plain loop that writes one byte per 4 KiB page of a fresh anonymous
 * mapping. Median of several runs of each; every mapping is unmapped
 * before the next run, so each run faults in fresh pages.
 *
 *   bench-prealloc [SIZE [RUNS]]      (default 4G and 5)
 *
 * Figures, never assertions (see README "Benchmarks").
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <glib.h>

#include "backend/backend.h"
#include "cli/cli.h"

#include "benchstat.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE 4096

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The baseline: first touch of every page by one thread. */
static double run_touch(uint64_t size)
{
    volatile uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    double t0, t;

    if (p == MAP_FAILED) {
        g_printerr("bench-prealloc: mmap: %s\n", g_strerror(errno));
        exit(1);
    }
    t0 = now_s();
    for (uint64_t off = 0; off < size; off += PAGE)
        p[off] = 1;
    t = now_s() - t0;
    munmap((void *)p, size);
    return t;
}

/* backend_prealloc() alone: creating and freeing the backend is untimed. */
static double run_backend(uint64_t size, unsigned threads)
{
    g_autofree char *json = g_strdup_printf(
        "{\"size\": %" PRIu64 ", \"prealloc-threads\": %u}", size, threads);
    json_object *props = json_tokener_parse(json);
    GError *err = NULL;
    struct backend *b = backend_new("memory-backend-ram", "bench", props,
                                    &err);
    double t0, t = 0;

    json_object_put(props);
    if (b) {
        t0 = now_s();
        if (backend_prealloc(b, NULL, NULL, &err))
            t = now_s() - t0;
    }
    if (err) {
        g_printerr("bench-prealloc: %s\n", err->message);
        exit(1);
    }
    backend_free(b);
    return t;
}

static bool populate_write_works(void)
{
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool ok = p != MAP_FAILED && madvise(p, PAGE, MADV_POPULATE_WRITE) == 0;

    if (p != MAP_FAILED)
        munmap(p, PAGE);
    return ok;
}

int main(int argc, char **argv)
{
    uint64_t size = 4ULL << 30;
    unsigned runs = 5, cpus = g_get_num_processors();
    GError *err = NULL;
    const char *names[3] = { "page-touch loop, 1 thread", NULL, NULL };
    unsigned threads[3] = { 1, 1, cpus };
    double t[3][64], med[3];

    bench_print_environment(stdout);
    if (argc > 1 && !cli_parse_size(argv[1], 1, &size, &err)) {
        g_printerr("bench-prealloc: %s\n", err->message);
        return 2;
    }
    if (argc > 2)
        runs = CLAMP(atoi(argv[2]), 1, 64);
    size = size / PAGE * PAGE;
    if (!size) {
        g_printerr("usage: bench-prealloc [SIZE [RUNS]]\n");
        return 2;
    }
    names[1] = "backend_prealloc, prealloc-threads=1";
    names[2] = g_strdup_printf("backend_prealloc, prealloc-threads=%u", cpus);
    printf("# memory-backend-ram of %.2f GiB, median of %u runs, %u host "
           "CPUs, MADV_POPULATE_WRITE %s\n", size / (double)(1ULL << 30),
           runs, cpus, populate_write_works() ? "available" : "missing");
    for (unsigned r = 0; r < runs; r++) {
        t[0][r] = run_touch(size);
        t[1][r] = run_backend(size, threads[1]);
        t[2][r] = run_backend(size, threads[2]);
    }
    for (unsigned i = 0; i < 3; i++) {
        med[i] = bench_median(t[i], runs);
        printf("%-40s %8.1f ms %7.2f GiB/s  x%.2f vs baseline\n", names[i],
               med[i] * 1e3, size / (double)(1ULL << 30) / med[i],
               med[0] / med[i]);
    }
    g_free((char *)names[2]);
    return 0;
}
