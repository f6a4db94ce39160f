/*
 * The QMP command table: each command turns its JSON arguments into a call
 * on the machine and the result back into JSON (docs/qmp.md).
 */
#pragma once

#include "machine.h"
#include "monitor/qmp.h"

struct monitor;

/* Registers every command on server; name may be NULL (query-name). */
struct monitor *monitor_new(struct qmp_server *server, struct machine *m,
                            const char *name);
void monitor_free(struct monitor *mon);
