/*
 * Dirty-page logging: one interface over KVM's three mechanisms
 * (Documentation/virt/kvm/api.rst), chosen by capability and option:
 *
 *   ring    per-vCPU dirty rings (KVM_CAP_DIRTY_LOG_RING[_ACQ_REL]) when the
 *           VM was created with a ring size (-accel kvm,dirty-ring-size=N);
 *   clear   manual protect (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, with
 *           KVM_DIRTY_LOG_INITIALLY_SET when offered): KVM_GET_DIRTY_LOG,
 *           then KVM_CLEAR_DIRTY_LOG of exactly the harvested bits;
 *   bitmap  KVM_GET_DIRTY_LOG, which fetches and re-protects in one call.
 *
 * Logging is switched on per memslot (KVM_MEM_LOG_DIRTY_PAGES, through
 * memmap_set_flags()) while at least one user has called dirty_log_start().
 * A harvest returns, per memslot, the pages written since the previous
 * harvest (or since logging started): by the guest (KVM's log) and by
 * hotmem itself (memmap_write()/memmap_mark_dirty(), through the memmap
 * write hook). Hot-plug: see dirty_log_slot_added() and friends, and
 * docs/mmu.md, "Dirty logging".
 *
 * Threads: any thread may call any function; dirty_log_ring_full() is meant
 * for vCPU threads (KVM_EXIT_DIRTY_RING_FULL).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <linux/kvm.h>

#include "mmu/memmap.h"

#define DIRTY_PAGE_SIZE 4096ULL

enum dirty_log_mode {
    DIRTY_LOG_AUTO,     /* configuration only: choose as described above */
    DIRTY_LOG_BITMAP,
    DIRTY_LOG_CLEAR,
    DIRTY_LOG_RING,
};

/*
 * The VM ioctls the log makes (KVM_CHECK_EXTENSION, KVM_ENABLE_CAP,
 * KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG, KVM_RESET_DIRTY_RINGS), behind a
 * pointer as memmap's set_region is, so tests and benchmarks can run the
 * log without /dev/kvm. Returns >= 0 or -errno.
 */
typedef int (*dirty_vm_ioctl_fn)(void *opaque, unsigned long request,
                                 void *arg);

struct dirty_log_config {
    int vm_fd;
    /* NULL: ioctl() on vm_fd. */
    dirty_vm_ioctl_fn vm_ioctl;
    void *vm_ioctl_opaque;
    struct memmap *memmap;
    enum dirty_log_mode mode;       /* DIRTY_LOG_AUTO, or force one */
    /* Entries per vCPU ring already enabled on the VM (kvm.c), 0: none. */
    uint32_t ring_entries;
};

/* One memslot's share of a harvest. */
struct dirty_slot_bits {
    uint32_t slot;          /* KVM slot id (may be reused after removal) */
    uint64_t gpa, size;
    char *owner;            /* memmap owner: "ram-below-4g", a DIMM id... */
    uint64_t generation;    /* memmap_slot.serial: the installation */
    bool removed;           /* the slot is gone: these are its last bits */
    uint64_t *bitmap;       /* bit i: page gpa + i * 4 KiB was written */
    uint64_t pages;         /* bits set in bitmap */
    uint64_t vmm_pages;     /* of which written by hotmem itself */
};

struct dirty_harvest {
    struct dirty_slot_bits *slots;
    unsigned nr_slots;
    uint64_t pages;         /* sum of slots[].pages: distinct pages */
    uint64_t vmm_pages;     /* sum of slots[].vmm_pages */
    /*
     * Ring mode: ring entries collected per vCPU. A page written again
     * after its entry was collected gives a new entry, so these count
     * writes-after-reset, not distinct pages.
     */
    uint64_t *vcpu_entries;
    unsigned nr_vcpus;
    uint64_t dropped;       /* ring entries naming no known slot */
};

struct dirty_log;

/*
 * Picks the mode and prepares the VM for it (manual protect is enabled
 * here; the ring must already be on, before the vCPUs were created).
 * Installs the memmap write hook.
 */
struct dirty_log *dirty_log_new(const struct dirty_log_config *cfg,
                                GError **err);
void dirty_log_free(struct dirty_log *dl);

enum dirty_log_mode dirty_log_mode(struct dirty_log *dl);
/* "bitmap", "clear", "ring". */
const char *dirty_log_mode_name(enum dirty_log_mode mode);
/* Ring mode: entries per vCPU ring. */
uint32_t dirty_log_ring_entries(struct dirty_log *dl);

/*
 * Ring mode: the vCPUs' mmapped rings (KVM_DIRTY_LOG_PAGE_OFFSET of each
 * vCPU fd), once they exist. The array is copied.
 */
void dirty_log_set_rings(struct dirty_log *dl, unsigned nr_vcpus,
                         struct kvm_dirty_gfn *const *rings);

/*
 * Counted: logging is on while starts outnumber stops. The first start
 * enables logging on every slot and begins from a clean log.
 */
bool dirty_log_start(struct dirty_log *dl, GError **err);
void dirty_log_stop(struct dirty_log *dl);
bool dirty_log_active(struct dirty_log *dl);

/*
 * Everything written since the previous harvest (or the start). out is
 * overwritten; free it with dirty_harvest_clear(). Fails when logging is
 * off or KVM refuses.
 */
bool dirty_log_harvest(struct dirty_log *dl, struct dirty_harvest *out,
                       GError **err);
void dirty_harvest_clear(struct dirty_harvest *h);

/*
 * Hot-plug. A slot is installed with memmap_add(), with
 * KVM_MEM_LOG_DIRTY_PAGES when dirty_log_active() (then it is installed
 * once) or without (slot_added() then turns the flag on if logging is
 * active), and announced right after with slot_added(gpa), before the
 * guest can know about it; when that fails the caller removes the slot
 * again. Before memmap_remove(), slot_removing() takes the slot's pending
 * bits from KVM into the next harvest (marked removed); after it,
 * slot_removed() collects ring entries that were still in flight, so none
 * is ever credited to a later slot that reuses the id. Each touches only
 * the slot at gpa (constant cost however many slots there are), and does
 * nothing while logging is off.
 */
bool dirty_log_slot_added(struct dirty_log *dl, uint64_t gpa,
                          GError **err);
void dirty_log_slot_removing(struct dirty_log *dl, uint64_t gpa);
void dirty_log_slot_removed(struct dirty_log *dl);

/*
 * What the log holds now: its records of memslots and the heap of their
 * bitmaps. Records exist only while logging is on: one per memslot, plus
 * one per memslot removed since the last harvest (its last bits, which
 * that harvest reports). Logging off, the log holds nothing.
 */
struct dirty_log_usage {
    unsigned slots;         /* live memslots */
    unsigned removed;       /* removed memslots the next harvest reports */
    uint64_t bytes;         /* their bitmaps */
};
void dirty_log_usage(struct dirty_log *dl, struct dirty_log_usage *out);

/* KVM_EXIT_DIRTY_RING_FULL on vCPU index: collect and reset the rings. */
void dirty_log_ring_full(struct dirty_log *dl, unsigned index);
