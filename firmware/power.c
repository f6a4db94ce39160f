/*
 * Power-off and panic through the hotmem power port (guest-abi.h), and
 * power-off through the FADT sleep control register (ACPI S5).
 */
#include "power.h"

#include <hotmem/guest-abi.h>

#include "acpi_hw.h"
#include "io.h"
#include "print.h"
#include "syscall.h"

/* Without a power port device (plain QEMU) the write is ignored: sleep. */
static __attribute__((noreturn)) void idle_forever(void)
{
    for (;;)
        sys_idle();
}

void power_off(void)
{
    outb(HOTMEM_POWER_PORT, HOTMEM_POWER_OFF);
    idle_forever();
}

void power_off_acpi(void)
{
    outb(ACPI_SLEEP_CONTROL_PORT, ACPI_SLEEP_S5);
    idle_forever();
}

void panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_vline("panic: ", fmt, ap);
    va_end(ap);
    outb(HOTMEM_POWER_PORT, HOTMEM_POWER_PANIC);
    idle_forever();
}
