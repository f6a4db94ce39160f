/*
 * hotmem: parse the command line, build the machine, run the main loop until
 * the guest powers off, a vCPU fails or a signal arrives. The only place that
 * decides the process exit status (docs/usage.md, "Exit status"):
 *   0        guest powered off
 *   1        bad command line, startup failure, guest crash or vCPU failure
 *   128+N    terminated by signal N (SIGINT, SIGTERM, SIGHUP)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hotmem-config.h"
#include "machine/machine.h"
#include "machine/machine_acpi.h"
#include "migration/migration.h"
#include "monitor/commands.h"
#include "monitor/qmp.h"
#include "exit_signals.h"

struct app {
    GMainLoop *loop;
    struct machine *machine;
    struct qmp_server *qmp;
    struct monitor *monitor;
    struct migration *migration;
    struct monitor_group migration_cmds;
    struct exit_signals *signals;
    int signal;             /* the signal that ended us, or 0 */
    char *pidfile;
    int pidfile_fd;
};

/* SIGINT, SIGTERM or SIGHUP, from the main loop: end the machine. */
static void on_signal(int sig, void *opaque)
{
    struct app *app = opaque;

    app->signal = sig;
    if (app->machine)
        machine_request_exit(app->machine, 128 + app->signal, false,
                             "host-signal", NULL);
    g_main_loop_quit(app->loop);
}

/*
 * While main() builds the machine it runs no main loop; a long -object
 * preallocation polls this instead (machine_config.startup_cancelled), so
 * a signal stops it within a step rather than after minutes.
 */
static bool startup_cancelled(void *opaque)
{
    return exit_signals_poll(((struct app *)opaque)->signals) != 0;
}

static gboolean quit_idle(gpointer opaque)
{
    g_main_loop_quit(((struct app *)opaque)->loop);
    return G_SOURCE_REMOVE;
}

/*
 * Any thread. Goes through an idle source rather than g_main_loop_quit() so
 * a request made before the loop starts running is not lost.
 */
static void on_machine_exit(void *opaque)
{
    g_idle_add(quit_idle, opaque);
}

static void on_machine_event(void *opaque, const char *event,
                             const char *key, bool limited, json_object *data)
{
    struct app *app = opaque;

    if (app->qmp)
        qmp_server_emit_keyed(app->qmp, event, key, limited, data);
    else
        json_object_put(data);
}

/* Lets queued replies and events (SHUTDOWN) reach QMP clients. */
static void flush_main_context(void)
{
    gint64 deadline = g_get_monotonic_time() + 200 * 1000;

    while (g_get_monotonic_time() < deadline &&
           g_main_context_iteration(NULL, FALSE))
        ;
}

static struct qmp_server *new_qmp_server(void)
{
    int major = 0, minor = 0, micro = 0;

    sscanf(HOTMEM_VERSION, "%d.%d.%d", &major, &minor, &micro);
    return qmp_server_new(&(struct qmp_server_info){
        .major = major, .minor = minor, .micro = micro,
        .package = "hotmem " HOTMEM_VERSION });
}

static bool listen_qmp(struct app *app, const struct cli_options *o,
                       GError **err)
{
    for (guint i = 0; o->qmp && i < o->qmp->len; i++) {
        if (!qmp_server_listen(app->qmp, o->qmp->pdata[i], err)) {
            g_prefix_error(err, "-qmp %s: ", (char *)o->qmp->pdata[i]);
            return false;
        }
    }
    return true;
}

/* Writes our pid into path, locked so a second instance is refused. */
static bool write_pidfile(struct app *app, const char *path, GError **err)
{
    g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0 || lockf(fd, F_TLOCK, 0) < 0) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "-pidfile %s: %s", path,
                    fd < 0 ? g_strerror(errno)
                           : "locked by another running instance");
        if (fd >= 0)
            close(fd);
        return false;
    }
    if (ftruncate(fd, 0) < 0 ||
        write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid)) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "-pidfile %s: %s", path, g_strerror(errno));
        close(fd);
        return false;
    }
    app->pidfile = g_strdup(path);
    app->pidfile_fd = fd;
    return true;
}

static void remove_pidfile(struct app *app)
{
    if (!app->pidfile)
        return;
    unlink(app->pidfile);
    close(app->pidfile_fd);
    g_clear_pointer(&app->pidfile, g_free);
}

/*
 * -daemonize: the parent waits until the child has built the machine and
 * exits with the child's startup verdict, so callers see errors (QEMU does
 * the same). Returns the pipe to report on in the child.
 */
static int daemonize(void)
{
    int fds[2];
    pid_t pid;
    char verdict = 1;

    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        fprintf(stderr, "hotmem: -daemonize: %s\n", strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(fds[1]);
        if (read(fds[0], &verdict, 1) != 1)
            verdict = 1;
        _exit(verdict);
    }
    close(fds[0]);
    setsid();
    return fds[1];
}

static void detach_stdio(int report_fd, char verdict)
{
    int null = open("/dev/null", O_RDWR);

    if (write(report_fd, &verdict, 1) != 1)
        verdict = 1;
    close(report_fd);
    if (null >= 0 && verdict == 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
    }
    if (null > STDERR_FILENO)
        close(null);
}

static enum machine_serial serial_kind(enum cli_serial s)
{
    return s == CLI_SERIAL_STDIO ? MACHINE_SERIAL_STDIO
           : s == CLI_SERIAL_FILE ? MACHINE_SERIAL_FILE
                                  : MACHINE_SERIAL_NONE;
}

/* -numa memdev ids, per node (NULL-padded). */
static const char **numa_memdevs(const struct cli_options *o)
{
    const char **ids = g_new0(const char *, o->nr_numa + 1);

    for (unsigned i = 0; i < o->nr_numa; i++)
        ids[i] = o->numa[i].memdev;
    return ids;
}

/* -numa as the machine wants it. */
static struct acpi_numa_node *numa_nodes(const struct cli_options *o)
{
    struct acpi_numa_node *n = g_new0(struct acpi_numa_node, o->nr_numa + 1);

    for (unsigned i = 0; i < o->nr_numa; i++)
        n[i] = (struct acpi_numa_node){ .id = o->numa[i].nodeid,
                                        .mem = o->numa[i].mem };
    return n;
}

static void machine_config_from_options(struct machine_config *cfg,
                                        const struct cli_options *o,
                                        const struct acpi_numa_node *nodes,
                                        const char *const *memdevs)
{
    *cfg = (struct machine_config){
        .ram_size = o->ram_size, .slots = o->slots, .maxmem = o->maxmem,
        .smp = o->smp, .kernel_path = o->kernel, .initrd_path = o->initrd,
        .cmdline = o->append, .serial = serial_kind(o->serial),
        .linux_memhp_default_off = !o->memhp_default_online,
        .serial_path = o->serial_path, .kvm_device = getenv("HOTMEM_KVM"),
        .dirty_ring_size = o->dirty_ring_size,
        .nr_nodes = o->nr_numa, .nodes = nodes, .cpu_node = o->cpu_node,
        .node_memdev = memdevs,
        .ram_memdev = o->memory_backend,
        .prealloc_default = o->mem_prealloc,
        .cpu = { .name = o->cpu.model, .phys_bits = o->cpu.phys_bits,
                 .host_phys_bits = o->cpu.host_phys_bits,
                 .host_phys_bits_limit = o->cpu.host_phys_bits_limit },
        .no_shutdown = o->no_shutdown, .no_reboot = o->no_reboot,
        .objects = o->objects ? (json_object *const *)o->objects->pdata
                              : NULL,
        .nr_objects = o->objects ? o->objects->len : 0,
        .devices = o->devices ? (json_object *const *)o->devices->pdata
                              : NULL,
        .nr_devices = o->devices ? o->devices->len : 0,
    };
}

static int dump_acpi(const struct cli_options *o)
{
    g_autoptr(GError) err = NULL;
    g_autofree struct acpi_numa_node *nodes = numa_nodes(o);
    g_autofree const char **memdevs = numa_memdevs(o);
    struct machine_config cfg;

    machine_config_from_options(&cfg, o, nodes, memdevs);
    if (!machine_acpi_dump(&cfg, o->dump_acpi, &err)) {
        fprintf(stderr, "hotmem: %s\n", err->message);
        return 1;
    }
    return 0;
}

/*
 * -overcommit mem-lock=on: every page hotmem has or will have stays in RAM
 * (QEMU's meaning: guest RAM included, DIMMs plugged later too).
 */
static bool lock_memory(GError **err)
{
    if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0)
        return true;
    g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
                "-overcommit mem-lock=on: mlockall failed: %s (RLIMIT_MEMLOCK "
                "must cover guest RAM; see ulimit -l)", g_strerror(errno));
    return false;
}

/* Builds everything, in an order where a failure leaves nothing behind. */
static struct machine *build(struct app *app, const struct cli_options *o,
                             struct machine_config *cfg, GError **err)
{
    struct machine *m;

    app->qmp = new_qmp_server();
    m = machine_create(cfg, err);
    if (!m)
        return NULL;
    app->machine = m;
    app->monitor = monitor_new(app->qmp, m, o->name);
    app->migration = migration_new(m);
    app->migration_cmds = monitor_register_migration(app->qmp,
                                                     app->migration);
    if (listen_qmp(app, o, err) &&
        (!o->mem_lock || lock_memory(err)) &&
        (!o->pidfile || write_pidfile(app, o->pidfile, err)))
        return m;
    app->machine = NULL;
    machine_destroy(m);
    return NULL;
}

/*
 * -qmp ...,wait=on (QEMU's default): nothing runs until a client connected
 * on each such socket. Signals still end hotmem meanwhile. False if one did.
 */
static bool wait_for_qmp_clients(struct app *app)
{
    if (qmp_server_waiting(app->qmp))
        fprintf(stderr, "hotmem: waiting for a QMP client (wait=on)\n");
    while (qmp_server_waiting(app->qmp) && !app->signal)
        g_main_context_iteration(NULL, TRUE);
    return !app->signal;
}

static void teardown(struct app *app)
{
    g_clear_pointer(&app->qmp, qmp_server_free);
    g_clear_pointer(&app->monitor, monitor_free);
    if (app->migration_cmds.free)
        app->migration_cmds.free(app->migration_cmds.state);
    app->migration_cmds = (struct monitor_group){ 0 };
    /* Its thread reads or writes guest memory: before the machine goes. */
    g_clear_pointer(&app->migration, migration_free);
    if (app->machine)
        machine_destroy(app->machine);
    app->machine = NULL;
    remove_pidfile(app);
}

static int run(struct app *app, const struct cli_options *o, int report_fd)
{
    g_autoptr(GError) err = NULL;
    g_autofree struct acpi_numa_node *nodes = numa_nodes(o);
    g_autofree const char **memdevs = numa_memdevs(o);
    struct machine_config cfg;
    struct machine *m;
    int status;

    machine_config_from_options(&cfg, o, nodes, memdevs);
    cfg.on_exit = on_machine_exit;
    cfg.emit = on_machine_event;
    cfg.opaque = app;
    cfg.startup_cancelled = startup_cancelled;
    m = build(app, o, &cfg, &err);
    /* A signal a preallocation took: the main loop will not see it again. */
    app->signal = exit_signals_taken(app->signals);
    if (app->signal) {
        if (!m)
            fprintf(stderr, "hotmem: %s\n", err->message);
        fprintf(stderr, "hotmem: terminating on signal %d\n", app->signal);
        if (report_fd >= 0)
            detach_stdio(report_fd, 1);
        teardown(app);
        return 128 + app->signal;
    }
    if (m && !wait_for_qmp_clients(app)) {
        fprintf(stderr, "hotmem: terminating on signal %d\n", app->signal);
        if (report_fd >= 0)
            detach_stdio(report_fd, 1);
        flush_main_context();
        teardown(app);
        return 128 + app->signal;
    }
    /* -incoming: the vCPUs wait for the machine's state (inmigrate). */
    if (m && !machine_start(m, o->start_paused || o->incoming, &err)) {
        teardown(app);
        m = NULL;
    }
    if (m && o->incoming &&
        !migration_incoming_cli(app->migration, o->incoming,
                                !o->start_paused, &err)) {
        g_prefix_error(&err, "-incoming %s: ", o->incoming);
        teardown(app);
        m = NULL;
    }
    if (!m) {
        fprintf(stderr, "hotmem: %s\n", err->message);
        if (report_fd >= 0)
            detach_stdio(report_fd, 1);
        teardown(app);
        return 1;
    }
    if (report_fd >= 0)
        detach_stdio(report_fd, 0);
    if (o->start_paused)
        fprintf(stderr, "hotmem: vCPUs paused (-S); the monitor's 'cont' "
                "starts them\n");
    g_main_loop_run(app->loop);
    machine_stop_vcpus(m);
    status = machine_exit_status(m);
    if (app->signal)
        fprintf(stderr, "hotmem: terminating on signal %d\n", app->signal);
    flush_main_context();
    teardown(app);
    return status < 0 ? 1 : status;
}

int main(int argc, char **argv)
{
    struct cli_options o;
    g_autoptr(GError) err = NULL;
    struct app app = { .pidfile_fd = -1 };
    int report_fd = -1, status;

    cli_options_init(&o);
    if (!cli_parse(argc, argv, &o, &err)) {
        fprintf(stderr, "hotmem: %s\nTry 'hotmem -h' for more information.\n",
                err->message);
        return 1;
    }
    if (o.show_help || o.show_version) {
        if (o.show_help)
            fputs(cli_usage(), stdout);
        else
            printf("hotmem version %s\n", HOTMEM_VERSION);
        cli_options_clear(&o);
        return 0;
    }
    if (o.dump_acpi) {
        status = dump_acpi(&o);
        cli_options_clear(&o);
        return status;
    }
    signal(SIGPIPE, SIG_IGN);
    if (o.daemonize)
        report_fd = daemonize();
    /* Before any thread: each inherits the signals blocked. */
    app.signals = exit_signals_new(&err);
    if (!app.signals) {
        fprintf(stderr, "hotmem: %s\n", err->message);
        if (report_fd >= 0)
            detach_stdio(report_fd, 1);
        cli_options_clear(&o);
        return 1;
    }
    app.loop = g_main_loop_new(NULL, FALSE);
    exit_signals_watch(app.signals, on_signal, &app);
    if (o.name)
        g_set_prgname(o.name);
    /* -name process=: what ps and top show (the main thread's name). */
    if (o.process_name)
        prctl(PR_SET_NAME, o.process_name, 0, 0, 0);
    status = run(&app, &o, report_fd);
    exit_signals_free(app.signals);
    g_main_loop_unref(app.loop);
    cli_options_clear(&o);
    return status;
}
