/*
 * The memslot table. Slots are kept sorted by guest address; slot ids are
 * reused lowest-first. Readers (vCPU threads translating addresses) take the
 * read side of a lock; installing or removing a slot takes the write side.
 * Every change bumps a generation number; lookup caches compare it without
 * the lock and fall back to a locked search when it moved (docs/mmu.md).
 */
#include "mmu/memmap.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "anon_pages.h"
#include "errors.h"

struct memmap {
    GRWLock lock;
    GPtrArray *slots;           /* struct memmap_slot *, sorted by gpa */
    uint32_t max_slots;
    /*
     * Slot ids in use, one bit each; no id below free_hint is free. With
     * the hint, the lowest free id is found at once however many slots
     * are installed.
     */
    uint64_t *used_ids;
    uint32_t free_hint;
    memmap_set_region_fn set_region;
    void *opaque;
    uint64_t generation;        /* atomic; starts at 1 */
    memmap_write_hook_fn write_hook;
    void *write_hook_opaque;
};

/* Called with the write lock held, after the change. */
static void bump_generation(struct memmap *mm)
{
    __atomic_add_fetch(&mm->generation, 1, __ATOMIC_RELEASE);
}

uint64_t memmap_generation(struct memmap *mm)
{
    return __atomic_load_n(&mm->generation, __ATOMIC_ACQUIRE);
}

static void slot_free(gpointer p)
{
    struct memmap_slot *s = p;

    g_free(s->owner);
    g_free(s);
}

struct memmap *memmap_new(uint32_t max_slots, memmap_set_region_fn set_region,
                          void *opaque)
{
    struct memmap *mm = g_new0(struct memmap, 1);

    g_rw_lock_init(&mm->lock);
    mm->slots = g_ptr_array_new_with_free_func(slot_free);
    mm->used_ids = g_new0(uint64_t, (max_slots + 63) / 64);
    mm->max_slots = max_slots;
    mm->set_region = set_region;
    mm->opaque = opaque;
    mm->generation = 1;
    return mm;
}

void memmap_free(struct memmap *mm)
{
    if (!mm)
        return;
    g_ptr_array_free(mm->slots, TRUE);
    g_free(mm->used_ids);
    g_rw_lock_clear(&mm->lock);
    g_free(mm);
}

static bool id_used(struct memmap *mm, uint32_t id)
{
    return mm->used_ids[id / 64] & (1ULL << (id % 64));
}

static void id_mark(struct memmap *mm, uint32_t id, bool used)
{
    if (used) {
        mm->used_ids[id / 64] |= 1ULL << (id % 64);
        if (id == mm->free_hint)
            mm->free_hint++;
    } else {
        mm->used_ids[id / 64] &= ~(1ULL << (id % 64));
        mm->free_hint = MIN(mm->free_hint, id);
    }
}

static bool lowest_free_id(struct memmap *mm, uint32_t *id)
{
    for (uint32_t i = mm->free_hint; i < mm->max_slots; i++) {
        if (!id_used(mm, i)) {
            mm->free_hint = i;      /* every id below i is in use */
            *id = i;
            return true;
        }
    }
    return false;
}

/* Index of the first slot whose gpa is >= gpa. */
static unsigned lower_bound(struct memmap *mm, uint64_t gpa)
{
    unsigned lo = 0, hi = mm->slots->len;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        struct memmap_slot *s = g_ptr_array_index(mm->slots, mid);

        if (s->gpa < gpa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct memmap_slot *find_locked(struct memmap *mm, uint64_t gpa)
{
    unsigned i = lower_bound(mm, gpa + 1);
    struct memmap_slot *s;

    if (i == 0)
        return NULL;
    s = g_ptr_array_index(mm->slots, i - 1);
    return gpa - s->gpa < s->size ? s : NULL;
}

/*
 * KVM refuses a memslot of more pages than this with a bare EINVAL
 * (KVM_MEM_MAX_NR_PAGES in include/linux/kvm_host.h: the page count is
 * kept in 31 bits).
 */
/* Pages memmap_zero() asks the kernel about at a time (anon_pages.h). */
#define ZERO_BATCH_PAGES    512u
#define KVM_MAX_SLOT_PAGES  ((1ULL << 31) - 1)

static bool check_new_range(struct memmap *mm, uint64_t gpa, uint64_t size,
                            const char *owner, GError **err)
{
    unsigned i;

    if (size == 0 || gpa % 4096 || size % 4096 || gpa + size < gpa) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "memory region [0x%" G_GINT64_MODIFIER "x, +0x%"
                    G_GINT64_MODIFIER "x) must be non-empty and 4 KiB "
                    "aligned", gpa, size);
        return false;
    }
    if (size / 4096 > KVM_MAX_SLOT_PAGES) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "memory region [0x%" G_GINT64_MODIFIER "x, +0x%"
                    G_GINT64_MODIFIER "x) of %s is larger than KVM allows "
                    "in one memory slot: at most 0x%" G_GINT64_MODIFIER
                    "x bytes (2^31 - 1 pages of 4 KiB)", gpa, size,
                    owner ? owner : "guest memory",
                    (guint64)(KVM_MAX_SLOT_PAGES * 4096));
        return false;
    }
    i = lower_bound(mm, gpa);
    for (int j = (int)i - 1; j <= (int)i; j++) {
        struct memmap_slot *s;

        if (j < 0 || (unsigned)j >= mm->slots->len)
            continue;
        s = g_ptr_array_index(mm->slots, j);
        if (gpa < s->gpa + s->size && s->gpa < gpa + size) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "memory region [0x%" G_GINT64_MODIFIER "x, 0x%"
                        G_GINT64_MODIFIER "x) overlaps slot %u [0x%"
                        G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                        "x) of %s", gpa, gpa + size, s->slot, s->gpa,
                        s->gpa + s->size, s->owner);
            return false;
        }
    }
    return true;
}

bool memmap_add(struct memmap *mm, uint64_t gpa, uint64_t size, void *hva,
                uint32_t flags, const char *owner, uint32_t *slot_out,
                GError **err)
{
    struct memmap_slot *s;
    uint32_t id;
    int r;

    g_rw_lock_writer_lock(&mm->lock);
    if (!check_new_range(mm, gpa, size, owner, err))
        goto fail;
    if (!lowest_free_id(mm, &id)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "no free KVM memory slot: all %u are in use",
                    mm->max_slots);
        goto fail;
    }
    r = mm->set_region(mm->opaque, id, flags, gpa, size, hva);
    if (r < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_SET_USER_MEMORY_REGION slot %u [0x%"
                    G_GINT64_MODIFIER "x, +0x%" G_GINT64_MODIFIER
                    "x): %s", id, gpa, size, g_strerror(-r));
        goto fail;
    }
    s = g_new0(struct memmap_slot, 1);
    *s = (struct memmap_slot){ .slot = id, .gpa = gpa, .size = size,
                               .hva = hva, .flags = flags,
                               .owner = g_strdup(owner ? owner : ""),
                               .serial = memmap_generation(mm) + 1 };
    g_ptr_array_insert(mm->slots, (gint)lower_bound(mm, gpa), s);
    id_mark(mm, id, true);
    bump_generation(mm);
    g_rw_lock_writer_unlock(&mm->lock);
    if (slot_out)
        *slot_out = id;
    return true;
fail:
    g_rw_lock_writer_unlock(&mm->lock);
    return false;
}

bool memmap_remove(struct memmap *mm, uint64_t gpa, GError **err)
{
    unsigned i;
    struct memmap_slot *s;
    int r;

    g_rw_lock_writer_lock(&mm->lock);
    i = lower_bound(mm, gpa);
    if (i >= mm->slots->len ||
        (s = g_ptr_array_index(mm->slots, i))->gpa != gpa) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "no memory slot starts at 0x%" G_GINT64_MODIFIER "x",
                    gpa);
        g_rw_lock_writer_unlock(&mm->lock);
        return false;
    }
    /* A zero size deletes the slot (Documentation/virt/kvm/api.rst 4.35). */
    r = mm->set_region(mm->opaque, s->slot, 0, s->gpa, 0, NULL);
    if (r < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_SET_USER_MEMORY_REGION delete slot %u: %s", s->slot,
                    g_strerror(-r));
        g_rw_lock_writer_unlock(&mm->lock);
        return false;
    }
    id_mark(mm, s->slot, false);
    g_ptr_array_remove_index(mm->slots, i);
    bump_generation(mm);
    g_rw_lock_writer_unlock(&mm->lock);
    return true;
}

const struct memmap_slot *memmap_find(struct memmap *mm, uint64_t gpa)
{
    const struct memmap_slot *s;

    g_rw_lock_reader_lock(&mm->lock);
    s = find_locked(mm, gpa);
    g_rw_lock_reader_unlock(&mm->lock);
    return s;
}

void *memmap_gpa_to_hva(struct memmap *mm, uint64_t gpa, uint64_t len)
{
    const struct memmap_slot *s;
    void *p = NULL;

    g_rw_lock_reader_lock(&mm->lock);
    s = find_locked(mm, gpa);
    if (s && !s->removing && len <= s->size - (gpa - s->gpa))
        p = (uint8_t *)s->hva + (gpa - s->gpa);
    g_rw_lock_reader_unlock(&mm->lock);
    return p;
}

/* True when every byte of [gpa, gpa + len) is in some slot. */
static bool range_mapped_locked(struct memmap *mm, uint64_t gpa, size_t len)
{
    while (len) {
        const struct memmap_slot *s = find_locked(mm, gpa);
        uint64_t n;

        if (!s || s->removing)
            return false;
        n = MIN((uint64_t)len, s->size - (gpa - s->gpa));
        gpa += n;
        len -= n;
    }
    return true;
}

/*
 * Copies across slot boundaries, one slot at a time; all or nothing, so a
 * range that runs into a hole leaves guest memory untouched.
 */
static bool copy_guest(struct memmap *mm, uint64_t gpa, void *buf, size_t len,
                       bool to_guest)
{
    uint8_t *b = buf;
    bool ok;

    g_rw_lock_reader_lock(&mm->lock);
    ok = range_mapped_locked(mm, gpa, len);
    while (ok && len) {
        const struct memmap_slot *s = find_locked(mm, gpa);
        uint64_t off, n;

        off = gpa - s->gpa;
        n = MIN((uint64_t)len, s->size - off);
        if (to_guest) {
            memcpy((uint8_t *)s->hva + off, b, n);
            if (mm->write_hook)
                mm->write_hook(mm->write_hook_opaque, s, off, n);
        } else
            memcpy(b, (uint8_t *)s->hva + off, n);
        gpa += n;
        b += n;
        len -= n;
    }
    g_rw_lock_reader_unlock(&mm->lock);
    return ok;
}

bool memmap_write(struct memmap *mm, uint64_t gpa, const void *src,
                  size_t len)
{
    return copy_guest(mm, gpa, (void *)src, len, true);
}

bool memmap_read(struct memmap *mm, uint64_t gpa, void *dst, size_t len)
{
    return copy_guest(mm, gpa, dst, len, false);
}

/*
 * Zeroes one slot's [off, off + n) 4 KiB piece by piece, only the pieces
 * that are not zero already. A store would fault in a page the kernel has
 * never given this process (and make it resident); a load of such a page
 * maps the shared zero page, which is not zeroed again nor counted in RSS,
 * but still costs a fault per page. So where the slot is private anonymous
 * memory, pages the process never touched (anon_pages.h) are skipped
 * without a load: the guest image's bss over fresh RAM at startup (600 KiB
 * for hotmem-guest: 150 faults, half of startup's) costs one pread.
 */
static void zero_slot_locked(struct memmap *mm, const struct memmap_slot *s,
                             uint64_t off, uint64_t n)
{
    static const uint8_t zeros[ANON_PAGE_SIZE];
    uint8_t untouched[ZERO_BATCH_PAGES / 8];
    uintptr_t known_from = 0, known_to = 0;     /* pages untouched covers */
    bool anon = anon_pages_private((uint8_t *)s->hva + off, n);
    int pagemap = -1;

    while (n) {
        uint8_t *p = (uint8_t *)s->hva + off;
        uintptr_t page = (uintptr_t)p / ANON_PAGE_SIZE;
        uint64_t chunk = MIN(n, sizeof(zeros) - ((uintptr_t)p & 4095));

        if (anon && page >= known_to) {
            uintptr_t last = ((uintptr_t)p + n - 1) / ANON_PAGE_SIZE;

            known_from = page;
            known_to = MIN(last + 1, page + ZERO_BATCH_PAGES);
            memset(untouched, 0, sizeof(untouched));
            anon = anon_pages_untouched(&pagemap, (void *)(page *
                                        ANON_PAGE_SIZE),
                                        (unsigned)(known_to - known_from),
                                        untouched);
        }
        if (!(anon && (untouched[(page - known_from) / 8] >>
                       ((page - known_from) % 8) & 1)) &&
            memcmp(p, zeros, chunk) != 0) {
            memset(p, 0, chunk);
            if (mm->write_hook)
                mm->write_hook(mm->write_hook_opaque, s, off, chunk);
        }
        off += chunk;
        n -= chunk;
    }
    if (pagemap >= 0)
        close(pagemap);
}

bool memmap_zero(struct memmap *mm, uint64_t gpa, uint64_t len)
{
    bool ok;

    g_rw_lock_reader_lock(&mm->lock);
    ok = range_mapped_locked(mm, gpa, len);
    while (ok && len) {
        const struct memmap_slot *s = find_locked(mm, gpa);
        uint64_t off = gpa - s->gpa, n = MIN(len, s->size - off);

        zero_slot_locked(mm, s, off, n);
        gpa += n;
        len -= n;
    }
    g_rw_lock_reader_unlock(&mm->lock);
    return ok;
}

/*
 * Copies len bytes from our own address space through the kernel; returns
 * how many it could (less at the first page it cannot fault in). Where
 * process_vm_readv() is refused (seccomp), a plain copy.
 */
static size_t copy_in_kernel(void *dst, const void *src, size_t len)
{
    size_t done = 0;

    while (done < len) {
        struct iovec local = { (uint8_t *)dst + done, len - done };
        struct iovec remote = { (uint8_t *)src + done, len - done };
        ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
            memcpy((uint8_t *)dst + done, (const uint8_t *)src + done,
                   len - done);
            return len;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;                  /* EFAULT: a page the host cannot give */
        }
    }
    return done;
}

enum memmap_read_result memmap_read_nofault(struct memmap *mm, uint64_t gpa,
                                            void *dst, size_t len,
                                            uint64_t *fault_gpa)
{
    enum memmap_read_result r = MEMMAP_READ_OK;
    uint8_t *b = dst;

    g_rw_lock_reader_lock(&mm->lock);
    if (!range_mapped_locked(mm, gpa, len))
        r = MEMMAP_READ_UNMAPPED;
    while (r == MEMMAP_READ_OK && len) {
        const struct memmap_slot *s = find_locked(mm, gpa);
        uint64_t off = gpa - s->gpa;
        uint64_t n = MIN((uint64_t)len, s->size - off);
        size_t got = copy_in_kernel(b, (uint8_t *)s->hva + off, n);

        if (got < n) {
            *fault_gpa = gpa + got;
            r = MEMMAP_READ_FAULT;
        }
        gpa += n;
        b += n;
        len -= n;
    }
    g_rw_lock_reader_unlock(&mm->lock);
    return r;
}

unsigned memmap_count(struct memmap *mm)
{
    unsigned n;

    g_rw_lock_reader_lock(&mm->lock);
    n = mm->slots->len;
    g_rw_lock_reader_unlock(&mm->lock);
    return n;
}

const struct memmap_slot *memmap_get(struct memmap *mm, unsigned i)
{
    const struct memmap_slot *s = NULL;

    g_rw_lock_reader_lock(&mm->lock);
    if (i < mm->slots->len)
        s = g_ptr_array_index(mm->slots, i);
    g_rw_lock_reader_unlock(&mm->lock);
    return s;
}

void *memmap_translate(struct memmap *mm, struct memmap_cache *c,
                       uint64_t gpa, uint64_t len)
{
    uint64_t gen = memmap_generation(mm);
    const struct memmap_slot *s;
    void *p = NULL;

    if (c->generation == gen && gpa - c->gpa < c->size &&
        len <= c->size - (gpa - c->gpa)) {
        c->hits++;
        return c->hva + (gpa - c->gpa);
    }
    c->misses++;
    g_rw_lock_reader_lock(&mm->lock);
    s = find_locked(mm, gpa);
    if (s && !s->removing) {
        /* Filled under the lock: valid for the generation read now. */
        *c = (struct memmap_cache){ .generation = memmap_generation(mm),
                                    .gpa = s->gpa, .size = s->size,
                                    .hva = s->hva, .hits = c->hits,
                                    .misses = c->misses };
        if (len <= s->size - (gpa - s->gpa))
            p = (uint8_t *)s->hva + (gpa - s->gpa);
    }
    g_rw_lock_reader_unlock(&mm->lock);
    return p;
}

static struct memmap_slot *slot_at_locked(struct memmap *mm, uint64_t gpa)
{
    unsigned i = lower_bound(mm, gpa);
    struct memmap_slot *s;

    if (i >= mm->slots->len)
        return NULL;
    s = g_ptr_array_index(mm->slots, i);
    return s->gpa == gpa ? s : NULL;
}

bool memmap_copy_slot(struct memmap *mm, uint64_t gpa,
                      struct memmap_slot *out)
{
    const struct memmap_slot *s;

    g_rw_lock_reader_lock(&mm->lock);
    s = slot_at_locked(mm, gpa);
    if (s) {
        *out = *s;
        out->owner = g_strdup(s->owner);
    }
    g_rw_lock_reader_unlock(&mm->lock);
    return s != NULL;
}

bool memmap_set_flags(struct memmap *mm, uint64_t gpa, uint32_t flags,
                      GError **err)
{
    struct memmap_slot *s;
    int r = 0;

    g_rw_lock_writer_lock(&mm->lock);
    s = slot_at_locked(mm, gpa);
    if (s && s->flags != flags)
        r = mm->set_region(mm->opaque, s->slot, flags, s->gpa, s->size,
                           s->hva);
    if (s && r == 0 && s->flags != flags) {
        s->flags = flags;
        bump_generation(mm);
    }
    g_rw_lock_writer_unlock(&mm->lock);
    if (!s) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "no memory slot starts at 0x%" G_GINT64_MODIFIER "x",
                    gpa);
        return false;
    }
    if (r < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_SET_USER_MEMORY_REGION flags 0x%x on slot at 0x%"
                    G_GINT64_MODIFIER "x: %s", flags, gpa, g_strerror(-r));
        return false;
    }
    return true;
}

bool memmap_set_removing(struct memmap *mm, uint64_t gpa, bool removing)
{
    struct memmap_slot *s;

    g_rw_lock_writer_lock(&mm->lock);
    s = slot_at_locked(mm, gpa);
    if (s && s->removing != removing) {
        s->removing = removing;
        bump_generation(mm);
    }
    g_rw_lock_writer_unlock(&mm->lock);
    return s != NULL;
}

void memmap_set_write_hook(struct memmap *mm, memmap_write_hook_fn fn,
                           void *opaque)
{
    g_rw_lock_writer_lock(&mm->lock);
    mm->write_hook = fn;
    mm->write_hook_opaque = opaque;
    g_rw_lock_writer_unlock(&mm->lock);
}

void memmap_mark_dirty(struct memmap *mm, uint64_t gpa, uint64_t len)
{
    g_rw_lock_reader_lock(&mm->lock);
    while (len && mm->write_hook) {
        const struct memmap_slot *s = find_locked(mm, gpa);
        uint64_t off, n;

        if (!s)
            break;
        off = gpa - s->gpa;
        n = MIN(len, s->size - off);
        mm->write_hook(mm->write_hook_opaque, s, off, n);
        gpa += n;
        len -= n;
    }
    g_rw_lock_reader_unlock(&mm->lock);
}

uint64_t memmap_foreach(struct memmap *mm,
                        void (*fn)(void *opaque, const struct memmap_slot *s),
                        void *opaque)
{
    uint64_t gen;

    g_rw_lock_reader_lock(&mm->lock);
    for (guint i = 0; i < mm->slots->len; i++)
        fn(opaque, g_ptr_array_index(mm->slots, i));
    gen = memmap_generation(mm);
    g_rw_lock_reader_unlock(&mm->lock);
    return gen;
}
