/*
 * Guest RAM by descriptor (machine_cpr.h): which backend object's memory
 * a RAM block is, found by its host address among the objects.
 */
#include "machine/machine_cpr.h"

#include <unistd.h>

#include "errors.h"
#include "machine/machine_internal.h"

static struct backend *backend_at(struct machine *m, const void *hva,
                                  uint64_t size)
{
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, m->objects);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (value && backend_holds(value, hva, size))
            return value;
    }
    return NULL;
}

bool machine_cpr_block_fd(struct machine *m,
                          const struct machine_ram_block *blk, int *fd,
                          uint64_t *offset, GError **err)
{
    struct backend *b = backend_at(m, blk->hva, blk->size);

    if (!b) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Memory region '%s' is not compatible with "
                    "cpr-transfer: it is no memory backend object's "
                    "(start with -machine memory-backend=ID and a "
                    "memory-backend-memfd or memory-backend-file object "
                    "with share=on)", blk->name);
        return false;
    }
    if (!backend_share_fd(b, blk->hva, blk->size, fd, offset, err)) {
        g_prefix_error(err, "Memory region '%s' is not compatible with "
                       "cpr-transfer: ", blk->name);
        return false;
    }
    return true;
}

int machine_ram_backing_fd(struct machine *m, const void *hva, uint64_t size,
                           uint64_t *offset)
{
    struct backend *b = backend_at(m, hva, size);
    int fd = -1;

    if (!b || !backend_share_fd(b, hva, size, &fd, offset, NULL))
        return -1;
    return fd;
}

struct backings_walk {
    struct machine *m;
    GArray *out;
};

static void add_backing(void *opaque, const struct memmap_slot *slot)
{
    struct backings_walk *w = opaque;
    struct machine_ram_backing b = { .hva = slot->hva, .size = slot->size };

    b.fd = machine_ram_backing_fd(w->m, slot->hva, slot->size, &b.offset);
    g_array_append_val(w->out, b);
}

GArray *machine_ram_backings(struct machine *m)
{
    struct backings_walk w = {
        m, g_array_new(FALSE, TRUE, sizeof(struct machine_ram_backing)) };

    memmap_foreach(m->memmap, add_backing, &w);
    return w.out;
}

bool machine_cpr_adopt(struct machine *m, const char *name, void *hva,
                       uint64_t size, int fd, uint64_t offset, GError **err)
{
    struct backend *b = backend_at(m, hva, size);

    if (!b) {
        close(fd);
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "RAM block '%s' is handed over by descriptor, but here "
                    "it is no memory backend object's (start with "
                    "-machine memory-backend=ID as the source was)", name);
        return false;
    }
    if (!backend_adopt_fd(b, hva, size, fd, offset, err)) {
        g_prefix_error(err, "RAM block '%s': ", name);
        return false;
    }
    return true;
}

void machine_cpr_set_handed_over(struct machine *m)
{
    m->cpr_handed_over = true;
}

bool machine_cpr_handed_over(struct machine *m)
{
    return m->cpr_handed_over;
}
