/*
 * vCPU state carried by a migration or a reset (src/boot/vcpu_state.c):
 * a TSC-deadline timer armed on one vCPU is still armed on a fresh vCPU
 * the state is restored into. KVM drops a write of IA32_TSC_DEADLINE while
 * the LAPIC timer is not in TSC-deadline mode (arch/x86/kvm/lapic.c,
 * kvm_set_lapic_tscdeadline_msr), so the MSR must come after the LAPIC.
 * Skips, saying why, without /dev/kvm or where KVM offers no TSC-deadline
 * timer (neither the CPUID bit nor KVM_CAP_TSC_DEADLINE_TIMER).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "kvm.h"
#include "boot/vcpu_state.h"

#define MSR_IA32_TSC            0x10u
#define MSR_IA32_TSC_DEADLINE   0x6e0u
#define APIC_SPIV               0xf0u
#define APIC_LVTT               0x320u
#define LVTT_TSC_DEADLINE       (2u << 17)      /* SDM 10.5.1, timer mode */
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)

struct cpu {
    struct kvm *kvm;
    int fd;
};

/*
 * Whether the vCPU can have the TSC-deadline timer, which KVM offers in
 * two ways: the CPUID bit in KVM_GET_SUPPORTED_CPUID, or (AMD hosts, the
 * nested host among them) only KVM_CAP_TSC_DEADLINE_TIMER, with the bit
 * for userspace to set, as QEMU does with an in-kernel LAPIC. Sets it.
 */
static bool has_tsc_deadline(struct kvm *kvm, struct kvm_cpuid2 *c)
{
    bool cap = __kvm_ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
                           (void *)(long)KVM_CAP_TSC_DEADLINE_TIMER) > 0;

    for (uint32_t i = 0; i < c->nent; i++) {
        if (c->entries[i].function != 1)
            continue;
        if (cap)
            c->entries[i].ecx |= CPUID1_ECX_TSC_DEADLINE;
        return c->entries[i].ecx & CPUID1_ECX_TSC_DEADLINE;
    }
    return false;
}

/* A VM (in-kernel irqchip) with one vCPU that has KVM's whole CPUID. */
static bool cpu_open(struct cpu *c)
{
    g_autoptr(GError) err = NULL;

    c->kvm = kvm_open("/dev/kvm", &err);
    if (!c->kvm) {
        g_autofree char *why = g_strdup_printf("no usable /dev/kvm: %s",
                                               err->message);

        g_test_skip(why);
        return false;
    }
    if (!has_tsc_deadline(c->kvm, c->kvm->cpuid)) {
        g_test_skip("KVM has no TSC-deadline timer (CPUID.01H:ECX[24] in "
                    "KVM_GET_SUPPORTED_CPUID, or KVM_CAP_TSC_DEADLINE_TIMER)");
        kvm_close(c->kvm);
        return false;
    }
    c->fd = __kvm_ioctl(c->kvm->vm_fd, KVM_CREATE_VCPU, (void *)0L);
    g_assert_cmpint(c->fd, >=, 0);
    g_assert_true(kvm_ioctl(c->fd, KVM_SET_CPUID2, c->kvm->cpuid, &err));
    return true;
}

static void cpu_close(struct cpu *c)
{
    close(c->fd);
    kvm_close(c->kvm);
}

static uint64_t get_msr(int fd, uint32_t index)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = { .hdr.nmsrs = 1, .e.index = index };

    g_assert_cmpint(__kvm_ioctl(fd, KVM_GET_MSRS, &m), ==, 1);
    return m.e.data;
}

static void set_msr(int fd, uint32_t index, uint64_t value)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = { .hdr.nmsrs = 1, .e.index = index, .e.data = value };

    g_assert_cmpint(__kvm_ioctl(fd, KVM_SET_MSRS, &m), ==, 1);
}

static void set_apic_reg(struct kvm_lapic_state *l, unsigned reg,
                         uint32_t v)
{
    memcpy(&l->regs[reg], &v, sizeof(v));
}

static void test_tsc_deadline(void)
{
    g_autoptr(GError) err = NULL;
    struct kvm_lapic_state lapic;
    struct vcpu_state *st;
    struct cpu a, b;
    uint64_t deadline;

    if (!cpu_open(&a))
        return;
    /* The LAPIC on, its timer in TSC-deadline mode (vector 0x40). */
    g_assert_true(kvm_ioctl(a.fd, KVM_GET_LAPIC, &lapic, &err));
    set_apic_reg(&lapic, APIC_SPIV, 0x1ff);
    set_apic_reg(&lapic, APIC_LVTT, LVTT_TSC_DEADLINE | 0x40);
    g_assert_true(kvm_ioctl(a.fd, KVM_SET_LAPIC, &lapic, &err));
    /* Armed far in the future, so it does not fire meanwhile. */
    deadline = get_msr(a.fd, MSR_IA32_TSC) + (1ull << 50);
    set_msr(a.fd, MSR_IA32_TSC_DEADLINE, deadline);
    g_assert_cmphex(get_msr(a.fd, MSR_IA32_TSC_DEADLINE), ==, deadline);

    st = vcpu_state_save(a.kvm, a.fd, &err);
    g_assert_no_error(err);
    if (!cpu_open(&b))
        g_error("a second VM could not be made");
    g_assert_true(vcpu_state_restore(st, b.fd, &err));
    g_assert_no_error(err);
    /* Still armed, at the same TSC value. */
    g_assert_cmphex(get_msr(b.fd, MSR_IA32_TSC_DEADLINE), ==, deadline);
    vcpu_state_free(st);
    cpu_close(&b);
    cpu_close(&a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vcpu-state/tsc-deadline", test_tsc_deadline);
    return g_test_run();
}
