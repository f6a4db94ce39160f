/*
 * Migration jobs (docs/migration.md): one machine's outgoing migration
 * (QMP migrate) or incoming one (-incoming, migrate-incoming), with QEMU's
 * statuses, statistics (query-migrate) and MIGRATION events. The stream
 * is written and read on a thread of its own; the main loop and the
 * monitor keep answering meanwhile. One job at a time.
 *
 * This step moves a machine through a file: the source's vCPUs are held
 * while it is written (a running guest stops, then runs on), so the file
 * is the machine of one instant. Live pre-copy over sockets comes next.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

#include "machine/machine.h"

struct migration;

/*
 * fd:NAME: the descriptor the monitor holds under NAME (getfd), taken out
 * of its table (the caller owns it), or -1 and an error.
 */
typedef int (*migration_fd_fn)(void *opaque, const char *name,
                               GError **err);

/* Main thread; the machine outlives it. */
struct migration *migration_new(struct machine *m);
/* Where fd:NAME comes from (main thread, before any job). */
void migration_set_fd_lookup(struct migration *mig, migration_fd_fn fn,
                             void *opaque);
/* Cancels a job still running (its thread stops within a chunk). */
void migration_free(struct migration *mig);

/*
 * migrate: uri or channels (QMP's list), one of them. Fails at once,
 * leaving the machine as it was, for a bad URI, a file that cannot be
 * opened, an unknown fd: name, or a job in progress; otherwise the job
 * runs in the background (status "setup", then "active"). file: holds
 * the guest while it is written; unix:, tcp: and fd: migrate it live
 * (pre-copy), and a failure to connect is the job's ("failed").
 */
bool migration_start(struct migration *mig, const char *uri,
                     json_object *channels, GError **err);

/*
 * -incoming URI, after machine_start(m, true): "defer" waits for
 * migrate-incoming; anything else starts loading now. autostart: run the
 * guest once loaded (no -S).
 */
bool migration_incoming_cli(struct migration *mig, const char *uri,
                            bool autostart, GError **err);
/* migrate-incoming (only after -incoming defer). */
bool migration_incoming(struct migration *mig, const char *uri,
                        json_object *channels, bool exit_on_error,
                        GError **err);

/*
 * migrate_cancel: a running job stops ("cancelling", then "cancelled"),
 * the source going on as it was. Nothing to cancel is not an error.
 */
void migration_cancel(struct migration *mig);

/* migrate-set-parameters (QEMU's MigrateSetParameters; takes effect at
 * once, also while migrating) and query-migrate-parameters. */
bool migration_set_parameters(struct migration *mig, json_object *params,
                              GError **err);
json_object *migration_query_parameters(struct migration *mig);

/* query-migrate: QEMU's MigrationInfo (a new object; {} before any). */
json_object *migration_query(struct migration *mig);

/* migrate-set-capabilities / query-migrate-capabilities ("events"). */
bool migration_set_capabilities(struct migration *mig, json_object *caps,
                                GError **err);
json_object *migration_query_capabilities(struct migration *mig);
