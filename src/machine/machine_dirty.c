/*
 * The machine's dirty log (mmu/dirty.h): created right after the memslot
 * table and before the vCPUs (the dirty ring must be enabled on the VM
 * before KVM_CREATE_VCPU), fed the vCPUs' rings once they exist, and told
 * about every DIMM memslot that comes and goes.
 */
#include "machine/machine.h"
#include "machine/machine_internal.h"

#include "errors.h"
#include "mmu/dirty.h"
#include "mmu/dirtyrate.h"

bool machine_dirty_init(struct machine *m, GError **err)
{
    const struct machine_kvm_stub *stub = m->cfg.kvm_stub;
    struct dirty_log_config cfg = { .memmap = m->memmap,
                                    .mode = DIRTY_LOG_AUTO };

    if (stub) {
        if (!stub->vm_ioctl)
            return true;
        cfg.vm_fd = -1;
        cfg.vm_ioctl = stub->vm_ioctl;
        cfg.vm_ioctl_opaque = stub->opaque;
        m->dirty = dirty_log_new(&cfg, err);
        return m->dirty != NULL;
    }
    cfg.vm_fd = m->kvm->vm_fd;
    if (m->cfg.dirty_ring_size &&
        !kvm_enable_dirty_ring(m->kvm, m->cfg.dirty_ring_size, err)) {
        g_prefix_error(err, "-accel kvm,dirty-ring-size=%u: ",
                       m->cfg.dirty_ring_size);
        return false;
    }
    cfg.ring_entries = m->kvm->dirty_ring_entries;
    m->dirty = dirty_log_new(&cfg, err);
    return m->dirty != NULL;
}

bool machine_dirty_attach_vcpus(struct machine *m, GError **err)
{
    unsigned n = vcpus_count(m->vcpus);
    g_autofree struct kvm_dirty_gfn **rings = g_new0(struct kvm_dirty_gfn *,
                                                     n);

    if (dirty_log_mode(m->dirty) != DIRTY_LOG_RING)
        return true;
    for (unsigned i = 0; i < n; i++)
        rings[i] = vcpus_dirty_ring(m->vcpus, i);
    dirty_log_set_rings(m->dirty, n, rings);
    return true;
}

/* After vcpus_destroy(): the rings are unmapped, so forget them first. */
void machine_dirty_free(struct machine *m)
{
    if (m->dirty)
        dirty_log_set_rings(m->dirty, 0, NULL);
    g_clear_pointer(&m->dirtyrate, dirtyrate_free);
    g_clear_pointer(&m->dirty, dirty_log_free);
}

/* vcpu_hooks.dirty_ring_full: vCPU thread. */
void machine_dirty_ring_full(void *opaque, unsigned index)
{
    struct machine *m = opaque;

    dirty_log_ring_full(m->dirty, index);
}

static struct dirtyrate *dirtyrate(struct machine *m)
{
    if (!m->dirtyrate)
        m->dirtyrate = dirtyrate_new(m->dirty, m->memmap);
    return m->dirtyrate;
}

bool machine_calc_dirty_rate(struct machine *m,
                             const struct dirtyrate_request *r, GError **err)
{
    if (!m->dirty) {        /* a machine on machine_config.kvm_stub */
        g_set_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED,
                    "the dirty rate needs KVM's dirty log, which this "
                    "machine (built without KVM) does not have");
        return false;
    }
    return dirtyrate_start(dirtyrate(m), r, err);
}

void machine_query_dirty_rate(struct machine *m, struct dirtyrate_info *out)
{
    dirtyrate_get(dirtyrate(m), out);
}

/*
 * Installs a DIMM's memslot once, with the log flag already on when dirty
 * logging is active; the dirty log then records the slot (and in clear mode
 * drops KVM's initially-set bits) before the guest hears of the DIMM, so
 * its first guest write is logged. Main thread, like dirty_log_start() and
 * _stop(), so logging cannot change state in between.
 */
bool machine_dimm_memslot_add(struct machine *m, uint64_t gpa, uint64_t size,
                              void *hva, bool readonly, const char *owner,
                              GError **err)
{
    /*
     * A read-only backend is mapped without PROT_WRITE: KVM must not map it
     * writable either. With KVM_MEM_READONLY the guest's writes become MMIO
     * exits that nothing claims, so they are dropped, as in QEMU, instead
     * of failing KVM_RUN with EFAULT and ending the VM.
     */
    uint32_t flags = (m->dirty && dirty_log_active(m->dirty)
                      ? KVM_MEM_LOG_DIRTY_PAGES : 0) |
                     (readonly ? KVM_MEM_READONLY : 0);

    if (!memmap_add(m->memmap, gpa, size, hva, flags, owner, NULL, err))
        return false;
    if (!m->dirty || dirty_log_slot_added(m->dirty, gpa, err))
        return true;
    /* device_add fails and leaves nothing behind: the slot goes again. */
    machine_dimm_memslot_remove(m, gpa, NULL);
    return false;
}

/*
 * Removes a DIMM's memslot: its pending dirty bits are taken from KVM first
 * (reported as a removed slot by the next harvest), and ring entries still
 * in flight are collected after, before the slot id can be reused.
 */
bool machine_dimm_memslot_remove(struct machine *m, uint64_t gpa,
                                 GError **err)
{
    bool ok;

    if (m->dirty)
        dirty_log_slot_removing(m->dirty, gpa);
    ok = memmap_remove(m->memmap, gpa, err);
    if (m->dirty)
        dirty_log_slot_removed(m->dirty);
    return ok;
}
