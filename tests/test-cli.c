/*
 * Command-line parsing: every accepted spelling and every rejected one.
 * Command lines are written as shell words ('' is an empty argument).
 */
#include <string.h>
#include <glib.h>

#include "cli/cli.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/* Expected result; 0 in ram_size / smp means the default. */
struct ok_case {
    const char *path;
    const char *args;
    struct cli_options want;
};

struct err_case {
    const char *path;
    const char *args;
    const char *needles[3];     /* each must appear in the message */
};

static const struct ok_case ok_cases[] = {
    { "/cli/default", "", { 0 } },
    /* -m sizes */
    { "/cli/m/bare-is-mib", "-m 512", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-B", "-m 536870912B", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-b", "-m 536870912b", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-K", "-m 524288K", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-k", "-m 524288k", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-M", "-m 512M", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-m", "-m 512m", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-G", "-m 2G", { .ram_size = 2 * GiB } },
    { "/cli/m/suffix-g", "-m 2g", { .ram_size = 2 * GiB } },
    { "/cli/m/suffix-T", "-m 1T", { .ram_size = TiB } },
    { "/cli/m/suffix-t", "-m 1t", { .ram_size = TiB } },
    { "/cli/m/page", "-m 4K", { .ram_size = 4 * KiB } },
    { "/cli/m/size-key", "-m size=1G", { .ram_size = GiB } },
    { "/cli/m/size-key-bare-mib", "-m size=64", { .ram_size = 64 * MiB } },
    /* -m slots / maxmem */
    { "/cli/m/slots-maxmem", "-m 2G,slots=8,maxmem=16G",
      { .ram_size = 2 * GiB, .slots = 8, .maxmem = 16 * GiB } },
    { "/cli/m/maxmem-before-slots", "-m 1G,maxmem=4G,slots=2",
      { .ram_size = GiB, .slots = 2, .maxmem = 4 * GiB } },
    { "/cli/m/size-key-last", "-m slots=2,maxmem=4G,size=1G",
      { .ram_size = GiB, .slots = 2, .maxmem = 4 * GiB } },
    { "/cli/m/default-size-with-slots", "-m slots=1,maxmem=1G",
      { .ram_size = CLI_DEFAULT_RAM, .slots = 1, .maxmem = GiB } },
    { "/cli/m/maxmem-bare-is-bytes", "-m 1G,slots=1,maxmem=4294967296",
      { .ram_size = GiB, .slots = 1, .maxmem = 4 * GiB } },
    { "/cli/m/maxmem-page-above", "-m 1G,slots=1,maxmem=1048580K",
      { .ram_size = GiB, .slots = 1, .maxmem = GiB + 4 * KiB } },
    { "/cli/m/slots-max", "-m 1G,slots=256,maxmem=300G",
      { .ram_size = GiB, .slots = 256, .maxmem = 300 * GiB } },
    { "/cli/m/slots-0-maxmem-equal", "-m 1G,slots=0,maxmem=1G",
      { .ram_size = GiB, .slots = 0, .maxmem = GiB } },
    { "/cli/m/last-wins", "-m 1G,slots=2,maxmem=4G -m 512M",
      { .ram_size = 512 * MiB } },
    { "/cli/m/two-dashes", "--m 512M", { .ram_size = 512 * MiB } },
    /* -smp */
    { "/cli/smp/bare", "-smp 4", { .smp = 4 } },
    { "/cli/smp/cpus-key", "-smp cpus=8", { .smp = 8 } },
    { "/cli/smp/one", "-smp 1", { .smp = 1 } },
    { "/cli/smp/max", "-smp 255", { .smp = 255 } },
    { "/cli/smp/last-wins", "-smp 2 -smp 3", { .smp = 3 } },
    /* boot files */
    { "/cli/kernel/all", "-kernel /k -initrd /i -append 'console=ttyS0 q'",
      { .kernel = "/k", .initrd = "/i", .append = "console=ttyS0 q" } },
    { "/cli/kernel/last-wins", "-kernel /a -kernel /b", { .kernel = "/b" } },
    { "/cli/initrd/without-kernel", "-initrd /i", { .initrd = "/i" } },
    { "/cli/append/without-kernel", "-append x=1", { .append = "x=1" } },
    { "/cli/append/empty", "-append ''", { .append = "" } },
    /* -serial */
    { "/cli/serial/stdio", "-serial stdio", { .serial = CLI_SERIAL_STDIO } },
    { "/cli/serial/none", "-serial none", { .serial = CLI_SERIAL_NONE } },
    { "/cli/serial/file", "-serial file:/tmp/s.log",
      { .serial = CLI_SERIAL_FILE, .serial_path = "/tmp/s.log" } },
    { "/cli/serial/file-with-colon", "-serial file:/tmp/a:b",
      { .serial = CLI_SERIAL_FILE, .serial_path = "/tmp/a:b" } },
    { "/cli/serial/last-wins", "-serial file:/x -serial stdio",
      { .serial = CLI_SERIAL_STDIO } },
    /* flags and names */
    { "/cli/flag/S", "-S", { .start_paused = true } },
    { "/cli/name/bare", "-name vm1", { .name = "vm1" } },
    { "/cli/name/guest-key", "-name guest=vm1", { .name = "vm1" } },
    { "/cli/name/comma-escape", "-name a,,b", { .name = "a,b" } },
    { "/cli/pidfile", "-pidfile /run/h.pid", { .pidfile = "/run/h.pid" } },
    { "/cli/daemonize/serial-file", "-daemonize -serial file:/s",
      { .daemonize = true, .serial = CLI_SERIAL_FILE,
        .serial_path = "/s" } },
    { "/cli/daemonize/serial-none", "-serial none -daemonize",
      { .daemonize = true, .serial = CLI_SERIAL_NONE } },
    { "/cli/daemonize/default-serial-is-none", "-daemonize",
      { .daemonize = true, .serial = CLI_SERIAL_NONE } },
    { "/cli/version/one-dash", "-version", { .show_version = true } },
    { "/cli/version/two-dashes", "--version", { .show_version = true } },
    { "/cli/help/h", "-h", { .show_help = true } },
    { "/cli/help/two-dashes", "--help", { .show_help = true } },
    { "/cli/help/one-dash", "-help", { .show_help = true } },
    { "/cli/help/stops-parsing", "-smp 2 -h -bogus disk.img",
      { .smp = 2, .show_help = true } },
    { "/cli/all", "-m 2G,slots=4,maxmem=8G --smp cpus=2 -kernel /k "
      "-initrd /i -append a -serial file:/s -S -name guest=n -pidfile /p "
      "-daemonize",
      { .ram_size = 2 * GiB, .slots = 4, .maxmem = 8 * GiB, .smp = 2,
        .kernel = "/k", .initrd = "/i", .append = "a",
        .serial = CLI_SERIAL_FILE, .serial_path = "/s", .start_paused = true,
        .name = "n", .pidfile = "/p", .daemonize = true } },
};

static const struct err_case err_cases[] = {
    /* general */
    { "/cli/error/unknown-option", "-foo", { "unknown option -foo" } },
    { "/cli/error/unknown-option-dashes", "--foo", { "unknown option --foo" } },
    { "/cli/error/double-dash", "--", { "unknown option --" } },
    { "/cli/error/bare-argument", "disk.img", { "'disk.img'" } },
    { "/cli/error/bare-after-options", "-m 1G disk.img", { "'disk.img'" } },
    { "/cli/error/lone-dash", "-", { "'-'" } },
    { "/cli/error/missing-arg/m", "-m", { "option -m requires an argument" } },
    { "/cli/error/missing-arg/m-dashes", "--m",
      { "option --m requires an argument" } },
    { "/cli/error/missing-arg/smp", "-smp",
      { "option -smp requires an argument" } },
    { "/cli/error/missing-arg/kernel", "-kernel",
      { "option -kernel requires an argument" } },
    { "/cli/error/missing-arg/initrd", "-initrd",
      { "option -initrd requires an argument" } },
    { "/cli/error/missing-arg/append", "-S -append",
      { "option -append requires an argument" } },
    { "/cli/error/missing-arg/serial", "-serial",
      { "option -serial requires an argument" } },
    { "/cli/error/missing-arg/name", "-name",
      { "option -name requires an argument" } },
    { "/cli/error/missing-arg/pidfile", "-pidfile",
      { "option -pidfile requires an argument" } },
    /* -m malformed numbers */
    { "/cli/m/error/empty", "-m ''", { "-m:", "size ''", "empty" } },
    { "/cli/m/error/junk", "-m abc", { "-m:", "'abc'" } },
    { "/cli/m/error/trailing", "-m 512MB", { "-m:", "'512MB'", "'B'" } },
    { "/cli/m/error/unknown-suffix", "-m 512X", { "-m:", "'512X'", "'X'" } },
    { "/cli/m/error/negative", "-m -512M", { "-m:", "'-512M'", "negative" } },
    /* Issue 15, defect 14: the next option taken for the value. */
    { "/cli/m/error/option-as-value", "-m -serial stdio",
      { "-m: size '-serial' is not a number; it looks like an option: was "
        "the value left out?" } },
    { "/cli/m/error/option-as-maxmem", "-m 1G,slots=2,maxmem=--smp",
      { "-m: maxmem: size '--smp' is not a number; it looks like an "
        "option" } },
    /* Issue 15: what json-c would change silently in a JSON -object. */
    { "/cli/object/error/json-nul", "-object '{\"qom-type\": "
      "\"memory-backend-ram\", \"id\": \"m\\u0000x\", \"size\": 1048576}'",
      { "-object:", "is not a valid JSON object: \\u0000 in a string is "
        "not accepted" } },
    { "/cli/object/error/json-2-64", "-object '{\"qom-type\": "
      "\"memory-backend-ram\", \"id\": \"m\", \"size\": "
      "18446744073709551616}'",
      { "-object:", "integer 18446744073709551616 is too large (more than "
        "2^64-1)" } },
    { "/cli/object/error/json-nan", "-object '{\"qom-type\": "
      "\"memory-backend-ram\", \"id\": \"m\", \"size\": NaN}'",
      { "-object:", "NaN and Infinity are not JSON numbers" } },
    { "/cli/m/error/plus-sign", "-m +512M", { "-m:", "'+512M'" } },
    { "/cli/m/error/leading-space", "-m ' 512M'", { "-m:", "' 512M'" } },
    { "/cli/m/error/fraction", "-m 1.5G", { "-m:", "'1.5G'", "fraction" } },
    { "/cli/m/error/hex", "-m 0x1000", { "-m:", "'0x1000'", "decimal" } },
    { "/cli/m/error/overflow-digits", "-m 18446744073709551616B",
      { "-m:", "'18446744073709551616B'", "64 bits" } },
    { "/cli/m/error/overflow-suffix", "-m 17179869184G",
      { "-m:", "'17179869184G'", "64 bits" } },
    { "/cli/m/error/overflow-bare-mib", "-m 17592186044416",
      { "-m:", "'17592186044416'", "64 bits" } },
    /* -m values */
    { "/cli/m/error/zero", "-m 0", { "-m:", "size 0" } },
    { "/cli/m/error/zero-suffix", "-m 0G", { "-m:", "size 0" } },
    { "/cli/m/error/size-misaligned", "-m 4097K",
      { "-m:", "size 0x400400 (4097K)", "page size 0x1000 (4K)" } },
    { "/cli/m/error/size-bytes-misaligned", "-m 1000B",
      { "-m:", "size 0x3e8 (1000)", "page size" } },
    { "/cli/m/error/maxmem-misaligned", "-m 1G,slots=1,maxmem=2147483649",
      { "-m:", "maxmem 0x80000001 (2147483649)", "page size" } },
    { "/cli/m/error/maxmem-junk", "-m 1G,slots=1,maxmem=lots",
      { "-m:", "maxmem", "'lots'" } },
    { "/cli/m/error/maxmem-empty", "-m 1G,slots=1,maxmem=",
      { "-m:", "maxmem", "empty" } },
    { "/cli/m/error/maxmem-overflow", "-m 1G,slots=1,maxmem=16E",
      { "-m:", "maxmem", "'16E'" } },
    { "/cli/m/error/unknown-key", "-m 1G,foo=2", { "-m:", "'foo'" } },
    { "/cli/m/error/duplicate-size", "-m 1G,size=2G",
      { "-m:", "duplicate", "'size'" } },
    { "/cli/m/error/duplicate-slots", "-m 1G,slots=1,slots=2,maxmem=2G",
      { "-m:", "duplicate", "'slots'" } },
    { "/cli/m/error/duplicate-maxmem", "-m 1G,slots=1,maxmem=2G,maxmem=3G",
      { "-m:", "duplicate", "'maxmem'" } },
    { "/cli/m/error/not-key-value", "-m 1G,slots", { "-m:", "'slots'" } },
    { "/cli/m/error/trailing-comma", "-m 1G,", { "-m:", "'1G,'" } },
    { "/cli/m/error/maxmem-below-size", "-m 512M,slots=1,maxmem=256M",
      { "-m: maxmem 0x10000000 (256M) is smaller than size 0x20000000 "
        "(512M)" } },
    { "/cli/m/error/slots-without-maxmem", "-m 1G,slots=2",
      { "-m:", "slots=2", "maxmem" } },
    { "/cli/m/error/maxmem-without-slots", "-m 1G,maxmem=2G",
      { "-m:", "maxmem 0x80000000 (2G)", "slots" } },
    { "/cli/m/error/slots-0-maxmem-above", "-m 1G,slots=0,maxmem=2G",
      { "-m:", "maxmem 0x80000000 (2G)", "slots=0" } },
    { "/cli/m/error/maxmem-equal-with-slots", "-m 1G,slots=2,maxmem=1G",
      { "-m:", "maxmem 0x40000000 (1G) equals size", "slots=2" } },
    { "/cli/m/error/too-many-slots", "-m 1G,slots=257,maxmem=2G",
      { "-m:", "slots 257", "0..256" } },
    { "/cli/m/error/slots-overflow", "-m 1G,slots=99999999999999999999,"
      "maxmem=2G", { "-m:", "slots 99999999999999999999" } },
    { "/cli/m/error/slots-junk", "-m 1G,slots=x,maxmem=2G",
      { "-m:", "slots 'x'" } },
    { "/cli/m/error/slots-negative", "-m 1G,slots=-1,maxmem=2G",
      { "-m:", "slots '-1'" } },
    { "/cli/m/error/slots-trailing", "-m 1G,slots=2x,maxmem=2G",
      { "-m:", "slots '2x'" } },
    /* -smp */
    { "/cli/smp/error/zero", "-smp 0", { "-smp:", "cpus 0", "1..255" } },
    { "/cli/smp/error/too-many", "-smp 256", { "-smp:", "cpus 256" } },
    { "/cli/smp/error/junk", "-smp four", { "-smp:", "'four'" } },
    { "/cli/smp/error/empty", "-smp ''", { "-smp:", "''" } },
    { "/cli/smp/error/trailing", "-smp 4x", { "-smp:", "'4x'" } },
    { "/cli/smp/error/other-key", "-smp 4,sockets=2",
      { "-smp:", "'sockets'" } },
    { "/cli/smp/error/duplicate", "-smp 4,cpus=4",
      { "-smp:", "duplicate", "'cpus'" } },
    /* -serial */
    { "/cli/serial/error/unknown", "-serial mon:stdio",
      { "-serial:", "'mon:stdio'" } },
    { "/cli/serial/error/pty", "-serial pty", { "-serial:", "'pty'" } },
    { "/cli/serial/error/empty", "-serial ''", { "-serial:", "''" } },
    { "/cli/serial/error/file-without-path", "-serial file:",
      { "-serial:", "file:" } },
    /* paths and names */
    { "/cli/kernel/error/empty", "-kernel ''", { "-kernel:", "empty" } },
    { "/cli/initrd/error/empty", "-initrd ''", { "-initrd:", "empty" } },
    { "/cli/pidfile/error/empty", "-pidfile ''", { "-pidfile:", "empty" } },
    { "/cli/name/error/other-key", "-name vm,process=x",
      { "-name:", "'process'" } },
    { "/cli/name/error/duplicate", "-name vm,guest=x",
      { "-name:", "duplicate" } },
    /* -daemonize */
    { "/cli/daemonize/error/serial-stdio", "-daemonize -serial stdio",
      { "-daemonize:", "-serial stdio" } },
    { "/cli/daemonize/error/serial-stdio-first", "-serial stdio -daemonize",
      { "-daemonize:", "-serial stdio" } },
    { "/cli/daemonize/error/serial-stdio-last-wins",
      "-serial none -daemonize -serial stdio",
      { "-daemonize:", "-serial stdio" } },
    /* -numa */
    { "/cli/numa/error/not-node", "-numa dist,src=0,dst=1",
      { "-numa", "'node'" } },
    { "/cli/numa/error/unknown-key", "-numa node,size=1G",
      { "-numa", "'size'" } },
    { "/cli/numa/error/duplicate-id", "-numa node,nodeid=1 -numa node,nodeid=1",
      { "-numa", "node 1", "twice" } },
    { "/cli/numa/error/nodeid-range", "-numa node,nodeid=64",
      { "-numa", "nodeid" } },
    /* Found by fuzz-cli: an empty cpus= crashed the parser. */
    { "/cli/numa/error/cpus-empty", "-numa node,cpus=",
      { "-numa: cpus '' is not a decimal number" } },
    { "/cli/numa/error/cpus-open-range", "-numa node,cpus=1-",
      { "-numa: cpus '' is not a decimal number" } },
    { "/cli/numa/error/mem-and-memdev", "-numa node,mem=1G,memdev=m0",
      { "-numa", "mutually exclusive" } },
    { "/cli/numa/error/memdev-partial",
      "-numa node,memdev=m0 -numa node,mem=128M",
      { "-numa", "memdev=", "1 of 2" } },
    { "/cli/numa/error/mem-sum", "-m 1G -numa node,mem=512M -numa node,mem=256M",
      { "-numa", "0x30000000", "0x40000000" } },
    { "/cli/numa/error/mem-partial", "-m 1G -numa node,mem=1G -numa node",
      { "-numa", "1 of 2" } },
    { "/cli/numa/error/mem-unaligned", "-m 1G -numa node,mem=1048575K -numa node,mem=1K",
      { "-numa", "0x3ffffc00", "4 KiB" } },
    { "/cli/numa/error/cpu-twice", "-smp 2 -numa node,cpus=0-1 -numa node,cpus=1",
      { "-numa", "cpu 1", "nodes 0 and 1" } },
    { "/cli/numa/error/cpu-beyond-smp", "-smp 2 -numa node,cpus=0-3",
      { "-numa", "cpu 2", "-smp" } },
    { "/cli/numa/error/cpus-reversed", "-smp 4 -numa node,cpus=3-1",
      { "-numa", "3-1" } },
    { "/cli/dump-acpi/error/missing-dir", "-dump-acpi",
      { "-dump-acpi", "requires an argument" } },
    /* -accel */
    { "/cli/accel/error/not-kvm", "-accel tcg", { "-accel", "'tcg'" } },
    { "/cli/accel/error/not-power-of-two", "-accel kvm,dirty-ring-size=3000",
      { "-accel", "power of two", "3000" } },
    { "/cli/accel/error/unknown-key", "-accel kvm,thread=multi",
      { "-accel", "'thread'" } },
    { "/cli/accel/error/not-a-number", "-accel kvm,dirty-ring-size=big",
      { "-accel", "'big'" } },
};

static char **make_argv(const char *args, int *argc)
{
    g_autofree char *line = g_strconcat("hotmem ", args, NULL);
    GError *err = NULL;
    char **argv = NULL;

    g_assert_true(g_shell_parse_argv(line, argc, &argv, &err));
    g_assert_no_error(err);
    return argv;
}

static void assert_str(const char *got, const char *want)
{
    g_assert_cmpstr(got, ==, want);
}

static void assert_options(const struct cli_options *got,
                           const struct cli_options *want)
{
    g_assert_cmpuint(got->ram_size, ==,
                     want->ram_size ? want->ram_size : CLI_DEFAULT_RAM);
    g_assert_cmpuint(got->slots, ==, want->slots);
    g_assert_cmpuint(got->maxmem, ==, want->maxmem);
    g_assert_cmpuint(got->smp, ==, want->smp ? want->smp : 1);
    assert_str(got->kernel, want->kernel);
    assert_str(got->initrd, want->initrd);
    assert_str(got->append, want->append);
    g_assert_cmpint(got->serial, ==, want->serial);
    assert_str(got->serial_path, want->serial_path);
    g_assert_cmpint(got->start_paused, ==, want->start_paused);
    assert_str(got->name, want->name);
    assert_str(got->pidfile, want->pidfile);
    g_assert_cmpint(got->daemonize, ==, want->daemonize);
    g_assert_cmpint(got->show_version, ==, want->show_version);
    g_assert_cmpint(got->show_help, ==, want->show_help);
}

static void test_ok(gconstpointer data)
{
    const struct ok_case *c = data;
    struct cli_options o;
    GError *err = NULL;
    int argc;
    g_auto(GStrv) argv = make_argv(c->args, &argc);

    g_assert_true(cli_parse(argc, argv, &o, &err));
    g_assert_no_error(err);
    assert_options(&o, &c->want);
    cli_options_clear(&o);
}

static void test_err(gconstpointer data)
{
    const struct err_case *c = data;
    static const struct cli_options cleared = { 0 };
    struct cli_options o;
    GError *err = NULL;
    int argc;
    g_auto(GStrv) argv = make_argv(c->args, &argc);

    g_assert_false(cli_parse(argc, argv, &o, &err));
    g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
    g_test_message("%s -> %s", c->args, err->message);
    for (unsigned i = 0; i < G_N_ELEMENTS(c->needles) && c->needles[i]; i++) {
        if (!strstr(err->message, c->needles[i]))
            g_error("message \"%s\" lacks \"%s\"", err->message,
                    c->needles[i]);
    }
    assert_options(&o, &cleared);
    g_error_free(err);
}

/* An error after options that allocated leaves nothing behind. */
static void test_error_clears(void)
{
    char *argv[] = { "hotmem", "-kernel", "/k", "-initrd", "/i", "-append",
                     "a", "-name", "n", "-pidfile", "/p", "-serial",
                     "file:/s", "-S", "-m", "2G", "-smp", "2", "-m", "0",
                     NULL };
    static const struct cli_options cleared = { 0 };
    struct cli_options o;
    GError *err = NULL;

    g_assert_false(cli_parse(G_N_ELEMENTS(argv) - 1, argv, &o, &err));
    g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
    assert_options(&o, &cleared);
    cli_options_clear(&o);
    assert_options(&o, &cleared);
    g_error_free(err);
}

/* argc counts, not the NULL terminator, end the command line. */
static void test_argc_bounds(void)
{
    char *argv[] = { "hotmem", "-m", "1G", "-bogus", NULL };
    struct cli_options o;
    GError *err = NULL;

    g_assert_true(cli_parse(3, argv, &o, &err));
    g_assert_cmpuint(o.ram_size, ==, GiB);
    cli_options_clear(&o);
    g_assert_false(cli_parse(2, argv, &o, &err));
    g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "-m requires an argument"));
    g_error_free(err);
}

static void test_init_clear(void)
{
    struct cli_options o;

    cli_options_init(&o);
    g_assert_cmpuint(o.ram_size, ==, CLI_DEFAULT_RAM);
    g_assert_cmpuint(o.smp, ==, 1);
    g_assert_cmpint(o.serial, ==, CLI_SERIAL_STDIO);
    o.kernel = g_strdup("/k");
    o.name = g_strdup("n");
    cli_options_clear(&o);
    g_assert_null(o.kernel);
    g_assert_null(o.name);
    g_assert_cmpuint(o.ram_size, ==, CLI_DEFAULT_RAM);
    cli_options_clear(&o);
}

struct size_case {
    const char *s;
    uint64_t unit;
    uint64_t want;      /* 0: must fail */
};

static void test_parse_size(void)
{
    static const struct size_case cases[] = {
        { "0", 1, 0 }, { "1", 1, 1 }, { "1", MiB, MiB }, { "1", GiB, GiB },
        { "3k", 1, 3 * KiB }, { "3K", MiB, 3 * KiB }, { "7M", 1, 7 * MiB },
        { "2g", 1, 2 * GiB }, { "2T", 1, 2 * TiB }, { "1P", 1, 1ULL << 50 },
        { "15E", 1, 15ULL << 60 }, { "5b", MiB, 5 },
        { "18446744073709551615", 1, UINT64_MAX },
    };
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "1 ", "x", "1x", "1KB", "1.0", "1,5",
        "16E", "18446744073709551616", "99999999999999999999999",
        "0x10",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint64_t v = 42;
        GError *err = NULL;

        g_assert_true(cli_parse_size(cases[i].s, cases[i].unit, &v, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(v, ==, cases[i].want);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint64_t v = 42;
        GError *err = NULL;
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);

        g_assert_false(cli_parse_size(bad[i], 1, &v, &err));
        g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
        g_assert_nonnull(strstr(err->message, quoted));
        g_assert_cmpuint(v, ==, 42);
        g_error_free(err);
    }
    /* An overflow that only the default unit causes. */
    {
        uint64_t v = 42;
        GError *err = NULL;

        g_assert_false(cli_parse_size("17592186044416", MiB, &v, &err));
        g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
        g_error_free(err);
    }
}

static void test_usage(void)
{
    static const char *const opts[] = {
        "-m [size=]SIZE[,slots=N,maxmem=SIZE]", "-smp ", "-kernel PATH",
        "-initrd PATH", "-append STRING", "-serial stdio|file:PATH|none",
        "-S ", "-name ", "-pidfile PATH", "-daemonize ", "-version ", "-h ",
        "-help ",
    };
    const char *u = cli_usage();

    g_assert_nonnull(u);
    g_assert_true(u == cli_usage());
    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        g_autofree char *line = g_strconcat("\n  ", opts[i], NULL);

        if (!strstr(u, line))
            g_error("usage lacks a line for %s:\n%s", opts[i], u);
    }
}

static void parse_ok(const char *line, struct cli_options *o)
{
    g_autoptr(GError) err = NULL;
    int argc;
    g_auto(GStrv) argv = make_argv(line, &argc);

    if (!cli_parse(argc, argv, o, &err))
        g_error("%s: %s", line, err->message);
}

/* Given mem= and cpus=: kept as written; vCPUs map to their nodes. */
static void test_numa_explicit(void)
{
    struct cli_options o;

    parse_ok("-m 6G -smp 4 -numa node,nodeid=3,mem=2G,cpus=0-1 "
             "-numa node,nodeid=5,mem=4G,cpus=2,cpus=3", &o);
    g_assert_cmpuint(o.nr_numa, ==, 2);
    g_assert_cmpuint(o.numa[0].nodeid, ==, 3);
    g_assert_cmpuint(o.numa[0].mem, ==, 2 * GiB);
    g_assert_cmpuint(o.numa[1].nodeid, ==, 5);
    g_assert_cmpuint(o.numa[1].mem, ==, 4 * GiB);
    g_assert_cmpuint(o.cpu_node[0], ==, 3);
    g_assert_cmpuint(o.cpu_node[1], ==, 3);
    g_assert_cmpuint(o.cpu_node[2], ==, 5);
    g_assert_cmpuint(o.cpu_node[3], ==, 5);
    cli_options_clear(&o);
}

/* No mem=: an even split in 8 MiB granules, the rest on the last node. */
static void test_numa_auto_split(void)
{
    struct cli_options o;

    parse_ok("-m 1000M -smp 3 -numa node -numa node -numa node", &o);
    g_assert_cmpuint(o.nr_numa, ==, 3);
    g_assert_cmpuint(o.numa[0].nodeid, ==, 0);
    g_assert_cmpuint(o.numa[2].nodeid, ==, 2);
    g_assert_cmpuint(o.numa[0].mem, ==, 328 * MiB);
    g_assert_cmpuint(o.numa[1].mem, ==, 328 * MiB);
    g_assert_cmpuint(o.numa[2].mem, ==, 344 * MiB);
    /* vCPUs no node claims are spread round-robin. */
    g_assert_cmpuint(o.cpu_node[0], ==, 0);
    g_assert_cmpuint(o.cpu_node[1], ==, 1);
    g_assert_cmpuint(o.cpu_node[2], ==, 2);
    cli_options_clear(&o);
}

static void test_accel(void)
{
    struct cli_options o;

    parse_ok("-accel kvm,dirty-ring-size=4096", &o);
    g_assert_cmpuint(o.dirty_ring_size, ==, 4096);
    cli_options_clear(&o);
    parse_ok("-accel kvm", &o);
    g_assert_cmpuint(o.dirty_ring_size, ==, 0);
    cli_options_clear(&o);
}

static void test_dump_acpi(void)
{
    struct cli_options o;

    parse_ok("-dump-acpi /tmp/tables -m 512M,slots=4,maxmem=8G", &o);
    g_assert_cmpstr(o.dump_acpi, ==, "/tmp/tables");
    g_assert_cmpuint(o.slots, ==, 4);
    cli_options_clear(&o);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/numa/explicit", test_numa_explicit);
    g_test_add_func("/cli/numa/auto-split", test_numa_auto_split);
    g_test_add_func("/cli/dump-acpi/dir", test_dump_acpi);
    g_test_add_func("/cli/accel/dirty-ring-size", test_accel);
    for (size_t i = 0; i < G_N_ELEMENTS(ok_cases); i++)
        g_test_add_data_func(ok_cases[i].path, &ok_cases[i], test_ok);
    for (size_t i = 0; i < G_N_ELEMENTS(err_cases); i++)
        g_test_add_data_func(err_cases[i].path, &err_cases[i], test_err);
    g_test_add_func("/cli/error/clears-options", test_error_clears);
    g_test_add_func("/cli/argc-bounds", test_argc_bounds);
    g_test_add_func("/cli/init-clear", test_init_clear);
    g_test_add_func("/cli/parse-size/table", test_parse_size);
    g_test_add_func("/cli/usage/every-option", test_usage);
    return g_test_run();
}
