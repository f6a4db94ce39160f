/*
 * Page sampling for calc-dirty-rate mode page-sampling: per memslot of at
 * least DIRTYRATE_MIN_SAMPLED_SLOT, per_gib random pages per GiB are hashed
 * at the start and again at the end; the fraction that changed, times the
 * slot's pages, estimates its dirty pages. A slot that left (or is being
 * removed) by the end is not counted. Reads go through
 * memmap_read_nofault(), so they never touch a DIMM on its way out, and a
 * page the host cannot provide is skipped instead of killing hotmem.
 */
#include "mmu/dirtyrate.h"

#include <string.h>

struct sample {
    uint64_t gpa;
    uint64_t hash;
};

struct sampled_slot {
    uint32_t id;
    uint64_t gpa, size;
    void *hva;
    GArray *samples;        /* struct sample */
};

struct dirtyrate_samples {
    GArray *slots;          /* struct sampled_slot */
    uint64_t per_gib;
};

/* FNV-1a over 64-bit words: cheap, and any change to a word shows. */
static uint64_t page_hash(const uint64_t *w)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < DIRTY_PAGE_SIZE / 8; i++) {
        h ^= w[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A page the host cannot provide (its backing file truncated, say) is not
 * sampled: the kernel copies it, so that is an error, not SIGBUS. */
static bool hash_at(struct memmap *mm, uint64_t gpa, uint64_t *out)
{
    uint64_t buf[DIRTY_PAGE_SIZE / 8];
    uint64_t fault;

    if (memmap_read_nofault(mm, gpa, buf, sizeof(buf), &fault) !=
        MEMMAP_READ_OK)
        return false;
    *out = page_hash(buf);
    return true;
}

static void slot_clear(gpointer p)
{
    struct sampled_slot *s = p;

    if (s->samples)
        g_array_free(s->samples, TRUE);
}

static void collect_slot(void *opaque, const struct memmap_slot *m)
{
    struct dirtyrate_samples *ds = opaque;
    struct sampled_slot s = { .id = m->slot, .gpa = m->gpa, .size = m->size,
                              .hva = m->hva };

    if (m->size < DIRTYRATE_MIN_SAMPLED_SLOT || m->removing)
        return;
    g_array_append_val(ds->slots, s);
}

/* Chooses and hashes the pages of one slot (outside the memmap lock). */
static void sample_slot(struct memmap *mm, struct sampled_slot *s,
                        uint64_t per_gib, GRand *rand)
{
    uint64_t npages = s->size / DIRTY_PAGE_SIZE;
    uint64_t n = MAX(1, per_gib * s->size / (1ULL << 30));

    s->samples = g_array_sized_new(FALSE, FALSE, sizeof(struct sample),
                                   (guint)n);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t page = ((uint64_t)g_rand_int(rand) << 32 |
                         g_rand_int(rand)) % npages;
        struct sample smp = { .gpa = s->gpa + page * DIRTY_PAGE_SIZE };

        if (hash_at(mm, smp.gpa, &smp.hash))
            g_array_append_val(s->samples, smp);
    }
}

struct dirtyrate_samples *dirtyrate_samples_take(struct memmap *mm,
                                                 uint64_t per_gib)
{
    struct dirtyrate_samples *ds = g_new0(struct dirtyrate_samples, 1);
    GRand *rand = g_rand_new();

    ds->per_gib = per_gib;
    ds->slots = g_array_new(FALSE, TRUE, sizeof(struct sampled_slot));
    g_array_set_clear_func(ds->slots, slot_clear);
    memmap_foreach(mm, collect_slot, ds);
    for (guint i = 0; i < ds->slots->len; i++)
        sample_slot(mm, &g_array_index(ds->slots, struct sampled_slot, i),
                    per_gib, rand);
    g_rand_free(rand);
    return ds;
}

struct still_there {
    const struct sampled_slot *s;
    bool found;
};

static void find_same(void *opaque, const struct memmap_slot *m)
{
    struct still_there *t = opaque;

    if (m->slot == t->s->id && m->gpa == t->s->gpa &&
        m->size == t->s->size && m->hva == t->s->hva && !m->removing)
        t->found = true;
}

/* Changed samples of one slot scaled to its size; 0 when it left. */
static uint64_t slot_estimate(struct memmap *mm, const struct sampled_slot *s)
{
    struct still_there t = { .s = s };
    uint64_t changed = 0, seen = 0;

    memmap_foreach(mm, find_same, &t);
    if (!t.found || !s->samples->len)
        return 0;
    for (guint i = 0; i < s->samples->len; i++) {
        const struct sample *smp = &g_array_index(s->samples, struct sample,
                                                  i);
        uint64_t h;

        if (!hash_at(mm, smp->gpa, &h))
            continue;
        seen++;
        changed += h != smp->hash;
    }
    return seen ? changed * (s->size / DIRTY_PAGE_SIZE) / seen : 0;
}

uint64_t dirtyrate_samples_finish(struct dirtyrate_samples *ds,
                                  struct memmap *mm)
{
    uint64_t pages = 0;

    for (guint i = 0; i < ds->slots->len; i++)
        pages += slot_estimate(mm, &g_array_index(ds->slots,
                                                  struct sampled_slot, i));
    dirtyrate_samples_free(ds);
    return pages;
}

void dirtyrate_samples_free(struct dirtyrate_samples *ds)
{
    if (!ds)
        return;
    g_array_free(ds->slots, TRUE);
    g_free(ds);
}
