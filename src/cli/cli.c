/*
 * Command-line parsing in QEMU's spelling (see cli.h). Every option value is
 * validated here so that main() only has to report the GError and exit.
 */
#include "cli/cli.h"
#include "cli/cli_internal.h"
#include "props.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(hotmem-cli-error-quark, cli_error)

typedef bool (*opt_handler)(struct parse_state *st, const char *arg,
                            GError **err);

struct cli_opt {
    const char *name;       /* without the leading dash */
    const char *arg_name;   /* NULL for flags */
    const char *help;
    opt_handler handle;
};

bool cli_fail(GError **err, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(err, CLI_ERROR, CLI_ERROR_INVALID, msg);
    g_free(msg);
    return false;
}

/* Reads decimal digits; returns the first non-digit, sets *overflow. */
bool cli_parse_size(const char *s, uint64_t default_unit, uint64_t *out,
                    GError **err)
{
    GError *e = NULL;

    if (props_parse_size(s, default_unit, out, &e))
        return true;
    cli_fail(err, "%s", e->message);
    g_error_free(e);
    return false;
}

/* A decimal count in [min, max] for key of option opt. */
bool cli_parse_count(const char *opt, const char *key, const char *s,
                        uint64_t min, uint64_t max, uint64_t *out,
                        GError **err)
{
    bool overflow;
    const char *end;
    uint64_t v;

    if (!g_ascii_isdigit(*s))
        return cli_fail(err, "%s: %s '%s' is not a decimal number", opt, key, s);
    end = props_parse_digits(s, &v, &overflow);
    if (*end)
        return cli_fail(err, "%s: %s '%s' has trailing characters '%s'", opt,
                    key, s, end);
    if (overflow || v < min || v > max)
        return cli_fail(err, "%s: %s %s is outside the supported range "
                    "%" PRIu64 "..%" PRIu64, opt, key, s, min, max);
    *out = v;
    return true;
}

/*
 * Splits "a,k=v,k2=v2" the way QEMU's option parser does: a first element
 * without '=' belongs to implied_key, and ",," stands for a literal comma.
 * Returns key, value, key, value, ... or NULL on error.
 */
GPtrArray *cli_keyval_split(const char *opt, const char *arg,
                               const char *implied_key, GError **err)
{
    GPtrArray *kv = g_ptr_array_new_with_free_func(g_free);
    GString *tok = g_string_new(NULL);
    const char *p = arg;

    for (;;) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(tok, ',');
            p += 2;
            continue;
        }
        if (*p && *p != ',') {
            g_string_append_c(tok, *p++);
            continue;
        }
        char *eq = strchr(tok->str, '=');

        if (eq) {
            g_ptr_array_add(kv, g_strndup(tok->str, eq - tok->str));
            g_ptr_array_add(kv, g_strdup(eq + 1));
        } else if (kv->len == 0) {
            g_ptr_array_add(kv, g_strdup(implied_key));
            g_ptr_array_add(kv, g_strdup(tok->str));
        } else {
            cli_fail(err, "%s: element '%s' of '%s' is not key=value", opt,
                 tok->str, arg);
            g_ptr_array_unref(kv);
            kv = NULL;
            break;
        }
        g_string_truncate(tok, 0);
        if (!*p++)
            break;
    }
    g_string_free(tok, TRUE);
    return kv;
}

static bool set_path(const char *opt, char **dst, const char *arg,
                     GError **err);

static bool opt_smp(struct parse_state *st, const char *arg, GError **err)
{
    return cli_smp_parse(st->o, arg, err);
}

static bool opt_cpu(struct parse_state *st, const char *arg, GError **err)
{
    return cli_cpu_parse(st->o, arg, err);
}

static bool opt_serial(struct parse_state *st, const char *arg, GError **err)
{
    return cli_serial_parse(st, arg, err);
}

static bool opt_chardev(struct parse_state *st, const char *arg, GError **err)
{
    return cli_chardev_parse(st, arg, err);
}

static bool opt_mon(struct parse_state *st, const char *arg, GError **err)
{
    return cli_mon_parse(st, arg, err);
}

static bool opt_monitor(struct parse_state *st, const char *arg, GError **err)
{
    return cli_monitor_parse(st, arg, err);
}

static bool opt_display(struct parse_state *st, const char *arg, GError **err)
{
    return cli_display_parse(st, arg, err);
}

/* -nodefaults: QEMU's default devices; hotmem's only one is the console. */
static bool opt_nodefaults(struct parse_state *st, const char *arg,
                           GError **err)
{
    st->nodefaults = true;
    return true;
}

/* -enable-kvm, -no-user-config, -nographic: what hotmem always does. */
static bool opt_noop(struct parse_state *st, const char *arg, GError **err)
{
    return true;
}

static bool opt_no_shutdown(struct parse_state *st, const char *arg,
                            GError **err)
{
    st->o->no_shutdown = true;
    return true;
}

static bool opt_no_reboot(struct parse_state *st, const char *arg,
                          GError **err)
{
    st->o->no_reboot = true;
    return true;
}

static bool opt_mem_prealloc(struct parse_state *st, const char *arg,
                             GError **err)
{
    st->o->mem_prealloc = true;
    return true;
}

static bool opt_mem_path(struct parse_state *st, const char *arg,
                         GError **err)
{
    return set_path("-mem-path", &st->o->mem_path, arg, err);
}

static bool opt_readconfig(struct parse_state *st, const char *arg,
                           GError **err)
{
    return cli_readconfig(st, arg, err);
}

/* A later -kernel, -initrd, -pidfile or -append replaces an earlier one. */
static bool set_path(const char *opt, char **dst, const char *arg,
                     GError **err)
{
    if (!*arg)
        return cli_fail(err, "%s: the path is empty", opt);
    g_free(*dst);
    *dst = g_strdup(arg);
    return true;
}

static bool opt_kernel(struct parse_state *st, const char *arg, GError **err)
{
    return set_path("-kernel", &st->o->kernel, arg, err);
}

static bool opt_initrd(struct parse_state *st, const char *arg, GError **err)
{
    return set_path("-initrd", &st->o->initrd, arg, err);
}

static bool opt_pidfile(struct parse_state *st, const char *arg, GError **err)
{
    return set_path("-pidfile", &st->o->pidfile, arg, err);
}

/* An empty command line is a legitimate -append value. */
static bool opt_append(struct parse_state *st, const char *arg, GError **err)
{
    g_free(st->o->append);
    st->o->append = g_strdup(arg);
    return true;
}

static bool opt_machine(struct parse_state *st, const char *arg, GError **err)
{
    return cli_machine_parse(st->o, arg, err);
}

static bool opt_numa(struct parse_state *st, const char *arg, GError **err)
{
    return cli_numa_parse(st->o, arg, err);
}

static bool opt_qmp(struct parse_state *st, const char *arg, GError **err)
{
    return cli_add_qmp(st->o, arg, err);
}

static bool opt_object(struct parse_state *st, const char *arg, GError **err)
{
    return cli_add_object(st->o, arg, err);
}

static bool opt_device(struct parse_state *st, const char *arg, GError **err)
{
    return cli_add_device(st->o, arg, err);
}

static bool opt_dump_acpi(struct parse_state *st, const char *arg,
                          GError **err)
{
    return set_path("-dump-acpi", &st->o->dump_acpi, arg, err);
}

static bool opt_accel(struct parse_state *st, const char *arg, GError **err)
{
    return cli_accel_parse(st->o, arg, err);
}

static bool opt_paused(struct parse_state *st, const char *arg, GError **err)
{
    st->o->start_paused = true;
    return true;
}

static bool opt_incoming(struct parse_state *st, const char *arg,
                         GError **err)
{
    g_free(st->o->incoming);
    st->o->incoming = g_strdup(arg);
    return true;
}

static bool opt_daemonize(struct parse_state *st, const char *arg,
                          GError **err)
{
    st->o->daemonize = true;
    return true;
}

static bool opt_version(struct parse_state *st, const char *arg, GError **err)
{
    st->o->show_version = true;
    return true;
}

static bool opt_help(struct parse_state *st, const char *arg, GError **err)
{
    st->o->show_help = true;
    return true;
}

static const struct cli_opt cli_opts[] = {
    { "m", "[size=]SIZE[,slots=N,maxmem=SIZE]",
      "boot RAM (default 256M; K/M/G/T, bare number is MiB; 1.5G), DIMM "
      "slots and hot-plug limit", cli_opt_memory },
    { "smp", "[cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,cores=C]"
      "[,threads=T]", "vCPUs (default 1, at most 255) and QEMU's topology; "
      "no CPU hot-plug: cpus vCPUs exist", opt_smp },
    { "cpu", "host|max|qemu64|kvm64[,phys-bits=N][,host-phys-bits=on|off]",
      "the vCPUs' CPUID model and physical address width", opt_cpu },
    { "kernel", "PATH", "boot a PVH ELF or bzImage instead of the bundled "
      "guest", opt_kernel },
    { "initrd", "PATH", "initial ramdisk for the kernel", opt_initrd },
    { "append", "STRING", "kernel command line", opt_append },
    { "serial", "stdio|mon:stdio|file:PATH|chardev:ID|null|none",
      "where the serial console goes (default stdio; none when daemonized "
      "or with -nodefaults)", opt_serial },
    { "chardev", "socket|stdio|file|null,id=ID[,...]", "a character "
      "device for -mon or -serial chardev:ID (socket: path=, host=+port= "
      "or fd=N; server=on, wait=)", opt_chardev },
    { "mon", "[chardev=]ID,mode=control[,pretty=on|off]", "a QMP monitor "
      "on a socket chardev (mode=readline, HMP, is not available)",
      opt_mon },
    { "monitor", "none", "no human monitor (hotmem has none)", opt_monitor },
    { "machine", "[type=]pc|q35|pc-q35-X.Y|...[,memory-backend=ID]"
      "[,accel=kvm][,memhp-default-online=on|off]",
      "machine properties; memory-backend= takes boot RAM from an -object; "
      "memhp-default-online=off stops hotmem from adding "
      "memhp_default_state=online_movable to a Linux command line",
      opt_machine },
    { "M", "[type=]pc|q35[,...]", "same as -machine", opt_machine },
    { "numa", "node[,nodeid=N][,memdev=ID][,cpus=A[-B]]",
      "a NUMA node: its boot RAM backend and vCPUs (repeatable)", opt_numa },
    { "object", "TYPE,id=ID[,prop=value...]", "a memory backend "
      "(memory-backend-ram|file|memfd), as QMP object-add (repeatable)",
      opt_object },
    { "device", "pc-dimm,id=ID,memdev=ID[,slot=N,addr=A,node=N]",
      "a cold-plugged DIMM, as QMP device_add (repeatable)", opt_device },
    { "qmp", "unix:PATH,server=on[,wait=off][,max-clients=N]|"
      "tcp:HOST:PORT,server=on[,wait=off][,max-clients=N]",
      "a QMP monitor socket (repeatable; wait=on, the default, holds "
      "startup until a client connects; at most N clients, default 64)",
      opt_qmp },
    { "qmp-pretty", "unix:PATH,...|tcp:HOST:PORT,...", "same as -qmp "
      "(replies stay one JSON object a line)", opt_qmp },
    { "mem-path", "PATH", "boot RAM from a file (in PATH if a directory, "
      "as a memory-backend-file called pc.ram)", opt_mem_path },
    { "mem-prealloc", NULL, "preallocate boot RAM; prealloc=on becomes "
      "every memory backend's default", opt_mem_prealloc },
    { "no-shutdown", NULL, "a guest power-off stops the VM (status "
      "shutdown) instead of ending hotmem; quit ends it", opt_no_shutdown },
    { "no-reboot", NULL, "a guest reset ends hotmem (exit 0) instead of "
      "rebooting", opt_no_reboot },
    { "action", "reboot=reset|shutdown,shutdown=poweroff|pause",
      "what guest resets and power-offs do (-no-reboot, -no-shutdown)",
      cli_opt_action },
    { "overcommit", "mem-lock=on|off[,cpu-pm=off]", "mem-lock=on locks "
      "hotmem's memory, guest RAM included (mlockall)", cli_opt_overcommit },
    { "dump-acpi", "DIR", "write the guest's ACPI tables to DIR/<sig>.dat "
      "and exit", opt_dump_acpi },
    { "accel", "kvm[,dirty-ring-size=N]", "KVM options: N entries per "
      "vCPU dirty ring (a power of two, e.g. 4096; 0: off)", opt_accel },
    { "enable-kvm", NULL, "accepted: hotmem always uses KVM", opt_noop },
    { "S", NULL, "do not start the vCPUs until the monitor says cont",
      opt_paused },
    { "incoming", "unix:PATH|tcp:HOST:PORT|fd:N|file:PATH[,offset=N]|defer",
      "start as the destination of a migration (started with the "
      "source's -m, -smp, -object and -device): accept one connection on "
      "the socket, read descriptor N, restore from PATH, or wait for QMP "
      "migrate-incoming", opt_incoming },
    { "name", "[guest=]NAME[,process=NAME][,debug-threads=on|off]",
      "name of the guest; process= names the process", cli_opt_name },
    { "pidfile", "PATH", "write the process id to PATH", opt_pidfile },
    { "daemonize", NULL, "detach from the terminal after startup",
      opt_daemonize },
    { "readconfig", "FILE", "read options from a QEMU config file "
      "([machine], [memory], [smp-opts], [object \"ID\"], ...)",
      opt_readconfig },
    { "nodefaults", NULL, "no default devices: the console is none unless "
      "-serial says where", opt_nodefaults },
    { "display", "none", "accepted: hotmem has no display", opt_display },
    { "nographic", NULL, "accepted: hotmem has no display; the console is "
      "on stdio by default", opt_noop },
    { "no-hpet", NULL, "accepted: hotmem has no HPET", opt_noop },
    { "no-user-config", NULL, "accepted: hotmem reads no user config "
      "files", opt_noop },
    { "msg", "timestamp=on|off[,guest-name=on|off]", "accepted, no effect: "
      "hotmem's messages carry no timestamps", cli_opt_msg },
    { "rtc", "base=utc|localtime|DATE[,clock=...][,driftfix=...]",
      "accepted, no effect: hotmem has no RTC", cli_opt_rtc },
    { "boot", "[order=]...[,strict=on|off][,...]", "accepted, no effect: "
      "hotmem boots its kernel directly, with no firmware", cli_opt_boot },
    { "version", NULL, "print the version and exit", opt_version },
    { "h", NULL, "print this help and exit", opt_help },
    { "help", NULL, "print this help and exit", opt_help },
};

/* "-m" and "--m" are the same option, as in QEMU. */
static const struct cli_opt *find_opt(const char *arg)
{
    const char *name = arg + 1;

    if (*name == '-')
        name++;
    for (size_t i = 0; i < G_N_ELEMENTS(cli_opts); i++) {
        if (!strcmp(cli_opts[i].name, name))
            return &cli_opts[i];
    }
    return NULL;
}

void cli_options_init(struct cli_options *o)
{
    *o = (struct cli_options){
        .ram_size = CLI_DEFAULT_RAM,
        .smp = 1,
        .serial = CLI_SERIAL_STDIO,
        .memhp_default_online = true,
        .maxcpus = 1, .sockets = 1, .dies = 1, .cores = 1, .threads = 1,
        .cpu.host_phys_bits = -1,
    };
}

void cli_options_clear(struct cli_options *o)
{
    g_free(o->cpu.model);
    g_free(o->process_name);
    g_free(o->incoming);
    g_free(o->mem_path);
    g_free(o->memory_backend);
    g_free(o->kernel);
    g_free(o->initrd);
    g_free(o->append);
    g_free(o->serial_path);
    g_free(o->name);
    g_free(o->pidfile);
    g_free(o->dump_acpi);
    for (unsigned i = 0; i < o->nr_numa; i++)
        g_free(o->numa[i].memdev);
    g_free(o->numa);
    g_free(o->cpu_node);
    if (o->qmp)
        g_ptr_array_free(o->qmp, TRUE);
    if (o->objects)
        g_ptr_array_free(o->objects, TRUE);
    if (o->devices)
        g_ptr_array_free(o->devices, TRUE);
    cli_options_init(o);
}

/* Rules that involve more than one option. */
static bool check_combination(struct parse_state *st, GError **err)
{
    struct cli_options *o = st->o;

    if (!cli_chardev_finish(st, err) || !cli_numa_finish(o, err) ||
        !cli_memory_finish(o, err))
        return false;
    if (!st->serial_given && (st->nodefaults || o->daemonize))
        o->serial = CLI_SERIAL_NONE;
    if (o->daemonize && st->serial_given && o->serial == CLI_SERIAL_STDIO)
        return cli_fail(err, "-daemonize: -serial stdio needs a terminal, which "
                    "a daemon does not have (use -serial file:PATH or "
                    "-serial none)");
    return true;
}

bool cli_apply_option(struct parse_state *st, const char *name,
                      const char *arg, GError **err)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cli_opts); i++) {
        if (!strcmp(cli_opts[i].name, name))
            return cli_opts[i].handle(st, arg, err);
    }
    return cli_fail(err, "unknown option -%s", name);
}

static bool parse_args(int argc, char **argv, struct parse_state *st,
                       GError **err)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct cli_opt *opt;

        if (arg[0] != '-' || arg[1] == '\0')
            return cli_fail(err, "unexpected argument '%s': hotmem takes no "
                        "disk image, only options starting with '-'", arg);
        opt = find_opt(arg);
        if (!opt)
            return cli_fail(err, "unknown option %s (see -h)", arg);
        if (opt->arg_name && i + 1 >= argc)
            return cli_fail(err, "option %s requires an argument (%s)", arg,
                        opt->arg_name);
        if (!opt->handle(st, opt->arg_name ? argv[++i] : NULL, err))
            return false;
        /* Like QEMU, -h and -version act at once: later options are moot. */
        if (st->o->show_help || st->o->show_version)
            return true;
    }
    return check_combination(st, err);
}

bool cli_parse(int argc, char **argv, struct cli_options *o, GError **err)
{
    struct parse_state st = { .o = o };

    bool ok;

    cli_options_init(o);
    ok = parse_args(argc, argv, &st, err);
    cli_chardevs_free(&st);
    if (!ok)
        cli_options_clear(o);
    return ok;
}

static gpointer build_usage(gpointer unused)
{
    GString *s = g_string_new("Usage: hotmem [options]\n"
                              "Options may also be spelled with two dashes "
                              "(--m 512M).\n\n");

    for (size_t i = 0; i < G_N_ELEMENTS(cli_opts); i++) {
        const struct cli_opt *opt = &cli_opts[i];
        g_autofree char *lhs = g_strdup_printf("-%s%s%s", opt->name,
                                               opt->arg_name ? " " : "",
                                               opt->arg_name ? opt->arg_name
                                                             : "");

        g_string_append_printf(s, "  %-42s %s\n", lhs, opt->help);
    }
    return g_string_free(s, FALSE);
}

const char *cli_usage(void)
{
    static GOnce once = G_ONCE_INIT;

    return g_once(&once, build_usage, NULL);
}
