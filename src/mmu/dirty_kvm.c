/*
 * The three ways of reading KVM's dirty log, behind one ops table (the KVM
 * selftests' idea of running one body across log modes). Every function
 * here runs with dl->lock held and never calls memmap.
 * Interfaces: Documentation/virt/kvm/api.rst, 4.8 KVM_GET_DIRTY_LOG,
 * 4.118 KVM_CLEAR_DIRTY_LOG, 7.18 KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
 * 8.29 KVM_CAP_DIRTY_LOG_RING / KVM_CAP_DIRTY_LOG_RING_ACQ_REL.
 */
#include "mmu/dirty_internal.h"

#include <string.h>
#include <sys/ioctl.h>

#include "errors.h"
#include "kvm.h"

int dirty_vm_fd_ioctl(void *opaque, unsigned long request, void *arg)
{
    return __kvm_ioctl((int)(intptr_t)opaque, request, arg);
}

/* The VM ioctl request, its failure a GError naming it. */
static bool vm_ioctl_named(struct dirty_log *dl, unsigned long request,
                           const char *name, void *arg, GError **err)
{
    int r = dl->vm_ioctl(dl->vm_ioctl_opaque, request, arg);

    if (r < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM, "%s failed: %s", name,
                    g_strerror(-r));
        return false;
    }
    return true;
}
#define dirty_ioctl(dl, request, arg, err) \
    vm_ioctl_named((dl), (request), #request, (arg), (err))

/* The flags KVM offers for manual protect; false when none. */
bool dirty_manual_protect_flags(dirty_vm_ioctl_fn vm_ioctl, void *opaque,
                                uint64_t *flags)
{
    int r = vm_ioctl(opaque, KVM_CHECK_EXTENSION,
                     (void *)(long)KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

    if (r <= 0 || !(r & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
        return false;
    *flags = (uint64_t)r & (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
                            KVM_DIRTY_LOG_INITIALLY_SET);
    return true;
}

static bool get_log(struct dirty_log *dl, struct dirty_slot *s, GError **err)
{
    struct kvm_dirty_log log = { .slot = s->id, .dirty_bitmap = s->scratch };

    if (dirty_ioctl(dl, KVM_GET_DIRTY_LOG, &log, err))
        return true;
    g_prefix_error(err, "slot %u (%s): ", s->id, s->owner);
    return false;
}

/*
 * Moves scratch into acc: a swap when acc is empty (the usual case), else
 * an OR. Returns whether scratch had any bit.
 */
static bool merge_scratch(struct dirty_slot *s)
{
    uint64_t any = 0;

    if (!s->acc_any) {
        uint64_t *t = s->acc;

        s->acc = s->scratch;
        s->scratch = t;
        for (size_t i = 0; i < s->words && !any; i++)
            any |= s->acc[i];
        s->acc_any = any != 0;
        return any != 0;
    }
    for (size_t i = 0; i < s->words; i++) {
        any |= s->scratch[i];
        s->acc[i] |= s->scratch[i];
    }
    return any != 0;
}

/* Bits past the slot's last page must be zero for KVM_CLEAR_DIRTY_LOG. */
static void clear_log(struct dirty_log *dl, struct dirty_slot *s,
                      uint64_t *bits, GError **err_out)
{
    struct kvm_clear_dirty_log c = { .slot = s->id, .first_page = 0,
                                     .num_pages = (uint32_t)s->npages,
                                     .dirty_bitmap = bits };

    if (!dirty_ioctl(dl, KVM_CLEAR_DIRTY_LOG, &c, err_out))
        g_prefix_error(err_out, "slot %u (%s): ", s->id, s->owner);
}

static bool no_init(struct dirty_log *dl, GError **err)
{
    return true;
}

static bool no_begin(struct dirty_log *dl, struct dirty_slot *s, GError **err)
{
    return true;
}

/* bitmap: GET_DIRTY_LOG returns and re-protects in one call. */
static bool bitmap_collect(struct dirty_log *dl, struct dirty_slot *s,
                           GError **err)
{
    if (!get_log(dl, s, err))
        return false;
    merge_scratch(s);
    return true;
}

static bool clear_init(struct dirty_log *dl, GError **err)
{
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
    uint64_t flags;

    if (!dirty_manual_protect_flags(dl->vm_ioctl, dl->vm_ioctl_opaque,
                                    &flags)) {
        g_set_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED,
                    "KVM lacks KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: the "
                    "clear dirty-log mode is not available");
        return false;
    }
    cap.args[0] = flags;
    return dirty_ioctl(dl, KVM_ENABLE_CAP, &cap, err);
}

/*
 * With KVM_DIRTY_LOG_INITIALLY_SET a slot starts all-dirty and unprotected;
 * clearing every page protects it, so the log begins empty.
 */
static bool clear_begin(struct dirty_log *dl, struct dirty_slot *s,
                        GError **err)
{
    GError *e = NULL;

    memset(s->scratch, 0, s->words * sizeof(uint64_t));
    memset(s->scratch, 0xff, s->npages / 64 * sizeof(uint64_t));
    if (s->npages % 64)
        s->scratch[s->npages / 64] = (1ULL << (s->npages % 64)) - 1;
    clear_log(dl, s, s->scratch, &e);
    if (e) {
        g_propagate_error(err, e);
        return false;
    }
    return true;
}

/* clear: GET, then re-protect exactly what was harvested. */
static bool clear_collect(struct dirty_log *dl, struct dirty_slot *s,
                          GError **err)
{
    GError *e = NULL;
    bool had_acc = s->acc_any;

    if (!get_log(dl, s, err))
        return false;
    if (!merge_scratch(s))
        return true;
    /* After a swap the fresh bits are in acc, otherwise still in scratch. */
    clear_log(dl, s, had_acc ? s->scratch : s->acc, &e);
    if (e) {
        g_propagate_error(err, e);
        return false;
    }
    return true;
}

/*
 * One entry: credit its page to the slot it names, or count it dropped.
 * *last caches the previous entry's record: runs of entries share a slot.
 */
static void ring_take(struct dirty_log *dl, const struct kvm_dirty_gfn *g,
                      struct dirty_slot **last)
{
    struct dirty_slot *s = *last;

    if (!s || s->id != g->slot) {
        /* Address space 0 (bits 16+ of slot) is normal memory. */
        s = (g->slot >> 16) == 0 ? dirty_slot_by_id(dl, g->slot) : NULL;
        *last = s;
    }
    if (!s || g->offset >= s->npages) {
        dl->dropped++;
        return;
    }
    dirty_bit_set(s->acc, g->offset);
    s->acc_any = true;
}

/*
 * Entries are published with DIRTY set (release by KVM, so acquire here);
 * handing one back is setting RESET, then KVM_RESET_DIRTY_RINGS.
 */
static uint64_t ring_drain(struct dirty_log *dl, struct dirty_ring *r,
                           bool discard)
{
    uint32_t mask = dl->ring_entries - 1;
    struct dirty_slot *last = NULL;
    uint64_t n = 0;

    for (;;) {
        struct kvm_dirty_gfn *g = &r->gfns[r->fetch & mask];
        uint32_t flags = __atomic_load_n(&g->flags, __ATOMIC_ACQUIRE);

        if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
            break;
        if (!discard)
            ring_take(dl, g, &last);
        __atomic_store_n(&g->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
        r->fetch++;
        n++;
    }
    return n;
}

static bool ring_collect(struct dirty_log *dl, bool discard, GError **err)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < dl->nr_rings; i++) {
        uint64_t n;

        if (!dl->rings[i].gfns)
            continue;
        n = ring_drain(dl, &dl->rings[i], discard);
        if (!discard)
            dl->vcpu_entries[i] += n;
        total += n;
    }
    dl->last_collected = total;
    if (total == 0)
        return true;
    return dirty_ioctl(dl, KVM_RESET_DIRTY_RINGS, NULL, err);
}

static const struct dirty_mode_ops mode_ops[] = {
    { DIRTY_LOG_BITMAP, no_init, no_begin, bitmap_collect, NULL },
    { DIRTY_LOG_CLEAR, clear_init, clear_begin, clear_collect, NULL },
    { DIRTY_LOG_RING, no_init, no_begin, NULL, ring_collect },
};

const struct dirty_mode_ops *dirty_mode_ops_for(enum dirty_log_mode mode)
{
    for (size_t i = 0; i < G_N_ELEMENTS(mode_ops); i++) {
        if (mode_ops[i].mode == mode)
            return &mode_ops[i];
    }
    return NULL;
}
