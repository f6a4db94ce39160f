/*
 * The signals that end hotmem, read through a signalfd (src/exit_signals.c):
 * a signal that comes is seen by a poll from any thread and by the main
 * loop, and threads made afterwards cannot take it with a default action.
 */
#include <signal.h>
#include <pthread.h>
#include <unistd.h>
#include <glib.h>

#include "exit_signals.h"

struct seen {
    int sig;
    unsigned calls;
};

static void on_signal(int sig, void *opaque)
{
    struct seen *s = opaque;

    s->sig = sig;
    s->calls++;
}

/* Drops signals an earlier test left pending (they stay blocked). */
static void drain_pending(void)
{
    sigset_t set;
    struct timespec now = { 0, 0 };

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    while (sigtimedwait(&set, NULL, &now) > 0)
        ;
}

/* Runs the default context until on_signal was called or 5 s passed. */
static void iterate_until_called(struct seen *seen)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (!seen->calls && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, FALSE);
}

static void test_poll_takes_and_keeps(void)
{
    g_autoptr(GError) err = NULL;
    struct exit_signals *s;

    drain_pending();
    s = exit_signals_new(&err);
    g_assert_no_error(err);
    g_assert_cmpint(exit_signals_poll(s), ==, 0);
    g_assert_cmpint(exit_signals_taken(s), ==, 0);
    /* Blocked: raise() leaves it pending instead of ending the test. */
    raise(SIGTERM);
    g_assert_cmpint(exit_signals_poll(s), ==, SIGTERM);
    /* The first one taken stays the answer, whatever comes after. */
    raise(SIGHUP);
    g_assert_cmpint(exit_signals_poll(s), ==, SIGTERM);
    g_assert_cmpint(exit_signals_taken(s), ==, SIGTERM);
    exit_signals_free(s);
}

static void test_watch_sees_each(void)
{
    g_autoptr(GError) err = NULL;
    struct exit_signals *s;
    struct seen seen = { 0 };

    drain_pending();
    s = exit_signals_new(&err);
    g_assert_no_error(err);
    exit_signals_watch(s, on_signal, &seen);
    kill(getpid(), SIGINT);
    iterate_until_called(&seen);
    g_assert_cmpuint(seen.calls, ==, 1);
    g_assert_cmpint(seen.sig, ==, SIGINT);
    /* The main loop read it: no poll takes it again. */
    g_assert_cmpint(exit_signals_poll(s), ==, 0);
    seen = (struct seen){ 0 };
    kill(getpid(), SIGHUP);
    iterate_until_called(&seen);
    g_assert_cmpint(seen.sig, ==, SIGHUP);
    exit_signals_free(s);
}

static void *mask_of_thread(void *opaque)
{
    sigset_t *mask = opaque;

    pthread_sigmask(SIG_BLOCK, NULL, mask);
    return NULL;
}

static void *poll_from_thread(void *opaque)
{
    return GINT_TO_POINTER(exit_signals_poll(opaque));
}

/*
 * A thread made after exit_signals_new() has the three blocked (a vCPU or
 * a preallocating thread), and a poll from such a thread takes a signal
 * sent to the process: what a -object preallocation does on SIGTERM.
 */
static void test_threads_inherit(void)
{
    g_autoptr(GError) err = NULL;
    struct exit_signals *s;
    sigset_t mask;
    pthread_t t;
    void *got;

    drain_pending();
    s = exit_signals_new(&err);
    g_assert_no_error(err);
    sigemptyset(&mask);
    pthread_create(&t, NULL, mask_of_thread, &mask);
    pthread_join(t, NULL);
    g_assert_true(sigismember(&mask, SIGINT));
    g_assert_true(sigismember(&mask, SIGTERM));
    g_assert_true(sigismember(&mask, SIGHUP));
    kill(getpid(), SIGTERM);
    pthread_create(&t, NULL, poll_from_thread, s);
    pthread_join(t, &got);
    g_assert_cmpint(GPOINTER_TO_INT(got), ==, SIGTERM);
    g_assert_cmpint(exit_signals_taken(s), ==, SIGTERM);
    exit_signals_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/exit-signals/poll-takes-and-keeps",
                    test_poll_takes_and_keeps);
    g_test_add_func("/exit-signals/watch-sees-each", test_watch_sees_each);
    g_test_add_func("/exit-signals/threads-inherit", test_threads_inherit);
    return g_test_run();
}
