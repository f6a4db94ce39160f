/*
 * A vCPU's whole architectural state as KVM holds it, saved once right
 * after the vCPU is created (KVM's power-on state: RESET values of the
 * registers, the LAPIC, the MSRs, the FPU and extended state, the run
 * state of an application processor) and written back on a machine reset,
 * so a reset vCPU is the vCPU the machine booted with. The same ioctls a
 * migration uses (Documentation/virt/kvm/api.rst, KVM_GET_* / KVM_SET_*),
 * in the order KVM needs them back (control registers before the MSRs
 * that depend on them, the run state before the LAPIC).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "kvm.h"

struct vcpu_state;

struct vcpu_state *vcpu_state_save(struct kvm *kvm, int vcpu_fd,
                                   GError **err);
bool vcpu_state_restore(const struct vcpu_state *st, int vcpu_fd,
                        GError **err);
void vcpu_state_free(struct vcpu_state *st);
