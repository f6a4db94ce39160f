/*
 * Guest time while the machine is stopped (machine_internal.h): the
 * kvmclock (KVM_GET_CLOCK / KVM_SET_CLOCK, Documentation/virt/kvm/api.rst)
 * stands still from the moment the vCPUs stop until they run again, so a
 * stopped or restored guest goes on from the time it stopped at, as under
 * QEMU. Linux keeps its time in kvmclock (clocksource and sched_clock), so
 * its jiffies, uptime and printk time do not jump over the pause.
 */
#include "errors.h"
#include "machine/machine_internal.h"

bool machine_clock_read(struct machine *m, uint64_t *ns, GError **err)
{
    struct kvm_clock_data clock = { 0 };

    if (m->clock_frozen) {
        *ns = m->frozen_clock;
        return true;
    }
    if (!kvm_ioctl(m->kvm->vm_fd, KVM_GET_CLOCK, &clock, err))
        return false;
    *ns = clock.clock;
    return true;
}

void machine_clock_freeze(struct machine *m)
{
    g_autoptr(GError) err = NULL;

    if (m->cfg.kvm_stub || m->clock_frozen)
        return;
    /* A KVM that cannot say leaves the clock running, as before. */
    if (machine_clock_read(m, &m->frozen_clock, &err))
        m->clock_frozen = true;
    else
        g_printerr("hotmem: guest time runs on while stopped: %s\n",
                   err->message);
}

void machine_clock_set_frozen(struct machine *m, uint64_t ns)
{
    m->frozen_clock = ns;
    m->clock_frozen = true;
}

void machine_clock_thaw(struct machine *m)
{
    struct kvm_clock_data clock = { .clock = m->frozen_clock };
    g_autoptr(GError) err = NULL;

    if (m->cfg.kvm_stub || !m->clock_frozen)
        return;
    m->clock_frozen = false;
    if (!kvm_ioctl(m->kvm->vm_fd, KVM_SET_CLOCK, &clock, &err))
        g_printerr("hotmem: guest time jumps over the pause: %s\n",
                   err->message);
}
