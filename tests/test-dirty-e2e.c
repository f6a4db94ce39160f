/*
 * calc-dirty-rate end to end: the real hotmem binary, hotmem-guest's
 * "dirty" command producing a known page rate from ring 3, and the rate
 * hotmem measures compared with the rate the guest reports (within 5%),
 * in dirty-bitmap and dirty-ring mode, with and without a DIMM hot-added
 * during the measurement window. Also QEMU's argument checks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>

#include "vmrunner.h"

/* 7680 pages/s is exactly 30 MiB/s; 2 s of it fits the 128 MiB range. */
#define RATE        7680
#define RANGE       "0x8000000 0x8000000"
#define CALC_TIME   2
#define RUN_SECONDS 5

struct qmp {
    int fd;
    FILE *in;
    unsigned dimms;
};

static void qmp_connect(struct qmp *q, const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char line[4096];

    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    for (int i = 0; i < 100; i++) {
        if (connect(q->fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            break;
        g_usleep(50000);
    }
    q->in = fdopen(q->fd, "r");
    g_assert_nonnull(fgets(line, sizeof(line), q->in));     /* greeting */
}

/* Sends cmd (JSON text) and returns the reply, skipping events. */
static json_object *qmp_cmd(struct qmp *q, const char *cmd)
{
    char line[65536];

    g_assert_cmpint(write(q->fd, cmd, strlen(cmd)), ==, (ssize_t)strlen(cmd));
    g_assert_cmpint(write(q->fd, "\n", 1), ==, 1);
    while (fgets(line, sizeof(line), q->in)) {
        json_object *r = json_tokener_parse(line);

        g_assert_nonnull(r);
        if (!json_object_object_get_ex(r, "event", NULL))
            return r;
        json_object_put(r);
    }
    g_assert_not_reached();
}

static void qmp_ok(struct qmp *q, const char *cmd)
{
    json_object *r = qmp_cmd(q, cmd);

    if (!json_object_object_get_ex(r, "return", NULL))
        g_error("%s -> %s", cmd, json_object_to_json_string(r));
    json_object_put(r);
}

static void qmp_error(struct qmp *q, const char *cmd, const char *needle)
{
    json_object *r = qmp_cmd(q, cmd), *e, *desc, *cls;

    g_assert_true(json_object_object_get_ex(r, "error", &e));
    g_assert_true(json_object_object_get_ex(e, "class", &cls));
    g_assert_cmpstr(json_object_get_string(cls), ==, "GenericError");
    g_assert_true(json_object_object_get_ex(e, "desc", &desc));
    g_assert_nonnull(strstr(json_object_get_string(desc), needle));
    json_object_put(r);
}

struct run {
    struct vm *vm;
    struct qmp q;
    char *dir;
};

static bool run_start(struct run *r, const char *accel)
{
    const char *why = vm_kvm_unavailable();
    g_autofree char *sock = NULL, *qmp_arg = NULL;
    const char *args[8] = { "-m", "512M,slots=4,maxmem=2G", "-qmp" };
    unsigned n = 3;
    char *line;

    if (why) {
        g_test_skip(why);
        return false;
    }
    r->dir = g_dir_make_tmp("hotmem-dirty-XXXXXX", NULL);
    sock = g_build_filename(r->dir, "qmp.sock", NULL);
    qmp_arg = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    args[n++] = qmp_arg;
    if (accel) {
        args[n++] = "-accel";
        args[n++] = accel;
    }
    args[n] = NULL;
    r->vm = vm_spawn(args);
    line = vm_wait_line(r->vm, "hotmem-guest: ready", 30000);
    g_assert_nonnull(line);
    g_free(line);
    qmp_connect(&r->q, sock);
    qmp_ok(&r->q, "{\"execute\": \"qmp_capabilities\"}");
    /* Touch the range once (first touch is slow here) and calibrate. */
    vm_send(r->vm, "dirty 100000 " RANGE " 1");
    line = vm_wait_line(r->vm, "hotmem-guest: dirty done", 60000);
    g_assert_nonnull(line);
    g_free(line);
    return true;
}

static void run_end(struct run *r)
{
    vm_send(r->vm, "poweroff");
    g_assert_cmpint(vm_wait_exit(r->vm, 20000), ==, 0);
    vm_free(r->vm);
    fclose(r->q.in);
    g_autofree char *sock = g_build_filename(r->dir, "qmp.sock", NULL);
    unlink(sock);
    rmdir(r->dir);
    g_free(r->dir);
}

static void hot_add(struct run *r)
{
    g_autofree char *obj = NULL, *dev = NULL;

    r->q.dimms++;
    obj = g_strdup_printf("{\"execute\": \"object-add\", \"arguments\": "
                          "{\"qom-type\": \"memory-backend-ram\", \"id\": "
                          "\"m%u\", \"size\": 134217728}}", r->q.dimms);
    dev = g_strdup_printf("{\"execute\": \"device_add\", \"arguments\": "
                          "{\"driver\": \"pc-dimm\", \"id\": \"d%u\", "
                          "\"memdev\": \"m%u\"}}", r->q.dimms, r->q.dimms);
    qmp_ok(&r->q, obj);
    qmp_ok(&r->q, dev);
}

/* Polls query-dirty-rate until measured; returns the reply's "return". */
static json_object *wait_measured(struct qmp *q)
{
    for (int i = 0; i < 200; i++) {
        json_object *r = qmp_cmd(q, "{\"execute\": \"query-dirty-rate\"}");
        json_object *ret, *st;

        g_assert_true(json_object_object_get_ex(r, "return", &ret));
        g_assert_true(json_object_object_get_ex(ret, "status", &st));
        if (!strcmp(json_object_get_string(st), "measured")) {
            json_object_get(ret);
            json_object_put(r);
            return ret;
        }
        json_object_put(r);
        g_usleep(100000);
    }
    g_assert_not_reached();
}

static int64_t get_int(json_object *o, const char *key)
{
    json_object *v;

    g_assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_int64(v);
}

/* One measurement while the guest dirties; returns measured / produced. */
static double measure(struct run *r, const char *mode, bool hotplug)
{
    bool sampling = !strcmp(mode, "page-sampling");
    g_autofree char *calc = g_strdup_printf(
        "{\"execute\": \"calc-dirty-rate\", \"arguments\": {\"calc-time\": "
        "%d, \"mode\": \"%s\"%s}}", CALC_TIME, mode,
        sampling ? ", \"sample-pages\": 4096" : "");
    g_autofree char *line = NULL;
    json_object *info, *vcpus;
    unsigned long pages, rate;
    double produced;
    int64_t measured;

    vm_send(r->vm, "dirty " G_STRINGIFY(RATE) " " RANGE " "
            G_STRINGIFY(RUN_SECONDS));
    g_free(vm_wait_line(r->vm, "hotmem-guest: dirty tsc-hz=", 10000));
    g_usleep(500000);
    qmp_ok(&r->q, calc);
    if (hotplug) {
        g_usleep(500000);
        hot_add(r);
    }
    info = wait_measured(&r->q);
    line = vm_wait_line(r->vm, "hotmem-guest: dirty done", 30000);
    g_assert_nonnull(line);
    g_assert_cmpint(sscanf(line, "hotmem-guest: dirty done pages=%lu "
                           "seconds=%*s rate=%lu", &pages, &rate), ==, 2);
    measured = get_int(info, "dirty-rate");
    produced = (double)rate * 4096 / (1 << 20);
    g_test_message("%s%s: guest %lu pages/s = %.2f MiB/s, hotmem %" PRId64
                   " MiB/s over %" PRId64 " s", mode,
                   hotplug ? " + hot-add" : "", rate, produced, measured,
                   get_int(info, "calc-time"));
    if (!strcmp(mode, "dirty-ring")) {
        g_assert_true(json_object_object_get_ex(info, "vcpu-dirty-rate",
                                                &vcpus));
        g_assert_cmpuint(json_object_array_length(vcpus), ==, 1);
    }
    json_object_put(info);
    return (double)measured / produced;
}

static void assert_within_5pct(double ratio)
{
    g_assert_cmpfloat(ratio, >=, 0.95);
    g_assert_cmpfloat(ratio, <=, 1.05);
}

static void test_bitmap(void)
{
    struct run r = { 0 };
    double ratio;

    if (!run_start(&r, NULL))
        return;
    qmp_error(&r.q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
              "{\"calc-time\": 1, \"mode\": \"dirty-ring\"}}", "dirty ring");
    qmp_error(&r.q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
              "{\"calc-time\": 61}}", "out of range");
    qmp_error(&r.q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
              "{\"calc-time\": 10, \"calc-time-unit\": \"millisecond\"}}",
              "out of range");
    qmp_error(&r.q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
              "{\"calc-time\": 1, \"sample-pages\": 512, \"mode\": "
              "\"dirty-bitmap\"}}", "only in page-sampling");
    qmp_error(&r.q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
              "{\"calc-time\": 1, \"sample-pages\": 100}}", "out of range");
    assert_within_5pct(measure(&r, "dirty-bitmap", false));
    assert_within_5pct(measure(&r, "dirty-bitmap", true));
    /* An estimate from ~2000 samples: only roughly right. */
    ratio = measure(&r, "page-sampling", false);
    g_assert_cmpfloat(ratio, >=, 0.75);
    g_assert_cmpfloat(ratio, <=, 1.25);
    run_end(&r);
}

static void test_ring(void)
{
    struct run r = { 0 };

    if (!run_start(&r, "kvm,dirty-ring-size=4096"))
        return;
    qmp_error(&r.q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
              "{\"calc-time\": 1, \"mode\": \"dirty-bitmap\"}}", "dirty ring");
    qmp_ok(&r.q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
           "{\"calc-time\": 1, \"mode\": \"dirty-ring\"}}");
    qmp_error(&r.q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
              "{\"calc-time\": 1, \"mode\": \"dirty-ring\"}}",
              "already being measured");
    json_object_put(wait_measured(&r.q));
    assert_within_5pct(measure(&r, "dirty-ring", false));
    assert_within_5pct(measure(&r, "dirty-ring", true));
    run_end(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dirty-rate/dirty-bitmap", test_bitmap);
    g_test_add_func("/dirty-rate/dirty-ring", test_ring);
    return g_test_run();
}
