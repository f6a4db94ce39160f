/*
 * Incoming migration from a file (docs/migration.md). The stream's
 * configuration and DIMMs are checked against this machine before any
 * guest RAM is written; RAM goes straight into guest memory; the devices
 * and vCPUs are put back on the main loop, then the guest runs (or stays
 * paused) as QEMU's destination decides.
 */
#include "migration/job.h"

#include <inttypes.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "anon_pages.h"
#include "errors.h"
#include "machine/machine_cpr.h"
#include "migration/state.h"
#include "migration/transport.h"

#define MAX_SECTION     (64u << 20)

/*
 * fd:N, a descriptor this process inherited (as QEMU's -incoming fd:N),
 * or fd:NAME, one given to the monitor with getfd.
 */
static int incoming_fd(struct migration *mig, const char *name,
                       GError **err)
{
    char *end = NULL;
    guint64 n = g_ascii_strtoull(name, &end, 10);

    if (!g_ascii_isdigit(*name) || *end)
        return mig_lookup_fd(mig, name, err);
    if (n > INT32_MAX || fcntl((int)n, F_GETFD) < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "fd:%s: this process has no descriptor %s", name, name);
        return -1;
    }
    fcntl((int)n, F_SETFD, FD_CLOEXEC);
    return (int)n;
}

/* The file, the inherited or passed fd, or a listening socket. */
static int open_source(struct migration *mig, const struct mig_uri *u,
                       GError **err)
{
    if (u->kind == MIG_FILE)
        return mig_open(u, false, err);
    if (u->kind == MIG_FD)
        return incoming_fd(mig, u->fd_name, err);
    mig->listen_fd = mig_transport_listen(u, err);
    return mig->listen_fd < 0 ? -1 : -2;    /* -2: accepted later */
}

static bool start_incoming(struct migration *mig, const char *uri,
                           json_object *channels, GError **err)
{
    struct mig_uri source;
    int fd;

    if (!mig_parse_target(uri, channels, &source, err))
        return false;
    mig_job_begin(mig, true);
    mig_set_status(mig, MIG_SETUP);
    fd = open_source(mig, &source, err);
    if (fd == -1) {
        mig_uri_clear(&source);
        mig_fail(mig, *err);
        return false;
    }
    mig->uri = source;
    /* The files behind this machine's RAM, for the thread (ram.c). */
    g_clear_pointer(&mig->backings, g_array_unref);
    mig->backings = machine_ram_backings(mig->m);
    mig_set_fd(mig, MAX(fd, -1));
    mig->deferred = false;
    machine_snapshot_init(&mig->snap);
    g_atomic_int_set(&mig->cancel, 0);
    if (!mig_start_thread(mig, err)) {
        if (fd >= 0)
            close(fd);
        mig_set_fd(mig, -1);
        if (mig->listen_fd >= 0)
            close(mig->listen_fd);
        mig->listen_fd = -1;
        mig_uri_clear(&mig->uri);
        machine_snapshot_clear(&mig->snap);
        mig_fail(mig, *err);
        mig->deferred = true;
        return false;
    }
    return true;
}

bool migration_incoming_cli(struct migration *mig, const char *uri,
                            bool autostart, GError **err)
{
    mig->autostart = autostart;
    mig->exit_on_error = true;
    if (!machine_incoming_begin(mig->m, autostart, err))
        return false;
    if (!strcmp(uri, "defer")) {
        mig->deferred = true;
        return true;
    }
    return start_incoming(mig, uri, NULL, err);
}

bool migration_incoming(struct migration *mig, const char *uri,
                        json_object *channels, bool exit_on_error,
                        GError **err)
{
    if (!mig->deferred) {
        /* QEMU's words for both cases. */
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    mig->incoming && mig->status != MIG_NONE
                        ? "The incoming migration has already been started"
                        : "'-incoming' was not specified on the command "
                          "line");
        return false;
    }
    mig->exit_on_error = exit_on_error;
    if (!machine_migration_active(mig->m) &&
        !machine_incoming_begin(mig->m, mig->autostart, err))
        return false;
    return start_incoming(mig, uri, channels, err);
}

/* This machine's file behind hva, from what the main loop found. */
static int backing_of(struct migration *mig, const void *hva, uint64_t size,
                      uint64_t *offset)
{
    for (unsigned i = 0; mig->backings && i < mig->backings->len; i++) {
        const struct machine_ram_backing *b =
            &g_array_index(mig->backings, struct machine_ram_backing, i);

        if (b->hva == hva && b->size == size) {
            *offset = b->offset;
            return b->fd;
        }
    }
    return -1;
}

/* The blocks of the stream, at this machine's addresses (checked). */
static bool check_machine(struct migration *mig, bool have_config,
                          GError **err)
{
    g_autofree void **hva = NULL;
    GArray *b = mig->snap.blocks;

    if (!have_config) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "migration stream '%s' has no \"machine\" section "
                    "before its state", mig_uri_name(&mig->uri));
        return false;
    }
    if (!machine_snapshot_check(mig->m, &mig->snap, &hva, err))
        return false;
    g_free(mig->blocks);
    mig->blocks = g_new0(struct mig_block, b->len + 1);
    g_mutex_lock(&mig->lock);
    mig->ram_total = 0;
    for (unsigned i = 0; i < b->len; i++) {
        struct mig_block *mb = &mig->blocks[i];

        mb->size = g_array_index(b, struct machine_ram_block, i).size;
        mb->hva = hva[i];
        mb->fd = backing_of(mig, hva[i], mb->size, &mb->fd_offset);
        mb->anon = mb->fd < 0 && anon_pages_private(mb->hva,
                                                             mb->size);
        mig->ram_total += mb->size;
    }
    g_mutex_unlock(&mig->lock);
    return true;
}

static bool read_section(struct migration *mig, struct mig_file *f,
                         const struct mig_section *sec, GError **err)
{
    g_autofree uint8_t *body = NULL;

    if (sec->length > MAX_SECTION) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "corrupt migration stream '%s': section '%s' claims %"
                    PRIu64 " bytes", mig_uri_name(&mig->uri), sec->id, sec->length);
        return false;
    }
    body = g_malloc(sec->length + 1);
    return mig_file_read(f, body, sec->length, err) &&
           mig_state_get_section(sec, body, &mig->snap, err);
}

static bool walk_sections(struct migration *mig, struct mig_file *f,
                          GError **err)
{
    bool have_config = false, checked = false;

    for (;;) {
        uint8_t raw[MIG_SECTION_SIZE];
        struct mig_section sec;
        bool config;

        if (g_atomic_int_get(&mig->cancel)) {
            g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                        "cancelled: hotmem is shutting down");
            return false;
        }
        if (!mig_file_read(f, raw, sizeof(raw), err) ||
            !mig_section_decode(raw, &sec, err))
            return false;
        config = !strcmp(sec.id, "machine") || !strcmp(sec.id, "dimm");
        if (!strcmp(sec.id, "machine") && have_config) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "corrupt migration stream: two \"machine\" sections");
            return false;
        }
        /* Nothing is written into the guest before the check. */
        if (!config && !checked) {
            if (!check_machine(mig, have_config, err))
                return false;
            checked = true;
        }
        if (!strcmp(sec.id, "end"))
            return true;
        if (!strcmp(sec.id, "ramfd")) {
            if (!mig_cpr_load_fd(mig, f, &sec, err))
                return false;
            continue;
        }
        if (!strcmp(sec.id, "ram")) {
            if (!mig_ram_load(f, &sec, mig->blocks, mig->snap.blocks->len,
                              err))
                return false;
            continue;
        }
        if (!read_section(mig, f, &sec, err))
            return false;
        have_config |= !strcmp(sec.id, "machine");
    }
}

bool mig_load_stream(struct migration *mig, GError **err)
{
    struct mig_file f;
    uint8_t header[MIG_HEADER_SIZE];
    bool ok;

    if (mig->listen_fd >= 0) {
        int fd = mig_transport_accept(mig->listen_fd, &mig->uri,
                                      &mig->cancel, err);

        if (fd < 0)
            return false;
        mig_set_fd(mig, fd);
    }
    /* The return path: the source hears how this ends (reply.c). */
    mig_reply_open(mig, mig->fd);
    if (!mig_file_init(&f, mig->fd, mig->uri.offset, mig_uri_name(&mig->uri),
                       &mig->counters, err))
        return false;
    /* A destination waits for its source as long as it takes (QEMU's
     * does too); a source that goes away ends the stream. */
    f.stall_ms = 0;
    ok = mig_file_read(&f, header, sizeof(header), err) &&
         mig_header_decode(header, err) && walk_sections(mig, &f, err);
    if (ok)
        ok = mig_ram_load_wait(&f, err);
    mig_file_release(&f);
    if (!ok) {
        mig_reply_refuse(mig, (*err)->message);
        g_prefix_error(err, "cannot restore from '%s': ",
                       mig_uri_name(&mig->uri));
    }
    return ok;
}

void mig_load_finish(struct migration *mig, GError *err)
{
    g_autoptr(GError) apply = NULL;

    /* cpr-transfer: the source's memory first; the answer last, so the
     * guest never runs on both sides (reply.c). */
    if (!err && (!mig_cpr_adopt(mig, &apply) ||
                 !machine_snapshot_apply(mig->m, &mig->snap, &apply) ||
                 !mig_reply_ok(mig, &apply)))
        err = apply;
    if (err)
        mig_reply_refuse(mig, err->message);
    mig_cpr_clear(mig);
    if (err) {
        g_autofree char *why = g_strdup_printf("incoming migration failed: "
                                               "%s", err->message);

        machine_incoming_end(mig->m, false, MACHINE_PAUSED);
        mig_fail(mig, err);
        mig->deferred = true;       /* migrate-incoming may try again */
        if (mig->exit_on_error)
            machine_request_exit(mig->m, 1, false, NULL, why);
        return;
    }
    /* The guest's new state first, then the event (QEMU's order). */
    machine_incoming_end(mig->m, true, mig->snap.run_state);
    mig_set_status(mig, MIG_COMPLETED);
}
