/* Migration sockets (transport.h). */
#include "migration/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "errors.h"

#define SLICE_MS    100

static bool unix_addr(const char *path, struct sockaddr_un *sa,
                      GError **err)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "UNIX socket path '%s' is too long (at most %zu bytes)",
                    path, sizeof(sa->sun_path) - 1);
        return false;
    }
    strcpy(sa->sun_path, path);
    return true;
}

/* Waits for events on fd, in slices, until done, cancelled or timed out. */
static int wait_fd(int fd, short events, int timeout_ms, const gint *cancel)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        int r;

        if (cancel && g_atomic_int_get(cancel))
            return -ECANCELED;
        if (timeout_ms >= 0 && left <= 0)
            return -ETIMEDOUT;
        r = poll(&p, 1, timeout_ms < 0 ? SLICE_MS
                                       : (int)MIN(left, SLICE_MS));
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r > 0)
            return 0;
    }
}

static int set_blocking(int fd, bool blocking)
{
    int fl = fcntl(fd, F_GETFL);

    return fcntl(fd, F_SETFL, blocking ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
}

/* One non-blocking connect, finished within the deadline. -errno. */
static int connect_one(const struct sockaddr *sa, socklen_t len, int family,
                       int timeout_ms, const gint *cancel, int *out)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int r, soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (fd < 0)
        return -errno;
    r = connect(fd, sa, len);
    if (r < 0 && errno == EINPROGRESS) {
        r = wait_fd(fd, POLLOUT, timeout_ms, cancel);
        if (!r && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
            soerr)
            r = -soerr;
    } else if (r < 0) {
        r = -errno;
    }
    if (r < 0) {
        close(fd);
        return r;
    }
    set_blocking(fd, true);
    if (family != AF_UNIX) {
        int one = 1;

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    *out = fd;
    return 0;
}

static int connect_tcp(const struct mig_uri *u, int timeout_ms,
                       const gint *cancel, int *out, GError **err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_ADDRCONFIG };
    struct addrinfo *res = NULL;
    int r = getaddrinfo(u->host, u->port, &hints, &res), e = -ECONNREFUSED;

    if (r) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "address resolution failed for %s:%s: %s", u->host,
                    u->port, gai_strerror(r));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        e = connect_one(ai->ai_addr, ai->ai_addrlen, ai->ai_family,
                        timeout_ms, cancel, out);
        if (!e || e == -ECANCELED || e == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    return e;
}

int mig_transport_connect(const struct mig_uri *u, int timeout_ms,
                          const gint *cancel, GError **err)
{
    struct sockaddr_un sa;
    int fd = -1, r;

    if (u->kind == MIG_UNIX) {
        if (!unix_addr(u->path, &sa, err))
            return -1;
        r = connect_one((struct sockaddr *)&sa, sizeof(sa), AF_UNIX,
                        timeout_ms, cancel, &fd);
    } else {
        r = connect_tcp(u, timeout_ms, cancel, &fd, err);
        if (r == -1 && err && *err)
            return -1;
    }
    if (r == -ECANCELED) {
        g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                    "cancelled while connecting to '%s'", u->desc);
        return -1;
    }
    if (r == -ETIMEDOUT) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "Failed to connect to '%s': no answer within %d ms",
                    u->desc, timeout_ms);
        return -1;
    }
    if (r < 0) {
        /* QEMU's words. */
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "Failed to connect to '%s': %s", u->desc,
                    g_strerror(-r));
        return -1;
    }
    return fd;
}

static int listen_tcp(const struct mig_uri *u, GError **err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_ADDRCONFIG };
    struct addrinfo *res = NULL;
    int r = getaddrinfo(*u->host ? u->host : NULL, u->port, &hints, &res);
    int fd = -1, e = 0;

    if (r) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "address resolution failed for %s:%s: %s", u->host,
                    u->port, gai_strerror(r));
        return -1;
    }
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        int one = 1;

        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            e = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "Failed to bind socket for '%s': %s", u->desc,
                    g_strerror(e));
    return fd;
}

int mig_transport_listen(const struct mig_uri *u, GError **err)
{
    struct sockaddr_un sa;
    int fd;

    if (u->kind == MIG_TCP)
        return listen_tcp(u, err);
    if (!unix_addr(u->path, &sa, err))
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
                    listen(fd, 1) < 0)) {
        int e = errno;

        close(fd);
        errno = e;
        fd = -1;
    }
    if (fd < 0)
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "Failed to bind socket for '%s': %s", u->desc,
                    g_strerror(errno));
    return fd;
}

int mig_transport_accept(int listen_fd, const struct mig_uri *u,
                         const gint *cancel, GError **err)
{
    int r = wait_fd(listen_fd, POLLIN, -1, cancel), fd;

    if (r == -ECANCELED) {
        g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                    "cancelled while waiting for a connection on '%s'",
                    u->desc);
        return -1;
    }
    fd = r < 0 ? -1 : accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "cannot accept a connection on '%s': %s", u->desc,
                    g_strerror(r < 0 ? -r : errno));
        return -1;
    }
    return fd;
}

void mig_transport_set_stall(int fd, unsigned stall_ms)
{
    struct timeval tv = { .tv_sec = stall_ms / 1000,
                          .tv_usec = (stall_ms % 1000) * 1000 };

    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}
