/*
 * QMP server: QEMU's Machine Protocol over UNIX and TCP sockets
 * (docs/qmp.md). JSON objects in, JSON objects out; a greeting, capability
 * negotiation, commands with "id" echoed, errors with QEMU's classes, and
 * events broadcast to every negotiated client.
 *
 * Threading: the server runs on the GLib main context it was created with
 * (the main loop). Handlers run there. A handler may finish later (for
 * example after a preallocation running on other threads): it keeps the
 * request and calls qmp_request_return() or qmp_request_error() on the main
 * context when done; the client's next command waits, other clients do
 * not. qmp_server_emit() may be called from any thread.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

#include "schema.h"

/* Error classes (QEMU's qapi/error.json ErrorClass). */
#define QMP_ERROR (qmp_error_quark())
GQuark qmp_error_quark(void);
enum qmp_error_class {
    QMP_ERROR_GENERIC,              /* "GenericError" */
    QMP_ERROR_COMMAND_NOT_FOUND,    /* "CommandNotFound" */
    QMP_ERROR_DEVICE_NOT_FOUND,     /* "DeviceNotFound" */
    QMP_ERROR_DEVICE_NOT_ACTIVE,    /* "DeviceNotActive" */
    QMP_ERROR_KVM_MISSING_CAP,      /* "KVMMissingCap" */
};
/* Any other GError domain is reported as GenericError. */
const char *qmp_error_class_name(const GError *err);

/*
 * A command argument: its name, its type (schema.h: the dispatcher checks
 * the JSON type, enum values and the element type of arrays of builtins
 * and enums; query-qmp-schema prints the same description) and whether it
 * may be left out. The QMP_ARG_* names are the common builtins.
 */
#define QMP_ARG_STR     (&schema_str)
#define QMP_ARG_INT     (&schema_int)       /* JSON integer */
#define QMP_ARG_NUMBER  (&schema_number)    /* integer or floating point */
#define QMP_ARG_BOOL    (&schema_bool)
#define QMP_ARG_ARRAY   (&schema_any_list)  /* an array of anything */
#define QMP_ARG_ANY     (&schema_any)

struct qmp_arg {
    const char *name;
    const struct schema_type *type;
    bool optional;
};

struct qmp_request;

/*
 * args is the "arguments" object (an empty object when absent), already
 * checked against the command's argument list; the handler does not own
 * it. Exactly one of qmp_request_return()/qmp_request_error() must be
 * called for req, now or later.
 */
typedef void (*qmp_handler)(struct qmp_request *req, json_object *args,
                            void *opaque);

struct qmp_command {
    const char *name;
    const struct qmp_arg *args;     /* terminated by { NULL } ; may be NULL */
    bool extra_args;                /* accept arguments not listed (flat
                                       property bags: object-add, ...) */
    qmp_handler handler;
    void *opaque;
    /* What query-qmp-schema says the command returns (NULL: {}). */
    const struct schema_type *ret;
    /*
     * Arguments beyond args (extra_args) that the schema can describe: a
     * flat union on the member tag, one branch per accepted value (the
     * qom-type of object-add). The handler checks them.
     */
    const char *tag;
    const struct schema_variant *variants;
    const char *const *features;    /* NULL-terminated, or NULL */
};

struct qmp_server;

struct qmp_server_info {
    int major, minor, micro;        /* reported as "qemu" version */
    const char *package;            /* "hotmem 0.1.0" */
    unsigned event_period_ms;       /* event rate limits; 0: 1000, QEMU's */
};

struct qmp_server *qmp_server_new(const struct qmp_server_info *info);
/* QEMU's VersionInfo from the server's info: the greeting's "version" and
 * query-version's answer (a new object). */
json_object *qmp_server_version(struct qmp_server *s);
void qmp_server_free(struct qmp_server *s);     /* closes every client */

/*
 * Listens on "unix:PATH,server=on[,wait=on|off]" (socket created mode 0600),
 * "tcp:HOST:PORT,server=on[,wait=on|off]" or "fd:N,server=on[,...]" (an
 * inherited listening socket, taken over). May be called several times.
 * wait=on, the default as in QEMU, asks the caller to hold startup until a
 * client connects there (qmp_server_waiting()).
 */
bool qmp_server_listen(struct qmp_server *s, const char *spec, GError **err);

/* True while a wait=on listener has not had a client yet. */
bool qmp_server_waiting(struct qmp_server *s);

/*
 * Registers a command (the struct must outlive the server). The server
 * itself provides qmp_capabilities and query-commands.
 */
void qmp_server_register(struct qmp_server *s, const struct qmp_command *cmd);

/*
 * Calls fn for every command the server answers, its built-in
 * qmp_capabilities and query-commands first, then in registration order.
 */
void qmp_server_foreach_command(struct qmp_server *s,
                                void (*fn)(const struct qmp_command *cmd,
                                           void *opaque),
                                void *opaque);

/*
 * The registered command name may run out of band ("exec-oob", once a
 * client enabled the oob capability; qmp-spec "Out-of-band execution"):
 * its handler replies before it returns and never waits, so it may
 * overtake the client's pending in-band command. Others are refused
 * there, as QEMU refuses them.
 */
void qmp_server_allow_oob(struct qmp_server *s, const char *name);
bool qmp_server_command_allows_oob(struct qmp_server *s, const char *name);

/* Sends {"event", "data", "timestamp"} to every negotiated client. data
 * may be NULL (the message then has no "data", like QEMU's STOP); ownership
 * is taken. Any thread. */
void qmp_server_emit(struct qmp_server *s, const char *event,
                     json_object *data);
/*
 * The same for an event about key ("slot 3"; NULL: as above). limited: the
 * guest raised it on its own, and it is rate-limited per (event, key):
 * the first at once, then at most one a period, the latest held until the
 * period ends. Not limited, it first sends the one held for its key, then
 * itself, and ends the limit (docs/qmp.md, "Event rate limits").
 */
void qmp_server_emit_keyed(struct qmp_server *s, const char *event,
                           const char *key, bool limited, json_object *data);

/* ret may be NULL (sent as {}); ownership is taken. Main context only. */
void qmp_request_return(struct qmp_request *req, json_object *ret);
void qmp_request_error(struct qmp_request *req, const GError *err);
/* Convenience: error with a class and a formatted description. */
void qmp_request_fail(struct qmp_request *req, enum qmp_error_class cls,
                      const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/*
 * Descriptors passed over the monitor's UNIX socket (SCM_RIGHTS, QEMU's
 * getfd/closefd; docs/qmp.md). getfd names the one that came with the
 * request (the client's last); take removes a named one and gives it to
 * the caller (migrate fd:NAME).
 */
bool qmp_request_getfd(struct qmp_request *req, const char *name,
                       GError **err);
bool qmp_server_closefd(struct qmp_server *s, const char *name,
                        GError **err);
int qmp_server_take_fd(struct qmp_server *s, const char *name, GError **err);

/* Number of connected clients (tests, query tools). */
unsigned qmp_server_client_count(struct qmp_server *s);
