/* /dev/kvm: open, capability checks, VM creation, small ioctl wrappers. */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "errors.h"

/* Where KVM may put its real-mode TSS and identity map (in the 32-bit hole). */
#define KVM_IDENTITY_MAP_ADDR   0xfffbc000ULL
#define KVM_TSS_ADDR            0xfffbd000ULL
#define KVM_MAX_CPUID_ENTRIES   256

int __kvm_ioctl(int fd, unsigned long request, void *arg)
{
    int r;

    do {
        r = ioctl(fd, request, arg);
    } while (r < 0 && errno == EINTR && request != KVM_RUN);
    return r < 0 ? -errno : r;
}

bool kvm_ioctl_named(int fd, unsigned long request, const char *name,
                     void *arg, GError **err)
{
    int r = __kvm_ioctl(fd, request, arg);

    if (r < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM, "%s failed: %s", name,
                    g_strerror(-r));
        return false;
    }
    return true;
}

/* Capabilities hotmem cannot run without, with the reason each is needed. */
static const struct {
    int cap;
    const char *name;
    const char *why;
} required_caps[] = {
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM in memslots" },
    { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "in-kernel IOAPIC and LAPIC" },
    { KVM_CAP_PIT2, "KVM_CAP_PIT2", "in-kernel PIT" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "KVM_GET_SUPPORTED_CPUID" },
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "VMX real-mode TSS" },
    { KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR",
      "VMX identity map placement" },
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT",
      "stopping vCPUs without races" },
    { KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS", "memslot count" },
    { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "vCPU run state" },
};

static bool check_caps(struct kvm *kvm, GError **err)
{
    int r;

    for (size_t i = 0; i < G_N_ELEMENTS(required_caps); i++) {
        r = __kvm_ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
                        (void *)(long)required_caps[i].cap);
        if (r <= 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED,
                        "KVM lacks %s (needed for %s)",
                        required_caps[i].name, required_caps[i].why);
            return false;
        }
    }
    r = __kvm_ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
                    (void *)(long)KVM_CAP_NR_MEMSLOTS);
    kvm->max_memslots = (uint32_t)r;
    return true;
}

static bool load_supported_cpuid(struct kvm *kvm, GError **err)
{
    kvm->cpuid = g_malloc0(sizeof(*kvm->cpuid) +
                           KVM_MAX_CPUID_ENTRIES *
                           sizeof(struct kvm_cpuid_entry2));
    kvm->cpuid->nent = KVM_MAX_CPUID_ENTRIES;
    if (!kvm_ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, kvm->cpuid, err))
        return false;
    kvm->phys_bits = 36;
    for (uint32_t i = 0; i < kvm->cpuid->nent; i++) {
        if (kvm->cpuid->entries[i].function == 0x80000008)
            kvm->phys_bits = kvm->cpuid->entries[i].eax & 0xff;
    }
    return true;
}

static bool create_vm(struct kvm *kvm, GError **err)
{
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
    int r = __kvm_ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);

    if (r < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM, "KVM_CREATE_VM failed: %s",
                    g_strerror(-r));
        return false;
    }
    kvm->vm_fd = r;
    return kvm_ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap, err) &&
           kvm_ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR,
                     (void *)(uintptr_t)KVM_TSS_ADDR, err) &&
           kvm_ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, NULL, err) &&
           kvm_ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit, err);
}

/* Whether /proc/cpuinfo lists hardware virtualization (vmx or svm). */
static bool cpu_has_virtualization(void)
{
    g_autofree char *info = NULL;

    if (!g_file_get_contents("/proc/cpuinfo", &info, NULL, NULL))
        return false;
    return strstr(info, " vmx") || strstr(info, " svm");
}

/* What to do when the KVM device cannot be opened (errno e). */
static const char *kvm_missing_hint(int e)
{
    if (e == EACCES || e == EPERM)
        return "run hotmem as root or as a member of the kvm group";
    if (cpu_has_virtualization())
        return "this CPU offers virtualization: load the kvm module "
               "(modprobe kvm_intel or kvm_amd)";
    return "this machine offers no KVM (no vmx or svm in /proc/cpuinfo: a "
           "VM without nested virtualization?); tests/rig/run runs hotmem "
           "inside a nested KVM host under QEMU's emulator (docs/testing.md)";
}

struct kvm *kvm_open(const char *dev, GError **err)
{
    struct kvm *kvm = g_new0(struct kvm, 1);
    int r;

    kvm->vm_fd = -1;
    kvm->sys_fd = open(dev, O_RDWR | O_CLOEXEC);
    if (kvm->sys_fd < 0) {
        int e = errno;

        g_set_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED,
                    "cannot open %s: %s; %s", dev, g_strerror(e),
                    kvm_missing_hint(e));
        goto fail;
    }
    r = __kvm_ioctl(kvm->sys_fd, KVM_GET_API_VERSION, NULL);
    if (r < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED,
                    "%s is not a KVM device (KVM_GET_API_VERSION: %s)", dev,
                    g_strerror(-r));
        goto fail;
    }
    if (r != KVM_API_VERSION) {
        g_set_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED,
                    "%s speaks KVM API version %d, hotmem needs %d", dev, r,
                    KVM_API_VERSION);
        goto fail;
    }
    if (!check_caps(kvm, err) || !load_supported_cpuid(kvm, err))
        goto fail;
    kvm->run_size = __kvm_ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
    if (kvm->run_size <= 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_GET_VCPU_MMAP_SIZE failed: %s",
                    g_strerror(-kvm->run_size));
        goto fail;
    }
    if (!create_vm(kvm, err))
        goto fail;
    return kvm;
fail:
    kvm_close(kvm);
    return NULL;
}

void kvm_close(struct kvm *kvm)
{
    if (!kvm)
        return;
    if (kvm->vm_fd >= 0)
        close(kvm->vm_fd);
    if (kvm->sys_fd >= 0)
        close(kvm->sys_fd);
    g_free(kvm->cpuid);
    g_free(kvm);
}

int kvm_set_memory_region(void *opaque, uint32_t slot, uint32_t flags,
                          uint64_t gpa, uint64_t size, void *hva)
{
    struct kvm *kvm = opaque;
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .flags = flags,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)hva,
    };

    return __kvm_ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* The acquire/release flavour where offered: it is the portable one. */
bool kvm_enable_dirty_ring(struct kvm *kvm, uint32_t entries, GError **err)
{
    struct kvm_enable_cap cap = { .cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL };
    uint64_t bytes = (uint64_t)entries * sizeof(struct kvm_dirty_gfn);
    int max = __kvm_ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION,
                          (void *)(long)cap.cap);

    if (max <= 0) {
        cap.cap = KVM_CAP_DIRTY_LOG_RING;
        max = __kvm_ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION,
                          (void *)(long)cap.cap);
    }
    if (max <= 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED,
                    "KVM lacks KVM_CAP_DIRTY_LOG_RING: the dirty ring "
                    "(dirty-ring-size) is not available");
        return false;
    }
    if (bytes > (uint64_t)max) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "dirty-ring-size %u is too big: KVM allows at most %u "
                    "entries", entries,
                    (unsigned)(max / sizeof(struct kvm_dirty_gfn)));
        return false;
    }
    cap.args[0] = bytes;
    if (!kvm_ioctl(kvm->vm_fd, KVM_ENABLE_CAP, &cap, err)) {
        g_prefix_error(err, "dirty ring of %u entries: ", entries);
        return false;
    }
    kvm->dirty_ring_entries = entries;
    return true;
}

bool kvm_irq_line(struct kvm *kvm, uint32_t gsi, bool level, GError **err)
{
    struct kvm_irq_level irq = { .irq = gsi, .level = level };

    return kvm_ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq, err);
}
