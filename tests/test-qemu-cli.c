/*
 * End-to-end: QEMU command-line options that change what hotmem does at run
 * time, with the real binary and hotmem-guest (tests/test-cli.c checks how
 * they parse). Skips where /dev/kvm cannot be used.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qmpclient.h"
#include "vmrunner.h"

#define BOOT_TIMEOUT_MS 30000
#define QMP_TIMEOUT_MS  30000
#define EXIT_TIMEOUT_MS 10000

static bool skip_without_kvm(void)
{
    const char *why = vm_kvm_unavailable();

    if (why)
        g_test_skip(why);
    return why != NULL;
}

struct fixture {
    char *dir;
    char *sock;
    struct vm *vm;
    struct qmp *qmp;
};

static void wait_ready(struct vm *vm)
{
    g_autofree char *ready = vm_wait_line(vm, "hotmem-guest: ready",
                                          BOOT_TIMEOUT_MS);

    if (!ready)
        g_error("no ready line; console:\n%s\nstderr:\n%s", vm_console(vm),
                vm_stderr(vm));
}

/*
 * Starts hotmem with args plus, unless qmp_args is false, a -qmp socket;
 * waits for the guest and connects. "@SOCK@" and "@DIR@" in args are the
 * socket path and the test's directory.
 */
static void start(struct fixture *f, const char *const *args, bool qmp_args)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    f->dir = g_dir_make_tmp("hotmem-qemu-cli-XXXXXX", NULL);
    f->sock = g_build_filename(f->dir, "qmp.sock", NULL);
    for (; *args; args++) {
        g_autofree char *a = g_strdup(*args);
        g_auto(GStrv) p1 = g_strsplit(a, "@SOCK@", -1);
        g_autofree char *b = g_strjoinv(f->sock, p1);
        g_auto(GStrv) p2 = g_strsplit(b, "@DIR@", -1);

        g_ptr_array_add(argv, g_strjoinv(f->dir, p2));
    }
    if (qmp_args) {
        g_ptr_array_add(argv, g_strdup("-qmp"));
        g_ptr_array_add(argv, g_strdup_printf("unix:%s,server=on,wait=off",
                                              f->sock));
    }
    g_ptr_array_add(argv, NULL);
    f->vm = vm_spawn((const char *const *)argv->pdata);
    g_ptr_array_free(argv, TRUE);
    wait_ready(f->vm);
    f->qmp = qmp_connect(f->sock, QMP_TIMEOUT_MS);
}

static void finish(struct fixture *f)
{
    if (f->qmp)
        qmp_close(f->qmp);
    vm_free(f->vm);
    g_unlink(f->sock);
    g_rmdir(f->dir);
    g_free(f->sock);
    g_free(f->dir);
}

static const char *status_of(struct qmp *q)
{
    static char buf[32];
    json_object *r = qmp_return(q, "{\"execute\": \"query-status\"}"), *s;

    g_assert_true(json_object_object_get_ex(r, "status", &s));
    g_strlcpy(buf, json_object_get_string(s), sizeof(buf));
    json_object_put(r);
    return buf;
}

static void expect_shutdown_event(struct qmp *q, const char *reason)
{
    json_object *ev = qmp_wait_event(q, "SHUTDOWN", QMP_TIMEOUT_MS), *data,
                *v;

    g_assert_nonnull(ev);
    g_assert_true(json_object_object_get_ex(ev, "data", &data));
    g_assert_true(json_object_object_get_ex(data, "guest", &v));
    g_assert_true(json_object_get_boolean(v));
    g_assert_true(json_object_object_get_ex(data, "reason", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, reason);
    json_object_put(ev);
}

/*
 * -no-shutdown: the guest's power-off stops the VM; hotmem stays, in
 * state "shutdown", until quit. cmd is the guest's way to power off.
 */
static void check_no_shutdown(const char *cmd)
{
    const char *args[] = { "-m", "256M", "-no-shutdown", NULL };
    struct fixture f = { 0 };
    json_object *ev;

    if (skip_without_kvm())
        return;
    start(&f, args, true);
    g_assert_cmpstr(status_of(f.qmp), ==, "running");
    g_assert_true(vm_send(f.vm, cmd));
    expect_shutdown_event(f.qmp, "guest-shutdown");
    ev = qmp_wait_event(f.qmp, "STOP", QMP_TIMEOUT_MS);
    g_assert_nonnull(ev);
    json_object_put(ev);
    /* Still there: the monitor answers, and says shutdown. */
    g_assert_cmpstr(status_of(f.qmp), ==, "shutdown");
    qmp_fails(f.qmp, "Resetting the Virtual Machine is required",
              "{\"execute\": \"cont\"}");
    g_assert_cmpstr(status_of(f.qmp), ==, "shutdown");
    /* system_reset makes it a machine that has not run yet (QEMU's
     * prelaunch); cont boots the guest again. */
    qmp_ok(f.qmp, "{\"execute\": \"system_reset\"}");
    ev = qmp_wait_event(f.qmp, "RESET", QMP_TIMEOUT_MS);
    g_assert_nonnull(ev);
    json_object_put(ev);
    g_assert_cmpstr(status_of(f.qmp), ==, "prelaunch");
    qmp_ok(f.qmp, "{\"execute\": \"cont\"}");
    {
        g_autofree char *ready = vm_wait_line(f.vm, "hotmem-guest: ready",
                                              QMP_TIMEOUT_MS);

        g_assert_nonnull(ready);
    }
    g_assert_cmpstr(status_of(f.qmp), ==, "running");
    qmp_ok(f.qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f.vm, EXIT_TIMEOUT_MS), ==, 0);
    finish(&f);
}

static void test_no_shutdown_power_port(void)
{
    check_no_shutdown("poweroff");
}

/* ACPI S5: SLP_TYP 5 with SLP_EN in the sleep control register. */
static void test_no_shutdown_acpi_s5(void)
{
    check_no_shutdown("outb 0xb04 0x34");
}

/* -no-reboot: a guest reset ends hotmem, status 0, reason guest-reset. */
static void test_no_reboot(void)
{
    const char *args[] = { "-m", "256M", "-no-reboot", NULL };
    struct fixture f = { 0 };

    if (skip_without_kvm())
        return;
    start(&f, args, true);
    g_assert_true(vm_send(f.vm, "outb 0xb06 0xf"));
    expect_shutdown_event(f.qmp, "guest-reset");
    g_assert_cmpint(vm_wait_exit(f.vm, EXIT_TIMEOUT_MS), ==, 0);
    finish(&f);
}

/* libvirt's monitor: -chardev socket,path=... + -mon mode=control. */
static void test_chardev_mon_path(void)
{
    const char *args[] = {
        "-m", "256M", "-chardev",
        "socket,id=charmonitor,path=@SOCK@,server=on,wait=off",
        "-mon", "chardev=charmonitor,id=monitor,mode=control", NULL };
    struct fixture f = { 0 };

    if (skip_without_kvm())
        return;
    start(&f, args, false);
    g_assert_cmpstr(status_of(f.qmp), ==, "running");
    qmp_ok(f.qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f.vm, EXIT_TIMEOUT_MS), ==, 0);
    finish(&f);
}

/* A socket bound and listening at path, inherited by children. */
static int listening_socket(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    return fd;
}

/* libvirt's other way: the listening socket passed as fd=N. */
static void test_chardev_mon_fd(void)
{
    struct fixture f = { 0 };
    g_autofree char *spec = NULL;
    const char *args[] = { "-m", "256M", "-chardev", NULL, "-mon",
                           "chardev=charmonitor,id=monitor,mode=control",
                           NULL };
    int fd;

    if (skip_without_kvm())
        return;
    f.dir = g_dir_make_tmp("hotmem-qemu-cli-XXXXXX", NULL);
    f.sock = g_build_filename(f.dir, "libvirt-monitor.sock", NULL);
    fd = listening_socket(f.sock);
    spec = g_strdup_printf("socket,id=charmonitor,fd=%d,server=on,wait=off",
                           fd);
    args[3] = spec;
    f.vm = vm_spawn(args);
    close(fd);      /* hotmem holds it now */
    wait_ready(f.vm);
    f.qmp = qmp_connect(f.sock, QMP_TIMEOUT_MS);
    g_assert_cmpstr(status_of(f.qmp), ==, "running");
    qmp_ok(f.qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f.vm, EXIT_TIMEOUT_MS), ==, 0);
    finish(&f);
}

static json_object *find_memdev(struct qmp *q, const char *id);

/* libvirt's whole command line for a VM with a DIMM, as it writes it. */
static void test_libvirt_command_line(void)
{
    struct fixture f = { 0 };
    g_autofree char *chardev = NULL;
    json_object *r, *m;
    int fd;

    if (skip_without_kvm())
        return;
    f.dir = g_dir_make_tmp("hotmem-qemu-cli-XXXXXX", NULL);
    f.sock = g_build_filename(f.dir, "monitor.sock", NULL);
    fd = listening_socket(f.sock);
    chardev = g_strdup_printf("socket,id=charmonitor,fd=%d,server=on,"
                              "wait=off", fd);
    const char *args[] = {
        "-name", "guest=vm1,debug-threads=on", "-S",
        "-machine", "pc-q35-7.2,usb=off,vmport=off,dump-guest-core=off,"
        "memory-backend=pc.ram",
        "-accel", "kvm", "-cpu", "host,migratable=on",
        "-m", "size=262144k,slots=16,maxmem=8388608k",
        "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":"
        "\"pc.ram\",\"size\":268435456}",
        "-overcommit", "mem-lock=off", "-smp", "2,sockets=2,cores=1,threads=1",
        "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":"
        "\"memdimm0\",\"size\":134217728}",
        "-device", "{\"driver\":\"pc-dimm\",\"node\":0,\"memdev\":"
        "\"memdimm0\",\"id\":\"dimm0\",\"slot\":0}",
        "-no-user-config", "-nodefaults", "-chardev", chardev,
        "-mon", "chardev=charmonitor,id=monitor,mode=control",
        "-rtc", "base=utc", "-no-shutdown", "-boot", "strict=on",
        "-msg", "timestamp=on", "-display", "none", "-serial", "mon:stdio",
        NULL };

    f.vm = vm_spawn(args);
    close(fd);
    f.qmp = qmp_connect(f.sock, QMP_TIMEOUT_MS);
    g_assert_cmpstr(status_of(f.qmp), ==, "prelaunch");
    r = qmp_return(f.qmp, "{\"execute\": \"query-memory-devices\"}");
    g_assert_cmpuint(json_object_array_length(r), ==, 1);
    json_object_put(r);
    m = find_memdev(f.qmp, "pc.ram");
    g_assert_nonnull(m);
    json_object_put(m);
    qmp_ok(f.qmp, "{\"execute\": \"cont\"}");
    wait_ready(f.vm);
    g_assert_cmpstr(status_of(f.qmp), ==, "running");
    qmp_ok(f.qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f.vm, EXIT_TIMEOUT_MS), ==, 0);
    finish(&f);
}

/* fd=N that is not a listening socket: refused at startup, saying so. */
static void test_chardev_mon_fd_not_listening(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-qemu-cli-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "file", NULL);
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    g_autofree char *spec = g_strdup_printf(
        "socket,id=c,fd=%d,server=on,wait=off", fd);
    const char *args[] = { "-m", "256M", "-chardev", spec, "-mon",
                           "c,mode=control", NULL };
    g_autofree char *want = g_strdup_printf(
        "fd %d is not a listening stream socket", fd);
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    close(fd);
    g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 1);
    if (!strstr(vm_stderr(vm), want))
        g_error("stderr lacks '%s':\n%s", want, vm_stderr(vm));
    vm_free(vm);
    g_unlink(path);
    g_rmdir(dir);
}

/* The guest's own view of its address width: its "info" line. */
static unsigned guest_phys_bits(struct vm *vm)
{
    g_autofree char *line = NULL;
    const char *p;

    g_assert_true(vm_send(vm, "info"));
    line = vm_wait_line(vm, "hotmem-guest: info", 10000);
    g_assert_nonnull(line);
    p = strstr(line, "phys-bits=");
    g_assert_nonnull(p);
    return (unsigned)strtoul(p + 10, NULL, 10);
}

/* This host's KVM width, as hotmem (-cpu host, the default) gives it. */
static unsigned host_phys_bits(void)
{
    const char *args[] = { "-m", "256M", NULL };
    struct fixture f = { 0 };
    unsigned bits;

    start(&f, args, true);
    bits = guest_phys_bits(f.vm);
    qmp_ok(f.qmp, "{\"execute\": \"quit\"}");
    finish(&f);
    return bits;
}

static void check_phys_bits(const char *cpu, unsigned want)
{
    const char *args[] = { "-m", "256M,slots=2,maxmem=1G", "-cpu", cpu,
                           NULL };
    struct fixture f = { 0 };

    start(&f, args, true);
    g_test_message("-cpu %s: phys-bits=%u", cpu, want);
    g_assert_cmpuint(guest_phys_bits(f.vm), ==, want);
    qmp_ok(f.qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f.vm, EXIT_TIMEOUT_MS), ==, 0);
    finish(&f);
}

/* -cpu ...,phys-bits=: the guest's CPUID 0x80000008 says it. */
static void test_cpu_phys_bits(void)
{
    unsigned host;
    g_autofree char *too_many = NULL;
    const char *args[] = { "-m", "256M", "-cpu", NULL, NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    host = host_phys_bits();
    g_assert_cmpuint(host, >, 36);
    check_phys_bits("host,phys-bits=36", 36);
    check_phys_bits("max,phys-bits=37,host-phys-bits=off", 37);
    check_phys_bits("host,host-phys-bits=on,host-phys-bits-limit=38", 38);
    check_phys_bits("qemu64", MIN(host, 40));
    check_phys_bits("kvm64,host-phys-bits=on", host);
    /* More than the host maps: refused before anything runs. */
    if (host < 52) {
        too_many = g_strdup_printf("host,phys-bits=%u", host + 1);
        args[3] = too_many;
        vm = vm_spawn(args);
        g_assert_cmpint(vm_wait_exit(vm, EXIT_TIMEOUT_MS), ==, 1);
        g_assert_nonnull(strstr(vm_stderr(vm), "is more than the"));
        vm_free(vm);
    }
}

static json_object *memslot_owners(struct qmp *q)
{
    json_object *r = qmp_return(q, "{\"execute\": \"x-query-memslots\"}");
    json_object *slots, *owners = json_object_new_array();

    g_assert_true(json_object_object_get_ex(r, "slots", &slots));
    for (size_t i = 0; i < json_object_array_length(slots); i++) {
        json_object *owner;

        g_assert_true(json_object_object_get_ex(
            json_object_array_get_idx(slots, i), "owner", &owner));
        json_object_array_add(owners, json_object_get(owner));
    }
    json_object_put(r);
    return owners;
}

static json_object *find_memdev(struct qmp *q, const char *id)
{
    json_object *r = qmp_return(q, "{\"execute\": \"query-memdev\"}");

    for (size_t i = 0; i < json_object_array_length(r); i++) {
        json_object *m = json_object_array_get_idx(r, i), *v;

        if (json_object_object_get_ex(m, "id", &v) &&
            !g_strcmp0(json_object_get_string(v), id)) {
            json_object_get(m);
            json_object_put(r);
            return m;
        }
    }
    json_object_put(r);
    return NULL;
}

static bool memdev_bool(json_object *m, const char *key)
{
    json_object *v;

    g_assert_true(json_object_object_get_ex(m, key, &v));
    return json_object_get_boolean(v);
}

#define MARK_ADDR 0x0e000000ULL     /* 224 MiB: RAM the guest leaves free */

/*
 * -M memory-backend=ID: boot RAM is that -object's memory. With a shared
 * file backend, what the guest writes is in the file.
 */
static void test_memory_backend(void)
{
    const char *args[] = {
        "-M", "q35,memory-backend=r0", "-object",
        "memory-backend-file,id=r0,size=256M,mem-path=@DIR@/ram,share=on",
        NULL };
    struct fixture f = { 0 };
    g_autofree char *file = NULL, *poked = NULL;
    json_object *owners;
    guint64 mark = 0;
    int fd;

    if (skip_without_kvm())
        return;
    start(&f, args, true);
    owners = memslot_owners(f.qmp);
    g_assert_cmpuint(json_object_array_length(owners), ==, 1);
    g_assert_cmpstr(json_object_get_string(
        json_object_array_get_idx(owners, 0)), ==, "r0");
    json_object_put(owners);
    g_assert_true(vm_send(f.vm, "poke 0xe000000 0x6d656d2d6261636b"));
    poked = vm_wait_line(f.vm, "hotmem-guest: poke", 10000);
    g_assert_nonnull(poked);
    file = g_build_filename(f.dir, "ram", NULL);
    fd = open(file, O_RDONLY);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, &mark, sizeof(mark), MARK_ADDR), ==,
                    sizeof(mark));
    close(fd);
    g_assert_cmphex(mark, ==, 0x6d656d2d6261636bULL);
    qmp_ok(f.qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f.vm, EXIT_TIMEOUT_MS), ==, 0);
    g_unlink(file);
    finish(&f);
}

/*
 * -mem-path DIR -mem-prealloc: boot RAM is a preallocated file backend
 * called pc.ram (an unlinked file in DIR), and prealloc=on becomes the
 * default of backends added later.
 */
static void test_mem_path_prealloc(void)
{
    const char *args[] = { "-m", "128M,slots=2,maxmem=1G", "-mem-path",
                           "@DIR@", "-mem-prealloc", NULL };
    struct fixture f = { 0 };
    json_object *m, *owners;

    if (skip_without_kvm())
        return;
    start(&f, args, true);
    owners = memslot_owners(f.qmp);
    g_assert_cmpstr(json_object_get_string(
        json_object_array_get_idx(owners, 0)), ==, "pc.ram");
    json_object_put(owners);
    m = find_memdev(f.qmp, "pc.ram");
    g_assert_nonnull(m);
    g_assert_true(memdev_bool(m, "prealloc"));
    g_assert_false(memdev_bool(m, "share"));
    json_object_put(m);
    qmp_ok(f.qmp, "{\"execute\": \"object-add\", \"arguments\": "
                  "{\"qom-type\": \"memory-backend-ram\", \"id\": \"m1\", "
                  "\"size\": 2097152}}");
    qmp_ok(f.qmp, "{\"execute\": \"object-add\", \"arguments\": "
                  "{\"qom-type\": \"memory-backend-ram\", \"id\": \"m2\", "
                  "\"size\": 2097152, \"prealloc\": false}}");
    m = find_memdev(f.qmp, "m1");
    g_assert_true(memdev_bool(m, "prealloc"));
    json_object_put(m);
    m = find_memdev(f.qmp, "m2");
    g_assert_false(memdev_bool(m, "prealloc"));
    json_object_put(m);
    qmp_ok(f.qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f.vm, EXIT_TIMEOUT_MS), ==, 0);
    finish(&f);
}

static uint64_t proc_status_kib(int pid, const char *field)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *text = NULL;
    const char *p;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, field);
    g_assert_nonnull(p);
    return g_ascii_strtoull(p + strlen(field), NULL, 10);
}

/*
 * A command line as QEMU scripts write it: accepted, the guest runs on the
 * console of -serial mon:stdio; -name process= names the process;
 * -overcommit mem-lock=on locks guest RAM.
 */
static void test_qemu_script(void)
{
    const char *args[] = {
        "-machine", "pc-q35-7.2,accel=kvm,usb=off,dump-guest-core=off",
        "-enable-kvm", "-cpu", "host,migratable=on", "-m", "128M",
        "-smp", "2,maxcpus=4,sockets=1,cores=4", "-display", "none",
        "-nodefaults", "-no-user-config", "-nographic", "-serial",
        "mon:stdio", "-monitor", "none", "-overcommit", "mem-lock=on",
        "-msg", "timestamp=on", "-rtc", "base=utc", "-boot", "strict=on",
        "-name", "guest=vm1,process=hm-vm1,debug-threads=on", NULL };
    struct fixture f = { 0 };
    g_autofree char *comm_path = NULL, *comm = NULL;

    if (skip_without_kvm())
        return;
    start(&f, args, true);
    comm_path = g_strdup_printf("/proc/%d/comm", vm_pid(f.vm));
    g_assert_true(g_file_get_contents(comm_path, &comm, NULL, NULL));
    g_assert_cmpstr(g_strstrip(comm), ==, "hm-vm1");
#ifndef __SANITIZE_ADDRESS__
    /* (AddressSanitizer makes mlockall() a no-op: it could not lock its
     * terabytes of shadow memory.) */
    g_assert_cmpuint(proc_status_kib(vm_pid(f.vm), "VmLck:"), >=,
                     128 * 1024);
#endif
    qmp_ok(f.qmp, "{\"execute\": \"quit\"}");
    g_assert_cmpint(vm_wait_exit(f.vm, EXIT_TIMEOUT_MS), ==, 0);
    finish(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-cli/no-shutdown/power-port",
                    test_no_shutdown_power_port);
    g_test_add_func("/qemu-cli/no-shutdown/acpi-s5",
                    test_no_shutdown_acpi_s5);
    g_test_add_func("/qemu-cli/no-reboot", test_no_reboot);
    g_test_add_func("/qemu-cli/chardev-mon/path", test_chardev_mon_path);
    g_test_add_func("/qemu-cli/chardev-mon/fd", test_chardev_mon_fd);
    g_test_add_func("/qemu-cli/libvirt-command-line",
                    test_libvirt_command_line);
    g_test_add_func("/qemu-cli/chardev-mon/fd-not-listening",
                    test_chardev_mon_fd_not_listening);
    g_test_add_func("/qemu-cli/cpu/phys-bits", test_cpu_phys_bits);
    g_test_add_func("/qemu-cli/memory-backend", test_memory_backend);
    g_test_add_func("/qemu-cli/mem-path-prealloc", test_mem_path_prealloc);
    g_test_add_func("/qemu-cli/qemu-script", test_qemu_script);
    return g_test_run();
}
