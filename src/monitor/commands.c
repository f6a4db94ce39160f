/* QMP commands, with QEMU's names, arguments and return shapes. */
#include "monitor/commands.h"

#include <stdio.h>

#include "errors.h"

struct monitor {
    struct qmp_server *server;
    struct machine *m;
    char *name;
    struct qmp_command *table;
    struct monitor_group groups[4];
};

#define MON(opaque) ((struct monitor *)(opaque))

static const char *str_arg(json_object *args, const char *name)
{
    json_object *v = NULL;

    json_object_object_get_ex(args, name, &v);
    return v ? json_object_get_string(v) : NULL;
}

/* Machine errors to QMP: a missing device is DeviceNotFound. */
static void fail_with(struct qmp_request *req, const GError *err)
{
    if (err->domain == HM_ERROR && err->code == HM_ERROR_DEVICE_NOT_FOUND)
        qmp_request_fail(req, QMP_ERROR_DEVICE_NOT_FOUND, "%s",
                         err->message);
    else
        qmp_request_error(req, err);
}

static void cmd_query_version(struct qmp_request *req, json_object *args,
                              void *opaque)
{
    qmp_request_return(req, qmp_server_version(MON(opaque)->server));
}

static void cmd_query_name(struct qmp_request *req, json_object *args,
                           void *opaque)
{
    json_object *r = json_object_new_object();

    if (MON(opaque)->name)
        json_object_object_add(r, "name",
                               json_object_new_string(MON(opaque)->name));
    qmp_request_return(req, r);
}

static void cmd_query_status(struct qmp_request *req, json_object *args,
                             void *opaque)
{
    enum machine_run_state s = machine_run_state(MON(opaque)->m);
    json_object *r = json_object_new_object();

    json_object_object_add(r, "status",
                           json_object_new_string(machine_run_state_name(s)));
    json_object_object_add(r, "running",
                           json_object_new_boolean(s == MACHINE_RUNNING));
    json_object_object_add(r, "singlestep", json_object_new_boolean(0));
    qmp_request_return(req, r);
}

static void cmd_query_kvm(struct qmp_request *req, json_object *args,
                          void *opaque)
{
    json_object *r = json_object_new_object();

    json_object_object_add(r, "enabled", json_object_new_boolean(1));
    json_object_object_add(r, "present", json_object_new_boolean(1));
    qmp_request_return(req, r);
}

static void cmd_stop(struct qmp_request *req, json_object *args,
                     void *opaque)
{
    machine_pause(MON(opaque)->m);
    qmp_request_return(req, NULL);
}

static void cmd_cont(struct qmp_request *req, json_object *args,
                     void *opaque)
{
    /* A guest power-off under -no-shutdown: QEMU's words. */
    if (machine_needs_reset(MON(opaque)->m)) {
        qmp_request_fail(req, QMP_ERROR_GENERIC,
                         "Resetting the Virtual Machine is required");
        return;
    }
    machine_resume(MON(opaque)->m);
    qmp_request_return(req, NULL);
}

static void cmd_quit(struct qmp_request *req, json_object *args,
                     void *opaque)
{
    /* Reply first, as QEMU does; SHUTDOWN follows. */
    qmp_request_return(req, NULL);
    machine_quit(MON(opaque)->m);
}

static void cmd_system_powerdown(struct qmp_request *req, json_object *args,
                                 void *opaque)
{
    machine_powerdown(MON(opaque)->m);
    qmp_request_return(req, NULL);
}

static void object_added(void *opaque, GError *err)
{
    struct qmp_request *req = opaque;

    if (err)
        fail_with(req, err);
    else
        qmp_request_return(req, NULL);
    g_clear_error(&err);
}

static void cmd_object_add(struct qmp_request *req, json_object *args,
                           void *opaque)
{
    machine_object_add(MON(opaque)->m, args, object_added, req);
}

static void cmd_object_del(struct qmp_request *req, json_object *args,
                           void *opaque)
{
    g_autoptr(GError) err = NULL;

    if (machine_object_del(MON(opaque)->m, str_arg(args, "id"), &err))
        qmp_request_return(req, NULL);
    else
        fail_with(req, err);
}

static void cmd_device_add(struct qmp_request *req, json_object *args,
                           void *opaque)
{
    g_autoptr(GError) err = NULL;

    if (machine_device_add(MON(opaque)->m, args, &err))
        qmp_request_return(req, NULL);
    else
        fail_with(req, err);
}

static void cmd_device_del(struct qmp_request *req, json_object *args,
                           void *opaque)
{
    g_autoptr(GError) err = NULL;

    if (machine_device_del(MON(opaque)->m, str_arg(args, "id"), &err))
        qmp_request_return(req, NULL);
    else
        fail_with(req, err);
}

#define QUERY(fn, machine_fn)                                               \
    static void fn(struct qmp_request *req, json_object *args, void *o)     \
    {                                                                       \
        qmp_request_return(req, machine_fn(MON(o)->m));                     \
    }
QUERY(cmd_query_memory_devices, machine_query_memory_devices)
QUERY(cmd_query_memory_size_summary, machine_query_memory_size_summary)
QUERY(cmd_query_acpi_ospm_status, machine_query_acpi_ospm_status)
QUERY(cmd_query_memdev, machine_query_memdev)
QUERY(cmd_x_query_memslots, machine_query_memslots)

static const struct qmp_arg id_arg[] = {
    { "id", QMP_ARG_STR, false }, { NULL },
};
static const struct qmp_arg object_add_args[] = {
    { "qom-type", QMP_ARG_STR, false }, { "id", QMP_ARG_STR, false },
    { NULL },
};
static const struct qmp_arg device_add_args[] = {
    { "driver", QMP_ARG_STR, false }, { "id", QMP_ARG_STR, true },
    { NULL },
};
static const struct qmp_arg no_args[] = { { NULL } };

static const struct qmp_command commands[] = {
    { "query-version", no_args, false, cmd_query_version, NULL },
    { "query-name", no_args, false, cmd_query_name, NULL },
    { "query-status", no_args, false, cmd_query_status, NULL },
    { "query-kvm", no_args, false, cmd_query_kvm, NULL },
    { "stop", no_args, false, cmd_stop, NULL },
    { "cont", no_args, false, cmd_cont, NULL },
    { "quit", no_args, false, cmd_quit, NULL },
    { "system_powerdown", no_args, false, cmd_system_powerdown, NULL },
    { "object-add", object_add_args, true, cmd_object_add, NULL },
    { "object-del", id_arg, false, cmd_object_del, NULL },
    { "device_add", device_add_args, true, cmd_device_add, NULL },
    { "device_del", id_arg, false, cmd_device_del, NULL },
    { "query-memory-devices", no_args, false, cmd_query_memory_devices,
      NULL },
    { "query-memory-size-summary", no_args, false,
      cmd_query_memory_size_summary, NULL },
    { "query-acpi-ospm-status", no_args, false, cmd_query_acpi_ospm_status,
      NULL },
    { "query-memdev", no_args, false, cmd_query_memdev, NULL },
    { "x-query-memslots", no_args, false, cmd_x_query_memslots, NULL },
};

struct monitor *monitor_new(struct qmp_server *server, struct machine *m,
                            const char *name)
{
    struct monitor *mon = g_new0(struct monitor, 1);

    mon->server = server;
    mon->m = m;
    mon->name = g_strdup(name);
    mon->table = g_memdup2(commands, sizeof(commands));
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        mon->table[i].opaque = mon;
        qmp_server_register(server, &mon->table[i]);
    }
    mon->groups[0] = monitor_register_stats(server, m);
    mon->groups[1] = monitor_register_dirty(server, m);
    mon->groups[2] = monitor_register_memory(server, m);
    mon->groups[3] = monitor_register_process(server, m);
    return mon;
}

void monitor_free(struct monitor *mon)
{
    if (!mon)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(mon->groups); i++) {
        if (mon->groups[i].free)
            mon->groups[i].free(mon->groups[i].state);
    }
    g_free(mon->name);
    g_free(mon->table);
    g_free(mon);
}
