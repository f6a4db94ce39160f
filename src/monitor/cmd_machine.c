/*
 * vCPUs and machine types (qapi/machine.json): query-cpus-fast,
 * query-hotpluggable-cpus and query-machines.
 */
#include "monitor/commands.h"

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

static const struct qmp_command machine_commands[] = {
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
