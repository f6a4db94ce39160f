/*
 * bench/migrate: a live migration over a unix socket, hotmem next to QEMU
 * doing the same migration of the same guest in the same run (issue 14,
 * docs/performance.md "Migration").
 *
 *   bench-migrate [--rounds N] [--sizes 1G,4G] [--rate PAGES]
 *                 [--bandwidth BYTES] [--here] [--hotmem PATH]
 *
 * The guest is hotmem-guest (the same ELF for both VMMs) with SIZE of boot
 * RAM, idle or writing one byte into each of RATE 4 KiB pages a second
 * (its console command dirty, over 256 MiB, for at most 600 s). Per
 * migration: a destination started with -incoming unix:PATH, then
 * migrate-set-parameters (downtime-limit 300 ms, QEMU's default, and
 * max-bandwidth) and migrate on the source, query-migrate polled until
 * completed; the figures are the source's total-time, downtime and
 * ram.transferred, and the guest's pause from the source's STOP event to
 * the destination's RESUME; the destination must be running and (when
 * idle) answer its console. Medians [min-max] of
 * interleaved runs (the order alternates each round) and QEMU/hotmem
 * ratios. Where KVM does not run guest kernel code at hardware speed, it
 * runs itself inside the nested KVM host (tests/rig/run).
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
#include "rigexec.h"
#include "vmrunner.h"

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define MAX_ROUNDS MIG_MAX_ROUNDS
#define MAX_SIZES 4
#define STEP_MS 120000
#define DIRTY_BASE "0x10000000"
#define DIRTY_SIZE "0x10000000"

enum vmm { HOTMEM, QEMU, NR_VMM };
enum mode { IDLE, DIRTY, NR_MODE };
enum metric { TOTAL, DOWNTIME, PAUSE, SENT, NR_METRIC };

static const char *const vmm_name[NR_VMM] = { "hotmem", "qemu" };
static const char *const mode_name[NR_MODE] = { "idle", "dirty" };

struct config {
    const char *bin[NR_VMM];    /* qemu NULL: not installed */
    const char *guest;          /* hotmem-guest ELF, QEMU's -kernel */
    const char *dir;
    unsigned rounds;
    unsigned nsizes;
    uint64_t sizes[MAX_SIZES];
    unsigned rate;              /* pages per second in mode dirty */
    uint64_t bandwidth;         /* max-bandwidth, bytes per second */
};

struct figures {
    struct mig_samples s[MAX_SIZES][NR_MODE][NR_VMM][NR_METRIC];
    unsigned failed[MAX_SIZES][NR_MODE][NR_VMM];
};

/* Starts one VMM: the guest with size of RAM, its console on stdio. */
static bool side_start(const struct config *c, enum vmm w, uint64_t size,
                       const char *name, const char *incoming,
                       struct mig_side *s, GError **err)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *sock = g_strdup_printf("%s-%s", vmm_name[w], name);
    static const char *const qemu[] = { "-accel", "kvm", "-machine", "q35",
                                        "-cpu", "host", "-nodefaults",
                                        "-no-user-config", "-display", "none",
                                        "-kernel" };

    if (w == QEMU) {
        for (size_t i = 0; i < G_N_ELEMENTS(qemu); i++)
            g_ptr_array_add(a, g_strdup(qemu[i]));
        g_ptr_array_add(a, g_strdup(c->guest));
    }
    g_ptr_array_add(a, g_strdup("-serial"));
    g_ptr_array_add(a, g_strdup("stdio"));
    g_ptr_array_add(a, g_strdup("-m"));
    g_ptr_array_add(a, g_strdup_printf("%" PRIu64 "M", size / MIB));
    if (incoming) {
        g_ptr_array_add(a, g_strdup("-incoming"));
        g_ptr_array_add(a, g_strdup(incoming));
    }
    g_ptr_array_add(a, NULL);
    return mig_side_start(c->bin[w], (const char *const *)a->pdata, c->dir,
                          sock, STEP_MS, s, err);
}

/* One migration; its figures into v[NR_METRIC]. */
static bool migrate_once(const struct config *c, enum vmm w, uint64_t size,
                         enum mode m, double *v, GError **err)
{
    struct mig_side src = { 0 }, dst = { 0 };
    g_autofree char *path = g_strdup_printf("%s/%s.mig", c->dir, vmm_name[w]);
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *line = NULL;
    json_object *done = NULL, *stop = NULL, *resume = NULL;
    bool ok = false;

    g_unlink(path);
    if (!side_start(c, w, size, "dst", uri, &dst, err) ||
        !side_start(c, w, size, "src", NULL, &src, err))
        goto out;
    line = vm_wait_line(src.vm, "hotmem-guest: ready", STEP_MS);
    if (!line) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "the guest did not start: %s", vm_stderr(src.vm));
        goto out;
    }
    if (m == DIRTY) {
        g_autofree char *cmd = g_strdup_printf(
            "dirty %u " DIRTY_BASE " " DIRTY_SIZE " 600", c->rate);
        g_autofree char *started = NULL;

        vm_send(src.vm, cmd);
        started = vm_wait_line(src.vm, "hotmem-guest: dirty tsc-hz=", STEP_MS);
        if (!started) {
            const char *con = vm_console(src.vm);
            size_t len = strlen(con);

            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "the guest did not start dirtying; its console "
                        "ends: %s", con + (len > 300 ? len - 300 : 0));
            goto out;
        }
    }
    if (!qline_call(src.q, STEP_MS, err,
                    "{\"execute\": \"migrate-set-parameters\", \"arguments\":"
                    " {\"downtime-limit\": 300, \"max-bandwidth\": %" PRIu64
                    "}}", c->bandwidth) ||
        !qline_call(src.q, STEP_MS, err,
                    "{\"execute\": \"migrate\", \"arguments\": "
                    "{\"uri\": \"%s\"}}", uri))
        goto out;
    done = mig_wait_completed(src.q, 10 * STEP_MS, err);
    /* A guest that is dirtying keeps its console busy: no ping then. */
    if (!done || !mig_destination_runs(&dst, m == IDLE, STEP_MS, err))
        goto out;
    v[TOTAL] = mig_field(done, "total-time", NULL);
    v[DOWNTIME] = mig_field(done, "downtime", NULL);
    v[SENT] = mig_field(done, "ram", "transferred") / (double)MIB;
    /*
     * What the guest felt, the same way for both VMMs: from the source's
     * STOP to the destination's RESUME (their timestamps, one host
     * clock). Each VMM's own downtime figure ends where it decides: QEMU's
     * when the source has sent the rest, hotmem's when the destination
     * has loaded it and answered.
     */
    stop = qline_event(src.q, "STOP", NULL, STEP_MS, err);
    resume = stop ? qline_event(dst.q, "RESUME", NULL, STEP_MS, err) : NULL;
    if (!stop || !resume)
        goto out;
    v[PAUSE] = qline_event_ms(resume) - qline_event_ms(stop);
    ok = v[TOTAL] >= 0 && v[DOWNTIME] >= 0 && v[SENT] >= 0 && v[PAUSE] >= 0;
    if (!ok)
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "query-migrate lacks total-time, downtime or "
                    "ram.transferred: %s", json_object_to_json_string(done));
out:
    if (done)
        json_object_put(done);
    if (stop)
        json_object_put(stop);
    if (resume)
        json_object_put(resume);
    if (!ok)
        mig_add_stderr(err, &src, &dst);
    mig_side_free(&src);
    mig_side_free(&dst);
    g_unlink(path);
    return ok;
}

static void print_table(const struct config *c, const struct figures *f)
{
    static const int decimals[NR_METRIC] = { 0, 0, 0, 1 };
    static const int width[NR_METRIC] = { 22, 20, 22, 22 };

    printf("%-7s %5s %-6s %22s %20s %22s %22s\n", "vmm", "guest", "mode",
           "total-time ms", "downtime ms", "STOP->RESUME ms", "sent MiB");
    for (unsigned i = 0; i < c->nsizes; i++)
        for (int m = 0; m < NR_MODE; m++) {
            double med[NR_VMM][NR_METRIC] = { { 0 } };

            for (int w = 0; w < NR_VMM; w++) {
                if (!c->bin[w])
                    continue;
                printf("%-7s %4" PRIu64 "G %-6s", vmm_name[w],
                       c->sizes[i] / GIB, mode_name[m]);
                for (int k = 0; k < NR_METRIC; k++) {
                    g_autofree char *t = mig_spread(&f->s[i][m][w][k], decimals[k],
                                                &med[w][k]);
                    printf(" %*s", width[k], t);
                }
                if (f->failed[i][m][w])
                    printf("  (%u failed)", f->failed[i][m][w]);
                printf("\n");
            }
            if (!c->bin[QEMU])
                continue;
            printf("%-7s %4" PRIu64 "G %-6s", "q/h", c->sizes[i] / GIB,
                   mode_name[m]);
            for (int k = 0; k < NR_METRIC; k++) {
                g_autofree char *r =
                    med[HOTMEM][k] > 0 && med[QEMU][k] > 0
                        ? g_strdup_printf("%.2fx", med[QEMU][k] / med[HOTMEM][k])
                        : g_strdup("-");
                printf(" %*s", width[k], r);
            }
            printf("\n");
        }
    printf("q/h: QEMU's median over hotmem's (above 1: hotmem is faster or "
           "sends less). downtime is each VMM's own figure (QEMU's ends when "
           "the source has sent the rest, hotmem's when the destination has "
           "loaded it); STOP->RESUME is the guest's pause measured the same "
           "way for both. Aim (issue 14): downtime at or below QEMU's, total "
           "time within QEMU's.\n");
}

int main(int argc, char **argv)
{
    int rounds = 3, rate = 8192;
    gboolean here = FALSE;
    g_autofree char *hotmem = NULL, *sizes = NULL, *bandwidth = NULL,
                    *qemu = NULL, *move = NULL, *dir = NULL, *guest = NULL;
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) saved = g_strdupv(argv);
    GOptionEntry entries[] = {
        { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds,
          "migrations per VMM, size and mode (default 3, at most 16)", "N" },
        { "sizes", 0, 0, G_OPTION_ARG_STRING, &sizes,
          "guest RAM sizes (default 1G,4G)", "A,B" },
        { "rate", 0, 0, G_OPTION_ARG_INT, &rate,
          "pages the guest dirties per second in mode dirty (default 8192, "
          "32 MiB/s)", "PAGES" },
        { "bandwidth", 0, 0, G_OPTION_ARG_STRING, &bandwidth,
          "max-bandwidth for both, bytes per second (default 1G)", "SIZE" },
        { "here", 0, 0, G_OPTION_ARG_NONE, &here,
          "run on this machine even where guest kernel code is emulated",
          NULL },
        { "hotmem", 0, 0, G_OPTION_ARG_FILENAME, &hotmem,
          "the hotmem binary (default $HOTMEM_BIN, else this build's)",
          "PATH" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "- live migration, hotmem next to QEMU (docs/performance.md)");
    struct config c = { .nsizes = 2, .sizes = { GIB, 4 * GIB },
                        .bandwidth = GIB };
    struct figures *f;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err))
        goto usage;
    if (rounds < 1 || rounds > MAX_ROUNDS || rate < 1 || rate > 1000000) {
        g_set_error(&err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--rounds must be 1 to %d and --rate 1 to 1000000",
                    MAX_ROUNDS);
        goto usage;
    }
    if ((sizes && !mig_parse_sizes(sizes, GIB, GIB, c.sizes, MAX_SIZES,
                                   &c.nsizes, &err)) ||
        (bandwidth && !cli_parse_size(bandwidth, 1, &c.bandwidth, &err)))
        goto usage;
    c.rounds = (unsigned)rounds;
    c.rate = (unsigned)rate;

    if (!hotmem)
        hotmem = g_strdup(g_getenv("HOTMEM_BIN") ? g_getenv("HOTMEM_BIN")
                          : HOTMEM_BUILD_ROOT "/src/hotmem");
    g_setenv("HOTMEM_BIN", hotmem, TRUE);
    move = bench_rig_reason(here);
    if (move)
        return bench_rig_exec("migrate", move, 900, saved);

    signal(SIGPIPE, SIG_IGN);
    guest = g_build_filename(HOTMEM_BUILD_ROOT, "firmware",
                             "hotmem-guest.elf", NULL);
    qemu = g_find_program_in_path("qemu-system-x86_64");
    c.bin[HOTMEM] = hotmem;
    c.bin[QEMU] = qemu;
    c.guest = guest;
    dir = g_dir_make_tmp("bench-migrate-XXXXXX", NULL);
    c.dir = dir;
    bench_print_environment(stdout);
    printf("migrate: hotmem-guest over unix:, %u rounds, VMMs interleaved "
           "(order alternating); downtime-limit 300 ms, max-bandwidth %"
           PRIu64 " B/s; mode dirty: %u pages/s over 256 MiB; medians "
           "[min-max]%s\n", c.rounds, c.bandwidth, c.rate,
           qemu ? "" : "; qemu-system-x86_64 not installed: no peer");
    fflush(stdout);
    f = g_new0(struct figures, 1);
    for (unsigned i = 0; i < c.nsizes; i++)
        for (int m = 0; m < NR_MODE; m++)
            for (unsigned r = 0; r < c.rounds; r++)
                for (int j = 0; j < NR_VMM; j++) {
                    enum vmm w = (enum vmm)((r + j) % NR_VMM);
                    double v[NR_METRIC];
                    g_autoptr(GError) e = NULL;

                    if (!c.bin[w])
                        continue;
                    if (!migrate_once(&c, w, c.sizes[i], (enum mode)m, v,
                                      &e)) {
                        f->failed[i][m][w]++;
                        printf("migrate: %s %" PRIu64 "G %s round %u "
                               "failed: %s\n", vmm_name[w],
                               c.sizes[i] / GIB, mode_name[m], r + 1,
                               e->message);
                    } else {
                        for (int k = 0; k < NR_METRIC; k++)
                            mig_add(&f->s[i][m][w][k], v[k]);
                        printf("migrate: %s %" PRIu64 "G %s round %u: "
                               "total %.0f ms, downtime %.0f ms, "
                               "STOP->RESUME %.0f ms, %.1f MiB\n",
                               vmm_name[w], c.sizes[i] / GIB, mode_name[m],
                               r + 1, v[TOTAL], v[DOWNTIME], v[PAUSE],
                               v[SENT]);
                    }
                    fflush(stdout);
                }
    print_table(&c, f);
    g_free(f);
    g_rmdir(dir);
    return 0;

usage:
    fprintf(stderr, "bench-migrate: %s\n", err->message);
    return 2;
}
