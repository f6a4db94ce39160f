/*
 * bench/kvm-floor: the least a KVM VMM must do before its monitor answers,
 * for bench/vs-qemu's "exec -> QMP greeting" floor (docs/performance.md).
 *
 *   bench-kvm-floor SOCKET
 *
 * Creates a VM with an in-kernel irqchip and PIT, one 512 MiB memslot of
 * anonymous memory and one vCPU (its kvm_run area mapped), as a paused
 * hotmem or QEMU has them, then listens on the UNIX socket SOCKET, sends a
 * QMP greeting to the first client and answers every line it sends with an
 * empty return. It never runs the vCPU. Exits when the client hangs up.
 * No GLib, no JSON parser: what is left is the kernel's share of startup.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RAM_SIZE (512UL << 20)

static const char greeting[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, "
    "\"major\": 0}, \"package\": \"kvm-floor\"}, \"capabilities\": []}}\r\n";
static const char empty_return[] = "{\"return\": {}}\r\n";

static int die(const char *what)
{
    perror(what);
    return 1;
}

/* The VM, as far as a paused VMM has it before its monitor is up. */
static int make_vm(void)
{
    struct kvm_pit_config pit = { .flags = 0 };
    struct kvm_userspace_memory_region slot = { .slot = 0 };
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, vcpu, run_size;
    void *ram, *run;

    if (kvm < 0)
        return die("/dev/kvm");
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return die("KVM_CREATE_VM");
    if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
        return die("KVM_CREATE_IRQCHIP");
    if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
        return die("KVM_CREATE_PIT2");
    ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED)
        return die("mmap guest RAM");
    slot.memory_size = RAM_SIZE;
    slot.userspace_addr = (unsigned long)ram;
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return die("KVM_SET_USER_MEMORY_REGION");
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        return die("KVM_CREATE_VCPU");
    run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < 0)
        return die("KVM_GET_VCPU_MMAP_SIZE");
    run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        return die("mmap kvm_run");
    return 0;
}

/* Greets the first client and answers each of its lines. */
static int serve(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c;
    char buf[4096];
    ssize_t n;

    if (s < 0 || strlen(path) >= sizeof(a.sun_path))
        return die("socket");
    strcpy(a.sun_path, path);
    unlink(path);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
        return die(path);
    c = accept(s, NULL, NULL);
    if (c < 0)
        return die("accept");
    if (write(c, greeting, strlen(greeting)) < 0)
        return die("write");
    while ((n = read(c, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' &&
                write(c, empty_return, strlen(empty_return)) < 0)
                return die("write");
        }
    }
    unlink(path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    return make_vm() || serve(argv[1]);
}
