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
                  MIG_FAILED, MIG_CANCELLING, MIG_CANCELLED, MIG_DEVICE };

/* QEMU's defaults (migration/options.c): 300 ms, 128 MiB/s. */
#define MIG_DEFAULT_DOWNTIME_MS     300u
#define MIG_MAX_DOWNTIME_MS         2000000u
#define MIG_DEFAULT_BANDWIDTH       (128u << 20)
/*
 * hotmem's own (no QEMU name): a live migration whose stream makes no
 * progress this long (the destination stopped reading) fails.
 */
#define MIG_DEFAULT_STALL_MS        30000u
#define MIG_MIN_STALL_MS            100u
#define MIG_MAX_STALL_MS            3600000u
/* auto-converge's defaults, QEMU's too (qapi/migration.json). */
#define MIG_DEFAULT_THROTTLE_THRESHOLD  50u     /* percent of what was sent */
#define MIG_DEFAULT_THROTTLE_INITIAL    20u
#define MIG_DEFAULT_THROTTLE_INCREMENT  10u
#define MIG_DEFAULT_MAX_THROTTLE        99u

/* auto-converge's parameters (atomics, set any time). */
struct mig_throttle_params {
    uint64_t threshold, initial, increment, max;
    gint tailslow;
};

/* What pre-copy measured, for query-migrate (under lock). */
struct mig_precopy_stats {
    uint64_t sync_count;        /* dirty-log harvests */
    uint64_t dirty_rate;        /* pages per second, last interval */
    uint64_t remaining;         /* bytes still to send */
    uint64_t bandwidth;         /* bytes per second, last pass */
    uint64_t expected_ms;       /* remaining at that bandwidth */
    uint64_t downtime_bytes;    /* sent while the guest was stopped */
    uint64_t throttle;          /* auto-converge's percentage now */
};

struct migration {
    struct machine *m;
    GMainContext *ctx;
    gint events;                /* the "events" capability (atomic) */
    gint auto_converge;         /* the "auto-converge" capability (atomic) */
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
    GArray *backings;           /* destination: machine_ram_backings() */
    /* Live (stream) jobs. Parameters: atomics, set any time. */
    bool live;
    uint64_t downtime_limit_ms, max_bandwidth, stall_ms;
    struct mig_throttle_params throttle;
    struct mig_precopy_stats pc;        /* under lock */
    int listen_fd;                      /* destination, until accepted */
    /* The switch-over, done on the main loop for the thread. */
    GCond switch_cond;
    GSource *switch_src;
    bool switch_done;
    GError *switch_err;
    /* fd: names (getfd), the monitor's. */
    migration_fd_fn fd_lookup;
    void *fd_lookup_opaque;
    /* Incoming: -incoming defer still waiting for migrate-incoming. */
    bool deferred, autostart, exit_on_error;
    /*
     * cpr-transfer (cpr.c): the mode parameter (atomic), whether this job
     * hands RAM over by descriptor, per RAM block its descriptor and the
     * offset in it (the source's are its backends'; the destination owns
     * what it received until the backends take them).
     */
    gint mode;
    bool cpr;
    int *cpr_fds;
    uint64_t *cpr_offsets;
    unsigned cpr_nr;
    /* Destination: the socket it answers its source on (reply.c). */
    int reply_fd;
};

void mig_job_begin(struct migration *mig, bool incoming);
void mig_set_status(struct migration *mig, enum mig_status st);
void mig_fail(struct migration *mig, const GError *err);
bool mig_check_idle(struct migration *mig, GError **err);
bool mig_parse_target(const char *uri, json_object *channels,
                      struct mig_uri *out, GError **err);
int mig_open(const struct mig_uri *uri, bool out, GError **err);
bool mig_start_thread(struct migration *mig, GError **err);

int mig_lookup_fd(struct migration *mig, const char *name, GError **err);
/* precopy.c: a live migration's thread, then its end on the main loop. */
bool mig_precopy_stream(struct migration *mig, GError **err);
void mig_precopy_finish(struct migration *mig, GError *err);
/* The fd of a stream, set by the thread once connected (under lock). */
void mig_set_fd(struct migration *mig, int fd);

/* save.c: on the job's thread, then on the main loop with its result. */
bool mig_save_stream(struct migration *mig, GError **err);
void mig_save_finish(struct migration *mig, GError *err);
/* cpr.c: cpr-transfer, the same for a job that hands RAM over by
 * descriptor (docs/migration.md, "Local live update"). */
enum mig_mode { MIG_MODE_NORMAL, MIG_MODE_CPR_TRANSFER };
bool mig_cpr_parse_mode(json_object *params, gint *mode, GError **err);
const char *mig_cpr_mode_name(gint mode);
bool mig_cpr_start(struct migration *mig, GError **err);
bool mig_cpr_stream(struct migration *mig, GError **err);
void mig_cpr_finish(struct migration *mig, GError *err);
/* Destination: a "ramfd" section (header sec just read) on the thread;
 * then, on the main loop, the memory taken over before the state is put
 * back, and the answer to the source before the guest runs. */
bool mig_cpr_load_fd(struct migration *mig, struct mig_file *f,
                     const struct mig_section *sec, GError **err);
bool mig_cpr_adopt(struct migration *mig, GError **err);
/* Closes what a job kept (either side). */
void mig_cpr_clear(struct migration *mig);
/*
 * reply.c, the return path (docs/migration.md). Destination: keeps a
 * stream socket to answer on; says it took the machine over (an error if
 * the source cannot hear it), or that it refused the stream and why.
 * Source, on its thread once the stream is written (sent) or failed: the
 * answer; a refusal becomes err ("destination refused the stream: ...").
 */
void mig_reply_open(struct migration *mig, int fd);
bool mig_reply_ok(struct migration *mig, GError **err);
void mig_reply_refuse(struct migration *mig, const char *why);
void mig_reply_close(struct migration *mig);
bool mig_reply_await(struct migration *mig, int fd, bool sent, GError **err);
/* load.c, likewise. */
bool mig_load_stream(struct migration *mig, GError **err);
void mig_load_finish(struct migration *mig, GError *err);
