/*
 * Dirty-log costs, figures only (docs/mmu-dirty.md):
 *
 * 1. Harvest time per GiB in each mode with 0%, 10% and 100% of the pages
 *    dirty: hotmem's dirty_log_harvest() next to the bare KVM ioctls doing
 *    the same job (GET_DIRTY_LOG; GET + CLEAR_DIRTY_LOG; reading the ring,
 *    marking entries reset, KVM_RESET_DIRTY_RINGS), each on its own VM with
 *    the same dirt, in the same run. hotmem's overhead must stay under 20%.
 * 2. Time to start and stop logging on 8 GiB (8 slots of 1 GiB, 1 GiB of
 *    it mapped by the guest), hotmem's start/stop next to the bare ioctls.
 *
 * The dirt is real guest writes: a tiny 32-bit guest (tests/test-dirty-
 * guest.c) writes one byte per page (every page for 100%, every tenth for
 * 10%) into a 1 GiB slot; hotmem's write hook is not involved. Host writes
 * would not do: KVM logs only what the guest writes. Ring mode uses 65536
 * entries per vCPU and collects whenever the guest has written nearly that
 * many pages (a reaper's job; the collections count as harvest time).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm.h"
#include "mmu/dirty.h"
#include "test-dirty-guest.h"
#include "benchstat.h"

#define GIB         (1ULL << 30)
#define DATA_GPA    GIB
#define DATA_PAGES  (GIB / 4096)
#define CHUNK       16384u
#define RING        65536u
#define REPS        7

struct mode_case {
    const char *name;
    enum dirty_log_mode mode;
    uint32_t ring;
};

static const struct mode_case modes[] = {
    { "bitmap", DIRTY_LOG_BITMAP, 0 },
    { "clear", DIRTY_LOG_CLEAR, 0 },
    { "ring", DIRTY_LOG_RING, RING },
};

/* One VM and the harvester under test: hotmem's (dl) or the bare one. */
struct side {
    const struct mode_case *mc;
    struct dguest *g;
    struct dirty_log *dl;       /* NULL: bare ioctls */
    uint64_t *bits;             /* bare: one bitmap per slot, reused */
    uint32_t fetch;             /* bare ring index */
    uint64_t pending;           /* ring entries not collected yet */
    gint64 spent_us;
    uint64_t last_pages;        /* what the last harvest found */
};

static void die(const char *what, GError *err)
{
    fprintf(stderr, "bench-dirty: %s: %s\n", what, err ? err->message : "");
    exit(1);
}

static void check(bool ok, const char *what, GError *err)
{
    if (!ok)
        die(what, err);
}

static bool bare_ioctl(struct side *s, unsigned long req, void *arg)
{
    return __kvm_ioctl(s->g->kvm->vm_fd, req, arg) >= 0;
}

/* Bare harvest of one slot: GET, and CLEAR in clear mode. */
static void bare_slot(struct side *s, uint32_t slot, uint64_t npages)
{
    struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = s->bits };
    struct kvm_clear_dirty_log c = { .slot = slot, .num_pages = npages,
                                     .dirty_bitmap = s->bits };
    uint64_t any = 0;

    check(bare_ioctl(s, KVM_GET_DIRTY_LOG, &log), "GET_DIRTY_LOG", NULL);
    for (uint64_t i = 0; i < (npages + 63) / 64; i++) {
        any |= s->bits[i];
        s->last_pages += (uint64_t)__builtin_popcountll(s->bits[i]);
    }
    if (s->mc->mode == DIRTY_LOG_CLEAR && any)
        check(bare_ioctl(s, KVM_CLEAR_DIRTY_LOG, &c), "CLEAR", NULL);
}

static void bare_ring(struct side *s)
{
    uint64_t n = 0;

    for (;;) {
        struct kvm_dirty_gfn *e = &s->g->ring[s->fetch & (RING - 1)];

        if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) &
              KVM_DIRTY_GFN_F_DIRTY))
            break;
        __atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
        s->fetch++;
        n++;
    }
    s->last_pages += n;
    if (n)
        check(bare_ioctl(s, KVM_RESET_DIRTY_RINGS, NULL), "RESET", NULL);
}

/* Collects KVM's log (the slots of the code and the data). Timed. */
static void collect(struct side *s, bool final)
{
    gint64 t0 = g_get_monotonic_time();
    struct dirty_harvest h;
    GError *err = NULL;

    if (s->dl && (final || !s->mc->ring)) {
        check(dirty_log_harvest(s->dl, &h, &err), "harvest", err);
        s->last_pages += h.pages;
        dirty_harvest_clear(&h);
    } else if (s->dl) {
        dirty_log_ring_full(s->dl, 0);
    } else if (s->mc->ring) {
        bare_ring(s);
    } else {
        bare_slot(s, 0, DGUEST_CODE_SLOT_SIZE / 4096);
        bare_slot(s, memmap_find(s->g->mm, DATA_GPA)->slot, DATA_PAGES);
    }
    s->spent_us += g_get_monotonic_time() - t0;
    s->pending = 0;
}

static void on_ring_full(void *opaque)
{
    collect(opaque, false);
}

/* Bare start: the log flag on both slots, then drop INITIALLY_SET bits. */
static void bare_enable(struct side *s, bool on)
{
    GError *err = NULL;

    for (unsigned i = 0; i < memmap_count(s->g->mm); i++) {
        const struct memmap_slot *m = memmap_get(s->g->mm, i);
        uint64_t gpa = m->gpa, npages = m->size / 4096;
        uint32_t id = m->slot;

        check(memmap_set_flags(s->g->mm, gpa,
                               on ? KVM_MEM_LOG_DIRTY_PAGES : 0, &err),
              "set flags", err);
        if (on && s->mc->mode == DIRTY_LOG_CLEAR) {
            struct kvm_clear_dirty_log c = { .slot = id,
                                             .num_pages = npages,
                                             .dirty_bitmap = s->bits };

            memset(s->bits, 0xff, (npages + 63) / 64 * 8);
            check(bare_ioctl(s, KVM_CLEAR_DIRTY_LOG, &c), "CLEAR all", NULL);
        }
    }
}

static void side_init(struct side *s, const struct mode_case *mc, bool bare,
                      unsigned gib)
{
    struct dirty_log_config cfg = { .mode = mc->mode,
                                    .ring_entries = mc->ring };
    GError *err = NULL;
    static const uint64_t gpas[] = { 1, 2, 4, 5, 6, 7, 8, 9 };

    memset(s, 0, sizeof(*s));
    s->mc = mc;
    s->g = dguest_new(mc->ring, &err);
    check(s->g != NULL, "VM", err);
    for (unsigned i = 0; i < gib; i++)
        check(dguest_add_slot(s->g, gpas[i] * GIB, GIB, "data", NULL, &err),
              "slot", err);
    cfg.vm_fd = s->g->kvm->vm_fd;
    cfg.memmap = s->g->mm;
    s->dl = dirty_log_new(&cfg, &err);      /* capabilities, also for bare */
    check(s->dl != NULL, mc->name, err);
    if (mc->ring)
        dirty_log_set_rings(s->dl, 1, &s->g->ring);
    if (bare) {
        dirty_log_free(s->dl);
        s->dl = NULL;
    }
    s->bits = g_new0(uint64_t, DATA_PAGES / 64);
    s->g->ring_full = on_ring_full;
    s->g->opaque = s;
}

static void side_free(struct side *s)
{
    dirty_log_free(s->dl);
    dguest_free(s->g);
    g_free(s->bits);
}

/* The guest writes every stride-th page of the data slot. */
static void dirty(struct side *s, unsigned stride)
{
    GError *err = NULL;
    uint32_t count = DATA_PAGES / stride;

    for (uint32_t i = 0; i < count; i += CHUNK) {
        uint32_t n = MIN(CHUNK, count - i);

        if (s->mc->ring && s->pending + n > RING - 256)
            collect(s, false);
        check(dguest_write_pages(s->g, DATA_GPA + (uint64_t)i * stride * 4096,
                                 n, stride, &err), "guest", err);
        s->pending += n;
    }
}

static void start(struct side *s)
{
    GError *err = NULL;

    if (s->dl)
        check(dirty_log_start(s->dl, &err), "start", err);
    else
        bare_enable(s, true);
}

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

static double median_ms(gint64 *v)
{
    qsort(v, REPS, sizeof(*v), cmp_i64);
    return v[REPS / 2] / 1000.0;
}

/* One round on one side: dirt, then the harvest (and ring collections). */
static gint64 harvest_us(struct side *s, unsigned pct, uint64_t *pages)
{
    s->spent_us = 0;
    s->last_pages = 0;
    if (pct)
        dirty(s, pct == 100 ? 1 : 10);
    collect(s, true);
    *pages = s->last_pages;
    return s->spent_us;
}

static void bench_harvest(const struct mode_case *mc, double *worst)
{
    static const unsigned pcts[] = { 0, 10, 100 };
    struct side bare, hot;

    side_init(&bare, mc, true, 1);
    side_init(&hot, mc, false, 1);
    start(&bare);
    start(&hot);
    dirty(&bare, 1);            /* first touch, outside the figures */
    dirty(&hot, 1);
    collect(&bare, true);
    collect(&hot, true);
    for (size_t i = 0; i < G_N_ELEMENTS(pcts); i++) {
        uint64_t pb = 0, ph = 0;
        gint64 tb[REPS], th[REPS];
        double b, h, over;

        /* Interleaved, so load on the host weighs on both alike. */
        for (int r = 0; r < REPS; r++) {
            tb[r] = harvest_us(&bare, pcts[i], &pb);
            th[r] = harvest_us(&hot, pcts[i], &ph);
        }
        b = median_ms(tb);
        h = median_ms(th);
        over = b > 0 ? (h - b) / b * 100 : 0;

        printf("%-7s %4u%%  %8.3f ms  %8.3f ms  %+6.1f%%   %7" PRIu64
               " %7" PRIu64 "\n", mc->name, pcts[i], b, h, over, pb, ph);
        if (over > *worst)
            *worst = over;
    }
    side_free(&bare);
    side_free(&hot);
}

/* Start/stop of 8 GiB: bare flags (+ initial clear) vs hotmem. */
static void bench_enable(const struct mode_case *mc)
{
    gint64 on_b[REPS], off_b[REPS], on_h[REPS], off_h[REPS], t;
    struct side s;
    GError *err = NULL;

    side_init(&s, mc, false, 8);
    dirty(&s, 1);                       /* 1 GiB mapped by the guest */
    for (int r = 0; r < REPS; r++) {
        t = g_get_monotonic_time();
        bare_enable(&s, true);
        on_b[r] = g_get_monotonic_time() - t;
        t = g_get_monotonic_time();
        bare_enable(&s, false);
        off_b[r] = g_get_monotonic_time() - t;
        t = g_get_monotonic_time();
        check(dirty_log_start(s.dl, &err), "start", err);
        on_h[r] = g_get_monotonic_time() - t;
        t = g_get_monotonic_time();
        dirty_log_stop(s.dl);
        off_h[r] = g_get_monotonic_time() - t;
        dirty(&s, 64);                  /* re-map a little between rounds */
    }
    printf("%-7s start %8.3f ms (bare %8.3f)   stop %8.3f ms (bare %8.3f)\n",
           mc->name, median_ms(on_h), median_ms(on_b), median_ms(off_h),
           median_ms(off_b));
    side_free(&s);
}

/* argv[1], if given, picks one mode by name. */
int main(int argc, char **argv)
{
    double worst = -100;
    const char *only = argc > 1 ? argv[1] : NULL;

    bench_print_environment(stdout);
    printf("Harvest of a 1 GiB slot (+1 MiB code slot), guest-written dirt, "
           "median of %d\n", REPS);
    printf("mode    dirty   bare ioctls   hotmem     overhead  pages(bare "
           "hotmem)\n");
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (!only || !strcmp(only, modes[i].name))
            bench_harvest(&modes[i], &worst);
    }
    printf("worst hotmem overhead over bare KVM: %+.1f%% (budget +20%%)\n",
           worst);
    printf("\nStart/stop logging on 8 GiB (8 x 1 GiB slots, 1 GiB mapped by "
           "the guest), median of %d\n", REPS);
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (!only || !strcmp(only, modes[i].name))
            bench_enable(&modes[i]);
    }
    return 0;
}
