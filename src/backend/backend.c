/*
 * Memory backends: map the host memory behind guest RAM and DIMMs the way
 * QEMU's memory-backend-{ram,file,memfd} objects do (mmap(2), memfd_create(2),
 * statfs(2) for hugetlbfs, madvise(2) for KSM and core dumps, mbind(2) for
 * the NUMA policy). Properties are parsed in backend_props.c, preallocation
 * lives in backend_prealloc.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "backend/backend_internal.h"
#include "errors.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26       /* linux/memfd.h: log2(page size) << 26 */
#endif
/* Linux 5.15+: prefer several nodes (older kernels refuse it: EINVAL). */
#define HM_MPOL_PREFERRED_MANY 5

/*
 * Mappings of 2 MiB or more start on a 2 MiB boundary, so transparent huge
 * pages can back them and KVM can map them with 2 MiB pages.
 */
#define BACKEND_DEFAULT_ALIGN (2ULL << 20)

#define fail hm_fail

/* "Hugepagesize:" of /proc/meminfo: the default huge page size, or 0. */
static uint64_t default_huge_page_size(void)
{
    g_autofree char *text = NULL;
    const char *line;
    uint64_t kib = 0;

    if (!g_file_get_contents("/proc/meminfo", &text, NULL, NULL))
        return 0;
    line = strstr(text, "Hugepagesize:");
    if (line)
        kib = g_ascii_strtoull(line + strlen("Hugepagesize:"), NULL, 10);
    return kib << 10;
}

/* The host offers huge pages of this size (a hugepages-NkB directory). */
static bool huge_page_size_exists(uint64_t size)
{
    g_autofree char *dir = g_strdup_printf(
        "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB", size >> 10);

    return size >= 4096 && !(size & (size - 1)) &&
           g_file_test(dir, G_FILE_TEST_IS_DIR);
}

static char *free_huge_pages_hint(uint64_t page)
{
    g_autofree char *path = g_strdup_printf(
        "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/free_hugepages",
        page >> 10);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return g_strdup("");
    return g_strdup_printf(" (%" PRIu64 " free huge pages of 0x%" PRIx64
                           " bytes; see /proc/sys/vm/nr_hugepages)",
                           g_ascii_strtoull(text, NULL, 10), page);
}

static bool check_multiple(const char *what, uint64_t value, uint64_t page,
                           GError **err)
{
    if (value % page == 0)
        return true;
    return fail(err, HM_ERROR_INVALID, "%s 0x%" PRIx64 " is not a multiple of "
                "the backend page size 0x%" PRIx64, what, value, page);
}

/* Creates an unlinked file in directory dir, as QEMU does for a mem-path
 * that is a directory. */
static bool open_temp_file(struct backend *b, GError **err)
{
    g_autofree char *name = g_strdup_printf("%s/hotmem_back_mem.%s.XXXXXX",
                                            b->cfg.mem_path, b->id);

    if (b->cfg.readonly)
        return fail(err, HM_ERROR_INVALID, "mem-path '%s' is a directory: "
                    "readonly=on needs an existing file", b->cfg.mem_path);
    b->fd = g_mkstemp_full(name, O_RDWR | O_CLOEXEC, 0600);
    if (b->fd < 0)
        return fail(err, HM_ERROR_IO, "mem-path '%s': cannot create a file "
                    "in the directory: %s", b->cfg.mem_path,
                    g_strerror(errno));
    unlink(name);
    return true;
}

static bool open_mem_path(struct backend *b, GError **err)
{
    const char *path = b->cfg.mem_path;
    struct stat st;
    int saved;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return open_temp_file(b, err);
    if (g_str_has_suffix(path, "/"))
        return fail(err, HM_ERROR_INVALID, "mem-path '%s' is not an "
                    "existing directory", path);
    if (b->cfg.readonly) {
        b->fd = open(path, O_RDONLY | O_CLOEXEC);
    } else {
        b->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (b->fd >= 0)
            b->created_path = g_strdup(path);
        else if (errno == EEXIST)
            b->fd = open(path, O_RDWR | O_CLOEXEC);
    }
    if (b->fd >= 0)
        return true;
    saved = errno;
    if (saved == ENOENT && !b->cfg.readonly) {
        g_autofree char *dir = g_path_get_dirname(path);

        return fail(err, HM_ERROR_INVALID, "mem-path '%s': directory '%s' "
                    "does not exist", path, dir);
    }
    return fail(err, saved == ENOENT ? HM_ERROR_INVALID : HM_ERROR_IO,
                "mem-path '%s': cannot open: %s", path, g_strerror(saved));
}

/* Grows a regular file that is shorter than offset + size; never shrinks. */
static bool size_file(struct backend *b, GError **err)
{
    const struct backend_config *c = &b->cfg;
    uint64_t need = c->offset + c->size;
    struct stat st;

    if (need < c->size)
        return fail(err, HM_ERROR_INVALID, "offset 0x%" PRIx64 " + size 0x%"
                    PRIx64 " does not fit in 64 bits", c->offset, c->size);
    if (fstat(b->fd, &st) < 0)
        return fail(err, HM_ERROR_IO, "mem-path '%s': fstat: %s", c->mem_path,
                    g_strerror(errno));
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size >= need)
        return true;
    if (c->readonly)
        return fail(err, HM_ERROR_INVALID, "mem-path '%s' is 0x%" PRIx64
                    " bytes long: readonly=on needs offset 0x%" PRIx64
                    " + size 0x%" PRIx64, c->mem_path, (uint64_t)st.st_size,
                    c->offset, c->size);
    if (ftruncate(b->fd, need) < 0)
        return fail(err, HM_ERROR_IO, "mem-path '%s': cannot grow the file "
                    "to 0x%" PRIx64 " bytes: %s", c->mem_path, need,
                    g_strerror(errno));
    return true;
}

static bool open_file_backend(struct backend *b, GError **err)
{
    const struct backend_config *c = &b->cfg;
    struct statfs fs;

    if (!open_mem_path(b, err))
        return false;
    if (fstatfs(b->fd, &fs) == 0 && (uint32_t)fs.f_type == HUGETLBFS_MAGIC) {
        b->hugetlb = true;
        b->page_size = fs.f_bsize;
    }
    if (!check_multiple("size", c->size, b->page_size, err) ||
        !check_multiple("offset", c->offset, b->page_size, err))
        return false;
    if (c->align && (c->align & (c->align - 1)))
        return fail(err, HM_ERROR_INVALID, "align 0x%" PRIx64 " is not a "
                    "power of two", c->align);
    if (c->align && !check_multiple("align", c->align, b->page_size, err))
        return false;
    if (c->align && c->size % c->align)
        return fail(err, HM_ERROR_INVALID, "size 0x%" PRIx64 " is not a "
                    "multiple of align 0x%" PRIx64, c->size, c->align);
    return size_file(b, err);
}

static bool open_memfd_backend(struct backend *b, GError **err)
{
    const struct backend_config *c = &b->cfg;
    unsigned flags = MFD_CLOEXEC | (c->seal ? MFD_ALLOW_SEALING : 0);
    g_autofree char *name = NULL;

    if (c->hugetlb) {
        b->hugetlb = true;
        b->page_size = c->hugetlbsize ? c->hugetlbsize
                                      : default_huge_page_size();
        if (!b->page_size)
            return fail(err, HM_ERROR_NOT_SUPPORTED, "hugetlb=on: this host "
                        "has no huge pages (no Hugepagesize in /proc/meminfo)");
        if (!huge_page_size_exists(b->page_size))
            return fail(err, HM_ERROR_INVALID, "hugetlbsize 0x%" PRIx64
                        " is not a huge page size of this host (see "
                        "/sys/kernel/mm/hugepages)", b->page_size);
        flags |= MFD_HUGETLB;
        if (c->hugetlbsize)
            flags |= (unsigned)__builtin_ctzll(c->hugetlbsize)
                     << MFD_HUGE_SHIFT;
    }
    if (!check_multiple("size", c->size, b->page_size, err))
        return false;
    /* The name only shows in /proc/PID/maps; memfd_create(2) takes 249
     * bytes at most. */
    name = g_strndup(b->id, 200);
    b->fd = memfd_create(name, flags);
    if (b->fd < 0)
        return fail(err, errno == EINVAL ? HM_ERROR_NOT_SUPPORTED : HM_ERROR_IO,
                    "memfd_create(%s%s) failed: %s", b->id,
                    c->hugetlb ? ", MFD_HUGETLB" : "", g_strerror(errno));
    if (ftruncate(b->fd, c->size) < 0)
        return fail(err, HM_ERROR_IO, "cannot size the memfd to 0x%" PRIx64
                    " bytes: %s", c->size, g_strerror(errno));
    /* The size is fixed from now on: nobody can grow or shrink the memfd
     * under a guest that maps it (fcntl(2) "File Sealing"). */
    if (c->seal &&
        fcntl(b->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL))
        return fail(err, HM_ERROR_IO, "cannot seal the memfd: %s",
                    g_strerror(errno));
    return true;
}

/*
 * mmap(2) at an address aligned to align: reserve align more bytes of
 * address space than needed, map over the aligned part with MAP_FIXED, and
 * give back the head and tail. Sets errno and returns MAP_FAILED on error.
 */
static void *map_aligned(uint64_t size, uint64_t align, int prot, int flags,
                         int fd, uint64_t offset)
{
    uint8_t *area, *start, *p;
    uint64_t total = size + align;
    int saved;

    area = mmap(NULL, total, PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED)
        return MAP_FAILED;
    start = (uint8_t *)(((uintptr_t)area + align - 1) & ~(uintptr_t)(align - 1));
    p = mmap(start, size, prot, flags | MAP_FIXED, fd, offset);
    if (p == MAP_FAILED) {
        saved = errno;
        munmap(area, total);
        errno = saved;
        return MAP_FAILED;
    }
    if (start > area)
        munmap(area, start - area);
    if (area + total > start + size)
        munmap(start + size, area + total - (start + size));
    return p;
}

static bool map_memory(struct backend *b, GError **err)
{
    const struct backend_config *c = &b->cfg;
    int prot = PROT_READ | (c->readonly ? 0 : PROT_WRITE);
    int flags = c->share ? MAP_SHARED : MAP_PRIVATE;
    uint64_t align = MAX(b->page_size, c->align);
    void *p;

    if (b->kind == BACKEND_RAM)
        flags |= MAP_ANONYMOUS;
    if (!c->reserve)
        flags |= MAP_NORESERVE;
    if (c->size >= BACKEND_DEFAULT_ALIGN)
        align = MAX(align, BACKEND_DEFAULT_ALIGN);
    p = map_aligned(c->size, align, prot, flags, b->fd, c->offset);
    if (p == MAP_FAILED) {
        int saved = errno;
        g_autofree char *hint = b->hugetlb && saved == ENOMEM
                                ? free_huge_pages_hint(b->page_size)
                                : g_strdup("");

        return fail(err, saved == ENOMEM ? HM_ERROR_FAILED : HM_ERROR_IO,
                    "mmap of 0x%" PRIx64 " bytes for %s '%s' failed: %s%s",
                    c->size, backend_kind_name(b->kind), b->id,
                    g_strerror(saved), hint);
    }
    b->addr = p;
    return true;
}

/*
 * Transparent huge pages for guest memory, as QEMU asks for every RAM block
 * (MADV_HUGEPAGE on a mapping that starts on a 2 MiB boundary): on hosts
 * whose THP mode is "madvise" the memory would otherwise come as 4 KiB
 * pages, slowing preallocation about 3x and leaving KVM to map the guest
 * with 4 KiB pages. Whether the kernel then gives huge pages is the host's
 * choice: /sys/kernel/mm/transparent_hugepage/enabled for anonymous memory,
 * .../shmem_enabled for memfd and shared memory ("never", the default,
 * ignores the advice; "advise" follows it). A kernel without THP refuses
 * with EINVAL, which only means there is nothing to ask for.
 *
 * on = false is hotmem's opt-out (the thp=off property; QEMU has none):
 * MADV_NOHUGEPAGE, so even a host whose mode is "always" keeps the memory
 * on 4 KiB pages.
 */
static void advise_huge_pages(void *addr, uint64_t size, bool on)
{
    madvise(addr, size, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

void *backend_map_guest_ram(uint64_t size, GError **err)
{
    void *p = map_aligned(size, BACKEND_DEFAULT_ALIGN, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED) {
        fail(err, HM_ERROR_FAILED, "cannot map 0x%" PRIx64 " bytes of guest "
             "RAM: %s", size, g_strerror(errno));
        return NULL;
    }
    advise_huge_pages(p, size, true);
    return p;
}

/* merge (KSM), huge page and dump advice; a kernel without KSM refuses
 * MADV_MERGEABLE with EINVAL, which only means there is nothing to merge
 * with. hugetlb memory is huge already (and refuses THP advice). */
bool backend_apply_advice(struct backend *b, GError **err)
{
    madvise(b->addr, b->cfg.size,
            b->cfg.merge ? MADV_MERGEABLE : MADV_UNMERGEABLE);
    if (!b->hugetlb)
        advise_huge_pages(b->addr, b->cfg.size, b->cfg.thp);
    if (!b->cfg.dump && madvise(b->addr, b->cfg.size, MADV_DONTDUMP) < 0)
        return fail(err, HM_ERROR_FAILED, "madvise(MADV_DONTDUMP) failed: %s",
                    g_strerror(errno));
    return true;
}

bool backend_set_advice(struct backend *b, const char *name, bool on,
                        GError **err)
{
    if (!strcmp(name, "merge")) {
        madvise(b->addr, b->cfg.size, on ? MADV_MERGEABLE : MADV_UNMERGEABLE);
        b->cfg.merge = on;
        return true;
    }
    if (strcmp(name, "dump"))
        return fail(err, HM_ERROR_INVALID, "property %s of %s '%s' cannot "
                    "change once it exists", name,
                    backend_kind_name(b->kind), b->id);
    if (madvise(b->addr, b->cfg.size, on ? MADV_DODUMP : MADV_DONTDUMP) < 0)
        return fail(err, HM_ERROR_FAILED, "madvise(%s) failed: %s",
                    on ? "MADV_DODUMP" : "MADV_DONTDUMP", g_strerror(errno));
    b->cfg.dump = on;
    return true;
}

static long sys_mbind(void *addr, uint64_t len, int mode,
                      const unsigned long *nodes, unsigned long maxnode,
                      unsigned flags)
{
    return syscall(SYS_mbind, addr, len, mode, nodes, maxnode, flags);
}

/*
 * mbind(2) before any page is touched, so preallocation follows the
 * policy. MPOL_MF_STRICT makes pages already placed elsewhere (an existing
 * file's page cache) an error rather than a silent mismatch. Without
 * host-nodes the policy is default and nothing is called, as in QEMU.
 */
static bool apply_policy(struct backend *b, GError **err)
{
    const struct backend_config *c = &b->cfg;
    int mode = c->policy;
    long rc;

    if (!c->nr_host_nodes)
        return true;
    if (mode == MPOL_PREFERRED && c->nr_host_nodes > 1)
        mode = HM_MPOL_PREFERRED_MANY;
    /* maxnode counts one bit more than the nodes used: mbind(2) drops it. */
    rc = sys_mbind(b->addr, c->size, mode, c->host_nodes,
                   BACKEND_MAX_HOST_NODES + 1, MPOL_MF_STRICT);
    if (rc < 0 && errno == EINVAL && mode == HM_MPOL_PREFERRED_MANY)
        rc = sys_mbind(b->addr, c->size, MPOL_PREFERRED, c->host_nodes,
                       BACKEND_MAX_HOST_NODES + 1, MPOL_MF_STRICT);
    if (rc < 0)
        return fail(err, HM_ERROR_FAILED, "cannot bind memory to host NUMA "
                    "nodes (policy %s): %s", backend_policy_name(c->policy),
                    g_strerror(errno));
    return true;
}

static bool backend_open(struct backend *b, GError **err)
{
    switch (b->kind) {
    case BACKEND_RAM:
        return check_multiple("size", b->cfg.size, b->page_size, err);
    case BACKEND_FILE:
        return open_file_backend(b, err);
    case BACKEND_MEMFD:
        return open_memfd_backend(b, err);
    }
    return false;
}

struct backend *backend_new(const char *qom_type, const char *id,
                            json_object *props, GError **err)
{
    enum backend_kind kind;
    struct backend *b;

    if (!qom_type) {
        fail(err, HM_ERROR_INVALID, "Parameter 'qom-type' is missing");
        return NULL;
    }
    if (!backend_kind_from_name(qom_type, &kind)) {
        fail(err, HM_ERROR_INVALID, "Invalid parameter 'qom-type': unknown "
             "object type '%s' (expected memory-backend-ram, "
             "memory-backend-file or memory-backend-memfd)", qom_type);
        return NULL;
    }
    if (!backend_check_id(id, err))
        return NULL;
    b = g_new0(struct backend, 1);
    b->id = g_strdup(id);
    b->kind = kind;
    b->fd = -1;
    b->page_size = sysconf(_SC_PAGESIZE);
    if (!backend_parse_props(kind, props, &b->cfg, err) ||
        !backend_open(b, err) || !map_memory(b, err) ||
        !backend_apply_advice(b, err) || !apply_policy(b, err)) {
        if (b->created_path)
            unlink(b->created_path);
        backend_free(b);
        return NULL;
    }
    g_clear_pointer(&b->created_path, g_free);
    return b;
}

void backend_free(struct backend *b)
{
    if (!b)
        return;
    g_warn_if_fail(!atomic_load(&b->prealloc_running));
    if (b->addr) {
        /* discard-data: the file's contents need not survive us, so drop
         * them instead of letting the kernel write them back. */
        if (b->kind == BACKEND_FILE && b->cfg.discard_data && b->cfg.share)
            madvise(b->addr, b->cfg.size, MADV_REMOVE);
        munmap(b->addr, b->cfg.size);
    }
    if (b->fd >= 0)
        close(b->fd);
    backend_config_clear(&b->cfg);
    g_free(b->created_path);
    g_free(b->id);
    g_free(b);
}

const char *backend_id(const struct backend *b)
{
    return b->id;
}

const char *backend_type(const struct backend *b)
{
    return backend_kind_name(b->kind);
}

void *backend_host_addr(const struct backend *b)
{
    return b->addr;
}

uint64_t backend_size(const struct backend *b)
{
    return b->cfg.size;
}

uint64_t backend_page_size(const struct backend *b)
{
    return b->page_size;
}

bool backend_prealloc_requested(const struct backend *b)
{
    return b->cfg.prealloc;
}

unsigned backend_prealloc_threads(const struct backend *b)
{
    return b->cfg.prealloc_threads;
}

bool backend_readonly(const struct backend *b)
{
    return b->cfg.readonly;
}

bool backend_in_use(const struct backend *b)
{
    return b->in_use;
}

void backend_set_in_use(struct backend *b, bool in_use)
{
    b->in_use = in_use;
}

/* query-memdev's Memdev (qapi/machine.json). */
json_object *backend_describe(const struct backend *b)
{
    const struct backend_config *c = &b->cfg;
    json_object *o = json_object_new_object();
    json_object *nodes = json_object_new_array();

    for (unsigned n = 0; n < BACKEND_MAX_HOST_NODES; n++) {
        if (c->host_nodes[n / (8 * sizeof(unsigned long))] &
            (1UL << (n % (8 * sizeof(unsigned long)))))
            json_object_array_add(nodes, json_object_new_int(n));
    }
    json_object_object_add(o, "id", json_object_new_string(b->id));
    json_object_object_add(o, "size", json_object_new_uint64(c->size));
    json_object_object_add(o, "merge", json_object_new_boolean(c->merge));
    json_object_object_add(o, "dump", json_object_new_boolean(c->dump));
    json_object_object_add(o, "prealloc",
                           json_object_new_boolean(c->prealloc));
    json_object_object_add(o, "share", json_object_new_boolean(c->share));
    json_object_object_add(o, "reserve", json_object_new_boolean(c->reserve));
    json_object_object_add(o, "host-nodes", nodes);
    json_object_object_add(o, "policy",
                           json_object_new_string(
                               backend_policy_name(c->policy)));
    return o;
}
