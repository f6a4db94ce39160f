/*
 * Fuzz target: the QMP server from raw client bytes, without a machine.
 * Framing (monitor/qmp_input.c), JSON, capability negotiation, request
 * validation, argument checks of every argument type and the built-in
 * commands (monitor/qmp_dispatch.c), replies and events, against a command
 * table that needs no VM: commands that echo their arguments, take one
 * argument of each type, fail, emit an event, or answer later from the
 * main loop as a preallocating object-add does. Every byte the server
 * sends must be a well-formed greeting, reply or event (qmpsession.h).
 */
#include <stdint.h>
#include <stddef.h>

#include "qmpsession.h"

static struct qmp_server *server;

static void cmd_echo(struct qmp_request *req, json_object *args, void *opaque)
{
    qmp_request_return(req, json_object_get(args));
}

static const struct qmp_arg typed_args[] = {
    { "s", QMP_ARG_STR, false },
    { "i", QMP_ARG_INT, true },
    { "n", QMP_ARG_NUMBER, true },
    { "b", QMP_ARG_BOOL, true },
    { "a", QMP_ARG_ARRAY, true },
    { "any", QMP_ARG_ANY, true },
    { NULL },
};

static const struct qmp_arg bag_args[] = {
    { "qom-type", QMP_ARG_STR, false },
    { "id", QMP_ARG_STR, false },
    { NULL },
};

static const struct qmp_arg no_args[] = { { NULL } };

static void cmd_fail(struct qmp_request *req, json_object *args, void *opaque)
{
    qmp_request_fail(req, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found",
                     "nothing");
}

static void cmd_emit(struct qmp_request *req, json_object *args, void *opaque)
{
    qmp_server_emit(server, "FUZZ_EVENT", json_object_get(args));
    qmp_request_return(req, NULL);
}

static gboolean later_done(gpointer opaque)
{
    qmp_request_return(opaque, NULL);
    return G_SOURCE_REMOVE;
}

/* Answers from the main loop, after the handler returned. */
static void cmd_later(struct qmp_request *req, json_object *args, void *opaque)
{
    g_idle_add(later_done, req);
}

static const struct qmp_command commands[] = {
    { "echo", NULL, true, cmd_echo, NULL },
    { "typed", typed_args, false, cmd_echo, NULL },
    { "object-add", bag_args, true, cmd_echo, NULL },
    { "fail", no_args, false, cmd_fail, NULL },
    { "emit", NULL, true, cmd_emit, NULL },
    { "later", no_args, false, cmd_later, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct qmp_server_info info = {
        .major = 8, .minor = 2, .micro = 0, .package = "hotmem-fuzz",
    };
    GString *out;

    server = qmp_server_new(&info);
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        qmp_server_register(server, &commands[i]);
    out = qmp_session_run(server, data, size);
    qmp_session_check(out);
    g_string_free(out, TRUE);
    qmp_server_free(server);
    server = NULL;
    return 0;
}
