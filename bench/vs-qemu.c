/*
 * bench/vs-qemu: hotmem next to Debian's QEMU (and, for startup, a bare-KVM
 * floor program) in one table of medians [min-max] and ratios, with the
 * goals of issue 16 (docs/performance.md, "hotmem vs QEMU").
 *
 *   bench-vs-qemu [--rounds N] [--quick] [--here] [--no-linux] ...
 *
 * Where /dev/kvm emulates guest kernel code (kvm_pvm) or is missing, it runs
 * itself again inside the nested KVM host (tests/rig/run), both VMMs there,
 * so the ratios compare like with like; --here keeps it on this machine
 * (then the Linux guest is left out where it cannot boot). Figures only,
 * never a verdict: the exit status says whether the run worked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "cli/cli.h"

#include "benchstat.h"
#include "linuxenv.h"
#include "rigexec.h"
#include "vmrunner.h"
#include "vsq.h"

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)

void vsq_add(struct vsq_figures *f, enum vsq_metric m, enum vsq_vmm w,
             double value)
{
    if (f->n[m][w] < VSQ_MAX_ROUNDS)
        f->v[m][w][f->n[m][w]++] = value;
}

const char *vsq_name(enum vsq_vmm w)
{
    static const char *const names[] = { "hotmem", "qemu", "floor" };

    return names[w];
}

/* One line of the table: a metric, hotmem against a peer. */
struct row {
    enum vsq_metric m;
    enum vsq_vmm peer;
    char *label;
    const char *unit;
    double goal;                /* peer/hotmem at least this; 0: none */
    const char *goal_text;
};

static char *size_text(uint64_t bytes)
{
    return bytes % GIB ? g_strdup_printf("%" PRIu64 " MiB", bytes / MIB)
                       : g_strdup_printf("%" PRIu64 " GiB", bytes / GIB);
}

static void add_row(GArray *rows, enum vsq_metric m, enum vsq_vmm peer,
                    const char *unit, double goal, const char *goal_text,
                    char *label)
{
    struct row r = { m, peer, label, unit, goal, goal_text };

    g_array_append_val(rows, r);
}

/* The rows, in the order of issue 16's list. */
static GArray *table_rows(const struct vsq_config *c)
{
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(struct row));
    g_autofree char *pre = size_text(c->prealloc);
    g_autofree char *multi = size_text(c->multi_size);

    add_row(rows, VSQ_GREETING, VSQ_QEMU, "ms", 0, "",
            g_strdup("exec -> QMP greeting (-S, -m 512M,slots=8,maxmem=32G)"));
    add_row(rows, VSQ_GREETING, VSQ_FLOOR, "ms", 1 / 1.15,
            "within 1.15x of floor",
            g_strdup("exec -> QMP greeting, peer: bare-KVM floor"));
    add_row(rows, VSQ_RSS, VSQ_QEMU, "MiB", 10, ">= 10x",
            g_strdup("VMM Rss after qmp_capabilities"));
    add_row(rows, VSQ_PSS, VSQ_QEMU, "MiB", 0, "",
            g_strdup("VMM Pss after qmp_capabilities"));
    add_row(rows, VSQ_RSS, VSQ_FLOOR, "MiB", 0, "",
            g_strdup("VMM Rss, peer: bare-KVM floor"));
    add_row(rows, VSQ_BOOT, VSQ_QEMU, "ms", 0, "",
            g_strdup("exec -> Linux /init running"));
    for (unsigned i = 0; i <= VSQ_NR_SIZES; i++) {
        g_autofree char *s = i < VSQ_NR_SIZES ? size_text(c->sizes[i])
            : g_strdup_printf("%u x %s at once", c->multi_n, multi);

        add_row(rows, VSQ_REPLY + i, VSQ_QEMU, "ms", 2, ">= 2x",
                g_strdup_printf("object-add + device_add replies, %s", s));
    }
    for (unsigned i = 0; i <= VSQ_NR_SIZES; i++) {
        g_autofree char *s = i < VSQ_NR_SIZES ? size_text(c->sizes[i])
            : g_strdup_printf("%u x %s at once", c->multi_n, multi);

        add_row(rows, VSQ_MEMTOTAL + i, VSQ_QEMU, "ms",
                i < VSQ_NR_SIZES ? 1 : 2, i < VSQ_NR_SIZES ? ">= 1x" : ">= 2x",
                g_strdup_printf("device_add -> Linux MemTotal grown, %s", s));
    }
    for (unsigned i = 0; i <= VSQ_NR_SIZES; i++) {
        g_autofree char *s = i < VSQ_NR_SIZES ? size_text(c->sizes[i])
            : g_strdup_printf("%u x %s at once", c->multi_n, multi);

        add_row(rows, VSQ_DELETED + i, VSQ_QEMU, "ms", 1, ">= 1x",
                g_strdup_printf("device_del -> DEVICE_DELETED (Linux), %s",
                                s));
    }
    add_row(rows, VSQ_QUERY_STATUS, VSQ_QEMU, "us", 0, "",
            g_strdup_printf("query-status round trip (median of %u)",
                            c->status_calls));
    add_row(rows, VSQ_QMD, VSQ_QEMU, "ms", 0, "",
            g_strdup_printf("query-memory-devices, %u DIMMs", c->dimms));
    add_row(rows, VSQ_PREALLOC1, VSQ_QEMU, "ms", 1, ">= 1x",
            g_strdup_printf("prealloc %s, 1 thread (object-add reply)", pre));
    add_row(rows, VSQ_PREALLOC2, VSQ_QEMU, "ms", 1, ">= 1x",
            g_strdup_printf("prealloc %s, 2 threads", pre));
    return rows;
}

static char *number(double v)
{
    return g_strdup_printf(v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
}

/* "median unit [min-max]" of a series, or "-"; *median set. */
static char *cell(const struct vsq_figures *f, enum vsq_metric m,
                  enum vsq_vmm w, const char *unit, unsigned rounds,
                  double *median)
{
    double v[VSQ_MAX_ROUNDS];
    unsigned n = f->n[m][w];

    *median = 0;
    if (!n)
        return g_strdup("-");
    memcpy(v, f->v[m][w], n * sizeof(*v));
    *median = bench_median(v, n);
    g_autofree char *med = number(*median), *lo = number(v[0]),
                    *hi = number(v[n - 1]);
    g_autofree char *count = n < rounds ? g_strdup_printf(" (%u runs)", n)
                                        : g_strdup("");

    return g_strdup_printf("%s %s [%s-%s]%s", med, unit, lo, hi, count);
}

static void print_table(const struct vsq_config *c,
                        const struct vsq_figures *f)
{
    g_autoptr(GArray) rows = table_rows(c);
    unsigned goals = 0, met = 0;

    printf("\n| metric | hotmem | peer | peer/hotmem | goal | met |\n"
           "|---|---|---|---|---|---|\n");
    for (unsigned i = 0; i < rows->len; i++) {
        struct row *r = &g_array_index(rows, struct row, i);
        double h, p;
        g_autofree char *hc = cell(f, r->m, VSQ_HOTMEM, r->unit, c->rounds,
                                   &h);
        g_autofree char *pc = cell(f, r->m, r->peer, r->unit, c->rounds, &p);
        g_autofree char *ratio = h > 0 && p > 0
            ? g_strdup_printf("%.2fx", p / h) : g_strdup("-");
        const char *verdict = !r->goal ? "" : !(h > 0 && p > 0) ? "n/a"
                              : p / h >= r->goal ? "yes" : "**no**";

        if (r->goal && h > 0 && p > 0) {
            goals++;
            met += p / h >= r->goal;
        }
        printf("| %s | %s | %s%s | %s | %s | %s |\n", r->label, hc,
               r->peer == VSQ_FLOOR ? "floor " : "QEMU ", pc, ratio,
               r->goal_text, verdict);
        g_free(r->label);
    }
    printf("\ngoals met: %u of %u measured (peer/hotmem > 1: hotmem is "
           "faster or smaller)\n", met, goals);
}

/*
 * The nested host runs its tests without transparent huge pages (its init
 * writes "never": TCG zeroes each 2 MiB page in emulated code). Hosts run
 * "madvise" or "always", where both VMMs' guest RAM (each advises
 * MADV_HUGEPAGE) comes as 2 MiB pages and KVM maps it so: the guest's own
 * hot-plug work then takes a fraction of the time (2026-12-05: MemTotal
 * grown for 1 GiB in 168 ms against 1443 ms). So the bench asks for
 * "madvise" there unless HOTMEM_RIG_APPEND already names a mode; the
 * environment line says which it got.
 */
static void thp_madvise_in_rig(void)
{
    const char *append = g_getenv("HOTMEM_RIG_APPEND");
    g_autofree char *more = NULL;

    if (append && strstr(append, "transparent_hugepage="))
        return;
    more = g_strdup_printf("%s%stransparent_hugepage=madvise",
                           append ? append : "", append ? " " : "");
    g_setenv("HOTMEM_RIG_APPEND", more, TRUE);
}

/* Date, machine and versions, so that a table can say where it came from. */
static void print_where(const struct vsq_config *c)
{
    struct utsname u;
    char date[64];
    time_t now = time(NULL);
    g_autofree char *qv = NULL;
    char *argv[] = { (char *)c->qemu, "--version", NULL };

    strftime(date, sizeof(date), "%Y-%m-%d %H:%M %Z", localtime(&now));
    uname(&u);
    if (c->qemu)
        g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                     &qv, NULL, NULL, NULL);
    if (qv)
        *strchrnul(qv, '\n') = '\0';
    printf("vs-qemu: %s, %s %s, %u CPUs, %s\n", date, u.sysname, u.release,
           g_get_num_processors(), qv ? qv : "qemu-system-x86_64 not installed");
    bench_print_environment(stdout);
    bench_print_thp(stdout);
    printf("vs-qemu: %u rounds, VMMs interleaved (order rotated each round);"
           " medians [min-max]\n", c->rounds);
}

/*
 * A copy of the executable at path in dir (same name, mode 0755); the
 * copy's path, or NULL.
 */
static char *local_copy(const char *dir, const char *path)
{
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *data = NULL;
    char *copy = g_build_filename(dir, base, NULL);
    gsize len;

    if (!g_file_get_contents(path, &data, &len, NULL) ||
        !g_file_set_contents_full(copy, data, (gssize)len,
                                  G_FILE_SET_CONTENTS_NONE, 0755, NULL)) {
        g_free(copy);
        return NULL;
    }
    return copy;
}

/* "A,B,C" sizes into out[VSQ_NR_SIZES]. */
static bool parse_sizes(const char *text, uint64_t *out, GError **err)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);

    if (g_strv_length(parts) != VSQ_NR_SIZES) {
        g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--sizes takes %d sizes separated by commas, not \"%s\"",
                    VSQ_NR_SIZES, text);
        return false;
    }
    for (unsigned i = 0; i < VSQ_NR_SIZES; i++)
        if (!cli_parse_size(parts[i], MIB, &out[i], err))
            return false;
    return true;
}

/* "NxSIZE": N DIMMs of SIZE at once. */
static bool parse_multi(const char *text, struct vsq_config *c, GError **err)
{
    char *end;

    c->multi_n = (unsigned)strtoul(text, &end, 10);
    if (c->multi_n < 1 || c->multi_n > 64 || (*end != 'x' && *end != 'X')) {
        g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--multi takes NxSIZE with N from 1 to 64, not \"%s\"",
                    text);
        return false;
    }
    return cli_parse_size(end + 1, MIB, &c->multi_size, err);
}

int main(int argc, char **argv)
{
    int rounds = 5, dimms = 0;
    gboolean quick = FALSE, here = FALSE, no_linux = FALSE;
    g_autofree char *hotmem = NULL, *prealloc = NULL, *sizes = NULL,
                    *multi = NULL, *qemu = NULL, *floor_bin = NULL,
                    *move = NULL, *dir = NULL, *local_hotmem = NULL,
                    *local_floor = NULL;
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) saved = g_strdupv(argv);
    GOptionEntry entries[] = {
        { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds,
          "rounds, each VMM once per round (default 5, at most 32)", "N" },
        { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick,
          "small sizes for a smoke run (16 DIMMs, prealloc 256M, DIMMs "
          "128M,256M,512M and 8x128M)", NULL },
        { "here", 0, 0, G_OPTION_ARG_NONE, &here,
          "run on this machine even where guest kernel code is emulated "
          "(the Linux guest is then left out)", NULL },
        { "no-linux", 0, 0, G_OPTION_ARG_NONE, &no_linux,
          "leave out the Linux guest", NULL },
        { "hotmem", 0, 0, G_OPTION_ARG_FILENAME, &hotmem,
          "the hotmem binary (default $HOTMEM_BIN, else this build's)",
          "PATH" },
        { "dimms", 0, 0, G_OPTION_ARG_INT, &dimms,
          "DIMMs for query-memory-devices (default 256)", "N" },
        { "prealloc", 0, 0, G_OPTION_ARG_STRING, &prealloc,
          "size to preallocate (default 4G)", "SIZE" },
        { "sizes", 0, 0, G_OPTION_ARG_STRING, &sizes,
          "the three DIMM sizes for Linux (default 128M,1G,4G)", "A,B,C" },
        { "multi", 0, 0, G_OPTION_ARG_STRING, &multi,
          "DIMMs added at once for Linux (default 8x256M)", "NxSIZE" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "- hotmem next to QEMU in one table (docs/performance.md)");
    struct vsq_config c = {
        .status_calls = 200, .dimms = 256, .prealloc = 4 * GIB,
        .sizes = { 128 * MIB, GIB, 4 * GIB }, .multi_n = 8,
        .multi_size = 256 * MIB,
    };
    struct vsq_figures *f;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err))
        goto usage;
    if (quick)
        c = (struct vsq_config){ .status_calls = 50, .dimms = 16,
                                 .prealloc = 256 * MIB,
                                 .sizes = { 128 * MIB, 256 * MIB, 512 * MIB },
                                 .multi_n = 8, .multi_size = 128 * MIB };
    c.rounds = (unsigned)rounds;
    if (rounds < 1 || rounds > VSQ_MAX_ROUNDS || dimms < 0 || dimms > 256) {
        g_set_error(&err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--rounds must be 1 to %d and --dimms 1 to 256",
                    VSQ_MAX_ROUNDS);
        goto usage;
    }
    if (dimms)
        c.dimms = (unsigned)dimms;
    if ((prealloc && !cli_parse_size(prealloc, MIB, &c.prealloc, &err)) ||
        (sizes && !parse_sizes(sizes, c.sizes, &err)) ||
        (multi && !parse_multi(multi, &c, &err)))
        goto usage;

    if (!hotmem)
        hotmem = g_strdup(g_getenv("HOTMEM_BIN") ? g_getenv("HOTMEM_BIN")
                          : HOTMEM_BUILD_ROOT "/src/hotmem");
    g_setenv("HOTMEM_BIN", hotmem, TRUE);
    if (!g_getenv("HOTMEM_LINUX_DIR"))
        g_setenv("HOTMEM_LINUX_DIR", HOTMEM_SOURCE_ROOT "/tests/linux", TRUE);
    move = bench_rig_reason(here);
    /* Each step prints a line; a long silence means the nested host hangs
     * (a QEMU preallocating 4 GiB under emulation takes a while). */
    if (move) {
        thp_madvise_in_rig();
        return bench_rig_exec("vs-qemu", move, 600, saved);
    }

    c.hotmem = hotmem;
    qemu = g_find_program_in_path("qemu-system-x86_64");
    c.qemu = qemu;
    floor_bin = g_build_filename(HOTMEM_BUILD_ROOT, "bench",
                                 "bench-kvm-floor", NULL);
    c.floor = floor_bin;
    dir = g_dir_make_tmp("vs-qemu-XXXXXX", NULL);
    c.dir = dir;
    local_hotmem = local_copy(dir, hotmem);
    local_floor = local_copy(dir, floor_bin);
    if (!local_hotmem || !local_floor) {
        fprintf(stderr, "bench-vs-qemu: cannot copy %s and %s into %s\n",
                hotmem, floor_bin, dir);
        return 1;
    }
    c.hotmem = local_hotmem;
    c.floor = local_floor;
    print_where(&c);
    printf("vs-qemu: hotmem and the floor run from copies in %s, so each "
           "exec reads them from the page cache as QEMU's from /usr (in the "
           "nested host this checkout is shared over 9p with cache=mmap, "
           "and an exec of hotmem from there took 2.5x as long)\n", dir);
    f = g_new0(struct vsq_figures, 1);
    vsq_paused(&c, f);
    if (no_linux) {
        printf("vs-qemu: Linux guest left out (--no-linux)\n");
    } else {
        double mips = 0;
        g_autofree char *why = NULL;

        if (linux_ring0_mips(&mips, NULL, &why) != LINUX_ENV_OK)
            printf("vs-qemu: Linux guest left out: %s\n", why);
        else if (mips < LINUX_MIN_RING0_MIPS)
            printf("vs-qemu: Linux guest left out: guest kernel code is "
                   "emulated here (ring0-mips=%.1f; without --here this "
                   "runs in the nested KVM host)\n", mips);
        else
            vsq_linux(&c, f);
    }
    print_table(&c, f);
    g_free(f);
    g_unlink(local_hotmem);
    g_unlink(local_floor);
    g_rmdir(dir);
    return 0;

usage:
    fprintf(stderr, "bench-vs-qemu: %s\n", err->message);
    return 2;
}
