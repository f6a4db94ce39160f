/*
 * QMP requests: validation of the request object, capabilities
 * negotiation, argument checks against struct qmp_arg lists, replies, and
 * the built-in commands qmp_capabilities and query-commands.
 *
 * Error classes and descriptions follow QEMU's (qmp-spec "Error", and
 * what QEMU answers for each kind of bad input) so that clients written
 * against QEMU see the same thing here.
 */
#include <stdarg.h>
#include <string.h>

#include "monitor/qmp_internal.h"

/* ---- replies ---------------------------------------------------------- */

static json_object *error_object(const char *cls, const char *desc)
{
    json_object *e = json_object_new_object();
    json_object *msg = json_object_new_object();

    json_object_object_add(e, "class", json_object_new_string(cls));
    json_object_object_add(e, "desc", json_object_new_string(desc));
    json_object_object_add(msg, "error", e);
    return msg;
}

void qmp_client_send_error(struct qmp_client *c, enum qmp_error_class cls,
                           const char *desc)
{
    GError err = { .domain = QMP_ERROR, .code = cls, .message = (char *)desc };
    json_object *msg = error_object(qmp_error_class_name(&err), desc);

    qmp_client_send(c, msg);
    json_object_put(msg);
}

static struct qmp_request *request_new(struct qmp_client *c, json_object *msg,
                                       bool oob)
{
    struct qmp_request *req = g_new0(struct qmp_request, 1);
    json_object *id;

    req->client = qmp_client_ref(c);
    /* "id" may be any JSON value, null included (a NULL json_object). */
    if (json_object_object_get_ex(msg, "id", &id)) {
        req->has_id = true;
        req->id = json_object_get(id);
    }
    /* An out-of-band request runs beside the pending in-band one. */
    if (!oob)
        c->pending = req;
    return req;
}

/* Sends reply (ownership taken) and ends req. */
static void request_finish(struct qmp_request *req, json_object *reply)
{
    struct qmp_client *c = req->client;

    if (req->has_id)
        json_object_object_add(reply, "id", req->id);   /* takes our ref */
    qmp_client_send(c, reply);          /* nothing if c has gone away */
    json_object_put(reply);
    if (c->pending == req) {
        c->pending = NULL;
        if (!c->dispatching)
            qmp_client_schedule_resume(c);
    }
    qmp_client_unref(c);
    g_free(req);
}

void qmp_request_return(struct qmp_request *req, json_object *ret)
{
    json_object *reply = json_object_new_object();

    json_object_object_add(reply, "return",
                           ret ? ret : json_object_new_object());
    request_finish(req, reply);
}

void qmp_request_error(struct qmp_request *req, const GError *err)
{
    request_finish(req, error_object(qmp_error_class_name(err),
                                     err->message));
}

void qmp_request_fail(struct qmp_request *req, enum qmp_error_class cls,
                      const char *fmt, ...)
{
    va_list ap;
    GError *err;

    va_start(ap, fmt);
    err = g_error_new_valist(QMP_ERROR, cls, fmt, ap);
    va_end(ap);
    qmp_request_error(req, err);
    g_error_free(err);
}

/* ---- argument checks -------------------------------------------------- */

/*
 * One value against its declared type, as QEMU's input visitor checks it:
 * the JSON type, an enum's values, and the elements of arrays of builtins
 * and enums ("enable[1]"). Members of nested objects are left to the
 * handler. false after replying.
 */
static bool check_value(struct qmp_request *req, const char *what,
                        const struct schema_type *type, json_object *v)
{
    const char *expected = schema_expected_name(type);
    bool ok = true;

    switch (type->meta) {
    case SCHEMA_BUILTIN:
        if (!expected)
            return true;
        if (!strcmp(type->json_type, "number"))
            ok = json_object_is_type(v, json_type_int) ||
                 json_object_is_type(v, json_type_double);
        else if (!strcmp(type->json_type, "int"))
            ok = json_object_is_type(v, json_type_int);
        else if (!strcmp(type->json_type, "string"))
            ok = json_object_is_type(v, json_type_string);
        else if (!strcmp(type->json_type, "boolean"))
            ok = json_object_is_type(v, json_type_boolean);
        else if (!strcmp(type->json_type, "null"))
            ok = json_object_is_type(v, json_type_null);
        break;
    case SCHEMA_ENUM:
        ok = json_object_is_type(v, json_type_string);
        if (ok && !schema_enum_has(type, json_object_get_string(v))) {
            qmp_request_fail(req, QMP_ERROR_GENERIC, "Parameter '%s' does "
                             "not accept value '%s'", what,
                             json_object_get_string(v));
            return false;
        }
        break;
    case SCHEMA_ARRAY:
        ok = json_object_is_type(v, json_type_array);
        if (!ok || (type->element->meta != SCHEMA_BUILTIN &&
                    type->element->meta != SCHEMA_ENUM))
            break;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            g_autofree char *item = g_strdup_printf("%s[%zu]", what, i);

            if (!check_value(req, item, type->element,
                             json_object_array_get_idx(v, i)))
                return false;
        }
        break;
    case SCHEMA_OBJECT:
        ok = json_object_is_type(v, json_type_object);
        break;
    case SCHEMA_ALTERNATE:
        break;
    }
    if (!ok)
        qmp_request_fail(req, QMP_ERROR_GENERIC,
                         "Invalid parameter type for '%s', expected: %s",
                         what, expected);
    return ok;
}

static bool arg_is_declared(const struct qmp_arg *args, const char *name)
{
    for (const struct qmp_arg *a = args; a && a->name; a++)
        if (!strcmp(a->name, name))
            return true;
    return false;
}

/* Declared arguments in order (missing, then type), then undeclared ones. */
static bool check_args(struct qmp_request *req, const struct qmp_command *cmd,
                       json_object *args)
{
    for (const struct qmp_arg *a = cmd->args; a && a->name; a++) {
        json_object *v;

        if (!json_object_object_get_ex(args, a->name, &v)) {
            if (a->optional)
                continue;
            qmp_request_fail(req, QMP_ERROR_GENERIC,
                             "Parameter '%s' is missing", a->name);
            return false;
        }
        if (!check_value(req, a->name, a->type, v))
            return false;
    }
    if (cmd->extra_args)
        return true;
    json_object_object_foreach(args, key, val) {
        (void)val;
        if (!arg_is_declared(cmd->args, key)) {
            qmp_request_fail(req, QMP_ERROR_GENERIC,
                             "Parameter '%s' is unexpected", key);
            return false;
        }
    }
    return true;
}

/* ---- built-in commands ------------------------------------------------ */

static void cmd_qmp_capabilities(struct qmp_request *req, json_object *args,
                                 void *opaque)
{
    json_object *enable;
    bool oob = false;

    /* The greeting offers "oob" only; anything else is unknown. */
    if (json_object_object_get_ex(args, "enable", &enable)) {
        for (size_t i = 0; i < json_object_array_length(enable); i++) {
            json_object *cap = json_object_array_get_idx(enable, i);

            if (!json_object_is_type(cap, json_type_string)) {
                qmp_request_fail(req, QMP_ERROR_GENERIC,
                                 "Invalid parameter type for 'enable[%zu]', "
                                 "expected: string", i);
                return;
            }
            if (!strcmp(json_object_get_string(cap), "oob")) {
                oob = true;
                continue;
            }
            qmp_request_fail(req, QMP_ERROR_GENERIC,
                             "Capability '%s' not available",
                             json_object_get_string(cap));
            return;
        }
    }
    req->client->oob = oob;
    req->client->negotiated = true;
    qmp_request_return(req, NULL);
}

static json_object *command_info(const char *name)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string(name));
    return o;
}

static void add_command_info(const struct qmp_command *cmd, void *list)
{
    json_object_array_add(list, command_info(cmd->name));
}

static void cmd_query_commands(struct qmp_request *req, json_object *args,
                               void *opaque)
{
    json_object *list = json_object_new_array();

    qmp_server_foreach_command(req->client->server, add_command_info, list);
    qmp_request_return(req, list);
}

static const struct qmp_arg capabilities_args[] = {
    { "enable", QMP_ARG_ARRAY, true },
    { NULL },
};

static const struct qmp_command builtin_capabilities = {
    .name = "qmp_capabilities",
    .args = capabilities_args,
    .handler = cmd_qmp_capabilities,
};

/* QEMU's CommandInfo. */
static const struct schema_member command_info_members[] = {
    { "name", &schema_str, false }, { NULL },
};
static const struct schema_type command_info_type = {
    .meta = SCHEMA_OBJECT, .name = "CommandInfo",
    .members = command_info_members,
};
static const struct schema_type command_info_list = {
    .meta = SCHEMA_ARRAY, .name = "CommandInfoList",
    .element = &command_info_type,
};

static const struct qmp_command builtin_query_commands = {
    .name = "query-commands",
    .handler = cmd_query_commands,
    .ret = &command_info_list,
};

void qmp_server_foreach_command(struct qmp_server *s,
                                void (*fn)(const struct qmp_command *cmd,
                                           void *opaque),
                                void *opaque)
{
    fn(&builtin_capabilities, opaque);
    fn(&builtin_query_commands, opaque);
    for (guint i = 0; i < s->commands->len; i++)
        fn(g_ptr_array_index(s->commands, i), opaque);
}

/* ---- dispatch --------------------------------------------------------- */

bool qmp_client_is_oob_request(struct qmp_client *c, json_object *msg)
{
    return c->oob && json_object_is_type(msg, json_type_object) &&
           json_object_object_get_ex(msg, "exec-oob", NULL);
}

/*
 * Checks the request's own members (qmp-spec "Issuing Commands"). Without
 * the oob capability, "exec-oob" is just another unexpected member, as in
 * QEMU; with it, it names a command to run out of band.
 */
static bool check_request(struct qmp_request *req, json_object *msg,
                          const char **name, json_object **args)
{
    bool oob = req->client->oob;

    json_object_object_foreach(msg, key, val) {
        bool exec = !strcmp(key, "execute");

        if (exec || (oob && !strcmp(key, "exec-oob"))) {
            if (!json_object_is_type(val, json_type_string)) {
                qmp_request_fail(req, QMP_ERROR_GENERIC, "QMP input member "
                                 "'%s' must be a string", key);
                return false;
            }
            if (*name) {
                qmp_request_fail(req, QMP_ERROR_GENERIC, "QMP input member "
                                 "'execute' clashes with 'exec-oob'");
                return false;
            }
            *name = json_object_get_string(val);
        } else if (!strcmp(key, "arguments")) {
            if (!json_object_is_type(val, json_type_object)) {
                qmp_request_fail(req, QMP_ERROR_GENERIC, "QMP input member "
                                 "'arguments' must be an object");
                return false;
            }
            *args = val;
        } else if (strcmp(key, "id") != 0) {
            qmp_request_fail(req, QMP_ERROR_GENERIC,
                             "QMP input member '%s' is unexpected", key);
            return false;
        }
    }
    if (!*name) {
        qmp_request_fail(req, QMP_ERROR_GENERIC,
                         "QMP input lacks member 'execute'");
        return false;
    }
    return true;
}

/* Which command runs, given the negotiation state; NULL after replying. */
static const struct qmp_command *lookup_command(struct qmp_request *req,
                                                const char *name)
{
    struct qmp_client *c = req->client;
    bool is_caps = !strcmp(name, "qmp_capabilities");
    const struct qmp_command *cmd;

    if (!c->negotiated) {
        if (is_caps)
            return &builtin_capabilities;
        qmp_request_fail(req, QMP_ERROR_COMMAND_NOT_FOUND, "Expecting "
                         "capabilities negotiation with 'qmp_capabilities'");
        return NULL;
    }
    if (is_caps) {
        qmp_request_fail(req, QMP_ERROR_COMMAND_NOT_FOUND, "Capabilities "
                         "negotiation is already complete, command ignored");
        return NULL;
    }
    if (!strcmp(name, "query-commands"))
        return &builtin_query_commands;
    cmd = g_hash_table_lookup(c->server->by_name, name);
    if (!cmd)
        qmp_request_fail(req, QMP_ERROR_COMMAND_NOT_FOUND,
                         "The command %s has not been found", name);
    return cmd;
}

static void request_execute(struct qmp_request *req, json_object *msg,
                            bool oob)
{
    const char *name = NULL;
    json_object *args = NULL;
    json_object *empty = NULL;
    const struct qmp_command *cmd;

    if (!check_request(req, msg, &name, &args))
        return;
    cmd = lookup_command(req, name);
    if (!cmd)
        return;
    if (oob && !qmp_server_command_allows_oob(req->client->server, name)) {
        qmp_request_fail(req, QMP_ERROR_GENERIC,
                         "The command %s does not support OOB", name);
        return;
    }
    if (!args)
        args = empty = json_object_new_object();
    if (check_args(req, cmd, args))
        cmd->handler(req, args, cmd->opaque);
    json_object_put(empty);
}

void qmp_client_dispatch(struct qmp_client *c, json_object *msg)
{
    bool oob = qmp_client_is_oob_request(c, msg);

    if (!json_object_is_type(msg, json_type_object)) {
        qmp_client_send_error(c, QMP_ERROR_GENERIC,
                              "QMP input must be a JSON object");
        json_object_put(msg);
        return;
    }
    c->dispatching = true;
    request_execute(request_new(c, msg, oob), msg, oob);
    c->dispatching = false;
    json_object_put(msg);
}
