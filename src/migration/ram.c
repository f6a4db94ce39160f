/*
 * Guest RAM in the stream (ram.h). A "ram" section's body: offset in the
 * block (u64), page count (u32), page size (u32, 4096), a bitmap with one
 * bit per page (set: its 4 KiB follow), then the data pages in order. A
 * page of zeros costs one bit.
 */
#include "migration/ram.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "errors.h"

#define CHUNK_HEAD      16u
#define BITMAP_BYTES    (MIG_CHUNK_PAGES / 8)
#define MAX_IOV         (1 + MIG_CHUNK_PAGES)

struct mig_chunk {
    uint8_t head[MIG_SECTION_SIZE + CHUNK_HEAD + BITMAP_BYTES];
    struct iovec iov[MAX_IOV];
    unsigned niov;
    uint64_t off;           /* in the file */
    size_t len;
    bool busy, reading;
};

static void counters_add(struct mig_file *f, size_t field, uint64_t n)
{
    if (f->counters)
        __atomic_add_fetch((uint64_t *)((char *)f->counters + field), n,
                           __ATOMIC_RELAXED);
}
#define COUNT(f, name, n) \
    counters_add((f), offsetof(struct mig_counters, name), (n))

static void set_io_error(struct mig_file *f, bool reading, int errnum,
                         GError **err)
{
    g_set_error(err, HM_ERROR, HM_ERROR_IO, "cannot %s '%s': %s",
                reading ? "read" : "write", f->path, g_strerror(errnum));
}

bool mig_file_init(struct mig_file *f, int fd, uint64_t offset,
                   const char *path, struct mig_counters *c, GError **err)
{
    int r;

    *f = (struct mig_file){ .fd = fd, .pos = offset, .path = path,
                            .counters = c };
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

static bool pwritev_all(int fd, struct iovec *iov, unsigned niov,
                        uint64_t off, size_t done, int *errnum)
{
    /* Skip what is already written, then loop until the rest is. */
    while (niov) {
        ssize_t n;

        while (niov && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            niov--;
        }
        if (!niov)
            break;
        iov->iov_base = (uint8_t *)iov->iov_base + done;
        iov->iov_len -= done;
        off += done;
        done = 0;
        n = pwritev(fd, iov, (int)niov, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *errnum = n < 0 ? errno : ENOSPC;
            return false;
        }
        done = (size_t)n;
    }
    return true;
}

static bool preadv_all(int fd, struct iovec *iov, unsigned niov,
                       uint64_t off, size_t done, int *errnum)
{
    while (niov) {
        ssize_t n;

        while (niov && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            niov--;
        }
        if (!niov)
            break;
        iov->iov_base = (uint8_t *)iov->iov_base + done;
        iov->iov_len -= done;
        off += done;
        done = 0;
        n = preadv(fd, iov, (int)niov, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *errnum = n < 0 ? errno : 0;    /* 0: the file ended */
            return false;
        }
        done = (size_t)n;
    }
    return true;
}

/* Reaps one completion; a short transfer is finished synchronously. */
static bool reap_one(struct mig_file *f, GError **err)
{
    struct io_uring_cqe *cqe;
    struct mig_chunk *c;
    int r = io_uring_wait_cqe(&f->ring, &cqe), errnum = 0;
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
    ok = c->reading ? preadv_all(f->fd, c->iov, c->niov, c->off, (size_t)r,
                                 &errnum)
                    : pwritev_all(f->fd, c->iov, c->niov, c->off, (size_t)r,
                                  &errnum);
    if (!ok && c->reading && !errnum)
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "migration stream '%s' ends in the middle of guest RAM",
                    f->path);
    else if (!ok)
        set_io_error(f, c->reading, errnum, err);
    return ok;
}

static bool drain(struct mig_file *f, GError **err)
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
    drain(f, NULL);
    io_uring_queue_exit(&f->ring);
    f->ring_ready = false;
    g_clear_pointer(&f->chunks, g_free);
}

bool mig_file_write(struct mig_file *f, const void *p, size_t len,
                    GError **err)
{
    struct iovec iov = { (void *)p, len };
    int errnum = 0;

    if (!pwritev_all(f->fd, &iov, 1, f->pos, 0, &errnum)) {
        set_io_error(f, false, errnum, err);
        return false;
    }
    f->pos += len;
    COUNT(f, transferred, len);
    return true;
}

bool mig_file_read(struct mig_file *f, void *p, size_t len, GError **err)
{
    struct iovec iov = { p, len };
    int errnum = 0;

    if (!preadv_all(f->fd, &iov, 1, f->pos, 0, &errnum)) {
        if (errnum)
            set_io_error(f, true, errnum, err);
        else
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "migration stream '%s' ends early (at byte %" PRIu64
                        ", before its \"end\" section)", f->path, f->pos);
        return false;
    }
    f->pos += len;
    COUNT(f, transferred, len);
    return true;
}

/* A free chunk, waiting for one to complete when all are in flight. */
static struct mig_chunk *free_chunk(struct mig_file *f, GError **err)
{
    for (;;) {
        for (unsigned i = 0; i < MIG_QUEUE_DEPTH; i++) {
            if (!f->chunks[i].busy)
                return &f->chunks[i];
        }
        if (!reap_one(f, err))
            return NULL;
    }
}

static bool submit(struct mig_file *f, struct mig_chunk *c, bool reading,
                   GError **err)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
    int r;

    if (!sqe) {     /* never: the ring has room for every chunk */
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "io_uring queue full");
        return false;
    }
    c->reading = reading;
    if (reading)
        io_uring_prep_readv(sqe, f->fd, c->iov, c->niov, c->off);
    else
        io_uring_prep_writev(sqe, f->fd, c->iov, c->niov, c->off);
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

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    uint64_t acc = 0;

    for (unsigned i = 0; i < MIG_PAGE_SIZE / 8; i += 8) {
        acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] |
               w[i + 6] | w[i + 7];
        if (acc)
            return false;
    }
    return true;
}

/* Appends page data to the chunk's iovecs, merging neighbours. */
static void add_data(struct mig_chunk *c, uint8_t *page)
{
    struct iovec *last = &c->iov[c->niov - 1];

    if (c->niov > 1 && (uint8_t *)last->iov_base + last->iov_len == page)
        last->iov_len += MIG_PAGE_SIZE;
    else
        c->iov[c->niov++] = (struct iovec){ page, MIG_PAGE_SIZE };
}

static void le_store(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_load(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* One section: pages [offset, offset + npages) of block index. */
static bool save_chunk(struct mig_file *f, unsigned index,
                       const struct mig_block *b, uint64_t offset,
                       unsigned npages, GError **err)
{
    struct mig_chunk *c = free_chunk(f, err);
    uint8_t *body, *bitmap;
    unsigned zeros = 0;
    uint64_t data = 0;

    if (!c)
        return false;
    body = c->head + MIG_SECTION_SIZE;
    bitmap = body + CHUNK_HEAD;
    memset(bitmap, 0, BITMAP_BYTES);
    c->niov = 1;
    for (unsigned i = 0; i < npages; i++) {
        uint8_t *page = b->hva + offset + (uint64_t)i * MIG_PAGE_SIZE;

        if (page_is_zero(page)) {
            zeros++;
            continue;
        }
        bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
        add_data(c, page);
        data += MIG_PAGE_SIZE;
    }
    le_store(body, offset, 8);
    le_store(body + 8, npages, 4);
    le_store(body + 12, MIG_PAGE_SIZE, 4);
    mig_section_encode(c->head, "ram", 1, index,
                       CHUNK_HEAD + BITMAP_BYTES + data);
    c->iov[0] = (struct iovec){ c->head, sizeof(c->head) };
    c->off = f->pos;
    c->len = sizeof(c->head) + data;
    f->pos += c->len;
    COUNT(f, duplicate, zeros);
    COUNT(f, normal, npages - zeros);
    COUNT(f, transferred, c->len);
    return submit(f, c, false, err);
}

bool mig_ram_save(struct mig_file *f, const struct mig_block *blocks,
                  unsigned nr_blocks, const gint *cancel, GError **err)
{
    const uint64_t step = (uint64_t)MIG_CHUNK_PAGES * MIG_PAGE_SIZE;

    for (unsigned i = 0; i < nr_blocks; i++) {
        for (uint64_t off = 0; off < blocks[i].size; off += step) {
            unsigned n = (unsigned)(MIN(step, blocks[i].size - off) /
                                    MIG_PAGE_SIZE);

            if (cancel && g_atomic_int_get(cancel)) {
                drain(f, NULL);
                g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                            "cancelled: hotmem is shutting down");
                return false;
            }
            if (!save_chunk(f, i, &blocks[i], off, n, err)) {
                drain(f, NULL);
                return false;
            }
        }
    }
    return drain(f, err);
}

static bool bad_chunk(struct mig_file *f, const struct mig_section *sec,
                      const char *why, GError **err)
{
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "corrupt migration stream '%s': \"ram\" section at byte %"
                PRIu64 " for block %" PRIu32 ": %s", f->path,
                f->pos - MIG_SECTION_SIZE, sec->instance, why);
    return false;
}

bool mig_ram_load(struct mig_file *f, const struct mig_section *sec,
                  const struct mig_block *blocks, unsigned nr_blocks,
                  GError **err)
{
    uint8_t head[CHUNK_HEAD + BITMAP_BYTES];
    const struct mig_block *b;
    struct mig_chunk *c;
    uint64_t offset, data = 0;
    unsigned npages, zeros = 0;

    if (sec->version != 1)
        return bad_chunk(f, sec, "version is not 1", err);
    if (sec->instance >= nr_blocks)
        return bad_chunk(f, sec, "no such block", err);
    if (sec->length < sizeof(head))
        return bad_chunk(f, sec, "shorter than its header", err);
    if (!mig_file_read(f, head, sizeof(head), err))
        return false;
    b = &blocks[sec->instance];
    offset = le_load(head, 8);
    npages = (unsigned)le_load(head + 8, 4);
    if (le_load(head + 12, 4) != MIG_PAGE_SIZE || npages > MIG_CHUNK_PAGES ||
        offset % MIG_PAGE_SIZE || offset > b->size ||
        (uint64_t)npages * MIG_PAGE_SIZE > b->size - offset)
        return bad_chunk(f, sec, "pages outside the block", err);
    c = free_chunk(f, err);
    if (!c)
        return false;
    c->niov = 1;        /* iov[0] unused: reads go to guest memory only */
    for (unsigned i = 0; i < npages; i++) {
        uint8_t *page = b->hva + offset + (uint64_t)i * MIG_PAGE_SIZE;

        if (head[CHUNK_HEAD + i / 8] & (1u << (i % 8))) {
            add_data(c, page);
            data += MIG_PAGE_SIZE;
        } else {
            /* Reading first keeps untouched memory unallocated. */
            if (!page_is_zero(page))
                memset(page, 0, MIG_PAGE_SIZE);
            zeros++;
        }
    }
    if (sec->length != sizeof(head) + data)
        return bad_chunk(f, sec, "its length does not match its bitmap",
                         err);
    COUNT(f, duplicate, zeros);
    COUNT(f, normal, npages - zeros);
    if (!data)
        return true;
    /* Drop the unused first iovec. */
    memmove(&c->iov[0], &c->iov[1], (c->niov - 1) * sizeof(c->iov[0]));
    c->niov--;
    c->off = f->pos;
    c->len = data;
    f->pos += data;
    COUNT(f, transferred, data);
    return submit(f, c, true, err);
}

bool mig_ram_load_wait(struct mig_file *f, GError **err)
{
    return drain(f, err);
}
