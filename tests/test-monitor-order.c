/*
 * The monitor's order and shapes over a real QMP socket, on a machine without
 * /dev/kvm (machine_config.kvm_stub): what a QMP client sees of quit,
 * query-dirty-rate, out-of-band reads and system_reset, byte for byte
 * where QEMU 7.2's order or shape matters. The server and the machine's
 * events run on a thread of their own; the test is a blocking client.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/kvm.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "machine/machine.h"
#include "monitor/commands.h"
#include "monitor/qmp.h"

#define MIB (1ULL << 20)
#define RECV_TIMEOUT_S 30

struct fixture {
    GMainContext *ctx;
    struct qmp_server *server;
    struct machine *m;
    struct monitor *mon;
    char *dir, *path;
    GThread *thread;
    gint stop;
    int fd;
    GString *buf;
};

static int stub_set_region(void *opaque, uint32_t slot, uint32_t flags,
                           uint64_t gpa, uint64_t size, void *hva)
{
    return 0;
}

static void stub_irq_line(void *opaque, uint32_t gsi, bool level)
{
}

/* A dirty log KVM never fills: enough for page sampling. */
static int stub_vm_ioctl(void *opaque, unsigned long request, void *arg)
{
    return request == KVM_CHECK_EXTENSION ? 0 : -ENOTTY;
}

static void emit(void *opaque, const char *event, const char *key,
                 bool limited, json_object *data)
{
    struct fixture *f = opaque;

    qmp_server_emit_keyed(f->server, event, key, limited, data);
}

static gpointer server_thread(gpointer opaque)
{
    struct fixture *f = opaque;

    g_main_context_push_thread_default(f->ctx);
    while (!g_atomic_int_get(&f->stop))
        g_main_context_iteration(f->ctx, TRUE);
    g_main_context_pop_thread_default(f->ctx);
    return NULL;
}

static char *read_line(struct fixture *f)
{
    char chunk[4096];
    char *eol, *line;

    while (!(eol = strchr(f->buf->str, '\n'))) {
        ssize_t n = recv(f->fd, chunk, sizeof(chunk), 0);

        if (n <= 0)
            g_error("no message from hotmem: %s",
                    n == 0 ? "EOF" : g_strerror(errno));
        g_string_append_len(f->buf, chunk, n);
    }
    line = g_strndup(f->buf->str, eol - f->buf->str - 1);  /* no CRLF */
    g_string_erase(f->buf, 0, eol - f->buf->str + 1);
    return line;
}

static void send_line(struct fixture *f, const char *s)
{
    g_assert_cmpint(send(f->fd, s, strlen(s), MSG_NOSIGNAL), ==,
                    (ssize_t)strlen(s));
}

/* The next line, with an event's timestamp cut out. */
static char *next(struct fixture *f)
{
    char *line = read_line(f);
    char *ts = strstr(line, "\"timestamp\": {");

    if (ts) {
        char *end = strchr(ts, '}');

        memmove(ts, end + 3, strlen(end + 3) + 1);     /* "}, " */
    }
    return line;
}

static void expect(struct fixture *f, const char *want)
{
    g_autofree char *line = next(f);

    g_assert_cmpstr(line, ==, want);
}

/* A stub machine of 256 MiB with 2 slots, its monitor and one client. */
static void setup(struct fixture *f, gconstpointer data)
{
    static const struct qmp_server_info info = { 7, 2, 0, "hotmem-test" };
    static struct machine_kvm_stub stub = { stub_set_region, stub_irq_line,
                                            NULL, 40, 32, stub_vm_ioctl };
    struct machine_config cfg = {
        .ram_size = 256 * MIB, .slots = 2, .maxmem = 1024 * MIB, .smp = 1,
        .serial = MACHINE_SERIAL_NONE, .kvm_stub = &stub, .emit = emit,
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };

    memset(f, 0, sizeof(*f));
    cfg.opaque = f;
    f->ctx = g_main_context_new();
    g_main_context_push_thread_default(f->ctx);
    f->server = qmp_server_new(&info);
    f->m = machine_create(&cfg, &err);
    g_assert_no_error(err);
    f->mon = monitor_new(f->server, f->m, NULL);
    f->dir = g_dir_make_tmp("test-monitor-XXXXXX", NULL);
    f->path = g_build_filename(f->dir, "qmp.sock", NULL);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", f->path);
    g_assert_true(qmp_server_listen(f->server, spec, &err));
    g_main_context_pop_thread_default(f->ctx);
    f->thread = g_thread_new("qmp", server_thread, f);
    f->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    g_strlcpy(sa.sun_path, f->path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(f->fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    f->buf = g_string_new(NULL);
    g_free(read_line(f));                       /* the greeting */
    send_line(f, data ? data : "{\"execute\": \"qmp_capabilities\"}");
    expect(f, "{\"return\": {}}");
}

static void teardown(struct fixture *f, gconstpointer data)
{
    close(f->fd);
    g_atomic_int_set(&f->stop, 1);
    g_main_context_wakeup(f->ctx);
    g_thread_join(f->thread);
    qmp_server_free(f->server);
    monitor_free(f->mon);
    machine_destroy(f->m);
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
    g_string_free(f->buf, TRUE);
    g_main_context_unref(f->ctx);
}

/* QEMU 7.2 sends SHUTDOWN before quit's reply. */
static void test_quit_order(struct fixture *f, gconstpointer data)
{
    send_line(f, "{\"execute\": \"quit\", \"id\": 1}");
    expect(f, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
              "\"reason\": \"host-qmp-quit\"}}");
    expect(f, "{\"return\": {}, \"id\": 1}");
}

/*
 * query-dirty-rate as QEMU 7.2 answers it: no calc-time-unit member unless
 * the query names a unit, and start-time in seconds of CLOCK_MONOTONIC
 * (QEMU's realtime clock), not of the epoch.
 */
static void test_dirty_rate_shape(struct fixture *f, gconstpointer data)
{
    g_autofree char *measuring = NULL;
    const char *st;
    int64_t start, now = g_get_monotonic_time() / G_USEC_PER_SEC;

    send_line(f, "{\"execute\": \"query-dirty-rate\"}");
    expect(f, "{\"return\": {\"status\": \"unstarted\", \"start-time\": 0, "
              "\"calc-time\": 0, \"sample-pages\": 0, "
              "\"mode\": \"page-sampling\"}}");
    send_line(f, "{\"execute\": \"query-dirty-rate\", \"arguments\": "
                 "{\"calc-time-unit\": \"millisecond\"}}");
    expect(f, "{\"return\": {\"status\": \"unstarted\", \"start-time\": 0, "
              "\"calc-time\": 0, \"calc-time-unit\": \"millisecond\", "
              "\"sample-pages\": 0, \"mode\": \"page-sampling\"}}");
    send_line(f, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
                 "{\"calc-time\": 60}}");
    expect(f, "{\"return\": {}}");
    send_line(f, "{\"execute\": \"query-dirty-rate\"}");
    measuring = next(f);
    st = strstr(measuring, "\"start-time\": ");
    g_assert_nonnull(st);
    start = g_ascii_strtoll(st + strlen("\"start-time\": "), NULL, 10);
    g_assert_cmpint(start, >=, now);
    g_assert_cmpint(start, <=, now + 60);
    g_assert_null(strstr(measuring, "calc-time-unit"));
}

/* With oob enabled, the plain reads run out of band; others do not. */
static void test_oob_reads(struct fixture *f, gconstpointer data)
{
    send_line(f, "{\"exec-oob\": \"query-status\", \"id\": 1}");
    expect(f, "{\"return\": {\"status\": \"prelaunch\", \"running\": false, "
              "\"singlestep\": false}, \"id\": 1}");
    send_line(f, "{\"exec-oob\": \"query-memdev\", \"id\": 2}");
    expect(f, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
              "\"The command query-memdev does not support OOB\"}, \"id\": 2}");
}

int main(int argc, char **argv)
{
    static const char oob[] = "{\"execute\": \"qmp_capabilities\", "
                              "\"arguments\": {\"enable\": [\"oob\"]}}";

    g_test_init(&argc, &argv, NULL);
    g_test_add("/monitor/quit-order", struct fixture, NULL, setup,
               test_quit_order, teardown);
    g_test_add("/monitor/dirty-rate-shape", struct fixture, NULL, setup,
               test_dirty_rate_shape, teardown);
    g_test_add("/monitor/oob-reads", struct fixture, oob, setup,
               test_oob_reads, teardown);
    return g_test_run();
}
