/*
 * bench/migrate-cpr: a local live update (migration mode cpr-transfer,
 * docs/migration.md "Local live update") next to an ordinary live
 * migration of the same guest, on this host (issue 14 item 8,
 * docs/performance.md "Migration").
 *
 *   bench-migrate-cpr [--rounds N] [--sizes 1G,16G] [--prealloc]
 *                     [--cpr-only] [--hotmem PATH]
 *
 * The guest is hotmem-guest with SIZE of boot RAM from a shared memfd
 * backend (-machine memory-backend=, share=on), idle; --prealloc has the
 * source's memfd filled first (prealloc=on; the destination's is not, it
 * takes the source's). Per run: a destination started with -incoming
 * unix:PATH, the source's migrate-set-parameters mode (cpr-transfer or
 * normal, with downtime-limit 300 ms and no bandwidth limit), migrate,
 * query-migrate polled until completed; the figures are the source's
 * total-time, downtime and ram.transferred, and the destination must be
 * running and answer its console. Medians [min-max]; the two modes
 * interleaved, the order alternating each round. hotmem only: QEMU 7.2,
 * Debian 12's, has no cpr-transfer. --cpr-only leaves the live
 * migration out (it skips the memfd's holes, so it no longer allocates
 * the guest's RAM on both sides; the option stays for runs that only
 * want the update). Runs here, kvm_pvm included: the
 * guest is idle, so how fast guest kernel code runs does not matter.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "cli/cli.h"

#include "benchstat.h"
#include "migrun.h"
#include "qmpline.h"
#include "vmrunner.h"

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define MAX_ROUNDS MIG_MAX_ROUNDS
#define MAX_SIZES 4
#define STEP_MS 300000

enum mode { CPR, NORMAL, NR_MODE };
enum metric { TOTAL, DOWNTIME, SENT, NR_METRIC };

static const char *const mode_name[NR_MODE] = { "cpr-transfer", "normal" };

struct config {
    const char *bin;
    const char *dir;
    unsigned rounds, nsizes;
    uint64_t sizes[MAX_SIZES];
    bool prealloc, cpr_only;
};

/* One hotmem: boot RAM from a shared memfd, its console on stdio. */
static bool side_start(const struct config *c, uint64_t size, bool prealloc,
                       const char *name, const char *incoming,
                       struct mig_side *s, GError **err)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(a, g_strdup("-serial"));
    g_ptr_array_add(a, g_strdup("stdio"));
    g_ptr_array_add(a, g_strdup("-m"));
    g_ptr_array_add(a, g_strdup_printf("%" PRIu64 "M", size / MIB));
    g_ptr_array_add(a, g_strdup("-object"));
    g_ptr_array_add(a, g_strdup_printf("memory-backend-memfd,id=ram0,size=%"
                                       PRIu64 "M,share=on,prealloc=%s",
                                       size / MIB, prealloc ? "on" : "off"));
    g_ptr_array_add(a, g_strdup("-machine"));
    g_ptr_array_add(a, g_strdup("memory-backend=ram0"));
    if (incoming) {
        g_ptr_array_add(a, g_strdup("-incoming"));
        g_ptr_array_add(a, g_strdup(incoming));
    }
    g_ptr_array_add(a, NULL);
    return mig_side_start(c->bin, (const char *const *)a->pdata, c->dir, name,
                          STEP_MS, s, err);
}

static bool migrate_once(const struct config *c, uint64_t size,
                         enum mode m, double *v, GError **err)
{
    struct mig_side src = { 0 }, dst = { 0 };
    g_autofree char *path = g_strdup_printf("%s/mig.sock", c->dir);
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *line = NULL;
    json_object *done = NULL;
    bool ok = false;

    g_unlink(path);
    if (!side_start(c, size, false, "dst", uri, &dst, err) ||
        !side_start(c, size, c->prealloc, "src", NULL, &src, err))
        goto out;
    line = vm_wait_line(src.vm, "hotmem-guest: ready", STEP_MS);
    if (!line) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "the guest did not start: %s", vm_stderr(src.vm));
        goto out;
    }
    if (!qline_call(src.q, STEP_MS, err,
                    "{\"execute\": \"migrate-set-parameters\", \"arguments\":"
                    " {\"mode\": \"%s\", \"downtime-limit\": 300, "
                    "\"max-bandwidth\": 0}}", mode_name[m]) ||
        !qline_call(src.q, STEP_MS, err, "{\"execute\": \"migrate\", "
                    "\"arguments\": {\"uri\": \"%s\"}}", uri))
        goto out;
    done = mig_wait_completed(src.q, STEP_MS, err);
    if (!done || !mig_destination_runs(&dst, true, STEP_MS, err))
        goto out;
    v[TOTAL] = mig_field(done, "total-time", NULL);
    v[DOWNTIME] = mig_field(done, "downtime", NULL);
    v[SENT] = mig_field(done, "ram", "transferred") / 1024.0;
    ok = v[TOTAL] >= 0 && v[DOWNTIME] >= 0 && v[SENT] >= 0;
    if (!ok)
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "query-migrate lacks a figure: %s",
                    json_object_to_json_string(done));
out:
    if (done)
        json_object_put(done);
    if (!ok)
        mig_add_stderr(err, &src, &dst);
    mig_side_free(&src);
    mig_side_free(&dst);
    g_unlink(path);
    return ok;
}

int main(int argc, char **argv)
{
    int rounds = 3;
    gboolean prealloc = FALSE, cpr_only = FALSE;
    g_autofree char *hotmem = NULL, *sizes = NULL, *dir = NULL;
    g_autoptr(GError) err = NULL;
    GOptionEntry entries[] = {
        { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds,
          "migrations per size and mode (default 3, at most 16)", "N" },
        { "sizes", 0, 0, G_OPTION_ARG_STRING, &sizes,
          "guest RAM sizes (default 1G,16G)", "A,B" },
        { "prealloc", 0, 0, G_OPTION_ARG_NONE, &prealloc,
          "fill the source's memfd first (prealloc=on)", NULL },
        { "cpr-only", 0, 0, G_OPTION_ARG_NONE, &cpr_only,
          "no live migration next to it (it allocates all guest RAM "
          "twice)", NULL },
        { "hotmem", 0, 0, G_OPTION_ARG_FILENAME, &hotmem,
          "the hotmem binary (default $HOTMEM_BIN, else this build's)",
          "PATH" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "- local live update (cpr-transfer) next to a live migration "
        "(docs/performance.md)");
    struct config c = { .nsizes = 2, .sizes = { GIB, 16 * GIB } };
    struct mig_samples s[MAX_SIZES][NR_MODE][NR_METRIC] = { 0 };
    unsigned failed[MAX_SIZES][NR_MODE] = { { 0 } };

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err))
        goto usage;
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        g_set_error(&err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--rounds must be 1 to %d", MAX_ROUNDS);
        goto usage;
    }
    if (sizes && !mig_parse_sizes(sizes, 256 * MIB, 2 * MIB, c.sizes,
                                  MAX_SIZES, &c.nsizes, &err))
        goto usage;
    c.rounds = (unsigned)rounds;
    c.prealloc = prealloc;
    c.cpr_only = cpr_only;
    if (!hotmem)
        hotmem = g_strdup(g_getenv("HOTMEM_BIN") ? g_getenv("HOTMEM_BIN")
                          : HOTMEM_BUILD_ROOT "/src/hotmem");
    g_setenv("HOTMEM_BIN", hotmem, TRUE);
    c.bin = hotmem;
    signal(SIGPIPE, SIG_IGN);
    dir = g_dir_make_tmp("bench-cpr-XXXXXX", NULL);
    c.dir = dir;
    bench_print_environment(stdout);
    printf("migrate-cpr: hotmem-guest idle, boot RAM a shared memfd%s, over "
           "unix:, %u rounds, modes interleaved (order alternating); "
           "downtime-limit 300 ms, no bandwidth limit; medians [min-max]\n",
           c.prealloc ? " filled first (prealloc=on)" : "", c.rounds);
    fflush(stdout);
    for (unsigned i = 0; i < c.nsizes; i++)
        for (unsigned r = 0; r < c.rounds; r++)
            for (int j = 0; j < NR_MODE; j++) {
                enum mode m = (enum mode)((r + j) % NR_MODE);
                double v[NR_METRIC];
                g_autoptr(GError) e = NULL;

                if (m == NORMAL && c.cpr_only)
                    continue;
                if (!migrate_once(&c, c.sizes[i], m, v, &e)) {
                    failed[i][m]++;
                    printf("migrate-cpr: %" PRIu64 "M %s round %u failed: "
                           "%s\n", c.sizes[i] / MIB, mode_name[m], r + 1,
                           e->message);
                } else {
                    for (int k = 0; k < NR_METRIC; k++)
                        mig_add(&s[i][m][k], v[k]);
                    printf("migrate-cpr: %" PRIu64 "M %s round %u: total "
                           "%.0f ms, downtime %.0f ms, %.1f KiB sent\n",
                           c.sizes[i] / MIB, mode_name[m], r + 1, v[TOTAL],
                           v[DOWNTIME], v[SENT]);
                }
                fflush(stdout);
            }
    printf("%6s %-12s %22s %22s %26s\n", "guest", "mode", "total-time ms",
           "downtime ms", "sent KiB");
    for (unsigned i = 0; i < c.nsizes; i++)
        for (int m = 0; m < NR_MODE; m++) {
            g_autofree char *t = mig_spread(&s[i][m][TOTAL], 0, NULL);
            g_autofree char *d = mig_spread(&s[i][m][DOWNTIME], 0, NULL);
            g_autofree char *x = mig_spread(&s[i][m][SENT], 1, NULL);

            if (m == NORMAL && c.cpr_only)
                continue;

            printf("%5" PRIu64 "M %-12s %22s %22s %26s", c.sizes[i] / MIB,
                   mode_name[m], t, d, x);
            if (failed[i][m])
                printf("  (%u failed)", failed[i][m]);
            printf("\n");
        }
    g_rmdir(dir);
    return 0;

usage:
    fprintf(stderr, "bench-migrate-cpr: %s\n", err->message);
    return 2;
}
