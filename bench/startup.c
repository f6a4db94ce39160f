/*
 * bench/startup: time from exec to the guest's "ready" line, and the VMM's
 * memory, for `hotmem -m 256M`; median [min-max] of several runs. Where QEMU
 * is installed, boots the same guest ELF under QEMU (KVM), runs alternating
 * with hotmem's (hotmem first, then QEMU first), and prints the ratio.
 *
 *   bench-startup HOTMEM_BIN GUEST_ELF [RUNS]
 *
 * Figures, never assertions (see README "Benchmarks").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

#include "benchstat.h"

struct sample {
    double ready_ms;
    double rss_total_kib;   /* peak RSS (VmHWM) of the whole process */
    double rss_vmm_kib;     /* RSS outside guest RAM when ready */
};

/*
 * Sums Rss of /proc/PID/smaps outside guest RAM. Guest RAM is recognised as
 * any mapping at least as large as the guest's RAM (no VMM structure comes
 * close), or one named for it where the kernel supports anon VMA names.
 */
static void read_rss(pid_t pid, uint64_t guest_ram, double *vmm_kib,
                     double *hwm_kib)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps", (int)pid);
    g_autofree char *status = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL, *st = NULL;
    g_auto(GStrv) lines = NULL;
    bool guest = false;
    double vmm = 0;

    if (g_file_get_contents(path, &text, NULL, NULL)) {
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
            unsigned long kib;

            unsigned long long lo, hi;

            if (sscanf(*l, "%llx-%llx ", &lo, &hi) == 2)
                guest = hi - lo >= guest_ram ||
                        strstr(*l, "hotmem-guest-ram") != NULL;
            else if (sscanf(*l, "Rss: %lu kB", &kib) == 1 && !guest)
                vmm += kib;
        }
    }
    *vmm_kib = vmm;
    *hwm_kib = 0;
    if (g_file_get_contents(status, &st, NULL, NULL)) {
        char *h = strstr(st, "VmHWM:");

        if (h)
            *hwm_kib = strtod(h + 6, NULL);
    }
}

/* Runs argv until a line containing "hotmem-guest: ready"; -1 on failure. */
static int run_once(char *const *argv, struct sample *s)
{
    int out[2], in[2];
    double t0 = bench_now_ms();
    pid_t pid;
    GString *buf = g_string_new(NULL);
    int rc = -1;

    if (pipe(out) < 0 || pipe(in) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(open("/dev/null", O_WRONLY), 2);
        close(out[0]);
        close(in[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    while (bench_now_ms() - t0 < 30000) {
        struct pollfd p = { out[0], POLLIN, 0 };
        char tmp[4096];
        ssize_t n;

        if (poll(&p, 1, 100) <= 0)
            continue;
        n = read(out[0], tmp, sizeof(tmp));
        if (n <= 0)
            break;
        g_string_append_len(buf, tmp, n);
        if (strstr(buf->str, "hotmem-guest: ready")) {
            s->ready_ms = bench_now_ms() - t0;
            read_rss(pid, 256ULL << 20, &s->rss_vmm_kib, &s->rss_total_kib);
            rc = 0;
            break;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(out[0]);
    close(in[1]);
    g_string_free(buf, TRUE);
    return rc;
}

/* The samples of one VMM. */
struct series {
    const char *label;
    double ready[64], vmm[64], total[64];
    int ok;
};

static void take(struct series *s, char *const *argv)
{
    struct sample x = { 0 };

    if (run_once(argv, &x) == 0) {
        s->ready[s->ok] = x.ready_ms;
        s->vmm[s->ok] = x.rss_vmm_kib;
        s->total[s->ok] = x.rss_total_kib;
        s->ok++;
    }
}

/* Prints the medians [min-max]; returns the median ready time, or -1 when
 * no run reached ready. */
static double report(struct series *s)
{
    if (!s->ok) {
        printf("%-8s  no run reached the ready line\n", s->label);
        return -1;
    }
    double med = bench_median(s->ready, s->ok);     /* sorts ready[] */
    double vmm = bench_median(s->vmm, s->ok);       /* sorts vmm[] */

    printf("%-8s  runs=%d  exec->ready median %.2f ms [%.2f-%.2f]"
           "  peak RSS %.0f KiB  RSS outside guest RAM %.0f KiB [%.0f-%.0f]\n",
           s->label, s->ok, med, s->ready[0], s->ready[s->ok - 1],
           bench_median(s->total, s->ok), vmm, s->vmm[0], s->vmm[s->ok - 1]);
    return med;
}

int main(int argc, char **argv)
{
    int runs = argc > 3 ? atoi(argv[3]) : 7;
    char *hotmem[] = { argv[1], "-m", "256M", "-serial", "stdio", NULL };
    char *qemu[] = { "qemu-system-x86_64", "-accel", "kvm", "-M",
                     "microvm", "-m", "256M", "-nodefaults", "-no-user-config",
                     "-display", "none", "-serial", "stdio", "-kernel",
                     argc > 2 ? argv[2] : "", NULL };
    g_autofree char *qemu_path = g_find_program_in_path(qemu[0]);
    double h, q;

    bench_print_environment(stdout);
    if (argc < 3 || runs < 1 || runs > 64) {
        fprintf(stderr, "usage: %s HOTMEM_BIN GUEST_ELF [RUNS<=64]\n",
                argv[0]);
        return 2;
    }
    printf("bench/startup: -m 256M, bundled hotmem-guest, %d runs each, "
           "VMMs interleaved (order alternating); median [min-max]\n", runs);
    struct series hs = { .label = "hotmem" }, qs = { .label = "qemu" };

    for (int i = 0; i < runs; i++) {
        if (i % 2 || !qemu_path)
            take(&hs, hotmem);
        if (qemu_path)
            take(&qs, qemu);
        if (i % 2 == 0 && qemu_path)
            take(&hs, hotmem);
    }
    h = report(&hs);
    if (!qemu_path) {
        printf("qemu     not installed: no peer ratio\n");
        return h < 0;
    }
    q = report(&qs);
    if (h > 0 && q > 0)
        printf("ratio    qemu/hotmem exec->ready: %.2fx\n", q / h);
    return h < 0;
}
