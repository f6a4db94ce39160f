/*
 * Migration I/O (ram_io.h): a file is written and read at offsets with
 * several chunks in flight; a stream (socket, pipe) has no offsets, so
 * its chunks go one at a time, in order. A stream transfer that makes no
 * progress for stall_ms fails instead of waiting for ever: the socket is
 * shut down, which ends whatever is in flight.
 */
#include "migration/ram_io.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

void mig_count(struct mig_file *f, size_t field, uint64_t n)
{
    if (f->counters)
        __atomic_add_fetch((uint64_t *)((char *)f->counters + field), n,
                           __ATOMIC_RELAXED);
}

static void set_io_error(struct mig_file *f, bool reading, int errnum,
                         GError **err)
{
    if (errnum == EAGAIN || errnum == ETIMEDOUT)
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "cannot %s '%s': no progress for %u ms (the peer "
                    "stopped %s)", reading ? "read" : "write", f->path,
                    f->stall_ms, reading ? "sending" : "reading");
    else
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "cannot %s '%s': %s",
                    reading ? "read" : "write", f->path,
                    g_strerror(errnum));
}

bool mig_file_init(struct mig_file *f, int fd, uint64_t offset,
                   const char *path, struct mig_counters *c, GError **err)
{
    struct stat st;
    int r;

    *f = (struct mig_file){ .fd = fd, .pos = offset, .path = path,
                            .counters = c, .stall_ms = 30000,
                            .pagemap = -1 };
    if (fstat(fd, &st) == 0 && (S_ISSOCK(st.st_mode) ||
                                S_ISFIFO(st.st_mode))) {
        f->stream = true;
        f->socket = S_ISSOCK(st.st_mode);
        f->pos = 0;
    }
    r = io_uring_queue_init(MIG_QUEUE_DEPTH * 2, &f->ring, 0);
    if (r < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "io_uring_queue_init failed: %s", g_strerror(-r));
        return false;
    }
    f->ring_ready = true;
    f->chunks = g_new0(struct mig_chunk, MIG_QUEUE_DEPTH);
    return true;
}

/* Skips what is already done in iov; false when nothing is left. */
static bool advance(struct iovec **iov, unsigned *niov, size_t done)
{
    while (*niov && done >= (*iov)->iov_len) {
        done -= (*iov)->iov_len;
        (*iov)++;
        (*niov)--;
    }
    if (!*niov)
        return false;
    (*iov)->iov_base = (uint8_t *)(*iov)->iov_base + done;
    (*iov)->iov_len -= done;
    return true;
}

/* One synchronous vectored transfer at off (file) or in order (stream). */
static ssize_t xfer(struct mig_file *f, bool reading, struct iovec *iov,
                    unsigned niov, uint64_t off)
{
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = niov };

    if (f->socket)
        return reading ? recvmsg(f->fd, &msg, MSG_WAITALL)
                       : sendmsg(f->fd, &msg, MSG_NOSIGNAL);
    if (f->stream)
        return reading ? readv(f->fd, iov, (int)niov)
                       : writev(f->fd, iov, (int)niov);
    return reading ? preadv(f->fd, iov, (int)niov, (off_t)off)
                   : pwritev(f->fd, iov, (int)niov, (off_t)off);
}

/*
 * Finishes a transfer of which done bytes are through. *errnum: 0 when
 * a read met the end of the stream.
 */
static bool xfer_all(struct mig_file *f, bool reading, struct iovec *iov,
                     unsigned niov, uint64_t off, size_t done, int *errnum)
{
    while (advance(&iov, &niov, done)) {
        ssize_t n;

        off += done;
        n = xfer(f, reading, iov, niov, off);
        if (n < 0 && errno == EINTR) {
            done = 0;
            continue;
        }
        if (n <= 0) {
            *errnum = n < 0 ? errno : reading ? 0 : ENOSPC;
            return false;
        }
        done = (size_t)n;
    }
    return true;
}

/* Waits for a completion, at most stall_ms on a stream. -errno. */
static int wait_cqe(struct mig_file *f, struct io_uring_cqe **cqe)
{
    struct __kernel_timespec ts = { .tv_sec = f->stall_ms / 1000,
                                    .tv_nsec = (f->stall_ms % 1000) *
                                               1000000LL };
    int r;

    if (!f->stream || !f->stall_ms)
        return io_uring_wait_cqe(&f->ring, cqe);
    do {
        r = io_uring_wait_cqe_timeout(&f->ring, cqe, &ts);
    } while (r == -EINTR);
    if (r != -ETIME)
        return r;
    /* Stalled: ending the connection ends the transfer in flight. */
    shutdown(f->fd, SHUT_RDWR);
    r = io_uring_wait_cqe(&f->ring, cqe);
    if (r == 0)
        (*cqe)->res = -ETIMEDOUT;
    return r;
}

/* Reaps one completion; a short transfer is finished synchronously. */
static bool reap_one(struct mig_file *f, GError **err)
{
    struct io_uring_cqe *cqe;
    struct mig_chunk *c;
    int r = wait_cqe(f, &cqe), errnum = 0;
    bool ok;

    if (r < 0) {
        set_io_error(f, false, -r, err);
        return false;
    }
    c = io_uring_cqe_get_data(cqe);
    r = cqe->res;
    io_uring_cqe_seen(&f->ring, cqe);
    c->busy = false;
    f->inflight--;
    if (r < 0) {
        set_io_error(f, c->reading, -r, err);
        return false;
    }
    if ((size_t)r == c->len)
        return true;
    if (r == 0 && c->reading)
        ok = false;     /* the end of the stream */
    else
        ok = xfer_all(f, c->reading, c->iov, c->niov, c->off, (size_t)r,
                      &errnum);
    if (!ok && c->reading && !errnum)
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "migration stream '%s' ends in the middle of guest RAM",
                    f->path);
    else if (!ok)
        set_io_error(f, c->reading, errnum, err);
    return ok;
}

bool mig_drain(struct mig_file *f, GError **err)
{
    bool ok = true;

    while (f->inflight) {
        GError *e = NULL;

        if (!reap_one(f, &e)) {
            if (ok)
                g_propagate_error(err, e);
            else
                g_error_free(e);
            ok = false;
        }
    }
    return ok;
}

void mig_file_release(struct mig_file *f)
{
    if (!f->ring_ready)
        return;
    mig_drain(f, NULL);
    if (f->pagemap >= 0)
        close(f->pagemap);
    f->pagemap = -1;
    io_uring_queue_exit(&f->ring);
    f->ring_ready = false;
    g_clear_pointer(&f->chunks, g_free);
}

bool mig_file_write(struct mig_file *f, const void *p, size_t len,
                    GError **err)
{
    struct iovec iov = { (void *)p, len };
    int errnum = 0;

    /* A stream keeps its order: what is in flight goes first. */
    if (f->stream && !mig_drain(f, err))
        return false;
    if (!xfer_all(f, false, &iov, 1, f->pos, 0, &errnum)) {
        set_io_error(f, false, errnum, err);
        return false;
    }
    f->pos += len;
    MIG_COUNT(f, transferred, len);
    return true;
}

bool mig_file_read(struct mig_file *f, void *p, size_t len, GError **err)
{
    struct iovec iov = { p, len };
    int errnum = 0;

    if (f->stream && !mig_drain(f, err))
        return false;
    if (!xfer_all(f, true, &iov, 1, f->pos, 0, &errnum)) {
        if (errnum)
            set_io_error(f, true, errnum, err);
        else
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "migration stream '%s' ends early (at byte %" PRIu64
                        ", before its \"end\" section)", f->path, f->pos);
        return false;
    }
    f->pos += len;
    MIG_COUNT(f, transferred, len);
    return true;
}

struct mig_chunk *mig_free_chunk(struct mig_file *f, GError **err)
{
    for (;;) {
        for (unsigned i = 0; i < MIG_QUEUE_DEPTH; i++) {
            /* A stream has one chunk in flight: its order is the wire's. */
            if (!f->chunks[i].busy && (!f->stream || !f->inflight))
                return &f->chunks[i];
        }
        if (!reap_one(f, err))
            return NULL;
    }
}

bool mig_submit(struct mig_file *f, struct mig_chunk *c, bool reading,
                GError **err)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
    int r;

    if (!sqe) {     /* never: the ring has room for every chunk */
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "io_uring queue full");
        return false;
    }
    c->reading = reading;
    if (f->socket) {
        /* MSG_WAITALL: the kernel retries short transfers itself. */
        c->msg = (struct msghdr){ .msg_iov = c->iov, .msg_iovlen = c->niov };
        if (reading)
            io_uring_prep_recvmsg(sqe, f->fd, &c->msg, MSG_WAITALL);
        else
            io_uring_prep_sendmsg(sqe, f->fd, &c->msg,
                                  MSG_WAITALL | MSG_NOSIGNAL);
    } else if (reading) {
        io_uring_prep_readv(sqe, f->fd, c->iov, c->niov,
                            f->stream ? (uint64_t)-1 : c->off);
    } else {
        io_uring_prep_writev(sqe, f->fd, c->iov, c->niov,
                             f->stream ? (uint64_t)-1 : c->off);
    }
    io_uring_sqe_set_data(sqe, c);
    r = io_uring_submit(&f->ring);
    if (r < 0) {
        set_io_error(f, reading, -r, err);
        return false;
    }
    c->busy = true;
    f->inflight++;
    return true;
}
