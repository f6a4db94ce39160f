/*
 * Socket transports of a migration (docs/migration.md): the source
 * connects to unix:/tcp: without blocking past a timeout, the
 * destination listens and accepts one connection. fd: descriptors are
 * the caller's (getfd, or inherited on the destination). The stream on
 * the socket is ram.c's; nothing here knows its format.
 *
 * Waits poll in short slices and stop early when *cancel (atomic) is set,
 * so a migrate_cancel or a shutdown never waits for a peer.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "migration/uri.h"

/* How long connect() may take before the migration fails. */
#define MIG_CONNECT_TIMEOUT_MS  10000

/* Source, any thread: a connected, blocking socket, or -1 (error). */
int mig_transport_connect(const struct mig_uri *u, int timeout_ms,
                          const gint *cancel, GError **err);
/* Destination, main thread: a listening socket for unix:/tcp:, or -1. */
int mig_transport_listen(const struct mig_uri *u, GError **err);
/* Destination, any thread: the one connection (blocking), or -1. */
int mig_transport_accept(int listen_fd, const struct mig_uri *u,
                         const gint *cancel, GError **err);
/*
 * Socket options for the stream: a send/receive timeout of stall_ms, so a
 * peer that stops reading fails a blocking write, never hangs it.
 */
void mig_transport_set_stall(int fd, unsigned stall_ms);
