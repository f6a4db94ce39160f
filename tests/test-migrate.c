/*
 * End-to-end snapshots to a file and restores (docs/migration.md): the real
 * hotmem boots hotmem-guest, which writes patterns to boot RAM and to a
 * hot-added DIMM; QMP migrate writes the machine to a file: URI; a second
 * hotmem started with -incoming and the DIMM on its command line (as
 * QEMU's destinations are) goes on from there. Skips where /dev/kvm
 * cannot be used.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

#include "qmpclient.h"
#include "vmrunner.h"

#define TIMEOUT_MS      60000
#define MEM             "256M,slots=4,maxmem=2G"
#define BOOT_ADDR       0x3ff008ULL
#define BOOT_VALUE      0x1122334455667788ULL
#define DIMM_OFFSET     0x1100ULL
#define DIMM_VALUE      0xfeedfacecafebeefULL

struct node {
    struct vm *vm;
    struct qmp *qmp;
    char *sock;
};

struct fixture {
    char *dir;
    struct node src;
    uint64_t dimm_addr;
};

static char *path_in(struct fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

/* Starts hotmem with QMP and these arguments (NULL-terminated), with
 * -m MEM first unless with_mem is false. */
static void start_with(struct fixture *f, struct node *n, const char *name,
                       bool with_mem, const char *const *extra)
{
    g_autofree char *spec = NULL;
    GPtrArray *args = g_ptr_array_new();

    n->sock = g_strdup_printf("%s/%s.sock", f->dir, name);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", n->sock);
    if (with_mem) {
        g_ptr_array_add(args, "-m");
        g_ptr_array_add(args, MEM);
    }
    g_ptr_array_add(args, "-qmp");
    g_ptr_array_add(args, spec);
    for (; extra && *extra; extra++)
        g_ptr_array_add(args, (gpointer)*extra);
    g_ptr_array_add(args, NULL);
    n->vm = vm_spawn((const char *const *)args->pdata);
    g_ptr_array_free(args, TRUE);
    n->qmp = qmp_connect(n->sock, TIMEOUT_MS);
    qmp_on_closed(n->qmp, vm_explain_exit, n->vm);
}

static void start(struct fixture *f, struct node *n, const char *name,
                  const char *const *extra)
{
    start_with(f, n, name, true, extra);
}

static void stop_node(struct node *n)
{
    if (n->qmp)
        qmp_close(n->qmp);
    if (n->vm)
        vm_free(n->vm);
    g_free(n->sock);
    memset(n, 0, sizeof(*n));
}

static void poke(struct node *n, uint64_t addr, uint64_t value)
{
    g_autofree char *cmd = g_strdup_printf("poke 0x%" G_GINT64_MODIFIER "x"
                                           " 0x%" G_GINT64_MODIFIER "x",
                                           addr, value);
    g_autofree char *want = g_strdup_printf("hotmem-guest: poke addr=0x%"
                                            G_GINT64_MODIFIER "x", addr);
    g_autofree char *line = NULL;

    g_assert_true(vm_send(n->vm, cmd));
    line = vm_wait_line(n->vm, want, TIMEOUT_MS);
    g_assert_nonnull(line);
}

static uint64_t peek(struct node *n, uint64_t addr)
{
    g_autofree char *cmd = g_strdup_printf("peek 0x%" G_GINT64_MODIFIER "x",
                                           addr);
    g_autofree char *want = g_strdup_printf("hotmem-guest: peek addr=0x%"
                                            G_GINT64_MODIFIER "x", addr);
    g_autofree char *line = NULL;
    const char *v;

    g_assert_true(vm_send(n->vm, cmd));
    line = vm_wait_line(n->vm, want, TIMEOUT_MS);
    if (!line)
        g_error("no answer to '%s'; stderr:\n%s", cmd, vm_stderr(n->vm));
    v = strstr(line, "value=");
    g_assert_nonnull(v);
    return g_ascii_strtoull(v + 6, NULL, 16);
}

static uint64_t guest_tsc(struct node *n)
{
    g_autofree char *line = NULL;

    g_assert_true(vm_send(n->vm, "tsc"));
    line = vm_wait_line(n->vm, "hotmem-guest: tsc value=", TIMEOUT_MS);
    g_assert_nonnull(line);
    return g_ascii_strtoull(strstr(line, "value=") + 6, NULL, 16);
}

static char *run_state(struct node *n)
{
    json_object *r = qmp_return(n->qmp, "{\"execute\": \"query-status\"}");
    json_object *s;
    char *state;

    g_assert_true(json_object_object_get_ex(r, "status", &s));
    state = g_strdup(json_object_get_string(s));
    json_object_put(r);
    return state;
}

/* Polls query-status until it leaves state; the new state. */
static char *wait_state_change(struct node *n, const char *state)
{
    for (int i = 0; i < TIMEOUT_MS / 50; i++) {
        char *s = run_state(n);

        if (strcmp(s, state))
            return s;
        g_free(s);
        g_usleep(50000);
    }
    g_error("still %s after %d ms", state, TIMEOUT_MS);
}

static void setup(struct fixture *f, gconstpointer data)
{
    g_autofree char *line = NULL;
    const char *at;

    memset(f, 0, sizeof(*f));
    if (vm_kvm_unavailable())
        return;
    f->dir = g_dir_make_tmp("hotmem-migrate-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    start(f, &f->src, "src", NULL);
    line = vm_wait_line(f->src.vm, "hotmem-guest: ready", TIMEOUT_MS);
    if (!line)
        g_error("no ready line; stderr:\n%s", vm_stderr(f->src.vm));
    g_clear_pointer(&line, g_free);
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-capabilities\", "
           "\"arguments\": {\"capabilities\": [{\"capability\": \"events\","
           " \"state\": true}]}}");
    qmp_ok(f->src.qmp, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": \"mem1\", "
           "\"size\": 134217728}}");
    qmp_ok(f->src.qmp, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"dimm1\", \"memdev\": "
           "\"mem1\"}}");
    line = vm_wait_line(f->src.vm, "hotmem-guest: dimm slot=0", TIMEOUT_MS);
    g_assert_nonnull(line);
    at = strstr(line, "online addr=");
    g_assert_nonnull(at);
    f->dimm_addr = g_ascii_strtoull(at + strlen("online addr="), NULL, 16);
    poke(&f->src, BOOT_ADDR, BOOT_VALUE);
    poke(&f->src, f->dimm_addr + DIMM_OFFSET, DIMM_VALUE);
}

static void teardown(struct fixture *f, gconstpointer data)
{
    GDir *d;
    const char *name;

    if (!f->dir)
        return;
    stop_node(&f->src);
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
    if (!f->dir)
        g_test_skip(vm_kvm_unavailable());
    return !f->dir;
}

static json_object *member(json_object *o, const char *name)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, name, &v))
        g_error("no '%s' in %s", name, json_object_to_json_string(o));
    return v;
}

/* The MIGRATION event with status, after the events before it. */
static void expect_migration_event(struct node *n, const char *status)
{
    json_object *ev = qmp_wait_event(n->qmp, "MIGRATION", TIMEOUT_MS);

    g_assert_nonnull(ev);
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"),
                                                  "status")), ==, status);
    json_object_put(ev);
}

/* migrate to uri; waits for completed (events on) and checks the stats. */
static void migrate_ok(struct fixture *f, const char *uri)
{
    json_object *info, *ram;

    qmp_ok(f->src.qmp, "{\"execute\": \"migrate\", \"arguments\": "
           "{\"uri\": \"%s\"}}", uri);
    expect_migration_event(&f->src, "setup");
    expect_migration_event(&f->src, "active");
    expect_migration_event(&f->src, "completed");
    info = qmp_return(f->src.qmp, "{\"execute\": \"query-migrate\"}");
    g_assert_cmpstr(json_object_get_string(member(info, "status")), ==,
                    "completed");
    ram = member(info, "ram");
    /* Boot RAM and the 128 MiB DIMM; most of it zero pages. */
    g_assert_cmpint(json_object_get_int64(member(ram, "total")), ==,
                    (256 + 128) << 20);
    g_assert_cmpint(json_object_get_int64(member(ram, "remaining")), ==, 0);
    g_assert_cmpint(json_object_get_int64(member(ram, "duplicate")) +
                    json_object_get_int64(member(ram, "normal")), ==,
                    ((256 + 128) << 20) / 4096);
    g_assert_cmpint(json_object_get_int64(member(ram, "normal")), >, 0);
    g_assert_cmpint(json_object_get_int64(member(ram, "duplicate")), >,
                    json_object_get_int64(member(ram, "normal")));
    /* Zero pages cost a bit each: far less than guest RAM is written. */
    g_assert_cmpint(json_object_get_int64(member(ram, "transferred")), <,
                    (json_object_get_int64(member(ram, "normal")) + 1024) *
                    4096);
    member(info, "downtime");
    member(info, "total-time");
    json_object_put(info);
}

/* A destination for the file, with the DIMM on its command line. */
static void start_destination(struct fixture *f, struct node *n,
                              const char *name, const char *incoming,
                              const char *extra)
{
    const char *args[] = { "-object", "memory-backend-ram,id=mem1,size=128M",
                           "-device", "pc-dimm,id=dimm1,memdev=mem1",
                           "-incoming", incoming, extra, NULL };

    start(f, n, name, args);
}

static void check_restored(struct fixture *f, struct node *n)
{
    json_object *devs, *data;

    g_assert_cmphex(peek(n, BOOT_ADDR), ==, BOOT_VALUE);
    g_assert_cmphex(peek(n, f->dimm_addr + DIMM_OFFSET), ==, DIMM_VALUE);
    /* The DIMM is the hot-added one, as on the source. */
    devs = qmp_return(n->qmp, "{\"execute\": \"query-memory-devices\"}");
    g_assert_cmpuint(json_object_array_length(devs), ==, 1);
    data = member(json_object_array_get_idx(devs, 0), "data");
    g_assert_true(json_object_get_boolean(member(data, "hotplugged")));
    g_assert_cmpint(json_object_get_int64(member(data, "addr")), ==,
                    (int64_t)f->dimm_addr);
    json_object_put(devs);
}

/* The restored guest runs on and can still give the DIMM back. */
static void check_removable(struct fixture *f, struct node *n)
{
    g_autofree char *line = NULL;
    json_object *ev;

    poke(n, BOOT_ADDR + 8, 0xabcdef);
    g_assert_cmphex(peek(n, BOOT_ADDR + 8), ==, 0xabcdef);
    qmp_ok(n->qmp, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"dimm1\"}}");
    line = vm_wait_line(n->vm, "hotmem-guest: dimm slot=0", TIMEOUT_MS);
    g_assert_nonnull(line);
    g_assert_nonnull(strstr(line, "ejected"));
    ev = qmp_wait_event(n->qmp, "DEVICE_DELETED", TIMEOUT_MS);
    g_assert_nonnull(ev);
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"),
                                                  "device")), ==, "dimm1");
    json_object_put(ev);
}

static void test_snapshot_restore(struct fixture *f, gconstpointer data)
{
    g_autofree char *file = NULL, *uri = NULL, *state = NULL;
    struct node dst = { 0 }, again = { 0 };
    json_object *ev;
    uint64_t tsc;

    if (skipped(f))
        return;
    file = path_in(f, "snap");
    uri = g_strdup_printf("file:%s", file);
    /*
     * The source has run a while longer than a destination will have
     * existed when it reads its TSC: a fresh vCPU's TSC would go back.
     */
    g_usleep(G_USEC_PER_SEC);
    tsc = guest_tsc(&f->src);
    migrate_ok(f, uri);
    /* The source stopped for the write and runs on, unchanged. */
    ev = qmp_wait_event(f->src.qmp, "RESUME", TIMEOUT_MS);
    g_assert_nonnull(ev);
    json_object_put(ev);
    state = run_state(&f->src);
    g_assert_cmpstr(state, ==, "running");
    g_assert_cmphex(peek(&f->src, BOOT_ADDR), ==, BOOT_VALUE);
    poke(&f->src, f->dimm_addr + DIMM_OFFSET, 0x5555);

    /* Restored, it runs at once (no -S), as QEMU's destination does. */
    start_destination(f, &dst, "dst", uri, NULL);
    g_clear_pointer(&state, g_free);
    state = wait_state_change(&dst, "inmigrate");
    g_assert_cmpstr(state, ==, "running");
    /* Guest time goes on from where it was saved. */
    g_assert_cmphex(guest_tsc(&dst), >, tsc);
    check_restored(f, &dst);
    check_removable(f, &dst);
    stop_node(&dst);

    /* The same file again: the machine of the same instant. */
    start_destination(f, &again, "again", uri, NULL);
    g_clear_pointer(&state, g_free);
    state = wait_state_change(&again, "inmigrate");
    g_assert_cmpstr(state, ==, "running");
    check_restored(f, &again);
    stop_node(&again);
}

/*
 * x-query-cmdline's options start a destination that takes the stream:
 * the hot-added DIMM and its backend are in them, with the DIMM's slot and
 * address (docs/migration.md, "Restoring").
 */
static void test_cmdline_destination(struct fixture *f, gconstpointer data)
{
    g_autofree char *file = NULL, *uri = NULL, *state = NULL;
    g_autofree char *want = NULL;
    json_object *r, *args;
    GPtrArray *argv;
    struct node dst = { 0 };
    const char *line;

    if (skipped(f))
        return;
    r = qmp_return(f->src.qmp, "{\"execute\": \"x-query-cmdline\"}");
    line = json_object_get_string(member(r, "cmdline"));
    want = g_strdup_printf("hotmem -m 256M,slots=4,maxmem=2G -smp 1 "
                           "-cpu host -object memory-backend-ram,id=mem1,"
                           "size=134217728 -device pc-dimm,id=dimm1,"
                           "memdev=mem1,slot=0,addr=0x%" G_GINT64_MODIFIER
                           "x,node=0", f->dimm_addr);
    g_assert_cmpstr(line, ==, want);
    args = member(r, "args");
    argv = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < json_object_array_length(args); i++)
        g_ptr_array_add(argv, g_strdup(json_object_get_string(
                                  json_object_array_get_idx(args, i))));
    json_object_put(r);
    file = path_in(f, "snap");
    uri = g_strdup_printf("file:%s", file);
    migrate_ok(f, uri);
    g_ptr_array_add(argv, g_strdup("-incoming"));
    g_ptr_array_add(argv, g_strdup(uri));
    g_ptr_array_add(argv, NULL);
    start_with(f, &dst, "dst", false, (const char *const *)argv->pdata);
    g_ptr_array_free(argv, TRUE);
    state = wait_state_change(&dst, "inmigrate");
    g_assert_cmpstr(state, ==, "running");
    check_restored(f, &dst);
    check_removable(f, &dst);
    stop_node(&dst);
}

/*
 * A stopped source stays stopped, and so does its copy; -incoming defer
 * with migrate-incoming; a stream at an offset in its file; -S on the
 * destination of a running source keeps it paused until cont.
 */
static void test_paused_defer_offset(struct fixture *f, gconstpointer data)
{
    g_autofree char *file = NULL, *uri = NULL, *state = NULL;
    g_autofree char *contents = NULL;
    struct node dst = { 0 }, held = { 0 };
    gsize len = 0;

    if (skipped(f))
        return;
    file = path_in(f, "at-offset");
    uri = g_strdup_printf("file:%s,offset=0x10000", file);
    qmp_ok(f->src.qmp, "{\"execute\": \"stop\"}");
    migrate_ok(f, uri);
    state = run_state(&f->src);
    g_assert_cmpstr(state, ==, "paused");
    g_assert_true(g_file_get_contents(file, &contents, &len, NULL));
    g_assert_cmpuint(len, >, 0x10000);
    g_assert_cmpmem(contents + 0x10000, 8, "HOTMEMVM", 8);

    start_destination(f, &dst, "dst", "defer", NULL);
    g_clear_pointer(&state, g_free);
    state = run_state(&dst);
    g_assert_cmpstr(state, ==, "inmigrate");
    qmp_ok(dst.qmp, "{\"execute\": \"migrate-incoming\", \"arguments\": "
           "{\"uri\": \"%s\"}}", uri);
    g_clear_pointer(&state, g_free);
    state = wait_state_change(&dst, "inmigrate");
    g_assert_cmpstr(state, ==, "paused");
    qmp_fails(dst.qmp, "The incoming migration has already been started",
              "{\"execute\": \"migrate-incoming\", \"arguments\": "
              "{\"uri\": \"%s\"}}", uri);
    qmp_ok(dst.qmp, "{\"execute\": \"cont\"}");
    check_restored(f, &dst);
    stop_node(&dst);

    /* From a running source, -S keeps the copy paused until cont. */
    qmp_ok(f->src.qmp, "{\"execute\": \"cont\"}");
    g_clear_pointer(&uri, g_free);
    uri = g_strdup_printf("file:%s", file);
    migrate_ok(f, uri);
    start_destination(f, &held, "held", uri, "-S");
    g_clear_pointer(&state, g_free);
    state = wait_state_change(&held, "inmigrate");
    g_assert_cmpstr(state, ==, "paused");
    qmp_ok(held.qmp, "{\"execute\": \"cont\"}");
    check_restored(f, &held);
    stop_node(&held);
}

/* A destination that must refuse the stream: exits 1, saying why. */
static void expect_refused(struct fixture *f, const char *uri,
                           const char *const *args, const char *needle)
{
    g_autofree char *spec = NULL;
    GPtrArray *argv = g_ptr_array_new();
    struct vm *vm;
    int status;

    g_ptr_array_add(argv, "-m");
    g_ptr_array_add(argv, MEM);
    for (; *args; args++)
        g_ptr_array_add(argv, (gpointer)*args);
    g_ptr_array_add(argv, "-incoming");
    g_ptr_array_add(argv, (gpointer)uri);
    g_ptr_array_add(argv, NULL);
    vm = vm_spawn((const char *const *)argv->pdata);
    g_ptr_array_free(argv, TRUE);
    status = vm_wait_exit(vm, TIMEOUT_MS);
    g_assert_cmpint(status, ==, 1);
    if (!strstr(vm_stderr(vm), needle))
        g_error("stderr lacks '%s':\n%s", needle, vm_stderr(vm));
    vm_free(vm);
}

static void test_errors(struct fixture *f, gconstpointer data)
{
    g_autofree char *file = NULL, *uri = NULL, *state = NULL;
    g_autofree char *bad = NULL, *missing = NULL, *garbage = NULL;
    g_autofree char *garbage_uri = NULL;
    json_object *info;
    const char *no_dimm[] = { NULL };
    const char *other_size[] = {
        "-object", "memory-backend-ram,id=mem1,size=256M",
        "-device", "pc-dimm,id=dimm1,memdev=mem1", NULL };

    if (skipped(f))
        return;
    qmp_fails(f->src.qmp, "migration over 'exec:' is not supported",
              "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
              "\"exec:cat\"}}");
    qmp_fails(f->src.qmp, "unknown migration protocol: bogus:x",
              "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
              "\"bogus:x\"}}");
    qmp_fails(f->src.qmp, "file URI has bad offset 12q",
              "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
              "\"file:/tmp/x,offset=12q\"}}");
    bad = path_in(f, "no-such-dir/snap");
    qmp_fails(f->src.qmp, "cannot open migration file", "{\"execute\": "
              "\"migrate\", \"arguments\": {\"uri\": \"file:%s\"}}", bad);
    expect_migration_event(&f->src, "setup");
    expect_migration_event(&f->src, "failed");
    info = qmp_return(f->src.qmp, "{\"execute\": \"query-migrate\"}");
    g_assert_cmpstr(json_object_get_string(member(info, "status")), ==,
                    "failed");
    g_assert_nonnull(strstr(json_object_get_string(member(info,
                                                          "error-desc")),
                            "No such file or directory"));
    json_object_put(info);
    /* The source runs on, untouched. */
    state = run_state(&f->src);
    g_assert_cmpstr(state, ==, "running");
    g_assert_cmphex(peek(&f->src, f->dimm_addr + DIMM_OFFSET), ==,
                    DIMM_VALUE);
    qmp_fails(f->src.qmp, "'-incoming' was not specified",
              "{\"execute\": \"migrate-incoming\", \"arguments\": "
              "{\"uri\": \"file:/tmp/x\"}}");

    file = path_in(f, "snap");
    uri = g_strdup_printf("file:%s", file);
    migrate_ok(f, uri);
    expect_refused(f, uri, no_dimm, "DIMM 'dimm1' (slot 0, memdev 'mem1'");
    expect_refused(f, uri, other_size, "DIMM in slot 0 differs");
    missing = g_strdup_printf("file:%s", bad);
    expect_refused(f, missing, no_dimm, "cannot open migration file");
    garbage = path_in(f, "garbage");
    g_assert_true(g_file_set_contents(garbage, "not a stream at all, but "
                                      "long enough", -1, NULL));
    garbage_uri = g_strdup_printf("file:%s", garbage);
    expect_refused(f, garbage_uri, no_dimm, "not a hotmem migration stream");
    g_assert_cmphex(peek(&f->src, BOOT_ADDR), ==, BOOT_VALUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/migrate/file/snapshot-restore", struct fixture, NULL, setup,
               test_snapshot_restore, teardown);
    g_test_add("/migrate/file/paused-defer-offset", struct fixture, NULL,
               setup, test_paused_defer_offset, teardown);
    g_test_add("/migrate/file/cmdline-destination", struct fixture, NULL,
               setup, test_cmdline_destination, teardown);
    g_test_add("/migrate/file/errors", struct fixture, NULL, setup,
               test_errors, teardown);
    return g_test_run();
}
