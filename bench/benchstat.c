#include "benchstat.h"

#include <stdlib.h>
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
