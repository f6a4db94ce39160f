/*
 * The memslot table: the only code that tells KVM where guest memory is
 * (KVM_SET_USER_MEMORY_REGION). It remembers every slot it installed so the
 * rest of the VMM can translate guest-physical addresses and show the table.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

struct memmap_slot {
    uint32_t slot;          /* KVM slot id */
    uint64_t gpa;           /* guest physical address */
    uint64_t size;
    void *hva;              /* host address of the first byte */
    uint32_t flags;         /* KVM_MEM_* flags */
    char *owner;            /* "ram-below-4g", a DIMM id, ... */
    bool removing;          /* a DIMM on its way out: never translated */
    /*
     * The table generation its memmap_add() made: unique per installation,
     * so it tells apart slots that reuse an id, a range and a host address
     * (a DIMM unplugged and its backend plugged again).
     */
    uint64_t serial;
};

/*
 * A caller-owned lookup cache (one per thread that translates, e.g. per
 * vCPU): remembers the last slot hit and the table generation it was valid
 * for, so repeated translations skip the lock and the search until the table
 * changes (the idea of KVM's generation-tagged MMIO sptes). Zero-initialise.
 */
struct memmap_cache {
    uint64_t generation;    /* 0: empty (generations start at 1) */
    uint64_t gpa, size;
    uint8_t *hva;
    uint64_t hits, misses;
};

/*
 * Called for every write hotmem itself makes into guest memory through
 * memmap_write() or memmap_mark_dirty(), with the slot and the byte range
 * inside it, so dirty logging can count VMM writes too.
 */
typedef void (*memmap_write_hook_fn)(void *opaque,
                                     const struct memmap_slot *slot,
                                     uint64_t offset, uint64_t len);

/*
 * The one KVM call the table needs, behind a pointer so unit tests can run
 * without /dev/kvm. Returns 0 or -errno.
 */
typedef int (*memmap_set_region_fn)(void *opaque, uint32_t slot,
                                    uint32_t flags, uint64_t gpa,
                                    uint64_t size, void *hva);

struct memmap;

struct memmap *memmap_new(uint32_t max_slots, memmap_set_region_fn set_region,
                          void *opaque);
void memmap_free(struct memmap *mm);

/*
 * Installs [gpa, gpa + size) backed by hva. Fails, changing nothing, when the
 * range is empty, not page aligned, overlaps an installed slot, no slot id is
 * free, or KVM refuses. Returns the slot id through slot_out (may be NULL).
 */
bool memmap_add(struct memmap *mm, uint64_t gpa, uint64_t size, void *hva,
                uint32_t flags, const char *owner, uint32_t *slot_out,
                GError **err);

/* Removes the slot that starts at gpa. */
bool memmap_remove(struct memmap *mm, uint64_t gpa, GError **err);

/* The slot containing gpa, or NULL. Valid until the table changes. */
const struct memmap_slot *memmap_find(struct memmap *mm, uint64_t gpa);

/*
 * A copy, taken under the lock, of the slot that starts at gpa (owner is
 * the caller's to g_free); false when no slot starts there.
 */
bool memmap_copy_slot(struct memmap *mm, uint64_t gpa,
                      struct memmap_slot *out);

/*
 * Host pointer for [gpa, gpa + len) when that range lies inside one slot,
 * else NULL.
 */
void *memmap_gpa_to_hva(struct memmap *mm, uint64_t gpa, uint64_t len);

/* Copies between host buffers and guest memory; false when not all mapped. */
bool memmap_write(struct memmap *mm, uint64_t gpa, const void *src,
                  size_t len);
bool memmap_read(struct memmap *mm, uint64_t gpa, void *dst, size_t len);

/*
 * Makes [gpa, gpa + len) read as zeros, writing only the 4 KiB pieces that
 * are not zero already (fresh guest RAM stays untouched: no page faulted
 * in, no RSS); false when not all mapped. The write hook hears of the
 * pieces written.
 */
bool memmap_zero(struct memmap *mm, uint64_t gpa, uint64_t len);

/*
 * memmap_read() for guest memory the host may fail to provide: the copy is
 * made by the kernel (process_vm_readv() on this process), so a page behind
 * a truncated backing file or an exhausted huge page pool makes it return
 * MEMMAP_READ_FAULT with *fault_gpa set, where a plain read would kill the
 * process with SIGBUS. MEMMAP_READ_UNMAPPED: not all of the range is in
 * slots (nothing copied). Takes the read lock during the copy.
 */
enum memmap_read_result {
    MEMMAP_READ_OK,
    MEMMAP_READ_UNMAPPED,
    MEMMAP_READ_FAULT,
};
enum memmap_read_result memmap_read_nofault(struct memmap *mm, uint64_t gpa,
                                            void *dst, size_t len,
                                            uint64_t *fault_gpa);

/*
 * Translation through a cache: the host pointer for [gpa, gpa + len) inside
 * one slot that is not being removed, else NULL.
 */
void *memmap_translate(struct memmap *mm, struct memmap_cache *cache,
                       uint64_t gpa, uint64_t len);

/* Bumped by every change to the table (add, remove, flags, removing). */
uint64_t memmap_generation(struct memmap *mm);

/* Changes the KVM flags of the slot starting at gpa (dirty logging). */
bool memmap_set_flags(struct memmap *mm, uint64_t gpa, uint32_t flags,
                      GError **err);

/*
 * Marks the slot starting at gpa as being removed (or not any more): from
 * then on no translation returns its memory.
 */
bool memmap_set_removing(struct memmap *mm, uint64_t gpa, bool removing);

void memmap_set_write_hook(struct memmap *mm, memmap_write_hook_fn fn,
                           void *opaque);
/* Reports a write hotmem made through a pointer from a translation. */
void memmap_mark_dirty(struct memmap *mm, uint64_t gpa, uint64_t len);

/*
 * Calls fn for every slot in guest-address order, under the read lock;
 * returns the generation of the table it walked.
 */
uint64_t memmap_foreach(struct memmap *mm,
                    void (*fn)(void *opaque, const struct memmap_slot *s),
                    void *opaque);

unsigned memmap_count(struct memmap *mm);
/* The i-th installed slot in guest-address order (i < memmap_count). */
const struct memmap_slot *memmap_get(struct memmap *mm, unsigned i);
