/*
 * A QMP client for benchmarks that must survive a peer VMM failing: no
 * assertions, every wait bounded, failures returned as GError. One JSON
 * message per line; events that arrive while a reply is awaited are kept
 * for qline_event(). Times are CLOCK_MONOTONIC milliseconds (bench_now_ms).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

struct qline;

/*
 * Connects to the UNIX socket path as soon as it accepts (watching its
 * directory, so no polling interval adds to the time) and reads the QMP
 * greeting. Gives up after timeout_ms or when process pid has exited.
 */
struct qline *qline_open(const char *path, int pid, int timeout_ms,
                         GError **err);
void qline_close(struct qline *q);

/* Sends one command (printf-style JSON text; a line end is added). */
bool qline_send(struct qline *q, GError **err, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* The next message that is not an event; the caller puts it. */
json_object *qline_reply(struct qline *q, int timeout_ms, GError **err);
/* The next reply, which must be a success. */
bool qline_ok(struct qline *q, int timeout_ms, GError **err);
/* qline_send() then qline_ok(). */
bool qline_call(struct qline *q, int timeout_ms, GError **err,
                const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/*
 * The oldest event called name whose data.device is device (any when
 * NULL), from those kept first; the caller puts it. NULL after timeout_ms.
 */
json_object *qline_event(struct qline *q, const char *name,
                         const char *device, int timeout_ms, GError **err);
/* An event's timestamp, wall clock in ms (as g_get_real_time()/1000). */
double qline_event_ms(json_object *event);
