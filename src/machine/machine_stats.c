/*
 * KVM's own statistics for query-stats and query-stats-schemas: the binary
 * stats fds of the VM and of every vCPU (mmu/kvm_stats.h), rendered with
 * the shapes of QEMU's qapi/stats.json. The statistic names are whatever
 * the running kernel offers (pages_4k, remote_tlb_flush, halt_exits, ...).
 *
 * The fds are obtained while the machine is built, right after its vCPUs
 * (machine_steps[]): KVM_GET_STATS_FD on a vCPU fd waits for the vCPU's
 * mutex, which KVM_RUN holds, so asking later would block the caller for
 * as long as the guest runs or halts. Reading them needs no lock: the
 * descriptors are parsed on first use and kept, and each query costs one
 * pread per fd.
 */
#include "machine/machine_internal.h"

#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "mmu/kvm_stats.h"

/* The statistics of one KVM object: the VM or one vCPU. */
struct stats_source {
    int fd;                     /* stats fd not parsed yet, or -1 */
    GError *error;              /* why there is no fd or no reader */
    struct kvm_stats *reader;   /* parsed on first use */
};

struct machine_stats {
    unsigned nr_vcpus;
    struct stats_source *sources;   /* the VM, then each vCPU */
};

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

bool machine_stats_init(struct machine *m, GError **err)
{
    struct machine_stats *st = g_new0(struct machine_stats, 1);

    st->nr_vcpus = vcpus_count(m->vcpus);
    st->sources = g_new0(struct stats_source, st->nr_vcpus + 1);
    source_init(&st->sources[0], m->kvm->vm_fd);
    for (unsigned i = 0; i < st->nr_vcpus; i++)
        source_init(&st->sources[1 + i], vcpus_fd(m->vcpus, i));
    m->stats = st;
    return true;        /* a missing fd is reported when asked for */
}

void machine_stats_free(struct machine *m)
{
    struct machine_stats *st = m->stats;

    if (!st)
        return;
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
    m->stats = NULL;
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

/* The kvm provider's results for one query-stats request (machine.h). */
bool machine_query_stats(struct machine *m, bool vcpu_target,
                         json_object *vcpus, json_object *names,
                         json_object *results, GError **err)
{
    struct machine_stats *st = m->stats;
    struct kvm_stats *reader;

    if (!st)                /* built without KVM: no statistics at all */
        return true;
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

json_object *machine_query_stats_schemas(struct machine *m, GError **err)
{
    struct machine_stats *st = m->stats;
    json_object *results = json_object_new_array();

    /* Every vCPU has the same statistics: vCPU 0 describes them. */
    for (unsigned i = 0; st && i < MIN(st->nr_vcpus + 1, 2); i++) {
        struct kvm_stats *reader;

        if (!source_reader(&st->sources[i], &reader, err)) {
            json_object_put(results);
            return NULL;
        }
        if (reader)
            json_object_array_add(results,
                                  schema(i == 0 ? "vm" : "vcpu", reader));
    }
    return results;
}
