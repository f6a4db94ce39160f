/*
 * Private parts of the QMP server, shared by src/monitor/qmp*.c only.
 *
 *   qmp.c           server, clients, socket I/O, events
 *   qmp_input.c     framing of the input byte stream into JSON values
 *   qmp_dispatch.c  request validation, argument checks, built-in commands
 *   qmp_listen.c    listen specs, listening sockets, accepting clients
 *   qmp_events.c    events: the queue from other threads, rate limits
 *   qmp_json.c      output serialisation in QEMU's wire format
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

#include "json_strict.h"
#include "monitor/qmp.h"

/* A single JSON value in the input may not exceed this many bytes. */
#define QMP_MAX_VALUE_BYTES     (1u << 20)
/* Unprocessed input buffered per client before we stop reading from it. */
#define QMP_MAX_QUEUED_INPUT    (1u << 20)
/*
 * In-band requests a client with the oob capability may queue behind its
 * pending one before hotmem stops reading from it (QEMU's limit too).
 */
#define QMP_MAX_QUEUED_REQUESTS 8
/* Unsent output per client beyond which the client is disconnected. */
#define QMP_MAX_QUEUED_OUTPUT   (16u << 20)

/* ---- qmp_input.c: JSON value framing ---------------------------------- */

enum qmp_input_result {
    QMP_INPUT_MORE,     /* everything consumed, no value complete yet */
    QMP_INPUT_VALUE,    /* a complete value */
    QMP_INPUT_ERROR,    /* malformed or oversized input, resynchronising */
};

struct qmp_input {
    struct json_tokener *tok;
    size_t value_bytes;     /* bytes fed to tok for the current value */
    bool resync;            /* discarding the rest of a bad value */
    struct json_lex lex;    /* the current value's bytes so far */
};

/*
 * init gives the input a tokener (tok): *spare if there is one (which it
 * takes, leaving NULL), else a new one; spare may be NULL. json-c's
 * tokener clears a stack of QMP_MAX_DEPTH levels (40 KiB) when it is made:
 * about 68 K instructions, more than the rest of a request. release hands
 * the tokener back to *spare when that is empty, else frees it; destroy
 * frees it. Both leave tok NULL.
 */
void qmp_input_init(struct qmp_input *in, struct json_tokener **spare);
void qmp_input_release(struct qmp_input *in, struct json_tokener **spare);
void qmp_input_destroy(struct qmp_input *in);
/*
 * True when no value is partly read (nor being discarded): destroying the
 * input and initialising it again would change nothing. A client's input
 * is freed then, between requests (qmp.c).
 */
bool qmp_input_between_values(const struct qmp_input *in);
/*
 * Consumes a prefix of buf. *used is set to the bytes consumed. On
 * QMP_INPUT_VALUE *value receives the value; on QMP_INPUT_ERROR *error
 * receives a description (caller frees).
 */
enum qmp_input_result qmp_input_feed(struct qmp_input *in, const char *buf,
                                     size_t len, size_t *used,
                                     json_object **value, char **error);

/* ---- qmp_json.c: output ----------------------------------------------- */

/* Appends v in QEMU's style ({"a": 1, "b": [2, 3]}), ASCII only. */
void qmp_json_append(GString *out, json_object *v);

/* ---- qmp.c: server and clients ---------------------------------------- */

struct qmp_client {
    int refcount;
    struct qmp_server *server;      /* NULL once closed */
    int fd;
    unsigned spec_id;               /* the -qmp spec it came through */
    GSource *io;                    /* watches fd; NULL once closed */
    gpointer io_tag;
    GSource *resume;                /* continues input after async replies */
    bool closed;
    bool negotiated;
    bool oob;                       /* the oob capability is enabled */
    bool dispatching;               /* inside qmp_client_dispatch() */
    struct qmp_request *pending;    /* the in-band request being executed */
    GQueue queued;                  /* oob: in-band values read meanwhile */
    struct qmp_input input;         /* tok NULL between requests */
    GByteArray *inbuf;              /* read but not yet framed; or NULL */
    size_t inpos;
    GByteArray *outbuf;             /* framed replies not yet sent; or NULL */
    size_t outpos;
    int passed_fd;                  /* the last SCM_RIGHTS descriptor, -1 */
};

struct qmp_request {
    struct qmp_client *client;      /* holds a reference */
    json_object *id;                /* echoed in the reply; NULL if absent */
    bool has_id;
};

struct qmp_server {
    GMainContext *ctx;
    int major, minor, micro;
    char *package;
    GPtrArray *commands;            /* const struct qmp_command *, in order */
    GHashTable *by_name;            /* name -> const struct qmp_command * */
    GHashTable *oob_names;          /* commands allowed out of band */
    GPtrArray *clients;             /* struct qmp_client *, one ref each */
    GPtrArray *listeners;           /* struct qmp_listener * */
    guint8 *read_buf;               /* QMP_READ_CHUNK bytes, for recv() */
    struct json_tokener *spare_tok; /* an idle client's, for the next */
    GSource *trim;                  /* gives freed heap back, once idle */
    unsigned event_period_ms;       /* of the event rate limits */
    GMutex events_lock;             /* guards the three members below */
    GQueue events;                  /* serialised events (char *) */
    GSource *events_source;         /* idle that flushes events */
    GHashTable *throttles;          /* "EVENT key" -> its rate limit */
    GHashTable *fds;                /* getfd: name -> descriptor + 1 */
};

/* Takes ownership of fd (a connected, non-blocking socket) accepted
 * through the listeners of spec_id. */
void qmp_server_add_client(struct qmp_server *s, int fd, unsigned spec_id);
struct qmp_client *qmp_client_ref(struct qmp_client *c);
void qmp_client_unref(struct qmp_client *c);
void qmp_client_close(struct qmp_client *c);
/* qmp_fds.c: recv() that keeps a descriptor passed with the bytes. */
ssize_t qmp_client_recv(struct qmp_client *c, void *buf, size_t len);
void qmp_fds_free(struct qmp_server *s);
/*
 * Queues one message followed by CRLF and starts sending it, after the
 * events raised before it (qmp_server_flush_events()). Main context.
 */
void qmp_client_send(struct qmp_client *c, json_object *msg);
/* Queues bytes as they are (an event line) and starts sending them. */
void qmp_client_queue(struct qmp_client *c, const char *data, size_t len);
/* Called when c->pending completed outside qmp_client_dispatch(). */
void qmp_client_schedule_resume(struct qmp_client *c);

/*
 * A GSource watching one fd whose conditions can change. func returns
 * G_SOURCE_CONTINUE or G_SOURCE_REMOVE like any source callback.
 */
typedef gboolean (*qmp_fd_func)(GIOCondition revents, void *opaque);
GSource *qmp_fd_source_new(int fd, GIOCondition events, qmp_fd_func func,
                           void *opaque, gpointer *tag);

/* ---- qmp_events.c ----------------------------------------------------- */

/* period_ms 0: QEMU's one second. */
void qmp_events_init(struct qmp_server *s, unsigned period_ms);
void qmp_events_free(struct qmp_server *s);
/* Main context: broadcasts the events other threads queued, oldest first. */
void qmp_server_flush_events(struct qmp_server *s);

/* ---- qmp_dispatch.c --------------------------------------------------- */

/*
 * Executes one input value (ownership taken); sets c->pending unless it is
 * an out-of-band request.
 */
void qmp_client_dispatch(struct qmp_client *c, json_object *msg);
/* msg asks for out-of-band execution on c (which enabled oob). */
bool qmp_client_is_oob_request(struct qmp_client *c, json_object *msg);
/* Error reply for input that is not a request at all (no id). */
void qmp_client_send_error(struct qmp_client *c, enum qmp_error_class cls,
                           const char *desc);

/* ---- qmp_listen.c ----------------------------------------------------- */

struct qmp_listener;
void qmp_listener_free(struct qmp_listener *l);
