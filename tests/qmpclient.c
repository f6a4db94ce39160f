/* The QMP client the end-to-end tests share. */
#include "qmpclient.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct qmp {
    int fd;
    int timeout_ms;     /* bounds each wait for a message */
    GString *in;        /* bytes read but not yet split into messages */
    GPtrArray *events;  /* json_object *, oldest first */
    char *last_cmd;     /* for failure messages */
    void (*on_closed)(void *data);
    void *on_closed_data;
};

static gint64 deadline_after(int ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

static int ms_left(gint64 deadline)
{
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;

    return left < 0 ? 0 : (int)left;
}

int qmp_connect_unix(const char *path, int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    gint64 deadline = deadline_after(timeout_ms);

    g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint(fd, >=, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        close(fd);
        if (ms_left(deadline) == 0)
            return -1;
        g_usleep(10000);
    }
}

/* The VMM went away: let the test say why, then fail with msg. */
static void G_GNUC_NORETURN qmp_gone(struct qmp *q, const char *msg)
{
    if (q->on_closed)
        q->on_closed(q->on_closed_data);
    g_error("%s", msg);
}

/* The next complete message, or NULL when none arrived before deadline. */
static json_object *qmp_next(struct qmp *q, gint64 deadline)
{
    for (;;) {
        char *nl = memchr(q->in->str, '\n', q->in->len);
        struct pollfd p = { q->fd, POLLIN, 0 };
        char buf[65536];
        ssize_t n;
        int ready;

        if (nl) {
            g_autofree char *line = g_strndup(q->in->str, nl - q->in->str);
            json_object *msg = json_tokener_parse(line);

            g_string_erase(q->in, 0, nl - q->in->str + 1);
            if (!msg)
                g_error("QMP sent a line that is not JSON: %s", line);
            return msg;
        }
        ready = poll(&p, 1, ms_left(deadline));
        if (ready < 0 && errno == EINTR)
            continue;
        g_assert_cmpint(ready, >=, 0);
        if (ready == 0)
            return NULL;
        n = read(q->fd, buf, sizeof(buf));
        if (n <= 0) {
            g_autofree char *msg = g_strdup_printf(
                "QMP connection closed while waiting (after %s)",
                q->last_cmd ? q->last_cmd : "the greeting");

            qmp_gone(q, msg);
        }
        g_string_append_len(q->in, buf, n);
    }
}

static void json_free(gpointer p)
{
    json_object_put(p);
}

struct qmp *qmp_connect(const char *path, int timeout_ms)
{
    struct qmp *q = g_new0(struct qmp, 1);
    json_object *greeting;

    q->fd = qmp_connect_unix(path, timeout_ms);
    if (q->fd < 0)
        g_error("cannot connect to QMP socket %s within %d ms", path,
                timeout_ms);
    q->timeout_ms = timeout_ms;
    q->in = g_string_new(NULL);
    q->events = g_ptr_array_new_with_free_func(json_free);
    greeting = qmp_next(q, deadline_after(timeout_ms));
    if (!greeting)
        g_error("no QMP greeting on %s within %d ms", path, timeout_ms);
    g_assert_true(json_object_object_get_ex(greeting, "QMP", NULL));
    json_object_put(greeting);
    qmp_ok(q, "{\"execute\": \"qmp_capabilities\"}");
    return q;
}

void qmp_on_closed(struct qmp *q, void (*fn)(void *data), void *data)
{
    q->on_closed = fn;
    q->on_closed_data = data;
}

void qmp_close(struct qmp *q)
{
    close(q->fd);
    g_string_free(q->in, TRUE);
    g_ptr_array_unref(q->events);
    g_free(q->last_cmd);
    g_free(q);
}

void qmp_send(struct qmp *q, const char *cmd)
{
    g_autofree char *line = g_strconcat(cmd, "\n", NULL);
    size_t len = strlen(line);

    g_free(q->last_cmd);
    q->last_cmd = g_strdup(cmd);
    /* MSG_NOSIGNAL: a VMM that went away fails the test, not SIGPIPE. */
    if (send(q->fd, line, len, MSG_NOSIGNAL) != (ssize_t)len) {
        g_autofree char *msg = g_strdup_printf("cannot send %s to QMP: %s",
                                               cmd, g_strerror(errno));

        qmp_gone(q, msg);
    }
}

json_object *qmp_call_fd(struct qmp *q, const char *cmd, int fd)
{
    g_autofree char *line = g_strconcat(cmd, "\n", NULL);
    struct iovec iov = { line, strlen(line) };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = ctl.buf,
                          .msg_controllen = sizeof(ctl.buf) };
    struct cmsghdr *h;

    memset(&ctl, 0, sizeof(ctl));
    h = CMSG_FIRSTHDR(&msg);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof(int));
    g_free(q->last_cmd);
    q->last_cmd = g_strdup(cmd);
    g_assert_cmpint(sendmsg(q->fd, &msg, MSG_NOSIGNAL), ==,
                    (ssize_t)iov.iov_len);
    return qmp_reply(q);
}

json_object *qmp_call(struct qmp *q, const char *cmd)
{
    qmp_send(q, cmd);
    return qmp_reply(q);
}

json_object *qmp_reply(struct qmp *q)
{
    gint64 deadline = deadline_after(q->timeout_ms);

    for (;;) {
        json_object *msg = qmp_next(q, deadline);

        if (!msg)
            g_error("no reply to %s within %d ms", q->last_cmd,
                    q->timeout_ms);
        if (!json_object_object_get_ex(msg, "event", NULL))
            return msg;
        g_ptr_array_add(q->events, msg);
    }
}

json_object *qmp_callf(struct qmp *q, const char *fmt, ...)
{
    g_autofree char *cmd = NULL;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qmp_call(q, cmd);
}

/* Removes and returns the oldest queued event called name, or NULL. */
static json_object *take_queued(struct qmp *q, const char *name)
{
    for (guint i = 0; i < q->events->len; i++) {
        json_object *ev = NULL;

        json_object_object_get_ex(q->events->pdata[i], "event", &ev);
        if (!g_strcmp0(json_object_get_string(ev), name))
            return g_ptr_array_steal_index(q->events, i);
    }
    return NULL;
}

json_object *qmp_wait_event(struct qmp *q, const char *name, int timeout_ms)
{
    gint64 deadline = deadline_after(timeout_ms);
    json_object *ev;

    while (!(ev = take_queued(q, name))) {
        json_object *msg = qmp_next(q, deadline);

        if (!msg)
            return NULL;
        g_ptr_array_add(q->events, msg);
    }
    return ev;
}

json_object *qmp_take_return(struct qmp *q, json_object *reply)
{
    json_object *ret;

    if (!json_object_object_get_ex(reply, "return", &ret))
        g_error("%s\n-> %s", q->last_cmd, json_object_to_json_string(reply));
    json_object_get(ret);
    json_object_put(reply);
    return ret;
}

void qmp_expect_return(struct qmp *q, json_object *reply)
{
    json_object_put(qmp_take_return(q, reply));
}

char *qmp_take_error(struct qmp *q, json_object *reply)
{
    json_object *e, *cls, *desc;
    char *s;

    if (!json_object_object_get_ex(reply, "error", &e))
        g_error("%s\n-> %s, expected an error", q->last_cmd,
                json_object_to_json_string(reply));
    g_assert_true(json_object_object_get_ex(e, "class", &cls));
    g_assert_cmpstr(json_object_get_string(cls), ==, "GenericError");
    g_assert_true(json_object_object_get_ex(e, "desc", &desc));
    s = g_strdup(json_object_get_string(desc));
    g_test_message("error: %s", s);
    json_object_put(reply);
    return s;
}

void qmp_expect_error(struct qmp *q, const char *needle, json_object *reply)
{
    g_autofree char *desc = qmp_take_error(q, reply);

    if (!strstr(desc, needle))
        g_error("error \"%s\" does not mention \"%s\"", desc, needle);
}
