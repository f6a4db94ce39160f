/*
 * Save and restore of a vCPU's state for machine reset (vcpu_state.h).
 * Everything KVM keeps per vCPU that a guest can change: general and
 * segment/control registers, FPU and XSAVE state, XCR0, every MSR KVM
 * lists (KVM_GET_MSR_INDEX_LIST: the TSC, kvmclock, APIC base, SYSCALL
 * targets, ...), the multiprocessing state, the LAPIC, pending events and
 * the debug registers.
 */
#include "boot/vcpu_state.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "errors.h"


/* The MSRs KVM saves and restores for a migration. */
static struct kvm_msr_list *msr_index_list(struct kvm *kvm, GError **err)
{
    struct kvm_msr_list probe = { .nmsrs = 0 };
    struct kvm_msr_list *list;
    int r = __kvm_ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe);

    if (r < 0 && r != -E2BIG) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_GET_MSR_INDEX_LIST failed: %s", g_strerror(-r));
        return NULL;
    }
    list = g_malloc0(sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
    list->nmsrs = probe.nmsrs;
    if (!kvm_ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, list, err)) {
        g_free(list);
        return NULL;
    }
    return list;
}

/*
 * Reads the MSRs this vCPU has (the list is the host's; a vCPU without,
 * say, the PMU refuses to read its MSRs). KVM_GET_MSRS reads in order and
 * stops at the first MSR it refuses, returning how many it read: so ask
 * for all that are left, keep what came back, skip the refused one and go
 * on. One ioctl per refused MSR plus one, instead of one per MSR (40 at
 * every start; each a system call that an emulated host makes expensive).
 */
static struct kvm_msrs *read_msrs(struct kvm *kvm, int fd, GError **err)
{
    g_autofree struct kvm_msr_list *list = msr_index_list(kvm, err);
    g_autofree struct kvm_msrs *batch = NULL;
    struct kvm_msrs *msrs;
    uint32_t next = 0;

    if (!list)
        return NULL;
    msrs = g_malloc0(sizeof(*msrs) +
                     list->nmsrs * sizeof(struct kvm_msr_entry));
    batch = g_malloc0(sizeof(*batch) +
                      list->nmsrs * sizeof(struct kvm_msr_entry));
    while (next < list->nmsrs) {
        int got;

        batch->nmsrs = list->nmsrs - next;
        for (uint32_t i = 0; i < batch->nmsrs; i++)
            batch->entries[i] = (struct kvm_msr_entry){
                .index = list->indices[next + i] };
        got = __kvm_ioctl(fd, KVM_GET_MSRS, batch);
        got = CLAMP(got, 0, (int)batch->nmsrs);
        memcpy(&msrs->entries[msrs->nmsrs], batch->entries,
               (size_t)got * sizeof(struct kvm_msr_entry));
        msrs->nmsrs += (uint32_t)got;
        next += (uint32_t)got + 1;      /* past the one refused */
    }
    return msrs;
}

static bool save_xsave(struct kvm *kvm, int fd, struct vcpu_state *st,
                       GError **err)
{
    int size2 = __kvm_ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
                            (void *)(long)KVM_CAP_XSAVE2);
    size_t size = MAX((size_t)MAX(size2, 0), sizeof(struct kvm_xsave));

    if (__kvm_ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
                    (void *)(long)KVM_CAP_XSAVE) <= 0)
        return true;
    st->xsave = g_malloc0(size);
    st->xsave_size = size;
    return size2 > 0 ? kvm_ioctl(fd, KVM_GET_XSAVE2, st->xsave, err)
                     : kvm_ioctl(fd, KVM_GET_XSAVE, st->xsave, err);
}

struct vcpu_state *vcpu_state_save(struct kvm *kvm, int fd, GError **err)
{
    struct vcpu_state *st = g_new0(struct vcpu_state, 1);

    st->has_xcrs = __kvm_ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
                               (void *)(long)KVM_CAP_XCRS) > 0;
    if (kvm_ioctl(fd, KVM_GET_REGS, &st->regs, err) &&
        kvm_ioctl(fd, KVM_GET_SREGS, &st->sregs, err) &&
        kvm_ioctl(fd, KVM_GET_FPU, &st->fpu, err) &&
        (!st->has_xcrs || kvm_ioctl(fd, KVM_GET_XCRS, &st->xcrs, err)) &&
        save_xsave(kvm, fd, st, err) &&
        kvm_ioctl(fd, KVM_GET_MP_STATE, &st->mp, err) &&
        kvm_ioctl(fd, KVM_GET_LAPIC, &st->lapic, err) &&
        kvm_ioctl(fd, KVM_GET_VCPU_EVENTS, &st->events, err) &&
        kvm_ioctl(fd, KVM_GET_DEBUGREGS, &st->debugregs, err) &&
        (st->msrs = read_msrs(kvm, fd, err)))
        return st;
    vcpu_state_free(st);
    return NULL;
}

static bool restore_msrs(const struct kvm_msrs *msrs, int fd, GError **err)
{
    int r = __kvm_ioctl(fd, KVM_SET_MSRS, (void *)msrs);

    if (r == (int)msrs->nmsrs)
        return true;
    if (r < 0)
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_SET_MSRS of the saved MSRs failed: %s",
                    g_strerror(-r));
    else
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_SET_MSRS refused MSR 0x%" PRIx32 " (value 0x%"
                    PRIx64 ") of the saved state",
                    msrs->entries[r].index, (uint64_t)msrs->entries[r].data);
    return false;
}

/*
 * The saved MSRs in two lists: IA32_TSC_DEADLINE alone, the rest. KVM
 * drops a TSC deadline written while the LAPIC timer is not in
 * TSC-deadline mode (arch/x86/kvm/lapic.c,
 * kvm_set_lapic_tscdeadline_msr), and a fresh vCPU's is not: the deadline
 * goes after the LAPIC, as QEMU's kvm_arch_put_registers() does it.
 */
#define MSR_IA32_TSC_DEADLINE   0x6e0u

static bool restore_msrs_split(const struct kvm_msrs *msrs, int fd,
                               bool deadline, GError **err)
{
    g_autofree struct kvm_msrs *part =
        g_malloc0(sizeof(*part) +
                  msrs->nmsrs * sizeof(struct kvm_msr_entry));

    for (uint32_t i = 0; i < msrs->nmsrs; i++) {
        if ((msrs->entries[i].index == MSR_IA32_TSC_DEADLINE) == deadline)
            part->entries[part->nmsrs++] = msrs->entries[i];
    }
    return !part->nmsrs || restore_msrs(part, fd, err);
}

bool vcpu_state_restore(const struct vcpu_state *st, int fd, GError **err)
{
    struct kvm_vcpu_events events = st->events;

    /* KVM takes these only with their flags saying they are valid. */
    events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING |
                    KVM_VCPUEVENT_VALID_SIPI_VECTOR |
                    KVM_VCPUEVENT_VALID_SHADOW;
    return kvm_ioctl(fd, KVM_SET_REGS, (void *)&st->regs, err) &&
           (!st->xsave || kvm_ioctl(fd, KVM_SET_XSAVE, st->xsave, err)) &&
           kvm_ioctl(fd, KVM_SET_FPU, (void *)&st->fpu, err) &&
           (!st->has_xcrs ||
            kvm_ioctl(fd, KVM_SET_XCRS, (void *)&st->xcrs, err)) &&
           kvm_ioctl(fd, KVM_SET_SREGS, (void *)&st->sregs, err) &&
           restore_msrs_split(st->msrs, fd, false, err) &&
           kvm_ioctl(fd, KVM_SET_MP_STATE, (void *)&st->mp, err) &&
           kvm_ioctl(fd, KVM_SET_LAPIC, (void *)&st->lapic, err) &&
           restore_msrs_split(st->msrs, fd, true, err) &&
           kvm_ioctl(fd, KVM_SET_VCPU_EVENTS, &events, err) &&
           kvm_ioctl(fd, KVM_SET_DEBUGREGS, (void *)&st->debugregs, err);
}

void vcpu_state_free(struct vcpu_state *st)
{
    if (!st)
        return;
    g_free(st->xsave);
    g_free(st->msrs);
    g_free(st);
}
