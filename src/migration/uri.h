/*
 * Where a migration goes or comes from: QEMU's URIs ("file:PATH",
 * "file:PATH,offset=N") and the "file" transport of its channels list
 * (qapi/migration.json MigrationChannel). The other transports QEMU has
 * (unix:, tcp:, fd:, exec:, rdma:) are refused by name: live migration
 * over a socket is the next step (docs/migration.md).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

struct mig_uri {
    char *path;
    uint64_t offset;
};

bool mig_uri_parse(const char *uri, struct mig_uri *out, GError **err);
/* QMP's "channels": exactly one, of type "main", transport "file". */
bool mig_uri_from_channels(json_object *channels, struct mig_uri *out,
                           GError **err);
void mig_uri_clear(struct mig_uri *u);
