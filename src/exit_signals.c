#include "exit_signals.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <glib-unix.h>

#include "errors.h"

struct exit_signals {
    sigset_t set;
    int fd;
    gint taken;                 /* atomic: the first signal a poll read */
    guint source;
    void (*on_signal)(int sig, void *opaque);
    void *opaque;
};

static const int exit_signal_list[] = { SIGINT, SIGTERM, SIGHUP };

struct exit_signals *exit_signals_new(GError **err)
{
    struct exit_signals *s = g_new0(struct exit_signals, 1);

    sigemptyset(&s->set);
    for (size_t i = 0; i < G_N_ELEMENTS(exit_signal_list); i++)
        sigaddset(&s->set, exit_signal_list[i]);
    /* Blocked first: a signal between the two calls waits in the fd. */
    pthread_sigmask(SIG_BLOCK, &s->set, NULL);
    s->fd = signalfd(-1, &s->set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->fd < 0) {
        hm_fail(err, HM_ERROR_FAILED, "cannot watch SIGINT, SIGTERM and "
                "SIGHUP: signalfd: %s", g_strerror(errno));
        pthread_sigmask(SIG_UNBLOCK, &s->set, NULL);
        g_free(s);
        return NULL;
    }
    return s;
}

/* The next pending signal, or 0 when none is. */
static int read_one(struct exit_signals *s)
{
    struct signalfd_siginfo si;

    for (;;) {
        ssize_t n = read(s->fd, &si, sizeof(si));

        if (n == (ssize_t)sizeof(si))
            return (int)si.ssi_signo;
        if (n < 0 && errno == EINTR)
            continue;
        return 0;
    }
}

int exit_signals_poll(struct exit_signals *s)
{
    int sig = g_atomic_int_get(&s->taken);

    if (sig)
        return sig;
    sig = read_one(s);
    if (sig && !g_atomic_int_compare_and_exchange(&s->taken, 0, sig))
        sig = g_atomic_int_get(&s->taken);
    return sig;
}

int exit_signals_taken(struct exit_signals *s)
{
    return g_atomic_int_get(&s->taken);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct exit_signals *s = opaque;
    int sig;

    while ((sig = read_one(s)) != 0)
        s->on_signal(sig, s->opaque);
    return G_SOURCE_CONTINUE;
}

void exit_signals_watch(struct exit_signals *s,
                        void (*on_signal)(int sig, void *opaque),
                        void *opaque)
{
    g_assert(!s->source);
    s->on_signal = on_signal;
    s->opaque = opaque;
    s->source = g_unix_fd_add(s->fd, G_IO_IN, on_readable, s);
}

void exit_signals_free(struct exit_signals *s)
{
    if (!s)
        return;
    if (s->source)
        g_source_remove(s->source);
    close(s->fd);
    g_free(s);
}
