/*
 * End-to-end: the real hotmem binary boots the bundled hotmem-guest on
 * /dev/kvm. Skips (with the reason) where /dev/kvm cannot be used.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qmpclient.h"
#include "vmrunner.h"

#define BOOT_TIMEOUT_MS 30000
#define EXIT_TIMEOUT_MS 10000

/*
 * RAM the guest finds in its memory map: all boot RAM but the 0x60400 bytes
 * between the EBDA (0x9fc00) and 1 MiB that hotmem marks reserved.
 */
#define BELOW_1M_RESERVED 0x60400ULL

static bool skip_without_kvm(void)
{
    const char *why = vm_kvm_unavailable();

    if (why)
        g_test_skip(why);
    return why != NULL;
}

static struct vm *boot(const char *const *args)
{
    struct vm *vm = vm_spawn(args);
    g_autofree char *ready = vm_wait_line(vm, "hotmem-guest: ready",
                                          BOOT_TIMEOUT_MS);

    if (!ready)
        g_error("no ready line; console:\n%s\nstderr:\n%s", vm_console(vm),
                vm_stderr(vm));
    return vm;
}

static void check_ready_ram(const char *mem, const char *smp,
                            unsigned long long ram)
{
    const char *args[] = { "-m", mem, "-smp", smp, NULL };
    struct vm *vm = vm_spawn(args);
    g_autofree char *line = vm_wait_line(vm, "hotmem-guest: ", BOOT_TIMEOUT_MS);
    g_autofree char *want = g_strdup_printf("hotmem-guest: ready ram=0x%llx",
                                            ram - BELOW_1M_RESERVED);

    /* The ready line must be the guest's first line. */
    g_assert_nonnull(line);
    g_assert_cmpstr(line, ==, want);
    g_assert_true(vm_send(vm, "poweroff"));
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 0);
    vm_free(vm);
}

static void test_ready_512m_smp2(void)
{
    if (!skip_without_kvm())
        check_ready_ram("512M", "2", 512ULL << 20);
}

static void test_ready_above_4g(void)
{
    /* 5 GiB: 3 GiB below the hole and 2 GiB at 4 GiB. */
    if (!skip_without_kvm())
        check_ready_ram("5G", "1", 5ULL << 30);
}

static void test_console_input(void)
{
    const char *args[] = { "-m", "256M", NULL };
    struct vm *vm;
    g_autofree char *pong = NULL, *echo = NULL;

    if (skip_without_kvm())
        return;
    vm = boot(args);
    g_assert_true(vm_send(vm, "ping"));
    pong = vm_wait_line(vm, "hotmem-guest: pong", 10000);
    g_assert_nonnull(pong);
    /* A line longer than the UART FIFO must arrive whole. */
    g_assert_true(vm_send(vm, "echo the quick brown fox jumps over the lazy "
                              "dog 0123456789"));
    echo = vm_wait_line(vm, "hotmem-guest: echo", 10000);
    g_assert_cmpstr(echo, ==, "hotmem-guest: echo the quick brown fox jumps "
                              "over the lazy dog 0123456789");
    vm_free(vm);
}

/*
 * The walk command (docs/guest-console.md): its report, and the ranges and
 * arguments it refuses.
 */
static void test_console_walk(void)
{
    const char *args[] = { "-m", "256M", NULL };
    struct vm *vm;
    g_autofree char *done = NULL, *low = NULL, *zero = NULL, *bad = NULL;
    const char *at;

    if (skip_without_kvm())
        return;
    vm = boot(args);
    g_assert_true(vm_send(vm, "walk 4000000 400000 1000"));
    done = vm_wait_line(vm, "hotmem-guest: walk", 30000);
    g_assert_nonnull(done);
    g_assert_true(g_str_has_prefix(done, "hotmem-guest: walk done "
                                   "base=0x4000000 size=0x400000 count=1000 "
                                   "ticks="));
    at = strstr(done, " tsc-hz=");
    g_assert_nonnull(at);
    g_assert_cmpuint(g_ascii_strtoull(at + 8, NULL, 10), >, 0);
    g_assert_true(vm_send(vm, "walk 1000 1000 5"));
    low = vm_wait_line(vm, "hotmem-guest: error walk", 10000);
    g_assert_cmpstr(low, ==, "hotmem-guest: error walk: [0x1000, 0x2000) is "
                    "not RAM above the guest's image nor in the DIMM window");
    g_assert_true(vm_send(vm, "walk 4000000 0 5"));
    zero = vm_wait_line(vm, "hotmem-guest: error walk", 10000);
    g_assert_cmpstr(zero, ==, "hotmem-guest: error walk: BASE 0x4000000 and "
                    "SIZE 0x0 must be multiples of 0x1000, SIZE and COUNT "
                    "non-zero");
    g_assert_true(vm_send(vm, "walk 4000000 1000 x"));
    bad = vm_wait_line(vm, "hotmem-guest: error walk", 10000);
    g_assert_cmpstr(bad, ==, "hotmem-guest: error walk: COUNT \"x\" is not a "
                    "decimal number from 0 to 1000000000");
    vm_free(vm);
}

static void check_signal(int sig)
{
    const char *args[] = { "-m", "256M", NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = boot(args);
    vm_signal(vm, sig);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 128 + sig);
    g_assert_nonnull(strstr(vm_stderr(vm), "terminating on signal"));
    vm_free(vm);
}

static void test_sigterm(void)
{
    check_signal(SIGTERM);
}

static void test_sigint(void)
{
    check_signal(SIGINT);
}

static GString *printerr_capture;

static void capture_printerr(const gchar *text)
{
    g_string_append(printerr_capture, text);
}

/*
 * The report a test prints when its VMM went away fits in what meson shows
 * of a failed test's stderr (its last 100 lines) and ends with the exit
 * status, so the status is never the part cut off.
 */
static void check_exit_report(struct vm *vm, const char *status)
{
    GPrintFunc old;
    g_auto(GStrv) lines = NULL;
    guint n;

    printerr_capture = g_string_new(NULL);
    old = g_set_printerr_handler(capture_printerr);
    vm_explain_exit(vm);
    g_set_printerr_handler(old);
    lines = g_strsplit(printerr_capture->str, "\n", -1);
    n = g_strv_length(lines);
    g_assert_cmpuint(n, <=, 40);
    g_assert_cmpstr(lines[n - 2], ==, status);
    g_assert_cmpstr(lines[n - 1], ==, "");
    g_string_free(printerr_capture, TRUE);
}

static void test_triple_fault(void)
{
    const char *args[] = { "-m", "256M", NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = boot(args);
    g_assert_true(vm_send(vm, "crash triple"));
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 1);
    g_assert_nonnull(strstr(vm_stderr(vm), "triple fault"));
    g_assert_nonnull(strstr(vm_stderr(vm), "RIP="));
    /*
     * The guest loads an empty IDT before its ud2. Where KVM keeps the
     * crashed state the report shows that IDT; on AMD SVM, where KVM resets
     * the vCPU at the shutdown, the report must say the registers are the
     * INIT state instead of passing them off as the crash site.
     */
    if (!strstr(vm_stderr(vm), "IDT=0000000000000000/0000")) {
        g_assert_nonnull(strstr(vm_stderr(vm), "KVM reset the vCPU at the "
                                "shutdown (AMD SVM)"));
        g_assert_nonnull(strstr(vm_stderr(vm), "RIP=000000000000fff0"));
    } else {
        g_assert_null(strstr(vm_stderr(vm), "INIT state"));
    }
    check_exit_report(vm, "the VMM exited with status 1");
    vm_free(vm);
}

static void test_guest_exception(void)
{
    const char *args[] = { "-m", "256M", NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = boot(args);
    g_assert_true(vm_send(vm, "crash ud"));
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 1);
    /* The guest reports the vector and the faulting address itself. */
    g_assert_nonnull(strstr(vm_console(vm), "#UD"));
    g_assert_nonnull(strstr(vm_console(vm), "rip=0x"));
    g_assert_nonnull(strstr(vm_console(vm), "vector=6"));
    vm_free(vm);
}

static void test_start_paused(void)
{
    const char *args[] = { "-m", "256M", "-S", NULL };
    struct vm *vm;
    g_autofree char *line = NULL;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    line = vm_wait_line(vm, "hotmem-guest:", 1500);
    g_assert_null(line);
    vm_signal(vm, SIGTERM);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 128 + SIGTERM);
    g_assert_nonnull(strstr(vm_stderr(vm), "paused"));
    vm_free(vm);
}

static void test_serial_file(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "console.log", NULL);
    g_autofree char *opt = g_strconcat("file:", path, NULL);
    const char *args[] = { "-m", "256M", "-serial", opt, NULL };
    g_autofree char *text = NULL;
    struct vm *vm;
    gint64 deadline = g_get_monotonic_time() + BOOT_TIMEOUT_MS * 1000LL;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    while (g_get_monotonic_time() < deadline) {
        g_clear_pointer(&text, g_free);
        if (g_file_get_contents(path, &text, NULL, NULL) &&
            strstr(text, "hotmem-guest: ready"))
            break;
        g_usleep(20000);
    }
    g_assert_nonnull(text);
    g_assert_nonnull(strstr(text, "hotmem-guest: ready ram=0x"));
    g_assert_cmpstr(vm_console(vm), ==, "");
    vm_signal(vm, SIGTERM);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 128 + SIGTERM);
    vm_free(vm);
    g_unlink(path);
    g_rmdir(dir);
}

static void test_daemonize_pidfile(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-XXXXXX", NULL);
    g_autofree char *pidfile = g_build_filename(dir, "vm.pid", NULL);
    const char *args[] = { "-m", "256M", "-serial", "none", "-daemonize",
                           "-pidfile", pidfile, NULL };
    g_autofree char *text = NULL;
    struct vm *vm;
    int pid;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    /* The parent returns once the daemon has started the machine. */
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 0);
    g_assert_true(g_file_get_contents(pidfile, &text, NULL, NULL));
    pid = atoi(text);
    g_assert_cmpint(pid, >, 0);
    g_assert_cmpint(kill(pid, 0), ==, 0);
    g_assert_cmpint(kill(pid, SIGTERM), ==, 0);
    for (int i = 0; i < 500 && g_file_test(pidfile, G_FILE_TEST_EXISTS); i++)
        g_usleep(10000);
    g_assert_false(g_file_test(pidfile, G_FILE_TEST_EXISTS));
    vm_free(vm);
    g_rmdir(dir);
}

/* QEMU's default wait=on: the guest runs once a QMP client connected. */
static void test_qmp_wait(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server", path);
    const char *args[] = { "-m", "256M", "-qmp", spec, NULL };
    g_autofree char *early = NULL, *ready = NULL;
    struct vm *vm;
    int fd;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    early = vm_wait_line(vm, "hotmem-guest:", 1500);
    g_assert_null(early);
    g_assert_nonnull(strstr(vm_stderr(vm), "waiting for a QMP client"));
    fd = qmp_connect_unix(path, 5000);
    g_assert_cmpint(fd, >=, 0);
    ready = vm_wait_line(vm, "hotmem-guest: ready", BOOT_TIMEOUT_MS);
    g_assert_nonnull(ready);
    close(fd);
    vm_signal(vm, SIGTERM);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 128 + SIGTERM);
    vm_free(vm);
    g_unlink(path);
    g_rmdir(dir);
}

/* A signal while waiting for the QMP client ends hotmem cleanly. */
static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The threads of a running VM, by name (/proc/PID/task/N/comm), sorted and
 * joined with spaces. KVM's own workers that the kernel files under the
 * process (kvm-nx-lpage-recovery) are left out: hotmem does not make them.
 */
static char *thread_names(pid_t pid)
{
    g_autofree char *tasks = g_strdup_printf("/proc/%d/task", (int)pid);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    GDir *dir = g_dir_open(tasks, 0, NULL);
    const char *t;

    g_assert_nonnull(dir);
    while ((t = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(tasks, t, "comm", NULL);
        char *comm = NULL;

        if (!g_file_get_contents(path, &comm, NULL, NULL))
            continue;
        g_strchomp(comm);
        if (g_str_has_prefix(comm, "kvm-"))
            g_free(comm);
        else
            g_ptr_array_add(names, comm);
    }
    g_dir_close(dir);
    g_ptr_array_sort(names, by_name);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

/*
 * A running VM is its main thread and one thread per vCPU: no thread
 * waits for signals (GLib's "gmain" worker did, for SIGINT, SIGTERM and
 * SIGHUP), and SIGTERM still ends it.
 */
static void test_threads(void)
{
    const char *args[] = { "-m", "256M", "-smp", "2", NULL };
    g_autofree char *names = NULL;
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = boot(args);
    /* A vCPU thread names itself once it runs: on a loaded host vcpu1 may
     * still be "hotmem" when vcpu0's guest says it is ready. */
    for (int i = 0; i < 500; i++) {
        g_free(names);
        names = thread_names(vm_pid(vm));
        if (!strcmp(names, "hotmem vcpu0 vcpu1"))
            break;
        g_usleep(10 * 1000);
    }
    g_assert_cmpstr(names, ==, "hotmem vcpu0 vcpu1");
    vm_signal(vm, SIGTERM);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 128 + SIGTERM);
    g_assert_nonnull(strstr(vm_stderr(vm), "terminating on signal 15"));
    vm_free(vm);
}

static void test_qmp_wait_signal(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=on",
                                            path);
    const char *args[] = { "-m", "256M", "-qmp", spec, NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    for (int i = 0; i < 500 && !g_file_test(path, G_FILE_TEST_EXISTS); i++)
        g_usleep(10000);
    vm_signal(vm, SIGTERM);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 128 + SIGTERM);
    g_assert_cmpstr(vm_console(vm), ==, "");
    /* The socket file is removed on the way out. */
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    vm_free(vm);
    g_rmdir(dir);
}

static void test_bad_kernel(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "not-a-kernel", NULL);
    const char *args[] = { "-kernel", path, NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    g_assert_true(g_file_set_contents(path, "hello, not a kernel\n", -1,
                                      NULL));
    vm = vm_spawn(args);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 1);
    g_assert_nonnull(strstr(vm_stderr(vm), path));
    g_assert_cmpstr(vm_console(vm), ==, "");
    vm_free(vm);
    g_unlink(path);
    g_rmdir(dir);
}

/*
 * Issue 15, defect 9: -kernel /dev/zero read without end (5 GB in 8 s) and
 * -kernel FIFO blocked startup in open(). Only regular files are images.
 */
static void check_not_regular(const char *opt, const char *path,
                              const char *kind)
{
    const char *args[] = { opt, path, "-serial", "none", NULL };
    g_autofree char *want = g_strdup_printf("%s %s: not a regular file (%s)",
                                            opt, path, kind);
    struct vm *vm = vm_spawn(args);

    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 1);
    if (!strstr(vm_stderr(vm), want))
        g_error("stderr lacks '%s':\n%s", want, vm_stderr(vm));
    vm_free(vm);
}

/* A regular file is read only if it can fit in guest RAM. */
static void test_kernel_larger_than_ram(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, "sparse", NULL);
    const char *args[] = { "-m", "64M", "-initrd", path, "-serial", "none",
                           NULL };
    g_autofree char *want = g_strdup_printf(
        "-initrd %s: the file is 0x4000001 bytes, more than the 0x4000000 "
        "bytes of guest RAM it must be loaded into", path);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    struct vm *vm;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, (64 << 20) + 1), ==, 0);
    close(fd);
    vm = vm_spawn(args);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 1);
    if (!strstr(vm_stderr(vm), want))
        g_error("stderr lacks '%s':\n%s", want, vm_stderr(vm));
    vm_free(vm);
    g_unlink(path);
}

static void test_kernel_not_regular(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-XXXXXX", NULL);
    g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);

    if (skip_without_kvm())
        return;
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    check_not_regular("-kernel", fifo, "a FIFO");
    check_not_regular("-initrd", fifo, "a FIFO");
    check_not_regular("-kernel", "/dev/zero", "a character device");
    check_not_regular("-initrd", "/dev/zero", "a character device");
    check_not_regular("-kernel", dir, "a directory");
    g_unlink(fifo);
    test_kernel_larger_than_ram(dir);
    g_rmdir(dir);
}

/*
 * Issue 15, defect 14: -m 16T failed with KVM's bare "Invalid argument".
 * The error names the limit: the RAM above 4 GiB is one memslot, and KVM
 * takes at most 2^31 - 1 pages in one.
 */
static void test_ram_too_large_for_memslot(void)
{
    const char *args[] = { "-m", "16T", "-serial", "none", NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 1);
    /* A host with fewer than 45 physical address bits says that first. */
    if (!strstr(vm_stderr(vm), "beyond the guest physical address width") &&
        !strstr(vm_stderr(vm), "-m: memory region [0x100000000, "
                "+0xfff40000000) of ram-above-4g is larger than KVM allows "
                "in one memory slot: at most 0x7fffffff000 bytes (2^31 - 1 "
                "pages of 4 KiB)"))
        g_error("unexpected error:\n%s", vm_stderr(vm));
    vm_free(vm);
}

static void test_bad_option(void)
{
    const char *args[] = { "-m", "512M,slots=4", NULL };
    struct vm *vm = vm_spawn(args);

    /* Needs no KVM: the command line is rejected before anything starts. */
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 1);
    g_assert_nonnull(strstr(vm_stderr(vm), "-m"));
    g_assert_cmpstr(vm_console(vm), ==, "");
    vm_free(vm);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/boot/ready/512M-smp2", test_ready_512m_smp2);
    g_test_add_func("/boot/ready/above-4g", test_ready_above_4g);
    g_test_add_func("/boot/console/input", test_console_input);
    g_test_add_func("/boot/console/walk", test_console_walk);
    g_test_add_func("/boot/lifecycle/sigterm", test_sigterm);
    g_test_add_func("/boot/lifecycle/sigint", test_sigint);
    g_test_add_func("/boot/lifecycle/threads", test_threads);
    g_test_add_func("/boot/lifecycle/triple-fault", test_triple_fault);
    g_test_add_func("/boot/lifecycle/guest-exception", test_guest_exception);
    g_test_add_func("/boot/lifecycle/start-paused", test_start_paused);
    g_test_add_func("/boot/lifecycle/daemonize-pidfile",
                    test_daemonize_pidfile);
    g_test_add_func("/boot/serial/file", test_serial_file);
    g_test_add_func("/boot/qmp/wait-for-client", test_qmp_wait);
    g_test_add_func("/boot/qmp/wait-then-signal", test_qmp_wait_signal);
    g_test_add_func("/boot/errors/bad-kernel", test_bad_kernel);
    g_test_add_func("/boot/errors/bad-option", test_bad_option);
    g_test_add_func("/boot/errors/ram-too-large-for-memslot",
                    test_ram_too_large_for_memslot);
    g_test_add_func("/boot/errors/kernel-not-regular",
                    test_kernel_not_regular);
    return g_test_run();
}
