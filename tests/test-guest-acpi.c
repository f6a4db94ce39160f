/*
 * End-to-end: hotmem-guest finds hotmem's ACPI tables through the PVH start
 * info, verifies every checksum, and reports what MADT and SRAT say; a table
 * corrupted in guest memory is reported, not ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "vmrunner.h"

#define TIMEOUT_MS 30000

static bool skip_without_kvm(void)
{
    const char *why = vm_kvm_unavailable();

    if (why)
        g_test_skip(why);
    return why != NULL;
}

static void expect_line(struct vm *vm, const char *want)
{
    g_autofree char *line = vm_wait_line(vm, want, TIMEOUT_MS);

    if (!line || strcmp(line, want))
        g_error("expected \"%s\", got \"%s\"; console:\n%s", want,
                line ? line : "(nothing)", vm_console(vm));
}

static void poweroff(struct vm *vm)
{
    g_assert_true(vm_send(vm, "poweroff"));
    g_assert_cmpint(vm_wait_exit(vm, 10000), ==, 0);
    vm_free(vm);
}

static void test_no_slots(void)
{
    const char *args[] = { "-m", "256M", NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    /* XSDT, FACP, APIC, DSDT: no SRAT without slots or -numa. */
    expect_line(vm, "hotmem-guest: acpi ok tables=4 cpus=1 nodes=1");
    poweroff(vm);
}

static void test_slots_window(void)
{
    /* 512M + 6 GiB hot-pluggable + 4 slots x 1 GiB alignment room. */
    const char *args[] = { "-m", "512M,slots=4,maxmem=6656M", "-smp", "2",
                           NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    expect_line(vm, "hotmem-guest: acpi ok tables=5 cpus=2 nodes=1");
    expect_line(vm, "hotmem-guest: srat hotplug base=0x100000000 "
                    "size=0x280000000 node=0");
    poweroff(vm);
}

static void test_numa(void)
{
    const char *args[] = { "-m", "4G,slots=2,maxmem=6G", "-smp", "4",
                           "-object", "memory-backend-ram,id=n0,size=1G",
                           "-object", "memory-backend-ram,id=n1,size=3G",
                           "-numa", "node,nodeid=0,memdev=n0,cpus=0-1",
                           "-numa", "node,nodeid=1,memdev=n1,cpus=2-3",
                           NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    expect_line(vm, "hotmem-guest: acpi ok tables=5 cpus=4 nodes=2");
    /* RAM ends at 5 GiB (1 GiB above 4 GiB): window at 5 GiB, on node 1. */
    expect_line(vm, "hotmem-guest: srat hotplug base=0x140000000 "
                    "size=0x100000000 node=1");
    poweroff(vm);
}

/* Boot RAM from two backends of different types, one per node. */
static void test_numa_memdev(void)
{
    const char *args[] = { "-m", "2G,slots=2,maxmem=4G", "-smp", "2",
                           "-object", "memory-backend-ram,id=n0,size=512M",
                           "-object", "memory-backend-memfd,id=n1,size=1536M",
                           "-numa", "node,nodeid=0,memdev=n0,cpus=0",
                           "-numa", "node,nodeid=1,memdev=n1,cpus=1", NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    expect_line(vm, "hotmem-guest: ready ram=0x7ff9fc00");
    expect_line(vm, "hotmem-guest: acpi ok tables=5 cpus=2 nodes=2");
    expect_line(vm, "hotmem-guest: srat hotplug base=0x100000000 "
                    "size=0x100000000 node=1");
    /* The guest can use memory of the second backend (at 1 GiB). */
    g_assert_true(vm_send(vm, "poke 0x40000000 0xabcdef"));
    g_assert_true(vm_send(vm, "peek 0x40000000"));
    expect_line(vm, "hotmem-guest: peek addr=0x40000000 value=0xabcdef");
    poweroff(vm);
}

/*
 * A node without memdev= has no memory but its vCPU, as QEMU allows: the
 * guest sees two nodes, RAM on node 0 only, the window on node 1 (last).
 */
static void test_numa_memoryless_node(void)
{
    const char *args[] = { "-m", "1G,slots=2,maxmem=2G", "-smp", "2",
                           "-object", "memory-backend-ram,id=n0,size=1G",
                           "-numa", "node,nodeid=0,memdev=n0,cpus=0",
                           "-numa", "node,nodeid=1,cpus=1", NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    expect_line(vm, "hotmem-guest: acpi ok tables=5 cpus=2 nodes=2");
    expect_line(vm, "hotmem-guest: srat hotplug base=0x100000000 "
                    "size=0xc0000000 node=1");
    poweroff(vm);
}

/* A memdev sum that does not match -m is refused before anything runs. */
static void test_numa_memdev_mismatch(void)
{
    const char *args[] = { "-m", "1G", "-object",
                           "memory-backend-ram,id=n0,size=512M",
                           "-numa", "node,memdev=n0", NULL };
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    g_assert_cmpint(vm_wait_exit(vm, 10000), ==, 1);
    g_assert_nonnull(strstr(vm_stderr(vm), "0x20000000"));
    g_assert_nonnull(strstr(vm_stderr(vm), "0x40000000"));
    vm_free(vm);
}

/* Flips the MADT's checksum byte in guest memory and re-runs the check. */
static void test_corrupted_table(void)
{
    const char *args[] = { "-m", "256M,slots=1,maxmem=1G", NULL };
    g_autofree char *table = NULL, *cmd = NULL, *err = NULL;
    unsigned long long addr;
    struct vm *vm;

    if (skip_without_kvm())
        return;
    vm = vm_spawn(args);
    expect_line(vm, "hotmem-guest: acpi ok tables=5 cpus=1 nodes=1");
    g_assert_true(vm_send(vm, "acpi tables"));
    table = vm_wait_line(vm, "hotmem-guest: acpi table APIC addr=",
                         TIMEOUT_MS);
    g_assert_nonnull(table);
    addr = strtoull(strstr(table, "addr=") + 5, NULL, 16);
    /* Header byte 9 is the checksum (ACPI 6.5 table 5.4). */
    cmd = g_strdup_printf("pokeb 0x%llx 0x5a", addr + 9);
    g_assert_true(vm_send(vm, cmd));
    g_assert_true(vm_send(vm, "acpi"));
    err = vm_wait_line(vm, "hotmem-guest: acpi error", TIMEOUT_MS);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err, "APIC"));
    g_assert_nonnull(strstr(err, "checksum"));
    poweroff(vm);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/guest-acpi/no-slots", test_no_slots);
    g_test_add_func("/guest-acpi/slots-window", test_slots_window);
    g_test_add_func("/guest-acpi/numa", test_numa);
    g_test_add_func("/guest-acpi/numa-memoryless-node",
                    test_numa_memoryless_node);
    g_test_add_func("/guest-acpi/numa-memdev", test_numa_memdev);
    g_test_add_func("/guest-acpi/numa-memdev-mismatch",
                    test_numa_memdev_mismatch);
    g_test_add_func("/guest-acpi/corrupted-table", test_corrupted_table);
    return g_test_run();
}
