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

/* Main thread; the machine outlives it. */
struct migration *migration_new(struct machine *m);
/* Cancels a job still running (its thread stops within a chunk). */
void migration_free(struct migration *mig);

/*
 * migrate: uri ("file:PATH[,offset=N]") or channels (QMP's list), one of
 * them. Fails at once, leaving the machine as it was, for a bad URI, a
 * file that cannot be opened, or a job in progress; otherwise the job
 * runs in the background (status "setup", then "active").
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

/* query-migrate: QEMU's MigrationInfo (a new object; {} before any). */
json_object *migration_query(struct migration *mig);

/* migrate-set-capabilities / query-migrate-capabilities ("events"). */
bool migration_set_capabilities(struct migration *mig, json_object *caps,
                                GError **err);
json_object *migration_query_capabilities(struct migration *mig);
