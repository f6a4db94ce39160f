/*
 * Local live update (docs/migration.md, "Local live update"): hotmem
 * boots hotmem-guest with boot RAM from a shared memfd backend
 * (-machine memory-backend=), hot-adds a memfd DIMM, and the guest writes
 * seeded patterns over both; migrate-set-parameters mode=cpr-transfer and
 * migrate over unix: hand the memory to a second hotmem as descriptors.
 * The destination checks every page, writes on, gives the DIMM back; the
 * stream is a few KiB whatever the RAM size, and the source's memory is
 * the destination's (what the new guest writes, the old process reads).
 * Also the refusals: private RAM, a transport that cannot carry
 * descriptors, a destination whose backend cannot take them. Skips where
 * /dev/kvm cannot be used.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

#include "mignode.h"
#include "qmpclient.h"
#include "vmrunner.h"

#define TIMEOUT_MS      60000
#define MEM             "256M,slots=4,maxmem=2G"
#define BOOT_BASE       (uint64_t)0x8000000        /* 128 MiB into boot RAM */
#define RANGE           (uint64_t)0x1000000        /* 16 MiB of each */
#define SEED            "5eed"
#define SEED2           "beef"

struct fixture {
    char *dir;
    struct mig_node src;
    uint64_t dimm_addr;
    char *ranges;       /* "BASE SIZE BASE SIZE" for pattern commands */
};

/* Shared boot RAM, as both sides are started. */
static const char *const boot_args[] = {
    "-object", "memory-backend-memfd,id=ram0,size=256M,share=on",
    "-machine", "memory-backend=ram0", NULL };
/* The destination: boot RAM and the hot-added DIMM on its command line. */
static const char *const dst_args[] = {
    "-object", "memory-backend-memfd,id=ram0,size=256M,share=on",
    "-machine", "memory-backend=ram0",
    "-object", "memory-backend-memfd,id=mem1,size=128M,share=on",
    "-device", "pc-dimm,id=dimm1,memdev=mem1", NULL };

static void start(struct fixture *f, struct mig_node *n, const char *name,
                  const char *const *extra, const char *incoming)
{
    mig_node_start(n, f->dir, name, MEM, extra, incoming);
}

/* The source: shared boot RAM (or private, boot NULL), a DIMM of type. */
static void start_source(struct fixture *f, const char *const *boot,
                         const char *dimm_type)
{
    start(f, &f->src, "src", boot, NULL);
    g_free(mig_line(&f->src, "hotmem-guest: ready"));
    f->dimm_addr = mig_hot_add_dimm(&f->src, dimm_type);
    /* Pages the writer has not reached must read as never written. */
    mig_clear_memcheck(&f->src, f->dimm_addr, f->dimm_addr, RANGE);
    f->ranges = mig_ranges(BOOT_BASE, f->dimm_addr, RANGE);
}

static void setup(struct fixture *f, gconstpointer data)
{
    memset(f, 0, sizeof(*f));
    if (vm_kvm_unavailable())
        return;
    f->dir = g_dir_make_tmp("hotmem-cpr-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
}

static void teardown(struct fixture *f, gconstpointer data)
{
    if (!f->dir)
        return;
    mig_node_stop(&f->src);
    mig_remove_dir(f->dir);
    g_free(f->dir);
    g_free(f->ranges);
}

static bool skipped(struct fixture *f)
{
    if (!f->dir)
        g_test_skip(vm_kvm_unavailable());
    return !f->dir;
}

static void pattern_start(struct fixture *f, struct mig_node *n,
                          const char *seed, unsigned rate, unsigned seconds)
{
    mig_pattern_start(n, seed, rate, seconds, f->ranges);
}

static void pattern_check(struct fixture *f, struct mig_node *n,
                          const char *seed)
{
    mig_pattern_check(n, seed, f->ranges);
}

static gint cmp_u64(gconstpointer a, gconstpointer b)
{
    guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;

    return x < y ? -1 : x > y;
}

static char *socket_uri(struct fixture *f)
{
    return g_strdup_printf("unix:%s/mig-%u.sock", f->dir, g_random_int());
}

static void set_cpr_mode(struct mig_node *n)
{
    qmp_ok(n->qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"mode\": \"cpr-transfer\"}}");
}

/* The inodes of the memfds process pid holds, sorted: "123 456". */
static char *memfd_inodes(int pid)
{
    g_autofree char *dir = g_strdup_printf("/proc/%d/fd", pid);
    GDir *d = g_dir_open(dir, 0, NULL);
    GArray *inos = g_array_new(FALSE, FALSE, sizeof(guint64));
    GString *out = g_string_new("");
    const char *name;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_autofree char *target = g_file_read_link(p, NULL);
        GStatBuf st;
        guint64 ino;

        if (!target || !g_str_has_prefix(target, "/memfd:") ||
            g_stat(p, &st) != 0)
            continue;
        ino = st.st_ino;
        g_array_append_val(inos, ino);
    }
    g_dir_close(d);
    g_array_sort(inos, cmp_u64);
    for (guint i = 0; i < inos->len; i++)
        g_string_append_printf(out, "%s%" G_GUINT64_FORMAT, i ? " " : "",
                               g_array_index(inos, guint64, i));
    g_array_free(inos, TRUE);
    g_assert_cmpuint(out->len, >, 0);
    return g_string_free(out, FALSE);
}

/* Bytes allocated in the memfds process pid holds (their st_blocks). */
static uint64_t memfd_allocated(int pid)
{
    g_autofree char *dir = g_strdup_printf("/proc/%d/fd", pid);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    uint64_t sum = 0;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_autofree char *target = g_file_read_link(p, NULL);
        GStatBuf st;

        if (target && g_str_has_prefix(target, "/memfd:") &&
            g_stat(p, &st) == 0)
            sum += (uint64_t)st.st_blocks * 512;
    }
    g_dir_close(d);
    return sum;
}

/*
 * A live (pre-copy) migration of a memfd guest that touched little of its
 * 384 MiB: neither side allocates the memory the guest never wrote.
 */
static void test_precopy_holes(struct fixture *f, gconstpointer data)
{
    g_autofree char *uri = NULL;
    struct mig_node dst = { 0 };
    uint64_t before, after, on_dst;

    if (skipped(f))
        return;
    start_source(f, boot_args, "memory-backend-memfd");
    pattern_start(f, &f->src, SEED, 0, 1);
    g_free(mig_line(&f->src, "hotmem-guest: pattern done"));
    uri = socket_uri(f);
    start(f, &dst, "dst", dst_args, uri);
    before = memfd_allocated(vm_pid(f->src.vm));
    mig_migrate(&f->src, uri);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    mig_expect_migration_event(&f->src, "device");
    mig_expect_migration_event(&f->src, "completed");
    mig_expect_event(&dst, "RESUME");
    after = memfd_allocated(vm_pid(f->src.vm));
    on_dst = memfd_allocated(vm_pid(dst.vm));
    g_test_message("memfd bytes allocated: source %" G_GUINT64_FORMAT
                   " before, %" G_GUINT64_FORMAT " after; destination %"
                   G_GUINT64_FORMAT, before, after, on_dst);
    /* 2 x 16 MiB of patterns and the guest's own pages, not 384 MiB. */
    g_assert_cmpuint(after, ==, before);
    g_assert_cmpuint(on_dst, <=, before + (4u << 20));
    pattern_check(f, &dst, SEED);
    mig_node_stop(&dst);
}

static void quit_old(struct fixture *f)
{
    qmp_ok(f->src.qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f->src.vm, TIMEOUT_MS), ==, 0);
    mig_node_stop(&f->src);
}

/* data: non-NULL to check the new guest's reads while the old process
 * still exists (the variant below). */
static void test_transfer(struct fixture *f, gconstpointer data)
{
    g_autofree char *uri = NULL, *line = NULL, *src_fds = NULL;
    g_autofree char *dst_fds = NULL;
    struct mig_node dst = { 0 };
    json_object *info, *ram;
    bool old_alive = data != NULL;

    if (skipped(f))
        return;
    start_source(f, boot_args, "memory-backend-memfd");
    uri = socket_uri(f);
    start(f, &dst, "dst", dst_args, uri);
    /* The writer runs through the update and ends on the destination. */
    pattern_start(f, &f->src, SEED, 20000, 2);
    g_usleep(300000);
    set_cpr_mode(&f->src);
    mig_migrate(&f->src, uri);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_event(&f->src, "STOP");
    mig_expect_migration_event(&f->src, "active");
    mig_expect_migration_event(&f->src, "completed");
    info = qmp_return(f->src.qmp, "{\"execute\": \"query-migrate\"}");
    ram = mig_member(info, "ram");
    g_assert_cmpstr(json_object_get_string(mig_member(info, "status")), ==,
                    "completed");
    g_assert_cmpint(json_object_get_int64(mig_member(ram, "total")), ==,
                    (256 + 128) << 20);
    /* No page went over the socket: the stream is the state alone. */
    g_assert_cmpint(json_object_get_int64(mig_member(ram, "normal")), ==, 0);
    g_assert_cmpint(json_object_get_int64(mig_member(ram, "transferred")), <,
                    256 << 10);
    json_object_put(info);
    mig_expect_state(&f->src, "postmigrate");
    /* The old process cannot run the guest again: it is the new one's. */
    qmp_fails(f->src.qmp, "the guest's memory was handed over to another "
              "hotmem (migration mode cpr-transfer): this one cannot run it "
              "again", "{\"execute\": \"cont\"}");
    qmp_fails(f->src.qmp, "cannot run it again",
              "{\"execute\": \"system_reset\"}");
    mig_expect_event(&dst, "RESUME");
    mig_expect_state(&dst, "running");
    /* The same memory, not a copy: the new process holds the old one's
     * memfds (the same inodes) and none of its own any more. */
    src_fds = memfd_inodes(vm_pid(f->src.vm));
    dst_fds = memfd_inodes(vm_pid(dst.vm));
    g_assert_cmpstr(dst_fds, ==, src_fds);
    qmp_fails(f->src.qmp, "the guest was handed over to another hotmem "
              "(cpr-transfer): migrate it from there", "{\"execute\": "
              "\"migrate\", \"arguments\": {\"uri\": \"%s\"}}", uri);
    /*
     * The old process is quit, as QEMU's recipe has it, before the new
     * guest reads the DIMM (the variant transfer-old-alive reads first:
     * on kvm_pvm, ring-3 reads of shared DIMM pages were once seen to
     * read all-ones while the old VM existed; docs/migration.md).
     */
    if (!old_alive)
        quit_old(f);

    g_free(mig_line(&dst, "hotmem-guest: pattern done"));
    pattern_check(f, &dst, SEED);
    /* Going on writing from where it stopped, then checked again. */
    pattern_start(f, &dst, SEED2, 0, 1);
    g_free(mig_line(&dst, "hotmem-guest: pattern done"));
    pattern_check(f, &dst, SEED2);
    if (old_alive)
        quit_old(f);
    /* The DIMM is the destination's to give back. */
    qmp_ok(dst.qmp, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"dimm1\"}}");
    line = mig_line(&dst, "hotmem-guest: dimm slot=0");
    g_assert_nonnull(strstr(line, "ejected"));
    mig_expect_event(&dst, "DEVICE_DELETED");
    mig_node_stop(&dst);
}

static void expect_failed_at_once(struct fixture *f, const char *needle)
{
    json_object *info;

    qmp_fails(f->src.qmp, needle, "{\"execute\": \"migrate\", "
              "\"arguments\": {\"uri\": \"unix:%s/none.sock\"}}", f->dir);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "failed");
    info = qmp_return(f->src.qmp, "{\"execute\": \"query-migrate\"}");
    g_assert_nonnull(strstr(json_object_get_string(mig_member(info,
                                                          "error-desc")),
                            needle));
    json_object_put(info);
    mig_expect_state(&f->src, "running");
}

/* Boot RAM that is no shared backend's: refused, the guest runs on. */
static void test_private_boot_ram(struct fixture *f, gconstpointer data)
{
    if (skipped(f))
        return;
    start_source(f, NULL, "memory-backend-memfd");
    set_cpr_mode(&f->src);
    expect_failed_at_once(f, "Memory region 'ram-below-4g' is not "
                          "compatible with cpr-transfer: it is no memory "
                          "backend object's");
    pattern_start(f, &f->src, SEED, 0, 1);
    g_free(mig_line(&f->src, "hotmem-guest: pattern done"));
    pattern_check(f, &f->src, SEED);
}

static void test_errors(struct fixture *f, gconstpointer data)
{
    g_autofree char *uri = NULL, *line = NULL;
    struct mig_node dst = { 0 };
    json_object *params;
    const char *const bad_dst[] = {
        "-object", "memory-backend-memfd,id=ram0,size=256M,share=on",
        "-machine", "memory-backend=ram0",
        "-object", "memory-backend-ram,id=mem1,size=128M",
        "-device", "pc-dimm,id=dimm1,memdev=mem1", NULL };

    if (skipped(f))
        return;
    start_source(f, boot_args, "memory-backend-ram");
    params = qmp_return(f->src.qmp,
                        "{\"execute\": \"query-migrate-parameters\"}");
    g_assert_cmpstr(json_object_get_string(mig_member(params, "mode")), ==,
                    "normal");
    json_object_put(params);
    qmp_fails(f->src.qmp, "Parameter 'mode' does not accept value 'bogus'",
              "{\"execute\": \"migrate-set-parameters\", \"arguments\": "
              "{\"mode\": \"bogus\"}}");
    qmp_fails(f->src.qmp, "migration mode 'cpr-reboot' is not supported by "
              "hotmem (it has: normal, cpr-transfer)",
              "{\"execute\": \"migrate-set-parameters\", \"arguments\": "
              "{\"mode\": \"cpr-reboot\"}}");
    set_cpr_mode(&f->src);
    params = qmp_return(f->src.qmp,
                        "{\"execute\": \"query-migrate-parameters\"}");
    g_assert_cmpstr(json_object_get_string(mig_member(params, "mode")), ==,
                    "cpr-transfer");
    json_object_put(params);
    /* A private DIMM. */
    expect_failed_at_once(f, "Memory region 'dimm1' is not compatible with "
                          "cpr-transfer: memory backend 'mem1' is "
                          "memory-backend-ram, whose memory is this "
                          "process's own");
    /* Replace it with a shared one. */
    qmp_ok(f->src.qmp, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"dimm1\"}}");
    line = mig_line(&f->src, "hotmem-guest: dimm slot=0");
    g_assert_nonnull(strstr(line, "ejected"));
    g_clear_pointer(&line, g_free);
    mig_expect_event(&f->src, "DEVICE_DELETED");
    qmp_ok(f->src.qmp, "{\"execute\": \"object-del\", \"arguments\": "
           "{\"id\": \"mem1\"}}");
    qmp_ok(f->src.qmp, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-memfd\", \"id\": \"mem1\", "
           "\"size\": 134217728}}");
    qmp_ok(f->src.qmp, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"dimm1\", \"memdev\": "
           "\"mem1\"}}");
    line = mig_line(&f->src, "hotmem-guest: dimm slot=0");
    g_assert_nonnull(strstr(line, "online addr="));
    /* A transport that cannot carry descriptors. */
    qmp_fails(f->src.qmp, "migration mode cpr-transfer hands guest memory "
              "over as file descriptors, which need a unix: socket, not "
              "'tcp:127.0.0.1:1'", "{\"execute\": \"migrate\", "
              "\"arguments\": {\"uri\": \"tcp:127.0.0.1:1\"}}");
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "failed");
    mig_expect_state(&f->src, "running");
    /* A destination whose DIMM backend cannot take the memory: it says
     * why and exits; the source runs on as it was. */
    pattern_start(f, &f->src, SEED, 0, 1);
    g_free(mig_line(&f->src, "hotmem-guest: pattern done"));
    uri = socket_uri(f);
    start(f, &dst, "dst", bad_dst, uri);
    mig_migrate(&f->src, uri);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_event(&f->src, "STOP");
    mig_expect_migration_event(&f->src, "active");
    mig_expect_migration_event(&f->src, "failed");
    mig_expect_event(&f->src, "RESUME");
    mig_expect_state(&f->src, "running");
    g_assert_cmpint(vm_wait_exit(dst.vm, TIMEOUT_MS), ==, 1);
    if (!strstr(vm_stderr(dst.vm), "RAM block 'dimm1': this side's memory "
                "backend 'mem1' is memory-backend-ram"))
        g_error("destination's stderr: %s", vm_stderr(dst.vm));
    mig_node_stop(&dst);
    {
        json_object *info = qmp_return(f->src.qmp,
                                       "{\"execute\": \"query-migrate\"}");

        g_assert_nonnull(strstr(json_object_get_string(
                                    mig_member(info, "error-desc")),
                                "destination refused the stream: RAM block "
                                "'dimm1': this side's memory backend 'mem1' "
                                "is memory-backend-ram"));
        json_object_put(info);
    }
    pattern_check(f, &f->src, SEED);
    pattern_start(f, &f->src, SEED2, 0, 1);
    g_free(mig_line(&f->src, "hotmem-guest: pattern done"));
    pattern_check(f, &f->src, SEED2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/migrate/cpr/precopy-holes", struct fixture, NULL, setup,
               test_precopy_holes, teardown);
    g_test_add("/migrate/cpr/transfer", struct fixture, NULL, setup,
               test_transfer, teardown);
    /*
     * The new guest's reads while the old process still exists: right on
     * a real KVM (the nested host, HOTMEM_RIG=1); on kvm_pvm once seen to
     * read all-ones, so there only when asked (HOTMEM_CPR_OLD_ALIVE=1;
     * docs/migration.md, "Local live update").
     */
    if (!g_strcmp0(g_getenv("HOTMEM_CPR_OLD_ALIVE"), "1") ||
        !g_strcmp0(g_getenv("HOTMEM_RIG"), "1"))
        g_test_add("/migrate/cpr/transfer-old-alive", struct fixture,
                   (void *)1, setup, test_transfer, teardown);
    g_test_add("/migrate/cpr/private-boot-ram", struct fixture, NULL, setup,
               test_private_boot_ram, teardown);
    g_test_add("/migrate/cpr/errors", struct fixture, NULL, setup,
               test_errors, teardown);
    return g_test_run();
}
