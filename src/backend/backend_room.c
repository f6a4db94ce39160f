/*
 * How much memory the host can still give a preallocation, asked before
 * touching any page: preallocating more than that gets hotmem OOM-killed
 * (or the whole host swapping) instead of failing object-add. The limits
 * read, each the kernel's own figure:
 *
 *   - anonymous and shmem memory (ram, memfd, a file on tmpfs):
 *     MemAvailable in /proc/meminfo, and the room left under the memory
 *     limit of hotmem's cgroup and each of its ancestors: memory.max -
 *     memory.current (cgroup v2) or memory.limit_in_bytes -
 *     memory.usage_in_bytes (v1), from /proc/self/cgroup;
 *   - huge pages (hugetlbfs, memfd hugetlb=on): free_hugepages of that
 *     size in /sys/kernel/mm/hugepages;
 *   - a file on any other file system: page cache the kernel can write
 *     back, so no limit.
 *
 * A figure that cannot be read does not limit. All paths hang off a root
 * ("" on a real host) so tests can build a fake one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "backend/backend_internal.h"
#include "errors.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define MiB ((uint64_t)1 << 20)

static bool read_u64_file(const char *path, uint64_t *v)
{
    g_autofree char *text = NULL;
    char *end;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return false;
    g_strstrip(text);
    if (!strcmp(text, "max")) {
        *v = UINT64_MAX;
        return true;
    }
    errno = 0;
    *v = g_ascii_strtoull(text, &end, 10);
    return end != text && !*end && !errno;
}

/* Lowers *room to what, naming where the figure came from. */
static void limit_room(uint64_t *room, char **source, uint64_t what,
                       char *name)
{
    if (what < *room) {
        *room = what;
        g_free(*source);
        *source = name;
    } else {
        g_free(name);
    }
}

static void meminfo_room(const char *root, uint64_t *room, char **source)
{
    g_autofree char *path = g_strconcat(root, "/proc/meminfo", NULL);
    g_autofree char *text = NULL;
    const char *line;
    uint64_t kib;

    if (!g_file_get_contents(path, &text, NULL, NULL) ||
        !(line = strstr(text, "MemAvailable:")) ||
        sscanf(line, "MemAvailable: %" SCNu64, &kib) != 1)
        return;
    limit_room(room, source, kib * 1024,
               g_strdup("MemAvailable in /proc/meminfo"));
}

/* One cgroup directory's room, v2 or v1 file names. */
static void cgroup_dir_room(const char *root, const char *dir, bool v2,
                            uint64_t *room, char **source)
{
    const char *max_name = v2 ? "memory.max" : "memory.limit_in_bytes";
    const char *cur_name = v2 ? "memory.current" : "memory.usage_in_bytes";
    g_autofree char *max_path = g_strconcat(root, dir, "/", max_name, NULL);
    g_autofree char *cur_path = g_strconcat(root, dir, "/", cur_name, NULL);
    uint64_t max, cur;

    if (!read_u64_file(max_path, &max) || max == UINT64_MAX ||
        !read_u64_file(cur_path, &cur))
        return;
    limit_room(room, source, max > cur ? max - cur : 0,
               g_strdup_printf("%s - %s in %s of hotmem's memory cgroup",
                               max_name, cur_name, dir));
}

/* The cgroup's directory and every ancestor below the mount. */
static void cgroup_walk(const char *root, const char *mount,
                        const char *cgpath, bool v2, uint64_t *room,
                        char **source)
{
    g_autofree char *rel = g_strdup(cgpath);

    for (;;) {
        g_autofree char *dir = g_strconcat(mount, rel, NULL);
        char *slash = strrchr(rel, '/');

        cgroup_dir_room(root, dir, v2, room, source);
        if (!slash || (slash == rel && !rel[1]))
            break;
        slash[slash == rel ? 1 : 0] = '\0';
    }
}

/*
 * /proc/self/cgroup: "0::/path" (v2) and "N:memory:/path" (v1, with other
 * controllers possibly on the same line).
 */
static void cgroup_room(const char *root, uint64_t *room, char **source)
{
    g_autofree char *path = g_strconcat(root, "/proc/self/cgroup", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return;
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) f = g_strsplit(*l, ":", 3);
        g_auto(GStrv) controllers = NULL;

        if (g_strv_length(f) != 3 || f[2][0] != '/')
            continue;
        if (!strcmp(f[0], "0") && !f[1][0]) {
            cgroup_walk(root, "/sys/fs/cgroup", f[2], true, room, source);
            continue;
        }
        controllers = g_strsplit(f[1], ",", -1);
        if (g_strv_contains((const char *const *)controllers, "memory"))
            cgroup_walk(root, "/sys/fs/cgroup/memory", f[2], false, room,
                        source);
    }
}

static void hugetlb_room(const char *root, uint64_t page_size,
                         uint64_t *room, char **source)
{
    g_autofree char *path = g_strdup_printf(
        "%s/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/free_hugepages",
        root, page_size / 1024);
    uint64_t pages;

    if (!read_u64_file(path, &pages)) {
        limit_room(room, source, 0, g_strdup_printf(
            "no pool of %" PRIu64 " KiB huge pages in "
            "/sys/kernel/mm/hugepages", page_size / 1024));
        return;
    }
    limit_room(room, source, pages * page_size,
               g_strdup_printf("free_hugepages in /sys/kernel/mm/hugepages/"
                               "hugepages-%" PRIu64 "kB", page_size / 1024));
}

uint64_t backend_host_room(const char *root, enum backend_memory kind,
                           uint64_t page_size, char **source)
{
    uint64_t room = UINT64_MAX;

    *source = NULL;
    switch (kind) {
    case BACKEND_MEMORY_HUGETLB:
        hugetlb_room(root, page_size, &room, source);
        break;
    case BACKEND_MEMORY_RAM:
        meminfo_room(root, &room, source);
        cgroup_room(root, &room, source);
        break;
    case BACKEND_MEMORY_PAGE_CACHE:
        break;
    }
    return room;
}

/* What a preallocation of b takes from the host, and of which kind. */
static enum backend_memory memory_kind(const struct backend *b,
                                       uint64_t *allocated)
{
    struct statfs fs;
    struct stat st;

    *allocated = 0;
    if (b->fd >= 0 && fstat(b->fd, &st) == 0)
        *allocated = (uint64_t)st.st_blocks * 512;
    if (b->hugetlb)
        return BACKEND_MEMORY_HUGETLB;
    if (b->kind == BACKEND_FILE &&
        !(fstatfs(b->fd, &fs) == 0 && (uint32_t)fs.f_type == TMPFS_MAGIC))
        return BACKEND_MEMORY_PAGE_CACHE;
    return BACKEND_MEMORY_RAM;
}

bool backend_check_room(const struct backend *b, const char *root,
                        GError **err)
{
    g_autofree char *source = NULL;
    uint64_t allocated, room, need;
    enum backend_memory kind = memory_kind(b, &allocated);

    need = backend_size(b) > allocated ? backend_size(b) - allocated : 0;
    room = backend_host_room(root, kind, backend_page_size(b), &source);
    if (need <= room)
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "cannot preallocate %s '%s': it needs %" PRIu64 " MiB "
                "(0x%" PRIx64 " bytes) but the host can give %" PRIu64
                " MiB (%s)", backend_type(b), backend_id(b), need / MiB,
                need, room / MiB, source);
    return false;
}
