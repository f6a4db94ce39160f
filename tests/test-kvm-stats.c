/*
 * KVM binary statistics: the reader against synthetic stats files and real
 * VM / vCPU stats fds, then query-stats and query-stats-schemas against the
 * real hotmem binary, including KVM's page counters growing when the guest
 * touches a hot-added DIMM. Skips (with the reason) where /dev/kvm cannot be
 * used.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <linux/kvm.h>

#include "kvm.h"
#include "mmu/kvm_stats.h"
#include "qmpclient.h"
#include "vmrunner.h"

#define BOOT_TIMEOUT_MS 30000
#define QMP_TIMEOUT_MS  30000

static bool skip_without_kvm(void)
{
    const char *why = vm_kvm_unavailable();

    if (why)
        g_test_skip(why);
    return why != NULL;
}

/* ---- synthetic stats files -------------------------------------------- */

#define SYN_NAME_SIZE 16

struct syn_desc {
    const char *name;
    uint32_t flags;
    int16_t exponent;
    uint16_t size;
    uint32_t offset;
    uint32_t bucket_size;
};

/* A stats file laid out as api.rst describes: header, id, descs, data. */
static int synthetic_file(const struct syn_desc *d, unsigned n,
                          const uint64_t *data, size_t data_words)
{
    size_t stride = sizeof(struct kvm_stats_desc) + SYN_NAME_SIZE;
    struct kvm_stats_header h = {
        .name_size = SYN_NAME_SIZE, .num_desc = n,
        .id_offset = sizeof(h), .desc_offset = sizeof(h) + SYN_NAME_SIZE,
    };
    g_autofree guint8 *descs = g_malloc0(stride * n);
    char id[SYN_NAME_SIZE] = "kvm-42";
    int fd = memfd_create("stats", MFD_CLOEXEC);

    h.data_offset = h.desc_offset + stride * n;
    for (unsigned i = 0; i < n; i++) {
        struct kvm_stats_desc k = {
            .flags = d[i].flags, .exponent = d[i].exponent,
            .size = d[i].size, .offset = d[i].offset,
            .bucket_size = d[i].bucket_size,
        };

        memcpy(descs + i * stride, &k, sizeof(k));
        strncpy((char *)descs + i * stride + sizeof(k), d[i].name,
                SYN_NAME_SIZE - 1);
    }
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, &h, sizeof(h), 0), ==, sizeof(h));
    g_assert_cmpint(pwrite(fd, id, sizeof(id), h.id_offset), ==, sizeof(id));
    g_assert_cmpint(pwrite(fd, descs, stride * n, h.desc_offset), ==,
                    (ssize_t)(stride * n));
    g_assert_cmpint(pwrite(fd, data, data_words * 8, h.data_offset), ==,
                    (ssize_t)(data_words * 8));
    return fd;
}

static void test_synthetic(void)
{
    static const struct syn_desc d[] = {
        { "counter", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 0, 0 },
        { "flag", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN, 0, 1, 8,
          0 },
        { "wait_hist", KVM_STATS_TYPE_LINEAR_HIST | KVM_STATS_UNIT_SECONDS |
          KVM_STATS_BASE_POW10, -9, 4, 16, 100 },
        { "future", 0xf, 0, 1, 48, 0 },
    };
    static const uint64_t data[] = { 7, 1, 1, 2, 3, 4, 5 };
    g_autoptr(GError) err = NULL;
    struct kvm_stats *s = kvm_stats_from_fd(synthetic_file(d, 4, data, 7),
                                            &err);
    const struct kvm_stat_desc *h;
    uint64_t v[4];

    g_assert_no_error(err);
    g_assert_cmpstr(kvm_stats_id(s), ==, "kvm-42");
    g_assert_cmpuint(kvm_stats_count(s), ==, 4);
    g_assert_cmpint(kvm_stats_find(s, "wait_hist"), ==, 2);
    g_assert_cmpint(kvm_stats_find(s, "nope"), ==, -1);
    h = kvm_stats_desc(s, 2);
    g_assert_cmpint(h->type, ==, KVM_STAT_LINEAR_HIST);
    g_assert_cmpint(h->unit, ==, KVM_STAT_UNIT_SECONDS);
    g_assert_cmpuint(h->base, ==, 10);
    g_assert_cmpint(h->exponent, ==, -9);
    g_assert_cmpuint(h->size, ==, 4);
    g_assert_cmpuint(h->bucket_size, ==, 100);
    g_assert_cmpstr(kvm_stat_type_name(h->type), ==, "linear-histogram");
    g_assert_cmpint(kvm_stats_desc(s, 1)->unit, ==, KVM_STAT_UNIT_BOOLEAN);
    g_assert_cmpint(kvm_stats_desc(s, 3)->type, ==, KVM_STAT_TYPE_UNKNOWN);
    g_assert_null(kvm_stats_values(s, 0));      /* no snapshot yet */
    g_assert_true(kvm_stats_read(s, 2, v, &err));
    g_assert_cmpuint(v[0], ==, 1);
    g_assert_cmpuint(v[3], ==, 4);
    g_assert_true(kvm_stats_refresh(s, &err));
    g_assert_cmpuint(kvm_stats_values(s, 0)[0], ==, 7);
    g_assert_cmpuint(kvm_stats_values(s, 2)[1], ==, 2);
    g_assert_cmpuint(kvm_stats_values(s, 3)[0], ==, 5);
    kvm_stats_free(s);
}

static void check_malformed(const struct syn_desc *d, size_t data_words,
                            const char *want)
{
    static const uint64_t data[8];
    g_autoptr(GError) err = NULL;
    struct kvm_stats *s = kvm_stats_from_fd(synthetic_file(d, 1, data,
                                                           data_words),
                                            &err);

    g_assert_null(s);
    g_assert_nonnull(err);
    g_test_message("%s", err->message);
    g_assert_nonnull(strstr(err->message, want));
}

static void test_malformed(void)
{
    static const struct syn_desc empty = { "", 0, 0, 1, 0, 0 };
    static const struct syn_desc odd = { "odd", 0, 0, 1, 3, 0 };
    static const struct syn_desc none = { "none", 0, 0, 0, 0, 0 };
    g_autoptr(GError) err = NULL;
    int fd = memfd_create("short", MFD_CLOEXEC);

    check_malformed(&empty, 1, "empty name");
    check_malformed(&odd, 1, "multiple of 8");
    check_malformed(&none, 1, "has size 0");
    /* A file shorter than its header. */
    g_assert_cmpint(write(fd, "kvm", 3), ==, 3);
    g_assert_null(kvm_stats_from_fd(fd, &err));
    g_assert_nonnull(strstr(err->message, "ends after 3 of 24 bytes"));
}

/* ---- real stats fds ----------------------------------------------------- */

static void check_reader(struct kvm_stats *s, const char *id_part)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GError) err = NULL;
    unsigned n = kvm_stats_count(s);

    g_test_message("%s: %u statistics", kvm_stats_id(s), n);
    g_assert_true(g_str_has_prefix(kvm_stats_id(s), "kvm-"));
    g_assert_nonnull(strstr(kvm_stats_id(s), id_part));
    g_assert_cmpuint(n, >, 0);
    g_assert_true(kvm_stats_refresh(s, &err));
    for (unsigned i = 0; i < n; i++) {
        const struct kvm_stat_desc *d = kvm_stats_desc(s, i);
        g_autofree uint64_t *v = g_new(uint64_t, d->size);

        g_assert_cmpuint(strlen(d->name), >, 0);
        g_assert_false(g_hash_table_contains(seen, d->name));
        g_hash_table_add(seen, d->name);
        g_assert_cmpint(kvm_stats_find(s, d->name), ==, (int)i);
        g_assert_cmpuint(d->size, >=, 1);
        if (d->type == KVM_STAT_TYPE_UNKNOWN || d->unit == KVM_STAT_UNIT_UNKNOWN)
            g_test_message("%s: flags 0x%x newer than this reader", d->name,
                           d->flags);
        g_assert_true(kvm_stats_read(s, i, v, &err));
        g_assert_no_error(err);
        if (d->unit == KVM_STAT_UNIT_BOOLEAN)
            g_assert_cmpuint(v[0], <=, 1);
    }
}

static void test_vm_fd(void)
{
    g_autoptr(GError) err = NULL;
    struct kvm *kvm;
    struct kvm_stats *s;
    int vcpu;

    if (skip_without_kvm())
        return;
    kvm = kvm_open("/dev/kvm", &err);
    g_assert_no_error(err);
    s = kvm_stats_open(kvm->vm_fd, &err);
    g_assert_no_error(err);
    check_reader(s, "kvm-");
    kvm_stats_free(s);

    vcpu = __kvm_ioctl(kvm->vm_fd, KVM_CREATE_VCPU, 0);
    g_assert_cmpint(vcpu, >=, 0);
    s = kvm_stats_open(vcpu, &err);
    g_assert_no_error(err);
    check_reader(s, "/vcpu-0");
    kvm_stats_free(s);
    close(vcpu);
    kvm_close(kvm);
}

/* ---- end to end --------------------------------------------------------- */

struct fixture {
    char *dir, *sock;
    struct vm *vm;
    struct qmp *qmp;
};

static void fixture_start(struct fixture *f, const char *mem, const char *smp)
{
    g_autofree char *spec = NULL;
    g_autofree char *ready = NULL;

    f->dir = g_dir_make_tmp("hotmem-stats-XXXXXX", NULL);
    f->sock = g_build_filename(f->dir, "qmp.sock", NULL);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", f->sock);
    f->vm = vm_spawn((const char *[]){ "-m", mem, "-smp", smp, "-qmp", spec,
                                       NULL });
    ready = vm_wait_line(f->vm, "hotmem-guest: ready", BOOT_TIMEOUT_MS);
    if (!ready)
        g_error("no ready line; console:\n%s\nstderr:\n%s",
                vm_console(f->vm), vm_stderr(f->vm));
    f->qmp = qmp_connect(f->sock, QMP_TIMEOUT_MS);
}

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    if (!skip_without_kvm())
        fixture_start(f, "512M,slots=2,maxmem=4G", "2");
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    if (!f->vm)
        return;
    qmp_close(f->qmp);
    g_assert_true(vm_send(f->vm, "poweroff"));
    g_assert_cmpint(vm_wait_exit(f->vm, 10000), ==, 0);
    vm_free(f->vm);
    g_unlink(f->sock);
    g_rmdir(f->dir);
    g_free(f->sock);
    g_free(f->dir);
}

static json_object *member(json_object *o, const char *name)
{
    json_object *v = NULL;

    g_assert_true(json_object_object_get_ex(o, name, &v));
    return v;
}

/* name -> value of one StatsResult's "stats". */
static GHashTable *stats_by_name(json_object *result)
{
    GHashTable *h = g_hash_table_new(g_str_hash, g_str_equal);
    json_object *stats = member(result, "stats");

    for (size_t i = 0; i < json_object_array_length(stats); i++) {
        json_object *s = json_object_array_get_idx(stats, i);

        g_hash_table_insert(h, (char *)json_object_get_string(
                                   member(s, "name")), member(s, "value"));
    }
    return h;
}

/* Every schema entry has a value of the matching JSON type, and the other
 * way round. */
static void check_schema_matches(json_object *schema, json_object *result)
{
    json_object *stats = member(schema, "stats");
    g_autoptr(GHashTable) values = stats_by_name(result);

    g_assert_cmpuint(json_object_array_length(stats), ==,
                     g_hash_table_size(values));
    for (size_t i = 0; i < json_object_array_length(stats); i++) {
        json_object *s = json_object_array_get_idx(stats, i), *unit = NULL;
        const char *name = json_object_get_string(member(s, "name"));
        const char *type = json_object_get_string(member(s, "type"));
        json_object *v = g_hash_table_lookup(values, name);
        json_type want = json_type_int;

        g_assert_nonnull(v);
        member(s, "exponent");
        g_assert_cmpint(json_object_object_get_ex(s, "base", NULL), ==,
                        json_object_get_int(member(s, "exponent")) != 0);
        g_assert_cmpint(json_object_object_get_ex(s, "bucket-size", NULL), ==,
                        !strcmp(type, "linear-histogram"));
        if (g_str_has_suffix(type, "-histogram"))
            want = json_type_array;
        else if (json_object_object_get_ex(s, "unit", &unit) &&
                 !strcmp(json_object_get_string(unit), "boolean"))
            want = json_type_boolean;
        g_assert_cmpint(json_object_get_type(v), ==, want);
    }
}

static void test_schemas(struct fixture *f, gconstpointer data)
{
    json_object *schemas, *vm, *vcpu, *none;

    if (!f->vm)
        return;
    schemas = qmp_return(f->qmp, "{\"execute\": \"query-stats-schemas\"}");
    g_assert_cmpuint(json_object_array_length(schemas), ==, 2);
    g_assert_cmpstr(json_object_get_string(member(
        json_object_array_get_idx(schemas, 0), "target")), ==, "vm");
    g_assert_cmpstr(json_object_get_string(member(
        json_object_array_get_idx(schemas, 1), "target")), ==, "vcpu");
    g_test_message("%zu vm and %zu vcpu statistics",
                   json_object_array_length(member(
                       json_object_array_get_idx(schemas, 0), "stats")),
                   json_object_array_length(member(
                       json_object_array_get_idx(schemas, 1), "stats")));
    vm = qmp_return(f->qmp, "{\"execute\": \"query-stats\", \"arguments\": "
                            "{\"target\": \"vm\"}}");
    g_assert_cmpuint(json_object_array_length(vm), ==, 1);
    g_assert_false(json_object_object_get_ex(
        json_object_array_get_idx(vm, 0), "qom-path", NULL));
    check_schema_matches(json_object_array_get_idx(schemas, 0),
                         json_object_array_get_idx(vm, 0));
    vcpu = qmp_return(f->qmp, "{\"execute\": \"query-stats\", \"arguments\": "
                              "{\"target\": \"vcpu\"}}");
    check_schema_matches(json_object_array_get_idx(schemas, 1),
                         json_object_array_get_idx(vcpu, 1));
    none = qmp_return(f->qmp, "{\"execute\": \"query-stats-schemas\", "
                              "\"arguments\": {\"provider\": \"cryptodev\"}}");
    g_assert_cmpuint(json_object_array_length(none), ==, 0);
    json_object_put(none);
    json_object_put(vcpu);
    json_object_put(vm);
    json_object_put(schemas);
}

static void test_vcpus(struct fixture *f, gconstpointer data)
{
    json_object *all, *one, *none;

    if (!f->vm)
        return;
    all = qmp_return(f->qmp, "{\"execute\": \"query-stats\", \"arguments\": "
                             "{\"target\": \"vcpu\"}}");
    g_assert_cmpuint(json_object_array_length(all), ==, 2);
    for (size_t i = 0; i < 2; i++) {
        json_object *r = json_object_array_get_idx(all, i);
        g_autofree char *path = g_strdup_printf(
            "/machine/unattached/device[%zu]", i);

        g_assert_cmpstr(json_object_get_string(member(r, "qom-path")), ==,
                        path);
        g_assert_cmpstr(json_object_get_string(member(r, "provider")), ==,
                        "kvm");
    }
    one = qmp_return(f->qmp, "{\"execute\": \"query-stats\", \"arguments\": "
                     "{\"target\": \"vcpu\", \"vcpus\": "
                     "[\"/machine/unattached/device[1]\", "
                     "\"/machine/nope\"]}}");
    g_assert_cmpuint(json_object_array_length(one), ==, 1);
    g_assert_cmpstr(json_object_get_string(member(
        json_object_array_get_idx(one, 0), "qom-path")), ==,
        "/machine/unattached/device[1]");
    /* As in QEMU, an empty list selects no vCPU. */
    none = qmp_return(f->qmp, "{\"execute\": \"query-stats\", \"arguments\": "
                      "{\"target\": \"vcpu\", \"vcpus\": []}}");
    g_assert_cmpuint(json_object_array_length(none), ==, 0);
    json_object_put(none);
    json_object_put(one);
    json_object_put(all);
}

static void test_names(struct fixture *f, gconstpointer data)
{
    json_object *r, *stats;

    if (!f->vm)
        return;
    r = qmp_return(f->qmp, "{\"execute\": \"query-stats\", \"arguments\": "
                   "{\"target\": \"vcpu\", \"providers\": [{\"provider\": "
                   "\"kvm\", \"names\": [\"exits\", \"no_such_stat\"]}]}}");
    g_assert_cmpuint(json_object_array_length(r), ==, 2);
    stats = member(json_object_array_get_idx(r, 0), "stats");
    g_assert_cmpuint(json_object_array_length(stats), ==, 1);
    g_assert_cmpstr(json_object_get_string(member(
        json_object_array_get_idx(stats, 0), "name")), ==, "exits");
    json_object_put(r);
    /* Nothing matches: no result at all. */
    r = qmp_return(f->qmp, "{\"execute\": \"query-stats\", \"arguments\": "
                   "{\"target\": \"vm\", \"providers\": [{\"provider\": "
                   "\"kvm\", \"names\": []}]}}");
    g_assert_cmpuint(json_object_array_length(r), ==, 0);
    json_object_put(r);
    r = qmp_return(f->qmp, "{\"execute\": \"query-stats\", \"arguments\": "
                   "{\"target\": \"vm\", \"providers\": [{\"provider\": "
                   "\"cryptodev\"}]}}");
    g_assert_cmpuint(json_object_array_length(r), ==, 0);
    json_object_put(r);
}

static void test_errors(struct fixture *f, gconstpointer data)
{
    static const struct {
        const char *args, *desc;
    } cases[] = {
        { "{}", "Parameter 'target' is missing" },
        { "{\"target\": \"vm2\"}",
          "Parameter 'target' does not accept value 'vm2'" },
        { "{\"target\": \"vm\", \"vcpus\": []}",
          "Parameter 'vcpus' is unexpected" },
        { "{\"target\": \"vcpu\", \"vcpus\": [1]}",
          "Invalid parameter type for 'vcpus[0]', expected: string" },
        { "{\"target\": \"vm\", \"providers\": [{\"provider\": \"xen\"}]}",
          "Parameter 'provider' does not accept value 'xen'" },
        { "{\"target\": \"vm\", \"providers\": [{}]}",
          "Parameter 'providers[0].provider' is missing" },
        { "{\"target\": \"vm\", \"providers\": [\"kvm\"]}",
          "Invalid parameter type for 'providers[0]', expected: object" },
        { "{\"target\": \"vm\", \"providers\": [{\"provider\": \"kvm\", "
          "\"names\": [\"a\", 2]}]}",
          "Invalid parameter type for 'providers[0].names[1]', "
          "expected: string" },
        { "{\"target\": \"vm\", \"providers\": [{\"provider\": \"kvm\", "
          "\"limit\": 1}]}",
          "Parameter 'providers[0].limit' is unexpected" },
    };
    g_autofree char *desc = NULL;

    if (!f->vm)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_free(desc);
        desc = qmp_take_error(f->qmp, qmp_callf(f->qmp, "{\"execute\": "
                              "\"query-stats\", \"arguments\": %s}",
                              cases[i].args));
        g_assert_cmpstr(desc, ==, cases[i].desc);
    }
    g_free(desc);
    desc = qmp_take_error(f->qmp, qmp_call(f->qmp, "{\"execute\": "
                          "\"query-stats-schemas\", \"arguments\": "
                          "{\"provider\": \"kvm2\"}}"));
    g_assert_cmpstr(desc, ==,
                    "Parameter 'provider' does not accept value 'kvm2'");
}

/* pages_4k + pages_2m (+ pages_1g): the sptes KVM has mapped for the VM. */
static bool mapped_pages(struct qmp *q, uint64_t *sum)
{
    json_object *r = qmp_return(q, "{\"execute\": \"query-stats\", "
                                "\"arguments\": {\"target\": \"vm\", "
                                "\"providers\": [{\"provider\": \"kvm\", "
                                "\"names\": [\"pages_4k\", \"pages_2m\", "
                                "\"pages_1g\"]}]}}");
    json_object *stats;

    *sum = 0;
    if (json_object_array_length(r) == 0) {
        json_object_put(r);
        return false;
    }
    stats = member(json_object_array_get_idx(r, 0), "stats");
    for (size_t i = 0; i < json_object_array_length(stats); i++) {
        json_object *s = json_object_array_get_idx(stats, i);

        g_test_message("  %s = %" PRIu64,
                       json_object_get_string(member(s, "name")),
                       json_object_get_uint64(member(s, "value")));
        *sum += json_object_get_uint64(member(s, "value"));
    }
    json_object_put(r);
    return true;
}

/*
 * The guest onlines a hot-added 1 GiB DIMM by writing a pattern every 2 MiB
 * of it, so KVM must map at least one more page per 2 MiB region: 512.
 */
static void test_dimm_pages_grow(struct fixture *f, gconstpointer data)
{
    g_autofree char *online = NULL;
    uint64_t before, after;

    if (!f->vm)
        return;
    g_test_message("before the DIMM:");
    if (!mapped_pages(f->qmp, &before)) {
        g_test_skip("this kernel's VM stats have none of pages_4k, "
                    "pages_2m, pages_1g");
        return;
    }
    qmp_ok(f->qmp, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": \"mem1\", "
           "\"size\": 1073741824}}");
    qmp_ok(f->qmp, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"dimm1\", "
           "\"memdev\": \"mem1\"}}");
    online = vm_wait_line(f->vm, "hotmem-guest: dimm slot=0 ",
                          BOOT_TIMEOUT_MS);
    g_assert_nonnull(online);
    g_assert_true(g_str_has_prefix(online, "hotmem-guest: dimm slot=0 online"));
    g_test_message("after the guest onlined the DIMM:");
    g_assert_true(mapped_pages(f->qmp, &after));
    g_test_message("mapped pages: %" PRIu64 " -> %" PRIu64 " (+%" PRId64 ")",
                   before, after, (int64_t)(after - before));
    g_assert_cmpuint(after, >=, before + 256);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm-stats/reader/synthetic", test_synthetic);
    g_test_add_func("/kvm-stats/reader/malformed", test_malformed);
    g_test_add_func("/kvm-stats/reader/vm-and-vcpu-fd", test_vm_fd);
    g_test_add("/kvm-stats/qmp/schemas", struct fixture, NULL, fixture_setup,
               test_schemas, fixture_teardown);
    g_test_add("/kvm-stats/qmp/vcpus", struct fixture, NULL, fixture_setup,
               test_vcpus, fixture_teardown);
    g_test_add("/kvm-stats/qmp/names", struct fixture, NULL, fixture_setup,
               test_names, fixture_teardown);
    g_test_add("/kvm-stats/qmp/errors", struct fixture, NULL, fixture_setup,
               test_errors, fixture_teardown);
    g_test_add("/kvm-stats/qmp/dimm-pages-grow", struct fixture, NULL,
               fixture_setup, test_dimm_pages_grow, fixture_teardown);
    return g_test_run();
}
