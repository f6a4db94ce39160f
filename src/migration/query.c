/*
 * What a migration shows and takes through the monitor (migration.h):
 * query-migrate's MigrationInfo, the parameters (downtime-limit,
 * max-bandwidth, auto-converge's) and the capabilities, with QEMU's names, defaults,
 * ranges and error texts (qapi/migration.json, migration/options.c).
 */
#include "migration/job.h"

#include <inttypes.h>
#include <string.h>

#include "errors.h"

static void add_int(json_object *o, const char *name, int64_t v)
{
    json_object_object_add(o, name, json_object_new_int64(v));
}

static uint64_t counter(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* QEMU's MigrationStats, from the counters (lock held). */
static json_object *ram_stats(struct migration *mig, gint64 elapsed_us,
                              bool done)
{
    json_object *r = json_object_new_object();
    uint64_t sent = counter(&mig->counters.transferred);
    uint64_t dup = counter(&mig->counters.duplicate);
    uint64_t normal = counter(&mig->counters.normal);
    uint64_t moved = (dup + normal) * MIG_PAGE_SIZE;
    double secs = MAX(elapsed_us, 1) / 1e6;
    double mbps = sent * 8.0 / 1e6 / secs;
    uint64_t remaining = mig->ram_total - MIN(moved, mig->ram_total);

    if (mig->live && mig->pc.sync_count) {
        /* After the first pass: the dirty pages of the last harvest. */
        remaining = mig->pc.remaining;
        if (mig->pc.bandwidth)
            mbps = mig->pc.bandwidth * 8.0 / 1e6;
    }
    if (done)
        remaining = 0;
    add_int(r, "transferred", (int64_t)sent);
    add_int(r, "remaining", (int64_t)remaining);
    add_int(r, "total", (int64_t)mig->ram_total);
    add_int(r, "duplicate", (int64_t)dup);
    add_int(r, "normal", (int64_t)normal);
    add_int(r, "normal-bytes", (int64_t)(normal * MIG_PAGE_SIZE));
    add_int(r, "dirty-pages-rate", (int64_t)mig->pc.dirty_rate);
    json_object_object_add(r, "mbps", json_object_new_double(mbps));
    add_int(r, "dirty-sync-count", mig->live ? (int64_t)mig->pc.sync_count
                                             : 1);
    add_int(r, "postcopy-requests", 0);
    add_int(r, "page-size", MIG_PAGE_SIZE);
    add_int(r, "multifd-bytes", 0);
    add_int(r, "pages-per-second", (int64_t)((dup + normal) / secs));
    /* A file migration holds the guest throughout: all of it is downtime. */
    add_int(r, "precopy-bytes", mig->live ? (int64_t)(sent -
                                            mig->pc.downtime_bytes) : 0);
    add_int(r, "downtime-bytes", mig->live ? (int64_t)mig->pc.downtime_bytes
                                           : (int64_t)sent);
    add_int(r, "postcopy-bytes", 0);
    add_int(r, "dirty-sync-missed-zero-copy", 0);
    return r;
}

static bool shows_progress(enum mig_status st)
{
    return st == MIG_ACTIVE || st == MIG_DEVICE || st == MIG_COMPLETED ||
           st == MIG_CANCELLING;
}

json_object *migration_query(struct migration *mig)
{
    json_object *o = json_object_new_object();
    gint64 now = g_get_monotonic_time(), end;
    static const char *const names[] = {
        [MIG_NONE] = "none", [MIG_SETUP] = "setup", [MIG_ACTIVE] = "active",
        [MIG_COMPLETED] = "completed", [MIG_FAILED] = "failed",
        [MIG_CANCELLING] = "cancelling", [MIG_CANCELLED] = "cancelled",
        [MIG_DEVICE] = "device",
    };

    g_mutex_lock(&mig->lock);
    if (mig->status == MIG_NONE) {
        g_mutex_unlock(&mig->lock);
        return o;
    }
    end = mig->end_us ? mig->end_us : now;
    json_object_object_add(o, "status",
                           json_object_new_string(names[mig->status]));
    if (!mig->incoming && shows_progress(mig->status)) {
        bool done = mig->status == MIG_COMPLETED;

        json_object_object_add(o, "ram", ram_stats(mig, end - mig->start_us,
                                                   done));
        add_int(o, "total-time", (end - mig->start_us) / 1000);
        add_int(o, "setup-time",
                ((mig->setup_end_us ? mig->setup_end_us : now) -
                 mig->start_us) / 1000);
        if (done)
            add_int(o, "downtime",
                    (mig->down_end_us - mig->down_start_us) / 1000);
        else if (mig->live)
            add_int(o, "expected-downtime",
                    mig->pc.sync_count ? (int64_t)mig->pc.expected_ms
                                       : (int64_t)mig->downtime_limit_ms);
        else
            add_int(o, "expected-downtime", (now - mig->start_us) / 1000);
    }
    if (!mig->incoming && mig->live && shows_progress(mig->status) &&
        g_atomic_int_get(&mig->auto_converge))
        add_int(o, "cpu-throttle-percentage", (int64_t)mig->pc.throttle);
    if (mig->status == MIG_FAILED && mig->error)
        json_object_object_add(o, "error-desc",
                               json_object_new_string(mig->error));
    g_mutex_unlock(&mig->lock);
    return o;
}

/* ---- parameters --------------------------------------------------------- */

/* A member that is a non-negative JSON integer, or an error. */
static bool get_uint(json_object *params, const char *name, bool *has,
                     uint64_t *out, GError **err)
{
    json_object *v = NULL;

    *has = json_object_object_get_ex(params, name, &v);
    if (!*has)
        return true;
    if (!json_object_is_type(v, json_type_int) ||
        (json_object_get_int64(v) < 0 &&
         json_object_get_uint64(v) <= INT64_MAX)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Invalid parameter type for '%s', expected: integer",
                    name);
        return false;
    }
    *out = json_object_get_uint64(v);
    return true;
}

/* A member that is a JSON boolean, or an error. */
static bool get_bool(json_object *params, const char *name, int *out,
                     GError **err)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(params, name, &v))
        return true;
    if (!json_object_is_type(v, json_type_boolean)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Invalid parameter type for '%s', expected: boolean",
                    name);
        return false;
    }
    *out = json_object_get_boolean(v);
    return true;
}

/* The parameters with what params sets; validity is checked apart. */
struct params {
    uint64_t dt, bw, stall;
    struct mig_throttle_params t;
    bool has_dt, has_bw, has_stall;
    gint mode;                      /* -1: not given */
};

static bool read_params(struct migration *mig, json_object *params,
                        struct params *p, GError **err)
{
    bool has;

    p->t = (struct mig_throttle_params){
        .threshold = __atomic_load_n(&mig->throttle.threshold,
                                     __ATOMIC_RELAXED),
        .initial = __atomic_load_n(&mig->throttle.initial, __ATOMIC_RELAXED),
        .increment = __atomic_load_n(&mig->throttle.increment,
                                     __ATOMIC_RELAXED),
        .max = __atomic_load_n(&mig->throttle.max, __ATOMIC_RELAXED),
        .tailslow = g_atomic_int_get(&mig->throttle.tailslow) };
    p->mode = -1;
    return mig_cpr_parse_mode(params, &p->mode, err) &&
           get_uint(params, "downtime-limit", &p->has_dt, &p->dt, err) &&
           get_uint(params, "max-bandwidth", &p->has_bw, &p->bw, err) &&
           get_uint(params, "x-stall-timeout", &p->has_stall, &p->stall,
                    err) &&
           get_uint(params, "throttle-trigger-threshold", &has,
                    &p->t.threshold, err) &&
           get_uint(params, "cpu-throttle-initial", &has, &p->t.initial,
                    err) &&
           get_uint(params, "cpu-throttle-increment", &has, &p->t.increment,
                    err) &&
           get_uint(params, "max-cpu-throttle", &has, &p->t.max, err) &&
           get_bool(params, "cpu-throttle-tailslow", &p->t.tailslow, err);
}

/* QEMU's ranges and words (QERR_INVALID_PARAMETER_VALUE). */
static bool check_params(const struct params *p, GError **err)
{
    const char *name = NULL, *range = NULL;

    if (p->has_dt && p->dt > MIG_MAX_DOWNTIME_MS) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Parameter 'downtime_limit' expects an integer in the "
                    "range of 0 to %u ms", MIG_MAX_DOWNTIME_MS);
        return false;
    }
    if (p->has_stall &&
        (p->stall < MIG_MIN_STALL_MS || p->stall > MIG_MAX_STALL_MS)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Parameter 'x_stall_timeout' expects an integer in the "
                    "range of %u to %u ms", MIG_MIN_STALL_MS,
                    MIG_MAX_STALL_MS);
        return false;
    }
    if (p->t.threshold < 1 || p->t.threshold > 100) {
        name = "throttle_trigger_threshold";
        range = "1 to 100";
    } else if (p->t.initial < 1 || p->t.initial > 99) {
        name = "cpu_throttle_initial";
        range = "1 to 99";
    } else if (p->t.increment < 1 || p->t.increment > 99) {
        name = "cpu_throttle_increment";
        range = "1 to 99";
    } else if (p->t.max < p->t.initial || p->t.max > 99) {
        name = "max_cpu_throttle";
        range = "cpu_throttle_initial to 99";
    }
    if (!name)
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "Parameter '%s' expects an integer in the range of %s", name,
                range);
    return false;
}

bool migration_set_parameters(struct migration *mig, json_object *params,
                              GError **err)
{
    struct params p;

    /* All or none: every value is checked first, then set. */
    if (!read_params(mig, params, &p, err) || !check_params(&p, err))
        return false;
    if (p.has_dt)
        __atomic_store_n(&mig->downtime_limit_ms, p.dt, __ATOMIC_RELAXED);
    if (p.has_bw)
        __atomic_store_n(&mig->max_bandwidth, p.bw, __ATOMIC_RELAXED);
    if (p.has_stall)
        __atomic_store_n(&mig->stall_ms, p.stall, __ATOMIC_RELAXED);
    __atomic_store_n(&mig->throttle.threshold, p.t.threshold,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&mig->throttle.initial, p.t.initial, __ATOMIC_RELAXED);
    __atomic_store_n(&mig->throttle.increment, p.t.increment,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&mig->throttle.max, p.t.max, __ATOMIC_RELAXED);
    g_atomic_int_set(&mig->throttle.tailslow, p.t.tailslow);
    if (p.mode >= 0)
        g_atomic_int_set(&mig->mode, p.mode);
    return true;
}

static void add_param(json_object *o, const char *name, const uint64_t *v)
{
    json_object_object_add(o, name, json_object_new_uint64(
        __atomic_load_n(v, __ATOMIC_RELAXED)));
}

json_object *migration_query_parameters(struct migration *mig)
{
    json_object *o = json_object_new_object();

    add_param(o, "downtime-limit", &mig->downtime_limit_ms);
    add_param(o, "max-bandwidth", &mig->max_bandwidth);
    add_param(o, "throttle-trigger-threshold", &mig->throttle.threshold);
    add_param(o, "cpu-throttle-initial", &mig->throttle.initial);
    add_param(o, "cpu-throttle-increment", &mig->throttle.increment);
    json_object_object_add(o, "cpu-throttle-tailslow",
                           json_object_new_boolean(
                               g_atomic_int_get(&mig->throttle.tailslow)));
    add_param(o, "max-cpu-throttle", &mig->throttle.max);
    add_param(o, "x-stall-timeout", &mig->stall_ms);
    json_object_object_add(o, "mode", json_object_new_string(
        mig_cpr_mode_name(g_atomic_int_get(&mig->mode))));
    return o;
}

/* ---- capabilities ------------------------------------------------------- */

/* QEMU's capabilities that hotmem does not have, named in the error. */
static bool known_to_qemu(const char *name)
{
    static const char *const qemu[] = {
        "xbzrle", "rdma-pin-all", "zero-blocks",
        "postcopy-ram", "x-colo", "release-ram",
        "pause-before-switchover", "multifd", "dirty-bitmaps",
        "postcopy-blocktime", "late-block-activate", "x-ignore-shared",
        "validate-uuid", "background-snapshot", "zero-copy-send",
        "postcopy-preempt", "switchover-ack", "dirty-limit", "mapped-ram",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(qemu); i++) {
        if (!strcmp(qemu[i], name))
            return true;
    }
    return false;
}

bool migration_set_capabilities(struct migration *mig, json_object *caps,
                                GError **err)
{
    size_t n = json_object_array_length(caps);
    int events = -1, converge = -1;

    if (!mig_check_idle(mig, err))
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(caps, i), *name = NULL,
                    *state = NULL;
        const char *cap;

        if (!json_object_is_type(c, json_type_object) ||
            !json_object_object_get_ex(c, "capability", &name) ||
            !json_object_is_type(name, json_type_string) ||
            !json_object_object_get_ex(c, "state", &state) ||
            !json_object_is_type(state, json_type_boolean)) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "Invalid parameter type for 'capabilities[%zu]', "
                        "expected: {\"capability\": str, \"state\": bool}",
                        i);
            return false;
        }
        cap = json_object_get_string(name);
        if (!strcmp(cap, "events")) {
            events = json_object_get_boolean(state);
            continue;
        }
        if (!strcmp(cap, "auto-converge")) {
            converge = json_object_get_boolean(state);
            continue;
        }
        /* hotmem's return path (reply.c) is always there on a socket. */
        if (!strcmp(cap, "return-path")) {
            if (json_object_get_boolean(state))
                continue;
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "migration capability 'return-path' cannot be "
                        "turned off: hotmem's destination always answers on "
                        "the socket (docs/migration.md, \"Return path\")");
            return false;
        }
        /* Turning off what hotmem never does is harmless. */
        if (known_to_qemu(cap) && !json_object_get_boolean(state))
            continue;
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    known_to_qemu(cap)
                        ? "migration capability '%s' is not supported by "
                          "hotmem (it has: events, auto-converge, return-path)"
                        : "Parameter 'capability' does not accept value "
                          "'%s'", cap);
        return false;
    }
    if (events >= 0)
        g_atomic_int_set(&mig->events, events);
    if (converge >= 0)
        g_atomic_int_set(&mig->auto_converge, converge);
    return true;
}

static void add_capability(json_object *list, const char *name, gint *state)
{
    json_object *c = json_object_new_object();

    json_object_object_add(c, "capability", json_object_new_string(name));
    json_object_object_add(c, "state", json_object_new_boolean(
                               g_atomic_int_get(state)));
    json_object_array_add(list, c);
}

json_object *migration_query_capabilities(struct migration *mig)
{
    json_object *list = json_object_new_array();

    add_capability(list, "events", &mig->events);
    add_capability(list, "auto-converge", &mig->auto_converge);
    /* hotmem's return path (reply.c) is always there on a socket. */
    json_object *c = json_object_new_object();

    json_object_object_add(c, "capability",
                           json_object_new_string("return-path"));
    json_object_object_add(c, "state", json_object_new_boolean(true));
    json_object_array_add(list, c);
    return list;
}
