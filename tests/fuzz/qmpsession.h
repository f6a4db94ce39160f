/*
 * One QMP client session for the fuzz targets: the input bytes go into a
 * real client socket of a real server (monitor/qmp.c), exactly as a client
 * would send them, and what the server answers is checked line by line.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "monitor/qmp.h"

/*
 * Connects a client to s (on the thread-default main context), sends data,
 * waits until every request it framed has been answered, disconnects and
 * waits until the server has let the client go. Returns what the server
 * sent (caller frees).
 */
GString *qmp_session_run(struct qmp_server *s, const uint8_t *data,
                         size_t len);

/*
 * Aborts (fuzz_fail) unless out is CRLF-terminated lines of ASCII JSON:
 * the greeting first, then replies ({"return"} or {"error": {"class",
 * "desc"}} with a known class, either with an optional "id") and events
 * ({"event", "timestamp"[, "data"]}). Returns the number of replies.
 */
unsigned qmp_session_check(const GString *out);
