/* Where a hotmem-vs-QEMU benchmark runs (rigexec.h). */
#include "rigexec.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <glib.h>

#include "linuxenv.h"
#include "vmrunner.h"

char *bench_rig_reason(bool here)
{
    const char *nokvm = vm_kvm_unavailable();
    g_autofree char *why = NULL;
    double mips = 0;

    if (here || g_getenv("HOTMEM_RIG"))
        return NULL;
    if (nokvm)
        return g_strdup_printf("no usable /dev/kvm here (%s)", nokvm);
    if (linux_ring0_mips(&mips, NULL, &why) != LINUX_ENV_OK)
        return g_strdup_printf("the KVM probe failed here (%s)", why);
    if (mips < LINUX_MIN_RING0_MIPS)
        return g_strdup_printf("/dev/kvm here emulates guest kernel code "
                               "(ring0-mips=%.1f)", mips);
    return NULL;
}

int bench_rig_exec(const char *name, const char *why, unsigned quiet_limit_s,
                   char **argv)
{
    g_autofree char *rig = g_build_filename(HOTMEM_SOURCE_ROOT, "tests",
                                            "rig", "run", NULL);
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *quiet = g_strdup_printf("%u", quiet_limit_s);
    g_autoptr(GPtrArray) a = g_ptr_array_new();

    printf("%s: %s: running inside the nested KVM host (tests/rig/run)."
           " Both VMMs run there, under the same emulated CPU, so only the "
           "ratios mean something, not the times.\n", name, why);
    fflush(stdout);
    g_ptr_array_add(a, rig);
    g_ptr_array_add(a, "--timeout");
    g_ptr_array_add(a, "10800");
    g_ptr_array_add(a, "--quiet-limit");
    g_ptr_array_add(a, quiet);
    g_ptr_array_add(a, "--");
    g_ptr_array_add(a, self);
    for (int i = 1; argv[i]; i++)
        g_ptr_array_add(a, argv[i]);
    g_ptr_array_add(a, NULL);
    execv(rig, (char **)a->pdata);
    fprintf(stderr, "%s: cannot run %s: %s\n", name, rig, g_strerror(errno));
    return 1;
}
