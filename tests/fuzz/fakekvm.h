/*
 * A stand-in for the two KVM calls a machine built with
 * machine_config.kvm_stub makes (memslots and interrupt lines), for the
 * fuzz targets. It applies KVM's own rules for KVM_SET_USER_MEMORY_REGION
 * (virt/kvm/kvm_main.c, __kvm_set_memory_region, and x86's limit on the
 * highest guest frame) and keeps its own copy of what KVM would then hold,
 * so a fuzz target can check hotmem's memslot table (mmu/memmap.c) against
 * it after every step. hotmem never has a reason to ask KVM for a change it
 * refuses: a refused call is recorded as a violation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "machine/machine.h"

#define FAKE_KVM_MAX_SLOTS      64
#define FAKE_KVM_MAX_GSI        24

struct fake_kvm_slot {
    bool used;
    uint32_t flags;
    uint64_t gpa, size;
    void *hva;
};

struct fake_kvm {
    struct machine_kvm_stub stub;   /* what machine_config.kvm_stub points at */
    struct fake_kvm_slot slots[FAKE_KVM_MAX_SLOTS];
    bool irq_level[FAKE_KVM_MAX_GSI];
    unsigned irq_raises[FAKE_KVM_MAX_GSI];  /* low-to-high edges */
    unsigned region_calls;
    char *violation;                /* the first refused call, or NULL */
};

/* phys_bits: the guest physical width KVM reports; max_slots <= the max. */
void fake_kvm_init(struct fake_kvm *k, unsigned phys_bits, uint32_t max_slots);
void fake_kvm_clear(struct fake_kvm *k);

/*
 * NULL when hotmem's memslot table (m's) is exactly what KVM holds, slot
 * ids, addresses, sizes, host addresses and flags alike; else a
 * description of the first difference (caller frees).
 */
char *fake_kvm_compare(struct fake_kvm *k, struct machine *m);
