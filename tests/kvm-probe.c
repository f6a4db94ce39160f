/*
 * kvm-probe: what kind of /dev/kvm this machine has, for scripts/test.sh
 * and scripts/demo.sh (docs/testing.md).
 *
 *   HOTMEM_BIN=build/src/hotmem kvm-probe
 *
 * Prints one line and exits with:
 *   0  "fast ring0-mips=N": guest kernel code runs at N MIPS, enough for
 *      every test (at least LINUX_MIN_RING0_MIPS, what booting Linux needs)
 *   1  "emulated ring0-mips=N": /dev/kvm works but emulates guest kernel
 *      code (kvm_pvm measures 0.2-2 MIPS)
 *   2  "none: WHY": no usable /dev/kvm
 *   3  "error: WHY": the measurement itself failed
 * The figure comes from the bundled guest's ring0-mips command.
 */
#include <stdio.h>

#include "linuxenv.h"
#include "vmrunner.h"

int main(void)
{
    const char *nokvm = vm_kvm_unavailable();
    g_autofree char *why = NULL;
    double mips = 0;

    if (nokvm) {
        printf("none: %s\n", nokvm);
        return 2;
    }
    switch (linux_ring0_mips(&mips, NULL, &why)) {
    case LINUX_ENV_OK:
        break;
    case LINUX_ENV_SKIP:
        printf("none: %s\n", why);
        return 2;
    default:
        printf("error: %s\n", why);
        return 3;
    }
    if (mips < LINUX_MIN_RING0_MIPS) {
        printf("emulated ring0-mips=%.1f\n", mips);
        return 1;
    }
    printf("fast ring0-mips=%.1f\n", mips);
    return 0;
}
