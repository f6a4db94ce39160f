/*
 * Limits and isolation, end to end (issue 15): what a guest or a client
 * does with I/O hotmem does not control must never stop the main loop, a
 * vCPU or a signal.
 *
 *   /isolation/console/...   a console nobody reads (-serial stdio into
 *                            a full pipe) while the guest prints a lot
 *   /isolation/pmemsave/...  pmemsave to a FIFO, and of a truncated file
 *                            DIMM
 *
 * Skips where /dev/kvm cannot be used. No timed assertions: timeouts are
 * hang guards only.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

#include "qmpclient.h"
#include "vmrunner.h"

#define TIMEOUT_MS      60000
/* More than the pipe (one page), hotmem's console buffer (64 KiB) and the
 * UART's FIFO: the guest ends up with a busy line. */
#define ECHO_LINES      400
#define ECHO_PAD        200

struct fixture {
    char *dir;
    char *sock;
    struct vm *vm;
    struct qmp *qmp;
};

static void start(struct fixture *f, const char *const *extra)
{
    g_autofree char *spec = NULL, *ready = NULL;
    g_autoptr(GPtrArray) args = g_ptr_array_new();

    f->dir = g_dir_make_tmp("hotmem-isolation-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->sock = g_build_filename(f->dir, "qmp.sock", NULL);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", f->sock);
    g_ptr_array_add(args, "-m");
    g_ptr_array_add(args, "256M,slots=4,maxmem=4G");
    g_ptr_array_add(args, "-qmp");
    g_ptr_array_add(args, spec);
    for (; extra && *extra; extra++)
        g_ptr_array_add(args, (gpointer)*extra);
    g_ptr_array_add(args, NULL);
    f->vm = vm_spawn((const char *const *)args->pdata);
    ready = vm_wait_line(f->vm, "hotmem-guest: ready", TIMEOUT_MS);
    if (!ready)
        g_error("no ready line; stderr:\n%s", vm_stderr(f->vm));
    f->qmp = qmp_connect(f->sock, TIMEOUT_MS);
}

static void setup(struct fixture *f, gconstpointer data)
{
    memset(f, 0, sizeof(*f));
    if (!vm_kvm_unavailable())
        start(f, data);
}

static void teardown(struct fixture *f, gconstpointer data)
{
    GDir *d;
    const char *name;

    if (!f->vm)
        return;
    if (f->qmp)
        qmp_close(f->qmp);
    vm_free(f->vm);
    d = g_dir_open(f->dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);

        g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(f->dir);
    g_free(f->dir);
    g_free(f->sock);
}

static bool skipped(struct fixture *f)
{
    if (!f->vm)
        g_test_skip(vm_kvm_unavailable());
    return !f->vm;
}

static char *path_in(struct fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

/* ---- a console nobody reads ------------------------------------------- */

/*
 * Makes the console pipe one page, stops reading it, and has the guest
 * print far more than fits anywhere; returns once the pipe is full.
 */
static void stall_console(struct fixture *f)
{
    char pad[ECHO_PAD + 1];
    gint64 deadline = g_get_monotonic_time() + TIMEOUT_MS * 1000LL;
    int queued = 0;

    memset(pad, 'x', ECHO_PAD);
    pad[ECHO_PAD] = '\0';
    g_assert_cmpint(fcntl(vm_console_fd(f->vm), F_SETPIPE_SZ, 4096), >, 0);
    /* Our commands must fit in the input pipe while the guest is stuck. */
    g_assert_cmpint(fcntl(vm_input_fd(f->vm), F_SETPIPE_SZ, 1 << 20), >, 0);
    vm_hold_console(f->vm, true);
    for (int i = 0; i < ECHO_LINES; i++) {
        g_autofree char *cmd = g_strdup_printf("echo line-%03d %s", i, pad);

        g_assert_true(vm_send(f->vm, cmd));
    }
    g_assert_true(vm_send(f->vm, "echo last-line"));
    while (queued < 4096) {
        g_assert_cmpint(ioctl(vm_console_fd(f->vm), FIONREAD, &queued), ==,
                        0);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }
}

static void test_console_stalled(struct fixture *f, gconstpointer data)
{
    g_autofree char *last = NULL;
    json_object *ost;
    struct qmp *other;
    unsigned lines = 0;

    if (skipped(f))
        return;
    stall_console(f);
    /* The monitor answers, a new client is greeted, hot-plug is accepted. */
    json_object_put(qmp_return(f->qmp, "{\"execute\": \"query-status\"}"));
    other = qmp_connect(f->sock, TIMEOUT_MS);
    json_object_put(qmp_return(other, "{\"execute\": \"query-status\"}"));
    qmp_close(other);
    qmp_ok(f->qmp, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": \"m0\", "
           "\"size\": %d}}", 128 << 20);
    qmp_ok(f->qmp, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"d0\", \"memdev\": \"m0\"}}");

    /* Someone reads again: everything arrives, in order, and the guest
     * acknowledges the DIMM. */
    vm_hold_console(f->vm, false);
    last = vm_wait_line(f->vm, "hotmem-guest: echo last-line", TIMEOUT_MS);
    g_assert_nonnull(last);
    for (const char *p = vm_console(f->vm);
         (p = strstr(p, "hotmem-guest: echo line-")); p++) {
        g_autofree char *want = g_strdup_printf("hotmem-guest: echo line-%03u "
                                                "xxxx", lines);

        g_assert_cmpmem(p, strlen(want), want, strlen(want));
        lines++;
    }
    g_assert_cmpuint(lines, ==, ECHO_LINES);
    ost = qmp_wait_event(f->qmp, "ACPI_DEVICE_OST", TIMEOUT_MS);
    g_assert_nonnull(ost);
    json_object_put(ost);
    qmp_ok(f->qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f->vm, TIMEOUT_MS), ==, 0);
}

/* quit and SIGTERM end hotmem while its console is stuck. */
static void test_console_stalled_quit(struct fixture *f, gconstpointer data)
{
    if (skipped(f))
        return;
    stall_console(f);
    qmp_ok(f->qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f->vm, TIMEOUT_MS), ==, 0);
}

static void test_console_stalled_sigterm(struct fixture *f,
                                         gconstpointer data)
{
    if (skipped(f))
        return;
    stall_console(f);
    vm_signal(f->vm, SIGTERM);
    g_assert_cmpint(vm_wait_exit(f->vm, TIMEOUT_MS), ==, 128 + SIGTERM);
    g_assert_nonnull(strstr(vm_stderr(f->vm), "terminating on signal 15"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn, args) \
    g_test_add(path, struct fixture, args, setup, fn, teardown)
    ADD("/isolation/console/stalled", test_console_stalled, NULL);
    ADD("/isolation/console/stalled-quit", test_console_stalled_quit, NULL);
    ADD("/isolation/console/stalled-sigterm", test_console_stalled_sigterm,
        NULL);
    return g_test_run();
}
