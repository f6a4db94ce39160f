/*
 * hotmem's ACPI hardware as a guest sees it (docs/acpi.md): the Generic
 * Event Device, the FADT sleep control register and the memory hot-plug
 * register block. hotmem-guest drives them directly instead of through the
 * DSDT's AML. Safe to include from assembly.
 */
#pragma once

/* Generic Event Device (docs/acpi.md "Generic Event Device"). */
#define GED_EVENT_PORT          0x0b00  /* 32 bits, read returns and clears */
#define GED_GSI                 9       /* level-triggered, active high */
#define GED_EVENT_MEMORY        0x1     /* memory hot-plug: scan the slots */
#define GED_EVENT_POWER         0x2     /* power button pressed */

/*
 * FADT SLEEP_CONTROL_REG: SLP_TYP (bits 2-4) = 5, the DSDT's \_S5, with
 * SLP_EN (bit 5) enters S5: hotmem powers off and exits 0 (ACPI 6.5
 * 4.8.3, "Sleep Control and Status Registers").
 */
#define ACPI_SLEEP_CONTROL_PORT 0x0b04
#define ACPI_SLP_EN             (1 << 5)
#define ACPI_SLEEP_S5           ((5 << 2) | ACPI_SLP_EN)
/* FADT RESET_REG and RESET_VALUE: hotmem exits on it (no reboot). */
#define ACPI_RESET_PORT         0x0b06
#define ACPI_RESET_VALUE        0x0f

/*
 * Memory hot-plug register block (docs/acpi.md "Memory hot-plug register
 * block"): select a slot first; every other register then refers to it.
 */
#define MEMHP_PORT              0x0a00
#define MEMHP_SELECTOR          (MEMHP_PORT + 0x00)  /* write, 32 bits */
#define MEMHP_ADDR_LO           (MEMHP_PORT + 0x00)  /* read */
#define MEMHP_ADDR_HI           (MEMHP_PORT + 0x04)  /* read */
#define MEMHP_OST_EVENT         (MEMHP_PORT + 0x04)  /* write */
#define MEMHP_SIZE_LO           (MEMHP_PORT + 0x08)  /* read */
#define MEMHP_OST_STATUS        (MEMHP_PORT + 0x08)  /* write: completes _OST */
#define MEMHP_SIZE_HI           (MEMHP_PORT + 0x0c)  /* read */
#define MEMHP_NODE              (MEMHP_PORT + 0x10)  /* read: proximity */
#define MEMHP_STATUS            (MEMHP_PORT + 0x14)  /* read, 8 bits */
#define MEMHP_CONTROL           (MEMHP_PORT + 0x14)  /* write, 8 bits */
#define MEMHP_SLOTS_MAX         256

#define MEMHP_STATUS_ENABLED    0x01
#define MEMHP_STATUS_INSERTING  0x02
#define MEMHP_STATUS_REMOVING   0x04
#define MEMHP_STATUS_NO_SLOT    0xff    /* selector beyond the last slot */
#define MEMHP_CONTROL_CLEAR_INSERT 0x02
#define MEMHP_CONTROL_CLEAR_REMOVE 0x04
#define MEMHP_CONTROL_EJECT     0x08

/*
 * _OST arguments (ACPI 6.5 6.3.5): source events and status codes. 0x103 is
 * the OSPM-initiated eject, which Linux reports after a successful _EJ0.
 */
#define OST_EVENT_DEVICE_CHECK  0x01
#define OST_EVENT_EJECT_REQUEST 0x03
#define OST_EVENT_OSPM_EJECT    0x103
#define OST_SUCCESS             0x00
#define OST_FAILURE             0x01    /* non-specific failure */
#define OST_EJECT_IN_USE        0x81    /* device in use by an application */
#define OST_EJECT_IN_PROGRESS   0x84
