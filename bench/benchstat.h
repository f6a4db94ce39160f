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
