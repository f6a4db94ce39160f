/*
 * cpr-transfer (docs/migration.md, "Local live update"): a new hotmem on
 * the same host takes the machine over, its guest RAM handed over as the
 * descriptors of the memory backends (SCM_RIGHTS on the unix socket of
 * the stream) instead of copied, so the time the guest is stopped does
 * not grow with its RAM. QEMU's name for the mode (MigMode); QEMU 10
 * sends the descriptors on a second "cpr" channel before the destination
 * creates its backends, hotmem on the stream's own socket, the
 * destination mapping them over the memory its backends made.
 *
 * Source: every RAM block must be a shared backend's (checked before
 * anything stops); the guest stops, then the stream: header, "machine"
 * and "dimm", one "ramfd" section per block whose body carries the
 * descriptor, the devices and vCPUs, "end". No "ram" section. Then the
 * source waits for the destination's answer on the return path (reply.c),
 * sent once the destination holds the memory and the state and before
 * its guest runs: with it the source ends "postmigrate"; without it (the
 * destination refused, or went away) the source's guest runs on, so the
 * guest never runs in both.
 */
#include "migration/job.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "machine/machine_cpr.h"
#include "migration/ram_io.h"
#include "migration/state.h"
#include "migration/transport.h"

#define STALL_MS        30000
#define MAX_FD_BODY     4096u

static const char *const mode_names[] = {
    [MIG_MODE_NORMAL] = "normal", [MIG_MODE_CPR_TRANSFER] = "cpr-transfer",
};

const char *mig_cpr_mode_name(gint mode)
{
    return mode_names[mode];
}

bool mig_cpr_parse_mode(json_object *params, gint *mode, GError **err)
{
    json_object *v = NULL;
    const char *name;

    if (!json_object_object_get_ex(params, "mode", &v))
        return true;
    if (!json_object_is_type(v, json_type_string)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Invalid parameter type for 'mode', expected: string");
        return false;
    }
    name = json_object_get_string(v);
    for (gint i = 0; i < (gint)G_N_ELEMENTS(mode_names); i++) {
        if (!strcmp(name, mode_names[i])) {
            *mode = i;
            return true;
        }
    }
    /* QEMU's other modes, named; anything else as QAPI refuses it. */
    if (!strcmp(name, "cpr-reboot") || !strcmp(name, "cpr-exec"))
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "migration mode '%s' is not supported by hotmem (it "
                    "has: normal, cpr-transfer)", name);
    else
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Parameter 'mode' does not accept value '%s'", name);
    return false;
}

void mig_cpr_clear(struct migration *mig)
{
    /* A source's descriptors are its backends'; only the destination's
     * (received, not yet taken) are closed. */
    for (unsigned i = 0; mig->incoming && i < mig->cpr_nr; i++) {
        if (mig->cpr_fds[i] >= 0)
            close(mig->cpr_fds[i]);
    }
    g_clear_pointer(&mig->cpr_fds, g_free);
    g_clear_pointer(&mig->cpr_offsets, g_free);
    mig->cpr_nr = 0;
}

static void alloc_fds(struct migration *mig, unsigned n)
{
    mig_cpr_clear(mig);
    mig->cpr_nr = n;
    mig->cpr_fds = g_new(int, n + 1);
    mig->cpr_offsets = g_new0(uint64_t, n + 1);
    for (unsigned i = 0; i < n; i++)
        mig->cpr_fds[i] = -1;
}

/* Every block's descriptor, or the first block that has none. */
static bool block_fds(struct migration *mig, GArray *blocks, GError **err)
{
    alloc_fds(mig, blocks->len);
    mig->ram_total = 0;
    for (unsigned i = 0; i < blocks->len; i++) {
        const struct machine_ram_block *b =
            &g_array_index(blocks, struct machine_ram_block, i);

        if (!machine_cpr_block_fd(mig->m, b, &mig->cpr_fds[i],
                                  &mig->cpr_offsets[i], err))
            return false;
        mig->ram_total += b->size;
    }
    return true;
}

/* Before the thread: the machine goes on as it was. */
static bool fail_start(struct migration *mig, bool stopped, GError **err)
{
    if (stopped)
        machine_migration_end(mig->m);
    mig_cpr_clear(mig);
    machine_snapshot_clear(&mig->snap);
    mig_uri_clear(&mig->uri);
    mig_fail(mig, *err);
    return false;
}

bool mig_cpr_start(struct migration *mig, GError **err)
{
    struct machine_snapshot config;
    bool ok;

    if (mig->uri.kind != MIG_UNIX) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "migration mode cpr-transfer hands guest memory over as "
                    "file descriptors, which need a unix: socket, not '%s'",
                    mig->uri.desc);
        return fail_start(mig, false, err);
    }
    /* Checked while the guest runs: a refusal leaves it running. */
    machine_snapshot_init(&config);
    machine_snapshot_take_config(mig->m, &config);
    ok = block_fds(mig, config.blocks, err);
    machine_snapshot_clear(&config);
    if (!ok || !machine_migration_begin(mig->m, err))
        return fail_start(mig, false, err);
    mig->down_start_us = g_get_monotonic_time();
    if (!machine_snapshot_take(mig->m, &mig->snap, err) ||
        !block_fds(mig, mig->snap.blocks, err))
        return fail_start(mig, true, err);
    mig->cpr = true;
    g_atomic_int_set(&mig->cancel, 0);
    if (!mig_start_thread(mig, err))
        return fail_start(mig, true, err);
    return true;
}

/* One "ramfd" section: its header, then the body with the descriptor. */
static bool send_block_fd(struct migration *mig, struct mig_file *f,
                          unsigned i, GError **err)
{
    const struct machine_ram_block *b =
        &g_array_index(mig->snap.blocks, struct machine_ram_block, i);
    g_autoptr(GByteArray) body = g_byte_array_new();
    uint8_t header[MIG_SECTION_SIZE];
    char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
    struct iovec iov;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = cbuf,
                          .msg_controllen = sizeof(cbuf) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    size_t done = 0;

    mig_put_u64(body, mig->cpr_offsets[i]);
    mig_put_u64(body, b->size);
    mig_put_str(body, b->name);
    mig_section_encode(header, "ramfd", 1, i, body->len);
    if (!mig_file_write(f, header, sizeof(header), err))
        return false;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &mig->cpr_fds[i], sizeof(int));
    while (done < body->len) {
        ssize_t n;

        iov = (struct iovec){ body->data + done, body->len - done };
        n = sendmsg(f->fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_IO, "cannot write '%s': %s",
                        f->path, g_strerror(errno));
            return false;
        }
        /* The descriptor goes with the first bytes only. */
        msg.msg_control = NULL;
        msg.msg_controllen = 0;
        done += (size_t)n;
    }
    f->pos += body->len;
    MIG_COUNT(f, transferred, body->len);
    return true;
}

bool mig_cpr_stream(struct migration *mig, GError **err)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t header[MIG_HEADER_SIZE];
    struct mig_file f;
    int fd = mig_transport_connect(&mig->uri, MIG_CONNECT_TIMEOUT_MS,
                                   &mig->cancel, err);
    bool ok;

    if (fd < 0)
        return false;
    mig_set_fd(mig, fd);
    mig_transport_set_stall(fd, STALL_MS);
    if (!mig_file_init(&f, fd, 0, mig_uri_name(&mig->uri), &mig->counters,
                       err))
        return false;
    f.stall_ms = STALL_MS;
    mig_header_encode(header);
    mig_state_put_config(b, &mig->snap);
    ok = mig_file_write(&f, header, sizeof(header), err) &&
         mig_file_write(&f, b->data, b->len, err);
    for (unsigned i = 0; ok && i < mig->snap.blocks->len; i++)
        ok = send_block_fd(mig, &f, i, err);
    if (ok) {
        g_byte_array_set_size(b, 0);
        mig_state_put_devices(b, &mig->snap);
        ok = mig_file_write(&f, b->data, b->len, err);
    }
    mig_file_release(&f);
    return mig_reply_await(mig, fd, ok, err);
}

void mig_cpr_finish(struct migration *mig, GError *err)
{
    g_mutex_lock(&mig->lock);
    mig->down_end_us = g_get_monotonic_time();
    g_mutex_unlock(&mig->lock);
    mig_cpr_clear(mig);
    if (err) {
        if (g_atomic_int_get(&mig->cancel))
            mig_set_status(mig, MIG_CANCELLED);
        else
            mig_fail(mig, err);
        machine_migration_end(mig->m);      /* runs on, RESUME */
        return;
    }
    /* QEMU's order: the status, then the source stays stopped. */
    mig_set_status(mig, MIG_COMPLETED);
    machine_cpr_set_handed_over(mig->m);
    machine_migration_complete(mig->m);
}

/* ---- destination ------------------------------------------------------- */

/* The body, and the one descriptor that came with it (or -1). */
static bool recv_body(struct mig_file *f, uint8_t *body, size_t len,
                      int *fd_out, GError **err)
{
    size_t done = 0;

    *fd_out = -1;
    while (done < len) {
        char cbuf[CMSG_SPACE(sizeof(int) * 4)];
        struct iovec iov = { body + done, len - done };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                              .msg_control = cbuf,
                              .msg_controllen = sizeof(cbuf) };
        ssize_t n = recvmsg(f->fd, &msg, MSG_CMSG_CLOEXEC);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_IO,
                        n ? "cannot read '%s': %s"
                          : "migration stream '%s' ends early%s", f->path,
                        n ? g_strerror(errno) : " (in a \"ramfd\" section)");
            return false;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
             c = CMSG_NXTHDR(&msg, c)) {
            size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

            for (size_t k = 0; c->cmsg_level == SOL_SOCKET &&
                               c->cmsg_type == SCM_RIGHTS && k < nfd; k++) {
                int got;

                memcpy(&got, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
                if (*fd_out < 0)
                    *fd_out = got;
                else
                    close(got);     /* one per section; extras dropped */
            }
        }
        done += (size_t)n;
    }
    f->pos += len;
    MIG_COUNT(f, transferred, len);
    return true;
}

bool mig_cpr_load_fd(struct migration *mig, struct mig_file *f,
                     const struct mig_section *sec, GError **err)
{
    unsigned nr = mig->snap.blocks->len;
    g_autofree uint8_t *body = NULL;
    g_autofree char *name = NULL;
    struct mig_reader r;
    uint64_t offset, size;
    int fd;

    if (!f->socket || sec->version != 1 || sec->instance >= nr ||
        sec->length > MAX_FD_BODY) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    !f->socket ? "a \"ramfd\" section can only come over a "
                                 "unix: socket"
                    : sec->version != 1
                        ? "migration stream section 'ramfd' has version %u; "
                          "this hotmem reads versions 1 to 1"
                        : "corrupt migration stream: section 'ramfd' names "
                          "RAM block %u of %u", sec->version == 1
                                                   ? sec->instance
                                                   : sec->version, nr);
        return false;
    }
    if (!mig->cpr_fds)
        alloc_fds(mig, nr);
    body = g_malloc(sec->length + 1);
    if (!recv_body(f, body, sec->length, &fd, err))
        return false;
    if (fd < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "RAM block %u came without its file descriptor (is the "
                    "source's socket a unix: one?)", sec->instance);
        return false;
    }
    if (mig->cpr_fds[sec->instance] >= 0)
        close(mig->cpr_fds[sec->instance]);
    mig->cpr_fds[sec->instance] = fd;
    mig_reader_init(&r, body, sec->length, "ramfd");
    offset = mig_get_u64(&r);
    size = mig_get_u64(&r);
    name = mig_get_str(&r);
    if (!mig_reader_done(&r, err))
        return false;
    mig->cpr_offsets[sec->instance] = offset;
    if (size != mig->blocks[sec->instance].size) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "RAM block '%s' is handed over with size 0x%" PRIx64
                    ", but the stream's block %u has size 0x%" PRIx64,
                    name ? name : "?", size, sec->instance,
                    mig->blocks[sec->instance].size);
        return false;
    }
    return true;
}

bool mig_cpr_adopt(struct migration *mig, GError **err)
{
    if (!mig->cpr_fds)
        return true;
    for (unsigned i = 0; i < mig->cpr_nr; i++) {
        const struct machine_ram_block *b =
            &g_array_index(mig->snap.blocks, struct machine_ram_block, i);
        int fd = mig->cpr_fds[i];

        if (fd < 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "RAM block '%s' was not handed over: the stream "
                        "has no \"ramfd\" section for it", b->name);
            return false;
        }
        mig->cpr_fds[i] = -1;       /* the backend's now, or closed */
        if (!machine_cpr_adopt(mig->m, b->name, mig->blocks[i].hva,
                               b->size, fd, mig->cpr_offsets[i], err))
            return false;
    }
    return true;
}
