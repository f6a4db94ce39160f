/*
 * Migration commands with QEMU's names, arguments and shapes
 * (qapi/migration.json): migrate, migrate-incoming, query-migrate,
 * migrate-set-capabilities, query-migrate-capabilities. The jobs are
 * migration/'s (docs/migration.md).
 */
#include "monitor/commands.h"
#include "monitor/qmp_types.h"

#include "machine/machine_events.h"
#include "migration/migration.h"

static const char *str_arg(json_object *args, const char *name)
{
    json_object *v = NULL;

    json_object_object_get_ex(args, name, &v);
    return v ? json_object_get_string(v) : NULL;
}

static json_object *obj_arg(json_object *args, const char *name)
{
    json_object *v = NULL;

    json_object_object_get_ex(args, name, &v);
    return v;
}

static void reply(struct qmp_request *req, bool ok, GError *err)
{
    if (ok)
        qmp_request_return(req, NULL);
    else
        qmp_request_error(req, err);
    g_clear_error(&err);
}

static void cmd_migrate(struct qmp_request *req, json_object *args,
                        void *opaque)
{
    GError *err = NULL;
    json_object *resume = obj_arg(args, "resume");
    bool ok;

    if (resume && json_object_get_boolean(resume)) {
        qmp_request_fail(req, QMP_ERROR_GENERIC, "Cannot resume if there "
                         "is no paused migration");
        return;
    }
    ok = migration_start(opaque, str_arg(args, "uri"),
                         obj_arg(args, "channels"), &err);
    reply(req, ok, err);
}

static void cmd_migrate_incoming(struct qmp_request *req, json_object *args,
                                 void *opaque)
{
    GError *err = NULL;
    json_object *exit_on_error = obj_arg(args, "exit-on-error");
    bool ok = migration_incoming(opaque, str_arg(args, "uri"),
                                 obj_arg(args, "channels"),
                                 !exit_on_error ||
                                 json_object_get_boolean(exit_on_error),
                                 &err);

    reply(req, ok, err);
}

static void cmd_query_migrate(struct qmp_request *req, json_object *args,
                              void *opaque)
{
    qmp_request_return(req, migration_query(opaque));
}

static void cmd_set_capabilities(struct qmp_request *req, json_object *args,
                                 void *opaque)
{
    GError *err = NULL;
    bool ok = migration_set_capabilities(opaque,
                                         obj_arg(args, "capabilities"),
                                         &err);

    reply(req, ok, err);
}

static void cmd_query_capabilities(struct qmp_request *req,
                                   json_object *args, void *opaque)
{
    qmp_request_return(req, migration_query_capabilities(opaque));
}

static const struct qmp_arg migrate_args[] = {
    { "uri", QMP_ARG_STR, true }, { "channels", QMP_ARG_ARRAY, true },
    { "detach", QMP_ARG_BOOL, true }, { "resume", QMP_ARG_BOOL, true },
    { NULL },
};
static const struct qmp_arg incoming_args[] = {
    { "uri", QMP_ARG_STR, true }, { "channels", QMP_ARG_ARRAY, true },
    { "exit-on-error", QMP_ARG_BOOL, true }, { NULL },
};
static const struct qmp_arg capabilities_args[] = {
    { "capabilities", QMP_ARG_ARRAY, false }, { NULL },
};

static const struct qmp_command migrate_commands[] = {
    { .name = "migrate", .args = migrate_args, .handler = cmd_migrate },
    { .name = "migrate-incoming", .args = incoming_args,
      .handler = cmd_migrate_incoming },
    { .name = "query-migrate", .handler = cmd_query_migrate,
      .ret = &qt_migration_info },
    { .name = "migrate-set-capabilities", .args = capabilities_args,
      .handler = cmd_set_capabilities },
    { .name = "query-migrate-capabilities",
      .handler = cmd_query_capabilities,
      .ret = &qt_migration_capability_status_list },
};

struct monitor_group monitor_register_migration(struct qmp_server *server,
                                                struct migration *mig)
{
    /* The server points at these until it is freed; then so are they. */
    struct qmp_command *table = g_memdup2(migrate_commands,
                                          sizeof(migrate_commands));

    for (size_t i = 0; i < G_N_ELEMENTS(migrate_commands); i++) {
        table[i].opaque = mig;
        qmp_server_register(server, &table[i]);
    }
    return (struct monitor_group){ table, g_free };
}
