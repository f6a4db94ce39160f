/*
 * Machine reset: system_reset from the monitor, and the guest's own reset
 * (the FADT reset register, docs/acpi.md; KVM_SYSTEM_EVENT_RESET). As in
 * QEMU the machine starts again from power-on with what is plugged now: a
 * hot-plugged DIMM stays, and the guest finds it at boot as if it had
 * been cold-plugged. With -no-reboot (machine_config.no_reboot) the guest's
 * reset ends the machine instead.
 *
 * Every vCPU is held out of KVM_RUN while the machine is put back, so the
 * guest never sees half of it: from a vCPU thread (the guest's request)
 * the hold is asked for at once and the reset itself runs on the main
 * loop.
 */
#include <inttypes.h>

#include "errors.h"
#include "machine/machine_internal.h"

/* The in-kernel PIC pair, IOAPIC and PIT as KVM created them. */
struct machine_platform_state {
    struct kvm_irqchip chips[3];    /* KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC */
    struct kvm_pit_state2 pit;
};

/*
 * The 8259 pair as firmware leaves it (SeaBIOS, qboot): initialised, with
 * the vectors at 0x08 and 0x70, every line masked. KVM creates it
 * uninitialised, vector base 0, nothing masked, and the BSP's LAPIC routes
 * it in through LINT0 (ExtINT) until the OS sets the LAPIC up. Linux on a
 * hardware-reduced ACPI machine never touches the 8259 and enables
 * interrupts before its LAPIC setup, so any interrupt that reached the PIC
 * then (seen after a reset) arrived as vector 0-7: a spurious IRQ 7 killed
 * the rebooted kernel with "unexpected #NM exception". hotmem is the
 * firmware here, so it masks the PIC at power-on and at every reset.
 */
static void pic_as_firmware_leaves_it(struct kvm_irqchip *chip)
{
    struct kvm_pic_state *p = &chip->chip.pic;

    p->irq_base = chip->chip_id == KVM_IRQCHIP_PIC_MASTER ? 0x08 : 0x70;
    p->imr = 0xff;
    p->irr = 0;
    p->isr = 0;
    p->init_state = 0;
    p->init4 = 1;
}

bool machine_reset_init(struct machine *m, GError **err)
{
    struct machine_platform_state *st = g_new0(struct machine_platform_state,
                                               1);

    for (unsigned i = 0; i < G_N_ELEMENTS(st->chips); i++) {
        st->chips[i].chip_id = i;
        if (!kvm_ioctl(m->kvm->vm_fd, KVM_GET_IRQCHIP, &st->chips[i], err)) {
            g_free(st);
            return false;
        }
        if (i == KVM_IRQCHIP_IOAPIC)
            continue;
        pic_as_firmware_leaves_it(&st->chips[i]);
        if (!kvm_ioctl(m->kvm->vm_fd, KVM_SET_IRQCHIP, &st->chips[i], err)) {
            g_free(st);
            return false;
        }
    }
    if (!kvm_ioctl(m->kvm->vm_fd, KVM_GET_PIT2, &st->pit, err)) {
        g_free(st);
        return false;
    }
    m->power_on = st;
    return true;
}

void machine_reset_free(struct machine *m)
{
    g_clear_pointer(&m->power_on, g_free);
}

static bool reset_platform(struct machine *m, GError **err)
{
    struct machine_platform_state *st = m->power_on;

    for (unsigned i = 0; i < G_N_ELEMENTS(st->chips); i++) {
        if (!kvm_ioctl(m->kvm->vm_fd, KVM_SET_IRQCHIP, &st->chips[i], err))
            return false;
    }
    return kvm_ioctl(m->kvm->vm_fd, KVM_SET_PIT2, &st->pit, err);
}

/*
 * The hot-plug controller as at boot: no event pending, no removal asked
 * for (QEMU keeps a pending removal's bit but the event that would tell
 * the guest is lost with the reset; hotmem drops it, so the DIMM is plain
 * cold-plugged memory and a new device_del asks again). hotmem itself may
 * use the DIMM's memory again.
 */
static void reset_dimms(struct machine *m)
{
    g_mutex_lock(&m->dimm_lock);
    for (unsigned i = 0; i < m->cfg.slots; i++) {
        struct pc_dimm *d = m->dimm_slots[i];

        if (d && d->hp.unplug_requested)
            memmap_set_removing(m->memmap, d->addr, false);
    }
    memhp_reset(m->memhp);
    g_mutex_unlock(&m->dimm_lock);
}

/* Everything but the vCPUs' threads; they are parked (or there are none). */
static bool reset_machine(struct machine *m, GError **err)
{
    serial_reset(m->com1);
    ged_reset(m->ged);
    reset_dimms(m);
    if (!machine_load_images(m, err))
        return false;
    if (m->cfg.kvm_stub)
        return true;
    return reset_platform(m, err) && vcpus_reset(m->vcpus, &m->entry, err);
}

static void reset(struct machine *m, bool guest, const char *reason)
{
    g_autoptr(GError) err = NULL;
    json_object *data;
    /* Stopped by the guest's power-off under -no-shutdown: a reset makes
     * it a machine that has not run yet, as QEMU's prelaunch. */
    bool revive = machine_needs_reset(m);

    if (machine_run_state(m) == MACHINE_SHUTDOWN && !revive)
        return;
    /*
     * A migration is reading guest memory and device state: the reset
     * happens when it is done (machine_migration_end()), so what it saves
     * is the machine of one instant, not half of a reset.
     */
    if (g_atomic_int_get(&m->migrating)) {
        g_mutex_lock(&m->state_lock);
        m->reset_deferred = true;
        m->reset_deferred_guest = guest;
        g_mutex_unlock(&m->state_lock);
        return;
    }
    if (m->vcpus) {
        vcpus_hold(m->vcpus);
        vcpus_wait_parked(m->vcpus);
    }
    if (!reset_machine(m, &err)) {
        g_autofree char *why = g_strdup_printf("reset failed: %s",
                                               err->message);

        /* The vCPUs stay held: half a reset must not run. */
        machine_request_exit(m, 1, false, "host-error", why);
        return;
    }
    data = json_object_new_object();
    json_object_object_add(data, "guest", json_object_new_boolean(guest));
    json_object_object_add(data, "reason", json_object_new_string(reason));
    machine_emit(m, MACHINE_EVENT_RESET, data);
    if (revive)
        machine_revive(m);
    if (m->vcpus)
        vcpus_release(m->vcpus);
}

void machine_reset_now(struct machine *m, bool guest)
{
    reset(m, guest, guest ? "guest-reset" : "host-qmp-system-reset");
}

void machine_system_reset(struct machine *m)
{
    reset(m, false, "host-qmp-system-reset");
}

static gboolean guest_reset_on_main_loop(gpointer opaque)
{
    struct machine *m = opaque;

    g_atomic_int_set(&m->reset_pending, 0);
    reset(m, true, "guest-reset");
    return G_SOURCE_REMOVE;
}

void machine_guest_reset(struct machine *m)
{
    GSource *src;

    if (m->cfg.no_reboot) {
        machine_request_exit(m, 0, true, "guest-reset",
                             "guest requested a reset (-no-reboot)");
        return;
    }
    if (!g_atomic_int_compare_and_exchange(&m->reset_pending, 0, 1))
        return;
    /* The asking vCPU parks as soon as its exit is handled. */
    if (m->vcpus)
        vcpus_hold(m->vcpus);
    src = g_idle_source_new();
    g_source_set_callback(src, guest_reset_on_main_loop, m, NULL);
    g_source_attach(src, m->main_ctx);
    g_source_unref(src);
}
