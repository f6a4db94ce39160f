/*
 * Descriptors passed to the monitor (qmp.h): a client sends one with
 * SCM_RIGHTS along with the bytes of a request, getfd names it, and a
 * command such as migrate fd:NAME takes it. As in QEMU, the last
 * descriptor a client sent is the one getfd names; a descriptor nobody
 * named is closed when the next one comes or the client goes.
 */
#include "monitor/qmp_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"

#define MAX_PASSED  4

ssize_t qmp_client_recv(struct qmp_client *c, void *buf, size_t len)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * MAX_PASSED)];
    } ctl;
    struct iovec iov = { buf, len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = ctl.buf,
                          .msg_controllen = sizeof(ctl.buf) };
    ssize_t n;

    do {
        n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return n;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h;
         h = CMSG_NXTHDR(&msg, h)) {
        size_t count;
        int fds[MAX_PASSED];

        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        memcpy(fds, CMSG_DATA(h), count * sizeof(int));
        for (size_t i = 0; i < count; i++) {
            if (c->passed_fd >= 0)
                close(c->passed_fd);
            c->passed_fd = fds[i];
        }
    }
    return n;
}

bool qmp_request_getfd(struct qmp_request *req, const char *name,
                       GError **err)
{
    struct qmp_client *c = req->client;
    struct qmp_server *s = c->server;
    gpointer old;

    if (g_ascii_isdigit(*name)) {
        /* QEMU's words: a name must not look like a descriptor number. */
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Parameter 'fdname' expects a name not starting with a "
                    "digit");
        return false;
    }
    if (c->passed_fd < 0 || !s) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "No file descriptor supplied via SCM_RIGHTS");
        return false;
    }
    if (g_hash_table_lookup_extended(s->fds, name, NULL, &old))
        close(GPOINTER_TO_INT(old) - 1);
    g_hash_table_insert(s->fds, g_strdup(name),
                        GINT_TO_POINTER(c->passed_fd + 1));
    c->passed_fd = -1;
    return true;
}

int qmp_server_take_fd(struct qmp_server *s, const char *name, GError **err)
{
    gpointer v;

    if (!g_hash_table_lookup_extended(s->fds, name, NULL, &v)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "File descriptor named '%s' not found", name);
        return -1;
    }
    g_hash_table_remove(s->fds, name);
    return GPOINTER_TO_INT(v) - 1;
}

bool qmp_server_closefd(struct qmp_server *s, const char *name,
                        GError **err)
{
    int fd = qmp_server_take_fd(s, name, err);

    if (fd < 0)
        return false;
    close(fd);
    return true;
}

void qmp_fds_free(struct qmp_server *s)
{
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, s->fds);
    while (g_hash_table_iter_next(&it, NULL, &v))
        close(GPOINTER_TO_INT(v) - 1);
    g_hash_table_destroy(s->fds);
}
