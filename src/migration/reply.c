/*
 * The return path of a stream migration (docs/migration.md, "Return
 * path"): on the same socket, the destination answers its source once,
 * when the stream is loaded: 'Y' when it holds the machine and is about
 * to run it, or 'N', a u32 (little-endian) length and its error message
 * when it refused the stream. The source waits for the answer before it
 * calls a migration completed, and after a failed write it looks for a
 * refusal, so query-migrate's error-desc carries the destination's words.
 * Files and pipes have no way back: nothing is sent or awaited there.
 */
#include "migration/job.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

#define POLL_MS         100
#define EXPLAIN_MS      1000
#define REPLY_OK        'Y'
#define REPLY_REFUSED   'N'
#define MAX_REASON      4096u

static bool is_socket(int fd)
{
    struct stat st;

    return fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* ---- destination ------------------------------------------------------- */

void mig_reply_open(struct migration *mig, int fd)
{
    if (mig->reply_fd >= 0 || !is_socket(fd))
        return;
    /* Its own descriptor: the stream's is closed when the thread ends. */
    mig->reply_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

void mig_reply_close(struct migration *mig)
{
    if (mig->reply_fd >= 0)
        close(mig->reply_fd);
    mig->reply_fd = -1;
}

static bool send_all(int fd, const void *p, size_t len)
{
    const uint8_t *b = p;

    while (len) {
        ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        b += n;
        len -= (size_t)n;
    }
    return true;
}

bool mig_reply_ok(struct migration *mig, GError **err)
{
    const char c = REPLY_OK;
    int e;

    if (mig->reply_fd < 0)
        return true;
    if (send_all(mig->reply_fd, &c, 1)) {
        mig_reply_close(mig);
        return true;
    }
    e = errno;
    mig_reply_close(mig);
    g_set_error(err, HM_ERROR, HM_ERROR_IO,
                "cannot tell the source that this side took the machine "
                "over: %s", g_strerror(e));
    return false;
}

void mig_reply_refuse(struct migration *mig, const char *why)
{
    size_t len = MIN(strlen(why), MAX_REASON);
    uint8_t head[5] = { REPLY_REFUSED, (uint8_t)len, (uint8_t)(len >> 8),
                        (uint8_t)(len >> 16), (uint8_t)(len >> 24) };

    if (mig->reply_fd < 0)
        return;
    /* A source that went away cannot hear it; nothing else to do. */
    if (send_all(mig->reply_fd, head, sizeof(head)))
        send_all(mig->reply_fd, why, len);
    shutdown(mig->reply_fd, SHUT_WR);
    mig_reply_close(mig);
}

/* ---- source ------------------------------------------------------------ */

/* Reads the answer whose first byte c is in; false with err if refused. */
static bool read_answer(int fd, char c, GError **err)
{
    uint8_t len[4];
    g_autofree char *why = NULL;
    uint32_t n;

    if (c == REPLY_OK)
        return true;
    if (c != REPLY_REFUSED ||
        recv(fd, len, sizeof(len), MSG_WAITALL) != (ssize_t)sizeof(len)) {
        g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                    "the destination's answer is not one this hotmem "
                    "understands");
        return false;
    }
    n = MIN((uint32_t)len[0] | (uint32_t)len[1] << 8 |
            (uint32_t)len[2] << 16 | (uint32_t)len[3] << 24, MAX_REASON);
    why = g_malloc0(n + 1);
    if (n && recv(fd, why, n, MSG_WAITALL) != (ssize_t)n)
        g_strlcpy(why, "(its message was cut short)", n + 1);
    g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                "destination refused the stream: %s", why);
    return false;
}

static ssize_t recv_byte(int fd, char *c, int flags)
{
    ssize_t n;

    do {
        n = recv(fd, c, 1, flags);
    } while (n < 0 && errno == EINTR);
    return n;
}

/*
 * The whole stream was sent: the destination's answer. A cancel shuts
 * the socket down, then looks once more: an answer sent before that is
 * still read (the destination runs the guest, so this side must not).
 */
static bool wait_answer(struct migration *mig, int fd, GError **err)
{
    char c = 0;
    ssize_t n;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        if (g_atomic_int_get(&mig->cancel)) {
            shutdown(fd, SHUT_RDWR);
            if (recv_byte(fd, &c, MSG_DONTWAIT) == 1 && c == REPLY_OK)
                return true;
            g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                        "migration cancelled");
            return false;
        }
        if (poll(&p, 1, POLL_MS) > 0)
            break;
    }
    n = recv_byte(fd, &c, 0);
    if (n == 1)
        return read_answer(fd, c, err);
    g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                "the destination did not take the machine over (%s): see "
                "its error", n < 0 ? g_strerror(errno)
                                   : "it closed the connection");
    return false;
}

/*
 * A write failed: a destination that refused the stream said why before
 * it closed the socket, and its words replace the broken pipe.
 */
static void explain(struct migration *mig, int fd, GError **err)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    GError *why = NULL;
    char c = 0;

    if (g_atomic_int_get(&mig->cancel) || poll(&p, 1, EXPLAIN_MS) <= 0 ||
        recv_byte(fd, &c, MSG_DONTWAIT) != 1)
        return;
    if (!read_answer(fd, c, &why) && why) {
        g_clear_error(err);
        g_propagate_error(err, why);
    }
}

bool mig_reply_await(struct migration *mig, int fd, bool sent, GError **err)
{
    if (!is_socket(fd))
        return sent;
    if (!sent) {
        explain(mig, fd, err);
        return false;
    }
    return wait_answer(mig, fd, err);
}
