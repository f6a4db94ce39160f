/*
 * Serial backends: stdio (raw terminal when it is one), file, none.
 *
 * Nothing here blocks: both ends are non-blocking. Output the UART hands
 * over is written at once when the fd takes it, else kept in a bounded
 * buffer that the main loop drains when the fd becomes writable; when the
 * buffer is full the backend takes nothing more and the UART holds the
 * bytes (its line looks busy to the guest) until serial_tx_ready(). So a
 * console nobody reads slows the guest's output down to nothing, but never
 * stops a vCPU or the main loop.
 */
#include "devices/serial_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib-unix.h>

#include "errors.h"

struct serial_backend {
    enum serial_backend_kind kind;
    int in_fd;              /* -1: no input */
    int out_fd;             /* -1: output discarded */
    bool own_in_fd, own_out_fd;
    int in_restore_flags;   /* fcntl flags to put back, or -1 */
    int out_restore_flags;
    GMutex out_lock;        /* guards the three members below */
    GByteArray *out;        /* taken from the UART, not yet written */
    guint out_watch;        /* waits for out_fd to be writable */
    bool out_broken;        /* a write failed for good: output discarded */
    bool tty_saved;
    struct termios saved_tty;
    struct serial *serial;
    guint in_watch;
    GByteArray *pending;    /* read from in_fd, not yet taken by the UART */
    gint push_scheduled;    /* atomic: a push_pending idle is queued */
};

/*
 * Raw input so every key reaches the guest, but keep ISIG so Ctrl-C still
 * stops hotmem (as QEMU's stdio chardev does with signal=on).
 */
static void make_tty_raw(struct serial_backend *b)
{
    struct termios t;

    if (!isatty(b->in_fd) || tcgetattr(b->in_fd, &b->saved_tty) < 0)
        return;
    b->tty_saved = true;
    t = b->saved_tty;
    t.c_iflag &= ~(unsigned)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
                             IGNCR | ICRNL | IXON);
    t.c_oflag |= OPOST | ONLCR;
    t.c_lflag &= ~(unsigned)(ECHO | ECHONL | ICANON | IEXTEN);
    t.c_cflag &= ~(unsigned)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(b->in_fd, TCSANOW, &t);
}

/*
 * A non-blocking fd for stdin or stdout. Pipes, FIFOs and terminals are
 * opened again through /proc/self/fd: a file description of our own, so
 * O_NONBLOCK does not leak to whoever shares the original one (the shell,
 * a test harness). A regular file never blocks and keeps its offset and
 * O_APPEND as they are. Anything else (a socket) gets O_NONBLOCK on the
 * shared description, put back by serial_backend_free().
 */
static int nonblocking_fd(int fd, int mode, bool *own, int *restore)
{
    g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);
    struct stat st;
    int flags, nfd;

    *own = false;
    *restore = -1;
    if (fstat(fd, &st) < 0)
        return -1;
    if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
        return fd;
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        nfd = open(proc, mode | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (nfd >= 0) {
            *own = true;
            return nfd;
        }
    }
    flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK) &&
        fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0)
        *restore = flags;
    return fd;
}

static void restore_fd(int fd, bool own, int restore)
{
    if (own)
        close(fd);
    else if (fd >= 0 && restore >= 0)
        fcntl(fd, F_SETFL, restore);
}

struct serial_backend *serial_backend_new(enum serial_backend_kind kind,
                                          const char *path, GError **err)
{
    struct serial_backend *b = g_new0(struct serial_backend, 1);

    b->kind = kind;
    b->in_fd = b->out_fd = -1;
    b->in_restore_flags = b->out_restore_flags = -1;
    b->pending = g_byte_array_new();
    b->out = g_byte_array_new();
    g_mutex_init(&b->out_lock);
    switch (kind) {
    case SERIAL_BACKEND_STDIO:
        b->in_fd = nonblocking_fd(STDIN_FILENO, O_RDONLY, &b->own_in_fd,
                                  &b->in_restore_flags);
        b->out_fd = nonblocking_fd(STDOUT_FILENO, O_WRONLY, &b->own_out_fd,
                                   &b->out_restore_flags);
        make_tty_raw(b);
        break;
    case SERIAL_BACKEND_FILE:
        /* O_NONBLOCK: a FIFO with no reader is an error, not a hang. */
        b->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
                         O_NONBLOCK | O_NOCTTY, 0644);
        if (b->out_fd < 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_IO,
                        "-serial file:%s: cannot open: %s%s", path,
                        g_strerror(errno),
                        errno == ENXIO ? " (a FIFO nobody has open for "
                                         "reading)" : "");
            serial_backend_free(b);
            return NULL;
        }
        b->own_out_fd = true;
        break;
    case SERIAL_BACKEND_NONE:
        break;
    }
    return b;
}

void serial_backend_free(struct serial_backend *b)
{
    if (!b)
        return;
    if (b->in_watch)
        g_source_remove(b->in_watch);
    if (b->out_watch)
        g_source_remove(b->out_watch);
    if (b->tty_saved)
        tcsetattr(b->in_fd, TCSANOW, &b->saved_tty);
    restore_fd(b->in_fd, b->own_in_fd, b->in_restore_flags);
    restore_fd(b->out_fd, b->own_out_fd, b->out_restore_flags);
    g_byte_array_free(b->pending, TRUE);
    g_byte_array_free(b->out, TRUE);
    g_mutex_clear(&b->out_lock);
    g_free(b);
}

/*
 * Writes what out_fd takes now (out_lock held); returns the bytes gone,
 * counting as gone everything after a lasting error: a closed terminal or
 * pipe drops output, as a wire with nobody at the end.
 */
static size_t write_some(struct serial_backend *b, const uint8_t *buf,
                         size_t len)
{
    size_t done = 0;

    while (done < len && !b->out_broken) {
        ssize_t n = write(b->out_fd, buf + done, len - done);

        if (n > 0)
            done += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return done;
        else
            b->out_broken = true;
    }
    return b->out_broken ? len : done;
}

static gboolean on_output(gint fd, GIOCondition cond, gpointer opaque);

/* Any thread, with the UART's lock held: never blocks. */
static size_t backend_transmit(void *opaque, const uint8_t *buf, size_t len)
{
    struct serial_backend *b = opaque;
    size_t taken = 0, room;

    if (b->out_fd < 0)
        return len;
    g_mutex_lock(&b->out_lock);
    if (b->out_broken) {
        g_mutex_unlock(&b->out_lock);
        return len;
    }
    if (b->out->len == 0)       /* keep the order: only when none waits */
        taken = write_some(b, buf, len);
    room = SERIAL_BACKEND_OUT_BUFFER - MIN(b->out->len,
                                           SERIAL_BACKEND_OUT_BUFFER);
    room = MIN(room, len - taken);
    g_byte_array_append(b->out, buf + taken, (guint)room);
    taken += room;
    if (b->out->len && !b->out_watch)
        b->out_watch = g_unix_fd_add(b->out_fd, G_IO_OUT | G_IO_ERR |
                                     G_IO_HUP, on_output, b);
    g_mutex_unlock(&b->out_lock);
    return taken;
}

/* Main loop: out_fd is writable (or broken); then the UART may go on. */
static gboolean on_output(gint fd, GIOCondition cond, gpointer opaque)
{
    struct serial_backend *b = opaque;
    gboolean keep = G_SOURCE_CONTINUE;
    size_t n;

    g_mutex_lock(&b->out_lock);
    n = write_some(b, b->out->data, b->out->len);
    g_byte_array_remove_range(b->out, 0, (guint)n);
    if (b->out->len == 0) {
        b->out_watch = 0;
        keep = G_SOURCE_REMOVE;
    }
    g_mutex_unlock(&b->out_lock);
    if (n && b->serial)
        serial_tx_ready(b->serial);
    return keep;
}

static gboolean on_input(gint fd, GIOCondition cond, gpointer opaque);

/* Main loop: offers pending bytes to the UART; resumes reading when empty. */
static void push_pending(struct serial_backend *b)
{
    size_t n = serial_receive(b->serial, b->pending->data, b->pending->len);

    g_byte_array_remove_range(b->pending, 0, (guint)n);
    if (b->pending->len == 0 && !b->in_watch && b->in_fd >= 0)
        b->in_watch = g_unix_fd_add(b->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                    on_input, b);
}

static gboolean push_pending_idle(gpointer opaque)
{
    struct serial_backend *b = opaque;

    g_atomic_int_set(&b->push_scheduled, 0);
    push_pending(b);
    return G_SOURCE_REMOVE;
}

static void backend_rx_drained(void *opaque)
{
    struct serial_backend *b = opaque;

    /* vCPU thread: hand the work to the main loop, once. */
    if (g_atomic_int_compare_and_exchange(&b->push_scheduled, 0, 1))
        g_idle_add(push_pending_idle, b);
}

static gboolean on_input(gint fd, GIOCondition cond, gpointer opaque)
{
    struct serial_backend *b = opaque;
    uint8_t buf[512];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        b->in_watch = 0;        /* end of input: the guest just sees none */
        return G_SOURCE_REMOVE;
    }
    g_byte_array_append(b->pending, buf, (guint)n);
    push_pending(b);
    if (b->pending->len) {
        b->in_watch = 0;        /* wait for the guest to drain the FIFO */
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

GBytes *serial_backend_pending_input(struct serial_backend *b)
{
    return g_bytes_new(b->pending->data, b->pending->len);
}

void serial_backend_prepend_input(struct serial_backend *b,
                                  const uint8_t *data, size_t len)
{
    if (!len)
        return;
    g_byte_array_prepend(b->pending, data, (guint)len);
    if (b->in_watch) {          /* the UART takes these first */
        g_source_remove(b->in_watch);
        b->in_watch = 0;
    }
    if (b->serial)
        push_pending(b);
}

void serial_backend_fill_ops(struct serial_backend *b, struct serial_ops *ops)
{
    ops->transmit = backend_transmit;
    ops->rx_drained = backend_rx_drained;
    ops->chr_opaque = b;
}

void serial_backend_attach(struct serial_backend *b, struct serial *s)
{
    b->serial = s;
    if (b->in_fd >= 0 && !b->in_watch)
        b->in_watch = g_unix_fd_add(b->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                    on_input, b);
}
