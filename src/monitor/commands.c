/* QMP commands, with QEMU's names, arguments and return shapes. */
#include "monitor/commands.h"

#include <stdio.h>

#include "backend/backend.h"
#include "errors.h"
#include "machine/machine_cpr.h"
#include "monitor/qmp_types.h"

struct monitor {
    struct qmp_server *server;
    struct machine *m;
    char *name;
    struct qmp_command *table;
    struct backend_variants *backend_variants;  /* object-add's schema */
    struct monitor_group groups[8];
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

/* After cpr-transfer the guest's memory is the new process's. */
static bool refuse_handed_over(struct qmp_request *req, struct machine *m)
{
    if (!machine_cpr_handed_over(m))
        return false;
    qmp_request_fail(req, QMP_ERROR_GENERIC,
                     "the guest's memory was handed over to another hotmem "
                     "(migration mode cpr-transfer): this one cannot run "
                     "it again");
    return true;
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
    if (refuse_handed_over(req, MON(opaque)->m))
        return;
    machine_resume(MON(opaque)->m);
    qmp_request_return(req, NULL);
}

static void cmd_quit(struct qmp_request *req, json_object *args,
                     void *opaque)
{
    /* SHUTDOWN first, then the reply, as QEMU 7.2 sends them. */
    machine_quit(MON(opaque)->m);
    qmp_request_return(req, NULL);
}

static void cmd_system_powerdown(struct qmp_request *req, json_object *args,
                                 void *opaque)
{
    machine_powerdown(MON(opaque)->m);
    qmp_request_return(req, NULL);
}

/* RESET first, then the reply, as QEMU 7.2 sends them. */
static void cmd_system_reset(struct qmp_request *req, json_object *args,
                             void *opaque)
{
    if (refuse_handed_over(req, MON(opaque)->m))
        return;
    machine_system_reset(MON(opaque)->m);
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

/* device_add's features in QEMU's schema: -device takes JSON, and a
 * JSON -device means what device_add with the same object means. */
static const char *const device_add_features[] = {
    "json-cli", "json-cli-hotplug", NULL,
};

static const struct qmp_command commands[] = {
    { .name = "query-version", .handler = cmd_query_version,
      .ret = &qt_version_info },
    { .name = "query-name", .handler = cmd_query_name,
      .ret = &qt_name_info },
    { .name = "query-status", .handler = cmd_query_status,
      .ret = &qt_status_info },
    { .name = "query-kvm", .handler = cmd_query_kvm, .ret = &qt_kvm_info },
    { .name = "stop", .handler = cmd_stop },
    { .name = "cont", .handler = cmd_cont },
    { .name = "quit", .handler = cmd_quit },
    { .name = "system_powerdown", .handler = cmd_system_powerdown },
    { .name = "system_reset", .handler = cmd_system_reset },
    /* The union branches are filled in by monitor_new(). */
    { .name = "object-add", .args = object_add_args, .extra_args = true,
      .handler = cmd_object_add, .tag = "qom-type" },
    { .name = "object-del", .args = id_arg, .handler = cmd_object_del },
    { .name = "device_add", .args = device_add_args, .extra_args = true,
      .handler = cmd_device_add, .features = device_add_features },
    { .name = "device_del", .args = id_arg, .handler = cmd_device_del },
    { .name = "query-memory-devices", .handler = cmd_query_memory_devices,
      .ret = &qt_memory_device_info_list },
    { .name = "query-memory-size-summary",
      .handler = cmd_query_memory_size_summary, .ret = &qt_memory_info },
    { .name = "query-acpi-ospm-status",
      .handler = cmd_query_acpi_ospm_status,
      .ret = &qt_acpi_ost_info_list },
    { .name = "query-memdev", .handler = cmd_query_memdev,
      .ret = &qt_memdev_list },
    { .name = "x-query-memslots", .handler = cmd_x_query_memslots,
      .ret = &qt_memslots_info },
};

/*
 * object-add's branches, one per memory backend type, each listing the
 * properties of the table the backend parses them with (backend.h).
 */
struct backend_variants {
    struct schema_variant *variants;        /* { NULL }-ended */
    struct schema_type *types;
    struct schema_member **members;
    unsigned count;
};

static const struct schema_type *backend_value_type(enum backend_value v)
{
    switch (v) {
    case BACKEND_VALUE_BOOL:   return &schema_bool;
    case BACKEND_VALUE_SIZE:
    case BACKEND_VALUE_COUNT:  return &schema_int;
    case BACKEND_VALUE_STR:    return &schema_str;
    case BACKEND_VALUE_POLICY: return &qt_host_mem_policy;
    case BACKEND_VALUE_NODES:  return &schema_int_list;
    }
    return &schema_any;
}

static struct backend_variants *backend_variants_new(void)
{
    struct backend_variants *bv = g_new0(struct backend_variants, 1);

    while (backend_type_name(bv->count))
        bv->count++;
    bv->variants = g_new0(struct schema_variant, bv->count + 1);
    bv->types = g_new0(struct schema_type, bv->count);
    bv->members = g_new0(struct schema_member *, bv->count);
    for (unsigned i = 0; i < bv->count; i++) {
        const char *type = backend_type_name(i);
        struct backend_prop p;
        unsigned n = 0;

        while (backend_type_prop(type, n, &p))
            n++;
        bv->members[i] = g_new0(struct schema_member, n + 1);
        for (unsigned k = 0; k < n; k++) {
            backend_type_prop(type, k, &p);
            bv->members[i][k] = (struct schema_member){
                p.name, backend_value_type(p.value), !p.required };
        }
        bv->types[i] = (struct schema_type){
            .meta = SCHEMA_OBJECT, .name = type, .members = bv->members[i] };
        bv->variants[i] = (struct schema_variant){ type, &bv->types[i] };
    }
    return bv;
}

static void backend_variants_free(struct backend_variants *bv)
{
    for (unsigned i = 0; i < bv->count; i++)
        g_free(bv->members[i]);
    g_free(bv->members);
    g_free(bv->types);
    g_free(bv->variants);
    g_free(bv);
}

static const char *const oob_commands[] = {
    "query-version", "query-name", "query-status", "query-kvm",
};

struct monitor *monitor_new(struct qmp_server *server, struct machine *m,
                            const char *name)
{
    struct monitor *mon = g_new0(struct monitor, 1);
    unsigned g = 0;

    mon->server = server;
    mon->m = m;
    mon->name = g_strdup(name);
    mon->backend_variants = backend_variants_new();
    mon->table = g_memdup2(commands, sizeof(commands));
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        mon->table[i].opaque = mon;
        if (mon->table[i].tag)
            mon->table[i].variants = mon->backend_variants->variants;
        qmp_server_register(server, &mon->table[i]);
    }
    /*
     * Reads that answer at once and never wait may run out of band
     * (docs/qmp.md; QEMU allows it only for migration commands hotmem
     * lacks).
     */
    for (size_t i = 0; i < G_N_ELEMENTS(oob_commands); i++)
        qmp_server_allow_oob(server, oob_commands[i]);
    mon->groups[g++] = monitor_register_stats(server, m);
    mon->groups[g++] = monitor_register_dirty(server, m);
    mon->groups[g++] = monitor_register_memory(server, m);
    mon->groups[g++] = monitor_register_process(server, m);
    mon->groups[g++] = monitor_register_qom(server, m);
    mon->groups[g++] = monitor_register_machine(server, m);
    mon->groups[g++] = monitor_register_hmp(server, m);
    mon->groups[g++] = monitor_register_schema(server);
    g_assert(g == G_N_ELEMENTS(mon->groups));
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
    backend_variants_free(mon->backend_variants);
    g_free(mon->name);
    g_free(mon->table);
    g_free(mon);
}
