/* The hotmem power port (include/hotmem/guest-abi.h). */
#pragma once

/* Ends the VM cleanly: hotmem exits with status 0. */
__attribute__((noreturn)) void power_off(void);

/* Prints "panic: <message>" and ends the VM: hotmem exits with status 1. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
