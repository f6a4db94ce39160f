/*
 * hotmem where KVM cannot be had: it says why and what to do, and exits 1
 * without starting anything (no /dev/kvm needed; $HOTMEM_KVM stands in for
 * the device path).
 */
#include <glib.h>
#include <string.h>

static char *run_with_device(const char *dev, int *status)
{
    const char *argv[] = { g_getenv("HOTMEM_BIN"), "-m", "64M", NULL };
    g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "HOTMEM_KVM", dev,
                                         TRUE);
    g_autofree char *out = NULL;
    char *err = NULL;
    g_autoptr(GError) e = NULL;

    g_assert_nonnull(argv[0]);
    if (!g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL,
                      &out, &err, status, &e))
        g_error("cannot run hotmem: %s", e->message);
    return err;
}

static void test_missing_device(void)
{
    int status;
    g_autofree char *err = run_with_device("/nonexistent/kvm", &status);

    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_nonnull(strstr(err, "cannot open /nonexistent/kvm: No such "
                            "file or directory; "));
    /* Either the module hint or the nested host, by what the CPU offers. */
    g_assert_true(strstr(err, "modprobe kvm_intel or kvm_amd") ||
                  strstr(err, "tests/rig/run runs hotmem inside a nested "
                         "KVM host"));
}

static void test_not_a_kvm_device(void)
{
    int status;
    g_autofree char *err = run_with_device("/dev/null", &status);

    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_nonnull(strstr(err, "/dev/null is not a KVM device "
                            "(KVM_GET_API_VERSION: Inappropriate ioctl for "
                            "device)"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nokvm/missing-device", test_missing_device);
    g_test_add_func("/nokvm/not-a-kvm-device", test_not_a_kvm_device);
    return g_test_run();
}
