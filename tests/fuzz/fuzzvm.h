/*
 * The small machine the machine-backed fuzz targets drive: hotmem's real
 * machine (machine/machine.c) built with its KVM calls going to the fake
 * KVM (fakekvm.h), with no vCPUs, 32 MiB of RAM, 4 DIMM slots and room for
 * 16 MiB of DIMMs, and a few memory backends made at startup
 * (FUZZ_VM_BACKENDS) so DIMMs can be plugged at once.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

#include "fakekvm.h"
#include "machine/machine.h"

#define FUZZ_VM_RAM         (32ULL << 20)
#define FUZZ_VM_SLOTS       4
#define FUZZ_VM_MAXMEM      (FUZZ_VM_RAM + (16ULL << 20))
#define FUZZ_VM_BACKENDS    6       /* "m0".."m5" */

/* machine_config.emit */
typedef void (*fuzz_vm_emit_fn)(void *opaque, const char *event,
                                const char *key, bool limited,
                                json_object *data);

struct fuzz_vm {
    struct fake_kvm kvm;
    struct machine *m;
    GPtrArray *events;      /* "NAME {data}" when no emit was given */
};

/* emit may be NULL: events are then recorded in vm->events. */
struct fuzz_vm *fuzz_vm_new(fuzz_vm_emit_fn emit, void *opaque);
void fuzz_vm_free(struct fuzz_vm *vm);

/* The id of startup backend i ("m0", ...). */
const char *fuzz_vm_backend_id(unsigned i);

/*
 * Aborts, saying why, unless hotmem's memslot table is exactly what the
 * fake KVM holds, KVM was never asked for something it refuses, and every
 * plugged DIMM has its memslot (address, size, host address, read-only).
 */
void fuzz_vm_check(struct fuzz_vm *vm);

/* A broken invariant: prints "fuzz: invariant: ..." and aborts. */
void fuzz_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
