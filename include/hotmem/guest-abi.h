/*
 * The small contract between hotmem and a guest that is not spelled by a
 * standard: the power port (until ACPI sleep registers exist). Included by the
 * VMM and by hotmem-guest. Documented in docs/guest-console.md.
 */
#pragma once

/*
 * Power port: an 8-bit write ends the VM.
 *   HOTMEM_POWER_OFF    clean power-off: hotmem exits with status 0
 *   HOTMEM_POWER_PANIC  the guest hit a fatal error it has already reported
 *                       on the console: hotmem exits with status 1
 * Other values are ignored. Reads return 0.
 */
#define HOTMEM_POWER_PORT   0x0510
#define HOTMEM_POWER_OFF    0x00
#define HOTMEM_POWER_PANIC  0x01

/* COM1, as on every PC. */
#define HOTMEM_COM1_PORT    0x03f8
#define HOTMEM_COM1_IRQ     4
