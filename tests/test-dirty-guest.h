/*
 * A VM just big enough to dirty pages from a guest, for tests/test-dirty.c
 * and bench/dirty.c: one vCPU in 32-bit protected mode (no paging) running
 * eight bytes of code that write one byte every STRIDE bytes, COUNT times,
 * from BASE, then exit through an OUT to port 0x80. Ring 0 code is slow on
 * emulating hosts (about 4 instructions per page), so keep COUNT modest.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "kvm.h"
#include "mmu/memmap.h"

#define DGUEST_CODE_SLOT_SIZE   (1ULL << 20)    /* GPA 0: the code page */
#define DGUEST_CODE_GPA         0x1000ULL       /* the guest's code, in it */

struct dguest {
    struct kvm *kvm;
    struct memmap *mm;
    void *code_mem;
    int vcpu_fd;
    struct kvm_run *run;
    struct kvm_dirty_gfn *ring;     /* NULL without a ring */
    /* Called on KVM_EXIT_DIRTY_RING_FULL (harvest there). */
    void (*ring_full)(void *opaque);
    void *opaque;
    GArray *maps;                   /* struct dguest_map, unmapped at free */
    unsigned region_calls;          /* KVM_SET_USER_MEMORY_REGION so far */
    int region_fail;                /* -errno: the next call fails so */
};

struct dguest_map {
    void *p;
    uint64_t size;
};

/* NULL when /dev/kvm is unusable (why in err). ring_entries 0: no ring. */
struct dguest *dguest_new(uint32_t ring_entries, GError **err);
void dguest_free(struct dguest *g);

/* Anonymous memory at gpa, installed without logging (hva may be NULL). */
/* The same with memslot flags (KVM_MEM_LOG_DIRTY_PAGES). */
bool dguest_add_slot_flags(struct dguest *g, uint64_t gpa, uint64_t size,
                           uint32_t flags, const char *owner, void **hva,
                           GError **err);
bool dguest_add_slot(struct dguest *g, uint64_t gpa, uint64_t size,
                     const char *owner, void **hva, GError **err);

/* The guest writes one byte at base + i * stride_pages * 4 KiB, i < count. */
bool dguest_write_pages(struct dguest *g, uint64_t base, uint32_t count,
                        uint32_t stride_pages, GError **err);
