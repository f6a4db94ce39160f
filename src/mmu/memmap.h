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
};

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
 * Host pointer for [gpa, gpa + len) when that range lies inside one slot,
 * else NULL.
 */
void *memmap_gpa_to_hva(struct memmap *mm, uint64_t gpa, uint64_t len);

/* Copies between host buffers and guest memory; false when not all mapped. */
bool memmap_write(struct memmap *mm, uint64_t gpa, const void *src,
                  size_t len);
bool memmap_read(struct memmap *mm, uint64_t gpa, void *dst, size_t len);

unsigned memmap_count(struct memmap *mm);
/* The i-th installed slot in guest-address order (i < memmap_count). */
const struct memmap_slot *memmap_get(struct memmap *mm, unsigned i);
