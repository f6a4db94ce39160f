/*
 * Holds one KVM VM open for the nested host's whole life (tests/rig/init
 * starts it before the command; docs/testing.md, "The nested host's
 * freezes").
 *
 * Each time the host goes from no VM to one, KVM enables SVM on every CPU,
 * and from one to none disables it, each with a call on all CPUs; a vCPU
 * with an in-kernel LAPIC also flips static keys (code patched on all
 * CPUs) when the first is made or the last goes. Under QEMU's TCG those
 * cross-CPU calls now and then never complete, and the whole nested host
 * freezes (kvm_destroy_vm in smp_call_function_many_cond, or a CPU stuck
 * on a patching int3): it did so within 10-50 VMs made and destroyed one
 * after the other in most boots. With this VM, irqchip and vCPU held, the
 * counts never reach zero and none of that happens again.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

int main(void)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);

    if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 ||
        ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
        fprintf(stderr, "rig-kvm-hold: cannot hold a KVM VM: %s\n",
                strerror(errno));
        return 1;
    }
    for (;;)
        pause();
}
