/* The fake KVM of the fuzz targets (fakekvm.h). */
#include "fakekvm.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <linux/kvm.h>

#include "machine/machine_internal.h"
#include "mmu/memmap.h"

#define PAGE_SIZE       4096ULL
/* KVM_MEM_MAX_NR_PAGES: a memslot holds fewer than 2^31 pages. */
#define MAX_NR_PAGES    ((1ULL << 31) - 1)

static int refuse(struct fake_kvm *k, int errnum, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static int refuse(struct fake_kvm *k, int errnum, const char *fmt, ...)
{
    va_list ap;

    if (!k->violation) {
        va_start(ap, fmt);
        k->violation = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return -errnum;
}

static bool overlaps(struct fake_kvm *k, uint32_t id, uint64_t gpa,
                     uint64_t size)
{
    for (uint32_t i = 0; i < FAKE_KVM_MAX_SLOTS; i++) {
        const struct fake_kvm_slot *s = &k->slots[i];

        if (i != id && s->used && gpa < s->gpa + s->size &&
            s->gpa < gpa + size)
            return true;
    }
    return false;
}

/* KVM_SET_USER_MEMORY_REGION, checked in the order KVM checks. */
static int fake_set_region(void *opaque, uint32_t id, uint32_t flags,
                           uint64_t gpa, uint64_t size, void *hva)
{
    struct fake_kvm *k = opaque;
    struct fake_kvm_slot *s;
    uint64_t limit = 1ULL << k->stub.phys_bits;

    k->region_calls++;
    if (flags & ~(uint32_t)(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))
        return refuse(k, EINVAL, "slot %u: unknown flags 0x%x", id, flags);
    if (size % PAGE_SIZE || gpa % PAGE_SIZE || (uintptr_t)hva % PAGE_SIZE)
        return refuse(k, EINVAL, "slot %u: gpa 0x%" PRIx64 " size 0x%"
                      PRIx64 " hva %p not page aligned", id, gpa, size, hva);
    if (id >= k->stub.max_memslots || id >= FAKE_KVM_MAX_SLOTS)
        return refuse(k, EINVAL, "slot id %u beyond the %u KVM offers", id,
                      k->stub.max_memslots);
    if (gpa + size < gpa || size / PAGE_SIZE > MAX_NR_PAGES)
        return refuse(k, EINVAL, "slot %u: size 0x%" PRIx64 " too large",
                      id, size);
    s = &k->slots[id];
    if (size == 0) {
        if (!s->used)
            return refuse(k, EINVAL, "delete of empty slot %u", id);
        memset(s, 0, sizeof(*s));
        return 0;
    }
    if (s->used) {
        if (s->hva != hva || s->size != size ||
            ((s->flags ^ flags) & KVM_MEM_READONLY))
            return refuse(k, EINVAL, "slot %u changed in host address, size "
                          "or read-only flag without being deleted", id);
        if (s->gpa == gpa) {
            s->flags = flags;
            return 0;
        }
    }
    /*
     * Created or moved. x86 (kvm_arch_prepare_memory_region): no frame
     * above the highest guest frame number.
     */
    if (gpa + size > limit)
        return refuse(k, EINVAL, "slot %u: [0x%" PRIx64 ", 0x%" PRIx64
                      ") beyond %u physical address bits", id, gpa,
                      gpa + size, k->stub.phys_bits);
    if (overlaps(k, id, gpa, size))
        return refuse(k, EEXIST, "slot %u: [0x%" PRIx64 ", 0x%" PRIx64
                      ") overlaps another slot", id, gpa, gpa + size);
    *s = (struct fake_kvm_slot){ true, flags, gpa, size, hva };
    return 0;
}

static void fake_irq_line(void *opaque, uint32_t gsi, bool level)
{
    struct fake_kvm *k = opaque;

    if (gsi >= FAKE_KVM_MAX_GSI) {
        refuse(k, EINVAL, "interrupt line %u beyond the IOAPIC's %u", gsi,
               FAKE_KVM_MAX_GSI);
        return;
    }
    if (level && !k->irq_level[gsi])
        k->irq_raises[gsi]++;
    k->irq_level[gsi] = level;
}

void fake_kvm_init(struct fake_kvm *k, unsigned phys_bits, uint32_t max_slots)
{
    memset(k, 0, sizeof(*k));
    k->stub = (struct machine_kvm_stub){
        .set_region = fake_set_region, .irq_line = fake_irq_line,
        .opaque = k, .phys_bits = phys_bits,
        .max_memslots = MIN(max_slots, FAKE_KVM_MAX_SLOTS) };
}

void fake_kvm_clear(struct fake_kvm *k)
{
    g_clear_pointer(&k->violation, g_free);
}

struct compare {
    struct fake_kvm *k;
    bool seen[FAKE_KVM_MAX_SLOTS];
    GString *diff;
};

static void compare_slot(void *opaque, const struct memmap_slot *ms)
{
    struct compare *c = opaque;
    const struct fake_kvm_slot *s;

    if (c->diff->len)
        return;
    if (ms->slot >= FAKE_KVM_MAX_SLOTS || !c->k->slots[ms->slot].used) {
        g_string_printf(c->diff, "hotmem has slot %u (%s) that KVM does not",
                        ms->slot, ms->owner);
        return;
    }
    s = &c->k->slots[ms->slot];
    c->seen[ms->slot] = true;
    if (s->gpa != ms->gpa || s->size != ms->size || s->hva != ms->hva ||
        s->flags != ms->flags)
        g_string_printf(c->diff, "slot %u (%s): hotmem has [0x%" PRIx64
                        " +0x%" PRIx64 "] hva %p flags 0x%x, KVM has [0x%"
                        PRIx64 " +0x%" PRIx64 "] hva %p flags 0x%x",
                        ms->slot, ms->owner, ms->gpa, ms->size, ms->hva,
                        ms->flags, s->gpa, s->size, s->hva, s->flags);
}

char *fake_kvm_compare(struct fake_kvm *k, struct machine *m)
{
    struct compare c = { .k = k, .diff = g_string_new(NULL) };

    memmap_foreach(m->memmap, compare_slot, &c);
    for (uint32_t i = 0; !c.diff->len && i < FAKE_KVM_MAX_SLOTS; i++) {
        if (k->slots[i].used && !c.seen[i])
            g_string_printf(c.diff, "KVM holds slot %u [0x%" PRIx64 " +0x%"
                            PRIx64 "] that hotmem forgot", i,
                            k->slots[i].gpa, k->slots[i].size);
    }
    if (!c.diff->len) {
        g_string_free(c.diff, TRUE);
        return NULL;
    }
    return g_string_free(c.diff, FALSE);
}
