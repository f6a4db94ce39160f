/*
 * Full memory hot-plug with a real Linux guest: runs linux-hotplug.scn
 * (argv[1]) with hotmem-harness against Debian's cloud kernel and a busybox
 * initramfs. Booting Linux to a shell needs a host that runs guest kernel
 * code natively, so the guest's ring-0 speed is measured first with
 * hotmem-guest's ring0-mips command; below LINUX_MIN_RING0_MIPS the test
 * skips and says what it measured.
 *
 * Environment:
 *   HOTMEM_BIN, HARNESS_BIN, HOTMEM_LINUX_DIR   set by meson
 *   HOTMEM_LINUX_BOOT=bzimage    boot the bzImage instead of the PVH vmlinux
 *   HOTMEM_LINUX_FORCE=1         run even on a slow host (to see how far
 *                                Linux gets; raise the harness timeouts with
 *                                HOTMEM_HARNESS_TIMEOUT_SCALE)
 *
 * Output: TAP from the harness, preceded by the measurement as a comment;
 * or "1..0 # SKIP why".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "linuxenv.h"

static int skip(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    return 0;
}

static int bail(const char *why)
{
    printf("1..1\nnot ok 1 - prepare\n");
    for (const char *l = why; *l;) {
        const char *nl = strchr(l, '\n');
        int len = nl ? (int)(nl - l) : (int)strlen(l);

        printf("# %.*s\n", len, l);
        l += len + (nl != NULL);
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *harness = g_getenv("HARNESS_BIN");
    const char *vmm = g_getenv("HOTMEM_BIN");
    const char *boot = g_getenv("HOTMEM_LINUX_BOOT");
    bool force = g_strcmp0(g_getenv("HOTMEM_LINUX_FORCE"), "1") == 0;
    g_autofree char *why = NULL, *report = NULL, *initrd = NULL;
    g_autofree char *kdef = NULL, *idef = NULL;
    struct linux_kernel k;
    double mips = 0;

    if (argc != 2 || !harness || !vmm) {
        fprintf(stderr, "usage: HARNESS_BIN=... HOTMEM_BIN=... %s FILE.scn\n",
                argv[0]);
        return 2;
    }
    switch (linux_ring0_mips(&mips, &report, &why)) {
    case LINUX_ENV_SKIP:
        return skip(why);
    case LINUX_ENV_FAIL:
        return bail(why);
    case LINUX_ENV_OK:
        break;
    }
    printf("# %s\n", report);
    if (mips < LINUX_MIN_RING0_MIPS && !force) {
        g_autofree char *msg = linux_too_slow_message(mips);

        return skip(msg);
    }
    switch (linux_kernel_get(&k, &why)) {
    case LINUX_ENV_SKIP:
        return skip(why);
    case LINUX_ENV_FAIL:
        return bail(why);
    case LINUX_ENV_OK:
        break;
    }
    switch (linux_initramfs_get(&initrd, &why)) {
    case LINUX_ENV_SKIP:
        return skip(why);
    case LINUX_ENV_FAIL:
        return bail(why);
    case LINUX_ENV_OK:
        break;
    }
    printf("# %s %s, %s\n", k.package, k.version, initrd);
    fflush(stdout);
    kdef = g_strdup_printf("KERNEL=%s", g_strcmp0(boot, "bzimage")
                                        ? k.vmlinux : k.vmlinuz);
    idef = g_strdup_printf("INITRD=%s", initrd);
    execl(harness, harness, "--vmm", vmm, "-D", kdef, "-D", idef, argv[1],
          (char *)NULL);
    why = g_strdup_printf("cannot run %s: %s", harness, g_strerror(errno));
    return bail(why);
}
