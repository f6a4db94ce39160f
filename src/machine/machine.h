/*
 * The machine: owns the KVM VM, its memory map, its bus and devices, its
 * vCPUs and its run state. Built by one visible ordered table of steps.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

#include "boot/cpu_model.h"

struct acpi_numa_node;      /* acpi/tables.h */

/* Where COM1's bytes go (-serial). */
enum machine_serial {
    MACHINE_SERIAL_STDIO,
    MACHINE_SERIAL_FILE,
    MACHINE_SERIAL_NONE,
};

/*
 * A machine without /dev/kvm, for unit tests and benchmarks of what the
 * machine decides (DIMM rules, objects, events, dirty logging): memslots go
 * to set_region, interrupt lines to irq_line, and the guest physical width
 * is phys_bits. With vm_ioctl, the machine has a dirty log (auto mode, so
 * bitmap unless vm_ioctl answers KVM_CHECK_EXTENSION for manual protect)
 * whose VM ioctls go there; without, none. Such a machine has no vCPUs and
 * no KVM statistics; it never runs.
 * Every machine_*() call still works on it: stop and cont change the run
 * state only, query-stats finds no statistics.
 */
struct machine_kvm_stub {
    int (*set_region)(void *opaque, uint32_t slot, uint32_t flags,
                      uint64_t gpa, uint64_t size, void *hva);
    void (*irq_line)(void *opaque, uint32_t gsi, bool level);
    void *opaque;
    unsigned phys_bits;
    uint32_t max_memslots;
    /* The dirty log's VM ioctls (mmu/dirty.h), or NULL: no dirty log. */
    int (*vm_ioctl)(void *opaque, unsigned long request, void *arg);
};

struct machine_config {
    uint64_t ram_size;
    uint32_t slots;
    uint64_t maxmem;
    uint32_t smp;
    const char *kernel_path;        /* NULL: the bundled hotmem-guest */
    const char *initrd_path;
    const char *cmdline;
    /*
     * -machine memhp-default-online=off: do not add
     * memhp_default_state=online_movable to a Linux kernel's command line
     * (linux_cmdline.h).
     */
    bool linux_memhp_default_off;
    /*
     * -no-reboot: a reset the guest asks for ends the machine (SHUTDOWN,
     * guest-reset, exit status 0) instead of resetting it.
     */
    bool no_reboot;
    enum machine_serial serial;
    const char *serial_path;
    const char *kvm_device;         /* NULL: /dev/kvm */
    const struct machine_kvm_stub *kvm_stub;    /* NULL: real KVM */
    uint32_t dirty_ring_size;       /* -accel kvm,dirty-ring-size= (0: off) */
    unsigned nr_nodes;              /* -numa nodes (0: none given) */
    const struct acpi_numa_node *nodes;
    const uint32_t *cpu_node;       /* node of each vCPU, or NULL */
    const char *const *node_memdev; /* per node: backend id, or NULL */
    /*
     * -machine memory-backend=ID: boot RAM is that -object's memory (with
     * no nodes, or nodes without memdev). NULL: anonymous RAM.
     */
    const char *ram_memdev;
    /* -mem-prealloc: object-add backends default to prealloc=on. */
    bool prealloc_default;
    /* -cpu: the vCPUs' CPUID model and physical address width. */
    struct cpu_model_config cpu;
    /*
     * -no-shutdown: a guest power-off stops the vCPUs (run state
     * "shutdown", SHUTDOWN then STOP) and the machine stays until asked
     * to end; without it the machine ends.
     */
    bool no_shutdown;
    /*
     * Called (from any thread) once the machine wants to end: guest power
     * off, fatal vCPU error. machine_exit_status() then tells the status.
     */
    void (*on_exit)(void *opaque);
    /*
     * Monitor events (QMP names and data shapes, docs/qmp.md); called from
     * any thread, takes data. May be NULL. key is NULL or what the event
     * is about ("slot 3"); limited: the guest raised it on its own, and
     * the monitor rate-limits it per (event, key), while an event with the
     * same key that is not limited (the guest's answer to a host request)
     * goes out at once (docs/qmp.md, "Event rate limits").
     */
    void (*emit)(void *opaque, const char *event, const char *key,
                 bool limited, json_object *data);
    void *opaque;
    /*
     * May be NULL. Called with opaque, from a preallocating thread, every
     * few milliseconds while machine_create() preallocates -object memory:
     * once it returns true (say on SIGTERM) the preallocation stops within
     * a step and machine_create() fails with a "cancelled" error.
     */
    bool (*startup_cancelled)(void *opaque);
    /*
     * -object and -device, created in order at startup: flat property bags
     * with "qom-type" / "driver" and "id" (values may be strings).
     */
    json_object *const *objects;
    unsigned nr_objects;
    json_object *const *devices;
    unsigned nr_devices;
};

enum machine_run_state {
    MACHINE_PRELAUNCH,      /* -S: created, never run */
    MACHINE_RUNNING,
    MACHINE_PAUSED,         /* stopped by the monitor */
    MACHINE_SHUTDOWN,       /* ending */
    MACHINE_INMIGRATE,      /* -incoming: waiting for the migration */
    MACHINE_FINISH_MIGRATE, /* stopped while a migration saves it */
    MACHINE_POSTMIGRATE,    /* stopped after a live migration moved it */
};

struct machine;

struct machine *machine_create(const struct machine_config *cfg,
                               GError **err);
void machine_destroy(struct machine *m);

/* Spawns the vCPU threads, parked when paused. */
bool machine_start(struct machine *m, bool paused, GError **err);

/*
 * Records why the machine ends (the first reason wins), sends the SHUTDOWN
 * event (guest: the guest asked; reason: QEMU's ShutdownCause name, such as
 * "guest-shutdown", "host-signal", "host-qmp-quit", "guest-panic") and
 * calls on_exit. why is printed on stderr unless status is 0. Safe from any
 * thread, including vCPU threads.
 */
void machine_request_exit(struct machine *m, int status, bool guest,
                          const char *reason, const char *why);
/* -1 while nobody asked the machine to end. */
int machine_exit_status(struct machine *m);

/* Stops every vCPU (call from the main thread). */
void machine_stop_vcpus(struct machine *m);

enum machine_run_state machine_run_state(struct machine *m);
/* QEMU's RunState names: "prelaunch", "running", "paused", "shutdown",
 * "inmigrate", "finish-migrate". */
const char *machine_run_state_name(enum machine_run_state s);
/*
 * True once a guest power-off stopped the machine under -no-shutdown: cont
 * cannot run it again ("Resetting the Virtual Machine is required").
 */
bool machine_needs_reset(struct machine *m);
/* The guest's physical address width (CPUID 0x80000008 EAX[7:0]). */
unsigned machine_phys_bits(struct machine *m);
/* Monitor stop/cont: pause or run the vCPUs, emitting STOP / RESUME. */
void machine_pause(struct machine *m);
void machine_resume(struct machine *m);
/* system_powerdown: the GED power-button event, and POWERDOWN. */
void machine_powerdown(struct machine *m);
/* quit: SHUTDOWN (host-qmp-quit), then the machine ends with status 0. */
void machine_quit(struct machine *m);
/*
 * system_reset (main thread; returns when done): the machine as at power
 * on, with what was plugged since. vCPUs in their power-on state (registers,
 * LAPIC, MSRs, ...) and the boot vCPU at the kernel's entry; the ACPI
 * tables and the kernel loaded again; the UART, the GED, the irqchip and
 * the PIT reset; plugged DIMMs stay, enabled, as if cold-plugged (their
 * pending hot-plug events and a pending removal are dropped). Then RESET
 * {"guest": false, "reason": "host-qmp-system-reset"}. A paused machine
 * stays paused. If KVM refuses the power-on state, the machine ends
 * (host-error), saying why.
 */
void machine_system_reset(struct machine *m);

/* Completion of a command that may finish later (on the main loop). */
typedef void (*machine_done_fn)(void *opaque, GError *err);

/*
 * object-add: args holds "qom-type", "id" and the backend's properties.
 * Preallocation runs in the background; done is called exactly once (maybe
 * before this returns) with NULL or an error it owns.
 */
void machine_object_add(struct machine *m, json_object *args,
                        machine_done_fn done, void *opaque);
bool machine_object_del(struct machine *m, const char *id, GError **err);

/* device_add / device_del of pc-dimm (HM_ERROR_DEVICE_NOT_FOUND). */
bool machine_device_add(struct machine *m, json_object *args, GError **err);
bool machine_device_del(struct machine *m, const char *id, GError **err);

/*
 * x-query-cmdline (main thread): the configuration a migration destination
 * must be started with, as of now. *out is the machine's configuration as
 * created, except objects and devices: every memory backend object that
 * exists now, as the property bag it was made from (-object or object-add,
 * sorted by id; the anonymous boot RAM is none), and every plugged DIMM,
 * hot-plugged ones included, as a -device bag with its slot, addr and
 * node explicit (slot order). Strings point into the machine; free the
 * bags with machine_current_config_clear().
 */
void machine_current_config(struct machine *m, struct machine_config *out);
void machine_current_config_clear(struct machine_config *c);

/* Query results with QEMU's JSON shapes (new objects). */
json_object *machine_query_memory_devices(struct machine *m);
json_object *machine_query_memory_size_summary(struct machine *m);
json_object *machine_query_acpi_ospm_status(struct machine *m);
json_object *machine_query_memdev(struct machine *m);
/* Bytes of guest memory (every memslot) resident in this process now. */
uint64_t machine_guest_resident(struct machine *m);
/* x-query-memslots: {"generation", "slots": [...]} (docs/mmu.md). */
json_object *machine_query_memslots(struct machine *m);

/*
 * query-stats for the kvm provider (QEMU's qapi/stats.json shapes):
 * appends the VM's StatsResult, or with vcpu_target one per vCPU whose QOM
 * path is in vcpus (NULL: every vCPU), keeping only the statistics named
 * in names (NULL: all). A kernel without binary stats yields nothing.
 */
bool machine_query_stats(struct machine *m, bool vcpu_target,
                         json_object *vcpus, json_object *names,
                         json_object *results, GError **err);
/* query-stats-schemas for the kvm provider: a new array, or NULL. */
json_object *machine_query_stats_schemas(struct machine *m, GError **err);

struct dirtyrate_request;
struct dirtyrate_info;
/* calc-dirty-rate: starts a measurement (mmu/dirtyrate.h); main thread. */
bool machine_calc_dirty_rate(struct machine *m,
                             const struct dirtyrate_request *r, GError **err);
/* query-dirty-rate: the last measurement's state and results. */
void machine_query_dirty_rate(struct machine *m, struct dirtyrate_info *out);
