/*
 * hotmem-guest as the OSPM for memory hot-plug: what Linux's ACPI memory
 * hot-plug driver does after the DSDT's _EVT and MSCN, done by driving the
 * Generic Event Device and the memory hot-plug register block directly
 * (docs/acpi.md, docs/guest-console.md "Memory hot-plug").
 *
 * Ring 0 (lowcore.S) only latches GED events into a word; everything here
 * runs in ring 3 from the console's main loop or its commands.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "boot.h"

/*
 * At boot, after the ACPI report: when the SRAT has hot-pluggable memory,
 * counts the slots ("memory slots=N" when there are any) and brings every
 * cold-plugged DIMM online (mapped and checked), printing a line for each.
 */
void ospm_boot(const struct boot_info *info);

/*
 * Handles the GED events the interrupt handler latched since the last call:
 * a memory event runs a scan, the power button powers off (ACPI S5).
 * Cheap when nothing is pending.
 */
void ospm_service(void);

/* Slots found at boot (0: no memory hot-plug). */
unsigned ospm_slot_count(void);

/* One pass over the slots, as the DSDT's MSCN: each slot's insert, then
 * its removal. */
void ospm_scan(void);

/* When on, eject requests are answered with _OST 0x81 and not ejected. */
void ospm_set_refuse_eject(bool on);

/*
 * When on, GED memory events are dropped (and said so on the console): no
 * scan runs, so insertions and removals are never acknowledged. The power
 * button still works, and the scan command still scans.
 */
void ospm_set_ignore_events(bool on);

/*
 * When on, eject requests are acknowledged (the removing bit cleared) and
 * nothing else: no _OST, no eject, as from a guest that lost the request.
 * Takes precedence over refuse-eject.
 */
void ospm_set_ignore_eject(bool on);

/* "dimm slot=.. addr=.. size=.. node=.." per DIMM in use, then the count. */
void ospm_print_dimms(void);

/*
 * Runs the memory check on the DIMM in slot again and prints the verdict,
 * or an error line when the guest uses no DIMM there.
 */
void ospm_memtest(unsigned slot);
