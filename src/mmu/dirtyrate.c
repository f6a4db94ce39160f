/*
 * calc-dirty-rate's measurement: validate, begin (start the dirty log or
 * take page samples), wait calc-time on the main context, end (harvest or
 * re-sample) and keep the result for query-dirty-rate.
 */
#include "mmu/dirtyrate.h"

#include <string.h>

#include "errors.h"

struct dirtyrate {
    struct dirty_log *dl;
    struct memmap *mm;
    GMainContext *ctx;
    GSource *timer;             /* while measuring */
    struct dirtyrate_info info;
    struct dirtyrate_samples *samples;
    gint64 t0;                  /* monotonic, start of the window */
    GMutex lock;                /* info: queries may come from any thread */
};

static const char *const mode_names[] = {
    [DIRTYRATE_PAGE_SAMPLING] = "page-sampling",
    [DIRTYRATE_DIRTY_RING] = "dirty-ring",
    [DIRTYRATE_DIRTY_BITMAP] = "dirty-bitmap",
};

const char *dirtyrate_mode_name(enum dirtyrate_mode mode)
{
    return mode < G_N_ELEMENTS(mode_names) ? mode_names[mode] : NULL;
}

bool dirtyrate_mode_parse(const char *name, enum dirtyrate_mode *out)
{
    for (size_t i = 0; i < G_N_ELEMENTS(mode_names); i++) {
        if (!strcmp(name, mode_names[i])) {
            *out = (enum dirtyrate_mode)i;
            return true;
        }
    }
    return false;
}

const char *dirtyrate_status_name(enum dirtyrate_status status)
{
    static const char *const names[] = {
        [DIRTYRATE_UNSTARTED] = "unstarted",
        [DIRTYRATE_MEASURING] = "measuring",
        [DIRTYRATE_MEASURED] = "measured",
    };

    return names[status];
}

int64_t dirtyrate_mib_per_s(uint64_t pages, int64_t elapsed_us)
{
    double mib = (double)pages * DIRTY_PAGE_SIZE / (1 << 20);

    if (elapsed_us <= 0)
        return 0;
    return (int64_t)(mib * 1e6 / (double)elapsed_us + 0.5);  /* >= 0 */
}

struct dirtyrate *dirtyrate_new(struct dirty_log *dl, struct memmap *mm)
{
    struct dirtyrate *dr = g_new0(struct dirtyrate, 1);

    dr->dl = dl;
    dr->mm = mm;
    g_mutex_init(&dr->lock);
    return dr;
}

static void cancel(struct dirtyrate *dr)
{
    if (!dr->timer)
        return;
    g_source_destroy(dr->timer);
    g_clear_pointer(&dr->timer, g_source_unref);
    g_clear_pointer(&dr->ctx, g_main_context_unref);
    if (dr->info.mode == DIRTYRATE_PAGE_SAMPLING)
        g_clear_pointer(&dr->samples, dirtyrate_samples_free);
    else
        dirty_log_stop(dr->dl);
}

void dirtyrate_free(struct dirtyrate *dr)
{
    if (!dr)
        return;
    cancel(dr);
    dirtyrate_info_clear(&dr->info);
    g_mutex_clear(&dr->lock);
    g_free(dr);
}

/* QEMU's order of checks: busy, calc-time, sample-pages, mode. */
static bool check_request(struct dirtyrate *dr,
                          const struct dirtyrate_request *req,
                          int64_t *ms, GError **err)
{
    enum dirtyrate_mode mode = req->has_mode ? req->mode
                                             : DIRTYRATE_PAGE_SAMPLING;
    bool ring = dirty_log_mode(dr->dl) == DIRTY_LOG_RING;
    /* calc-time's range in its own unit, so that nothing can overflow. */
    int64_t lo = req->calc_time_ms ? DIRTYRATE_MIN_CALC_TIME_MS
                                   : (DIRTYRATE_MIN_CALC_TIME_MS + 999) / 1000;
    int64_t hi = req->calc_time_ms ? DIRTYRATE_MAX_CALC_TIME_MS
                                   : DIRTYRATE_MAX_CALC_TIME_MS / 1000;
    const char *unit = req->calc_time_ms ? "ms" : "s";

    if (dr->timer) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "the dirty rate is already being measured");
        return false;
    }
    if (req->calc_time < lo || req->calc_time > hi) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "calc-time %" G_GINT64_FORMAT " %s is out of range: "
                    "it must be %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                    " %s", req->calc_time, unit, lo, hi, unit);
        return false;
    }
    *ms = req->calc_time_ms ? req->calc_time : req->calc_time * 1000;
    if (req->has_sample_pages && mode != DIRTYRATE_PAGE_SAMPLING) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "sample-pages is used only in page-sampling mode "
                    "(mode is %s)", dirtyrate_mode_name(mode));
        return false;
    }
    if (req->has_sample_pages &&
        (req->sample_pages < DIRTYRATE_MIN_SAMPLE_PAGES ||
         req->sample_pages > DIRTYRATE_MAX_SAMPLE_PAGES)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "sample-pages %" G_GINT64_FORMAT " is out of range: it "
                    "must be %d to %d pages per GiB", req->sample_pages,
                    DIRTYRATE_MIN_SAMPLE_PAGES, DIRTYRATE_MAX_SAMPLE_PAGES);
        return false;
    }
    if (mode == DIRTYRATE_DIRTY_RING && !ring) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "mode dirty-ring needs the KVM dirty ring, which is off: "
                    "start hotmem with -accel kvm,dirty-ring-size=N, or use "
                    "mode dirty-bitmap or page-sampling");
        return false;
    }
    if (mode == DIRTYRATE_DIRTY_BITMAP && ring) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "mode dirty-bitmap is not available while the KVM dirty "
                    "ring is on (-accel kvm,dirty-ring-size): use dirty-ring "
                    "or page-sampling");
        return false;
    }
    return true;
}

/* Rates from one harvest over elapsed_us. dr->lock held. */
static void rates_from_harvest(struct dirtyrate *dr,
                               const struct dirty_harvest *h,
                               int64_t elapsed_us)
{
    struct dirtyrate_info *i = &dr->info;
    uint64_t ring_pages = h->vmm_pages;

    if (i->mode == DIRTYRATE_DIRTY_RING) {
        i->nr_vcpus = h->nr_vcpus;
        i->vcpu_rate = g_new0(int64_t, h->nr_vcpus);
        for (unsigned v = 0; v < h->nr_vcpus; v++) {
            i->vcpu_rate[v] = dirtyrate_mib_per_s(h->vcpu_entries[v],
                                                  elapsed_us);
            ring_pages += h->vcpu_entries[v];
        }
        i->pages = ring_pages;
    } else {
        i->pages = h->pages;
    }
    i->dirty_rate = dirtyrate_mib_per_s(i->pages, elapsed_us);
}

static gboolean on_window_end(gpointer opaque)
{
    struct dirtyrate *dr = opaque;
    struct dirty_harvest h;
    g_autoptr(GError) e = NULL;
    int64_t elapsed = g_get_monotonic_time() - dr->t0;
    uint64_t estimate = 0;
    bool sampled = dr->info.mode == DIRTYRATE_PAGE_SAMPLING;
    bool ok = true;

    if (sampled)
        estimate = dirtyrate_samples_finish(g_steal_pointer(&dr->samples),
                                            dr->mm);
    else
        ok = dirty_log_harvest(dr->dl, &h, &e);
    g_mutex_lock(&dr->lock);
    dr->info.status = DIRTYRATE_MEASURED;
    dr->info.elapsed_us = elapsed;
    dr->info.calc_time_ms = elapsed / 1000;
    if (sampled) {
        dr->info.pages = estimate;
        dr->info.dirty_rate = dirtyrate_mib_per_s(estimate, elapsed);
    } else if (ok) {
        rates_from_harvest(dr, &h, elapsed);
    }
    g_mutex_unlock(&dr->lock);
    if (!sampled) {
        if (ok)
            dirty_harvest_clear(&h);
        else
            g_printerr("hotmem: calc-dirty-rate: %s\n", e->message);
        dirty_log_stop(dr->dl);
    }
    g_clear_pointer(&dr->timer, g_source_unref);
    g_clear_pointer(&dr->ctx, g_main_context_unref);
    return G_SOURCE_REMOVE;
}

/* Starts the dirty log or takes the samples: the window opens after. */
static bool begin_window(struct dirtyrate *dr, enum dirtyrate_mode mode,
                         uint64_t sample_pages, GError **err)
{
    if (mode == DIRTYRATE_PAGE_SAMPLING) {
        dr->samples = dirtyrate_samples_take(dr->mm, sample_pages);
        return true;
    }
    if (dirty_log_active(dr->dl)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "dirty logging is already in use by another consumer");
        return false;
    }
    return dirty_log_start(dr->dl, err);
}

bool dirtyrate_start(struct dirtyrate *dr, const struct dirtyrate_request *req,
                     GError **err)
{
    enum dirtyrate_mode mode = req->has_mode ? req->mode
                                             : DIRTYRATE_PAGE_SAMPLING;
    uint64_t sp = req->has_sample_pages ? (uint64_t)req->sample_pages
                                        : DIRTYRATE_DEFAULT_SAMPLE_PAGES;
    int64_t ms;

    if (!check_request(dr, req, &ms, err) ||
        !begin_window(dr, mode, sp, err))
        return false;
    dr->t0 = g_get_monotonic_time();
    g_mutex_lock(&dr->lock);
    dirtyrate_info_clear(&dr->info);
    dr->info = (struct dirtyrate_info){
        .status = DIRTYRATE_MEASURING, .mode = mode,
        /* QEMU's: its realtime clock, CLOCK_MONOTONIC, in seconds. */
        .start_time = g_get_monotonic_time() / G_USEC_PER_SEC,
        .calc_time_ms = ms,
        .sample_pages = mode == DIRTYRATE_PAGE_SAMPLING ? sp : 0 };
    g_mutex_unlock(&dr->lock);
    dr->ctx = g_main_context_ref_thread_default();
    dr->timer = g_timeout_source_new((guint)ms);
    g_source_set_callback(dr->timer, on_window_end, dr, NULL);
    g_source_attach(dr->timer, dr->ctx);
    return true;
}

void dirtyrate_get(struct dirtyrate *dr, struct dirtyrate_info *out)
{
    g_mutex_lock(&dr->lock);
    *out = dr->info;
    out->vcpu_rate = dr->info.vcpu_rate
        ? g_memdup2(dr->info.vcpu_rate, dr->info.nr_vcpus * sizeof(int64_t))
        : NULL;
    g_mutex_unlock(&dr->lock);
}

void dirtyrate_info_clear(struct dirtyrate_info *info)
{
    g_clear_pointer(&info->vcpu_rate, g_free);
    info->nr_vcpus = 0;
}
