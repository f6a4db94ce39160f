/*
 * pmemsave and memsave (QEMU's qapi/misc.json names and arguments;
 * docs/mmu.md): guest memory, physical or as a vCPU sees it, to a file.
 */
#include "monitor/commands.h"

#include <inttypes.h>

#include "machine/machine_inspect.h"

/*
 * An address argument as the 64-bit pattern the client meant: QMP
 * integers are signed, so a kernel address such as 0xffffffff81000000
 * may arrive negative (two's complement) or as an unsigned JSON number.
 */
static uint64_t addr_arg(json_object *args, const char *name)
{
    json_object *v = NULL;
    int64_t i;

    json_object_object_get_ex(args, name, &v);
    i = json_object_get_int64(v);
    return i < 0 ? (uint64_t)i : json_object_get_uint64(v);
}

/* size: a non-negative int; false (request failed) otherwise. */
static bool size_arg(struct qmp_request *req, json_object *args,
                     uint64_t *size)
{
    json_object *v = NULL;
    int64_t i;

    json_object_object_get_ex(args, "size", &v);
    i = json_object_get_int64(v);
    if (i < 0) {
        qmp_request_fail(req, QMP_ERROR_GENERIC,
                         "Parameter 'size' expects a non-negative integer,"
                         " got %" PRId64, i);
        return false;
    }
    *size = json_object_get_uint64(v);
    return true;
}

static const char *filename_arg(json_object *args)
{
    json_object *v = NULL;

    json_object_object_get_ex(args, "filename", &v);
    return json_object_get_string(v);
}

/* The save has ended (on the main loop): the reply goes out now. */
static void saved(void *opaque, GError *err)
{
    struct qmp_request *req = opaque;

    if (err)
        qmp_request_error(req, err);
    else
        qmp_request_return(req, NULL);
    g_clear_error(&err);
}

/* Asynchronous: this client's next command waits, the others do not. */
static void cmd_pmemsave(struct qmp_request *req, json_object *args,
                         void *opaque)
{
    uint64_t size;

    if (!size_arg(req, args, &size))
        return;
    machine_pmemsave(opaque, addr_arg(args, "val"), size, filename_arg(args),
                     saved, req);
}

static void cmd_memsave(struct qmp_request *req, json_object *args,
                        void *opaque)
{
    json_object *v = NULL;
    int64_t cpu = 0;
    uint64_t size;

    if (!size_arg(req, args, &size))
        return;
    if (json_object_object_get_ex(args, "cpu-index", &v))
        cpu = json_object_get_int64(v);
    if (cpu < 0 || cpu > UINT32_MAX) {
        qmp_request_fail(req, QMP_ERROR_GENERIC,
                         "CPU %" PRId64 " is not present", cpu);
        return;
    }
    machine_memsave(opaque, addr_arg(args, "val"), size, (unsigned)cpu,
                    filename_arg(args), saved, req);
}

static const struct qmp_arg pmemsave_args[] = {
    { "val", QMP_ARG_INT, false }, { "size", QMP_ARG_INT, false },
    { "filename", QMP_ARG_STR, false }, { NULL },
};
static const struct qmp_arg memsave_args[] = {
    { "val", QMP_ARG_INT, false }, { "size", QMP_ARG_INT, false },
    { "filename", QMP_ARG_STR, false }, { "cpu-index", QMP_ARG_INT, true },
    { NULL },
};

static const struct qmp_command memory_commands[] = {
    { .name = "pmemsave", .args = pmemsave_args, .handler = cmd_pmemsave },
    { .name = "memsave", .args = memsave_args, .handler = cmd_memsave },
};

struct monitor_group monitor_register_memory(struct qmp_server *server,
                                             struct machine *m)
{
    /* The server points at these until it is freed; then so are they. */
    struct qmp_command *table = g_memdup2(memory_commands,
                                          sizeof(memory_commands));

    for (size_t i = 0; i < G_N_ELEMENTS(memory_commands); i++) {
        table[i].opaque = m;
        qmp_server_register(server, &table[i]);
    }
    return (struct monitor_group){ table, g_free };
}
