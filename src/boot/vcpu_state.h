/*
 * A vCPU's whole architectural state as KVM holds it, saved once right
 * after the vCPU is created (KVM's power-on state: RESET values of the
 * registers, the LAPIC, the MSRs, the FPU and extended state, the run
 * state of an application processor) and written back on a machine reset,
 * so a reset vCPU is the vCPU the machine booted with. The same ioctls a
 * migration uses (Documentation/virt/kvm/api.rst, KVM_GET_* / KVM_SET_*),
 * in the order KVM needs them back (control registers before the MSRs
 * that depend on them, the run state before the LAPIC, the TSC deadline
 * after the LAPIC that puts its timer in TSC-deadline mode).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "kvm.h"

/*
 * Public so that a migration can carry it (docs/migration.md); the machine
 * reset keeps it opaque in practice. xsave is xsave_size bytes (KVM_GET_XSAVE2's
 * size, at least struct kvm_xsave), NULL without KVM_CAP_XSAVE; msrs holds
 * the readable MSRs with their values (the TSC among them: restoring it
 * keeps guest time monotonic).
 */
struct vcpu_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_xcrs xcrs;
    bool has_xcrs;
    struct kvm_xsave *xsave;
    size_t xsave_size;
    struct kvm_mp_state mp;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_debugregs debugregs;
    struct kvm_msrs *msrs;
};

struct vcpu_state *vcpu_state_save(struct kvm *kvm, int vcpu_fd,
                                   GError **err);
bool vcpu_state_restore(const struct vcpu_state *st, int vcpu_fd,
                        GError **err);
void vcpu_state_free(struct vcpu_state *st);
