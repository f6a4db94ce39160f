/* The tiny dirtying guest of test-dirty-guest.h. */
#include "test-dirty-guest.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "errors.h"

#define CODE_GPA    DGUEST_CODE_GPA
#define EXIT_PORT   0x80

/*
 * loop: mov [esi], al ; add esi, edx ; dec ecx ; jnz loop ; out 0x80, al
 * (Intel SDM Vol. 2: 88 /r, 01 /r, 49, 75 cb, e6 ib)
 */
static const uint8_t code[] = { 0x88, 0x06, 0x01, 0xd6, 0x49, 0x75, 0xf9,
                                0xe6, EXIT_PORT };

static void *anon(uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

static bool create_vcpu(struct dguest *g, GError **err)
{
    int fd = __kvm_ioctl(g->kvm->vm_fd, KVM_CREATE_VCPU, 0);
    size_t ring = (size_t)g->kvm->dirty_ring_entries *
                  sizeof(struct kvm_dirty_gfn);

    if (fd < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM, "KVM_CREATE_VCPU: %s",
                    g_strerror(-fd));
        return false;
    }
    g->vcpu_fd = fd;
    g->run = mmap(NULL, (size_t)g->kvm->run_size, PROT_READ | PROT_WRITE,
                  MAP_SHARED, fd, 0);
    if (ring)
        g->ring = mmap(NULL, ring, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                       (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
    if (g->run == MAP_FAILED || g->ring == MAP_FAILED) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM, "vCPU mmap: %s",
                    g_strerror(errno));
        return false;
    }
    return kvm_ioctl(fd, KVM_SET_CPUID2, g->kvm->cpuid, err);
}

/* KVM_SET_USER_MEMORY_REGION, counted. */
static int set_region(void *opaque, uint32_t slot, uint32_t flags,
                      uint64_t gpa, uint64_t size, void *hva)
{
    struct dguest *g = opaque;
    int fail = g->region_fail;

    g->region_calls++;
    g->region_fail = 0;
    if (fail)
        return fail;
    return kvm_set_memory_region(g->kvm, slot, flags, gpa, size, hva);
}

struct dguest *dguest_new(uint32_t ring_entries, GError **err)
{
    struct dguest *g = g_new0(struct dguest, 1);

    g->vcpu_fd = -1;
    g->maps = g_array_new(FALSE, FALSE, sizeof(struct dguest_map));
    g->kvm = kvm_open("/dev/kvm", err);
    if (!g->kvm || (ring_entries &&
                    !kvm_enable_dirty_ring(g->kvm, ring_entries, err)))
        goto fail;
    g->mm = memmap_new(g->kvm->max_memslots, set_region, g);
    if (!dguest_add_slot(g, 0, DGUEST_CODE_SLOT_SIZE, "code", &g->code_mem,
                         err) || !create_vcpu(g, err))
        goto fail;
    memcpy((uint8_t *)g->code_mem + CODE_GPA, code, sizeof(code));
    return g;
fail:
    dguest_free(g);
    return NULL;
}

void dguest_free(struct dguest *g)
{
    if (!g)
        return;
    if (g->ring && g->ring != MAP_FAILED)
        munmap(g->ring, (size_t)g->kvm->dirty_ring_entries *
                        sizeof(struct kvm_dirty_gfn));
    if (g->run && g->run != MAP_FAILED)
        munmap(g->run, (size_t)g->kvm->run_size);
    if (g->vcpu_fd >= 0)
        close(g->vcpu_fd);
    memmap_free(g->mm);
    kvm_close(g->kvm);
    for (guint i = 0; i < g->maps->len; i++)
        munmap(g_array_index(g->maps, struct dguest_map, i).p,
               g_array_index(g->maps, struct dguest_map, i).size);
    g_array_free(g->maps, TRUE);
    g_free(g);
}

bool dguest_add_slot_flags(struct dguest *g, uint64_t gpa, uint64_t size,
                           uint32_t flags, const char *owner, void **hva,
                           GError **err)
{
    void *p = anon(size);

    if (!p) {
        g_set_error(err, HM_ERROR, HM_ERROR_FAILED, "mmap %" G_GUINT64_FORMAT
                    " bytes: %s", size, g_strerror(errno));
        return false;
    }
    if (hva)
        *hva = p;
    g_array_append_val(g->maps, ((struct dguest_map){ p, size }));
    return memmap_add(g->mm, gpa, size, p, flags, owner, NULL, err);
}

bool dguest_add_slot(struct dguest *g, uint64_t gpa, uint64_t size,
                     const char *owner, void **hva, GError **err)
{
    return dguest_add_slot_flags(g, gpa, size, 0, owner, hva, err);
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
    *s = (struct kvm_segment){ .limit = 0xffffffff, .selector = sel,
                               .type = type, .present = 1, .db = 1, .s = 1,
                               .g = 1 };
}

static bool set_state(struct dguest *g, uint64_t base, uint32_t count,
                      uint32_t stride_pages, GError **err)
{
    struct kvm_sregs sr;
    struct kvm_regs r = { .rflags = 2, .rip = CODE_GPA, .rsi = base,
                          .rcx = count, .rdx = stride_pages * 4096ULL,
                          .rax = 0x5a };

    if (!kvm_ioctl(g->vcpu_fd, KVM_GET_SREGS, &sr, err))
        return false;
    flat_segment(&sr.cs, 0x08, 0xb);
    flat_segment(&sr.ds, 0x10, 0x3);
    sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
    sr.cr0 = 0x11;      /* PE | ET: protected mode, no paging */
    sr.cr4 = 0;
    sr.efer = 0;
    return kvm_ioctl(g->vcpu_fd, KVM_SET_SREGS, &sr, err) &&
           kvm_ioctl(g->vcpu_fd, KVM_SET_REGS, &r, err);
}

bool dguest_write_pages(struct dguest *g, uint64_t base, uint32_t count,
                        uint32_t stride_pages, GError **err)
{
    unsigned full = 0;

    if (count == 0)
        return true;
    if (!set_state(g, base, count, stride_pages, err))
        return false;
    for (;;) {
        int r = __kvm_ioctl(g->vcpu_fd, KVM_RUN, NULL);

        if (r < 0 && r != -EINTR) {
            g_set_error(err, HM_ERROR, HM_ERROR_KVM, "KVM_RUN: %s",
                        g_strerror(-r));
            return false;
        }
        if (r < 0)
            continue;
        /* An overrun ring stays full whatever is collected: give up. */
        if (g->run->exit_reason == KVM_EXIT_DIRTY_RING_FULL && g->ring_full &&
            ++full < 100000) {
            g->ring_full(g->opaque);
            continue;
        }
        if (g->run->exit_reason == KVM_EXIT_IO &&
            g->run->io.port == EXIT_PORT)
            return true;
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "tiny guest: unexpected exit reason %u",
                    g->run->exit_reason);
        return false;
    }
}
