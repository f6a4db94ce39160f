/*
 * hotmem-harness: runs a scripted hotplug scenario against a VMM and
 * prints TAP (docs/harness.md).
 *
 *   hotmem-harness [--vmm PATH] [-D NAME=VALUE]... [--verbose] FILE.scn
 *   hotmem-harness --check FILE.scn...
 *
 * Exit status: 0 when every step passed, 1 when one failed (or the file
 * is invalid), 2 for a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"
#include "scenario.h"

static char *opt_vmm;
static char **opt_defines;
static gboolean opt_check;
static gboolean opt_verbose;
static double opt_scale = 0;
static gboolean opt_skip_without_kvm;

static const GOptionEntry entries[] = {
    { "vmm", 0, 0, G_OPTION_ARG_FILENAME, &opt_vmm,
      "VMM to run (default: $HOTMEM_BIN, else hotmem in PATH)", "PATH" },
    { "define", 'D', 0, G_OPTION_ARG_STRING_ARRAY, &opt_defines,
      "Set the variable ${NAME} (repeatable)", "NAME=VALUE" },
    { "check", 0, 0, G_OPTION_ARG_NONE, &opt_check,
      "Only check the scenario files and count their steps", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
      "Echo all console, QMP and stderr traffic as TAP comments", NULL },
    { "timeout-scale", 0, 0, G_OPTION_ARG_DOUBLE, &opt_scale,
      "Multiply every timeout (default: $HOTMEM_HARNESS_TIMEOUT_SCALE or 1)",
      "FACTOR" },
    { "skip-without-kvm", 0, 0, G_OPTION_ARG_NONE, &opt_skip_without_kvm,
      "Report the scenario as skipped (TAP 1..0 # SKIP) when $HOTMEM_KVM "
      "(default /dev/kvm) cannot be opened", NULL },
    { NULL },
};

/* NULL when the KVM device opens read-write, else why not. */
static char *kvm_unusable(void)
{
    const char *dev = g_getenv("HOTMEM_KVM");
    int fd;

    if (!dev || !*dev)
        dev = "/dev/kvm";
    fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return NULL;
    }
    return g_strdup_printf("%s is not usable here (%s)", dev,
                           g_strerror(errno));
}

static GHashTable *parse_defines(void)
{
    GHashTable *d = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          g_free);

    for (char **p = opt_defines; p && *p; p++) {
        const char *eq = strchr(*p, '=');
        g_autofree char *name = eq ? g_strndup(*p, eq - *p) : NULL;
        bool ok = name && *name && !g_ascii_isdigit(*name);

        for (const char *c = name; ok && *c; c++)
            ok = g_ascii_isalnum(*c) || *c == '_';
        if (!ok) {
            fprintf(stderr, "hotmem-harness: -D %s: expected NAME=VALUE, NAME "
                    "made of letters, digits and _\n", *p);
            exit(2);
        }
        g_hash_table_insert(d, g_steal_pointer(&name), g_strdup(eq + 1));
    }
    return d;
}

static double timeout_scale(void)
{
    const char *env = g_getenv("HOTMEM_HARNESS_TIMEOUT_SCALE");
    double v = opt_scale;

    if (v == 0 && env)
        v = g_ascii_strtod(env, NULL);
    if (v == 0)
        v = 1;
    if (v < 0.01 || v > 1000) {
        fprintf(stderr, "hotmem-harness: timeout scale %g is outside "
                "[0.01, 1000]\n", v);
        exit(2);
    }
    return v;
}

static int check_files(int argc, char **argv, struct runner_options *opt)
{
    int status = 0;

    for (int i = 1; i < argc; i++) {
        g_autoptr(GError) err = NULL;
        struct scenario *scn = scenario_load(argv[i], opt->defines, &err);
        int n = scn ? runner_check(scn, opt, &err) : -1;

        if (n < 0) {
            fprintf(stderr, "hotmem-harness: %s\n", err->message);
            status = 1;
        } else {
            printf("%s: ok, %d steps, %u QMP client%s\n", argv[i], n,
                   scn->clients->len, scn->clients->len == 1 ? "" : "s");
        }
        scenario_free(scn);
    }
    return status;
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("FILE.scn - run a scripted hotplug scenario");
    g_autoptr(GError) err = NULL;
    g_autoptr(GHashTable) defines = NULL;
    struct runner_options opt = { 0 };
    struct scenario *scn;
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Prints TAP on stdout; exits 0 when every step passed, 1 otherwise.\n"
        "The scenario format is described in docs/harness.md.");
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "hotmem-harness: %s\n", err->message);
        return 2;
    }
    if (argc < 2 || (!opt_check && argc != 2)) {
        fprintf(stderr, "hotmem-harness: %s\nTry 'hotmem-harness --help'.\n",
                argc < 2 ? "no scenario file given"
                         : "give one scenario file (several only with --check)");
        return 2;
    }
    harness_verbose = opt_verbose;
    defines = parse_defines();
    opt.defines = defines;
    opt.timeout_scale = timeout_scale();
    opt.vmm = opt_vmm ? opt_vmm : g_getenv("HOTMEM_BIN");
    if (!opt.vmm || !*opt.vmm)
        opt.vmm = "hotmem";
    if (opt_check)
        return check_files(argc, argv, &opt);
    scn = scenario_load(argv[1], defines, &err);
    if (scn && opt_skip_without_kvm) {
        g_autofree char *why = kvm_unusable();

        if (why) {
            printf("1..0 # SKIP %s\n", why);
            scenario_free(scn);
            return 0;
        }
    }
    if (!scn) {
        fprintf(stderr, "hotmem-harness: %s\n", err->message);
        printf("Bail out! %s\n", err->message);
        return 1;
    }
    status = runner_run(scn, &opt);
    scenario_free(scn);
    return status;
}
