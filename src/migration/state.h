/*
 * The machine's state as sections of the stream (docs/migration.md): the
 * configuration and DIMMs before the RAM, every device and vCPU after it.
 * RAM sections are migration/ram.c's.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "machine/machine_migrate.h"
#include "migration/stream.h"

/* "machine", then one "dimm" per DIMM. */
void mig_state_put_config(GByteArray *out, const struct machine_snapshot *s);
/* "memhp", "ged", "serial", "irqchip", "pit", "clock", one "cpu" per vCPU,
 * then "end". */
void mig_state_put_devices(GByteArray *out, const struct machine_snapshot *s);

/*
 * A live stream's end, once the guest is stopped: every "dimm" again
 * (its slot's state now), "runstate" (the source's run state now), then
 * as mig_state_put_devices().
 */
void mig_state_put_final(GByteArray *out, const struct machine_snapshot *s);

/*
 * Decodes one section other than "ram" and "end" into s. Unknown ids and
 * versions newer than this reader's are refused, naming them.
 */
bool mig_state_get_section(const struct mig_section *sec, const void *body,
                           struct machine_snapshot *s, GError **err);
