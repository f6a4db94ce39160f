/*
 * A backend's memory handed to another hotmem as its descriptor
 * (cpr-transfer, docs/migration.md "Local live update"): the source gives
 * the memfd or file behind a block of guest RAM, the destination maps it
 * over its own memory at the same address, so both processes see the
 * same pages and nothing is copied. Only shared mappings can be handed
 * over: a private one's pages are the process's own.
 */
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "backend/backend_internal.h"
#include "errors.h"

bool backend_holds(const struct backend *b, const void *addr, uint64_t len)
{
    const uint8_t *p = addr, *base = b->addr;

    return base && p >= base && len <= b->cfg.size &&
           (uint64_t)(p - base) <= b->cfg.size - len;
}

/* Why b's memory cannot be shared with another process, or NULL. */
static char *not_shareable(const struct backend *b)
{
    if (b->kind == BACKEND_RAM || b->fd < 0)
        return g_strdup_printf("memory backend '%s' is %s, whose memory is "
                               "this process's own: use "
                               "memory-backend-memfd or memory-backend-file "
                               "with share=on", b->id,
                               backend_kind_name(b->kind));
    if (!b->cfg.share)
        return g_strdup_printf("memory backend '%s' has share=off: its "
                               "pages are this process's private copy; "
                               "use share=on", b->id);
    if (b->cfg.discard_data)
        return g_strdup_printf("memory backend '%s' has discard-data=on: "
                               "the file's data would be dropped when this "
                               "process quits", b->id);
    return NULL;
}

bool backend_share_fd(const struct backend *b, const void *addr,
                      uint64_t len, int *fd, uint64_t *offset, GError **err)
{
    g_autofree char *why = not_shareable(b);

    if (why) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "%s", why);
        return false;
    }
    g_assert(backend_holds(b, addr, len));
    *fd = b->fd;
    *offset = b->cfg.offset + (uint64_t)((const uint8_t *)addr -
                                         (const uint8_t *)b->addr);
    return true;
}

static bool same_file(int a, int b)
{
    struct stat sa, sb;

    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool check_fd(const struct backend *b, int fd, uint64_t offset,
                     uint64_t len, GError **err)
{
    struct stat st;

    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode))) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "memory backend '%s': the descriptor handed over is "
                    "not a memfd or a regular file", b->id);
        return false;
    }
    if ((uint64_t)st.st_size < offset || (uint64_t)st.st_size - offset < len) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "memory backend '%s': the file handed over holds 0x%"
                    PRIx64 " bytes, too few for 0x%" PRIx64 " bytes at "
                    "offset 0x%" PRIx64, b->id, (uint64_t)st.st_size, len,
                    offset);
        return false;
    }
    if (offset % b->page_size) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "memory backend '%s': offset 0x%" PRIx64 " in the file "
                    "handed over is not a multiple of its page size 0x%"
                    PRIx64, b->id, offset, b->page_size);
        return false;
    }
    return true;
}

bool backend_adopt_fd(struct backend *b, void *addr, uint64_t len, int fd,
                      uint64_t offset, GError **err)
{
    g_autofree char *why = not_shareable(b);
    int prot = PROT_READ | (b->cfg.readonly ? 0 : PROT_WRITE);
    int flags = MAP_SHARED | MAP_FIXED | (b->cfg.reserve ? 0 : MAP_NORESERVE);
    uint64_t at = (uint64_t)((uint8_t *)addr - (uint8_t *)b->addr);

    g_assert(backend_holds(b, addr, len));
    if (why) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "this side's %s", why);
        close(fd);
        return false;
    }
    if (!check_fd(b, fd, offset, len, err)) {
        close(fd);
        return false;
    }
    if (mmap(addr, len, prot, flags, fd, offset) == MAP_FAILED) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "memory backend '%s': cannot map the file handed over: "
                    "%s", b->id, g_strerror(errno));
        close(fd);
        return false;
    }
    if (same_file(b->fd, fd)) {
        close(fd);
    } else {
        close(b->fd);
        b->fd = fd;
        b->cfg.offset = offset - at;
    }
    return backend_apply_advice(b, err);
}
