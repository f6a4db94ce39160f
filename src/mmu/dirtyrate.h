/*
 * Dirty-page-rate measurement with the semantics of QEMU's calc-dirty-rate
 * and query-dirty-rate (qapi/migration.json): one measurement at a time,
 * running in the background on the GLib main context the caller runs, in
 * one of three modes:
 *
 *   dirty-bitmap   the dirty log (bitmap or clear mode): distinct pages
 *                  written during the window;
 *   dirty-ring     the dirty log in ring mode: ring entries per vCPU (a page
 *                  written again after its entry was collected counts again,
 *                  as in QEMU), plus pages hotmem itself wrote;
 *   page-sampling  sample-pages random pages per GiB of each memslot of at
 *                  least 128 MiB are hashed at the start and the end; the
 *                  changed fraction is scaled to the slot size.
 *
 * Rates are MiB/s (2^20 bytes per second), rounded to the nearest integer.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "mmu/dirty.h"
#include "mmu/memmap.h"

/* QEMU's limits (migration/dirtyrate.h). */
#define DIRTYRATE_MIN_CALC_TIME_MS      50
#define DIRTYRATE_MAX_CALC_TIME_MS      60000
#define DIRTYRATE_MIN_SAMPLE_PAGES      128
#define DIRTYRATE_MAX_SAMPLE_PAGES      16384
#define DIRTYRATE_DEFAULT_SAMPLE_PAGES  512
#define DIRTYRATE_MIN_SAMPLED_SLOT      (128ULL << 20)

enum dirtyrate_status {
    DIRTYRATE_UNSTARTED,
    DIRTYRATE_MEASURING,
    DIRTYRATE_MEASURED,
};

enum dirtyrate_mode {
    DIRTYRATE_PAGE_SAMPLING,
    DIRTYRATE_DIRTY_RING,
    DIRTYRATE_DIRTY_BITMAP,
};

struct dirtyrate_request {
    int64_t calc_time;
    bool calc_time_ms;          /* calc-time-unit "millisecond" */
    bool has_sample_pages;
    int64_t sample_pages;
    bool has_mode;
    enum dirtyrate_mode mode;   /* default page-sampling, as in QEMU */
};

struct dirtyrate_info {
    enum dirtyrate_status status;
    enum dirtyrate_mode mode;
    int64_t start_time;         /* CLOCK_MONOTONIC seconds, as QEMU's */
    int64_t calc_time_ms;       /* requested; measured window once done */
    uint64_t sample_pages;      /* 0 outside page-sampling */
    int64_t dirty_rate;         /* MiB/s, valid when measured */
    unsigned nr_vcpus;          /* dirty-ring: vcpu_rate entries */
    int64_t *vcpu_rate;         /* MiB/s per vCPU */
    /* What the rate was computed from (docs, tests). */
    uint64_t pages;             /* dirty pages (estimated when sampling) */
    int64_t elapsed_us;
};

struct dirtyrate;

struct dirtyrate *dirtyrate_new(struct dirty_log *dl, struct memmap *mm);
void dirtyrate_free(struct dirtyrate *dr);     /* cancels a measurement */

/*
 * Checks req with QEMU's rules (GError messages say which) and starts the
 * measurement; the result is ready calc-time later, when the main context
 * that was thread-default here has run.
 */
bool dirtyrate_start(struct dirtyrate *dr, const struct dirtyrate_request *req,
                     GError **err);

/* The latest measurement (free with dirtyrate_info_clear). */
void dirtyrate_get(struct dirtyrate *dr, struct dirtyrate_info *out);
void dirtyrate_info_clear(struct dirtyrate_info *info);

/* QMP names: "page-sampling", "dirty-ring", "dirty-bitmap"; NULL: none. */
const char *dirtyrate_mode_name(enum dirtyrate_mode mode);
bool dirtyrate_mode_parse(const char *name, enum dirtyrate_mode *out);
/* "unstarted", "measuring", "measured". */
const char *dirtyrate_status_name(enum dirtyrate_status status);

/* Bytes over a window to MiB/s, rounded to nearest. */
int64_t dirtyrate_mib_per_s(uint64_t pages, int64_t elapsed_us);

/* dirtyrate_sample.c: page sampling. */
struct dirtyrate_samples;
struct dirtyrate_samples *dirtyrate_samples_take(struct memmap *mm,
                                                 uint64_t per_gib);
/* Estimated dirty pages since take(); frees s. */
uint64_t dirtyrate_samples_finish(struct dirtyrate_samples *s,
                                  struct memmap *mm);
void dirtyrate_samples_free(struct dirtyrate_samples *s);
