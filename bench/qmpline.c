/* A QMP client for benchmarks (qmpline.h). */
#include "qmpline.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <gio/gio.h>

#include "benchstat.h"

struct qline {
    int fd;
    GString *buf;
    GQueue events;      /* json_object * */
};

static bool failed(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool failed(GError **err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (err && !*err)
        *err = g_error_new_valist(G_IO_ERROR, G_IO_ERROR_FAILED, fmt, ap);
    va_end(ap);
    return false;
}

/* True once pid is gone or a zombie (its state in /proc/PID/stat). */
static bool exited(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
    g_autofree char *text = NULL;
    const char *paren;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return true;
    paren = strrchr(text, ')');
    return !paren || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X';
}

/* A connected socket, or -1: waits for path to appear and to listen. */
static int connect_when_ready(const char *path, int pid, double end,
                              GError **err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_autofree char *dir = g_path_get_dirname(path);
    int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), fd = -1;

    if (strlen(path) >= sizeof(sa.sun_path))
        return failed(err, "socket path too long: %s", path), -1;
    strcpy(sa.sun_path, path);
    if (ino >= 0)
        inotify_add_watch(ino, dir, IN_CREATE);
    while (bench_now_ms() < end) {
        struct pollfd p = { ino, POLLIN, 0 };
        char events[4096];

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        int why = errno;

        close(fd);
        fd = -1;
        if (exited(pid))
            break;
        if (why == ENOENT && ino >= 0) {
            /* Not bound yet: sleep until something is created there. */
            if (poll(&p, 1, 10) > 0 && read(ino, events, sizeof(events)) < 0)
                g_usleep(100);
        } else {
            g_usleep(100);  /* bound, not listening yet */
        }
    }
    if (ino >= 0)
        close(ino);
    if (fd < 0)
        failed(err, "no QMP server on %s (%s)", path,
               exited(pid) ? "the VMM exited" : "timed out");
    return fd;
}

/* The next message, or NULL at EOF or timeout. */
static json_object *next_message(struct qline *q, int timeout_ms,
                                 GError **err)
{
    double end = bench_now_ms() + timeout_ms;
    char chunk[16384];

    for (;;) {
        char *nl = strchr(q->buf->str, '\n');

        if (nl) {
            g_autofree char *line = g_strndup(q->buf->str, nl - q->buf->str);
            json_object *o;

            g_string_erase(q->buf, 0, nl + 1 - q->buf->str);
            o = json_tokener_parse(line);
            if (o)
                return o;
            continue;
        }
        double left = end - bench_now_ms();
        struct pollfd p = { q->fd, POLLIN, 0 };

        if (left <= 0 || poll(&p, 1, (int)left + 1) <= 0)
            return failed(err, "no QMP message within %d ms", timeout_ms),
                   NULL;
        ssize_t n = read(q->fd, chunk, sizeof(chunk));

        if (n <= 0)
            return failed(err, "QMP connection closed"), NULL;
        g_string_append_len(q->buf, chunk, n);
    }
}

struct qline *qline_open(const char *path, int pid, int timeout_ms,
                         GError **err)
{
    double end = bench_now_ms() + timeout_ms;
    int fd = connect_when_ready(path, pid, end, err);
    struct qline *q;
    json_object *greeting;

    if (fd < 0)
        return NULL;
    q = g_new0(struct qline, 1);
    q->fd = fd;
    q->buf = g_string_new(NULL);
    g_queue_init(&q->events);
    greeting = next_message(q, MAX(1, (int)(end - bench_now_ms())), err);
    if (!greeting || !json_object_object_get_ex(greeting, "QMP", NULL)) {
        if (greeting)
            failed(err, "not a QMP greeting: %s",
                   json_object_to_json_string(greeting));
        json_object_put(greeting);
        qline_close(q);
        return NULL;
    }
    json_object_put(greeting);
    return q;
}

static void put_json(gpointer o)
{
    json_object_put(o);
}

void qline_close(struct qline *q)
{
    if (!q)
        return;
    close(q->fd);
    g_string_free(q->buf, TRUE);
    g_queue_clear_full(&q->events, put_json);
    g_free(q);
}

static bool send_valist(struct qline *q, GError **err, const char *fmt,
                        va_list ap)
{
    g_autofree char *cmd = g_strdup_vprintf(fmt, ap);
    g_autofree char *line = g_strconcat(cmd, "\r\n", NULL);
    size_t len = strlen(line);

    if (send(q->fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
        return failed(err, "QMP send: %s", g_strerror(errno));
    return true;
}

bool qline_send(struct qline *q, GError **err, const char *fmt, ...)
{
    va_list ap;
    bool ok;

    va_start(ap, fmt);
    ok = send_valist(q, err, fmt, ap);
    va_end(ap);
    return ok;
}

json_object *qline_reply(struct qline *q, int timeout_ms, GError **err)
{
    for (;;) {
        json_object *o = next_message(q, timeout_ms, err);

        if (!o || !json_object_object_get_ex(o, "event", NULL))
            return o;
        g_queue_push_tail(&q->events, o);
    }
}

bool qline_ok(struct qline *q, int timeout_ms, GError **err)
{
    json_object *r = qline_reply(q, timeout_ms, err);
    bool ok = r && json_object_object_get_ex(r, "return", NULL);

    if (r && !ok)
        failed(err, "%s", json_object_to_json_string(r));
    json_object_put(r);
    return ok;
}

bool qline_call(struct qline *q, int timeout_ms, GError **err,
                const char *fmt, ...)
{
    va_list ap;
    bool ok;

    va_start(ap, fmt);
    ok = send_valist(q, err, fmt, ap);
    va_end(ap);
    return ok && qline_ok(q, timeout_ms, err);
}

static bool event_matches(json_object *o, const char *name,
                          const char *device)
{
    json_object *v, *data;

    if (!json_object_object_get_ex(o, "event", &v) ||
        g_strcmp0(json_object_get_string(v), name))
        return false;
    return !device ||
           (json_object_object_get_ex(o, "data", &data) &&
            json_object_object_get_ex(data, "device", &v) &&
            !g_strcmp0(json_object_get_string(v), device));
}

json_object *qline_event(struct qline *q, const char *name,
                         const char *device, int timeout_ms, GError **err)
{
    double end = bench_now_ms() + timeout_ms;

    for (;;) {
        for (GList *l = q->events.head; l; l = l->next) {
            if (event_matches(l->data, name, device)) {
                json_object *o = l->data;

                g_queue_delete_link(&q->events, l);
                return o;
            }
        }
        double left = end - bench_now_ms();
        json_object *o = left > 0 ? next_message(q, (int)left + 1, err)
                                  : NULL;

        if (!o)
            return failed(err, "no %s event for %s within %d ms", name,
                          device ? device : "any device", timeout_ms), NULL;
        g_queue_push_tail(&q->events, o);
    }
}

double qline_event_ms(json_object *e)
{
    json_object *ts, *sec, *usec;

    if (!json_object_object_get_ex(e, "timestamp", &ts) ||
        !json_object_object_get_ex(ts, "seconds", &sec) ||
        !json_object_object_get_ex(ts, "microseconds", &usec))
        return g_get_real_time() / 1000.0;
    return json_object_get_int64(sec) * 1e3 +
           json_object_get_int64(usec) / 1e3;
}
