/*
 * Migration jobs (migration.h): status, statistics, events, the thread
 * that runs a job and its end on the main loop. What the stream holds is
 * state.c's and ram.c's; the outgoing and incoming walks are save.c and
 * load.c.
 */
#include "migration/migration.h"
#include "migration/job.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "machine/machine_migrate.h"

static const char *const status_names[] = {
    [MIG_NONE] = "none", [MIG_SETUP] = "setup", [MIG_ACTIVE] = "active",
    [MIG_COMPLETED] = "completed", [MIG_FAILED] = "failed",
};

struct migration *migration_new(struct machine *m)
{
    struct migration *mig = g_new0(struct migration, 1);

    mig->m = m;
    mig->ctx = g_main_context_ref_thread_default();
    mig->fd = -1;
    g_mutex_init(&mig->lock);
    return mig;
}

/* Sets the status (any thread) and sends MIGRATION when asked for. */
void mig_set_status(struct migration *mig, enum mig_status st)
{
    g_mutex_lock(&mig->lock);
    mig->status = st;
    if (st == MIG_ACTIVE)
        mig->setup_end_us = g_get_monotonic_time();
    if (st == MIG_COMPLETED || st == MIG_FAILED)
        mig->end_us = g_get_monotonic_time();
    g_mutex_unlock(&mig->lock);
    /* QEMU sends it only with the "events" capability on. */
    if (g_atomic_int_get(&mig->events))
        machine_emit_migration(mig->m, status_names[st]);
}

static bool job_running(struct migration *mig)
{
    return mig->thread != NULL;
}

static void job_reset(struct migration *mig, bool incoming)
{
    g_mutex_lock(&mig->lock);
    g_clear_pointer(&mig->error, g_free);
    mig->incoming = incoming;
    mig->start_us = g_get_monotonic_time();
    mig->setup_end_us = mig->end_us = mig->down_start_us = 0;
    mig->down_end_us = 0;
    mig->ram_total = 0;
    memset(&mig->counters, 0, sizeof(mig->counters));
    g_mutex_unlock(&mig->lock);
}

void mig_fail(struct migration *mig, const GError *err)
{
    g_mutex_lock(&mig->lock);
    g_free(mig->error);
    mig->error = g_strdup(err->message);
    g_mutex_unlock(&mig->lock);
    mig_set_status(mig, MIG_FAILED);
}

/* Main context: the thread ended. */
static gboolean job_finish(gpointer data)
{
    struct migration *mig = data;
    GError *err = g_steal_pointer(&mig->job_err);

    g_thread_join(g_steal_pointer(&mig->thread));
    g_clear_pointer(&mig->finish, g_source_unref);
    if (close(mig->fd) < 0 && !err && !mig->incoming)
        g_set_error(&err, HM_ERROR, HM_ERROR_IO, "cannot write '%s': %s",
                    mig->uri.path, g_strerror(errno));
    mig->fd = -1;
    if (mig->incoming)
        mig_load_finish(mig, err);
    else
        mig_save_finish(mig, err);
    g_clear_error(&err);
    machine_snapshot_clear(&mig->snap);
    mig_uri_clear(&mig->uri);
    return G_SOURCE_REMOVE;
}

static gpointer job_thread(gpointer data)
{
    struct migration *mig = data;
    GSource *src = g_idle_source_new();
    bool ok;

    mig_set_status(mig, MIG_ACTIVE);
    ok = mig->incoming ? mig_load_stream(mig, &mig->job_err)
                       : mig_save_stream(mig, &mig->job_err);
    g_assert(ok == (mig->job_err == NULL));
    g_source_set_callback(src, job_finish, mig, NULL);
    mig->finish = src;
    g_source_attach(src, mig->ctx);
    return NULL;
}

bool mig_start_thread(struct migration *mig, GError **err)
{
    mig->thread = g_thread_try_new(mig->incoming ? "hm-mig-in"
                                                 : "hm-mig-out",
                                   job_thread, mig, err);
    return mig->thread != NULL;
}

/*
 * Opens the stream's file. A FIFO without a reader fails at once (ENXIO)
 * instead of hanging; anything but a regular file or a block device is
 * refused, since the stream is written at offsets.
 */
int mig_open(const struct mig_uri *uri, bool out, GError **err)
{
    int flags = out ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
    int fd = open(uri->path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                  0600);
    struct stat st;

    if (fd < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "cannot open migration file '%s' for %s: %s", uri->path,
                    out ? "writing" : "reading", g_strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "migration file '%s' is not a regular file or a block "
                    "device", uri->path);
        close(fd);
        return -1;
    }
    return fd;
}

bool mig_parse_target(const char *uri, json_object *channels,
                      struct mig_uri *out, GError **err)
{
    if (!uri == !channels) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "need either 'uri' or 'channels' argument");
        return false;
    }
    return uri ? mig_uri_parse(uri, out, err)
               : mig_uri_from_channels(channels, out, err);
}

bool mig_check_idle(struct migration *mig, GError **err)
{
    if (!job_running(mig) && !machine_migration_active(mig->m))
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "There's a migration process in progress");
    return false;
}

void migration_free(struct migration *mig)
{
    if (!mig)
        return;
    if (mig->thread) {
        g_atomic_int_set(&mig->cancel, 1);
        g_thread_join(g_steal_pointer(&mig->thread));
        if (mig->finish) {
            g_source_destroy(mig->finish);
            g_source_unref(mig->finish);
        }
        g_clear_error(&mig->job_err);
        close(mig->fd);
    }
    machine_snapshot_clear(&mig->snap);
    mig_uri_clear(&mig->uri);
    g_free(mig->error);
    g_free(mig->blocks);
    g_main_context_unref(mig->ctx);
    g_mutex_clear(&mig->lock);
    g_free(mig);
}

/* ---- query-migrate ---------------------------------------------------- */

static void add_int(json_object *o, const char *name, int64_t v)
{
    json_object_object_add(o, name, json_object_new_int64(v));
}

/* QEMU's MigrationStats, from the counters (lock held). */
static json_object *ram_stats(struct migration *mig, gint64 elapsed_us)
{
    json_object *r = json_object_new_object();
    uint64_t sent = __atomic_load_n(&mig->counters.transferred,
                                    __ATOMIC_RELAXED);
    uint64_t dup = __atomic_load_n(&mig->counters.duplicate,
                                   __ATOMIC_RELAXED);
    uint64_t normal = __atomic_load_n(&mig->counters.normal,
                                      __ATOMIC_RELAXED);
    uint64_t done = (dup + normal) * MIG_PAGE_SIZE;
    double secs = MAX(elapsed_us, 1) / 1e6;

    add_int(r, "transferred", (int64_t)sent);
    add_int(r, "remaining", (int64_t)(mig->ram_total - MIN(done,
                                                           mig->ram_total)));
    add_int(r, "total", (int64_t)mig->ram_total);
    add_int(r, "duplicate", (int64_t)dup);
    add_int(r, "normal", (int64_t)normal);
    add_int(r, "normal-bytes", (int64_t)(normal * MIG_PAGE_SIZE));
    add_int(r, "dirty-pages-rate", 0);
    json_object_object_add(r, "mbps",
                           json_object_new_double(sent * 8.0 / 1e6 / secs));
    add_int(r, "dirty-sync-count", 1);
    add_int(r, "postcopy-requests", 0);
    add_int(r, "page-size", MIG_PAGE_SIZE);
    add_int(r, "multifd-bytes", 0);
    add_int(r, "pages-per-second", (int64_t)((dup + normal) / secs));
    /* The guest is stopped for the whole of a file migration. */
    add_int(r, "precopy-bytes", 0);
    add_int(r, "downtime-bytes", (int64_t)sent);
    add_int(r, "postcopy-bytes", 0);
    add_int(r, "dirty-sync-missed-zero-copy", 0);
    return r;
}

json_object *migration_query(struct migration *mig)
{
    json_object *o = json_object_new_object();
    gint64 now = g_get_monotonic_time(), end;

    g_mutex_lock(&mig->lock);
    if (mig->status == MIG_NONE) {
        g_mutex_unlock(&mig->lock);
        return o;
    }
    end = mig->end_us ? mig->end_us : now;
    json_object_object_add(o, "status",
                           json_object_new_string(status_names[mig->status]));
    if (!mig->incoming && (mig->status == MIG_ACTIVE ||
                           mig->status == MIG_COMPLETED)) {
        json_object_object_add(o, "ram", ram_stats(mig, end - mig->start_us));
        add_int(o, "total-time", (end - mig->start_us) / 1000);
        add_int(o, "setup-time",
                ((mig->setup_end_us ? mig->setup_end_us : now) -
                 mig->start_us) / 1000);
        if (mig->status == MIG_COMPLETED)
            add_int(o, "downtime",
                    (mig->down_end_us - mig->down_start_us) / 1000);
        else
            add_int(o, "expected-downtime", (now - mig->start_us) / 1000);
    }
    if (mig->status == MIG_FAILED && mig->error)
        json_object_object_add(o, "error-desc",
                               json_object_new_string(mig->error));
    g_mutex_unlock(&mig->lock);
    return o;
}

/* ---- capabilities ------------------------------------------------------- */

bool migration_set_capabilities(struct migration *mig, json_object *caps,
                                GError **err)
{
    size_t n = json_object_array_length(caps);
    int events = -1;

    if (!mig_check_idle(mig, err))
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(caps, i), *name = NULL,
                    *state = NULL;

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
        if (strcmp(json_object_get_string(name), "events")) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "migration capability '%s' is not supported by "
                        "hotmem (it has: events)",
                        json_object_get_string(name));
            return false;
        }
        events = json_object_get_boolean(state);
    }
    if (events >= 0)
        g_atomic_int_set(&mig->events, events);
    return true;
}

json_object *migration_query_capabilities(struct migration *mig)
{
    json_object *list = json_object_new_array();
    json_object *c = json_object_new_object();

    json_object_object_add(c, "capability", json_object_new_string("events"));
    json_object_object_add(c, "state", json_object_new_boolean(
                               g_atomic_int_get(&mig->events)));
    json_object_array_add(list, c);
    return list;
}

void mig_job_begin(struct migration *mig, bool incoming)
{
    job_reset(mig, incoming);
}
