#include "benchstat.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

double bench_now_ms(void)
{
    return bench_now_ns() / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * What the times below mean on this machine. Inside the nested KVM host
 * (tests/rig/run sets HOTMEM_RIG=1) every instruction is emulated by QEMU's
 * TCG; under kvm_pvm guest ring-0 code is. Figures there are only good for
 * ratios against a peer measured in the same run.
 */
void bench_print_environment(FILE *out)
{
    if (getenv("HOTMEM_RIG"))
        fprintf(out, "environment: nested KVM host under QEMU's emulator "
                "(tests/rig): times are emulated; compare only the ratios "
                "against the peer measured in this run\n");
    else if (access("/sys/module/kvm_pvm", F_OK) == 0)
        fprintf(out, "environment: kvm_pvm (guest kernel code is emulated, "
                "ring 3 native): compare only the ratios against the peer "
                "measured in this run\n");
    else
        fprintf(out, "environment: hardware KVM\n");
}

#define THP_SYSFS "/sys/kernel/mm/transparent_hugepage/"

/* The bracketed choice of a sysfs multiple-choice file, or "?". */
static void print_choice(FILE *out, const char *file)
{
    char path[128], text[256], *open, *close;
    FILE *f;
    size_t n = 0;

    snprintf(path, sizeof(path), THP_SYSFS "%s", file);
    f = fopen(path, "r");
    if (f) {
        n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
    }
    text[n] = '\0';
    open = strchr(text, '[');
    close = open ? strchr(open, ']') : NULL;
    if (close)
        fprintf(out, " %s=%.*s", file, (int)(close - open - 1), open + 1);
    else
        fprintf(out, " %s=?", file);
}

void bench_print_thp(FILE *out)
{
    fprintf(out, "environment: transparent huge pages:");
    print_choice(out, "enabled");
    print_choice(out, "defrag");
    print_choice(out, "shmem_enabled");
    fprintf(out, " (" THP_SYSFS ")\n");
}

unsigned long long bench_anon_huge_bytes(int pid)
{
    char path[64], line[256];
    unsigned long long kib = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "AnonHugePages: %llu kB", &kib) == 1)
            break;
    }
    if (f)
        fclose(f);
    return kib << 10;
}
