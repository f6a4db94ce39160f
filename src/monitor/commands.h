/*
 * The QMP command table: each command turns its JSON arguments into a call
 * on the machine and the result back into JSON (docs/qmp.md).
 */
#pragma once

#include "machine/machine.h"
#include "monitor/qmp.h"

struct monitor;

/*
 * Registers every command on server; name may be NULL (query-name). Free
 * the monitor only after the server, which points at its commands.
 */
struct monitor *monitor_new(struct qmp_server *server, struct machine *m,
                            const char *name);
void monitor_free(struct monitor *mon);

/*
 * Command groups living in their own files (monitor/cmd_<area>.c). Each
 * registers its commands and returns its state, which monitor_free() hands
 * back to the group's free function after the server is gone.
 */
struct monitor_group {
    void *state;
    void (*free)(void *state);
};

struct monitor_group monitor_register_stats(struct qmp_server *server,
                                            struct machine *m);
struct monitor_group monitor_register_dirty(struct qmp_server *server,
                                            struct machine *m);
struct monitor_group monitor_register_memory(struct qmp_server *server,
                                             struct machine *m);
struct monitor_group monitor_register_process(struct qmp_server *server,
                                              struct machine *m);
struct monitor_group monitor_register_qom(struct qmp_server *server,
                                          struct machine *m);
struct monitor_group monitor_register_machine(struct qmp_server *server,
                                              struct machine *m);
struct monitor_group monitor_register_hmp(struct qmp_server *server,
                                          struct machine *m);
struct migration;
/*
 * migrate, migrate-incoming, query-migrate, migrate-set-capabilities,
 * query-migrate-capabilities on mig (migration/migration.h). Not part of
 * monitor_new(): main() adds them where a machine can migrate.
 */
struct monitor_group monitor_register_migration(struct qmp_server *server,
                                                struct migration *mig);
/* query-qmp-schema and query-events: they read the server's table. */
struct monitor_group monitor_register_schema(struct qmp_server *server);
