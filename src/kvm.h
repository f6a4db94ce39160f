/*
 * Thin wrappers over the /dev/kvm ioctls, in two tiers as in the KVM
 * selftests: __kvm_ioctl() returns -errno; kvm_ioctl() turns a failure into a
 * GError naming the request.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <linux/kvm.h>

struct kvm {
    int sys_fd;                 /* /dev/kvm */
    int vm_fd;
    int run_size;               /* KVM_GET_VCPU_MMAP_SIZE */
    uint32_t max_memslots;      /* KVM_CAP_NR_MEMSLOTS */
    unsigned phys_bits;         /* guest physical address width */
    struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID */
    uint32_t dirty_ring_entries; /* per-vCPU dirty ring size, 0: none */
};

int __kvm_ioctl(int fd, unsigned long request, void *arg);
bool kvm_ioctl_named(int fd, unsigned long request, const char *name,
                     void *arg, GError **err);
#define kvm_ioctl(fd, request, arg, err) \
    kvm_ioctl_named((fd), (request), #request, (arg), (err))

/*
 * Opens dev (normally /dev/kvm), checks the API version and every capability
 * hotmem relies on, creates the VM with an in-kernel irqchip and PIT.
 */
struct kvm *kvm_open(const char *dev, GError **err);
void kvm_close(struct kvm *kvm);

/* memmap_set_region_fn for the real VM (opaque is struct kvm *). */
int kvm_set_memory_region(void *opaque, uint32_t slot, uint32_t flags,
                          uint64_t gpa, uint64_t size, void *hva);

/*
 * Enables the per-vCPU dirty ring (Documentation/virt/kvm/api.rst,
 * KVM_CAP_DIRTY_LOG_RING) with entries struct kvm_dirty_gfn per vCPU.
 * Must run before the first KVM_CREATE_VCPU. Fails, naming the limit,
 * when KVM lacks the ring or the size is not a power of two it accepts.
 */
bool kvm_enable_dirty_ring(struct kvm *kvm, uint32_t entries, GError **err);

/* Sets the level of a GSI on the in-kernel irqchip. */
bool kvm_irq_line(struct kvm *kvm, uint32_t gsi, bool level, GError **err);
