/*
 * End-to-end pmemsave and memsave: the real hotmem boots hotmem-guest, the
 * guest writes known bytes (poke, and the check pattern it writes into
 * every DIMM it onlines), and the test compares the files the monitor
 * writes with them. hotmem-guest identity-maps RAM and DIMMs with 2 MiB
 * pages, so a guest-virtual range reads the same bytes as the
 * guest-physical one. Skips where /dev/kvm cannot be used.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

#include "qmpclient.h"
#include "vmrunner.h"

#define TIMEOUT_MS      30000
#define RAM_SIZE        0x20000000ULL       /* -m 512M */
/* What hotmem-guest writes into an onlined DIMM (docs/guest-console.md). */
#define CHECK_XOR       0xa5a5a5a500000000ULL

struct fixture {
    char *dir;
    struct vm *vm;
    struct qmp *qmp;
};

static void setup(struct fixture *f, gconstpointer data)
{
    g_autofree char *sock = NULL, *spec = NULL, *ready = NULL;
    const char *args[] = { "-m", "512M,slots=2,maxmem=2G", "-qmp", NULL,
                           NULL };

    memset(f, 0, sizeof(*f));
    if (vm_kvm_unavailable())
        return;
    f->dir = g_dir_make_tmp("hotmem-memsave-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    sock = g_build_filename(f->dir, "qmp.sock", NULL);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    args[3] = spec;
    f->vm = vm_spawn(args);
    ready = vm_wait_line(f->vm, "hotmem-guest: ready", TIMEOUT_MS);
    if (!ready)
        g_error("no ready line; stderr:\n%s", vm_stderr(f->vm));
    f->qmp = qmp_connect(sock, TIMEOUT_MS);    /* and qmp_capabilities */
}

static void teardown(struct fixture *f, gconstpointer data)
{
    GDir *d;
    const char *name;

    if (!f->vm)
        return;
    qmp_close(f->qmp);
    vm_free(f->vm);
    d = g_dir_open(f->dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);

        g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(f->dir);
    g_free(f->dir);
}

static bool skipped(struct fixture *f)
{
    if (!f->vm)
        g_test_skip(vm_kvm_unavailable());
    return !f->vm;
}

/* Pokes a u64 through the guest console and waits for its answer. */
static void guest_poke(struct fixture *f, uint64_t addr, uint64_t value)
{
    g_autofree char *cmd = g_strdup_printf("poke 0x%" G_GINT64_MODIFIER "x"
                                           " 0x%" G_GINT64_MODIFIER "x",
                                           addr, value);
    g_autofree char *want = g_strdup_printf("hotmem-guest: poke addr=0x%"
                                            G_GINT64_MODIFIER "x", addr);
    g_autofree char *line = NULL;

    g_assert_true(vm_send(f->vm, cmd));
    line = vm_wait_line(f->vm, want, TIMEOUT_MS);
    g_assert_nonnull(line);
}

static char *path_in(struct fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

static GBytes *file_bytes(const char *path)
{
    g_autoptr(GError) err = NULL;
    char *data;
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, &err));
    return g_bytes_new_take(data, len);
}

static uint64_t u64_at(GBytes *b, gsize off)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(b, &len);
    uint64_t v;

    g_assert_cmpuint(off + 8, <=, len);
    memcpy(&v, p + off, 8);
    return v;
}

#define pmemsave(f, addr, size, file) \
    qmp_callf((f)->qmp, "{\"execute\": \"pmemsave\", \"arguments\": "      \
              "{\"val\": %" G_GUINT64_FORMAT ", \"size\": %" G_GUINT64_FORMAT \
              ", \"filename\": \"%s\"}}", (guint64)(addr), (guint64)(size),  \
              (file))
#define memsave(f, addr, size, file) \
    qmp_callf((f)->qmp, "{\"execute\": \"memsave\", \"arguments\": "       \
              "{\"val\": %" G_GUINT64_FORMAT ", \"size\": %" G_GUINT64_FORMAT \
              ", \"filename\": \"%s\"}}", (guint64)(addr), (guint64)(size),  \
              (file))

/* Boot RAM: two pokes on both sides of a 2 MiB page boundary. */
static void test_boot_ram(struct fixture *f, gconstpointer data)
{
    g_autofree char *p = NULL, *v = NULL;
    g_autoptr(GBytes) pb = NULL, vb = NULL;

    if (skipped(f))
        return;
    p = path_in(f, "phys.bin");
    v = path_in(f, "virt.bin");
    guest_poke(f, 0x3ff008, 0x1122334455667788ULL);
    guest_poke(f, 0x400ff0, 0x8877665544332211ULL);
    qmp_expect_return(f->qmp, pmemsave(f, 0x3ff000, 0x2000, p));
    qmp_expect_return(f->qmp, memsave(f, 0x3ff000, 0x2000, v));
    pb = file_bytes(p);
    vb = file_bytes(v);
    g_assert_cmpuint(g_bytes_get_size(pb), ==, 0x2000);
    g_assert_cmphex(u64_at(pb, 0x8), ==, 0x1122334455667788ULL);
    g_assert_cmphex(u64_at(pb, 0x1ff0), ==, 0x8877665544332211ULL);
    g_assert_true(g_bytes_equal(pb, vb));
    /* cpu-index given explicitly, and size 0: an empty file. */
    qmp_ok(f->qmp, "{\"execute\": \"memsave\", \"arguments\": {\"val\": "
           "4190208, \"size\": 0, \"filename\": \"%s\", \"cpu-index\": 0}}",
           v);
    g_bytes_unref(vb);
    vb = file_bytes(v);
    g_assert_cmpuint(g_bytes_get_size(vb), ==, 0);
}

static void write_marker(const char *path)
{
    g_assert_true(g_file_set_contents(path, "untouched", -1, NULL));
}

static void assert_marker(const char *path)
{
    g_autofree char *s = NULL;

    g_assert_true(g_file_get_contents(path, &s, NULL, NULL));
    g_assert_cmpstr(s, ==, "untouched");
}

static void test_unmapped(struct fixture *f, gconstpointer data)
{
    g_autofree char *p = NULL, *absent = NULL;

    if (skipped(f))
        return;
    p = path_in(f, "kept.bin");
    absent = path_in(f, "absent.bin");
    write_marker(p);
    /* Runs 4 KiB past the end of boot RAM. */
    qmp_expect_error(f->qmp, "guest-physical address 0x20000000",
                     pmemsave(f, RAM_SIZE - 0x1000, 0x2000, p));
    assert_marker(p);
    /* Mapped by the guest's page tables, but nothing behind it. */
    qmp_expect_error(f->qmp, "virtual address 0x20000000 (guest-physical "
                     "0x20000000)", memsave(f, RAM_SIZE - 0x1000, 0x2000, p));
    /* Not in the guest's page tables at all. */
    qmp_expect_error(f->qmp, "virtual address 0x7ffffffff000 is not mapped",
                     memsave(f, 0x7ffffffff000ULL, 0x1000, p));
    qmp_expect_error(f->qmp, "not canonical",
                     memsave(f, 0x800000000000ULL, 0x1000, p));
    assert_marker(p);
    qmp_fails(f->qmp, "CPU 5 is not present", "{\"execute\": \"memsave\", "
              "\"arguments\": {\"val\": 0, \"size\": 4096, \"filename\": "
              "\"%s\", \"cpu-index\": 5}}", p);
    assert_marker(p);
    qmp_expect_error(f->qmp, "guest-physical address 0xfffffffffffff000",
                     pmemsave(f, 0xfffffffffffff000ULL, 0x1000, absent));
    g_assert_false(g_file_test(absent, G_FILE_TEST_EXISTS));
}

/* Hot-adds a 128 MiB DIMM and returns the address the guest onlined. */
static uint64_t hot_add(struct fixture *f, const char *mem, const char *dimm)
{
    g_autofree char *line = NULL;
    const char *at;

    qmp_ok(f->qmp, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": \"%s\", "
           "\"size\": 134217728}}", mem);
    qmp_ok(f->qmp, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"%s\", \"memdev\": \"%s\"}}",
           dimm, mem);
    line = vm_wait_line(f->vm, "hotmem-guest: dimm slot=", TIMEOUT_MS);
    g_assert_nonnull(line);
    at = strstr(line, "online addr=");
    if (!at)
        g_error("DIMM not onlined: %s", line);
    return g_ascii_strtoull(at + strlen("online addr="), NULL, 16);
}

static void check_dimm_file(const char *path, uint64_t addr, uint64_t poked)
{
    g_autoptr(GBytes) b = file_bytes(path);

    g_assert_cmpuint(g_bytes_get_size(b), ==, 0x2000);
    g_assert_cmphex(u64_at(b, 0), ==, addr ^ CHECK_XOR);
    g_assert_cmphex(u64_at(b, 0xff8), ==, (addr + 0xff8) ^ CHECK_XOR);
    g_assert_cmphex(u64_at(b, 0x1100), ==, poked);
}

static void test_dimm(struct fixture *f, gconstpointer data)
{
    g_autofree char *p = NULL, *v = NULL, *x = NULL;
    uint64_t a1, a2, end1;
    json_object *deleted;

    if (skipped(f))
        return;
    p = path_in(f, "dimm-phys.bin");
    v = path_in(f, "dimm-virt.bin");
    x = path_in(f, "across.bin");
    a1 = hot_add(f, "mem1", "dimm1");
    a2 = hot_add(f, "mem2", "dimm2");
    guest_poke(f, a1 + 0x1100, 0xfeedfacecafebeefULL);
    qmp_expect_return(f->qmp, pmemsave(f, a1, 0x2000, p));
    qmp_expect_return(f->qmp, memsave(f, a1, 0x2000, v));
    check_dimm_file(p, a1, 0xfeedfacecafebeefULL);
    check_dimm_file(v, a1, 0xfeedfacecafebeefULL);
    /* The last page of dimm1 and the first of dimm2: two memory slots. */
    end1 = a1 + 128 * 1024 * 1024;
    if (a2 == end1) {
        g_autoptr(GBytes) b = NULL;

        qmp_expect_return(f->qmp, pmemsave(f, end1 - 0x1000, 0x2000, x));
        b = file_bytes(x);
        g_assert_cmphex(u64_at(b, 0xff8), ==, (end1 - 8) ^ CHECK_XOR);
        g_assert_cmphex(u64_at(b, 0x1000), ==, a2 ^ CHECK_XOR);
    } else {
        g_test_message("DIMMs not adjacent (0x%" G_GINT64_MODIFIER "x, 0x%"
                       G_GINT64_MODIFIER "x): no cross-slot check", a1, a2);
    }
    /*
     * Stopped, the guest cannot answer device_del: the DIMM stays
     * "removing", and hotmem no longer reads it.
     */
    qmp_ok(f->qmp, "{\"execute\": \"stop\"}");
    qmp_ok(f->qmp, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"dimm1\"}}");
    write_marker(p);
    qmp_expect_error(f->qmp, "guest-physical address 0x",
                     pmemsave(f, a1, 0x2000, p));
    qmp_expect_error(f->qmp, "virtual address 0x",
                     memsave(f, a1, 0x2000, p));
    assert_marker(p);
    qmp_ok(f->qmp, "{\"execute\": \"cont\"}");
    deleted = qmp_wait_event(f->qmp, "DEVICE_DELETED", TIMEOUT_MS);
    g_assert_nonnull(deleted);
    json_object_put(deleted);
    qmp_expect_error(f->qmp, "is not backed", pmemsave(f, a1, 0x2000, p));
    assert_marker(p);
    /* dimm2 is still there. */
    qmp_expect_return(f->qmp, pmemsave(f, a2, 0x1000, p));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/memsave/boot-ram", struct fixture, NULL, setup,
               test_boot_ram, teardown);
    g_test_add("/memsave/unmapped", struct fixture, NULL, setup,
               test_unmapped, teardown);
    g_test_add("/memsave/dimm", struct fixture, NULL, setup, test_dimm,
               teardown);
    return g_test_run();
}
