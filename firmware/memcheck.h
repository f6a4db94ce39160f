/*
 * The memory check run on every DIMM before the guest reports it online
 * (docs/guest-console.md "Memory hot-plug"): sparse, so that a 1 GiB DIMM
 * costs about 500 first touches, yet it catches a range that is not backed,
 * backed twice (aliasing) or cut short.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct memcheck_failure {
    uint64_t addr;          /* first word that read back wrong */
    uint64_t expected;
    uint64_t got;
};

/*
 * Writes a pattern derived from each word's address at the start of every
 * 2 MiB of [base, base + size) and at the first and last word of the first
 * and last 4 KiB page, then reads them all back. The range must be mapped.
 * Overwrites those words. Returns false and fills *f at the first mismatch.
 */
bool memcheck_range(uint64_t base, uint64_t size, struct memcheck_failure *f);
