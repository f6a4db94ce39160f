/*
 * What the machine gives a migration and takes back from one
 * (docs/migration.md): its configuration, its guest RAM as blocks (one
 * per memory slot), and the state of every vCPU and device as plain
 * structs. The stream format is migration/'s; the machine only hands out
 * and takes in state, so nothing here knows how it is encoded.
 *
 * Source: machine_migration_begin() holds the vCPUs (the guest stops,
 * STOP when it was running, run state "finish-migrate"), then the state
 * is taken, RAM is read while the guest cannot change it, and
 * machine_migration_end() lets the vCPUs go again (RESUME when it had
 * been running). Destination: machine_incoming_begin() before the vCPUs
 * ever ran ("inmigrate"), machine_snapshot_check() before any RAM is
 * written, machine_snapshot_apply() once RAM is in, machine_incoming_end()
 * to run or stay paused as QEMU decides.
 *
 * While a migration is under way (either side) the machine refuses
 * device_add and device_del, and a reset waits for its end.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "boot/vcpu_state.h"
#include "devices/memhp.h"
#include "devices/pc_dimm.h"
#include "devices/serial.h"
#include "kvm.h"
#include "machine/machine.h"

/* One memory slot's guest RAM. */
struct machine_ram_block {
    char *name;             /* the memslot's owner: "ram-below-4g", a DIMM */
    uint64_t gpa, size;
    void *hva;              /* valid while the migration holds the machine */
};

struct machine_dimm_snapshot {
    char *id;               /* NULL: anonymous */
    char *memdev;
    uint32_t slot, node;
    uint64_t addr, size;
    bool hotplugged;
    struct pc_dimm_slot_state hp;
};

struct machine_snapshot {
    /* Configuration: what the destination must have been started with. */
    uint64_t ram_size, maxmem;
    uint32_t slots, smp, phys_bits;
    /* The run state the source had when the migration started. */
    enum machine_run_state run_state;
    /*
     * A reset asked for while the state was being sent (held back by the
     * migration): the destination does it once the state is back, before
     * its guest runs (docs/migration.md). guest: the guest asked for it.
     */
    bool reset_pending, reset_guest;
    GArray *blocks;                 /* struct machine_ram_block */
    GArray *dimms;                  /* struct machine_dimm_snapshot */
    /* Per slot (slots entries), the guest's last _OST. */
    uint32_t *slot_ost_event, *slot_ost_status;
    struct memhp_state memhp;
    uint32_t ged_pending;
    struct serial_state serial;
    GBytes *serial_input;           /* read from the host, not yet taken */
    /* The in-kernel irqchip (PIC master, slave, IOAPIC), PIT, kvmclock. */
    bool has_platform;              /* false on a machine without KVM */
    struct kvm_irqchip irqchip[3];
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;
    GPtrArray *vcpus;               /* struct vcpu_state *, smp of them */
};

void machine_snapshot_init(struct machine_snapshot *s);
void machine_snapshot_clear(struct machine_snapshot *s);

/*
 * Source, main thread. Fails (changing nothing) while another migration
 * runs or the machine is ending.
 */
bool machine_migration_begin(struct machine *m, GError **err);
/*
 * Everything, into s: configuration, RAM blocks, DIMMs, devices, vCPUs.
 * Between begin and end, main thread.
 */
bool machine_snapshot_take(struct machine *m, struct machine_snapshot *s,
                           GError **err);
/* Main thread: the vCPUs go on as before begin (a deferred reset first). */
void machine_migration_end(struct machine *m);
/*
 * Main thread, instead of end, once the guest lives on elsewhere: it
 * stays stopped ("postmigrate", as QEMU's source; cont runs it again).
 */
void machine_migration_complete(struct machine *m);

/*
 * Live migration, source (docs/migration.md, "Pre-copy"), main thread.
 * machine_live_begin() is machine_migration_begin() without the stop:
 * the guest runs on, device_add/device_del are refused, a reset waits,
 * and dirty logging is on for every memslot (it fails while
 * calc-dirty-rate uses the log). machine_live_stop() then stops the
 * guest for the switch-over (STOP when it was running, "finish-migrate").
 * The end is machine_live_complete(): the guest stays stopped
 * ("postmigrate", as QEMU's source; cont runs it again), or
 * machine_live_abort(): it goes on as before begin. Both turn logging
 * off.
 */
bool machine_live_begin(struct machine *m, GError **err);
/* Any thread, between begin and the end: pages written since the last
 * harvest (mmu/dirty.h). */
struct dirty_harvest;
bool machine_live_harvest(struct machine *m, struct dirty_harvest *h,
                          GError **err);
void machine_live_stop(struct machine *m);
void machine_live_complete(struct machine *m);
void machine_live_abort(struct machine *m);
/*
 * auto-converge (any thread): the vCPUs run (100 - percent)% of the time
 * (boot/vcpu_throttle.h), 0 off. machine_live_complete() and
 * machine_live_abort() turn it off.
 */
void machine_set_cpu_throttle(struct machine *m, unsigned percent);
/*
 * The configuration part of a snapshot (sizes, RAM blocks, DIMMs), taken
 * while the guest runs: device_add/device_del wait for the migration's
 * end, so it holds until then.
 */
void machine_snapshot_take_config(struct machine *m,
                                  struct machine_snapshot *s);

/* True between begin and end (or incoming begin and end). Any thread. */
bool machine_migration_active(struct machine *m);

/*
 * Destination, main thread, after machine_start(m, true) and before
 * anything ran: run state "inmigrate". autostart: run once the state is
 * in (no -S); a cont meanwhile sets it, a stop clears it.
 */
bool machine_incoming_begin(struct machine *m, bool autostart, GError **err);
/*
 * Any thread: s (configuration, blocks, DIMMs) matches this machine. The
 * error names the first difference ("DIMM 'd1' ..."). On success,
 * *hva_out gets, for each of s's blocks, this machine's host address
 * (an array of void *, blocks->len of them; g_free it).
 */
bool machine_snapshot_check(struct machine *m,
                            const struct machine_snapshot *s,
                            void ***hva_out, GError **err);
/* Main thread: devices, irqchip, PIT, clock, vCPUs from s. */
bool machine_snapshot_apply(struct machine *m,
                            const struct machine_snapshot *s, GError **err);
/*
 * Main thread. ok: run as QEMU's destination does (running when the source
 * was running and autostart, i.e. no -S and no stop meanwhile, else
 * "paused", or the source's own state), then RESUME when it runs. !ok:
 * the machine stays in "inmigrate" and never runs.
 */
void machine_incoming_end(struct machine *m, bool ok,
                          enum machine_run_state source_state);

/* The MIGRATION event (QEMU's MigrationStatus name). Any thread. */
void machine_emit_migration(struct machine *m, const char *status);
