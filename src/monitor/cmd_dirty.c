/*
 * calc-dirty-rate and query-dirty-rate with QEMU's arguments and its
 * DirtyRateInfo shape (qapi/migration.json); the measurement itself is
 * mmu/dirtyrate.c (docs/mmu.md, "Dirty logging"). The state lives as long as the
 * monitor: the QMP server has no unregister hook and holds the commands.
 */
#include "monitor/commands.h"
#include "monitor/qmp_types.h"

#include <string.h>

#include "errors.h"
#include "mmu/dirtyrate.h"

struct dirty_cmds {
    struct machine *m;
    struct qmp_command commands[2];
};

static const struct qmp_arg calc_args[] = {
    { "calc-time", QMP_ARG_INT, false },
    { "calc-time-unit", QMP_ARG_STR, true },
    { "sample-pages", QMP_ARG_INT, true },
    { "mode", QMP_ARG_STR, true },
    { NULL },
};

static const struct qmp_arg query_args[] = {
    { "calc-time-unit", QMP_ARG_STR, true },
    { NULL },
};

/* TimeUnit: absent is seconds. false (request failed) on a bad value. */
static bool time_unit_arg(struct qmp_request *req, json_object *args,
                          bool *ms)
{
    json_object *v;
    const char *s;

    *ms = false;
    if (!json_object_object_get_ex(args, "calc-time-unit", &v))
        return true;
    s = json_object_get_string(v);
    if (!strcmp(s, "second") || !strcmp(s, "millisecond")) {
        *ms = !strcmp(s, "millisecond");
        return true;
    }
    qmp_request_fail(req, QMP_ERROR_GENERIC, "Parameter 'calc-time-unit' "
                     "does not accept value '%s' (second or millisecond)", s);
    return false;
}

static bool parse_calc(struct qmp_request *req, json_object *args,
                       struct dirtyrate_request *r)
{
    json_object *v;

    *r = (struct dirtyrate_request){ 0 };
    if (!time_unit_arg(req, args, &r->calc_time_ms))
        return false;
    json_object_object_get_ex(args, "calc-time", &v);
    r->calc_time = json_object_get_int64(v);
    if (json_object_object_get_ex(args, "sample-pages", &v)) {
        r->has_sample_pages = true;
        r->sample_pages = json_object_get_int64(v);
    }
    if (!json_object_object_get_ex(args, "mode", &v))
        return true;
    r->has_mode = true;
    if (dirtyrate_mode_parse(json_object_get_string(v), &r->mode))
        return true;
    qmp_request_fail(req, QMP_ERROR_GENERIC, "Parameter 'mode' does not "
                     "accept value '%s' (page-sampling, dirty-ring or "
                     "dirty-bitmap)", json_object_get_string(v));
    return false;
}

static void cmd_calc_dirty_rate(struct qmp_request *req, json_object *args,
                                void *opaque)
{
    struct dirty_cmds *c = opaque;
    struct dirtyrate_request r;
    g_autoptr(GError) err = NULL;

    if (!parse_calc(req, args, &r))
        return;
    if (machine_calc_dirty_rate(c->m, &r, &err))
        qmp_request_return(req, NULL);
    else
        qmp_request_error(req, err);
}

/*
 * DirtyRateInfo. calc-time is rounded down to the unit, as in QEMU.
 * calc-time-unit is there only when the query named a unit: QEMU 7.2 has
 * neither the argument nor the member; later QEMUs have both.
 */
static json_object *info_json(const struct dirtyrate_info *i, bool ms,
                              bool unit_given)
{
    json_object *o = json_object_new_object();

    if (i->status == DIRTYRATE_MEASURED)
        json_object_object_add(o, "dirty-rate",
                               json_object_new_int64(i->dirty_rate));
    json_object_object_add(o, "status", json_object_new_string(
                               dirtyrate_status_name(i->status)));
    json_object_object_add(o, "start-time",
                           json_object_new_int64(i->start_time));
    json_object_object_add(o, "calc-time", json_object_new_int64(
                               ms ? i->calc_time_ms : i->calc_time_ms / 1000));
    if (unit_given)
        json_object_object_add(o, "calc-time-unit", json_object_new_string(
                                   ms ? "millisecond" : "second"));
    json_object_object_add(o, "sample-pages",
                           json_object_new_uint64(i->sample_pages));
    json_object_object_add(o, "mode", json_object_new_string(
                               dirtyrate_mode_name(i->mode)));
    if (i->mode == DIRTYRATE_DIRTY_RING && i->status == DIRTYRATE_MEASURED) {
        json_object *list = json_object_new_array();

        for (unsigned v = 0; v < i->nr_vcpus; v++) {
            json_object *e = json_object_new_object();

            json_object_object_add(e, "id", json_object_new_int64(v));
            json_object_object_add(e, "dirty-rate",
                                   json_object_new_int64(i->vcpu_rate[v]));
            json_object_array_add(list, e);
        }
        json_object_object_add(o, "vcpu-dirty-rate", list);
    }
    return o;
}

static void cmd_query_dirty_rate(struct qmp_request *req, json_object *args,
                                 void *opaque)
{
    struct dirty_cmds *c = opaque;
    struct dirtyrate_info info;
    bool ms;

    if (!time_unit_arg(req, args, &ms))
        return;
    machine_query_dirty_rate(c->m, &info);
    qmp_request_return(req, info_json(&info, ms, json_object_object_get_ex(
                                               args, "calc-time-unit", NULL)));
    dirtyrate_info_clear(&info);
}

struct monitor_group monitor_register_dirty(struct qmp_server *server,
                                            struct machine *m)
{
    struct dirty_cmds *c = g_new0(struct dirty_cmds, 1);

    c->m = m;
    c->commands[0] = (struct qmp_command){
        .name = "calc-dirty-rate", .args = calc_args,
        .handler = cmd_calc_dirty_rate, .opaque = c };
    c->commands[1] = (struct qmp_command){
        .name = "query-dirty-rate", .args = query_args,
        .handler = cmd_query_dirty_rate, .opaque = c,
        .ret = &qt_dirty_rate_info };
    qmp_server_register(server, &c->commands[0]);
    qmp_server_register(server, &c->commands[1]);
    return (struct monitor_group){ c, g_free };
}
