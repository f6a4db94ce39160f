/*
 * vCPUs: one thread each running KVM_RUN and dispatching exits to the bus.
 * The group controls them together: start (optionally parked), pause and
 * resume (used by -S and later the monitor), stop.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "bus.h"
#include "kvm.h"
#include "boot/loader.h"

struct vcpu_hooks {
    void *opaque;
    struct bus *bus;
    /*
     * A vCPU cannot go on: triple fault, entry failure, internal error.
     * what says which; regs is the register dump. The thread stops after.
     */
    void (*fatal)(void *opaque, unsigned index, const char *what,
                  const char *regs);
    /*
     * KVM_EXIT_SYSTEM_EVENT: the guest asked for a shutdown, a reset or
     * reported a crash (type: KVM_SYSTEM_EVENT_*). Returns whether the
     * vCPU goes on (a reset holds it, see vcpus_hold()); the thread stops
     * otherwise.
     */
    bool (*system_event)(void *opaque, unsigned index, uint32_t type);
    /*
     * KVM_EXIT_DIRTY_RING_FULL: harvest and reset the dirty rings (may be
     * NULL when the dirty ring is off). KVM_RUN resumes when it returns.
     */
    void (*dirty_ring_full)(void *opaque, unsigned index);
};

struct vcpus;

/* cpuid: the table every vCPU gets (its APIC id added), copied. */
struct vcpus *vcpus_create(struct kvm *kvm, unsigned count,
                           const struct kvm_cpuid2 *cpuid,
                           const struct vcpu_hooks *hooks, GError **err);
void vcpus_destroy(struct vcpus *v);    /* stops threads first */

/* Puts the boot vCPU (index 0) in the state the loader asked for. */
bool vcpus_set_boot_state(struct vcpus *v, const struct boot_entry *entry,
                          GError **err);

/* Spawns the threads; with paused they wait for vcpus_resume(). */
bool vcpus_start(struct vcpus *v, bool paused, GError **err);

/*
 * The calls below also take v == NULL, a machine without vCPUs (one built
 * on machine_config.kvm_stub): none to pause, resume, stop or count.
 */

/* Returns once every vCPU thread is parked outside KVM_RUN. */
void vcpus_pause(struct vcpus *v);
/*
 * Asks every vCPU to park without waiting for it, so a vCPU thread may ask
 * (a guest power-off under -no-shutdown). vcpus_resume() undoes it.
 */
void vcpus_request_pause(struct vcpus *v);
void vcpus_resume(struct vcpus *v);
bool vcpus_paused(struct vcpus *v);

/*
 * Machine reset. vcpus_hold() (any thread, vCPU threads included: it does
 * not wait) keeps every vCPU out of KVM_RUN until vcpus_release(), on top
 * of any pause; vcpus_wait_parked() (not from a vCPU thread) returns once
 * all are parked. Then vcpus_reset() puts every vCPU back in the state it
 * was created in (vcpu_state.h) and the boot vCPU at entry.
 */
void vcpus_hold(struct vcpus *v);
void vcpus_wait_parked(struct vcpus *v);
void vcpus_release(struct vcpus *v);
bool vcpus_reset(struct vcpus *v, const struct boot_entry *entry,
                 GError **err);

/* Ends and joins every thread. Idempotent. */
void vcpus_stop(struct vcpus *v);
/*
 * Kicks every vCPU out of KVM_RUN and has it sleep sleep_us before it
 * enters again (a pause, hold or stop meanwhile ends the sleep): one
 * period of the CPU throttle (vcpu_throttle.h). sleep_us 0 ends the
 * sleeps under way instead (the throttle is off).
 */
void vcpus_throttle_kick(struct vcpus *v, unsigned sleep_us);

/* The KVM fd of vCPU index (for KVM_GET_STATS_FD and friends). */
int vcpus_fd(struct vcpus *v, unsigned index);
unsigned vcpus_count(struct vcpus *v);
/* The Linux thread id of vCPU index (query-cpus-fast), 0 before
 * vcpus_start(). */
int vcpus_thread_id(struct vcpus *v, unsigned index);
/* vCPU index's dirty ring (kvm->dirty_ring_entries entries), or NULL. */
struct kvm_dirty_gfn *vcpus_dirty_ring(struct vcpus *v, unsigned index);

/* A human-readable dump of vCPU index's registers (g_free it). */
char *vcpus_dump_regs(struct vcpus *v, unsigned index);
