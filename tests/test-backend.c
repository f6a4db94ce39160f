/*
 * Memory backends without KVM: every type from JSON-typed and from string
 * properties, every rejected property bag, sharing through a second view of
 * the memory, and preallocation (residency via mincore(2), threads, the
 * touch fallback, the asynchronous path on a running main loop).
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "backend/backend_internal.h"
#include "errors.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define HUGE_DIR "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static json_object *parse(const char *json)
{
    json_object *o = json_tokener_parse(json);

    g_assert_nonnull(o);
    return o;
}

static struct backend *create(const char *type, const char *json,
                              GError **err)
{
    json_object *props = parse(json);
    struct backend *b = backend_new(type, "mem0", props, err);

    json_object_put(props);
    return b;
}

static struct backend *create_ok(const char *type, const char *json)
{
    GError *err = NULL;
    struct backend *b = create(type, json, &err);

    g_assert_no_error(err);
    g_assert_nonnull(b);
    return b;
}

/* A byte written at either end reads back. */
static void check_usable(struct backend *b)
{
    volatile uint8_t *p = backend_host_addr(b);
    uint64_t last = backend_size(b) - 1;

    p[0] = 0x5a;
    p[last] = 0xa5;
    g_assert_cmpuint(p[0], ==, 0x5a);
    g_assert_cmpuint(p[last], ==, 0xa5);
}

static uint64_t resident_pages(struct backend *b)
{
    uint64_t pages = backend_size(b) / 4096, n = 0;
    g_autofree unsigned char *vec = g_malloc(pages);

    g_assert_cmpint(mincore(backend_host_addr(b), backend_size(b), vec), ==, 0);
    for (uint64_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    return n;
}

/*
 * A field of the /proc/self/smaps entry that holds addr (the kernel may
 * have merged the mapping with a neighbour that has the same flags).
 */
static char *smaps_field(void *addr, const char *field)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    bool inside = false;

    g_assert_true(g_file_get_contents("/proc/self/smaps", &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        unsigned long lo, hi;

        if (sscanf(*l, "%lx-%lx ", &lo, &hi) == 2)
            inside = lo <= (uintptr_t)addr && (uintptr_t)addr < hi;
        else if (inside && g_str_has_prefix(*l, field))
            return g_strdup(*l);
    }
    g_error("no %s for %p in /proc/self/smaps", field, addr);
}

static char *make_tmpdir(void)
{
    char *dir = g_dir_make_tmp("hotmem-backend-XXXXXX", NULL);

    g_assert_nonnull(dir);
    return dir;
}

static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        g_unlink(path);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

static void write_pattern(const char *path, uint64_t len)
{
    g_autofree char *buf = g_malloc(len);

    for (uint64_t i = 0; i < len; i++)
        buf[i] = (char)(i * 7 + 3);
    g_assert_true(g_file_set_contents(path, buf, len, NULL));
}

static bool has_pattern(const uint8_t *p, uint64_t from, uint64_t len)
{
    for (uint64_t i = from; i < from + len; i++) {
        if (p[i - from] != (uint8_t)(i * 7 + 3))
            return false;
    }
    return true;
}

/* ---- creation from JSON-typed and from string properties ---- */

static void test_ram_json(void)
{
    struct backend *b = create_ok("memory-backend-ram",
        "{\"size\": 4194304, \"share\": false, \"merge\": true, "
        "\"dump\": false, \"prealloc-threads\": 2}");

    g_assert_cmpstr(backend_type(b), ==, "memory-backend-ram");
    g_assert_cmpstr(backend_id(b), ==, "mem0");
    g_assert_cmpuint(backend_size(b), ==, 4 * MiB);
    g_assert_cmpuint(backend_page_size(b), ==, 4096);
    g_assert_cmpuint(backend_prealloc_threads(b), ==, 2);
    g_assert_false(backend_prealloc_requested(b));
    g_assert_cmpuint((uintptr_t)backend_host_addr(b) % (2 * MiB), ==, 0);
    check_usable(b);
    {
        g_autofree char *flags = smaps_field(backend_host_addr(b),
                                             "VmFlags:");
        g_assert_nonnull(strstr(flags, " dd"));     /* dump=off */
    }
    backend_free(b);
}

static void test_ram_strings(void)
{
    struct backend *b = create_ok("memory-backend-ram",
        "{\"size\": \"8M\", \"share\": \"on\", \"merge\": \"off\", "
        "\"dump\": \"yes\", \"prealloc\": \"true\", "
        "\"prealloc-threads\": \"3\", \"reserve\": \"on\"}");
    g_autofree char *flags = smaps_field(backend_host_addr(b), "VmFlags:");

    g_assert_cmpuint(backend_size(b), ==, 8 * MiB);
    g_assert_true(backend_prealloc_requested(b));
    g_assert_cmpuint(backend_prealloc_threads(b), ==, 3);
    g_assert_nonnull(strstr(flags, " sh"));     /* share=on: MAP_SHARED */
    g_assert_null(strstr(flags, " dd"));
    check_usable(b);
    backend_free(b);
}

static void test_default_threads(void)
{
    struct backend *b = create_ok("memory-backend-ram", "{\"size\": 4096}");

    g_assert_cmpuint(backend_prealloc_threads(b), ==,
                     MIN(g_get_num_processors(), 16u));
    backend_free(b);
}

/* The default follows the CPUs this process may run on, not the host's. */
static void test_default_threads_affinity(void)
{
    cpu_set_t saved, one;
    struct backend *b;

    g_assert_cmpint(sched_getaffinity(0, sizeof(saved), &saved), ==, 0);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &saved)) {
            CPU_SET(c, &one);
            break;
        }
    }
    g_assert_cmpint(sched_setaffinity(0, sizeof(one), &one), ==, 0);
    b = create_ok("memory-backend-ram", "{\"size\": 4096}");
    g_assert_cmpint(sched_setaffinity(0, sizeof(saved), &saved), ==, 0);
    g_assert_cmpuint(backend_prealloc_threads(b), ==, 1);
    backend_free(b);
}

static void test_file_json(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "ram", NULL);
    g_autofree char *json = g_strdup_printf(
        "{\"size\": 4194304, \"mem-path\": \"%s\", \"share\": true}", path);
    struct backend *b = create_ok("memory-backend-file", json);
    GStatBuf st;

    check_usable(b);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpuint(st.st_size, ==, 4 * MiB);
    backend_free(b);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));  /* kept, as QEMU */
    remove_tree(dir);
}

/* share=on writes reach the file; share=off writes stay private. */
static void test_file_share(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "ram", NULL);

    for (int share = 0; share < 2; share++) {
        g_autofree char *json = g_strdup_printf(
            "{\"size\": \"64K\", \"mem-path\": \"%s\", \"share\": \"%s\"}",
            path, share ? "on" : "off");
        struct backend *b = create_ok("memory-backend-file", json);
        uint8_t *p = backend_host_addr(b);
        uint8_t byte = 0;
        int fd = open(path, O_RDONLY);

        p[100] = 0x42 + share;
        g_assert_cmpint(pread(fd, &byte, 1, 100), ==, 1);
        g_assert_cmpuint(byte, ==, share ? 0x43 : 0);
        close(fd);
        backend_free(b);
    }
    remove_tree(dir);
}

/* A directory mem-path gets a file that is unlinked at once. */
static void test_file_directory(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *json = g_strdup_printf(
        "{\"size\": \"1M\", \"mem-path\": \"%s\"}", dir);
    struct backend *b = create_ok("memory-backend-file", json);
    g_autofree char *maps = NULL;
    GDir *d = g_dir_open(dir, 0, NULL);

    g_assert_null(g_dir_read_name(d));
    g_dir_close(d);
    check_usable(b);
    g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
    g_assert_nonnull(strstr(maps, "hotmem_back_mem.mem0."));
    g_assert_nonnull(strstr(maps, "(deleted)"));
    backend_free(b);
    remove_tree(dir);
}

/*
 * An existing longer file is neither truncated nor overwritten, and
 * preallocation keeps its contents on every path: MADV_POPULATE_WRITE and
 * the touch fallback, shared and private.
 */
static void test_file_existing_prealloc(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "ram", NULL);

    write_pattern(path, 3 * MiB);
    for (int i = 0; i < 4; i++) {
        bool touch = i & 1, share = i & 2;
        g_autofree char *json = g_strdup_printf(
            "{\"size\": \"2M\", \"mem-path\": \"%s\", \"share\": %s, "
            "\"prealloc\": true, \"prealloc-threads\": 2}", path,
            share ? "true" : "false");
        struct backend *b = create_ok("memory-backend-file", json);
        GError *err = NULL;
        GStatBuf st;

        backend_prealloc_set_method(touch ? BACKEND_PREALLOC_TOUCH
                                          : BACKEND_PREALLOC_AUTO);
        g_assert_true(backend_prealloc(b, NULL, NULL, &err));
        g_assert_no_error(err);
        g_assert_true(has_pattern(backend_host_addr(b), 0, 2 * MiB));
        g_assert_cmpuint(resident_pages(b), ==, 2 * MiB / 4096);
        backend_free(b);
        g_assert_cmpint(g_stat(path, &st), ==, 0);
        g_assert_cmpuint(st.st_size, ==, 3 * MiB);
    }
    backend_prealloc_set_method(BACKEND_PREALLOC_AUTO);
    remove_tree(dir);
}

static void test_file_extend_offset_readonly(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "ram", NULL);
    g_autofree char *j1 = g_strdup_printf(
        "{\"size\": \"1M\", \"offset\": \"64K\", \"mem-path\": \"%s\"}", path);
    g_autofree char *j2 = g_strdup_printf(
        "{\"size\": \"1M\", \"readonly\": \"on\", \"prealloc\": \"on\", "
        "\"mem-path\": \"%s\"}", path);
    struct backend *b;
    GError *err = NULL;
    GStatBuf st;

    write_pattern(path, 128 * KiB);
    b = create_ok("memory-backend-file", j1);   /* grows the file */
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpuint(st.st_size, ==, MiB + 64 * KiB);
    g_assert_true(has_pattern(backend_host_addr(b), 64 * KiB, 64 * KiB));
    backend_free(b);

    b = create_ok("memory-backend-file", j2);
    g_assert_true(backend_prealloc(b, NULL, NULL, &err));
    g_assert_no_error(err);
    g_assert_true(has_pattern(backend_host_addr(b), 0, 128 * KiB));
    backend_free(b);
    remove_tree(dir);
}

static void test_file_align(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *json = g_strdup_printf(
        "{\"size\": \"8M\", \"align\": \"8M\", \"mem-path\": \"%s\"}", dir);
    struct backend *b = create_ok("memory-backend-file", json);

    g_assert_cmpuint((uintptr_t)backend_host_addr(b) % (8 * MiB), ==, 0);
    check_usable(b);
    backend_free(b);
    remove_tree(dir);
}

/* The file a failed backend_new() created is gone again. */
static void test_file_no_leftovers(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "new", NULL);
    g_autofree char *json = g_strdup_printf(
        "{\"size\": \"1M\", \"align\": \"3M\", \"mem-path\": \"%s\"}", path);
    GError *err = NULL;

    g_assert_null(create("memory-backend-file", json, &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "power of two"));
    g_error_free(err);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    remove_tree(dir);
}

static void test_memfd(void)
{
    const char *bags[] = {
        "{\"size\": 2097152}",
        "{\"size\": \"2M\", \"seal\": \"on\", \"hugetlb\": \"off\"}",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(bags); i++) {
        struct backend *b = create_ok("memory-backend-memfd", bags[i]);
        json_object *d = backend_describe(b);
        json_object *share;
        uint8_t *view;

        check_usable(b);
        g_assert_true(json_object_object_get_ex(d, "share", &share));
        g_assert_true(json_object_get_boolean(share));   /* memfd default */
        json_object_put(d);
        /* share=on: a second mapping of the memfd sees the same bytes. */
        view = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, b->fd, 0);
        g_assert_true(view != MAP_FAILED);
        g_assert_cmpuint(view[2 * MiB - 1], ==, 0xa5);
        munmap(view, 2 * MiB);
        g_assert_cmpint(fcntl(b->fd, F_GET_SEALS), ==,
                        F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
        g_assert_cmpint(ftruncate(b->fd, 4 * MiB), ==, -1);
        g_assert_cmpint(errno, ==, EPERM);
        backend_free(b);
    }
}

/* The mapping at addr has the VmFlag flag ("hg", "nh"; proc(5) smaps). */
static bool has_vm_flag(void *addr, const char *flag)
{
    g_autofree char *line = smaps_field(addr, "VmFlags:");
    g_auto(GStrv) words = g_strsplit(line + strlen("VmFlags:"), " ", -1);

    return g_strv_contains((const char *const *)words, flag);
}

/*
 * Guest memory is advised for transparent huge pages as QEMU does: the
 * "hg" VmFlag of MADV_HUGEPAGE, on a 2 MiB-aligned mapping, for anonymous,
 * memfd and file backends (shared or not) and the boot RAM. thp=off, the
 * opt-out, advises MADV_NOHUGEPAGE ("nh"), which holds even where the
 * host's THP mode is "always".
 */
static void test_huge_page_advice(void)
{
    g_autofree char *dir = make_tmpdir();
    const struct {
        const char *type;
        bool file, share;
    } cases[] = {
        { "memory-backend-ram", false, false },
        { "memory-backend-memfd", false, true },
        { "memory-backend-file", true, true },
        { "memory-backend-file", true, false },
    };
    g_autoptr(GError) err = NULL;
    void *ram;

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        for (int thp = -1; thp <= 1; thp++) {
            g_autofree char *extra = !cases[i].file ? g_strdup("") :
                g_strdup_printf(", \"mem-path\": \"%s\", \"share\": %s", dir,
                                cases[i].share ? "true" : "false");
            g_autofree char *json = g_strdup_printf(
                "{\"size\": \"6M\"%s%s}", extra,
                thp < 0 ? "" : thp ? ", \"thp\": true" : ", \"thp\": \"off\"");
            struct backend *b = create_ok(cases[i].type, json);
            void *addr = backend_host_addr(b);

            if (has_vm_flag(addr, "hg") != (thp != 0) ||
                has_vm_flag(addr, "nh") != (thp == 0))
                g_error("%s %s: %s", cases[i].type, json,
                        smaps_field(addr, "VmFlags:"));
            g_assert_cmpuint((uintptr_t)addr % (2 * MiB), ==, 0);
            backend_free(b);
        }
    }
    ram = backend_map_guest_ram(64 * MiB, &err);
    g_assert_no_error(err);
    g_assert_cmpuint((uintptr_t)ram % (2 * MiB), ==, 0);
    g_assert_true(has_vm_flag(ram, "hg"));
    munmap(ram, 64 * MiB);
    remove_tree(dir);
}

static void test_memfd_unsealed_private(void)
{
    struct backend *b = create_ok("memory-backend-memfd",
        "{\"size\": \"1M\", \"seal\": false, \"share\": false}");
    uint8_t *view;

    check_usable(b);
    g_assert_cmpint(fcntl(b->fd, F_GET_SEALS), ==, F_SEAL_SEAL);
    view = mmap(NULL, MiB, PROT_READ, MAP_SHARED, b->fd, 0);
    g_assert_true(view != MAP_FAILED);
    g_assert_cmpuint(view[0], ==, 0);           /* private writes stay */
    munmap(view, MiB);
    backend_free(b);
}

/* ---- huge pages: the pool is grown for the test and restored ---- */

static long read_long(const char *path)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    return strtol(text, NULL, 10);
}

/* In place: sysfs files cannot be replaced the way g_file_set_contents()
 * does it. */
static bool write_long(const char *path, long v)
{
    FILE *f = fopen(path, "w");
    bool ok;

    if (!f)
        return false;
    ok = fprintf(f, "%ld", v) > 0;
    return fclose(f) == 0 && ok;
}

/* Makes want 2 MiB pages free; *saved is the pool size to restore. */
static bool hugepages_get(long want, long *saved)
{
    *saved = read_long(HUGE_DIR "nr_hugepages");
    if (*saved < 0)
        return false;
    if (read_long(HUGE_DIR "free_hugepages") >= want)
        return true;
    write_long(HUGE_DIR "nr_hugepages", *saved + want);
    if (read_long(HUGE_DIR "free_hugepages") >= want)
        return true;
    write_long(HUGE_DIR "nr_hugepages", *saved);
    return false;
}

static void expect_error(struct backend *b, GError *err, const char *needle)
{
    g_assert_null(b);
    g_assert_nonnull(err);
    g_assert_true(err->domain == HM_ERROR);
    g_test_message("%s", err->message);
    if (!strstr(err->message, needle))
        g_error("'%s' not in '%s'", needle, err->message);
    g_error_free(err);
}

static void test_memfd_hugetlb(void)
{
    struct backend *b;
    GError *err = NULL;
    long saved;

    if (!hugepages_get(4, &saved)) {
        g_test_skip("cannot get four free 2 MiB huge pages");
        return;
    }
    b = create_ok("memory-backend-memfd", "{\"size\": \"4M\", "
                  "\"hugetlb\": \"on\", \"hugetlbsize\": \"2M\", "
                  "\"prealloc\": true}");
    g_assert_cmpuint(backend_page_size(b), ==, 2 * MiB);
    g_assert_true(backend_prealloc(b, NULL, NULL, &err));
    g_assert_no_error(err);
    check_usable(b);
    backend_free(b);

    b = create("memory-backend-memfd", "{\"size\": \"3M\", \"hugetlb\": true}",
               &err);
    expect_error(b, err, "size 0x300000 is not a multiple of the backend page "
                 "size 0x200000");
    err = NULL;
    b = create("memory-backend-memfd", "{\"size\": \"1G\", \"hugetlb\": true}",
               &err);
    expect_error(b, err, "free huge pages");
    write_long(HUGE_DIR "nr_hugepages", saved);
}

static void test_file_hugetlbfs(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *ok = g_strdup_printf(
        "{\"size\": \"2M\", \"mem-path\": \"%s\", \"share\": true}", dir);
    g_autofree char *bad = g_strdup_printf(
        "{\"size\": \"1M\", \"mem-path\": \"%s\"}", dir);
    struct backend *b;
    GError *err = NULL;
    long saved;

    if (!hugepages_get(1, &saved)) {
        g_test_skip("cannot get a free 2 MiB huge page");
    } else if (mount("hugetlbfs", dir, "hugetlbfs", 0, "pagesize=2M") < 0) {
        g_test_skip("cannot mount hugetlbfs (not root?)");
        write_long(HUGE_DIR "nr_hugepages", saved);
    } else {
        b = create_ok("memory-backend-file", ok);
        g_assert_cmpuint(backend_page_size(b), ==, 2 * MiB);
        check_usable(b);
        backend_free(b);
        b = create("memory-backend-file", bad, &err);
        expect_error(b, err, "size 0x100000 is not a multiple of the backend "
                     "page size 0x200000");
        umount2(dir, MNT_DETACH);
        write_long(HUGE_DIR "nr_hugepages", saved);
    }
    remove_tree(dir);
}

/* ---- NUMA policy ---- */

static void test_numa_bind(void)
{
    const char *bags[] = {
        "{\"size\": \"2M\", \"policy\": \"bind\", \"host-nodes\": [0]}",
        "{\"size\": \"2M\", \"policy\": \"bind\", \"host-nodes\": \"0\"}",
        "{\"size\": \"2M\", \"policy\": \"interleave\", "
        "\"host-nodes\": \"0-0\"}",
        "{\"size\": \"2M\", \"policy\": \"preferred\", \"host-nodes\": [\"0\"]}",
    };
    const int modes[] = { MPOL_BIND, MPOL_BIND, MPOL_INTERLEAVE,
                          MPOL_PREFERRED };

    for (unsigned i = 0; i < G_N_ELEMENTS(bags); i++) {
        struct backend *b = create_ok("memory-backend-ram", bags[i]);
        json_object *d = backend_describe(b);
        unsigned long mask[2] = { 0 };
        int mode = -1;

        g_assert_cmpstr(json_object_to_json_string(
            json_object_object_get(d, "host-nodes")), ==, "[ 0 ]");
        g_assert_cmpint(syscall(SYS_get_mempolicy, &mode, mask, 128,
                                backend_host_addr(b), MPOL_F_ADDR), ==, 0);
        g_assert_cmpint(mode, ==, modes[i]);
        g_assert_cmpuint(mask[0], ==, 1);
        json_object_put(d);
        backend_free(b);
    }
}

/* ---- every rejected bag ---- */

struct err_case {
    const char *path, *type, *id, *json, *needle;
};

static const struct err_case err_cases[] = {
    { "/backend/error/unknown-prop", "memory-backend-ram", "m",
      "{\"size\": 4096, \"foo\": 1}",
      "Property 'memory-backend-ram.foo' not found" },
    { "/backend/error/file-prop-on-ram", "memory-backend-ram", "m",
      "{\"size\": 4096, \"mem-path\": \"/tmp\"}",
      "Property 'memory-backend-ram.mem-path' not found" },
    { "/backend/error/memfd-prop-on-file", "memory-backend-file", "m",
      "{\"size\": 4096, \"mem-path\": \"/tmp\", \"seal\": true}",
      "Property 'memory-backend-file.seal' not found" },
    { "/backend/error/type/size-bool", "memory-backend-ram", "m",
      "{\"size\": true}", "Invalid parameter type for 'size', expected: "
      "integer" },
    { "/backend/error/type/size-float", "memory-backend-ram", "m",
      "{\"size\": 4096.5}", "Invalid parameter type for 'size'" },
    { "/backend/error/type/share-int", "memory-backend-ram", "m",
      "{\"size\": 4096, \"share\": 1}",
      "Invalid parameter type for 'share', expected: boolean" },
    { "/backend/error/type/mem-path-int", "memory-backend-file", "m",
      "{\"size\": 4096, \"mem-path\": 5}",
      "Invalid parameter type for 'mem-path', expected: string" },
    { "/backend/error/type/policy-int", "memory-backend-ram", "m",
      "{\"size\": 4096, \"policy\": 2}",
      "Invalid parameter type for 'policy', expected: string" },
    { "/backend/error/type/host-nodes-object", "memory-backend-ram", "m",
      "{\"size\": 4096, \"policy\": \"bind\", \"host-nodes\": {}}",
      "Invalid parameter type for 'host-nodes'" },
    { "/backend/error/type/threads-bool", "memory-backend-ram", "m",
      "{\"size\": 4096, \"prealloc-threads\": false}",
      "Invalid parameter type for 'prealloc-threads', expected: integer" },
    { "/backend/error/bool-string", "memory-backend-ram", "m",
      "{\"size\": 4096, \"dump\": \"maybe\"}",
      "Parameter 'dump' expects 'on' or 'off', got 'maybe'" },
    { "/backend/error/thp-string", "memory-backend-memfd", "m",
      "{\"size\": 4096, \"thp\": \"madvise\"}",
      "Parameter 'thp' expects 'on' or 'off', got 'madvise'" },
    { "/backend/error/size/suffix", "memory-backend-ram", "m",
      "{\"size\": \"4X\"}", "unknown suffix" },
    { "/backend/error/size/fraction", "memory-backend-ram", "m",
      "{\"size\": \"1.5\"}", "fractional part but no unit" },
    { "/backend/error/size/negative-string", "memory-backend-ram", "m",
      "{\"size\": \"-4096\"}", "negative" },
    { "/backend/error/size/negative-int", "memory-backend-ram", "m",
      "{\"size\": -4096}", "non-negative" },
    { "/backend/error/size/empty", "memory-backend-ram", "m",
      "{\"size\": \"\"}", "empty" },
    { "/backend/error/size/hex", "memory-backend-ram", "m",
      "{\"size\": \"0x1000\"}", "hexadecimal" },
    { "/backend/error/size/overflow", "memory-backend-ram", "m",
      "{\"size\": \"99999999T\"}", "64 bits" },
    { "/backend/error/size/zero", "memory-backend-ram", "m",
      "{\"size\": 0}", "Property 'memory-backend-ram.size' doesn't take "
      "value '0'" },
    { "/backend/error/size/zero-string", "memory-backend-memfd", "m",
      "{\"size\": \"0\"}", "Property 'memory-backend-memfd.size' doesn't "
      "take value '0'" },
    { "/backend/error/size/missing", "memory-backend-ram", "m",
      "{\"share\": true}", "Parameter 'size' is missing" },
    { "/backend/error/size/unaligned", "memory-backend-ram", "m",
      "{\"size\": 4097}", "size 0x1001 is not a multiple of the backend "
      "page size 0x1000" },
    { "/backend/error/mem-path/missing", "memory-backend-file", "m",
      "{\"size\": 4096}", "Parameter 'mem-path' is missing" },
    { "/backend/error/mem-path/no-dir", "memory-backend-file", "m",
      "{\"size\": 4096, \"mem-path\": \"/nonexistent-hotmem/ram\"}",
      "directory '/nonexistent-hotmem' does not exist" },
    { "/backend/error/mem-path/no-dir-slash", "memory-backend-file", "m",
      "{\"size\": 4096, \"mem-path\": \"/nonexistent-hotmem/\"}",
      "is not an existing directory" },
    { "/backend/error/mem-path/readonly-missing", "memory-backend-file", "m",
      "{\"size\": 4096, \"mem-path\": \"/nonexistent-hotmem/ram\", "
      "\"readonly\": true}", "cannot open" },
    { "/backend/error/reserve-prealloc", "memory-backend-ram", "m",
      "{\"size\": 4096, \"reserve\": false, \"prealloc\": true}",
      "prealloc=on and reserve=off are incompatible" },
    { "/backend/error/hugetlbsize-alone", "memory-backend-memfd", "m",
      "{\"size\": \"2M\", \"hugetlbsize\": \"2M\"}",
      "hugetlbsize=0x200000 needs hugetlb=on" },
    { "/backend/error/hugetlbsize-bad", "memory-backend-memfd", "m",
      "{\"size\": \"6M\", \"hugetlb\": true, \"hugetlbsize\": \"3M\"}",
      "is not a huge page size of this host" },
    { "/backend/error/policy/bad", "memory-backend-ram", "m",
      "{\"size\": 4096, \"policy\": \"fast\"}",
      "Parameter 'policy' does not accept value 'fast'" },
    { "/backend/error/policy/no-nodes", "memory-backend-ram", "m",
      "{\"size\": 4096, \"policy\": \"bind\"}",
      "host-nodes must be set for policy bind" },
    { "/backend/error/policy/nodes-no-policy", "memory-backend-ram", "m",
      "{\"size\": 4096, \"host-nodes\": [0]}",
      "host-nodes must be empty for policy default" },
    { "/backend/error/host-nodes/nonexistent", "memory-backend-ram", "m",
      "{\"size\": 4096, \"policy\": \"bind\", \"host-nodes\": [0, 127]}",
      "host NUMA node 127 does not exist" },
    { "/backend/error/host-nodes/too-big", "memory-backend-ram", "m",
      "{\"size\": 4096, \"policy\": \"bind\", \"host-nodes\": \"0-128\"}",
      "Invalid host-nodes value: 128" },
    { "/backend/error/host-nodes/reversed", "memory-backend-ram", "m",
      "{\"size\": 4096, \"policy\": \"bind\", \"host-nodes\": \"3-1\"}",
      "is empty" },
    { "/backend/error/host-nodes/garbage", "memory-backend-ram", "m",
      "{\"size\": 4096, \"policy\": \"bind\", \"host-nodes\": \"0,1\"}",
      "expects a node number or a range" },
    { "/backend/error/threads-zero", "memory-backend-ram", "m",
      "{\"size\": 4096, \"prealloc-threads\": 0}",
      "prealloc-threads' doesn't take value '0'" },
    { "/backend/error/threads-huge", "memory-backend-ram", "m",
      "{\"size\": 4096, \"prealloc-threads\": \"100000\"}",
      "above the limit" },
    { "/backend/error/props-not-object", "memory-backend-ram", "m",
      "[1]", "must be a JSON object" },
    { "/backend/error/id/digit", "memory-backend-ram", "1abc",
      "{\"size\": 4096}", "Parameter 'id' expects an identifier" },
    { "/backend/error/id/space", "memory-backend-ram", "a b",
      "{\"size\": 4096}", "Parameter 'id' expects an identifier" },
    { "/backend/error/id/empty", "memory-backend-ram", "",
      "{\"size\": 4096}", "Parameter 'id' expects an identifier" },
    { "/backend/error/id/missing", "memory-backend-ram", NULL,
      "{\"size\": 4096}", "Parameter 'id' is missing" },
    { "/backend/error/qom-type", "memory-backend-foo", "m",
      "{\"size\": 4096}", "unknown object type 'memory-backend-foo'" },
    { "/backend/error/qom-type-missing", NULL, "m",
      "{\"size\": 4096}", "Parameter 'qom-type' is missing" },
};

static void test_error(gconstpointer data)
{
    const struct err_case *c = data;
    json_object *props = parse(c->json);
    GError *err = NULL;
    struct backend *b = backend_new(c->type, c->id, props, &err);

    json_object_put(props);
    expect_error(b, err, c->needle);
}

/* ---- preallocation ---- */

struct progress_log {
    unsigned calls;
    uint64_t last, total;
    bool monotonic;
    GThread *thread;
};

static void on_progress(void *opaque, uint64_t done, uint64_t total)
{
    struct progress_log *log = opaque;

    g_assert_true(g_thread_self() == log->thread);
    if (done < log->last)
        log->monotonic = false;
    log->calls++;
    log->last = done;
    log->total = total;
}

static void prealloc_and_check(const char *json, unsigned threads)
{
    struct backend *b = create_ok("memory-backend-ram", json);
    struct progress_log log = { .monotonic = true, .thread = g_thread_self() };
    GError *err = NULL;
    g_autofree char *rss = NULL;

    g_assert_cmpuint(backend_prealloc_threads(b), ==, threads);
    g_assert_cmpuint(resident_pages(b), ==, 0);
    g_assert_true(backend_prealloc(b, on_progress, &log, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(resident_pages(b), ==, backend_size(b) / 4096);
    rss = smaps_field(backend_host_addr(b), "Rss:");
    g_assert_cmpuint(g_ascii_strtoull(rss + 4, NULL, 10), >=,
                     backend_size(b) / KiB);
    g_assert_true(log.monotonic);
    g_assert_cmpuint(log.last, ==, backend_size(b));
    g_assert_cmpuint(log.total, ==, backend_size(b));
    backend_free(b);
}

static void test_prealloc(void)
{
    prealloc_and_check("{\"size\": \"64M\", \"prealloc-threads\": 1}", 1);
    prealloc_and_check("{\"size\": \"256M\", \"prealloc-threads\": 4}", 4);
    /* 3 threads over a page count they do not divide */
    prealloc_and_check("{\"size\": \"65548K\", \"prealloc-threads\": 3}", 3);
    /* more threads than pages */
    prealloc_and_check("{\"size\": \"8K\", \"prealloc-threads\": 5}", 5);
}

static void test_prealloc_touch(void)
{
    backend_prealloc_set_method(BACKEND_PREALLOC_TOUCH);
    prealloc_and_check("{\"size\": \"32M\", \"prealloc-threads\": 2}", 2);
    backend_prealloc_set_method(BACKEND_PREALLOC_AUTO);
}

struct async_state {
    GMainLoop *loop;
    unsigned ticks, ticks_at_done;
    bool done;
    bool on_main_thread;
    GError *err;
    GThread *main_thread;
};

static gboolean on_tick(gpointer data)
{
    struct async_state *s = data;

    s->ticks++;
    return G_SOURCE_CONTINUE;
}

static void on_done(void *opaque, struct backend *b, GError *err)
{
    struct async_state *s = opaque;

    s->done = true;
    s->ticks_at_done = s->ticks;
    s->on_main_thread = g_thread_self() == s->main_thread;
    s->err = err;
    g_main_loop_quit(s->loop);
}

static void run_async(struct backend *b, struct async_state *s, bool cancel)
{
    guint tick;

    s->loop = g_main_loop_new(NULL, FALSE);
    s->main_thread = g_thread_self();
    tick = g_timeout_add(1, on_tick, s);
    backend_prealloc_async(b, on_done, s);
    if (cancel)
        backend_prealloc_cancel(b);
    g_assert_false(s->done);
    g_main_loop_run(s->loop);
    g_source_remove(tick);
    g_main_loop_unref(s->loop);
    g_assert_true(s->done);
    g_assert_true(s->on_main_thread);
}

/* The loop keeps running its timeout while the threads work. */
static void test_prealloc_async(void)
{
    struct backend *b = create_ok("memory-backend-ram",
        "{\"size\": \"512M\", \"prealloc\": true, \"prealloc-threads\": 2}");
    struct async_state s = { 0 };

    run_async(b, &s, false);
    g_assert_no_error(s.err);
    g_assert_cmpuint(s.ticks_at_done, >, 0);
    g_test_message("%u ticks of 1 ms while preallocating 512 MiB",
                   s.ticks_at_done);
    g_assert_cmpuint(resident_pages(b), ==, 512 * MiB / 4096);
    backend_free(b);
}

static void test_prealloc_cancel(void)
{
    struct backend *b = create_ok("memory-backend-ram",
        "{\"size\": \"4G\", \"prealloc\": true, \"prealloc-threads\": 2}");
    struct async_state s = { 0 };

    run_async(b, &s, true);
    g_assert_error(s.err, HM_ERROR, HM_ERROR_FAILED);
    g_assert_nonnull(strstr(s.err->message, "cancelled"));
    g_error_free(s.err);
    g_assert_cmpuint(resident_pages(b), <, 4 * (1ULL << 30) / 4096);
    backend_free(b);
}

/* ---- in use, describe ---- */

static void test_in_use(void)
{
    struct backend *b = create_ok("memory-backend-ram", "{\"size\": 4096}");

    g_assert_false(backend_in_use(b));
    backend_set_in_use(b, true);
    g_assert_true(backend_in_use(b));
    backend_set_in_use(b, false);
    g_assert_false(backend_in_use(b));
    backend_free(b);
}

static void test_describe(void)
{
    struct backend *b = create_ok("memory-backend-ram",
        "{\"size\": \"1M\", \"merge\": \"off\", \"prealloc\": \"on\", "
        "\"policy\": \"bind\", \"host-nodes\": [0]}");
    json_object *d = backend_describe(b);

    g_assert_cmpstr(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
                    ==, "{\"id\":\"mem0\",\"size\":1048576,\"merge\":false,"
                    "\"dump\":true,\"prealloc\":true,\"share\":false,"
                    "\"reserve\":true,\"host-nodes\":[0],\"policy\":\"bind\"}");
    json_object_put(d);
    backend_free(b);

    b = create_ok("memory-backend-memfd", "{\"size\": 4096, \"reserve\": "
                  "\"off\", \"dump\": false}");
    d = backend_describe(b);
    g_assert_cmpstr(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
                    ==, "{\"id\":\"mem0\",\"size\":4096,\"merge\":true,"
                    "\"dump\":false,\"prealloc\":false,\"share\":true,"
                    "\"reserve\":false,\"host-nodes\":[],"
                    "\"policy\":\"default\"}");
    json_object_put(d);
    backend_free(b);
}

/* ---- what the host can give (backend_room.c), on a fake /proc and /sys */

static void put_file(const char *root, const char *rel, const char *text)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);
    g_autofree char *dir = g_path_get_dirname(path);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/* The fake tree, depth first (remove_tree() is one level). */
static void remove_fake_root(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(path, name, NULL);

        if (g_file_test(p, G_FILE_TEST_IS_DIR))
            remove_fake_root(p);
        else
            g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(path);
}

static void test_room_cgroup_v2(void)
{
    g_autofree char *root = g_dir_make_tmp("hotmem-room-XXXXXX", NULL);
    g_autofree char *source = NULL;
    uint64_t room;

    put_file(root, "proc/meminfo", "MemTotal: 4194304 kB\n"
             "MemFree: 10 kB\nMemAvailable: 1048576 kB\n");
    room = backend_host_room(root, BACKEND_MEMORY_RAM, 4096, &source);
    g_assert_cmpuint(room, ==, 1ULL << 30);
    g_assert_cmpstr(source, ==, "MemAvailable in /proc/meminfo");
    g_clear_pointer(&source, g_free);

    /* The cgroup's parent is the tighter limit. */
    put_file(root, "proc/self/cgroup", "0::/a/b\n");
    put_file(root, "sys/fs/cgroup/a/b/memory.max", "max\n");
    put_file(root, "sys/fs/cgroup/a/b/memory.current", "1000\n");
    put_file(root, "sys/fs/cgroup/a/memory.max", "536870912\n");
    put_file(root, "sys/fs/cgroup/a/memory.current", "134217728\n");
    room = backend_host_room(root, BACKEND_MEMORY_RAM, 4096, &source);
    g_assert_cmpuint(room, ==, 384ULL << 20);
    g_assert_cmpstr(source, ==, "memory.max - memory.current in "
                    "/sys/fs/cgroup/a of hotmem's memory cgroup");
    g_clear_pointer(&source, g_free);

    /* Over its limit already: nothing left. */
    put_file(root, "sys/fs/cgroup/a/b/memory.max", "500\n");
    room = backend_host_room(root, BACKEND_MEMORY_RAM, 4096, &source);
    g_assert_cmpuint(room, ==, 0);
    g_clear_pointer(&source, g_free);

    /* A file on a disk is page cache: no limit. */
    room = backend_host_room(root, BACKEND_MEMORY_PAGE_CACHE, 4096, &source);
    g_assert_cmpuint(room, ==, UINT64_MAX);
    g_assert_null(source);
    remove_fake_root(root);
}

static void test_room_cgroup_v1(void)
{
    g_autofree char *root = g_dir_make_tmp("hotmem-room-XXXXXX", NULL);
    g_autofree char *source = NULL;
    uint64_t room;

    put_file(root, "proc/self/cgroup", "5:cpu,cpuacct:/x\n"
             "4:memory:/job\n0::/\n");
    put_file(root, "sys/fs/cgroup/memory/job/memory.limit_in_bytes",
             "1610612736\n");
    put_file(root, "sys/fs/cgroup/memory/job/memory.usage_in_bytes",
             "536870912\n");
    put_file(root, "sys/fs/cgroup/memory/memory.limit_in_bytes",
             "9223372036854771712\n");
    put_file(root, "sys/fs/cgroup/memory/memory.usage_in_bytes", "5\n");
    room = backend_host_room(root, BACKEND_MEMORY_RAM, 4096, &source);
    g_assert_cmpuint(room, ==, 1ULL << 30);
    g_assert_cmpstr(source, ==, "memory.limit_in_bytes - "
                    "memory.usage_in_bytes in /sys/fs/cgroup/memory/job of "
                    "hotmem's memory cgroup");
    remove_fake_root(root);
}

static void test_room_hugetlb(void)
{
    g_autofree char *root = g_dir_make_tmp("hotmem-room-XXXXXX", NULL);
    g_autofree char *source = NULL;
    uint64_t room;

    put_file(root, "proc/meminfo", "MemAvailable: 10 kB\n");
    put_file(root, "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
             "3\n");
    room = backend_host_room(root, BACKEND_MEMORY_HUGETLB, 2 << 20, &source);
    g_assert_cmpuint(room, ==, 6ULL << 20);
    g_assert_cmpstr(source, ==, "free_hugepages in /sys/kernel/mm/hugepages/"
                    "hugepages-2048kB");
    g_clear_pointer(&source, g_free);
    room = backend_host_room(root, BACKEND_MEMORY_HUGETLB, 1 << 30, &source);
    g_assert_cmpuint(room, ==, 0);
    g_assert_cmpstr(source, ==, "no pool of 1048576 KiB huge pages in "
                    "/sys/kernel/mm/hugepages");
    remove_fake_root(root);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/backend/ram/json", test_ram_json);
    g_test_add_func("/backend/room/cgroup-v2", test_room_cgroup_v2);
    g_test_add_func("/backend/room/cgroup-v1", test_room_cgroup_v1);
    g_test_add_func("/backend/room/hugetlb", test_room_hugetlb);
    g_test_add_func("/backend/ram/strings", test_ram_strings);
    g_test_add_func("/backend/ram/default-threads", test_default_threads);
    g_test_add_func("/backend/ram/default-threads-affinity",
                    test_default_threads_affinity);
    g_test_add_func("/backend/file/json", test_file_json);
    g_test_add_func("/backend/file/share", test_file_share);
    g_test_add_func("/backend/file/directory", test_file_directory);
    g_test_add_func("/backend/file/existing-prealloc",
                    test_file_existing_prealloc);
    g_test_add_func("/backend/file/extend-offset-readonly",
                    test_file_extend_offset_readonly);
    g_test_add_func("/backend/file/align", test_file_align);
    g_test_add_func("/backend/file/no-leftovers", test_file_no_leftovers);
    g_test_add_func("/backend/file/hugetlbfs", test_file_hugetlbfs);
    g_test_add_func("/backend/memfd/sealed-shared", test_memfd);
    g_test_add_func("/backend/memfd/unsealed-private",
                    test_memfd_unsealed_private);
    g_test_add_func("/backend/memfd/hugetlb", test_memfd_hugetlb);
    g_test_add_func("/backend/huge-page-advice", test_huge_page_advice);
    g_test_add_func("/backend/numa/policies", test_numa_bind);
    for (unsigned i = 0; i < G_N_ELEMENTS(err_cases); i++)
        g_test_add_data_func(err_cases[i].path, &err_cases[i], test_error);
    g_test_add_func("/backend/prealloc/threads", test_prealloc);
    g_test_add_func("/backend/prealloc/touch-fallback", test_prealloc_touch);
    g_test_add_func("/backend/prealloc/async", test_prealloc_async);
    g_test_add_func("/backend/prealloc/cancel", test_prealloc_cancel);
    g_test_add_func("/backend/in-use", test_in_use);
    g_test_add_func("/backend/describe", test_describe);
    return g_test_run();
}
