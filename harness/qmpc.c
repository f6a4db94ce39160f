/*
 * QMP client connection (see qmpc.h). Messages are JSON objects; the
 * server separates them with CRLF, which the tokenizer skips as blanks.
 */
#include "qmpc.h"
#include "harness.h"
#include "jsonmatch.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct qmpc *qmpc_new(const char *name, const char *path, bool raw)
{
    struct qmpc *c = g_new0(struct qmpc, 1);

    c->name = g_strdup(name);
    c->path = g_strdup(path);
    c->raw = raw;
    c->fd = -1;
    c->tok = json_tokener_new();
    c->out = g_string_new(NULL);
    return c;
}

static void put(gpointer p)
{
    json_object_put(p);
}

void qmpc_free(struct qmpc *c)
{
    if (!c)
        return;
    qmpc_close(c);
    json_tokener_free(c->tok);
    g_string_free(c->out, TRUE);
    if (c->greeting)
        json_object_put(c->greeting);
    g_queue_clear_full(&c->replies, put);
    g_queue_clear_full(&c->events, put);
    g_queue_clear_full(&c->recent, g_free);
    g_free(c->broken);
    g_free(c->name);
    g_free(c->path);
    g_free(c);
}

bool qmpc_try_connect(struct qmpc *c)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(c->path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return false;
    }
    strcpy(sa.sun_path, c->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return false;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->fd = fd;
    harness_trace("qmp @%s: connected to %s", c->name, c->path);
    return true;
}

void qmpc_close(struct qmpc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

bool qmpc_connected(const struct qmpc *c)
{
    return c->fd >= 0;
}

static void remember(struct qmpc *c, const char *dir, const char *text,
                     gsize len)
{
    g_autofree char *p = NULL;

    /* Each message's CRLF is implied. */
    if (len >= 2 && text[len - 2] == '\r' && text[len - 1] == '\n')
        len -= 2;
    p = harness_printable(text, len);

    harness_trace("qmp @%s %s %s", c->name, dir, p);
    g_queue_push_tail(&c->recent, g_strdup_printf("%s %s", dir, p));
    if (c->recent.length > QMPC_RECENT)
        g_free(g_queue_pop_head(&c->recent));
}

void qmpc_send(struct qmpc *c, const char *buf, gsize len)
{
    remember(c, "->", buf, len);
    g_string_append_len(c->out, buf, len);
}

static void take_message(struct qmpc *c, json_object *msg)
{
    const char *text = json_text(msg);

    remember(c, "<-", text, strlen(text));
    if (json_object_is_type(msg, json_type_object) &&
        json_object_object_get_ex(msg, "event", NULL)) {
        g_queue_push_tail(&c->events, msg);
    } else if (json_object_is_type(msg, json_type_object) && !c->greeting &&
               json_object_object_get_ex(msg, "QMP", NULL)) {
        c->greeting = msg;
    } else {
        g_queue_push_tail(&c->replies, msg);
    }
}

void qmpc_feed(struct qmpc *c, const char *buf, gsize len)
{
    while (len && !c->broken) {
        json_object *msg = json_tokener_parse_ex(c->tok, buf, (int)len);
        enum json_tokener_error e = json_tokener_get_error(c->tok);
        size_t used = json_tokener_get_parse_end(c->tok);

        if (e == json_tokener_continue)
            return;
        if (e != json_tokener_success) {
            g_autofree char *p = harness_printable(buf, MIN(len, 60));

            c->broken = g_strdup_printf("the VMM sent bad JSON (%s) at \"%s\"",
                                        json_tokener_error_desc(e), p);
            remember(c, "<-", buf, len);
            return;
        }
        /* Top-level null parses as success with no object. */
        if (msg)
            take_message(c, msg);
        if (used == 0)
            used = 1;
        buf += used;
        len -= MIN(used, len);
    }
}

void qmpc_pollfd(struct qmpc *c, struct pollfd *pfd)
{
    *pfd = (struct pollfd){
        .fd = c->fd,
        .events = (short)(POLLIN | (c->out->len ? POLLOUT : 0)),
    };
}

void qmpc_dispatch(struct qmpc *c, const struct pollfd *pfd)
{
    char buf[8192];

    if (pfd->fd < 0 || pfd->fd != c->fd || !pfd->revents)
        return;
    if ((pfd->revents & POLLOUT) && c->out->len) {
        ssize_t w = send(c->fd, c->out->str, c->out->len, MSG_NOSIGNAL);

        if (w > 0)
            g_string_erase(c->out, 0, w);
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            g_string_truncate(c->out, 0);   /* the read side sees the EOF */
    }
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

        if (n > 0) {
            qmpc_feed(c, buf, (gsize)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        harness_trace("qmp @%s: connection closed by the VMM", c->name);
        c->eof = true;
        qmpc_close(c);
        return;
    }
}
