/*
 * query-stats and query-stats-schemas: KVM's own statistics (binary stats
 * fds of the VM and of every vCPU) with the shapes of QEMU's
 * qapi/stats.json. The statistic names are whatever the running kernel
 * offers (pages_4k, remote_tlb_flush, halt_exits, ...).
 *
 * The stats fds are obtained when the commands are registered, before the
 * vCPUs run: KVM_GET_STATS_FD on a vCPU fd waits for the vCPU's mutex,
 * which KVM_RUN holds, so asking for it later would block the monitor for
 * as long as the guest runs or halts. Reading the fds needs no lock: the
 * descriptors are parsed on first use and kept, and each query costs one
 * pread per fd. The state lives as long as the monitor (the QMP server has
 * no unregister hook, and the command structs it holds point into it).
 */
#include "monitor/commands.h"

#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "mmu/kvm_stats.h"

/* QEMU's StatsProvider and StatsTarget enums (qapi/stats.json). hotmem has
 * no crypto devices, so "cryptodev" is valid and always yields nothing. */
static const char *const providers_enum[] = { "kvm", "cryptodev", NULL };
static const char *const targets_enum[] = { "vm", "vcpu", "cryptodev", NULL };

/* One entry of query-stats' "providers" (QEMU's StatsRequest). */
struct stats_request {
    bool kvm;                   /* provider "kvm" (else "cryptodev") */
    json_object *names;         /* array of strings, or NULL for all */
};

/* The statistics of one KVM object: the VM or one vCPU. */
struct stats_source {
    int fd;                     /* stats fd not parsed yet, or -1 */
    GError *error;              /* why there is no fd or no reader */
    struct kvm_stats *reader;   /* parsed on first use */
};

struct stats_state {
    struct machine *m;
    unsigned nr_vcpus;
    struct stats_source *sources;   /* the VM, then each vCPU */
    struct qmp_command commands[2];
};

static const struct qmp_arg query_stats_args[] = {
    { "target", QMP_ARG_STR, false },
    { "providers", QMP_ARG_ARRAY, true },
    { "vcpus", QMP_ARG_ARRAY, true },
    { NULL },
};

static const struct qmp_arg query_stats_schemas_args[] = {
    { "provider", QMP_ARG_STR, true },
    { NULL },
};

static GError *arg_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static GError *arg_error(const char *fmt, ...)
{
    va_list ap;
    GError *err;

    va_start(ap, fmt);
    err = g_error_new_valist(QMP_ERROR, QMP_ERROR_GENERIC, fmt, ap);
    va_end(ap);
    return err;
}

/* QAPI's message for a value outside an enum. */
static bool check_enum(const char *member, const char *value,
                       const char *const *allowed, GError **err)
{
    if (g_strv_contains(allowed, value))
        return true;
    g_propagate_error(err, arg_error("Parameter '%s' does not accept value "
                                     "'%s'", member, value));
    return false;
}

static bool check_string_list(json_object *list, const char *member,
                              GError **err)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        if (!json_object_is_type(json_object_array_get_idx(list, i),
                                 json_type_string)) {
            g_propagate_error(err, arg_error("Invalid parameter type for "
                                             "'%s[%zu]', expected: string",
                                             member, i));
            return false;
        }
    }
    return true;
}

/*
 * providers[i]: {"provider": StatsProvider, "names"?: [str]}, checked in
 * QAPI's order: members as declared, then anything undeclared.
 */
static bool parse_request(json_object *o, size_t i, struct stats_request *r,
                          GError **err)
{
    g_autofree char *names_path = g_strdup_printf("providers[%zu].names", i);
    json_object *provider = NULL;

    if (!json_object_is_type(o, json_type_object)) {
        g_propagate_error(err, arg_error("Invalid parameter type for "
                                         "'providers[%zu]', expected: object",
                                         i));
        return false;
    }
    if (!json_object_object_get_ex(o, "provider", &provider) ||
        !json_object_is_type(provider, json_type_string)) {
        g_propagate_error(err, provider
            ? arg_error("Invalid parameter type for 'providers[%zu].provider'"
                        ", expected: string", i)
            : arg_error("Parameter 'providers[%zu].provider' is missing", i));
        return false;
    }
    if (!check_enum("provider", json_object_get_string(provider),
                    providers_enum, err))
        return false;
    r->kvm = !strcmp(json_object_get_string(provider), "kvm");
    if (json_object_object_get_ex(o, "names", &r->names) &&
        !json_object_is_type(r->names, json_type_array)) {
        g_propagate_error(err, arg_error("Invalid parameter type for '%s', "
                                         "expected: array", names_path));
        return false;
    }
    if (r->names && !check_string_list(r->names, names_path, err))
        return false;
    json_object_object_foreach(o, key, val) {
        (void)val;
        if (strcmp(key, "provider") && strcmp(key, "names")) {
            g_propagate_error(err, arg_error("Parameter 'providers[%zu].%s' "
                                             "is unexpected", i, key));
            return false;
        }
    }
    return true;
}

/* The requests of query-stats; no "providers" means every provider. */
static GArray *parse_requests(json_object *args, GError **err)
{
    GArray *reqs = g_array_new(FALSE, TRUE, sizeof(struct stats_request));
    json_object *list;

    if (!json_object_object_get_ex(args, "providers", &list)) {
        struct stats_request all = { .kvm = true };

        g_array_append_val(reqs, all);
        return reqs;
    }
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct stats_request r = { 0 };

        if (!parse_request(json_object_array_get_idx(list, i), i, &r, err)) {
            g_array_free(reqs, TRUE);
            return NULL;
        }
        g_array_append_val(reqs, r);
    }
    return reqs;
}

static bool list_contains(json_object *list, const char *s)
{
    for (size_t i = 0; i < json_object_array_length(list); i++)
        if (!strcmp(json_object_get_string(json_object_array_get_idx(list, i)),
                    s))
            return true;
    return false;
}

/*
 * The reader of a source, parsing its descriptors on first use. A kernel
 * without binary stats is not an error: like QEMU there, hotmem then has
 * no statistics to show (*reader is NULL).
 */
static bool source_reader(struct stats_source *src, struct kvm_stats **reader,
                          GError **err)
{
    *reader = NULL;
    if (!src->reader && !src->error) {
        src->reader = kvm_stats_from_fd(src->fd, &src->error);
        src->fd = -1;           /* kvm_stats_from_fd() took it */
    }
    if (src->reader) {
        *reader = src->reader;
        return true;
    }
    if (g_error_matches(src->error, HM_ERROR, HM_ERROR_NOT_SUPPORTED))
        return true;
    g_propagate_error(err, g_error_copy(src->error));
    return false;
}

static void source_init(struct stats_source *src, int kvm_fd)
{
    src->fd = kvm_stats_get_fd(kvm_fd, &src->error);
}

static char *vcpu_qom_path(unsigned index)
{
    /* Where QEMU's pc machines put the CPUs in the QOM tree. */
    return g_strdup_printf("/machine/unattached/device[%u]", index);
}

/* Statistics that QEMU's enums can describe (a newer kernel may add
 * types or units they cannot name). */
static bool stat_representable(const struct kvm_stat_desc *d)
{
    return d->type != KVM_STAT_TYPE_UNKNOWN &&
           d->unit != KVM_STAT_UNIT_UNKNOWN &&
           (d->exponent == 0 || d->base != 0);
}

/* QEMU's StatsValue: a boolean, a number, or a list for histograms. */
static json_object *stat_value(const struct kvm_stat_desc *d,
                               const uint64_t *v)
{
    json_object *list;

    if (d->unit == KVM_STAT_UNIT_BOOLEAN)
        return json_object_new_boolean(v[0] != 0);
    if (d->size == 1)
        return json_object_new_uint64(v[0]);
    list = json_object_new_array();
    for (unsigned i = 0; i < d->size; i++)
        json_object_array_add(list, json_object_new_uint64(v[i]));
    return list;
}

/* Appends one StatsResult for reader to results, unless no stat passes
 * the names filter (QEMU leaves such results out too). */
static bool add_result(json_object *results, struct kvm_stats *reader,
                       const char *qom_path, json_object *names, GError **err)
{
    json_object *stats, *result;

    if (!kvm_stats_refresh(reader, err))
        return false;
    stats = json_object_new_array();
    for (unsigned i = 0; i < kvm_stats_count(reader); i++) {
        const struct kvm_stat_desc *d = kvm_stats_desc(reader, i);
        json_object *stat;

        if (!stat_representable(d) || (names && !list_contains(names, d->name)))
            continue;
        stat = json_object_new_object();
        json_object_object_add(stat, "name", json_object_new_string(d->name));
        json_object_object_add(stat, "value",
                               stat_value(d, kvm_stats_values(reader, i)));
        json_object_array_add(stats, stat);
    }
    if (json_object_array_length(stats) == 0) {
        json_object_put(stats);
        return true;
    }
    result = json_object_new_object();
    json_object_object_add(result, "provider", json_object_new_string("kvm"));
    if (qom_path)
        json_object_object_add(result, "qom-path",
                               json_object_new_string(qom_path));
    json_object_object_add(result, "stats", stats);
    json_object_array_add(results, result);
    return true;
}

/* The kvm provider's results for one request. */
static bool add_kvm_results(struct stats_state *st, json_object *results,
                            bool vcpu_target, json_object *vcpus,
                            json_object *names, GError **err)
{
    struct kvm_stats *reader;

    if (!vcpu_target) {
        if (!source_reader(&st->sources[0], &reader, err))
            return false;
        return !reader || add_result(results, reader, NULL, names, err);
    }
    for (unsigned i = 0; i < st->nr_vcpus; i++) {
        g_autofree char *path = vcpu_qom_path(i);

        /* Like QEMU, paths that name no vCPU simply match nothing. */
        if (vcpus && !list_contains(vcpus, path))
            continue;
        if (!source_reader(&st->sources[1 + i], &reader, err))
            return false;
        if (reader && !add_result(results, reader, path, names, err))
            return false;
    }
    return true;
}

static bool check_stats_args(json_object *args, const char **target,
                             json_object **vcpus, GError **err)
{
    json_object *t = NULL;

    json_object_object_get_ex(args, "target", &t);
    *target = json_object_get_string(t);
    if (!check_enum("target", *target, targets_enum, err))
        return false;
    *vcpus = NULL;
    if (!json_object_object_get_ex(args, "vcpus", vcpus))
        return true;
    /* "vcpus" belongs to the vcpu branch of QEMU's StatsFilter union. */
    if (strcmp(*target, "vcpu")) {
        g_propagate_error(err, arg_error("Parameter 'vcpus' is unexpected"));
        return false;
    }
    return check_string_list(*vcpus, "vcpus", err);
}

static void cmd_query_stats(struct qmp_request *req, json_object *args,
                            void *opaque)
{
    struct stats_state *st = opaque;
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) reqs = NULL;
    const char *target;
    json_object *vcpus, *results;

    if (!check_stats_args(args, &target, &vcpus, &err) ||
        !(reqs = parse_requests(args, &err))) {
        qmp_request_error(req, err);
        return;
    }
    results = json_object_new_array();
    for (guint i = 0; i < reqs->len; i++) {
        const struct stats_request *r =
            &g_array_index(reqs, struct stats_request, i);

        if (!r->kvm || !strcmp(target, "cryptodev"))
            continue;
        if (!add_kvm_results(st, results, !strcmp(target, "vcpu"), vcpus,
                             r->names, &err)) {
            json_object_put(results);
            qmp_request_error(req, err);
            return;
        }
    }
    qmp_request_return(req, results);
}

/* QEMU's StatsSchemaValue: base only with a non-zero exponent,
 * bucket-size only for linear histograms, no unit for plain counts. */
static json_object *schema_value(const struct kvm_stat_desc *d)
{
    json_object *o = json_object_new_object();
    const char *unit = kvm_stat_unit_name(d->unit);

    json_object_object_add(o, "name", json_object_new_string(d->name));
    json_object_object_add(o, "type",
                           json_object_new_string(kvm_stat_type_name(d->type)));
    if (unit)
        json_object_object_add(o, "unit", json_object_new_string(unit));
    if (d->exponent != 0)
        json_object_object_add(o, "base", json_object_new_int(d->base));
    json_object_object_add(o, "exponent", json_object_new_int(d->exponent));
    if (d->type == KVM_STAT_LINEAR_HIST)
        json_object_object_add(o, "bucket-size",
                               json_object_new_int64(d->bucket_size));
    return o;
}

static json_object *schema(const char *target, const struct kvm_stats *r)
{
    json_object *o = json_object_new_object();
    json_object *stats = json_object_new_array();

    for (unsigned i = 0; i < kvm_stats_count(r); i++)
        if (stat_representable(kvm_stats_desc(r, i)))
            json_object_array_add(stats, schema_value(kvm_stats_desc(r, i)));
    json_object_object_add(o, "provider", json_object_new_string("kvm"));
    json_object_object_add(o, "target", json_object_new_string(target));
    json_object_object_add(o, "stats", stats);
    return o;
}

static void cmd_query_stats_schemas(struct qmp_request *req,
                                    json_object *args, void *opaque)
{
    struct stats_state *st = opaque;
    g_autoptr(GError) err = NULL;
    json_object *provider = NULL, *results;

    json_object_object_get_ex(args, "provider", &provider);
    if (provider && !check_enum("provider", json_object_get_string(provider),
                                providers_enum, &err)) {
        qmp_request_error(req, err);
        return;
    }
    results = json_object_new_array();
    if (provider && strcmp(json_object_get_string(provider), "kvm")) {
        qmp_request_return(req, results);
        return;
    }
    /* Every vCPU has the same statistics: vCPU 0 describes them. */
    for (unsigned i = 0; i < MIN(st->nr_vcpus + 1, 2); i++) {
        struct kvm_stats *reader;

        if (!source_reader(&st->sources[i], &reader, &err)) {
            json_object_put(results);
            qmp_request_error(req, err);
            return;
        }
        if (reader)
            json_object_array_add(results,
                                  schema(i == 0 ? "vm" : "vcpu", reader));
    }
    qmp_request_return(req, results);
}

static void stats_state_free(void *opaque)
{
    struct stats_state *st = opaque;

    for (unsigned i = 0; i <= st->nr_vcpus; i++) {
        struct stats_source *src = &st->sources[i];

        if (src->reader)
            kvm_stats_free(src->reader);
        else if (src->fd >= 0)
            close(src->fd);
        g_clear_error(&src->error);
    }
    g_free(st->sources);
    g_free(st);
}

struct monitor_group monitor_register_stats(struct qmp_server *server,
                                            struct machine *m)
{
    struct stats_state *st = g_new0(struct stats_state, 1);

    st->m = m;
    st->nr_vcpus = machine_vcpu_count(m);
    st->sources = g_new0(struct stats_source, st->nr_vcpus + 1);
    source_init(&st->sources[0], machine_vm_fd(m));
    for (unsigned i = 0; i < st->nr_vcpus; i++)
        source_init(&st->sources[1 + i], machine_vcpu_fd(m, i));
    st->commands[0] = (struct qmp_command){
        "query-stats", query_stats_args, false, cmd_query_stats, st };
    st->commands[1] = (struct qmp_command){
        "query-stats-schemas", query_stats_schemas_args, false,
        cmd_query_stats_schemas, st };
    for (size_t i = 0; i < G_N_ELEMENTS(st->commands); i++)
        qmp_server_register(server, &st->commands[i]);
    return (struct monitor_group){ st, stats_state_free };
}
