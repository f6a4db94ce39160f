/*
 * Live migration end to end (docs/migration.md, "Pre-copy"): the real
 * hotmem boots hotmem-guest, hot-adds a DIMM, and the guest writes
 * seeded patterns over boot RAM and the DIMM (console command "pattern")
 * while QMP migrate moves it over unix: or tcp: to a second hotmem started
 * with -incoming and the DIMM on its command line. The writer finishes on
 * the destination, which then checks every page (pattern-check), writes
 * on, and can still give the DIMM back. Also: a guest dirtying faster
 * than max-bandwidth allows, migrate_cancel, and the error paths. Skips
 * where /dev/kvm cannot be used.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
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
/* Longer than any migration here: a console line ends it sooner. */
#define WRITER_SECONDS  300

struct fixture {
    char *dir;
    struct mig_node src;
    uint64_t dimm_addr;
    char *ranges;       /* "BASE SIZE BASE SIZE" for pattern commands */
    bool ring;          /* every node logs with KVM's dirty ring */
};

static const char *const ring_args[] = { "-accel", "kvm,dirty-ring-size=4096",
                                         NULL };

static const char *const dimm_args[] = {
    "-object", "memory-backend-ram,id=mem1,size=128M",
    "-device", "pc-dimm,id=dimm1,memdev=mem1", NULL };
/* Stress destinations: paused when it ends (-S), with or without a ring. */
static const char *const stress_args[] = {
    "-object", "memory-backend-ram,id=mem1,size=128M",
    "-device", "pc-dimm,id=dimm1,memdev=mem1", "-S", NULL };
static const char *const stress_ring_args[] = {
    "-object", "memory-backend-ram,id=mem1,size=128M",
    "-device", "pc-dimm,id=dimm1,memdev=mem1", "-S",
    "-accel", "kvm,dirty-ring-size=4096", NULL };
static const char *const wrong_dimm_args[] = {
    "-object", "memory-backend-ram,id=mem1,size=256M",
    "-device", "pc-dimm,id=dimm1,memdev=mem1", NULL };

static void start(struct fixture *f, struct mig_node *n, const char *name,
                  const char *const *extra, const char *incoming)
{
    mig_node_start(n, f->dir, name, MEM, extra, incoming);
}

/* Polls query-status until the run state leaves "inmigrate"; then want. */
static void wait_loaded(struct mig_node *n, const char *want)
{
    for (int i = 0; i < TIMEOUT_MS / 20; i++) {
        g_autofree char *s = mig_run_state(n);

        if (strcmp(s, "inmigrate")) {
            g_assert_cmpstr(s, ==, want);
            return;
        }
        g_usleep(20000);
    }
    g_error("the destination is still inmigrate after %d ms", TIMEOUT_MS);
}

static json_object *query_migrate(struct mig_node *n)
{
    return qmp_return(n->qmp, "{\"execute\": \"query-migrate\"}");
}

/* Polls query-migrate until dirty-sync-count reaches count (active). */
static void wait_syncs(struct mig_node *n, int64_t count)
{
    for (int i = 0; i < TIMEOUT_MS / 50; i++) {
        json_object *info = query_migrate(n);
        const char *st = json_object_get_string(mig_member(info, "status"));
        int64_t syncs = 0;
        json_object *ram = NULL;

        if (json_object_object_get_ex(info, "ram", &ram))
            syncs = json_object_get_int64(mig_member(ram, "dirty-sync-count"));
        if (strcmp(st, "active") && strcmp(st, "setup"))
            g_error("migration left active early: %s",
                    json_object_to_json_string(info));
        json_object_put(info);
        if (syncs >= count)
            return;
        g_usleep(50000);
    }
    g_error("dirty-sync-count never reached %" G_GINT64_FORMAT, count);
}

static void setup(struct fixture *f, gconstpointer data)
{
    memset(f, 0, sizeof(*f));
    if (vm_kvm_unavailable())
        return;
    f->dir = g_dir_make_tmp("hotmem-live-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->ring = data && !strcmp(data, "ring");
    start(f, &f->src, "src", f->ring ? ring_args : NULL, NULL);
    g_free(mig_line(&f->src, "hotmem-guest: ready"));
    f->dimm_addr = mig_hot_add_dimm(&f->src, "memory-backend-ram");
    /* Pages the writer has not reached at the switch-over must read as
     * never written (a loaded host writes slowly). */
    mig_clear_memcheck(&f->src, f->dimm_addr, f->dimm_addr, RANGE);
    f->ranges = mig_ranges(BOOT_BASE, f->dimm_addr, RANGE);
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

/* Starts the writer: rate pages per second for seconds, both ranges. */
static void pattern_start(struct fixture *f, struct mig_node *n,
                          unsigned rate, unsigned seconds)
{
    mig_pattern_start(n, SEED, rate, seconds, f->ranges);
}

static void pattern_check(struct fixture *f, struct mig_node *n)
{
    mig_pattern_check(n, SEED, f->ranges);
}

/* A free TCP port on the loopback (bound, then released). */
static unsigned free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static char *target_uri(struct fixture *f, const char *transport)
{
    if (!strcmp(transport, "tcp"))
        return g_strdup_printf("tcp:127.0.0.1:%u", free_port());
    return g_strdup_printf("unix:%s/mig-%u.sock", f->dir, g_random_int());
}

/* Waits for the MIGRATION events of a whole pre-copy on the source. */
static void expect_precopy_events(struct mig_node *n)
{
    mig_expect_migration_event(n, "setup");
    mig_expect_migration_event(n, "active");
    mig_expect_migration_event(n, "device");
    mig_expect_migration_event(n, "completed");
}

static void check_completed(struct fixture *f)
{
    json_object *info = query_migrate(&f->src), *ram = mig_member(info, "ram");

    g_assert_cmpstr(json_object_get_string(mig_member(info, "status")), ==,
                    "completed");
    g_assert_cmpint(json_object_get_int64(mig_member(ram, "total")), ==,
                    (256 + 128) << 20);
    g_assert_cmpint(json_object_get_int64(mig_member(ram, "remaining")), ==, 0);
    /* The first pass, and at least the last harvest after the stop. */
    g_assert_cmpint(json_object_get_int64(mig_member(ram, "dirty-sync-count")),
                    >=, 2);
    g_assert_cmpint(json_object_get_int64(mig_member(ram, "normal")), >, 0);
    mig_member(info, "downtime");
    mig_member(info, "total-time");
    json_object_put(info);
}

/*
 * The writer started on the source ran across the switch-over: the
 * source never said it ended (its console is final: it is stopped).
 */
static void expect_writer_moved(struct mig_node *src)
{
    char *line = vm_wait_line(src->vm, "hotmem-guest: pattern done", 200);

    if (line)
        g_error("the writer ended on the source, before the switch-over: "
                "%s", line);
}

/*
 * The destination's guest goes on: a console line ends the writer there
 * (it says where it stopped), the guest answers, every byte of every
 * pattern page is checked, it writes on from there and is checked again.
 */
static void check_patterns(struct fixture *f, struct mig_node *dst,
                           bool paused)
{
    g_assert_true(vm_send(dst->vm, "ping"));
    /*
     * Paused (-S): the line is there before the guest runs, so the writer
     * stops within 256 pages and cannot cover up a page the last pass
     * missed by writing it again.
     */
    if (paused)
        qmp_ok(dst->qmp, "{\"execute\": \"cont\"}");
    g_free(mig_line(dst, "hotmem-guest: pattern done"));
    g_free(mig_line(dst, "hotmem-guest: pong"));
    pattern_check(f, dst);
    pattern_start(f, dst, 0, 1);
    g_free(mig_line(dst, "hotmem-guest: pattern done"));
    pattern_check(f, dst);
}

/* The destination runs the guest on; device_del ejects the DIMM there. */
static void check_destination(struct fixture *f, struct mig_node *dst)
{
    g_autofree char *line = NULL;

    expect_writer_moved(&f->src);
    check_patterns(f, dst, false);
    qmp_ok(dst->qmp, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"dimm1\"}}");
    line = mig_line(dst, "hotmem-guest: dimm slot=0");
    g_assert_nonnull(strstr(line, "ejected"));
    mig_expect_event(dst, "DEVICE_DELETED");
}

static void test_live(struct fixture *f, gconstpointer data)
{
    const char *transport = data;
    g_autofree char *uri = NULL;
    struct mig_node dst = { 0 };

    if (skipped(f))
        return;
    uri = target_uri(f, transport);
    start(f, &dst, "dst", dimm_args, uri);
    /* The writer runs through the migration and ends on the destination. */
    pattern_start(f, &f->src, 20000, WRITER_SECONDS);
    g_usleep(300000);
    mig_migrate(&f->src, uri);
    expect_precopy_events(&f->src);
    check_completed(f);
    /* As QEMU's source: stopped for good, until cont. */
    mig_expect_state(&f->src, "postmigrate");
    mig_expect_event(&dst, "RESUME");
    mig_expect_state(&dst, "running");
    check_destination(f, &dst);
    mig_node_stop(&dst);
}

/*
 * Dirtying faster than max-bandwidth allows: pass after pass, never the
 * switch-over, until the limit is lifted while it runs.
 */
static void test_converge(struct fixture *f, gconstpointer data)
{
    g_autofree char *uri = target_uri(f, "unix");
    struct mig_node dst = { 0 };
    json_object *info;

    if (skipped(f))
        return;
    start(f, &dst, "dst", dimm_args, uri);
    /*
     * 2048 pages (8 MiB) a second against 4 MiB/s; the writer outlasts
     * the passes (it used to end on the source before the switch-over,
     * so its "pattern done" never came from the destination).
     */
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 4194304}}");
    pattern_start(f, &f->src, 2048, WRITER_SECONDS);
    g_usleep(300000);
    mig_migrate(&f->src, uri);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    wait_syncs(&f->src, 3);
    info = query_migrate(&f->src);
    g_assert_cmpint(json_object_get_int64(mig_member(mig_member(info, "ram"),
                                                 "dirty-pages-rate")), >, 0);
    g_assert_cmpint(json_object_get_int64(mig_member(info, "expected-downtime")),
                    >, 300);
    json_object_put(info);
    mig_expect_state(&f->src, "running");
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 0}}");
    mig_expect_migration_event(&f->src, "device");
    mig_expect_migration_event(&f->src, "completed");
    check_completed(f);
    mig_expect_event(&dst, "RESUME");
    mig_expect_state(&dst, "running");
    check_destination(f, &dst);
    mig_node_stop(&dst);
}

/*
 * Many passes, several times over: a writer as fast as the guest can go
 * over boot RAM and the DIMM, migrated under a max-bandwidth that keeps
 * it in pre-copy for STRESS_SYNCS harvests, then let through; the
 * destination checks every byte and becomes the next round's source.
 * data "ring": every node logs with KVM's dirty ring (otherwise the
 * default, manual-protect clear where KVM has it).
 */
#define STRESS_ROUNDS   3
#define STRESS_SYNCS    6

static void stress_round(struct fixture *f, struct mig_node *from,
                         struct mig_node *to, const char *name)
{
    g_autofree char *uri = target_uri(f, "unix");
    json_object *info;

    start(f, to, name, f->ring ? stress_ring_args : stress_args, uri);
    qmp_ok(from->qmp, "{\"execute\": \"migrate-set-capabilities\", "
           "\"arguments\": {\"capabilities\": [{\"capability\": "
           "\"events\", \"state\": true}]}}");
    /* 32 MiB/s: a pass over the 32 MiB written takes about a second. */
    qmp_ok(from->qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 33554432}}");
    pattern_start(f, from, 0, WRITER_SECONDS);
    g_usleep(200000);
    mig_migrate(from, uri);
    mig_expect_migration_event(from, "setup");
    mig_expect_migration_event(from, "active");
    wait_syncs(from, STRESS_SYNCS);
    qmp_ok(from->qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 0}}");
    mig_expect_migration_event(from, "device");
    mig_expect_migration_event(from, "completed");
    info = query_migrate(from);
    g_assert_cmpint(json_object_get_int64(mig_member(mig_member(info, "ram"),
                                                 "dirty-sync-count")), >,
                    STRESS_SYNCS);
    json_object_put(info);
    expect_writer_moved(from);
    wait_loaded(to, "paused");
    check_patterns(f, to, true);
}

static void test_stress(struct fixture *f, gconstpointer data)
{
    struct mig_node nodes[STRESS_ROUNDS];
    struct mig_node *from = &f->src;

    if (skipped(f))
        return;
    for (unsigned i = 0; i < STRESS_ROUNDS; i++) {
        g_autofree char *name = g_strdup_printf("dst%u", i);

        stress_round(f, from, &nodes[i], name);
        if (from != &f->src)
            mig_node_stop(from);
        from = &nodes[i];
    }
    mig_node_stop(from);
}

/*
 * auto-converge (QEMU's capability): a guest dirtying 8 MiB a second
 * against a 4 MiB/s link never converges without it; with it the vCPUs
 * are throttled more at each pass that dirtied more than half of what it
 * sent, until the rest fits in downtime-limit, and every page arrives.
 * Turned off when a migration is cancelled: the writer runs at its pace.
 */
#define AC_RANGE        0x400000        /* 4 MiB of each: 2048 pages */
#define AC_RATE         2048            /* pages a second: 8 MiB/s */

static int64_t throttle_of(json_object *info)
{
    json_object *v = NULL;

    return json_object_object_get_ex(info, "cpu-throttle-percentage", &v)
           ? json_object_get_int64(v) : -1;
}

/* Polls query-migrate while active; the highest throttle seen. */
static int64_t wait_throttle(struct mig_node *n, int64_t at_least)
{
    int64_t most = -1;

    for (int i = 0; i < TIMEOUT_MS / 50; i++) {
        json_object *info = query_migrate(n);
        const char *st = json_object_get_string(mig_member(info, "status"));

        most = MAX(most, throttle_of(info));
        if (strcmp(st, "active") && strcmp(st, "setup")) {
            json_object_put(info);
            return most;
        }
        json_object_put(info);
        if (at_least >= 0 && most >= at_least)
            return most;
        g_usleep(50000);
    }
    g_error("the migration was still active after %d ms", TIMEOUT_MS);
}

static void set_capability(struct mig_node *n, const char *cap, bool on)
{
    qmp_ok(n->qmp, "{\"execute\": \"migrate-set-capabilities\", "
           "\"arguments\": {\"capabilities\": [{\"capability\": \"%s\", "
           "\"state\": %s}]}}", cap, on ? "true" : "false");
}

/* Cancels the migration to dst; dst gives up. */
static void cancel_to(struct fixture *f, struct mig_node *dst)
{
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate_cancel\"}");
    mig_expect_migration_event(&f->src, "cancelling");
    mig_expect_migration_event(&f->src, "cancelled");
    g_assert_cmpint(vm_wait_exit(dst->vm, TIMEOUT_MS), ==, 1);
    mig_node_stop(dst);
}

static void test_auto_converge(struct fixture *f, gconstpointer data)
{
    struct mig_node dst = { 0 };
    g_autofree char *uri = target_uri(f, "unix");
    g_autofree char *uri2 = target_uri(f, "unix");
    g_autofree char *uri3 = target_uri(f, "unix");
    g_autofree char *line = NULL;
    json_object *info;
    unsigned long pages;
    int64_t most;

    if (skipped(f))
        return;
    g_free(f->ranges);
    f->ranges = g_strdup_printf("0x%" G_GINT64_MODIFIER "x 0x%x 0x%"
                                G_GINT64_MODIFIER "x 0x%x", BOOT_BASE,
                                AC_RANGE, f->dimm_addr, AC_RANGE);
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 4194304}}");
    pattern_start(f, &f->src, AC_RATE, WRITER_SECONDS);

    /* Without it: pass after pass, never the switch-over. */
    start(f, &dst, "dst", dimm_args, uri);
    mig_migrate(&f->src, uri);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    wait_syncs(&f->src, 4);
    info = query_migrate(&f->src);
    g_assert_cmpint(json_object_get_int64(mig_member(info, "expected-downtime")),
                    >, 300);
    g_assert_cmpint(throttle_of(info), ==, -1);
    json_object_put(info);
    cancel_to(f, &dst);

    /*
     * Throttled at 99% from the first pass on, with downtime-limit 0 so
     * it cannot end: then cancelled, the guest runs unthrottled again.
     */
    set_capability(&f->src, "auto-converge", true);
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"cpu-throttle-initial\": 99, "
           "\"max-cpu-throttle\": 99, \"downtime-limit\": 0}}");
    start(f, &dst, "dst2", dimm_args, uri2);
    mig_migrate(&f->src, uri2);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    g_assert_cmpint(wait_throttle(&f->src, 99), ==, 99);
    cancel_to(f, &dst);
    mig_expect_state(&f->src, "running");
    /* The writer, at 2048 pages a second, would do 2% of that at 99%. */
    g_assert_true(vm_send(f->src.vm, "ping"));
    g_free(mig_line(&f->src, "hotmem-guest: pattern done"));
    g_free(mig_line(&f->src, "hotmem-guest: pong"));
    pattern_start(f, &f->src, AC_RATE, 1);
    line = mig_line(&f->src, "hotmem-guest: pattern done");
    pages = strtoul(strstr(line, "pages=") + strlen("pages="), NULL, 10);
    if (pages < AC_RATE / 2)
        g_error("the writer still runs throttled after the cancel: %s",
                line);

    /* With it: throttled more at each pass, until it converges. */
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"cpu-throttle-initial\": 60, "
           "\"cpu-throttle-increment\": 20, \"downtime-limit\": 300}}");
    info = qmp_return(f->src.qmp,
                      "{\"execute\": \"query-migrate-parameters\"}");
    g_assert_cmpint(json_object_get_int64(mig_member(info,
                                                 "cpu-throttle-initial")),
                    ==, 60);
    g_assert_cmpint(json_object_get_int64(mig_member(info, "max-cpu-throttle")),
                    ==, 99);
    json_object_put(info);
    pattern_start(f, &f->src, AC_RATE, WRITER_SECONDS);
    start(f, &dst, "dst3", dimm_args, uri3);
    mig_migrate(&f->src, uri3);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    most = wait_throttle(&f->src, -1);
    g_assert_cmpint(most, >=, 60);
    mig_expect_migration_event(&f->src, "device");
    mig_expect_migration_event(&f->src, "completed");
    info = query_migrate(&f->src);
    g_assert_cmpint(throttle_of(info), ==, 0);      /* off at the end */
    json_object_put(info);
    expect_writer_moved(&f->src);
    mig_expect_event(&dst, "RESUME");
    check_patterns(f, &dst, false);
    mig_node_stop(&dst);
}

/*
 * migrate_cancel mid-way: the source runs on with its memory intact, the
 * destination fails, and a second migration then works.
 */
static void test_cancel(struct fixture *f, gconstpointer data)
{
    g_autofree char *uri = target_uri(f, "unix");
    g_autofree char *uri2 = target_uri(f, "unix");
    struct mig_node dst = { 0 }, dst2 = { 0 };
    json_object *info;

    if (skipped(f))
        return;
    start(f, &dst, "dst", dimm_args, uri);
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 4194304}}");
    pattern_start(f, &f->src, 2048, 10);
    g_usleep(300000);
    mig_migrate(&f->src, uri);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    wait_syncs(&f->src, 1);
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate_cancel\"}");
    mig_expect_migration_event(&f->src, "cancelling");
    mig_expect_migration_event(&f->src, "cancelled");
    info = query_migrate(&f->src);
    g_assert_cmpstr(json_object_get_string(mig_member(info, "status")), ==,
                    "cancelled");
    json_object_put(info);
    mig_expect_state(&f->src, "running");
    /* The destination saw the stream end and gave up. */
    g_assert_cmpint(vm_wait_exit(dst.vm, TIMEOUT_MS), ==, 1);
    g_assert_nonnull(strstr(vm_stderr(dst.vm), "incoming migration failed"));
    mig_node_stop(&dst);
    /* Dirty logging is off again, the writer ends, the memory is whole. */
    g_free(mig_line(&f->src, "hotmem-guest: pattern done"));
    pattern_check(f, &f->src);
    /* Cancelling nothing is not an error (QEMU's behaviour). */
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate_cancel\"}");

    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 134217728}}");
    start(f, &dst2, "dst2", dimm_args, uri2);
    mig_migrate(&f->src, uri2);
    expect_precopy_events(&f->src);
    mig_expect_event(&dst2, "RESUME");
    pattern_check(f, &dst2);
    mig_node_stop(&dst2);
}

static void expect_failed(struct fixture *f, const char *needle)
{
    json_object *info;

    mig_expect_migration_event(&f->src, "failed");
    info = query_migrate(&f->src);
    g_assert_cmpstr(json_object_get_string(mig_member(info, "status")), ==,
                    "failed");
    if (!strstr(json_object_get_string(mig_member(info, "error-desc")), needle))
        g_error("error-desc lacks '%s': %s", needle,
                json_object_to_json_string(info));
    json_object_put(info);
    /* The source runs on, untouched. */
    mig_expect_state(&f->src, "running");
}

static void test_errors(struct fixture *f, gconstpointer data)
{
    g_autofree char *nowhere = NULL, *refused = NULL, *uri = NULL;
    g_autofree char *uri2 = NULL;
    struct mig_node dst = { 0 }, bare = { 0 };

    if (skipped(f))
        return;
    qmp_fails(f->src.qmp, "unix: URI needs a socket path",
              "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
              "\"unix:\"}}");
    qmp_fails(f->src.qmp, "tcp: address '127.0.0.1' has no port",
              "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
              "\"tcp:127.0.0.1\"}}");
    qmp_fails(f->src.qmp, "migration over 'exec:' is not supported",
              "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
              "\"exec:cat\"}}");
    qmp_fails(f->src.qmp, "File descriptor named 'nosuch' not found",
              "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
              "\"fd:nosuch\"}}");
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "failed");
    qmp_fails(f->src.qmp, "No file descriptor supplied via SCM_RIGHTS",
              "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": "
              "\"m\"}}");
    qmp_fails(f->src.qmp, "File descriptor named 'm' not found",
              "{\"execute\": \"closefd\", \"arguments\": {\"fdname\": "
              "\"m\"}}");
    qmp_fails(f->src.qmp, "Parameter 'downtime_limit' expects an integer in "
              "the range of 0 to 2000000 ms", "{\"execute\": "
              "\"migrate-set-parameters\", \"arguments\": "
              "{\"downtime-limit\": 2000001}}");
    qmp_fails(f->src.qmp, "migration capability 'xbzrle' is not "
              "supported by hotmem (it has: events, auto-converge, return-path)",
              "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
              "{\"capabilities\": [{\"capability\": \"xbzrle\", "
              "\"state\": true}]}}");
    qmp_fails(f->src.qmp, "Parameter 'cpu_throttle_initial' expects an "
              "integer in the range of 1 to 99", "{\"execute\": "
              "\"migrate-set-parameters\", \"arguments\": "
              "{\"cpu-throttle-initial\": 100}}");
    qmp_fails(f->src.qmp, "Parameter 'cpu_throttle_increment' expects an "
              "integer in the range of 1 to 99", "{\"execute\": "
              "\"migrate-set-parameters\", \"arguments\": "
              "{\"cpu-throttle-increment\": 0}}");
    qmp_fails(f->src.qmp, "Parameter 'max_cpu_throttle' expects an integer "
              "in the range of cpu_throttle_initial to 99", "{\"execute\": "
              "\"migrate-set-parameters\", \"arguments\": "
              "{\"max-cpu-throttle\": 10}}");
    qmp_fails(f->src.qmp, "Parameter 'throttle_trigger_threshold' expects "
              "an integer in the range of 1 to 100", "{\"execute\": "
              "\"migrate-set-parameters\", \"arguments\": "
              "{\"throttle-trigger-threshold\": 101}}");
    qmp_fails(f->src.qmp, "Parameter 'capability' does not accept value "
              "'bogus'", "{\"execute\": \"migrate-set-capabilities\", "
              "\"arguments\": {\"capabilities\": [{\"capability\": "
              "\"bogus\", \"state\": true}]}}");
    /* The return path is always there: on is accepted, off is not. */
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-capabilities\", "
           "\"arguments\": {\"capabilities\": [{\"capability\": "
           "\"return-path\", \"state\": true}]}}");
    qmp_fails(f->src.qmp, "migration capability 'return-path' cannot be "
              "turned off", "{\"execute\": \"migrate-set-capabilities\", "
              "\"arguments\": {\"capabilities\": [{\"capability\": "
              "\"return-path\", \"state\": false}]}}");
    {
        json_object *caps = qmp_return(f->src.qmp, "{\"execute\": "
                                       "\"query-migrate-capabilities\"}");
        bool rp = false;

        for (size_t i = 0; i < json_object_array_length(caps); i++) {
            json_object *c = json_object_array_get_idx(caps, i);

            if (!strcmp(json_object_get_string(mig_member(c, "capability")),
                        "return-path"))
                rp = json_object_get_boolean(mig_member(c, "state"));
        }
        g_assert_true(rp);
        json_object_put(caps);
    }

    /* Nobody listening: a failed job, the guest runs on. */
    nowhere = g_strdup_printf("unix:%s/nobody.sock", f->dir);
    mig_migrate(&f->src, nowhere);
    mig_expect_migration_event(&f->src, "setup");
    expect_failed(f, "No such file or directory");
    refused = target_uri(f, "tcp");
    mig_migrate(&f->src, refused);
    mig_expect_migration_event(&f->src, "setup");
    expect_failed(f, "Connection refused");

    /* A destination without the DIMM refuses the stream, and its words
     * reach the source over the return path. */
    uri = target_uri(f, "unix");
    start(f, &bare, "bare", NULL, uri);
    mig_migrate(&f->src, uri);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    g_assert_cmpint(vm_wait_exit(bare.vm, TIMEOUT_MS), ==, 1);
    g_assert_nonnull(strstr(vm_stderr(bare.vm),
                            "DIMM 'dimm1' (slot 0, memdev 'mem1'"));
    expect_failed(f, "destination refused the stream: DIMM 'dimm1' (slot 0,"
                  " memdev 'mem1', addr ");
    mig_node_stop(&bare);
    /* Over tcp: a DIMM of another size. */
    g_free(uri);
    uri = target_uri(f, "tcp");
    start(f, &bare, "bare", wrong_dimm_args, uri);
    mig_migrate(&f->src, uri);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    g_assert_cmpint(vm_wait_exit(bare.vm, TIMEOUT_MS), ==, 1);
    expect_failed(f, "destination refused the stream: DIMM in slot 0 "
                  "differs: the stream has 'dimm1'");
    mig_node_stop(&bare);

    /* A destination that goes away mid-stream. */
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 1048576}}");
    pattern_start(f, &f->src, 8192, 2);
    uri2 = target_uri(f, "unix");
    start(f, &dst, "dst", dimm_args, uri2);
    mig_migrate(&f->src, uri2);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    g_usleep(500000);
    mig_node_stop(&dst);
    expect_failed(f, "unix:");
    g_free(mig_line(&f->src, "hotmem-guest: pattern done"));
    pattern_check(f, &f->src);
}

/*
 * A removal the guest has not answered yet is still pending on the
 * destination: its guest ejects the DIMM there when it scans.
 */
static void test_pending_removal(struct fixture *f, gconstpointer data)
{
    g_autofree char *uri = target_uri(f, "tcp");
    g_autofree char *line = NULL;
    struct mig_node dst = { 0 };

    if (skipped(f))
        return;
    g_assert_true(vm_send(f->src.vm, "hp-ignore on"));
    g_free(mig_line(&f->src, "hotmem-guest: hp-ignore on"));
    qmp_ok(f->src.qmp, "{\"execute\": \"device_del\", \"arguments\": "
           "{\"id\": \"dimm1\"}}");
    g_free(mig_line(&f->src, "hotmem-guest: hp-ignore dropped"));
    start(f, &dst, "dst", dimm_args, uri);
    mig_migrate(&f->src, uri);
    expect_precopy_events(&f->src);
    mig_expect_event(&dst, "RESUME");
    g_assert_true(vm_send(dst.vm, "scan"));
    line = mig_line(&dst, "hotmem-guest: dimm slot=0");
    g_assert_nonnull(strstr(line, "ejected"));
    mig_expect_event(&dst, "DEVICE_DELETED");
    mig_node_stop(&dst);
}

/*
 * fd: with a descriptor really passed: the test's end of a socket pair
 * goes to the source with getfd (SCM_RIGHTS on the QMP socket), the
 * destination inherits the other end (-incoming fd:N).
 */
static void test_fd(struct fixture *f, gconstpointer data)
{
    g_autofree char *incoming = NULL;
    struct mig_node dst = { 0 };
    int sp[2];

    if (skipped(f))
        return;
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), ==, 0);
    g_assert_cmpint(fcntl(sp[0], F_SETFD, FD_CLOEXEC), ==, 0);
    incoming = g_strdup_printf("fd:%d", sp[1]);
    start(f, &dst, "dst", dimm_args, incoming);
    close(sp[1]);
    qmp_expect_return(f->src.qmp, qmp_call_fd(f->src.qmp,
        "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"mig\"}}",
        sp[0]));
    close(sp[0]);       /* the source has its own copy now */
    pattern_start(f, &f->src, 20000, WRITER_SECONDS);
    g_usleep(300000);
    mig_migrate(&f->src, "fd:mig");
    expect_precopy_events(&f->src);
    check_completed(f);
    /* migrate took the descriptor, and its name with it. */
    qmp_fails(f->src.qmp, "File descriptor named 'mig' not found",
              "{\"execute\": \"closefd\", \"arguments\": {\"fdname\": "
              "\"mig\"}}");
    mig_expect_event(&dst, "RESUME");
    check_destination(f, &dst);
    mig_node_stop(&dst);
}

/* Minor page faults of the node's VMM so far (/proc/PID/stat field 10). */
static uint64_t minor_faults(struct mig_node *n)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", vm_pid(n->vm));
    g_autofree char *stat = NULL;
    g_auto(GStrv) fields = NULL;

    g_assert_true(g_file_get_contents(path, &stat, NULL, NULL));
    /* After "(comm)": state is field 3, minflt field 10. */
    fields = g_strsplit(strrchr(stat, ')') + 2, " ", 0);
    g_assert_cmpuint(g_strv_length(fields), >, 8);
    return g_ascii_strtoull(fields[7], NULL, 10);
}

/*
 * An idle guest of 1 GiB that has touched a few MiB of it: neither side
 * reads the pages never written (a fault each where the host maps no huge
 * zero page: THP off, as here for both VMMs, or a host set to never), and
 * the migration sends them as zero pages all the same. It used to take
 * 262,000 faults on each side, and in the nested host the destination
 * fell so far behind that the guest's pause was 100-300 ms, not 10-25.
 */
static void test_untouched(void)
{
    g_autofree char *dir = NULL, *uri = NULL;
    struct mig_node src = { 0 }, dst = { 0 };
    uint64_t src_faults, dst_faults;
    json_object *info, *ram;

    if (vm_kvm_unavailable()) {
        g_test_skip(vm_kvm_unavailable());
        return;
    }
    dir = g_dir_make_tmp("hotmem-live-XXXXXX", NULL);
    uri = g_strdup_printf("unix:%s/untouched.sock", dir);
    /* Inherited by the VMMs: no huge zero page hides the faults. */
    g_assert_cmpint(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0), ==, 0);
    mig_node_start(&src, dir, "src", "1G", NULL, NULL);
    mig_node_start(&dst, dir, "dst", "1G", NULL, uri);
    g_assert_cmpint(prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0), ==, 0);
    g_free(mig_line(&src, "hotmem-guest: ready"));
    /* A page written and one never written, at 512 MiB and 768 MiB. */
    g_assert_true(vm_send(src.vm, "poke 0x20000000 0x5eed0bad"));
    g_free(mig_line(&src, "hotmem-guest: poke addr=0x20000000 "));
    src_faults = minor_faults(&src);
    dst_faults = minor_faults(&dst);
    mig_migrate(&src, uri);
    mig_expect_event(&dst, "RESUME");
    src_faults = minor_faults(&src) - src_faults;
    dst_faults = minor_faults(&dst) - dst_faults;
    g_test_message("minor faults during the migration: source %" PRIu64
                   ", destination %" PRIu64 " (1 GiB: 262144 pages)",
                   src_faults, dst_faults);
    g_assert_cmpuint(src_faults, <, 8192);
    g_assert_cmpuint(dst_faults, <, 8192);
    /* All of it was sent, as zero pages but for what the guest wrote. */
    for (int i = 0; i < TIMEOUT_MS / 20; i++) {
        info = query_migrate(&src);
        if (!strcmp(json_object_get_string(mig_member(info, "status")),
                    "completed"))
            break;
        json_object_put(info);
        info = NULL;
        g_usleep(20000);
    }
    g_assert_nonnull(info);
    ram = mig_member(info, "ram");
    g_assert_cmpint(json_object_get_int64(mig_member(ram, "total")), ==,
                    1 << 30);
    g_assert_cmpint(json_object_get_int64(mig_member(ram, "duplicate")), >,
                    (1 << 30) / 4096 * 9 / 10);
    json_object_put(info);
    g_assert_true(vm_send(dst.vm, "peek 0x20000000"));
    g_free(mig_line(&dst, "hotmem-guest: peek addr=0x20000000 "
                          "value=0x5eed0bad"));
    g_assert_true(vm_send(dst.vm, "peek 0x30000000"));
    g_free(mig_line(&dst, "hotmem-guest: peek addr=0x30000000 value=0x0"));
    mig_node_stop(&dst);
    mig_node_stop(&src);
    mig_remove_dir(dir);
}

/*
 * A destination that accepts the connection and never reads: the
 * source's writes make no progress, and after x-stall-timeout it fails,
 * saying so, and runs on with its memory as it was.
 */
static void test_stall(struct fixture *f, gconstpointer data)
{
    g_autofree char *path = g_strdup_printf("%s/stall.sock", f->dir);
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    json_object *params;
    int lfd, cfd;

    if (skipped(f))
        return;
    qmp_fails(f->src.qmp, "Parameter 'x_stall_timeout' expects an integer "
              "in the range of 100 to 3600000 ms", "{\"execute\": "
              "\"migrate-set-parameters\", \"arguments\": "
              "{\"x-stall-timeout\": 99}}");
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"x-stall-timeout\": 1000}}");
    params = qmp_return(f->src.qmp,
                        "{\"execute\": \"query-migrate-parameters\"}");
    g_assert_cmpint(json_object_get_int64(mig_member(params, "x-stall-timeout")),
                    ==, 1000);
    json_object_put(params);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(lfd, 1), ==, 0);
    pattern_start(f, &f->src, 20000, WRITER_SECONDS);
    g_usleep(300000);
    mig_migrate(&f->src, uri);
    cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint(cfd, >=, 0);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    expect_failed(f, "no progress for 1000 ms (the peer stopped reading)");
    close(cfd);
    close(lfd);
    /* The writer went on through it all; the memory is whole. */
    g_assert_true(vm_send(f->src.vm, "ping"));
    g_free(mig_line(&f->src, "hotmem-guest: pattern done"));
    g_free(mig_line(&f->src, "hotmem-guest: pong"));
    pattern_check(f, &f->src);
}

/*
 * A reset asked for during pre-copy is held back on the source (what it
 * sends is one instant's machine) and done by the destination once the
 * state is back, before its guest runs: the guest boots again there.
 */
static void test_reset_during_precopy(struct fixture *f, gconstpointer data)
{
    g_autofree char *uri = target_uri(f, "unix");
    struct mig_node dst = { 0 };
    json_object *ev;

    if (skipped(f))
        return;
    start(f, &dst, "dst", dimm_args, uri);
    /* Slow enough that the reset comes while the first pass runs. */
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 65536}}");
    mig_migrate(&f->src, uri);
    mig_expect_migration_event(&f->src, "setup");
    mig_expect_migration_event(&f->src, "active");
    qmp_ok(f->src.qmp, "{\"execute\": \"system_reset\"}");
    mig_expect_state(&f->src, "running");
    qmp_ok(f->src.qmp, "{\"execute\": \"migrate-set-parameters\", "
           "\"arguments\": {\"max-bandwidth\": 0}}");
    mig_expect_migration_event(&f->src, "device");
    mig_expect_migration_event(&f->src, "completed");
    ev = qmp_wait_event(dst.qmp, "RESET", TIMEOUT_MS);
    if (!ev)
        g_error("no RESET on the destination; its console:\n%s",
                vm_console(dst.vm));
    g_assert_false(json_object_get_boolean(mig_member(mig_member(ev, "data"),
                                                  "guest")));
    json_object_put(ev);
    mig_expect_event(&dst, "RESUME");
    /* The guest starts again, on the destination. */
    g_free(mig_line(&dst, "hotmem-guest: ready"));
    mig_expect_state(&dst, "running");
    mig_node_stop(&dst);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/migrate/live/unix", struct fixture, "unix", setup,
               test_live, teardown);
    g_test_add("/migrate/live/tcp", struct fixture, "tcp", setup, test_live,
               teardown);
    g_test_add("/migrate/live/heavy/converge", struct fixture, NULL, setup,
               test_converge, teardown);
    g_test_add("/migrate/live/heavy/stress-auto", struct fixture, NULL, setup,
               test_stress, teardown);
    g_test_add("/migrate/live/heavy/stress-ring", struct fixture, "ring", setup,
               test_stress, teardown);
    g_test_add("/migrate/live/heavy/auto-converge", struct fixture, NULL, setup,
               test_auto_converge, teardown);
    g_test_add_func("/migrate/live/untouched-memory", test_untouched);
    g_test_add("/migrate/live/fd", struct fixture, NULL, setup, test_fd,
               teardown);
    g_test_add("/migrate/live/stall", struct fixture, NULL, setup,
               test_stall, teardown);
    g_test_add("/migrate/live/cancel", struct fixture, NULL, setup,
               test_cancel, teardown);
    g_test_add("/migrate/live/errors", struct fixture, NULL, setup,
               test_errors, teardown);
    g_test_add("/migrate/live/pending-removal", struct fixture, NULL, setup,
               test_pending_removal, teardown);
    g_test_add("/migrate/live/reset-during-precopy", struct fixture, NULL,
               setup, test_reset_during_precopy, teardown);
    return g_test_run();
}
