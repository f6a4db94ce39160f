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
#include <unistd.h>
#include <json-c/json.h>

#include "qmpclient.h"
#include "vmrunner.h"

/* 7680 pages/s is exactly 30 MiB/s; 2 s of it fits the 128 MiB range. */
#define RATE        7680
#define RANGE       "0x8000000 0x8000000"
#define CALC_TIME   2
#define RUN_SECONDS 5
#define QMP_TIMEOUT_MS 30000

struct run {
    struct vm *vm;
    struct qmp *q;
    char *dir;
    unsigned dimms;
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
    r->q = qmp_connect(sock, QMP_TIMEOUT_MS);   /* and qmp_capabilities */
    qmp_on_closed(r->q, vm_explain_exit, r->vm);
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
    qmp_close(r->q);
    g_autofree char *sock = g_build_filename(r->dir, "qmp.sock", NULL);
    unlink(sock);
    rmdir(r->dir);
    g_free(r->dir);
}

static void hot_add(struct run *r)
{
    r->dimms++;
    qmp_ok(r->q, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": "
           "\"m%u\", \"size\": 134217728}}", r->dimms);
    qmp_ok(r->q, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"d%u\", "
           "\"memdev\": \"m%u\"}}", r->dimms, r->dimms);
}

/* Polls query-dirty-rate until measured; returns the reply's "return". */
static json_object *wait_measured(struct qmp *q)
{
    for (int i = 0; i < 200; i++) {
        json_object *r = qmp_call(q, "{\"execute\": \"query-dirty-rate\"}");
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
    qmp_ok(r->q, "%s", calc);
    if (hotplug) {
        g_usleep(500000);
        hot_add(r);
    }
    info = wait_measured(r->q);
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
    qmp_fails(r.q, "dirty ring", "{\"execute\": \"calc-dirty-rate\", "
              "\"arguments\": {\"calc-time\": 1, \"mode\": \"dirty-ring\"}}");
    qmp_fails(r.q, "calc-time 61 s is out of range: it must be 1 to 60 s",
              "{\"execute\": \"calc-dirty-rate\", "
              "\"arguments\": {\"calc-time\": 61}}");
    /* Issue 15, defect 16: no signed overflow on the way (UBSan). */
    qmp_fails(r.q, "calc-time -9223372036854775808 s is out of range",
              "{\"execute\": \"calc-dirty-rate\", "
              "\"arguments\": {\"calc-time\": -9223372036854775808}}");
    qmp_fails(r.q, "out of range", "{\"execute\": \"calc-dirty-rate\", "
              "\"arguments\": {\"calc-time\": 10, \"calc-time-unit\": "
              "\"millisecond\"}}");
    qmp_fails(r.q, "only in page-sampling", "{\"execute\": "
              "\"calc-dirty-rate\", \"arguments\": {\"calc-time\": 1, "
              "\"sample-pages\": 512, \"mode\": \"dirty-bitmap\"}}");
    qmp_fails(r.q, "out of range", "{\"execute\": \"calc-dirty-rate\", "
              "\"arguments\": {\"calc-time\": 1, \"sample-pages\": 100}}");
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
    qmp_fails(r.q, "dirty ring", "{\"execute\": \"calc-dirty-rate\", "
              "\"arguments\": {\"calc-time\": 1, \"mode\": "
              "\"dirty-bitmap\"}}");
    qmp_ok(r.q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
           "{\"calc-time\": 1, \"mode\": \"dirty-ring\"}}");
    qmp_fails(r.q, "already being measured", "{\"execute\": "
              "\"calc-dirty-rate\", \"arguments\": {\"calc-time\": 1, "
              "\"mode\": \"dirty-ring\"}}");
    json_object_put(wait_measured(r.q));
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
