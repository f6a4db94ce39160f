/*
 * Where a migration goes or comes from: QEMU's URIs and the transports of
 * its channels list (qapi/migration.json MigrationAddress,
 * MigrationChannel): "file:PATH[,offset=N]", "unix:PATH",
 * "tcp:HOST:PORT" (an IPv4 literal, an IPv6 literal in brackets, or a
 * name), "fd:NAME" (a descriptor passed to the monitor with getfd, or on
 * the destination's command line a descriptor number it inherited).
 * exec:, rdma: and vsock: are refused by name.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

enum mig_transport { MIG_FILE, MIG_UNIX, MIG_TCP, MIG_FD };

struct mig_uri {
    enum mig_transport kind;
    char *path;         /* file:, unix: */
    char *host, *port;  /* tcp: (host without brackets) */
    char *fd_name;      /* fd: */
    uint64_t offset;    /* file: */
    char *desc;         /* the URI, for messages ("unix:/run/m.sock") */
};

bool mig_uri_parse(const char *uri, struct mig_uri *out, GError **err);
/*
 * QMP's "channels": exactly one, of type "main", transport "file",
 * "socket" (type "unix" with "path", "inet" with "host" and "port", "fd"
 * with "str") or "fd".
 */
bool mig_uri_from_channels(json_object *channels, struct mig_uri *out,
                           GError **err);
void mig_uri_clear(struct mig_uri *u);
/* For messages: a file's path, else the URI. */
static inline const char *mig_uri_name(const struct mig_uri *u)
{
    return u->kind == MIG_FILE ? u->path : u->desc;
}
/* A socket stream (every transport but file:). */
static inline bool mig_uri_is_stream(const struct mig_uri *u)
{
    return u->kind != MIG_FILE;
}
