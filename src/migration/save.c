/*
 * Outgoing migration to a file (docs/migration.md): the guest is held
 * while the stream is written, so the file is the machine of one instant;
 * a guest that was running runs again once it is written, whether the
 * write succeeded or not.
 */
#include "migration/job.h"

#include <unistd.h>

#include "anon_pages.h"
#include "errors.h"
#include "machine/machine_cpr.h"
#include "migration/state.h"

static void blocks_from_snapshot(struct migration *mig)
{
    GArray *b = mig->snap.blocks;

    g_free(mig->blocks);
    mig->blocks = g_new0(struct mig_block, b->len + 1);
    mig->ram_total = 0;
    for (unsigned i = 0; i < b->len; i++) {
        const struct machine_ram_block *r =
            &g_array_index(b, struct machine_ram_block, i);

        mig->blocks[i] = (struct mig_block){ .size = r->size, .hva = r->hva,
                                             .fd = -1 };
        mig->blocks[i].fd = machine_ram_backing_fd(mig->m, r->hva, r->size,
                                                   &mig->blocks[i].fd_offset);
        mig->blocks[i].anon = mig->blocks[i].fd < 0 &&
                              anon_pages_private(r->hva, r->size);
        mig->ram_total += r->size;
    }
}

/* Fails the job before its thread exists; the machine goes on. */
static bool fail_early(struct migration *mig, int fd, bool begun,
                       GError **err)
{
    if (fd >= 0)
        close(fd);
    if (begun) {
        mig->down_end_us = g_get_monotonic_time();
        machine_migration_end(mig->m);
    }
    machine_snapshot_clear(&mig->snap);
    mig_uri_clear(&mig->uri);
    mig_fail(mig, *err);
    return false;
}

/* fd:NAME from the monitor's table (getfd). */
int mig_lookup_fd(struct migration *mig, const char *name, GError **err)
{
    if (!mig->fd_lookup) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "File descriptor named '%s' not found", name);
        return -1;
    }
    return mig->fd_lookup(mig->fd_lookup_opaque, name, err);
}

/*
 * Live: the configuration now, logging on, then the thread connects and
 * runs pre-copy (precopy.c). A failure before the thread leaves the
 * machine as it was.
 */
static bool start_live(struct migration *mig, GError **err)
{
    int fd = -1;

    if (mig->uri.kind == MIG_FD) {
        fd = mig_lookup_fd(mig, mig->uri.fd_name, err);
        if (fd < 0)
            return fail_early(mig, -1, false, err);
    }
    if (!machine_live_begin(mig->m, err))
        return fail_early(mig, fd, false, err);
    machine_snapshot_take_config(mig->m, &mig->snap);
    blocks_from_snapshot(mig);
    mig->live = true;
    mig_set_fd(mig, fd);
    g_atomic_int_set(&mig->cancel, 0);
    if (!mig_start_thread(mig, err)) {
        machine_live_abort(mig->m);
        mig_set_fd(mig, -1);
        return fail_early(mig, fd, false, err);
    }
    return true;
}

bool migration_start(struct migration *mig, const char *uri,
                     json_object *channels, GError **err)
{
    struct mig_uri target;
    int fd;

    if (!mig_check_idle(mig, err) ||
        !mig_parse_target(uri, channels, &target, err))
        return false;
    if (machine_cpr_handed_over(mig->m)) {
        mig_uri_clear(&target);
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "the guest was handed "
                    "over to another hotmem (cpr-transfer): migrate it "
                    "from there");
        return false;
    }
    mig_job_begin(mig, false);
    mig_set_status(mig, MIG_SETUP);
    mig->uri = target;
    machine_snapshot_init(&mig->snap);
    if (g_atomic_int_get(&mig->mode) == MIG_MODE_CPR_TRANSFER)
        return mig_cpr_start(mig, err);
    if (mig_uri_is_stream(&mig->uri))
        return start_live(mig, err);
    fd = mig_open(&mig->uri, true, err);
    if (fd < 0)
        return fail_early(mig, fd, false, err);
    if (!machine_migration_begin(mig->m, err))
        return fail_early(mig, fd, false, err);
    mig->down_start_us = g_get_monotonic_time();
    if (!machine_snapshot_take(mig->m, &mig->snap, err))
        return fail_early(mig, fd, true, err);
    blocks_from_snapshot(mig);
    mig->fd = fd;
    g_atomic_int_set(&mig->cancel, 0);
    if (!mig_start_thread(mig, err)) {
        mig->fd = -1;
        return fail_early(mig, fd, true, err);
    }
    return true;
}

bool mig_save_stream(struct migration *mig, GError **err)
{
    struct mig_file f;
    uint8_t header[MIG_HEADER_SIZE];
    g_autoptr(GByteArray) b = g_byte_array_new();
    bool ok;

    if (!mig_file_init(&f, mig->fd, mig->uri.offset, mig_uri_name(&mig->uri),
                       &mig->counters, err))
        return false;
    mig_header_encode(header);
    mig_state_put_config(b, &mig->snap);
    ok = mig_file_write(&f, header, sizeof(header), err) &&
         mig_file_write(&f, b->data, b->len, err) &&
         mig_ram_save(&f, mig->blocks, mig->snap.blocks->len, &mig->cancel,
                      err);
    if (ok) {
        g_byte_array_set_size(b, 0);
        mig_state_put_devices(b, &mig->snap);
        ok = mig_file_write(&f, b->data, b->len, err);
    }
    mig_file_release(&f);
    return ok;
}

void mig_save_finish(struct migration *mig, GError *err)
{
    g_mutex_lock(&mig->lock);
    mig->down_end_us = g_get_monotonic_time();
    g_mutex_unlock(&mig->lock);
    if (g_atomic_int_get(&mig->cancel))
        mig_set_status(mig, MIG_CANCELLED);
    else if (err)
        mig_fail(mig, err);
    else
        mig_set_status(mig, MIG_COMPLETED);
    machine_migration_end(mig->m);
}
