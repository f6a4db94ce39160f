/* What every benchmark needs to report figures: a clock and a median. */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* CLOCK_MONOTONIC, in milliseconds and in nanoseconds. */
double bench_now_ms(void);
double bench_now_ns(void);

/* The median of v[0..n) (n > 0); sorts v in place. */
double bench_median(double *v, size_t n);

/* One line on what the figures mean here: hardware KVM, kvm_pvm, or the
 * nested KVM host (emulated: compare ratios only). */
void bench_print_environment(FILE *out);

/* An "environment:" line with the host's transparent huge page settings
 * (/sys/kernel/mm/transparent_hugepage: enabled, defrag, shmem_enabled). */
void bench_print_thp(FILE *out);

/* AnonHugePages of process pid (/proc/PID/smaps_rollup), in bytes; 0 if
 * unreadable. */
unsigned long long bench_anon_huge_bytes(int pid);
