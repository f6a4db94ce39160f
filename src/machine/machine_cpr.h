/*
 * Guest RAM handed over as descriptors to a new hotmem on the same host
 * (cpr-transfer, docs/migration.md "Local live update"). The source gives
 * the descriptor behind each RAM block; the destination maps the one it
 * received over the block, so the same pages serve the new process.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "machine/machine_migrate.h"

/*
 * Source, main thread: the descriptor (the backend's, not a copy) and the
 * offset in it of blk's memory. Fails for RAM that is not a shared
 * memory backend's: the error names the block and the rule.
 */
bool machine_cpr_block_fd(struct machine *m,
                          const struct machine_ram_block *blk, int *fd,
                          uint64_t *offset, GError **err);
/*
 * Main thread: the file behind the memory at [hva, hva + size), when it
 * is a shared memory backend's (its pages are the file's, so a hole in
 * the file is a page never written): the descriptor (the backend's) and
 * the offset of hva in it; -1 otherwise. Pre-copy skips the holes
 * (docs/migration.md, "Holes of shared memory").
 */
int machine_ram_backing_fd(struct machine *m, const void *hva, uint64_t size,
                           uint64_t *offset);
/* Every RAM memslot's machine_ram_backing_fd(), for another thread. */
struct machine_ram_backing {
    const void *hva;
    uint64_t size;
    int fd;                 /* the backend's, or -1 */
    uint64_t offset;
};
GArray *machine_ram_backings(struct machine *m);

/*
 * Destination, main thread, before the guest ever ran: fd at offset
 * replaces the memory at hva (size bytes) of the block called name; the
 * backend behind it takes fd (closed on failure too).
 */
bool machine_cpr_adopt(struct machine *m, const char *name, void *hva,
                       uint64_t size, int fd, uint64_t offset, GError **err);

/*
 * Source, main thread, once the destination took the machine over: the
 * guest's memory is the other process's guest's now, so this one must
 * never run it again (cont and system_reset are refused; a reset would
 * write the firmware over it).
 */
void machine_cpr_set_handed_over(struct machine *m);
bool machine_cpr_handed_over(struct machine *m);
