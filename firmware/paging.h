/*
 * Identity mapping of guest-physical memory with 2 MiB pages.
 *
 * The page tables are user-accessible and writable, so ring 3 (native speed)
 * builds the map; ring 0 (emulated) only fills in the device-memory window
 * on demand from its #PF handler.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "x86.h"

/* 4-level paging reaches 2^47 bytes of the lower canonical half. */
#define PAGING_IDENTITY_LIMIT   (1ULL << 47)

/* Extra flags for paging_map_identity(). */
#define PAGING_WRITE_BACK       0
#define PAGING_UNCACHED         (PTE_PCD | PTE_PWT)

/*
 * Maps [base, base + size), widened to 2 MiB boundaries, identically.
 * 2 MiB ranges that are already mapped keep their mapping. Returns false,
 * mapping nothing, when the range passes PAGING_IDENTITY_LIMIT or the table
 * pool has too few pages left for it.
 */
bool paging_map_identity(uint64_t base, uint64_t size, uint64_t flags);

/*
 * Not-present faults on [base, limit) are resolved by mapping the 2 MiB page
 * (write-back) and resuming. limit is clamped to PAGING_IDENTITY_LIMIT.
 */
void paging_set_lazy_window(uint64_t base, uint64_t limit);

/* Page-table pages left in the pool. */
unsigned paging_pool_free(void);

/*
 * Ring 0, from the #PF entry (lowcore.S): returns nonzero when addr is in the
 * lazy window and is now mapped.
 */
int paging_fault_in(uint64_t addr);
