/*
 * QEMU's object-model commands (qapi/qom.json, qapi/qdev.json): qom-list,
 * qom-get, qom-set, qom-list-types and device-list-properties over the
 * tree the machine describes (machine/machine_qom.c).
 */
#include "monitor/commands.h"

#include "errors.h"
#include "machine/machine_qom.h"
#include "monitor/qmp_types.h"

static const char *str_arg(json_object *args, const char *name)
{
    json_object *v = NULL;

    json_object_object_get_ex(args, name, &v);
    return v ? json_object_get_string(v) : NULL;
}

/* Machine errors to QMP: a missing object is DeviceNotFound. */
static void reply(struct qmp_request *req, json_object *ret, GError *err)
{
    if (err && err->domain == HM_ERROR &&
        err->code == HM_ERROR_DEVICE_NOT_FOUND)
        qmp_request_fail(req, QMP_ERROR_DEVICE_NOT_FOUND, "%s", err->message);
    else if (err)
        qmp_request_error(req, err);
    else
        qmp_request_return(req, ret);
    g_clear_error(&err);
}

static void cmd_qom_list(struct qmp_request *req, json_object *args,
                         void *opaque)
{
    GError *err = NULL;
    json_object *r = machine_qom_list(opaque, str_arg(args, "path"), &err);

    reply(req, r, err);
}

static void cmd_qom_get(struct qmp_request *req, json_object *args,
                        void *opaque)
{
    GError *err = NULL;
    json_object *r = machine_qom_get(opaque, str_arg(args, "path"),
                                     str_arg(args, "property"), &err);

    reply(req, r, err);
}

static void cmd_qom_set(struct qmp_request *req, json_object *args,
                        void *opaque)
{
    GError *err = NULL;

    machine_qom_set(opaque, str_arg(args, "path"), str_arg(args, "property"),
                    json_object_object_get(args, "value"), &err);
    reply(req, NULL, err);
}

static void cmd_qom_list_types(struct qmp_request *req, json_object *args,
                               void *opaque)
{
    json_object *abstract = json_object_object_get(args, "abstract");

    qmp_request_return(req, machine_qom_list_types(
                           str_arg(args, "implements"),
                           abstract && json_object_get_boolean(abstract)));
}

static void cmd_device_list_properties(struct qmp_request *req,
                                       json_object *args, void *opaque)
{
    GError *err = NULL;
    json_object *r = machine_device_list_properties(
                         str_arg(args, "typename"), &err);

    reply(req, r, err);
}

static const struct qmp_arg path_args[] = {
    { "path", QMP_ARG_STR, false }, { NULL },
};
static const struct qmp_arg get_args[] = {
    { "path", QMP_ARG_STR, false }, { "property", QMP_ARG_STR, false },
    { NULL },
};
static const struct qmp_arg set_args[] = {
    { "path", QMP_ARG_STR, false }, { "property", QMP_ARG_STR, false },
    { "value", QMP_ARG_ANY, false }, { NULL },
};
static const struct qmp_arg list_types_args[] = {
    { "implements", QMP_ARG_STR, true }, { "abstract", QMP_ARG_BOOL, true },
    { NULL },
};
static const struct qmp_arg typename_args[] = {
    { "typename", QMP_ARG_STR, false }, { NULL },
};

static const struct qmp_command qom_commands[] = {
    { .name = "qom-list", .args = path_args, .handler = cmd_qom_list,
      .ret = &qt_object_property_info_list },
    { .name = "qom-get", .args = get_args, .handler = cmd_qom_get,
      .ret = &schema_any },
    { .name = "qom-set", .args = set_args, .handler = cmd_qom_set },
    { .name = "qom-list-types", .args = list_types_args,
      .handler = cmd_qom_list_types, .ret = &qt_object_type_info_list },
    { .name = "device-list-properties", .args = typename_args,
      .handler = cmd_device_list_properties,
      .ret = &qt_object_property_info_list },
};

struct monitor_group monitor_register_qom(struct qmp_server *server,
                                          struct machine *m)
{
    /* The server points at these until it is freed; then so are they. */
    struct qmp_command *table = g_memdup2(qom_commands, sizeof(qom_commands));

    for (size_t i = 0; i < G_N_ELEMENTS(qom_commands); i++) {
        table[i].opaque = m;
        qmp_server_register(server, &table[i]);
    }
    return (struct monitor_group){ table, g_free };
}
