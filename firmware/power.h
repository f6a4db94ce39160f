/* The hotmem power port (include/hotmem/guest-abi.h) and ACPI S5. */
#pragma once

/* Ends the VM cleanly: hotmem exits with status 0. */
__attribute__((noreturn)) void power_off(void);

/*
 * Enters S5 through the FADT sleep control register (docs/acpi.md): hotmem
 * exits with status 0. Without that register (plain QEMU) the guest sleeps.
 */
__attribute__((noreturn)) void power_off_acpi(void);

/* Prints "panic: <message>" and ends the VM: hotmem exits with status 1. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
