/*
 * The machine: owns the KVM VM, its memory map, its bus and devices, its
 * vCPUs and its run state. Built by one visible ordered table of steps.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "acpi/tables.h"
#include "serial_backend.h"

struct machine_config {
    uint64_t ram_size;
    uint32_t slots;
    uint64_t maxmem;
    uint32_t smp;
    const char *kernel_path;        /* NULL: the bundled hotmem-guest */
    const char *initrd_path;
    const char *cmdline;
    enum serial_backend_kind serial;
    const char *serial_path;
    const char *kvm_device;         /* NULL: /dev/kvm */
    unsigned nr_nodes;              /* -numa nodes (0: none given) */
    const struct acpi_numa_node *nodes;
    const uint32_t *cpu_node;       /* node of each vCPU, or NULL */
    /*
     * Called (from any thread) once the machine wants to end: guest power
     * off, fatal vCPU error. machine_exit_status() then tells the status.
     */
    void (*on_exit)(void *opaque);
    void *opaque;
};

struct machine;

struct machine *machine_create(const struct machine_config *cfg,
                               GError **err);
void machine_destroy(struct machine *m);

/* Spawns the vCPU threads, parked when paused. */
bool machine_start(struct machine *m, bool paused, GError **err);
void machine_pause(struct machine *m);
void machine_resume(struct machine *m);
bool machine_is_paused(struct machine *m);

/*
 * Records why the machine ends (the first reason wins) and calls on_exit.
 * Safe from any thread, including vCPU threads.
 */
void machine_request_exit(struct machine *m, int status, const char *why);
/* -1 while nobody asked the machine to end. */
int machine_exit_status(struct machine *m);

/* Stops every vCPU (call from the main thread). */
void machine_stop(struct machine *m);

const struct layout *machine_layout(struct machine *m);
