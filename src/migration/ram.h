/*
 * The stream's file and its bulk part, guest RAM (docs/migration.md,
 * "ram" sections). Guest memory moves between the file and the guest's
 * own pages through io_uring: a chunk's pages are written from guest
 * memory and read back into it with vectored I/O, no bounce buffer, with
 * several chunks in flight while the next one is scanned for zero pages.
 * The small parts (headers, device sections) go through pread/pwrite.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <liburing.h>

#include "migration/stream.h"

/* Pages per "ram" section: 1 MiB of guest memory. */
#define MIG_CHUNK_PAGES     256u
#define MIG_QUEUE_DEPTH     8u

/* Progress, read by query-migrate on another thread (atomics). */
struct mig_counters {
    uint64_t transferred;   /* stream bytes written or read */
    uint64_t duplicate;     /* zero pages */
    uint64_t normal;        /* pages with data */
};

struct mig_chunk;

struct mig_file {
    int fd;
    /* Where the next byte goes or comes from; on a stream (socket or
     * pipe, no offsets) the bytes moved so far. */
    uint64_t pos;
    bool stream, socket;
    /* Stream: a transfer that makes no progress for this long fails. */
    unsigned stall_ms;
    const char *path;       /* for errors */
    struct io_uring ring;
    bool ring_ready;
    struct mig_chunk *chunks;   /* MIG_QUEUE_DEPTH of them */
    unsigned inflight;
    struct mig_counters *counters;
    int pagemap;            /* /proc/self/pagemap, opened when first needed */
    /*
     * Source: called after each "ram" section is queued, to hold the rate,
     * notice a cancel or a message from the peer. false (error) stops.
     */
    bool (*pace)(void *opaque, GError **err);
    void *pace_opaque;
};

/*
 * Sets up the ring for fd, reading or writing from offset on. A socket
 * or a pipe is a stream: bytes go in order, one chunk in flight, and
 * offset is ignored.
 */
bool mig_file_init(struct mig_file *f, int fd, uint64_t offset,
                   const char *path, struct mig_counters *c, GError **err);
/* Waits for what is in flight, then frees the ring (not the fd). */
void mig_file_release(struct mig_file *f);

bool mig_file_write(struct mig_file *f, const void *p, size_t len,
                    GError **err);
/* Reads exactly len bytes; the end of the file first is an error. */
bool mig_file_read(struct mig_file *f, void *p, size_t len, GError **err);

/*
 * A guest RAM block as the stream sees it. fd: the shared file its pages
 * are (a memfd or share=on file backend's, borrowed), fd_offset where hva
 * is in it; -1 for memory of this process's own. A hole of that file is
 * a page never written: it is sent as a zero page without reading it
 * (which would allocate it), and a zero page received for it is left
 * alone (docs/migration.md, "Holes of shared memory").
 */
struct mig_block {
    uint64_t size;
    uint8_t *hva;
    int fd;
    uint64_t fd_offset;
    /*
     * Private anonymous memory (fd -1): a page neither in the page table
     * nor in swap (/proc/self/pagemap) was never written, or was
     * discarded, and is zero; it is sent as a zero page, and a zero page
     * received for it is left alone, without reading it (a read fault
     * per page: on a guest that has touched little of its RAM, most of
     * the first pass's time, and on the destination a backlog that made
     * the switch-over wait).
     */
    bool anon;
};

/*
 * Writes every block as "ram" sections, instance = the block's index. A
 * non-zero *cancel (atomic) stops it with an error.
 */
bool mig_ram_save(struct mig_file *f, const struct mig_block *blocks,
                  unsigned nr_blocks, const gint *cancel, GError **err);
/*
 * Pre-copy: the pages of each block whose bit is set in dirty[block]
 * (bit i: page i), as version-2 "ram" sections that name the pages they
 * carry, so pages sent by an earlier pass are replaced and the others
 * kept. Chunks without a dirty page are skipped.
 */
bool mig_ram_save_dirty(struct mig_file *f, const struct mig_block *blocks,
                        unsigned nr_blocks, uint64_t *const *dirty,
                        const gint *cancel, GError **err);
/*
 * Reads the body of one "ram" section (its header sec just read) into
 * the block it names: zero pages are made zero (written only where not
 * already), data pages are read straight into guest memory, in flight
 * when this returns. mig_ram_load_wait() waits for them all.
 */
bool mig_ram_load(struct mig_file *f, const struct mig_section *sec,
                  const struct mig_block *blocks, unsigned nr_blocks,
                  GError **err);
bool mig_ram_load_wait(struct mig_file *f, GError **err);
