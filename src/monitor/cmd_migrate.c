/*
 * Migration commands with QEMU's names, arguments and shapes
 * (qapi/migration.json): migrate, migrate-incoming, migrate_cancel,
 * query-migrate, migrate-set-capabilities, query-migrate-capabilities,
 * migrate-set-parameters, query-migrate-parameters; and getfd/closefd
 * (qapi/misc.json), whose descriptors migrate fd:NAME takes. The jobs
 * are migration/'s (docs/migration.md).
 */
#include "monitor/commands.h"

#include <string.h>

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

static void cmd_migrate_cancel(struct qmp_request *req, json_object *args,
                               void *opaque)
{
    migration_cancel(opaque);
    qmp_request_return(req, NULL);
}

static void cmd_set_parameters(struct qmp_request *req, json_object *args,
                               void *opaque)
{
    GError *err = NULL;
    bool ok = migration_set_parameters(opaque, args, &err);

    reply(req, ok, err);
}

static void cmd_query_parameters(struct qmp_request *req, json_object *args,
                                 void *opaque)
{
    qmp_request_return(req, migration_query_parameters(opaque));
}

/* getfd/closefd: the server is the request's; opaque is the migration. */
static void cmd_getfd(struct qmp_request *req, json_object *args,
                      void *opaque)
{
    GError *err = NULL;
    bool ok = qmp_request_getfd(req, str_arg(args, "fdname"), &err);

    reply(req, ok, err);
}

struct fd_table {
    struct qmp_server *server;
    struct qmp_command commands[];
};

static void cmd_closefd(struct qmp_request *req, json_object *args,
                        void *opaque)
{
    struct fd_table *t = opaque;
    GError *err = NULL;
    bool ok = qmp_server_closefd(t->server, str_arg(args, "fdname"), &err);

    reply(req, ok, err);
}

static int take_fd(void *opaque, const char *name, GError **err)
{
    struct fd_table *t = opaque;

    return qmp_server_take_fd(t->server, name, err);
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
/* The MigrateSetParameters members hotmem has (docs/migration.md). */
static const struct qmp_arg parameters_args[] = {
    { "downtime-limit", QMP_ARG_INT, true },
    { "max-bandwidth", QMP_ARG_INT, true },
    { "mode", QMP_ARG_STR, true },
    { "throttle-trigger-threshold", QMP_ARG_INT, true },
    { "cpu-throttle-initial", QMP_ARG_INT, true },
    { "cpu-throttle-increment", QMP_ARG_INT, true },
    { "cpu-throttle-tailslow", QMP_ARG_BOOL, true },
    { "max-cpu-throttle", QMP_ARG_INT, true },
    { "x-stall-timeout", QMP_ARG_INT, true }, { NULL },
};
static const struct qmp_arg fdname_args[] = {
    { "fdname", QMP_ARG_STR, false }, { NULL },
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
    { .name = "migrate_cancel", .handler = cmd_migrate_cancel },
    { .name = "migrate-set-parameters", .args = parameters_args,
      .handler = cmd_set_parameters },
    { .name = "query-migrate-parameters", .handler = cmd_query_parameters,
      .ret = &qt_migration_parameters },
    { .name = "getfd", .args = fdname_args, .handler = cmd_getfd },
    { .name = "closefd", .args = fdname_args, .handler = cmd_closefd },
};

struct monitor_group monitor_register_migration(struct qmp_server *server,
                                                struct migration *mig)
{
    /* The server points at these until it is freed; then so are they. */
    struct fd_table *t = g_malloc(sizeof(*t) + sizeof(migrate_commands));

    t->server = server;
    memcpy(t->commands, migrate_commands, sizeof(migrate_commands));
    for (size_t i = 0; i < G_N_ELEMENTS(migrate_commands); i++) {
        t->commands[i].opaque = t->commands[i].handler == cmd_closefd
                                ? (void *)t : (void *)mig;
        qmp_server_register(server, &t->commands[i]);
    }
    migration_set_fd_lookup(mig, take_fd, t);
    return (struct monitor_group){ t, g_free };
}
