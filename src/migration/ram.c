/*
 * Guest RAM in the stream (ram.h). A "ram" section's body, version 1:
 * offset in the block (u64), page count (u32), page size (u32, 4096), a
 * bitmap with one bit per page (set: its 4 KiB follow, clear: the page
 * is zero), then the data pages in order. Version 2 (pre-copy's later
 * passes) puts a bitmap of the pages the section carries before that
 * one: a page whose bit is clear there is left as it is. A page of zeros
 * costs one bit.
 */
#include "migration/ram_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "anon_pages.h"
#include "errors.h"

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

static void set_bits(uint8_t *map, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++)
        map[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Private anonymous: pages neither present nor swapped are holes. */
static bool find_anon_holes(struct mig_file *f, const struct mig_block *b,
                            uint64_t offset, unsigned npages, uint8_t *holes)
{
    uint8_t any = 0;

    if (!anon_pages_untouched(&f->pagemap, b->hva + offset, npages, holes))
        return false;       /* then every page is read */
    for (unsigned i = 0; i < (npages + 7) / 8; i++)
        any |= holes[i];
    return any != 0;
}

/*
 * Which of the npages pages at offset in b are holes (bit i: page i was
 * never written, or was discarded, so it reads as zero): of its file,
 * with lseek(2) SEEK_DATA/SEEK_HOLE, or of private anonymous memory
 * (find_anon_holes). Asking does not allocate; reading the page would (a
 * shared memfd or tmpfs page is allocated on its first fault, read or
 * write), or would at least fault it in. False when none is.
 */
static bool find_holes(struct mig_file *f, const struct mig_block *b,
                       uint64_t offset, unsigned npages, uint8_t *holes)
{
    const off_t start = (off_t)(b->fd_offset + offset);
    const off_t end = start + (off_t)npages * MIG_PAGE_SIZE;
    off_t pos = start;
    bool any = false;

    memset(holes, 0, BITMAP_BYTES);
    if (b->fd < 0)
        return b->anon && find_anon_holes(f, b, offset, npages, holes);
    while (pos < end) {
        off_t data = lseek(b->fd, pos, SEEK_DATA);

        if (data < 0 && errno != ENXIO)
            return false;       /* no SEEK_DATA here: read every page */
        if (data < 0 || data > end)
            data = end;         /* ENXIO: no data after pos */
        if (data > pos) {
            /* Whole pages only: a hole that starts inside a page does
             * not make that page one. */
            unsigned from = (unsigned)((pos - start + MIG_PAGE_SIZE - 1) /
                                       MIG_PAGE_SIZE);
            unsigned to = (unsigned)((data - start) / MIG_PAGE_SIZE);

            if (to > from) {
                set_bits(holes, from, to);
                any = true;
            }
        }
        if (data >= end)
            break;
        pos = lseek(b->fd, data, SEEK_HOLE);
        if (pos < 0)
            return any;
    }
    return any;
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

static bool bit(const uint8_t *map, unsigned i)
{
    return map[i / 8] & (1u << (i % 8));
}

/*
 * One section: pages [offset, offset + npages) of block index; present
 * (bit i: page i is sent), or NULL for all of them (version 1).
 */
static bool save_chunk(struct mig_file *f, unsigned index,
                       const struct mig_block *b, uint64_t offset,
                       unsigned npages, const uint8_t *present, GError **err)
{
    struct mig_chunk *c = mig_free_chunk(f, err);
    uint8_t *body, *bitmap, holes[BITMAP_BYTES];
    unsigned zeros = 0, sent = 0, head;
    uint64_t data = 0;
    bool any_hole;

    if (!c)
        return false;
    any_hole = find_holes(f, b, offset, npages, holes);
    body = c->head + MIG_SECTION_SIZE;
    head = CHUNK_HEAD + (present ? 2 : 1) * BITMAP_BYTES;
    if (present)
        memcpy(body + CHUNK_HEAD, present, BITMAP_BYTES);
    bitmap = body + head - BITMAP_BYTES;
    memset(bitmap, 0, BITMAP_BYTES);
    c->niov = 1;
    for (unsigned i = 0; i < npages; i++) {
        uint8_t *page = b->hva + offset + (uint64_t)i * MIG_PAGE_SIZE;

        if (present && !bit(present, i))
            continue;
        sent++;
        /* A hole is zero without being read (and so allocated). */
        if ((any_hole && bit(holes, i)) || page_is_zero(page)) {
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
    mig_section_encode(c->head, "ram", present ? 2 : 1, index, head + data);
    c->iov[0] = (struct iovec){ c->head, MIG_SECTION_SIZE + head };
    c->off = f->pos;
    c->len = MIG_SECTION_SIZE + head + data;
    f->pos += c->len;
    MIG_COUNT(f, duplicate, zeros);
    MIG_COUNT(f, normal, sent - zeros);
    MIG_COUNT(f, transferred, c->len);
    if (!mig_submit(f, c, false, err))
        return false;
    return !f->pace || f->pace(f->pace_opaque, err);
}

static bool cancelled(struct mig_file *f, const gint *cancel, GError **err)
{
    if (!cancel || !g_atomic_int_get(cancel))
        return false;
    mig_drain(f, NULL);
    g_set_error(err, HM_ERROR, HM_ERROR_FAILED, "migration cancelled");
    return true;
}

bool mig_ram_save(struct mig_file *f, const struct mig_block *blocks,
                  unsigned nr_blocks, const gint *cancel, GError **err)
{
    const uint64_t step = (uint64_t)MIG_CHUNK_PAGES * MIG_PAGE_SIZE;

    for (unsigned i = 0; i < nr_blocks; i++) {
        for (uint64_t off = 0; off < blocks[i].size; off += step) {
            unsigned n = (unsigned)(MIN(step, blocks[i].size - off) /
                                    MIG_PAGE_SIZE);

            if (cancelled(f, cancel, err))
                return false;
            if (!save_chunk(f, i, &blocks[i], off, n, NULL, err)) {
                mig_drain(f, NULL);
                return false;
            }
        }
    }
    return mig_drain(f, err);
}

/* The chunk's bits of a block's dirty bitmap (64-bit words), as bytes. */
static bool chunk_bits(const uint64_t *dirty, uint64_t first, unsigned n,
                       uint8_t *out)
{
    bool any = false;

    memset(out, 0, BITMAP_BYTES);
    for (unsigned i = 0; i < n; i++) {
        uint64_t p = first + i;

        if (dirty[p / 64] & (1ULL << (p % 64))) {
            out[i / 8] |= (uint8_t)(1u << (i % 8));
            any = true;
        }
    }
    return any;
}

bool mig_ram_save_dirty(struct mig_file *f, const struct mig_block *blocks,
                        unsigned nr_blocks, uint64_t *const *dirty,
                        const gint *cancel, GError **err)
{
    const uint64_t step = (uint64_t)MIG_CHUNK_PAGES * MIG_PAGE_SIZE;
    uint8_t present[BITMAP_BYTES];

    for (unsigned i = 0; i < nr_blocks; i++) {
        for (uint64_t off = 0; dirty[i] && off < blocks[i].size;
             off += step) {
            unsigned n = (unsigned)(MIN(step, blocks[i].size - off) /
                                    MIG_PAGE_SIZE);
            const uint64_t *w = dirty[i] + off / MIG_PAGE_SIZE / 64;

            /* 256 pages are four whole words: skip clean chunks fast. */
            if (!(w[0] | (n > 64 ? w[1] : 0) | (n > 128 ? w[2] : 0) |
                  (n > 192 ? w[3] : 0)))
                continue;
            if (cancelled(f, cancel, err))
                return false;
            if (!chunk_bits(dirty[i], off / MIG_PAGE_SIZE, n, present))
                continue;
            if (!save_chunk(f, i, &blocks[i], off, n, present, err)) {
                mig_drain(f, NULL);
                return false;
            }
        }
    }
    return mig_drain(f, err);
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
    uint8_t head[CHUNK_HEAD + 2 * BITMAP_BYTES];
    const uint8_t *present = NULL, *bitmap;
    const struct mig_block *b;
    struct mig_chunk *c;
    uint64_t offset, data = 0;
    unsigned npages, zeros = 0, sent = 0, hlen;
    uint8_t holes[BITMAP_BYTES];
    bool any_hole;

    if (sec->version < 1 || sec->version > 2)
        return bad_chunk(f, sec, "version is not 1 or 2", err);
    hlen = CHUNK_HEAD + sec->version * BITMAP_BYTES;
    if (sec->instance >= nr_blocks)
        return bad_chunk(f, sec, "no such block", err);
    if (sec->length < hlen)
        return bad_chunk(f, sec, "shorter than its header", err);
    if (!mig_file_read(f, head, hlen, err))
        return false;
    b = &blocks[sec->instance];
    offset = le_load(head, 8);
    npages = (unsigned)le_load(head + 8, 4);
    if (le_load(head + 12, 4) != MIG_PAGE_SIZE || npages > MIG_CHUNK_PAGES ||
        offset % MIG_PAGE_SIZE || offset > b->size ||
        (uint64_t)npages * MIG_PAGE_SIZE > b->size - offset)
        return bad_chunk(f, sec, "pages outside the block", err);
    if (sec->version == 2)
        present = head + CHUNK_HEAD;
    bitmap = head + hlen - BITMAP_BYTES;
    c = mig_free_chunk(f, err);
    if (!c)
        return false;
    any_hole = find_holes(f, b, offset, npages, holes);
    c->niov = 1;        /* iov[0] unused: reads go to guest memory only */
    for (unsigned i = 0; i < npages; i++) {
        uint8_t *page = b->hva + offset + (uint64_t)i * MIG_PAGE_SIZE;

        if (present && !bit(present, i)) {
            if (bit(bitmap, i))
                return bad_chunk(f, sec, "a data page it does not carry",
                                 err);
            continue;
        }
        sent++;
        if (bit(bitmap, i)) {
            add_data(c, page);
            data += MIG_PAGE_SIZE;
        } else {
            /* A hole of the file is zero already; reading first keeps
             * untouched anonymous memory unallocated. */
            if (!(any_hole && bit(holes, i)) && !page_is_zero(page))
                memset(page, 0, MIG_PAGE_SIZE);
            zeros++;
        }
    }
    if (sec->length != hlen + data)
        return bad_chunk(f, sec, "its length does not match its bitmap",
                         err);
    MIG_COUNT(f, duplicate, zeros);
    MIG_COUNT(f, normal, sent - zeros);
    if (!data)
        return true;
    /* Drop the unused first iovec. */
    memmove(&c->iov[0], &c->iov[1], (c->niov - 1) * sizeof(c->iov[0]));
    c->niov--;
    c->off = f->pos;
    c->len = data;
    f->pos += data;
    MIG_COUNT(f, transferred, data);
    return mig_submit(f, c, true, err);
}

bool mig_ram_load_wait(struct mig_file *f, GError **err)
{
    return mig_drain(f, err);
}
