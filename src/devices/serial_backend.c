/* Serial backends: stdio (raw terminal when it is one), file, none. */
#include "devices/serial_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <glib-unix.h>

#include "errors.h"

struct serial_backend {
    enum serial_backend_kind kind;
    int in_fd;              /* -1: no input */
    int out_fd;             /* -1: output discarded */
    bool own_out_fd;
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

struct serial_backend *serial_backend_new(enum serial_backend_kind kind,
                                          const char *path, GError **err)
{
    struct serial_backend *b = g_new0(struct serial_backend, 1);

    b->kind = kind;
    b->in_fd = b->out_fd = -1;
    b->pending = g_byte_array_new();
    switch (kind) {
    case SERIAL_BACKEND_STDIO:
        b->in_fd = STDIN_FILENO;
        b->out_fd = STDOUT_FILENO;
        make_tty_raw(b);
        break;
    case SERIAL_BACKEND_FILE:
        b->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                         0644);
        if (b->out_fd < 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_IO,
                        "-serial file:%s: cannot open: %s", path,
                        g_strerror(errno));
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
    if (b->tty_saved)
        tcsetattr(b->in_fd, TCSANOW, &b->saved_tty);
    if (b->own_out_fd)
        close(b->out_fd);
    g_byte_array_free(b->pending, TRUE);
    g_free(b);
}

static void backend_transmit(void *opaque, const uint8_t *buf, size_t len)
{
    struct serial_backend *b = opaque;

    while (b->out_fd >= 0 && len) {
        ssize_t n = write(b->out_fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;         /* a closed terminal drops output, as a wire */
        buf += n;
        len -= (size_t)n;
    }
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
