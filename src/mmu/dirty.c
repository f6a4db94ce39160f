/*
 * Dirty logging: hotmem's records of the memslots it logs, start/stop,
 * hot-plug and harvest. Reading KVM's log is in dirty_kvm.c.
 *
 * Records exist only while logging is on. Starting and every harvest
 * reconcile them with the memslot table in one pass (a slot hotmem has not
 * seen gets a record and logging; a record whose slot is gone is retired).
 * The hot-plug hooks touch only the slot that changes, found by its id in
 * a hash table, so adding or removing a DIMM costs the same with 2 or 256
 * memslots, and nothing at all while logging is off.
 */
#include "mmu/dirty_internal.h"

#include <string.h>

#include "errors.h"

static void slot_free(gpointer p)
{
    struct dirty_slot *s = p;

    g_free(s->owner);
    g_free(s->acc);
    g_free(s->vmm);
    g_free(s->scratch);
    g_free(s);
}

static struct dirty_slot *slot_new(const struct memmap_slot *m)
{
    struct dirty_slot *s = g_new0(struct dirty_slot, 1);

    s->id = m->slot;
    s->serial = m->serial;
    s->gpa = m->gpa;
    s->size = m->size;
    s->owner = g_strdup(m->owner);
    s->npages = m->size / DIRTY_PAGE_SIZE;
    s->words = (s->npages + 63) / 64;
    s->acc = g_new0(uint64_t, s->words);
    s->scratch = g_new0(uint64_t, s->words);
    return s;
}

static struct dirty_slot *live_lookup(struct dirty_log *dl, uint32_t id)
{
    return id < dl->live->len ? g_ptr_array_index(dl->live, id) : NULL;
}

/* Takes s out of the live table (not freed). */
static void live_steal(struct dirty_log *dl, struct dirty_slot *s)
{
    g_ptr_array_index(dl->live, s->id) = NULL;
    dl->nr_live--;
}

static void live_insert(struct dirty_log *dl, struct dirty_slot *s)
{
    if (s->id >= dl->live->len)
        g_ptr_array_set_size(dl->live, s->id + 1);
    g_ptr_array_index(dl->live, s->id) = s;
    dl->nr_live++;
}

static void live_clear(struct dirty_log *dl)
{
    for (guint i = 0; i < dl->live->len; i++)
        g_clear_pointer(&g_ptr_array_index(dl->live, i), slot_free);
    dl->nr_live = 0;
}

/*
 * Out of the live table into the retired list, where it keeps its bits
 * for the next harvest; KVM's buffer is no longer needed.
 */
static void retire_locked(struct dirty_log *dl, struct dirty_slot *s)
{
    live_steal(dl, s);
    s->removed = true;
    s->logging = false;
    g_clear_pointer(&s->scratch, g_free);
    g_ptr_array_add(dl->retired, s);
}

struct dirty_slot *dirty_slot_by_id(struct dirty_log *dl, uint32_t id)
{
    struct dirty_slot *s = live_lookup(dl, id);

    if (s)
        return s;
    /* The most recently retired wins: it is the id's latest previous use. */
    for (guint i = dl->retired->len; i-- > 0;) {
        s = g_ptr_array_index(dl->retired, i);
        if (s->id == id)
            return s;
    }
    return NULL;
}

/*
 * The live record for memmap slot m; a stale record holding m's id (its
 * slot replaced behind hotmem's back) is retired first. lock held.
 */
static struct dirty_slot *record_for_locked(struct dirty_log *dl,
                                            const struct memmap_slot *m)
{
    struct dirty_slot *s = live_lookup(dl, m->slot);

    if (s && s->serial == m->serial)
        return s;
    if (s)
        retire_locked(dl, s);
    s = slot_new(m);
    live_insert(dl, s);
    return s;
}

/* memmap write hook: called under the memmap read lock. */
static void on_vmm_write(void *opaque, const struct memmap_slot *m,
                         uint64_t offset, uint64_t len)
{
    struct dirty_log *dl = opaque;
    struct dirty_slot *s;

    if (!len || !__atomic_load_n(&dl->users, __ATOMIC_ACQUIRE))
        return;
    g_mutex_lock(&dl->lock);
    if (dl->users) {
        s = record_for_locked(dl, m);
        if (!s->vmm)
            s->vmm = g_new0(uint64_t, s->words);
        for (uint64_t p = offset / DIRTY_PAGE_SIZE;
             p <= (offset + len - 1) / DIRTY_PAGE_SIZE; p++)
            dirty_bit_set(s->vmm, p);
    }
    g_mutex_unlock(&dl->lock);
}

static enum dirty_log_mode choose_mode(const struct dirty_log_config *cfg)
{
    uint64_t flags;

    if (cfg->mode != DIRTY_LOG_AUTO)
        return cfg->mode;
    if (cfg->ring_entries)
        return DIRTY_LOG_RING;
    return dirty_manual_protect_flags(
               cfg->vm_ioctl ? cfg->vm_ioctl : dirty_vm_fd_ioctl,
               cfg->vm_ioctl ? cfg->vm_ioctl_opaque
                             : (void *)(intptr_t)cfg->vm_fd, &flags)
           ? DIRTY_LOG_CLEAR : DIRTY_LOG_BITMAP;
}

struct dirty_log *dirty_log_new(const struct dirty_log_config *cfg,
                                GError **err)
{
    enum dirty_log_mode mode = choose_mode(cfg);
    struct dirty_log *dl;

    if ((mode == DIRTY_LOG_RING) != (cfg->ring_entries != 0)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "dirty-log mode %s needs %s dirty ring (ring size %u)",
                    dirty_log_mode_name(mode),
                    mode == DIRTY_LOG_RING ? "a" : "no", cfg->ring_entries);
        return NULL;
    }
    dl = g_new0(struct dirty_log, 1);
    dl->vm_ioctl = cfg->vm_ioctl ? cfg->vm_ioctl : dirty_vm_fd_ioctl;
    dl->vm_ioctl_opaque = cfg->vm_ioctl ? cfg->vm_ioctl_opaque
                                        : (void *)(intptr_t)cfg->vm_fd;
    dl->memmap = cfg->memmap;
    dl->ops = dirty_mode_ops_for(mode);
    dl->ring_entries = cfg->ring_entries;
    g_mutex_init(&dl->ctl);
    g_mutex_init(&dl->lock);
    dl->live = g_ptr_array_new();
    dl->retired = g_ptr_array_new_with_free_func(slot_free);
    if (!dl->ops->init(dl, err)) {
        dirty_log_free(dl);
        return NULL;
    }
    memmap_set_write_hook(dl->memmap, on_vmm_write, dl);
    return dl;
}

void dirty_log_free(struct dirty_log *dl)
{
    if (!dl)
        return;
    memmap_set_write_hook(dl->memmap, NULL, NULL);
    live_clear(dl);
    g_ptr_array_free(dl->live, TRUE);
    g_ptr_array_free(dl->retired, TRUE);
    g_free(dl->rings);
    g_free(dl->vcpu_entries);
    g_mutex_clear(&dl->ctl);
    g_mutex_clear(&dl->lock);
    g_free(dl);
}

enum dirty_log_mode dirty_log_mode(struct dirty_log *dl)
{
    return dl->ops->mode;
}

const char *dirty_log_mode_name(enum dirty_log_mode mode)
{
    static const char *const names[] = {
        [DIRTY_LOG_AUTO] = "auto", [DIRTY_LOG_BITMAP] = "bitmap",
        [DIRTY_LOG_CLEAR] = "clear", [DIRTY_LOG_RING] = "ring",
    };

    return names[mode];
}

uint32_t dirty_log_ring_entries(struct dirty_log *dl)
{
    return dl->ring_entries;
}

void dirty_log_set_rings(struct dirty_log *dl, unsigned nr_vcpus,
                         struct kvm_dirty_gfn *const *rings)
{
    g_mutex_lock(&dl->lock);
    g_free(dl->rings);
    g_free(dl->vcpu_entries);
    dl->rings = g_new0(struct dirty_ring, nr_vcpus);
    dl->vcpu_entries = g_new0(uint64_t, nr_vcpus);
    dl->nr_rings = nr_vcpus;
    for (unsigned i = 0; i < nr_vcpus; i++)
        dl->rings[i].gfns = rings[i];
    g_mutex_unlock(&dl->lock);
}

bool dirty_log_active(struct dirty_log *dl)
{
    return __atomic_load_n(&dl->users, __ATOMIC_ACQUIRE) != 0;
}

/* A copy of one memmap slot, taken under the memmap read lock. */
static void view_add(void *opaque, const struct memmap_slot *m)
{
    struct memmap_slot v = *m;

    v.owner = g_strdup(m->owner);
    g_array_append_val((GArray *)opaque, v);
}

static void view_clear(gpointer p)
{
    g_free(((struct memmap_slot *)p)->owner);
}

static GArray *snapshot(struct dirty_log *dl)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(struct memmap_slot));

    g_array_set_clear_func(a, view_clear);
    memmap_foreach(dl->memmap, view_add, a);
    return a;
}

/*
 * A slot whose record slot_removing() retired but which memmap still lists
 * (memmap_remove() comes next) must not get a second record. Retired
 * records are the few removed since the last harvest.
 */
static bool on_its_way_out(struct dirty_log *dl, const struct memmap_slot *v)
{
    for (guint i = dl->retired->len; i-- > 0;) {
        const struct dirty_slot *s = g_ptr_array_index(dl->retired, i);

        if (s->id == v->slot && s->serial == v->serial)
            return true;
    }
    return false;
}

/*
 * Turns logging on for one slot: the KVM flag first (memmap, lock not
 * held), then, under the lock, forget what KVM reports from before.
 */
static bool enable_one(struct dirty_log *dl, const struct memmap_slot *v,
                       GError **err)
{
    struct dirty_slot *s;
    bool ok = true;

    if (!(v->flags & KVM_MEM_LOG_DIRTY_PAGES) &&
        !memmap_set_flags(dl->memmap, v->gpa,
                          v->flags | KVM_MEM_LOG_DIRTY_PAGES, err))
        return false;
    g_mutex_lock(&dl->lock);
    s = record_for_locked(dl, v);
    if (!s->logging) {
        ok = dl->ops->begin_slot(dl, s, err);
        s->logging = ok;
    }
    g_mutex_unlock(&dl->lock);
    return ok;
}

/*
 * One pass over the memslot table while logging is on: a record, and
 * logging, for every slot; records whose slot is gone are retired. ctl
 * held.
 */
static bool reconcile(struct dirty_log *dl, GError **err)
{
    g_autoptr(GArray) view = snapshot(dl);
    unsigned pass;

    g_mutex_lock(&dl->lock);
    pass = ++dl->pass;
    for (guint i = view->len; i-- > 0;) {
        struct memmap_slot *v = &g_array_index(view, struct memmap_slot, i);
        struct dirty_slot *s = live_lookup(dl, v->slot);

        if ((!s || s->serial != v->serial) && on_its_way_out(dl, v))
            g_array_remove_index(view, i);
        else
            record_for_locked(dl, v)->seen = pass;
    }
    for (guint i = 0; i < dl->live->len; i++) {
        struct dirty_slot *s = g_ptr_array_index(dl->live, i);

        if (s && s->seen != pass)
            retire_locked(dl, s);
    }
    g_mutex_unlock(&dl->lock);
    for (guint i = 0; i < view->len; i++) {
        struct memmap_slot *v = &g_array_index(view, struct memmap_slot, i);

        /* A slot removed since the snapshot is no failure: skip it. */
        if (!enable_one(dl, v, err) && memmap_find(dl->memmap, v->gpa))
            return false;
        g_clear_error(err);
    }
    return true;
}

/*
 * Drops every record and every bit gathered: logging ends, or a new
 * session begins. lock held.
 */
static void drop_all_locked(struct dirty_log *dl)
{
    g_autoptr(GError) e = NULL;

    if (dl->ops->collect_rings)
        dl->ops->collect_rings(dl, true, &e);
    live_clear(dl);
    g_ptr_array_set_size(dl->retired, 0);
    if (dl->vcpu_entries)
        memset(dl->vcpu_entries, 0, dl->nr_rings * sizeof(uint64_t));
    dl->dropped = 0;
}

static void disable_all(struct dirty_log *dl)
{
    g_autoptr(GArray) view = snapshot(dl);
    g_autoptr(GError) e = NULL;

    g_mutex_lock(&dl->lock);
    drop_all_locked(dl);
    g_mutex_unlock(&dl->lock);
    for (guint i = 0; i < view->len; i++) {
        struct memmap_slot *v = &g_array_index(view, struct memmap_slot, i);

        if ((v->flags & KVM_MEM_LOG_DIRTY_PAGES) &&
            !memmap_set_flags(dl->memmap, v->gpa,
                              v->flags & ~KVM_MEM_LOG_DIRTY_PAGES, &e)) {
            g_printerr("hotmem: stopping dirty logging: %s\n", e->message);
            g_clear_error(&e);
        }
    }
}

bool dirty_log_start(struct dirty_log *dl, GError **err)
{
    bool ok = true;

    g_mutex_lock(&dl->ctl);
    if (dl->users == 0) {
        g_mutex_lock(&dl->lock);
        drop_all_locked(dl);
        __atomic_store_n(&dl->users, 1, __ATOMIC_RELEASE);
        g_mutex_unlock(&dl->lock);
        ok = reconcile(dl, err);
        if (!ok) {
            __atomic_store_n(&dl->users, 0, __ATOMIC_RELEASE);
            disable_all(dl);
        }
    } else {
        __atomic_add_fetch(&dl->users, 1, __ATOMIC_RELEASE);
    }
    g_mutex_unlock(&dl->ctl);
    return ok;
}

void dirty_log_stop(struct dirty_log *dl)
{
    g_mutex_lock(&dl->ctl);
    if (dl->users && __atomic_sub_fetch(&dl->users, 1, __ATOMIC_RELEASE) == 0)
        disable_all(dl);
    g_mutex_unlock(&dl->ctl);
}

/* KVM -> records, for every logging slot or ring. ctl and lock held. */
static bool collect_locked(struct dirty_log *dl, GError **err)
{

    if (dl->ops->collect_rings)
        return dl->ops->collect_rings(dl, false, err);
    for (guint i = 0; i < dl->live->len; i++) {
        struct dirty_slot *s = g_ptr_array_index(dl->live, i);

        if (s && s->logging && !dl->ops->collect_slot(dl, s, err))
            return false;
    }
    return true;
}

static uint64_t popcount(const uint64_t *bm, size_t words)
{
    uint64_t n = 0;

    for (size_t i = 0; i < words; i++)
        n += (uint64_t)__builtin_popcountll(bm[i]);
    return n;
}

/* Hands s's bits to out and starts s afresh. lock held. */
static void take_bits(struct dirty_slot *s, struct dirty_slot_bits *out)
{
    *out = (struct dirty_slot_bits){ .slot = s->id, .gpa = s->gpa,
                                     .size = s->size,
                                     .owner = g_strdup(s->owner),
                                     .generation = s->serial,
                                     .removed = s->removed,
                                     .bitmap = s->acc };
    if (s->vmm) {
        out->vmm_pages = popcount(s->vmm, s->words);
        for (size_t i = 0; i < s->words; i++)
            out->bitmap[i] |= s->vmm[i];
        g_clear_pointer(&s->vmm, g_free);
    }
    out->pages = s->acc_any || out->vmm_pages
                 ? popcount(out->bitmap, s->words) : 0;
    s->acc = g_new0(uint64_t, s->words);
    s->acc_any = false;
}

static int by_gpa(const void *a, const void *b)
{
    uint64_t x = ((const struct dirty_slot_bits *)a)->gpa;
    uint64_t y = ((const struct dirty_slot_bits *)b)->gpa;

    return (x > y) - (x < y);
}

/* Live slots in address order, then the removed ones. */
static void fill_harvest_locked(struct dirty_log *dl, struct dirty_harvest *h)
{
    unsigned live = dl->nr_live;
    unsigned n = live + dl->retired->len, i = 0;

    *h = (struct dirty_harvest){ .slots = g_new0(struct dirty_slot_bits, n),
                                 .nr_slots = n, .nr_vcpus = dl->nr_rings,
                                 .dropped = dl->dropped };
    for (guint j = 0; j < dl->live->len; j++) {
        if (g_ptr_array_index(dl->live, j))
            take_bits(g_ptr_array_index(dl->live, j), &h->slots[i++]);
    }
    qsort(h->slots, live, sizeof(*h->slots), by_gpa);
    for (guint j = 0; j < dl->retired->len; j++)
        take_bits(g_ptr_array_index(dl->retired, j), &h->slots[i++]);
    for (i = 0; i < n; i++) {
        h->pages += h->slots[i].pages;
        h->vmm_pages += h->slots[i].vmm_pages;
    }
    g_ptr_array_set_size(dl->retired, 0);
    if (dl->nr_rings) {
        h->vcpu_entries = g_memdup2(dl->vcpu_entries,
                                    dl->nr_rings * sizeof(uint64_t));
        memset(dl->vcpu_entries, 0, dl->nr_rings * sizeof(uint64_t));
    }
    dl->dropped = 0;
}

bool dirty_log_harvest(struct dirty_log *dl, struct dirty_harvest *out,
                       GError **err)
{
    bool ok;

    memset(out, 0, sizeof(*out));
    g_mutex_lock(&dl->ctl);
    if (!dl->users) {
        g_mutex_unlock(&dl->ctl);
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "dirty logging is not running");
        return false;
    }
    ok = reconcile(dl, err);
    g_mutex_lock(&dl->lock);
    ok = ok && collect_locked(dl, err);
    if (ok)
        fill_harvest_locked(dl, out);
    g_mutex_unlock(&dl->lock);
    g_mutex_unlock(&dl->ctl);
    return ok;
}

void dirty_harvest_clear(struct dirty_harvest *h)
{
    for (unsigned i = 0; i < h->nr_slots; i++) {
        g_free(h->slots[i].owner);
        g_free(h->slots[i].bitmap);
    }
    g_free(h->slots);
    g_free(h->vcpu_entries);
    memset(h, 0, sizeof(*h));
}

/* Only the new slot: nothing to do while logging is off. */
bool dirty_log_slot_added(struct dirty_log *dl, uint64_t gpa,
                          GError **err)
{
    struct memmap_slot m;
    bool ok = true;

    g_mutex_lock(&dl->ctl);
    if (dl->users && memmap_copy_slot(dl->memmap, gpa, &m)) {
        ok = enable_one(dl, &m, err);
        g_free(m.owner);
    }
    g_mutex_unlock(&dl->ctl);
    if (!ok)
        g_prefix_error(err, "dirty logging of the new memslot: ");
    return ok;
}

/* Takes the slot's last bits from KVM, then retires its record. */
void dirty_log_slot_removing(struct dirty_log *dl, uint64_t gpa)
{
    g_autoptr(GError) e = NULL;
    struct memmap_slot m;
    struct dirty_slot *s;

    g_mutex_lock(&dl->ctl);
    if (!dl->users || !memmap_copy_slot(dl->memmap, gpa, &m)) {
        g_mutex_unlock(&dl->ctl);
        return;
    }
    g_mutex_lock(&dl->lock);
    s = live_lookup(dl, m.slot);
    if (s && s->serial == m.serial) {
        if (s->logging && dl->ops->collect_slot)
            dl->ops->collect_slot(dl, s, &e);
        else if (s->logging)
            dl->ops->collect_rings(dl, false, &e);
        retire_locked(dl, s);
    }
    g_mutex_unlock(&dl->lock);
    g_mutex_unlock(&dl->ctl);
    g_free(m.owner);
    if (e)
        g_printerr("hotmem: last dirty bits of the memslot at 0x%"
                   G_GINT64_MODIFIER "x: %s\n", gpa, e->message);
}

/*
 * After the slot left KVM no new entry can name it; the ones in flight go
 * to the retired record, since no live record holds the id yet.
 */
void dirty_log_slot_removed(struct dirty_log *dl)
{
    g_autoptr(GError) e = NULL;

    if (!dl->ops->collect_rings || !dirty_log_active(dl))
        return;
    g_mutex_lock(&dl->ctl);
    g_mutex_lock(&dl->lock);
    if (!dl->ops->collect_rings(dl, false, &e))
        g_printerr("hotmem: dirty rings after a memslot removal: %s\n",
                   e->message);
    g_mutex_unlock(&dl->lock);
    g_mutex_unlock(&dl->ctl);
}

void dirty_log_ring_full(struct dirty_log *dl, unsigned index)
{
    g_autoptr(GError) e = NULL;

    g_mutex_lock(&dl->lock);
    /* Outside a logging session the entries are stale: drop them. */
    if (!dl->ops->collect_rings(dl, dl->users == 0, &e))
        g_printerr("hotmem: vCPU %u dirty ring full: %s\n", index,
                   e->message);
    else if (dl->last_collected == 0 && !dl->overrun_warned) {
        /* KVM wrote past the ring's end: hotmem and KVM lost their place. */
        g_printerr("hotmem: vCPU %u dirty ring full, yet no entry where the "
                   "next one should be: the ring was overrun\n", index);
        dl->overrun_warned = true;
    }
    g_mutex_unlock(&dl->lock);
}

static uint64_t slot_bytes(const struct dirty_slot *s)
{
    return s->words * sizeof(uint64_t) *
           (uint64_t)(!!s->acc + !!s->scratch + !!s->vmm);
}

void dirty_log_usage(struct dirty_log *dl, struct dirty_log_usage *out)
{

    g_mutex_lock(&dl->lock);
    *out = (struct dirty_log_usage){ .slots = dl->nr_live,
                                     .removed = dl->retired->len };
    for (guint i = 0; i < dl->live->len; i++) {
        if (g_ptr_array_index(dl->live, i))
            out->bytes += slot_bytes(g_ptr_array_index(dl->live, i));
    }
    for (guint i = 0; i < dl->retired->len; i++)
        out->bytes += slot_bytes(g_ptr_array_index(dl->retired, i));
    g_mutex_unlock(&dl->lock);
}
