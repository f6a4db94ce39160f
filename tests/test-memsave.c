/*
 * End-to-end pmemsave and memsave: the real hotmem boots hotmem-guest, the
 * guest writes known bytes (poke, and the check pattern it writes into
 * every DIMM it onlines), and the test compares the files the monitor
 * writes with them. hotmem-guest identity-maps RAM and DIMMs with 2 MiB
 * pages, so a guest-virtual range reads the same bytes as the
 * guest-physical one. Skips where /dev/kvm cannot be used.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

#include "vmrunner.h"

#define TIMEOUT_MS      30000
#define RAM_SIZE        0x20000000ULL       /* -m 512M */
/* What hotmem-guest writes into an onlined DIMM (docs/guest-console.md). */
#define CHECK_XOR       0xa5a5a5a500000000ULL

/* A minimal QMP client: one message per line, events kept aside. */
struct qmp {
    int fd;
    GString *in;
    GPtrArray *events;      /* json_object *, oldest first */
};

struct fixture {
    char *dir;
    struct vm *vm;
    struct qmp qmp;
};

static void json_free(gpointer p)
{
    json_object_put(p);
}

static bool qmp_read_more(struct qmp *q)
{
    char buf[4096];
    ssize_t n = read(q->fd, buf, sizeof(buf));

    if (n <= 0)
        return false;
    g_string_append_len(q->in, buf, n);
    return true;
}

/* The next message from the server (blocking up to the socket timeout). */
static json_object *qmp_next(struct qmp *q)
{
    for (;;) {
        char *nl = memchr(q->in->str, '\n', q->in->len);

        if (nl) {
            g_autofree char *line = g_strndup(q->in->str, nl - q->in->str);
            json_object *msg;

            g_string_erase(q->in, 0, nl - q->in->str + 1);
            msg = json_tokener_parse(line);
            g_assert_nonnull(msg);
            return msg;
        }
        if (!qmp_read_more(q))
            g_error("QMP connection closed or timed out");
    }
}

static void qmp_connect(struct qmp *q, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000 };
    json_object *greeting;

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    q->in = g_string_new(NULL);
    q->events = g_ptr_array_new_with_free_func(json_free);
    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(q->fd, >=, 0);
    setsockopt(q->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (int i = 0; connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)); i++) {
        g_assert_cmpint(i, <, 500);
        g_usleep(10000);
    }
    greeting = qmp_next(q);
    g_assert_true(json_object_object_get_ex(greeting, "QMP", NULL));
    json_object_put(greeting);
}

static void qmp_close(struct qmp *q)
{
    if (q->fd >= 0)
        close(q->fd);
    g_string_free(q->in, TRUE);
    g_ptr_array_unref(q->events);
}

/* Sends a command (printf-style JSON) and returns its response. */
static json_object *G_GNUC_PRINTF(2, 3) qmp_call(struct qmp *q,
                                                 const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;
    g_autofree char *line = NULL;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    line = g_strconcat(cmd, "\n", NULL);
    g_assert_cmpint(write(q->fd, line, strlen(line)), ==, strlen(line));
    for (;;) {
        json_object *msg = qmp_next(q);

        if (!json_object_object_get_ex(msg, "event", NULL))
            return msg;
        g_ptr_array_add(q->events, msg);
    }
}

#define qmp_ok(q, ...) expect_return((q), qmp_call((q), __VA_ARGS__))
#define qmp_fails(q, needle, ...) \
    expect_error((q), (needle), qmp_call((q), __VA_ARGS__))

static void expect_return(struct qmp *q, json_object *r)
{
    if (!json_object_object_get_ex(r, "return", NULL))
        g_error("expected a return, got %s", json_object_to_json_string(r));
    json_object_put(r);
}

static void expect_error(struct qmp *q, const char *needle, json_object *r)
{
    json_object *e = NULL, *desc = NULL, *cls = NULL;

    if (!json_object_object_get_ex(r, "error", &e))
        g_error("expected an error, got %s", json_object_to_json_string(r));
    json_object_object_get_ex(e, "desc", &desc);
    json_object_object_get_ex(e, "class", &cls);
    g_test_message("error: %s", json_object_get_string(desc));
    g_assert_cmpstr(json_object_get_string(cls), ==, "GenericError");
    if (!strstr(json_object_get_string(desc), needle))
        g_error("error \"%s\" does not mention \"%s\"",
                json_object_get_string(desc), needle);
    json_object_put(r);
}

/* Waits for an event by name (already received or still to come). */
static void qmp_wait_event(struct qmp *q, const char *name)
{
    for (;;) {
        for (guint i = 0; i < q->events->len; i++) {
            json_object *ev = NULL;

            json_object_object_get_ex(q->events->pdata[i], "event", &ev);
            if (!strcmp(json_object_get_string(ev), name)) {
                g_ptr_array_remove_index(q->events, i);
                return;
            }
        }
        g_ptr_array_add(q->events, qmp_next(q));
    }
}

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
    qmp_connect(&f->qmp, sock);
    qmp_ok(&f->qmp, "{\"execute\": \"qmp_capabilities\"}");
}

static void teardown(struct fixture *f, gconstpointer data)
{
    GDir *d;
    const char *name;

    if (!f->vm)
        return;
    qmp_close(&f->qmp);
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
    qmp_call(&(f)->qmp, "{\"execute\": \"pmemsave\", \"arguments\": "      \
             "{\"val\": %" G_GUINT64_FORMAT ", \"size\": %" G_GUINT64_FORMAT \
             ", \"filename\": \"%s\"}}", (guint64)(addr), (guint64)(size),  \
             (file))
#define memsave(f, addr, size, file) \
    qmp_call(&(f)->qmp, "{\"execute\": \"memsave\", \"arguments\": "       \
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
    expect_return(&f->qmp, pmemsave(f, 0x3ff000, 0x2000, p));
    expect_return(&f->qmp, memsave(f, 0x3ff000, 0x2000, v));
    pb = file_bytes(p);
    vb = file_bytes(v);
    g_assert_cmpuint(g_bytes_get_size(pb), ==, 0x2000);
    g_assert_cmphex(u64_at(pb, 0x8), ==, 0x1122334455667788ULL);
    g_assert_cmphex(u64_at(pb, 0x1ff0), ==, 0x8877665544332211ULL);
    g_assert_true(g_bytes_equal(pb, vb));
    /* cpu-index given explicitly, and size 0: an empty file. */
    qmp_ok(&f->qmp, "{\"execute\": \"memsave\", \"arguments\": {\"val\": "
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
    expect_error(&f->qmp, "guest-physical address 0x20000000",
                 pmemsave(f, RAM_SIZE - 0x1000, 0x2000, p));
    assert_marker(p);
    /* Mapped by the guest's page tables, but nothing behind it. */
    expect_error(&f->qmp, "virtual address 0x20000000 (guest-physical "
                 "0x20000000)", memsave(f, RAM_SIZE - 0x1000, 0x2000, p));
    /* Not in the guest's page tables at all. */
    expect_error(&f->qmp, "virtual address 0x7ffffffff000 is not mapped",
                 memsave(f, 0x7ffffffff000ULL, 0x1000, p));
    expect_error(&f->qmp, "not canonical",
                 memsave(f, 0x800000000000ULL, 0x1000, p));
    assert_marker(p);
    qmp_fails(&f->qmp, "CPU 5 is not present", "{\"execute\": \"memsave\", "
              "\"arguments\": {\"val\": 0, \"size\": 4096, \"filename\": "
              "\"%s\", \"cpu-index\": 5}}", p);
    assert_marker(p);
    expect_error(&f->qmp, "guest-physical address 0xfffffffffffff000",
                 pmemsave(f, 0xfffffffffffff000ULL, 0x1000, absent));
    g_assert_false(g_file_test(absent, G_FILE_TEST_EXISTS));
}

/* Hot-adds a 128 MiB DIMM and returns the address the guest onlined. */
static uint64_t hot_add(struct fixture *f, const char *mem, const char *dimm)
{
    g_autofree char *line = NULL;
    const char *at;

    qmp_ok(&f->qmp, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": \"%s\", "
           "\"size\": 134217728}}", mem);
    qmp_ok(&f->qmp, "{\"execute\": \"device_add\", \"arguments\": "
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

    if (skipped(f))
        return;
    p = path_in(f, "dimm-phys.bin");
    v = path_in(f, "dimm-virt.bin");
    x = path_in(f, "across.bin");
    a1 = hot_add(f, "mem1", "dimm1");
    a2 = hot_add(f, "mem2", "dimm2");
    guest_poke(f, a1 + 0x1100, 0xfeedfacecafebeefULL);
    expect_return(&f->qmp, pmemsave(f, a1, 0x2000, p));
    expect_return(&f->qmp, memsave(f, a1, 0x2000, v));
    check_dimm_file(p, a1, 0xfeedfacecafebeefULL);
    check_dimm_file(v, a1, 0xfeedfacecafebeefULL);
    /* The last page of dimm1 and the first of dimm2: two memory slots. */
    end1 = a1 + 128 * 1024 * 1024;
    if (a2 == end1) {
        g_autoptr(GBytes) b = NULL;

        expect_return(&f->qmp, pmemsave(f, end1 - 0x1000, 0x2000, x));
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
    qmp_ok(&f->qmp, "{\"execute\": \"stop\"}");
    qmp_ok(&f->qmp, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"dimm1\"}}");
    write_marker(p);
    expect_error(&f->qmp, "guest-physical address 0x",
                 pmemsave(f, a1, 0x2000, p));
    expect_error(&f->qmp, "virtual address 0x",
                 memsave(f, a1, 0x2000, p));
    assert_marker(p);
    qmp_ok(&f->qmp, "{\"execute\": \"cont\"}");
    qmp_wait_event(&f->qmp, "DEVICE_DELETED");
    expect_error(&f->qmp, "is not backed", pmemsave(f, a1, 0x2000, p));
    assert_marker(p);
    /* dimm2 is still there. */
    expect_return(&f->qmp, pmemsave(f, a2, 0x1000, p));
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
