/*
 * Test helper: a small QMP client over a UNIX socket for the end-to-end
 * tests. One JSON message per line; events that arrive while waiting for a
 * reply are queued for qmp_wait_event(). Every wait is bounded by the
 * timeout given to qmp_connect(), and a broken protocol fails the test.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

struct qmp;

/*
 * A connected stream socket, retrying while the server has not created
 * path yet; -1 after timeout_ms.
 */
int qmp_connect_unix(const char *path, int timeout_ms);

/*
 * Connects (retrying as above), checks the greeting and negotiates with
 * qmp_capabilities. timeout_ms also bounds every later wait for a message.
 */
struct qmp *qmp_connect(const char *path, int timeout_ms);
void qmp_close(struct qmp *q);
/*
 * Called with data when the VMM closes the connection, before the test
 * fails: the place to say why the VMM went away (its exit status, stderr,
 * last console lines), which the failure message alone cannot.
 */
void qmp_on_closed(struct qmp *q, void (*fn)(void *data), void *data);

/* Sends one command (JSON text) and returns its reply; caller puts it. */
json_object *qmp_call(struct qmp *q, const char *cmd);
json_object *qmp_callf(struct qmp *q, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
/*
 * qmp_call() with descriptor fd passed along with the command's bytes
 * (SCM_RIGHTS, as QEMU's getfd and add-fd expect); the caller keeps fd.
 */
json_object *qmp_call_fd(struct qmp *q, const char *cmd, int fd);
/* qmp_call() in two halves: send now, take the reply (not an event)
 * later; caller puts it. */
void qmp_send(struct qmp *q, const char *cmd);
json_object *qmp_reply(struct qmp *q);

/*
 * The next event called name, from the queue first, else as it arrives;
 * caller puts it. NULL after timeout_ms.
 */
json_object *qmp_wait_event(struct qmp *q, const char *name, int timeout_ms);

/* Both take reply. Fail the test unless it is a success; the value of its
 * "return" (a new reference). */
json_object *qmp_take_return(struct qmp *q, json_object *reply);
void qmp_expect_return(struct qmp *q, json_object *reply);

/* Both take reply. Fail the test unless it is an error of class
 * GenericError; its "desc" (g_free it). */
char *qmp_take_error(struct qmp *q, json_object *reply);
void qmp_expect_error(struct qmp *q, const char *needle, json_object *reply);

/* A command (printf-style) that must succeed; qmp_return() is the value of
 * its "return" (a new reference). */
#define qmp_return(q, ...) qmp_take_return((q), qmp_callf((q), __VA_ARGS__))
#define qmp_ok(q, ...) qmp_expect_return((q), qmp_callf((q), __VA_ARGS__))
/* A command (printf-style) that must fail with a desc containing needle. */
#define qmp_fails(q, needle, ...) \
    qmp_expect_error((q), (needle), qmp_callf((q), __VA_ARGS__))
