/*
 * Live migration over a stream (docs/migration.md, "Pre-copy"): with
 * dirty logging on every memslot, a first pass sends all guest RAM while
 * the guest runs, then each pass sends the pages written since the last
 * harvest, until what remains, at the bandwidth the last pass measured,
 * fits in downtime-limit. Then the main loop stops the guest and takes
 * its device and vCPU state; a last harvest, the pages in it, the state,
 * and the source ends paused ("postmigrate") while the destination runs.
 *
 * The thread only reads guest memory and writes the socket; the main
 * loop keeps answering. max-bandwidth holds the rate in 100 ms windows.
 * With auto-converge, a harvest that found more dirty bytes than
 * throttle-trigger-threshold percent of what was sent since the one
 * before throttles the vCPUs, more at each such harvest.
 */
#include "migration/job.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"
#include "migration/state.h"
#include "migration/transport.h"
#include "mmu/dirty.h"

#define WINDOW_US       100000

struct precopy {
    struct migration *mig;
    struct mig_file f;
    unsigned nr_blocks;
    uint64_t **dirty;           /* per block: pages to send next */
    uint64_t *words;            /* per block: 64-bit words of dirty[] */
    gint64 window_start;
    uint64_t window_bytes, window_limit;
    gint64 last_sync_us;
    uint64_t sent_at_sync;      /* stream bytes at the last harvest */
    unsigned throttle;          /* percent, 0: not throttled */
};

static uint64_t sent_bytes(struct migration *mig)
{
    return __atomic_load_n(&mig->counters.transferred, __ATOMIC_RELAXED);
}

static bool cancelled(struct migration *mig, GError **err)
{
    if (!g_atomic_int_get(&mig->cancel))
        return false;
    g_set_error(err, HM_ERROR, HM_ERROR_FAILED, "migration cancelled");
    return true;
}

/*
 * After each queued chunk: max-bandwidth. What was sent since the window
 * began may not run ahead of the limit times the time since; the window
 * starts again every second (and when the limit changes), so a limit
 * raised or lifted takes effect at once.
 */
static bool pace(void *opaque, GError **err)
{
    struct precopy *pc = opaque;

    for (;;) {
        uint64_t limit = __atomic_load_n(&pc->mig->max_bandwidth,
                                         __ATOMIC_RELAXED);
        uint64_t sent = sent_bytes(pc->mig) - pc->window_bytes;
        gint64 now = g_get_monotonic_time();
        gint64 elapsed = now - pc->window_start;
        double allowed = (double)limit * (double)elapsed / 1e6;

        if (cancelled(pc->mig, err))
            return false;
        if (limit != pc->window_limit || elapsed >= WINDOW_US * 10) {
            /* Debt carries over into the new window. */
            pc->window_bytes += sent > allowed ? (uint64_t)allowed : sent;
            pc->window_start = now;
            pc->window_limit = limit;
            continue;
        }
        /* 0: no limit, as in QEMU. */
        if (!limit || sent <= allowed)
            return true;
        g_usleep((gulong)MIN((sent - allowed) * 1e6 / (double)limit,
                             10000.0));
    }
}

static int block_of(const struct machine_snapshot *s, uint64_t gpa,
                    uint64_t size)
{
    for (unsigned i = 0; i < s->blocks->len; i++) {
        const struct machine_ram_block *b =
            &g_array_index(s->blocks, struct machine_ram_block, i);

        if (b->gpa == gpa && b->size == size)
            return (int)i;
    }
    return -1;
}

/* Harvests the log into pc->dirty (ORed in); the pages now to send. */
static bool sync_dirty(struct precopy *pc, uint64_t *pages, GError **err)
{
    struct migration *mig = pc->mig;
    struct dirty_harvest h;
    gint64 now;
    uint64_t n = 0;

    if (!machine_live_harvest(mig->m, &h, err))
        return false;
    for (unsigned i = 0; i < h.nr_slots; i++) {
        const struct dirty_slot_bits *sb = &h.slots[i];
        int b = block_of(&mig->snap, sb->gpa, sb->size);

        if (b < 0 || sb->removed)
            continue;       /* a read-only DIMM: not in the stream */
        for (uint64_t w = 0; w < pc->words[b]; w++)
            pc->dirty[b][w] |= sb->bitmap[w];
    }
    dirty_harvest_clear(&h);
    for (unsigned b = 0; b < pc->nr_blocks; b++) {
        for (uint64_t w = 0; w < pc->words[b]; w++)
            n += (uint64_t)__builtin_popcountll(pc->dirty[b][w]);
    }
    now = g_get_monotonic_time();
    g_mutex_lock(&mig->lock);
    mig->pc.sync_count++;
    mig->pc.remaining = n * MIG_PAGE_SIZE;
    mig->pc.dirty_rate = (uint64_t)(n * 1e6 /
                                    MAX(now - pc->last_sync_us, 1));
    g_mutex_unlock(&mig->lock);
    pc->last_sync_us = now;
    *pages = n;
    return true;
}

static bool send_dirty(struct precopy *pc, GError **err)
{
    bool ok = mig_ram_save_dirty(&pc->f, pc->mig->blocks, pc->nr_blocks,
                                 pc->dirty, &pc->mig->cancel, err);

    for (unsigned b = 0; b < pc->nr_blocks; b++)
        memset(pc->dirty[b], 0, pc->words[b] * sizeof(uint64_t));
    return ok;
}

/*
 * Bytes per second over a pass; the previous figure if too short. At most
 * max-bandwidth: a pass that began with the pacing window's unused time
 * went out as a burst, faster than the limit lets the rest go, and the
 * estimate of what remains must not count on that (it once switched over
 * with 600 ms of data left at the limit, 300 ms allowed).
 */
static void measure(struct migration *mig, uint64_t bytes, gint64 us)
{
    uint64_t limit = __atomic_load_n(&mig->max_bandwidth, __ATOMIC_RELAXED);

    g_mutex_lock(&mig->lock);
    if (us > 1000 && bytes)
        mig->pc.bandwidth = (uint64_t)(bytes * 1e6 / us);
    if (limit && mig->pc.bandwidth > limit)
        mig->pc.bandwidth = limit;
    g_mutex_unlock(&mig->lock);
}

/* Main context, asked by the thread: stop the guest, take its state. */
static gboolean switch_over(gpointer data)
{
    struct migration *mig = data;
    GError *err = NULL;

    if (!g_atomic_int_get(&mig->cancel)) {
        machine_live_stop(mig->m);
        g_mutex_lock(&mig->lock);
        mig->down_start_us = g_get_monotonic_time();
        g_mutex_unlock(&mig->lock);
        mig_set_status(mig, MIG_DEVICE);
        machine_snapshot_clear(&mig->snap);
        machine_snapshot_init(&mig->snap);
        machine_snapshot_take(mig->m, &mig->snap, &err);
    }
    g_mutex_lock(&mig->lock);
    mig->switch_err = err;
    mig->switch_done = true;
    g_clear_pointer(&mig->switch_src, g_source_unref);
    g_cond_signal(&mig->switch_cond);
    g_mutex_unlock(&mig->lock);
    return G_SOURCE_REMOVE;
}

/* Thread: has the main loop stop the guest; waits, watching cancel. */
static bool request_switch(struct migration *mig, GError **err)
{
    GSource *src = g_idle_source_new();
    bool ok;

    g_mutex_lock(&mig->lock);
    mig->switch_done = false;
    mig->switch_src = src;
    g_source_set_callback(src, switch_over, mig, NULL);
    g_source_attach(src, mig->ctx);
    while (!mig->switch_done) {
        gint64 until = g_get_monotonic_time() + WINDOW_US;

        if (g_atomic_int_get(&mig->cancel) && !mig->switch_done) {
            /* migration_free() destroys the source if it never ran. */
            g_mutex_unlock(&mig->lock);
            return !cancelled(mig, err);
        }
        g_cond_wait_until(&mig->switch_cond, &mig->lock, until);
    }
    ok = mig->switch_err == NULL;
    if (!ok)
        g_propagate_error(err, g_steal_pointer(&mig->switch_err));
    g_mutex_unlock(&mig->lock);
    return ok;
}

static bool write_state(struct precopy *pc, GError **err)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    mig_state_put_final(b, &pc->mig->snap);
    return mig_file_write(&pc->f, b->data, b->len, err);
}

static uint64_t param(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/*
 * The next percentage: initial, then increment more each time, at most
 * max-cpu-throttle. With cpu-throttle-tailslow the step is at most what
 * should bring the dirty rate down to the rate sent (the vCPUs' share of
 * time times sent / dirty), at least 1, so the last steps are small.
 */
static unsigned throttle_step(struct migration *mig, unsigned now,
                              uint64_t sent, uint64_t dirty)
{
    const struct mig_throttle_params *t = &mig->throttle;
    uint64_t step = param(&t->increment), max = param(&t->max);

    if (!now)
        return (unsigned)MIN(param(&t->initial), max);
    if (g_atomic_int_get(&t->tailslow)) {
        double cpu_now = 100 - now;
        double cpu_enough = cpu_now * (double)sent / (double)dirty;

        /*
         * At least 1: when the guest dirties its whole working set each
         * pass, dirty equals sent and the estimate says 0 for ever.
         */
        step = (uint64_t)MIN((double)step, MAX(cpu_now - cpu_enough, 1.0));
    }
    return (unsigned)MIN(now + step, max);
}

/*
 * auto-converge, after each harvest: what the guest dirtied since the
 * last one against what was sent meanwhile.
 */
static void auto_converge(struct precopy *pc, uint64_t dirty_bytes)
{
    struct migration *mig = pc->mig;
    uint64_t now = sent_bytes(mig), sent = now - pc->sent_at_sync;
    uint64_t threshold = param(&mig->throttle.threshold);

    pc->sent_at_sync = now;
    if (!g_atomic_int_get(&mig->auto_converge) || !sent ||
        dirty_bytes * 100 <= sent * threshold)
        return;
    pc->throttle = throttle_step(mig, pc->throttle, sent, dirty_bytes);
    machine_set_cpu_throttle(mig->m, pc->throttle);
    g_mutex_lock(&mig->lock);
    mig->pc.throttle = pc->throttle;
    g_mutex_unlock(&mig->lock);
}

/* Passes until the rest fits in downtime-limit; then the switch-over. */
static bool precopy_passes(struct precopy *pc, GError **err)
{
    struct migration *mig = pc->mig;

    for (;;) {
        uint64_t pages, limit, bw, before;
        gint64 t0;

        if (!sync_dirty(pc, &pages, err))
            return false;
        auto_converge(pc, pages * MIG_PAGE_SIZE);
        limit = __atomic_load_n(&mig->downtime_limit_ms, __ATOMIC_RELAXED);
        g_mutex_lock(&mig->lock);
        bw = mig->pc.bandwidth;
        mig->pc.expected_ms = bw ? pages * MIG_PAGE_SIZE * 1000 / bw : 0;
        g_mutex_unlock(&mig->lock);
        if (!pages || (bw && pages * MIG_PAGE_SIZE * 1000 / bw <= limit))
            return true;
        before = sent_bytes(mig);
        t0 = g_get_monotonic_time();
        if (!send_dirty(pc, err))
            return false;
        measure(mig, sent_bytes(mig) - before, g_get_monotonic_time() - t0);
    }
}

static bool precopy_run(struct precopy *pc, GError **err)
{
    struct migration *mig = pc->mig;
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t header[MIG_HEADER_SIZE];
    uint64_t pages, before;
    gint64 t0;

    mig_header_encode(header);
    mig_state_put_config(b, &mig->snap);
    pc->last_sync_us = t0 = g_get_monotonic_time();
    if (!mig_file_write(&pc->f, header, sizeof(header), err) ||
        !mig_file_write(&pc->f, b->data, b->len, err) ||
        !mig_ram_save(&pc->f, mig->blocks, pc->nr_blocks, &mig->cancel,
                      err))
        return false;
    measure(mig, sent_bytes(mig), g_get_monotonic_time() - t0);
    if (!precopy_passes(pc, err) || !request_switch(mig, err))
        return false;
    /* The guest is stopped: what it wrote since, then its state. */
    before = sent_bytes(mig);
    pc->f.pace = NULL;
    if (!sync_dirty(pc, &pages, err) || !send_dirty(pc, err) ||
        !write_state(pc, err))
        return false;
    g_mutex_lock(&mig->lock);
    mig->pc.downtime_bytes = sent_bytes(mig) - before;
    mig->pc.remaining = 0;
    g_mutex_unlock(&mig->lock);
    return true;
}

static int connect_stream(struct migration *mig, GError **err)
{
    int fd;

    g_mutex_lock(&mig->lock);
    fd = mig->fd;
    g_mutex_unlock(&mig->lock);
    if (fd >= 0)
        return fd;      /* fd: */
    fd = mig_transport_connect(&mig->uri, MIG_CONNECT_TIMEOUT_MS,
                               &mig->cancel, err);
    if (fd >= 0)
        mig_set_fd(mig, fd);
    /* A cancel meanwhile must reach this socket too. */
    if (fd >= 0 && g_atomic_int_get(&mig->cancel))
        shutdown(fd, SHUT_RDWR);
    return fd;
}

bool mig_precopy_stream(struct migration *mig, GError **err)
{
    struct precopy pc = { .mig = mig, .nr_blocks = mig->snap.blocks->len };
    int fd = connect_stream(mig, err);
    unsigned stall_ms;
    bool ok;

    if (fd < 0)
        return false;
    mig_set_status(mig, MIG_ACTIVE);
    stall_ms = (unsigned)__atomic_load_n(&mig->stall_ms, __ATOMIC_RELAXED);
    mig_transport_set_stall(fd, stall_ms);
    if (!mig_file_init(&pc.f, fd, 0, mig_uri_name(&mig->uri),
                       &mig->counters, err))
        return false;
    pc.f.stall_ms = stall_ms;
    pc.f.pace = pace;
    pc.f.pace_opaque = &pc;
    pc.window_start = g_get_monotonic_time();
    pc.window_limit = __atomic_load_n(&mig->max_bandwidth, __ATOMIC_RELAXED);
    pc.dirty = g_new0(uint64_t *, pc.nr_blocks + 1);
    pc.words = g_new0(uint64_t, pc.nr_blocks + 1);
    for (unsigned i = 0; i < pc.nr_blocks; i++) {
        pc.words[i] = (mig->blocks[i].size / MIG_PAGE_SIZE + 63) / 64;
        pc.dirty[i] = g_new0(uint64_t, pc.words[i] + 4);
    }
    ok = precopy_run(&pc, err);
    mig_file_release(&pc.f);
    ok = mig_reply_await(mig, fd, ok, err);
    for (unsigned i = 0; i < pc.nr_blocks; i++)
        g_free(pc.dirty[i]);
    g_free(pc.dirty);
    g_free(pc.words);
    return ok;
}

void mig_precopy_finish(struct migration *mig, GError *err)
{
    bool cancel = g_atomic_int_get(&mig->cancel);

    g_mutex_lock(&mig->lock);
    mig->down_end_us = g_get_monotonic_time();
    mig->pc.throttle = 0;       /* machine_live_*() below turn it off */
    g_mutex_unlock(&mig->lock);
    /* A cancel after the destination answered still completes: it runs
     * the guest now (reply.c). */
    if (cancel && err) {
        machine_live_abort(mig->m);
        mig_set_status(mig, MIG_CANCELLED);
    } else if (err) {
        machine_live_abort(mig->m);
        mig_fail(mig, err);
    } else {
        /* QEMU's order: the status, then the source stays stopped. */
        mig_set_status(mig, MIG_COMPLETED);
        machine_live_complete(mig->m);
    }
    machine_snapshot_clear(&mig->snap);
    mig_uri_clear(&mig->uri);
}
