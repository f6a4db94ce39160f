/*
 * One QMP client connection of the harness: a UNIX stream socket, an
 * incremental json_tokener for the VMM's messages, and queues of what
 * arrived (greeting, command replies in order, events).
 */
#pragma once

#include <stdbool.h>
#include <poll.h>
#include <glib.h>
#include <json-c/json.h>

#define QMPC_RECENT 10      /* messages kept for failure reports */

struct qmpc {
    char *name;             /* client name, without '@' */
    char *path;             /* socket path */
    bool raw;               /* no automatic greeting/negotiation */
    int fd;                 /* -1 before connect and after close */
    bool closed;            /* the scenario closed it */
    bool eof;               /* the VMM closed it */
    char *broken;           /* the VMM sent something that is not JSON */
    json_tokener *tok;
    GString *out;           /* bytes still to be sent */
    json_object *greeting;  /* {"QMP": ...} once received */
    GQueue replies;         /* json_object *: replies not yet consumed */
    GQueue events;          /* json_object *: events not yet consumed */
    GQueue recent;          /* char *: "<- msg" / "-> msg" */
};

struct qmpc *qmpc_new(const char *name, const char *path, bool raw);
void qmpc_free(struct qmpc *c);

/* One connection attempt; false with errno set (ENOENT, ECONNREFUSED). */
bool qmpc_try_connect(struct qmpc *c);
void qmpc_close(struct qmpc *c);
bool qmpc_connected(const struct qmpc *c);

void qmpc_send(struct qmpc *c, const char *buf, gsize len);

/* One pollfd; qmpc_dispatch() handles it. */
void qmpc_pollfd(struct qmpc *c, struct pollfd *pfd);
void qmpc_dispatch(struct qmpc *c, const struct pollfd *pfd);

/* Feeds received bytes to the tokenizer (exposed for unit tests). */
void qmpc_feed(struct qmpc *c, const char *buf, gsize len);
