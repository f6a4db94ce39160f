/*
 * vCPUs and machine types (qapi/machine.json): query-cpus-fast,
 * query-hotpluggable-cpus and query-machines; and hotmem's own
 * x-query-cmdline, the command line of the machine as it is now.
 */
#include "monitor/commands.h"

#include "cli/cli.h"

#include "machine/machine_qom.h"
#include "monitor/qmp_types.h"

#define QUERY(fn, machine_fn)                                               \
    static void fn(struct qmp_request *req, json_object *args, void *o)     \
    {                                                                       \
        qmp_request_return(req, machine_fn(o));                             \
    }
QUERY(cmd_query_cpus_fast, machine_query_cpus_fast)
QUERY(cmd_query_hotpluggable_cpus, machine_query_hotpluggable_cpus)
QUERY(cmd_query_machines, machine_query_machines)

/*
 * x-query-cmdline: the options a migration destination is started with
 * (docs/migration.md), hot-plugged DIMMs and their backends included, as
 * a list and as one shell line.
 */
static void cmd_x_query_cmdline(struct qmp_request *req, json_object *args,
                                void *opaque)
{
    struct machine_config c;
    g_auto(GStrv) argv = NULL;
    g_autofree char *line = NULL;
    json_object *r = json_object_new_object(), *list;

    machine_current_config(opaque, &c);
    argv = cli_format_config(&c);
    machine_current_config_clear(&c);
    line = cli_format_shell("hotmem", argv);
    list = json_object_new_array();
    for (char **a = argv; *a; a++)
        json_object_array_add(list, json_object_new_string(*a));
    json_object_object_add(r, "args", list);
    json_object_object_add(r, "cmdline", json_object_new_string(line));
    qmp_request_return(req, r);
}

static const struct qmp_arg no_args[] = { { NULL } };

static const struct qmp_command machine_commands[] = {
    { .name = "x-query-cmdline", .args = no_args,
      .handler = cmd_x_query_cmdline, .ret = &qt_cmdline_info },
    { .name = "query-cpus-fast", .handler = cmd_query_cpus_fast,
      .ret = &qt_cpu_info_fast_list },
    { .name = "query-hotpluggable-cpus",
      .handler = cmd_query_hotpluggable_cpus,
      .ret = &qt_hotpluggable_cpu_list },
    { .name = "query-machines", .handler = cmd_query_machines,
      .ret = &qt_machine_info_list },
};

struct monitor_group monitor_register_machine(struct qmp_server *server,
                                              struct machine *m)
{
    /* The server points at these until it is freed; then so are they. */
    struct qmp_command *table = g_memdup2(machine_commands,
                                          sizeof(machine_commands));

    for (size_t i = 0; i < G_N_ELEMENTS(machine_commands); i++) {
        table[i].opaque = m;
        qmp_server_register(server, &table[i]);
    }
    return (struct monitor_group){ table, g_free };
}
