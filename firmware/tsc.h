/* The time-stamp counter and its frequency (tsc.c). */
#pragma once

#include <stdint.h>

/* RDTSC (SDM Vol. 2B RDTSC); allowed in ring 3 (CR4.TSD is clear). */
static inline uint64_t tsc_read(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/*
 * TSC ticks per second, 0 if no method works. Found at the first call that
 * succeeds and cached; *source names the method: "cpuid-15", "cpuid-16",
 * "cpuid-40000010" or "pit". Ring 3: uses CPUID and port I/O (IOPL=3).
 */
uint64_t tsc_hz(const char **source);
