/*
 * State shared by dirty.c (records, start/stop, hot-plug, harvest) and
 * dirty_kvm.c (the three ways of reading KVM's log). Not a public API.
 */
#pragma once

#include "mmu/dirty.h"

/*
 * hotmem's record of one memslot, kept while logging is on. Identity is
 * the slot id AND its installation (memmap_slot.serial): a slot that reuses
 * the id, even with the same range and host address, is another record, so
 * bits never move from a removed slot to its successor.
 */
struct dirty_slot {
    uint32_t id;
    uint64_t serial;        /* memmap_slot.serial */
    uint64_t gpa, size;
    char *owner;
    unsigned seen;          /* reconcile() pass that last found it */
    uint64_t npages;
    size_t words;           /* bitmap length in uint64_t */
    uint64_t *acc;          /* KVM's bits gathered since the last harvest */
    bool acc_any;           /* acc has a bit set */
    uint64_t *vmm;          /* hotmem's own writes (NULL until the first) */
    uint64_t *scratch;      /* KVM_GET_DIRTY_LOG buffer */
    bool logging;           /* KVM logs it and the initial bits are gone */
    bool removed;
};

struct dirty_ring {
    struct kvm_dirty_gfn *gfns;
    uint32_t fetch;         /* next entry to look at (free-running) */
};

struct dirty_mode_ops {
    enum dirty_log_mode mode;
    /* VM-level setup at creation (capabilities). */
    bool (*init)(struct dirty_log *dl, GError **err);
    /*
     * Logging was just switched on for s: drop whatever KVM reports from
     * before (the all-set bitmap of KVM_DIRTY_LOG_INITIALLY_SET).
     */
    bool (*begin_slot)(struct dirty_log *dl, struct dirty_slot *s,
                       GError **err);
    /* KVM's bits for s into s->acc (bitmap modes). */
    bool (*collect_slot)(struct dirty_log *dl, struct dirty_slot *s,
                         GError **err);
    /* Every ring into the slots' acc (ring mode). */
    bool (*collect_rings)(struct dirty_log *dl, bool discard, GError **err);
};

struct dirty_log {
    dirty_vm_ioctl_fn vm_ioctl;
    void *vm_ioctl_opaque;
    struct memmap *memmap;
    const struct dirty_mode_ops *ops;
    uint32_t ring_entries;
    /*
     * ctl serialises start/stop/hot-plug/harvest and may be held while
     * calling memmap (which takes the memmap lock). lock guards the records
     * and rings; it is taken inside the memmap read lock by the write hook,
     * so memmap is never called with lock held. Order: ctl, then lock.
     */
    GMutex ctl;
    GMutex lock;
    unsigned users;         /* atomic reads; changed under ctl and lock */
    /*
     * Records exist only while logging is on (users > 0). live: indexed by
     * slot id (KVM's ids are small and reused lowest first), NULL where
     * none, nr_live of them; retired: removed slots, in order of removal,
     * reported by the next harvest.
     */
    GPtrArray *live;
    unsigned nr_live;
    GPtrArray *retired;
    unsigned pass;          /* reconcile() passes, for dirty_slot.seen */
    struct dirty_ring *rings;
    unsigned nr_rings;
    uint64_t *vcpu_entries; /* per ring, since the last harvest */
    uint64_t dropped;
    uint64_t last_collected;    /* entries the last ring collection took */
    bool overrun_warned;
};

/* dirty_kvm.c */
const struct dirty_mode_ops *dirty_mode_ops_for(enum dirty_log_mode mode);
bool dirty_manual_protect_flags(dirty_vm_ioctl_fn vm_ioctl, void *opaque,
                                uint64_t *flags);
/* ioctl() on the VM fd passed as opaque: the default dirty_vm_ioctl_fn. */
int dirty_vm_fd_ioctl(void *opaque, unsigned long request, void *arg);

/* dirty.c: the record a ring entry's slot id names, live first. */
struct dirty_slot *dirty_slot_by_id(struct dirty_log *dl, uint32_t id);

static inline void dirty_bit_set(uint64_t *bm, uint64_t page)
{
    bm[page / 64] |= 1ULL << (page % 64);
}
