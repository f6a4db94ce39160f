/*
 * hotmem-guest, the bundled guest: boots through the PVH entry (entry.S),
 * which drops to ring 3 at guest_main(). Everything here runs natively in
 * ring 3 with IOPL=3; ring 0 (emulated on the development machines) only
 * handles interrupt entry. See docs/guest-console.md.
 */
#include <hotmem/guest-abi.h>

#include "acpi.h"
#include "acpi_hw.h"
#include "apic.h"
#include "boot.h"
#include "console.h"
#include "guest.h"
#include "ospm.h"
#include "power.h"
#include "print.h"
#include "serial.h"

__attribute__((noreturn)) void guest_main(const struct hvm_start_info *si);

void guest_main(const struct hvm_start_info *si)
{
    static struct boot_info info;

    serial_init();
    if (!boot_read_start_info(&info, si))
        panic("unusable hvm_start_info");
    if (!boot_map_memory(&info))
        panic("cannot build the identity map");

    /*
     * COM1 and the GED interrupt through the I/O APIC to this CPU's local
     * APIC; the 8259s stay masked (they are reachable only through LINT0,
     * which the local APIC leaves masked at reset, SDM Vol. 3A 11.5.1).
     * Ring 3 keeps IF=0, so nothing is delivered before the console idles.
     */
    pic_mask_all();
    lapic_enable(VEC_SPURIOUS);
    ioapic_route(HOTMEM_COM1_IRQ, VEC_SERIAL, lapic_id());
    ioapic_route_level(GED_GSI, VEC_GED, lapic_id());

    /*
     * The ready line stays first (docs/guest-console.md); ACPI follows, then
     * the memory slots and the cold-plugged DIMMs, before any command.
     */
    print_line("ready ram=0x%lx", info.ram_size);
    acpi_boot(&info);
    ospm_boot(&info);
    console_run(&info);
}
