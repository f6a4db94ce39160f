/*
 * The machine's state, shared by machine.c and the machine_*.c files that
 * implement parts of it (ACPI, DIMMs, objects). Not for use outside them.
 */
#pragma once

#include <glib.h>

#include "backend/backend.h"
#include "bus.h"
#include "devices/ged.h"
#include "devices/memhp.h"
#include "devices/pc_dimm.h"
#include "devices/pm_regs.h"
#include "devices/power_port.h"
#include "devices/serial.h"
#include "kvm.h"
#include "boot/loader.h"
#include "acpi/tables.h"
#include "machine/machine.h"
#include "machine/machine_events.h"
#include "mmu/layout.h"
#include "mmu/memmap.h"
#include "devices/serial_backend.h"
#include "boot/vcpu.h"
#include "boot/vcpu_throttle.h"

struct machine {
    struct machine_config cfg;
    struct kvm *kvm;
    struct layout layout;
    void *ram;                  /* anonymous boot RAM (NULL: node memdevs) */
    struct acpi_numa_node *nodes;   /* cfg.nodes with memdev sizes filled */
    struct memmap *memmap;
    struct dirty_log *dirty;        /* machine_dirty.c */
    struct dirtyrate *dirtyrate;    /* created on first use */
    struct machine_stats *stats;    /* machine_stats.c */
    struct bus *bus;
    struct serial_backend *serial_backend;
    struct serial *com1;
    struct power_port *power;
    struct ged *ged;
    struct pm_regs *pm;
    struct memhp *memhp;
    uint64_t rsdp_addr;
    struct boot_entry entry;
    GBytes *kernel_image, *initrd_image;    /* -kernel, -initrd as read */
    struct vcpus *vcpus;
    GMainContext *main_ctx;     /* machine_create()'s thread-default */
    struct machine_platform_state *power_on;    /* machine_reset.c */
    gint reset_pending;         /* a guest reset is on its way (atomic) */
    bool built;                 /* machine_create() done: plugs are hot */
    GMutex exit_lock;
    int exit_status;            /* -1 until someone asks to end */
    GMutex state_lock;          /* run state */
    enum machine_run_state run_state;
    bool stopped_by_guest;      /* -no-shutdown stopped it (state_lock) */
    /*
     * Migration (machine_migrate.c). migrating: atomic, set between begin
     * and end on either side. The rest under state_lock: the run state
     * before the migration stopped the guest; on a destination whether it
     * runs once the state is in (no -S, or cont meanwhile); a reset asked
     * for meanwhile, done at the end.
     */
    gint migrating;
    enum machine_run_state migrate_prev;
    bool live_held;                 /* machine_live_stop() held the vCPUs */
    /* cpr-transfer handed the guest's memory over (machine_cpr.c); main
     * thread. */
    bool cpr_handed_over;
    struct vcpu_throttle *throttle; /* auto-converge; made on first use */
    bool incoming_autostart;
    bool reset_deferred, reset_deferred_guest;
    unsigned phys_bits;         /* the guest's physical address width */
    /*
     * Guest time (kvmclock) while the machine is stopped: frozen_clock is
     * what the guest's clock said when its vCPUs stopped (or what a
     * restored stream says), written back when they run again
     * (machine_clock.c; main thread).
     */
    bool clock_frozen;
    uint64_t frozen_clock;
    /* pmemsave/memsave jobs running (machine_inspect.c; main thread). */
    GPtrArray *saves;
    /* Objects: main thread only. id -> struct backend * (NULL: pending) */
    GHashTable *objects;
    /* id -> the property bag it was made from (-object or object-add
     * arguments), for x-query-cmdline; ready objects only. */
    GHashTable *object_bags;
    GPtrArray *preallocating;   /* object-add contexts still running */
    /*
     * DIMMs. dimm_lock guards everything below; taken on the main thread
     * (device_add/del, queries) and on vCPU threads (guest _OST, eject).
     * Lock order: dimm_lock, then device locks (memhp, GED).
     */
    GMutex dimm_lock;
    struct pc_dimm **dimm_slots;        /* cfg.slots entries (+1) */
    /*
     * Per slot, the guest's last _OST (query-acpi-ospm-status): it stays
     * with the slot after its DIMM is gone, as in QEMU.
     */
    struct machine_slot_ost { uint32_t event, status; } *slot_ost;
    /*
     * The same DIMMs, indexed so that device_add and device_del cost the
     * same with 2 or 256 of them (binary searches in arrays sized for every
     * slot: nothing grows or rehashes on the way): the named ones by id,
     * and every DIMM's range by address (struct pc_dimm_range, naming the
     * DIMM's own id). The first dimm_packed ranges follow each other from
     * the window's base without a gap (first fit starts after them); no
     * slot below dimm_free_hint is free.
     */
    GPtrArray *dimm_ids;                /* struct pc_dimm *, by id */
    GArray *dimm_ranges;
    unsigned dimm_packed;
    unsigned dimm_free_hint;
    uint64_t plugged_size;
    unsigned anon_devices;
};

/* machine_dimm.c: the slot table first (the controller reads it), then
 * the -device DIMMs. */
void machine_dimm_table_init(struct machine *m);
bool machine_dimms_init(struct machine *m, GError **err);
void machine_dimms_free(struct machine *m);
void machine_dimm_on_ost(void *opaque, unsigned slot, uint32_t event,
                         uint32_t status, bool answer);
void machine_dimm_on_eject(void *opaque, unsigned slot);
/* Every plugged DIMM as a -device bag with slot, addr and node, in slot
 * order (NULL-terminated, *n of them; new references, g_free the array). */
json_object **machine_dimm_bags(struct machine *m, unsigned *n);

/* machine.c: ACPI tables and kernel into guest RAM, at boot and reset. */
bool machine_load_images(struct machine *m, GError **err);

/* machine_reset.c: the irqchip and PIT as created; the guest's reset. */
bool machine_reset_init(struct machine *m, GError **err);
void machine_reset_free(struct machine *m);
/* Any thread (vCPU threads included): the guest asked for a reset. */
void machine_guest_reset(struct machine *m);

/* machine_reset.c, for machine_migrate.c: a reset deferred by a migration. */
void machine_reset_now(struct machine *m, bool guest);

/*
 * machine_clock.c: guest time stands still while the machine is stopped,
 * as QEMU's kvmclock makes it (a guest stopped for longer than its
 * watchdogs' timeouts, say by -S on a migration's destination, would
 * otherwise find that time passed with none of its CPUs running: RCU
 * stall reports, soft lockups). Main thread; nothing on a KVM stub.
 * freeze: the vCPUs stopped, read the clock (once). thaw: they are about
 * to run, write it back. read: the guest's clock now (the frozen value
 * while stopped). set_frozen: a restored machine's clock, written at its
 * first run.
 */
void machine_clock_freeze(struct machine *m);
void machine_clock_thaw(struct machine *m);
bool machine_clock_read(struct machine *m, uint64_t *ns, GError **err);
void machine_clock_set_frozen(struct machine *m, uint64_t ns);

/* machine_stats.c: KVM's binary stats fds, opened before the vCPUs run. */
bool machine_stats_init(struct machine *m, GError **err);
void machine_stats_free(struct machine *m);

/* machine_ram.c: boot RAM memslots (after the objects exist). */
bool machine_ram_init(struct machine *m, GError **err);

/* machine_dirty.c: the dirty log and the DIMM memslot hooks it needs. */
bool machine_dirty_init(struct machine *m, GError **err);
bool machine_dirty_attach_vcpus(struct machine *m, GError **err);
void machine_dirty_free(struct machine *m);
void machine_dirty_ring_full(void *opaque, unsigned index);
bool machine_dimm_memslot_add(struct machine *m, uint64_t gpa, uint64_t size,
                              void *hva, bool readonly, const char *owner,
                              GError **err);
bool machine_dimm_memslot_remove(struct machine *m, uint64_t gpa,
                                 GError **err);

/* machine_objects.c */
bool machine_objects_init(struct machine *m, GError **err);
void machine_objects_free(struct machine *m);
/* The object with id, or NULL (also while it is being created). */
struct backend *machine_object_find(struct machine *m, const char *id);
/*
 * The anonymous boot RAM (no -numa memdev) is the object QEMU calls
 * "pc.ram": listed by query-memdev, in use, never deleted.
 */
#define MACHINE_BOOT_RAM_ID "pc.ram"
bool machine_is_boot_ram(struct machine *m, const char *id);
/* The bags of the ready objects, sorted by id (NULL-terminated, *n of
 * them, each a new reference; g_free the array). */
json_object **machine_object_bags(struct machine *m, unsigned *n);
/* An object-add of id that is still preallocating (not found until done). */
bool machine_object_preallocating(struct machine *m, const char *id);

/* An interrupt line of the in-kernel IOAPIC (or of the KVM stub). */
void machine_irq_line(struct machine *m, uint32_t gsi, bool level);

/* Sends an event to the monitor (any thread); takes data. */
/* After a reset of a machine the guest's power-off stopped (-no-shutdown):
 * prelaunch again, so that cont runs it. */
void machine_revive(struct machine *m);
void machine_emit(struct machine *m, enum machine_event event,
                  json_object *data);
/* The same for an event about key, which the monitor rate-limits when
 * limited (machine_config.emit). */
void machine_emit_keyed(struct machine *m, enum machine_event event,
                        const char *key, bool limited, json_object *data);
