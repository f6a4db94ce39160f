/*
 * hotmem-harness: shared helpers (tracing, clocks). See docs/harness.md.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

/* --verbose: every byte of traffic is echoed as a TAP comment. */
extern bool harness_verbose;

/* Prints "# " + the formatted text on stdout, one "# " per line. */
void harness_note(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/*
 * harness_note() that also goes to stderr: a failure's report, which
 * `meson test --print-errorlogs` shows (it keeps a TAP test's stdout only
 * in its log file).
 */
void harness_failure_note(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* harness_note() only when --verbose. */
void harness_trace(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Monotonic microseconds (g_get_monotonic_time). */
static inline gint64 harness_now(void)
{
    return g_get_monotonic_time();
}

/* Milliseconds left until deadline (0 when past). */
static inline int harness_ms_left(gint64 deadline)
{
    gint64 left = (deadline - harness_now() + 999) / 1000;

    return left < 0 ? 0 : left > G_MAXINT ? G_MAXINT : (int)left;
}

/* Copies s into a one-line printable form: control bytes become \n, \xNN. */
char *harness_printable(const char *s, gsize len);
