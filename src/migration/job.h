/*
 * The state of migration jobs, shared by migration.c (status, thread,
 * queries), save.c (outgoing) and load.c (incoming). Not for use outside
 * migration/.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "machine/machine_migrate.h"
#include "migration/migration.h"
#include "migration/ram.h"
#include "migration/uri.h"

/* The MigrationStatus values hotmem enters. */
enum mig_status { MIG_NONE, MIG_SETUP, MIG_ACTIVE, MIG_COMPLETED,
                  MIG_FAILED };

struct migration {
    struct machine *m;
    GMainContext *ctx;
    gint events;                /* the "events" capability (atomic) */
    gint cancel;                /* atomic: the thread stops */
    /* What query-migrate shows: under lock (counters: atomics). */
    GMutex lock;
    enum mig_status status;
    bool incoming;
    char *error;
    gint64 start_us, setup_end_us, end_us, down_start_us, down_end_us;
    uint64_t ram_total;
    struct mig_counters counters;
    /* The job: main thread, and its thread while it runs. */
    GThread *thread;
    GSource *finish;
    GError *job_err;
    int fd;
    struct mig_uri uri;
    struct machine_snapshot snap;
    struct mig_block *blocks;
    /* Incoming: -incoming defer still waiting for migrate-incoming. */
    bool deferred, autostart, exit_on_error;
};

void mig_job_begin(struct migration *mig, bool incoming);
void mig_set_status(struct migration *mig, enum mig_status st);
void mig_fail(struct migration *mig, const GError *err);
bool mig_check_idle(struct migration *mig, GError **err);
bool mig_parse_target(const char *uri, json_object *channels,
                      struct mig_uri *out, GError **err);
int mig_open(const struct mig_uri *uri, bool out, GError **err);
bool mig_start_thread(struct migration *mig, GError **err);

/* save.c: on the job's thread, then on the main loop with its result. */
bool mig_save_stream(struct migration *mig, GError **err);
void mig_save_finish(struct migration *mig, GError *err);
/* load.c, likewise. */
bool mig_load_stream(struct migration *mig, GError **err);
void mig_load_finish(struct migration *mig, GError *err);
