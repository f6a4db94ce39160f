/*
 * query-stats and query-stats-schemas: the arguments as QEMU's
 * qapi/stats.json checks them; the machine reads KVM's statistics and
 * shapes the results (machine/machine_stats.c). The state lives as long as
 * the monitor (the QMP server has no unregister hook, and the command
 * structs it holds point into it).
 */
#include "monitor/commands.h"
#include "monitor/qmp_types.h"

#include <string.h>
#include <unistd.h>

#include "errors.h"

/* QEMU's StatsProvider and StatsTarget enums (qapi/stats.json). hotmem has
 * no crypto devices, so "cryptodev" is valid and always yields nothing. */
static const char *const providers_enum[] = { "kvm", "cryptodev", NULL };
static const char *const targets_enum[] = { "vm", "vcpu", "cryptodev", NULL };

/* One entry of query-stats' "providers" (QEMU's StatsRequest). */
struct stats_request {
    bool kvm;                   /* provider "kvm" (else "cryptodev") */
    json_object *names;         /* array of strings, or NULL for all */
};

struct stats_state {
    struct machine *m;
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
        if (!machine_query_stats(st->m, !strcmp(target, "vcpu"), vcpus,
                                 r->names, results, &err)) {
            json_object_put(results);
            qmp_request_error(req, err);
            return;
        }
    }
    qmp_request_return(req, results);
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
    if (provider && strcmp(json_object_get_string(provider), "kvm")) {
        qmp_request_return(req, json_object_new_array());
        return;
    }
    results = machine_query_stats_schemas(st->m, &err);
    if (!results) {
        qmp_request_error(req, err);
        return;
    }
    qmp_request_return(req, results);
}

struct monitor_group monitor_register_stats(struct qmp_server *server,
                                            struct machine *m)
{
    struct stats_state *st = g_new0(struct stats_state, 1);

    st->m = m;
    st->commands[0] = (struct qmp_command){
        .name = "query-stats", .args = query_stats_args,
        .handler = cmd_query_stats, .opaque = st,
        .ret = &qt_stats_result_list };
    st->commands[1] = (struct qmp_command){
        .name = "query-stats-schemas", .args = query_stats_schemas_args,
        .handler = cmd_query_stats_schemas, .opaque = st,
        .ret = &qt_stats_schema_list };
    for (size_t i = 0; i < G_N_ELEMENTS(st->commands); i++)
        qmp_server_register(server, &st->commands[i]);
    return (struct monitor_group){ st, g_free };
}
