/*
 * What the migration benchmarks share (bench/migrate, bench/migrate-cpr):
 * a VMM with a QMP socket, polling query-migrate to its end, checking the
 * destination runs, and medians [min-max] of the figures. Every wait is
 * bounded and every failure a GError: a peer VMM may fail.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

#define MIG_MAX_ROUNDS 16

struct vm;
struct qline;

/* One VMM process and its monitor. */
struct mig_side {
    struct vm *vm;
    struct qline *q;
    char *sock;
};

/*
 * Runs bin with args (NULL-terminated, without argv[0]) plus -qmp on a
 * socket dir/name.sock, connects and negotiates capabilities.
 */
bool mig_side_start(const char *bin, const char *const *args,
                    const char *dir, const char *name, int timeout_ms,
                    struct mig_side *s, GError **err);
/* Kills the process and removes its socket; s may be half started. */
void mig_side_free(struct mig_side *s);

/* A number in o.a (or o.a.b); -1 when missing. */
double mig_field(json_object *o, const char *a, const char *b);

/*
 * Polls query-migrate until completed (its return object, which the
 * caller puts) or failed/cancelled (NULL, the reason in err).
 */
json_object *mig_wait_completed(struct qline *q, int timeout_ms,
                                GError **err);

/*
 * Waits for the destination to run the guest (the source completes once
 * its stream is out; the destination may still be loading it), then, with
 * ping, for hotmem-guest to answer its console.
 */
bool mig_destination_runs(struct mig_side *d, bool ping, int timeout_ms,
                          GError **err);

/* Adds the ends of the VMMs' stderr to err, when they said something. */
void mig_add_stderr(GError **err, struct mig_side *src, struct mig_side *dst);

struct mig_samples {
    double v[MIG_MAX_ROUNDS];
    unsigned n;
};

void mig_add(struct mig_samples *s, double v);
/*
 * "median [min-max]" with decimals digits after the point, "-" without
 * samples; the median in *median (0 without).
 */
char *mig_spread(const struct mig_samples *s, int decimals, double *median);

/*
 * "A,B,...": at most max sizes, each at least min and a multiple of align,
 * into sizes[], their count in *n.
 */
bool mig_parse_sizes(const char *text, uint64_t min, uint64_t align,
                     uint64_t *sizes, unsigned max, unsigned *n,
                     GError **err);
