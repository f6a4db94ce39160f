/*
 * The signals that end hotmem (SIGINT, SIGTERM, SIGHUP), taken through a
 * signalfd rather than handlers: no thread of GLib's or ours waits for
 * them, so a paused VM runs its main thread and one thread per vCPU only.
 *
 * exit_signals_new() blocks the three signals in the calling thread, so
 * make it in main() before any thread exists: threads inherit the mask, and
 * a blocked signal waits in the signalfd for whoever reads it (the main
 * loop, or a long startup step that polls).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

struct exit_signals;

/* Blocks the signals in this thread and opens the signalfd. */
struct exit_signals *exit_signals_new(GError **err);

/*
 * Any thread, never blocks: a signal that came (the first one taken, kept
 * for later calls), or 0. Meant for startup steps that run no main loop.
 */
int exit_signals_poll(struct exit_signals *s);

/* The signal a poll took, or 0: a signal the main loop will not see again. */
int exit_signals_taken(struct exit_signals *s);

/*
 * Calls on_signal(signal, opaque) from the default main context for each
 * signal not yet read. One watch at a time.
 */
void exit_signals_watch(struct exit_signals *s,
                        void (*on_signal)(int sig, void *opaque),
                        void *opaque);

/*
 * Closes the signalfd. The signals stay blocked: one that comes during the
 * teardown after must not end hotmem with its default action instead of
 * the exit status it was going to have.
 */
void exit_signals_free(struct exit_signals *s);
