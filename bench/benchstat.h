/* What every benchmark needs to report figures: a clock and a median. */
#pragma once

#include <stddef.h>

/* CLOCK_MONOTONIC, in milliseconds and in nanoseconds. */
double bench_now_ms(void);
double bench_now_ns(void);

/* The median of v[0..n) (n > 0); sorts v in place. */
double bench_median(double *v, size_t n);
