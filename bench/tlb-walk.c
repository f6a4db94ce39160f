/*
 * bench/tlb-walk: what transparent huge pages give a guest. hotmem boots
 * hotmem-guest; each round hot-adds a DIMM of SIZE twice, once with the
 * default backend (THP) and once with thp=off, in alternating order, and
 * the guest's "walk" command (docs/guest-console.md) makes COUNT dependent
 * reads at random cache lines of it after writing every 4 KiB page once
 * (the warm-up). hotmem-guest maps the DIMM with 2 MiB pages, so only the
 * host's page size differs between the two. Printed per variant: ns per
 * read and the warm-up's time (median [min-max]), and the VMM's
 * AnonHugePages with the DIMM still plugged.
 *
 *   bench-tlb-walk HOTMEM_BIN [SIZE [COUNT [ROUNDS]]]   (1G, 2000000, 3)
 *
 * Figures, never assertions (docs/performance.md).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "cli/cli.h"

#include "benchstat.h"
#include "qmpclient.h"
#include "vmrunner.h"

#define TIMEOUT_MS  120000
#define MAX_ROUNDS  16

struct result {
    double ns_per_read, warm_ms, anon_huge_mib;
};

/* u64 after "key=" in line (hex with 0x, else decimal); 0 if absent. */
static uint64_t field(const char *line, const char *key)
{
    g_autofree char *k = g_strconcat(" ", key, "=", NULL);
    const char *at = strstr(line, k);

    return at ? g_ascii_strtoull(at + strlen(k), NULL, 0) : 0;
}

static struct result walk_once(struct vm *vm, struct qmp *q, unsigned n,
                               bool thp, uint64_t size, unsigned count)
{
    g_autofree char *line = NULL, *done = NULL, *cmd = NULL;
    json_object *ev;
    struct result r;
    uint64_t addr, hz;

    qmp_ok(q, "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
           "\"memory-backend-ram\", \"id\": \"w%u\", \"size\": %" PRIu64
           "%s}}", n, size, thp ? "" : ", \"thp\": false");
    qmp_ok(q, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
           "\"pc-dimm\", \"id\": \"d%u\", \"memdev\": \"w%u\"}}", n, n);
    /* Skips the previous round's "dimm slot=N ejected". */
    do {
        g_free(line);
        line = vm_wait_line(vm, "hotmem-guest: dimm slot=", TIMEOUT_MS);
    } while (line && strstr(line, " ejected"));
    if (!line || !strstr(line, "online addr="))
        g_error("the guest did not online the DIMM: %s", line ? line : "");
    addr = g_ascii_strtoull(strstr(line, "online addr=") + 12, NULL, 16);
    cmd = g_strdup_printf("walk %" PRIx64 " %" PRIx64 " %u", addr, size,
                          count);
    vm_send(vm, cmd);
    done = vm_wait_line(vm, "hotmem-guest: walk", TIMEOUT_MS);
    if (!done || !g_str_has_prefix(done, "hotmem-guest: walk done"))
        g_error("walk failed: %s", done ? done : "(no answer)");
    hz = field(done, "tsc-hz");
    r.ns_per_read = field(done, "ticks") * 1e9 / hz / count;
    r.warm_ms = field(done, "warm-ticks") * 1e3 / hz;
    r.anon_huge_mib = bench_anon_huge_bytes(vm_pid(vm)) / (double)(1 << 20);
    qmp_ok(q, "{\"execute\": \"device_del\", \"arguments\": {\"id\": "
           "\"d%u\"}}", n);
    ev = qmp_wait_event(q, "DEVICE_DELETED", TIMEOUT_MS);
    if (!ev)
        g_error("no DEVICE_DELETED for d%u", n);
    json_object_put(ev);
    qmp_ok(q, "{\"execute\": \"object-del\", \"arguments\": {\"id\": "
           "\"w%u\"}}", n);
    return r;
}

static double print_row(const char *what, struct result *r, unsigned rounds)
{
    double ns[MAX_ROUNDS], warm[MAX_ROUNDS], huge[MAX_ROUNDS], m1, m2, m3;

    for (unsigned i = 0; i < rounds; i++) {
        ns[i] = r[i].ns_per_read;
        warm[i] = r[i].warm_ms;
        huge[i] = r[i].anon_huge_mib;
    }
    m1 = bench_median(ns, rounds);
    m2 = bench_median(warm, rounds);
    m3 = bench_median(huge, rounds);
    printf("%-22s %7.1f [%6.1f-%6.1f] %9.1f [%7.1f-%7.1f] %8.0f\n", what, m1,
           ns[0], ns[rounds - 1], m2, warm[0], warm[rounds - 1], m3);
    return m1;
}

int main(int argc, char **argv)
{
    uint64_t size = 1ULL << 30;
    unsigned count = 2000000, rounds = 3, n = 0;
    g_autofree char *dir = g_dir_make_tmp("bench-tlb-walk-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off",
                                            sock);
    g_autofree char *mem = NULL;
    struct result r[2][MAX_ROUNDS];
    const char *args[] = { "-m", NULL, "-qmp", spec, NULL };
    GError *err = NULL;
    struct vm *vm;
    struct qmp *q;
    double on, off;

    if (argc < 2 || (argc > 2 && !cli_parse_size(argv[2], 1, &size, &err))) {
        g_printerr("usage: bench-tlb-walk HOTMEM_BIN [SIZE [COUNT [ROUNDS]]]"
                   "%s%s\n", err ? ": " : "", err ? err->message : "");
        return 2;
    }
    if (argc > 3)
        count = CLAMP(atoi(argv[3]), 1, 1000000000);
    if (argc > 4)
        rounds = CLAMP(atoi(argv[4]), 1, MAX_ROUNDS);
    size = MAX(size / (2 << 20) * (2 << 20), 2 << 20);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    bench_print_environment(stdout);
    bench_print_thp(stdout);
    if (vm_kvm_unavailable()) {
        printf("skipped: %s\n", vm_kvm_unavailable());
        return 0;
    }
    mem = g_strdup_printf("256M,slots=2,maxmem=%" PRIu64 "M",
                          256 + size / (1 << 20) * 2);
    args[1] = mem;
    vm = vm_spawn_program(argv[1], args);
    if (!vm_wait_line(vm, "hotmem-guest: ready", TIMEOUT_MS))
        g_error("hotmem-guest did not start: %s", vm_stderr(vm));
    q = qmp_connect(sock, TIMEOUT_MS);
    printf("# hotmem-guest walks a %.2f GiB DIMM: %u dependent reads at "
           "random 64-byte lines; %u interleaved rounds; median [min-max]\n",
           size / (double)(1ULL << 30), count, rounds);
    printf("%-22s %7s %15s %9s %17s %8s\n", "backend", "ns/read", "[min-max]",
           "warm-up ms", "[min-max]", "AnonHugePages MiB");
    for (unsigned i = 0; i < rounds; i++) {
        for (unsigned k = 0; k < 2; k++) {
            bool thp = (i + k) % 2 == 0;

            r[thp ? 0 : 1][i] = walk_once(vm, q, n++, thp, size, count);
        }
    }
    on = print_row("thp (default)", r[0], rounds);
    off = print_row("thp=off", r[1], rounds);
    printf("thp=off / thp: %.2fx the time per read\n", off / on);
    qmp_close(q);
    vm_free(vm);
    g_unlink(sock);
    g_rmdir(dir);
    return 0;
}
