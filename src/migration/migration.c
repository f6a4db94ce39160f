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
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "machine/machine_migrate.h"

static const char *const status_names[] = {
    [MIG_NONE] = "none", [MIG_SETUP] = "setup", [MIG_ACTIVE] = "active",
    [MIG_COMPLETED] = "completed", [MIG_FAILED] = "failed",
    [MIG_CANCELLING] = "cancelling", [MIG_CANCELLED] = "cancelled",
    [MIG_DEVICE] = "device",
};

struct migration *migration_new(struct machine *m)
{
    struct migration *mig = g_new0(struct migration, 1);

    mig->m = m;
    mig->ctx = g_main_context_ref_thread_default();
    mig->fd = -1;
    mig->listen_fd = -1;
    mig->reply_fd = -1;
    mig->downtime_limit_ms = MIG_DEFAULT_DOWNTIME_MS;
    mig->max_bandwidth = MIG_DEFAULT_BANDWIDTH;
    mig->stall_ms = MIG_DEFAULT_STALL_MS;
    mig->throttle = (struct mig_throttle_params){
        .threshold = MIG_DEFAULT_THROTTLE_THRESHOLD,
        .initial = MIG_DEFAULT_THROTTLE_INITIAL,
        .increment = MIG_DEFAULT_THROTTLE_INCREMENT,
        .max = MIG_DEFAULT_MAX_THROTTLE };
    g_mutex_init(&mig->lock);
    g_cond_init(&mig->switch_cond);
    return mig;
}

void migration_set_fd_lookup(struct migration *mig, migration_fd_fn fn,
                             void *opaque)
{
    mig->fd_lookup = fn;
    mig->fd_lookup_opaque = opaque;
}

static bool is_final(enum mig_status st)
{
    return st == MIG_COMPLETED || st == MIG_FAILED || st == MIG_CANCELLED;
}

/* Sets the status (any thread) and sends MIGRATION when asked for. */
void mig_set_status(struct migration *mig, enum mig_status st)
{
    g_mutex_lock(&mig->lock);
    /* Once cancelling, only the end may follow. */
    if (mig->status == MIG_CANCELLING && !is_final(st)) {
        g_mutex_unlock(&mig->lock);
        return;
    }
    mig->status = st;
    if (st == MIG_ACTIVE)
        mig->setup_end_us = g_get_monotonic_time();
    if (is_final(st))
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
    memset(&mig->pc, 0, sizeof(mig->pc));
    mig->live = false;
    mig->cpr = false;
    g_mutex_unlock(&mig->lock);
}

void mig_set_fd(struct migration *mig, int fd)
{
    g_mutex_lock(&mig->lock);
    mig->fd = fd;
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
    if (mig->listen_fd >= 0) {
        close(mig->listen_fd);
        mig->listen_fd = -1;
    }
    if (mig->fd >= 0 && close(mig->fd) < 0 && !err && !mig->incoming &&
        !mig->live)
        g_set_error(&err, HM_ERROR, HM_ERROR_IO, "cannot write '%s': %s",
                    mig_uri_name(&mig->uri), g_strerror(errno));
    mig_set_fd(mig, -1);
    if (mig->cpr && !mig->incoming)
        mig_cpr_finish(mig, err);
    else if (mig->live && !mig->incoming)
        mig_precopy_finish(mig, err);
    else if (mig->incoming)
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

    /* A live source is active once connected (precopy.c). */
    if (mig->incoming || !mig->live)
        mig_set_status(mig, MIG_ACTIVE);
    if (mig->incoming)
        ok = mig_load_stream(mig, &mig->job_err);
    else if (mig->cpr)
        ok = mig_cpr_stream(mig, &mig->job_err);
    else if (mig->live)
        ok = mig_precopy_stream(mig, &mig->job_err);
    else
        ok = mig_save_stream(mig, &mig->job_err);
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
        g_mutex_lock(&mig->lock);
        if (mig->fd >= 0)
            shutdown(mig->fd, SHUT_RDWR);
        g_mutex_unlock(&mig->lock);
        g_thread_join(g_steal_pointer(&mig->thread));
        if (mig->finish) {
            g_source_destroy(mig->finish);
            g_source_unref(mig->finish);
        }
        g_clear_error(&mig->job_err);
        if (mig->fd >= 0)
            close(mig->fd);
    }
    if (mig->switch_src) {
        g_source_destroy(mig->switch_src);
        g_source_unref(mig->switch_src);
    }
    g_clear_error(&mig->switch_err);
    mig_cpr_clear(mig);
    mig_reply_close(mig);
    if (mig->listen_fd >= 0)
        close(mig->listen_fd);
    machine_snapshot_clear(&mig->snap);
    mig_uri_clear(&mig->uri);
    g_free(mig->error);
    g_free(mig->blocks);
    if (mig->backings)
        g_array_unref(mig->backings);
    g_main_context_unref(mig->ctx);
    g_mutex_clear(&mig->lock);
    g_cond_clear(&mig->switch_cond);
    g_free(mig);
}

void mig_job_begin(struct migration *mig, bool incoming)
{
    job_reset(mig, incoming);
}

void migration_cancel(struct migration *mig)
{
    enum mig_status st;

    g_mutex_lock(&mig->lock);
    st = mig->status;
    g_mutex_unlock(&mig->lock);
    /* Only an outgoing job that is still going: else nothing to do, and
     * QEMU does not call that an error either. */
    if (!mig->thread || mig->incoming || is_final(st) ||
        st == MIG_CANCELLING)
        return;
    g_atomic_int_set(&mig->cancel, 1);
    mig_set_status(mig, MIG_CANCELLING);
    /* Whatever the thread waits for on the socket ends now. */
    g_mutex_lock(&mig->lock);
    if (mig->fd >= 0 && mig->live)
        shutdown(mig->fd, SHUT_RDWR);
    g_mutex_unlock(&mig->lock);
}
