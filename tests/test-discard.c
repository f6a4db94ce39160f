/*
 * End-to-end: the host gets a DIMM's memory back. The real hotmem boots
 * hotmem-guest; each case hot-adds a DIMM whose backend is preallocated
 * (so the host's memory is in use, as after a guest wrote all of it),
 * hot-removes it (device_del, the guest's eject, DEVICE_DELETED), deletes
 * the backend (object-del), and measures the host's memory at each step:
 *
 *   - memfd, and a shared file in a tmpfs directory (unlinked at once):
 *     Shmem in /proc/meminfo;
 *   - a shared named file with discard-data=on: its allocated blocks (the
 *     file stays, its contents are dropped); without discard-data the file
 *     keeps them (a control: the measurement sees memory that is held);
 *   - hugetlb memfd and a hugetlbfs file: HugePages_Free.
 *
 * As in QEMU, unplugging a DIMM does not discard its memory: the backend
 * still holds it (another device_add may use the backend again, data and
 * all) until object-del, which returns it. Skips where /dev/kvm cannot be
 * used, where no tmpfs is at hand, and where no huge pages can be had (the
 * pool is raised for the test and restored when hotmem runs as root).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <linux/magic.h>

#include "qmpclient.h"
#include "vmrunner.h"

#define TIMEOUT_MS      60000
#define MIB             ((uint64_t)1 << 20)
#define SHMEM_SIZE      (256 * MIB)
#define HUGE_SIZE       (64 * MIB)
#define HUGE_DIR        "/sys/kernel/mm/hugepages/hugepages-2048kB/"

enum measure { SHMEM, FILE_BLOCKS, HUGE_FREE };

struct discard_case {
    const char *path;
    const char *type;
    enum measure measure;
    bool tmpfs_dir;             /* mem-path: a tmpfs directory */
    bool named_file;            /* mem-path: a file in it */
    bool discard_data;
    bool hugetlb_memfd;
    bool hugetlbfs;             /* mem-path: a hugetlbfs mount */
};

struct fixture {
    char *dir;                  /* sockets, and mem-path for file cases */
    char *file;                 /* the named file, if any */
    bool mounted;
    long saved_pool;            /* nr_hugepages to restore, or -1 */
    struct vm *vm;
    struct qmp *qmp;
};

static long read_long(const char *path)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    return strtol(text, NULL, 10);
}

static bool write_long(const char *path, long v)
{
    FILE *f = fopen(path, "w");
    bool ok;

    if (!f)
        return false;
    ok = fprintf(f, "%ld", v) > 0;
    return fclose(f) == 0 && ok;
}

/* A /proc/meminfo line's value in bytes ("Shmem:" is in kB). */
static uint64_t meminfo(const char *key)
{
    g_autofree char *text = NULL;
    const char *at;

    g_assert_true(g_file_get_contents("/proc/meminfo", &text, NULL, NULL));
    at = strstr(text, key);
    g_assert_nonnull(at);
    return g_ascii_strtoull(at + strlen(key), NULL, 10) << 10;
}

/* What the case measures: bytes of host memory held now. */
static uint64_t held(const struct discard_case *c, struct fixture *f)
{
    struct stat st;

    switch (c->measure) {
    case SHMEM:
        return meminfo("Shmem:");
    case FILE_BLOCKS:
        g_assert_cmpint(stat(f->file, &st), ==, 0);
        return (uint64_t)st.st_blocks * 512;
    case HUGE_FREE:
        /* Huge pages in use: the pool less its free ones. */
        return (uint64_t)(read_long(HUGE_DIR "nr_hugepages") -
                          read_long(HUGE_DIR "free_hugepages")) * 2 * MIB;
    }
    g_assert_not_reached();
}

/* Makes want 2 MiB pages free, raising the pool if need be (root). */
static const char *get_huge_pages(struct fixture *f, long want)
{
    long pool = read_long(HUGE_DIR "nr_hugepages");

    if (pool < 0)
        return "no 2 MiB huge pages on this host";
    if (read_long(HUGE_DIR "free_hugepages") >= want)
        return NULL;
    if (write_long(HUGE_DIR "nr_hugepages", pool + want)) {
        f->saved_pool = pool;
        if (read_long(HUGE_DIR "free_hugepages") >= want)
            return NULL;
    }
    return "cannot get free 2 MiB huge pages (vm.nr_hugepages; root may "
           "raise it)";
}

/* Makes what the case needs (huge pages, directories): NULL, or why the
 * case must be skipped. */
static const char *prepare(const struct discard_case *c, struct fixture *f)
{
    struct statfs fs;
    const char *why;

    if (c->hugetlb_memfd || c->hugetlbfs) {
        why = get_huge_pages(f, HUGE_SIZE / (2 * MIB));
        if (why)
            return why;
    }
    if (c->hugetlbfs) {
        f->dir = g_dir_make_tmp("hotmem-discard-XXXXXX", NULL);
        if (mount("hugetlbfs", f->dir, "hugetlbfs", 0, "pagesize=2M") < 0)
            return "cannot mount hugetlbfs (not root?)";
        f->mounted = true;
        return NULL;
    }
    if (c->tmpfs_dir) {
        if (statfs("/dev/shm", &fs) < 0 || fs.f_type != TMPFS_MAGIC)
            return "/dev/shm is no tmpfs";
        f->dir = g_build_filename("/dev/shm", "hotmem-discard-XXXXXX", NULL);
        g_assert_nonnull(g_mkdtemp(f->dir));
        if (c->named_file)
            f->file = g_build_filename(f->dir, "dimm", NULL);
        return NULL;
    }
    f->dir = g_dir_make_tmp("hotmem-discard-XXXXXX", NULL);
    return NULL;
}

static char *object_json(const struct discard_case *c, struct fixture *f)
{
    uint64_t size = c->measure == HUGE_FREE ? HUGE_SIZE : SHMEM_SIZE;
    g_autofree char *extra = NULL;

    if (c->hugetlb_memfd)
        extra = g_strdup(", \"hugetlb\": true");
    else if (c->hugetlbfs || c->tmpfs_dir)
        extra = g_strdup_printf(", \"mem-path\": \"%s\", \"share\": true%s",
                                f->file ? f->file : f->dir,
                                c->discard_data ? ", \"discard-data\": true"
                                                : "");
    return g_strdup_printf("{\"execute\": \"object-add\", \"arguments\": {"
                           "\"qom-type\": \"%s\", \"id\": \"m\", \"size\": %"
                           G_GUINT64_FORMAT ", \"prealloc\": true%s}}",
                           c->type, size, extra ? extra : "");
}

static void start_vm(struct fixture *f)
{
    g_autofree char *sock = g_build_filename(f->dir, "qmp.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off",
                                            sock);
    g_autofree char *ready = NULL;
    const char *args[] = { "-m", "256M,slots=2,maxmem=2G", "-qmp", spec,
                           NULL };

    if (f->mounted) {       /* the socket cannot live on hugetlbfs */
        g_free(sock);
        sock = g_strdup_printf("%s.sock", f->dir);
        g_free(spec);
        spec = g_strdup_printf("unix:%s,server=on,wait=off", sock);
        args[3] = spec;
    }
    f->vm = vm_spawn(args);
    ready = vm_wait_line(f->vm, "hotmem-guest: ready", TIMEOUT_MS);
    if (!ready)
        g_error("no ready line; stderr:\n%s", vm_stderr(f->vm));
    f->qmp = qmp_connect(sock, TIMEOUT_MS);
}

static void cleanup(struct fixture *f)
{
    if (f->vm) {
        qmp_close(f->qmp);
        vm_free(f->vm);
    }
    if (f->dir) {
        g_autofree char *sock = g_build_filename(f->dir, "qmp.sock", NULL);
        g_autofree char *outer = g_strdup_printf("%s.sock", f->dir);

        g_unlink(sock);
        g_unlink(outer);
        if (f->file)
            g_unlink(f->file);
        if (f->mounted)
            umount2(f->dir, MNT_DETACH);
        g_rmdir(f->dir);
    }
    if (f->saved_pool >= 0)
        write_long(HUGE_DIR "nr_hugepages", f->saved_pool);
    g_free(f->file);
    g_free(f->dir);
}

static void expect_near(const char *what, uint64_t got, uint64_t want,
                        uint64_t size)
{
    g_test_message("%s: %" G_GUINT64_FORMAT " MiB (want %" G_GUINT64_FORMAT
                   " MiB)", what, (guint64)(got / MIB), (guint64)(want / MIB));
    /* A quarter of the DIMM's size either way: other processes may use
     * shared memory meanwhile. */
    if (got + size / 4 < want || got > want + size / 4)
        g_error("%s: 0x%" G_GINT64_MODIFIER "x bytes of host memory, want "
                "about 0x%" G_GINT64_MODIFIER "x", what, got, want);
}

static void test_discard(gconstpointer data)
{
    const struct discard_case *c = data;
    struct fixture f = { .saved_pool = -1 };
    uint64_t size = c->measure == HUGE_FREE ? HUGE_SIZE : SHMEM_SIZE;
    uint64_t before, plugged;
    g_autofree char *add = NULL, *line = NULL;
    const char *why;
    json_object *ev;

    if (vm_kvm_unavailable()) {
        g_test_skip(vm_kvm_unavailable());
        return;
    }
    why = prepare(c, &f);
    if (why) {
        g_test_skip(why);
        cleanup(&f);
        return;
    }
    start_vm(&f);
    add = object_json(c, &f);
    before = c->measure == FILE_BLOCKS ? 0 : held(c, &f);
    qmp_expect_return(f.qmp, qmp_call(f.qmp, add));
    qmp_ok(f.qmp, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"d\", \"memdev\": \"m\"}}");
    line = vm_wait_line(f.vm, "hotmem-guest: dimm slot=", TIMEOUT_MS);
    g_assert_nonnull(line);
    g_assert_nonnull(strstr(line, "online addr="));
    plugged = held(c, &f);
    expect_near("plugged", plugged, before + size, size);

    qmp_ok(f.qmp, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"d\"}}");
    ev = qmp_wait_event(f.qmp, "DEVICE_DELETED", TIMEOUT_MS);
    g_assert_nonnull(ev);
    json_object_put(ev);
    /* As in QEMU: the backend keeps the memory until object-del. */
    expect_near("unplugged, backend kept", held(c, &f), before + size, size);

    qmp_ok(f.qmp, "{\"execute\": \"object-del\", \"arguments\": "
           "{\"id\": \"m\"}}");
    if (c->named_file && !c->discard_data) {
        /* The file keeps its contents; unlinking it frees them. */
        expect_near("object deleted, file kept", held(c, &f), before + size,
                    size);
    } else {
        expect_near("object deleted", held(c, &f), before, size);
    }
    cleanup(&f);
}

static const struct discard_case cases[] = {
    { "/discard/memfd", "memory-backend-memfd", SHMEM, .tmpfs_dir = false },
    { "/discard/file-shared-tmpfs-dir", "memory-backend-file", SHMEM,
      .tmpfs_dir = true },
    { "/discard/file-shared-discard-data", "memory-backend-file",
      FILE_BLOCKS, .tmpfs_dir = true, .named_file = true,
      .discard_data = true },
    { "/discard/file-shared-kept", "memory-backend-file", FILE_BLOCKS,
      .tmpfs_dir = true, .named_file = true },
    { "/discard/memfd-hugetlb", "memory-backend-memfd", HUGE_FREE,
      .hugetlb_memfd = true },
    { "/discard/hugetlbfs", "memory-backend-file", HUGE_FREE,
      .hugetlbfs = true },
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++)
        g_test_add_data_func(cases[i].path, &cases[i], test_discard);
    return g_test_run();
}
