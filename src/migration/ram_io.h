/*
 * The I/O under migration/ram.c (not for use elsewhere): chunks of
 * vectored I/O through io_uring, and the small synchronous reads and
 * writes of headers, on a file (at offsets, several chunks in flight) or
 * a stream (in order, one chunk in flight, stall-bounded).
 */
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include "migration/ram.h"

#define CHUNK_HEAD      16u
#define BITMAP_BYTES    (MIG_CHUNK_PAGES / 8)
#define MAX_IOV         (1 + MIG_CHUNK_PAGES)

struct mig_chunk {
    /* Section header, body head, page bitmap, data bitmap (version 2). */
    uint8_t head[MIG_SECTION_SIZE + CHUNK_HEAD + 2 * BITMAP_BYTES];
    struct iovec iov[MAX_IOV];
    unsigned niov;
    struct msghdr msg;      /* streams on a socket */
    uint64_t off;           /* in the file */
    size_t len;
    bool busy, reading;
};

void mig_count(struct mig_file *f, size_t field, uint64_t n);
#define MIG_COUNT(f, name, n) \
    mig_count((f), offsetof(struct mig_counters, name), (n))

/* A free chunk, waiting for one to complete when none is. */
struct mig_chunk *mig_free_chunk(struct mig_file *f, GError **err);
/* Queues c (iov, niov, len set; off taken from f->pos by the caller). */
bool mig_submit(struct mig_file *f, struct mig_chunk *c, bool reading,
                GError **err);
/* Waits for everything in flight; the first error. */
bool mig_drain(struct mig_file *f, GError **err);
