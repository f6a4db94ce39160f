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
#include "qmpline.h"
#include "vmrunner.h"

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define MAX_ROUNDS 16
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

struct samples {
    double v[MAX_ROUNDS];
    unsigned n;
};

struct side {
    struct vm *vm;
    struct qline *q;
    char *sock;
};

static void side_free(struct side *s)
{
    if (s->q)
        qline_close(s->q);
    if (s->vm)
        vm_free(s->vm);
    if (s->sock)
        g_unlink(s->sock);
    g_free(s->sock);
    memset(s, 0, sizeof(*s));
}

/* One hotmem: boot RAM from a shared memfd, its console on stdio. */
static bool side_start(const struct config *c, uint64_t size, bool prealloc,
                       const char *name, const char *incoming,
                       struct side *s, GError **err)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);

    s->sock = g_strdup_printf("%s/%s.sock", c->dir, name);
    g_unlink(s->sock);
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
    g_ptr_array_add(a, g_strdup("-qmp"));
    g_ptr_array_add(a, g_strdup_printf("unix:%s,server=on,wait=off",
                                       s->sock));
    if (incoming) {
        g_ptr_array_add(a, g_strdup("-incoming"));
        g_ptr_array_add(a, g_strdup(incoming));
    }
    g_ptr_array_add(a, NULL);
    s->vm = vm_spawn_program(c->bin, (const char *const *)a->pdata);
    s->q = qline_open(s->sock, vm_pid(s->vm), STEP_MS, err);
    return s->q && qline_call(s->q, STEP_MS, err,
                              "{\"execute\": \"qmp_capabilities\"}");
}

static double field(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, a, &v))
        return -1;
    if (b && !json_object_object_get_ex(v, b, &v))
        return -1;
    return json_object_get_double(v);
}

/* Polls query-migrate until it is over; its return object. */
static json_object *wait_migrated(struct qline *q, GError **err)
{
    double end = bench_now_ms() + STEP_MS;

    while (bench_now_ms() < end) {
        json_object *r, *ret, *st;
        const char *status;

        if (!qline_send(q, err, "{\"execute\": \"query-migrate\"}"))
            return NULL;
        r = qline_reply(q, STEP_MS, err);
        if (!r)
            return NULL;
        if (!json_object_object_get_ex(r, "return", &ret) ||
            !json_object_object_get_ex(ret, "status", &st)) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "query-migrate: %s", json_object_to_json_string(r));
            json_object_put(r);
            return NULL;
        }
        status = json_object_get_string(st);
        if (!strcmp(status, "completed") || !strcmp(status, "failed")) {
            if (!strcmp(status, "failed"))
                g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                            "migration failed: %s",
                            json_object_to_json_string(ret));
            else
                json_object_get(ret);
            json_object_put(r);
            return *err ? NULL : ret;
        }
        json_object_put(r);
        g_usleep(5000);
    }
    g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                "the migration did not complete within %d s", STEP_MS / 1000);
    return NULL;
}

/* The destination runs the guest and it answers its console. */
static bool destination_runs(struct side *d, GError **err)
{
    g_autofree char *pong = NULL;
    double end = bench_now_ms() + STEP_MS;
    bool running = false;

    /* The source completes once its stream is out; the destination may
     * still be loading it (a live migration's last pages). */
    while (!running && bench_now_ms() < end) {
        json_object *r, *ret, *st;

        if (!qline_send(d->q, err, "{\"execute\": \"query-status\"}"))
            return false;
        r = qline_reply(d->q, STEP_MS, err);
        if (!r)
            return false;
        running = json_object_object_get_ex(r, "return", &ret) &&
                  json_object_object_get_ex(ret, "status", &st) &&
                  !strcmp(json_object_get_string(st), "running");
        json_object_put(r);
        if (!running)
            g_usleep(5000);
    }
    if (!running) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "the destination is not running");
        return false;
    }
    vm_send(d->vm, "ping");
    pong = vm_wait_line(d->vm, "hotmem-guest: pong", STEP_MS);
    if (!pong)
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "the migrated guest does not answer its console");
    return pong != NULL;
}

static bool migrate_once(const struct config *c, uint64_t size,
                         enum mode m, double *v, GError **err)
{
    struct side src = { 0 }, dst = { 0 };
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
    done = wait_migrated(src.q, err);
    if (!done || !destination_runs(&dst, err))
        goto out;
    v[TOTAL] = field(done, "total-time", NULL);
    v[DOWNTIME] = field(done, "downtime", NULL);
    v[SENT] = field(done, "ram", "transferred") / 1024.0;
    ok = v[TOTAL] >= 0 && v[DOWNTIME] >= 0 && v[SENT] >= 0;
    if (!ok)
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "query-migrate lacks a figure: %s",
                    json_object_to_json_string(done));
out:
    if (done)
        json_object_put(done);
    if (!ok && *err) {
        const char *e = dst.vm ? vm_stderr(dst.vm) : "";

        if (*e)
            g_prefix_error(err, "[dst stderr: %s] ", e);
    }
    side_free(&src);
    side_free(&dst);
    g_unlink(path);
    return ok;
}

static char *spread(const struct samples *s, int decimals)
{
    double v[MAX_ROUNDS], med;

    if (!s->n)
        return g_strdup("-");
    memcpy(v, s->v, s->n * sizeof(double));
    med = bench_median(v, s->n);
    return g_strdup_printf("%.*f [%.*f-%.*f]", decimals, med, decimals, v[0],
                           decimals, v[s->n - 1]);
}

static bool parse_sizes(const char *text, struct config *c, GError **err)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);

    c->nsizes = g_strv_length(parts);
    if (c->nsizes < 1 || c->nsizes > MAX_SIZES) {
        g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--sizes takes 1 to %d sizes separated by commas, not "
                    "\"%s\"", MAX_SIZES, text);
        return false;
    }
    for (unsigned i = 0; i < c->nsizes; i++) {
        if (!cli_parse_size(parts[i], MIB, &c->sizes[i], err))
            return false;
        if (c->sizes[i] < 256 * MIB || c->sizes[i] % (2 * MIB)) {
            g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--sizes: %s is below 256M or not a multiple of 2M",
                        parts[i]);
            return false;
        }
    }
    return true;
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
    struct samples s[MAX_SIZES][NR_MODE][NR_METRIC] = { 0 };
    unsigned failed[MAX_SIZES][NR_MODE] = { { 0 } };

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err))
        goto usage;
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        g_set_error(&err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--rounds must be 1 to %d", MAX_ROUNDS);
        goto usage;
    }
    if (sizes && !parse_sizes(sizes, &c, &err))
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
                        s[i][m][k].v[s[i][m][k].n++] = v[k];
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
            g_autofree char *t = spread(&s[i][m][TOTAL], 0);
            g_autofree char *d = spread(&s[i][m][DOWNTIME], 0);
            g_autofree char *x = spread(&s[i][m][SENT], 1);

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
