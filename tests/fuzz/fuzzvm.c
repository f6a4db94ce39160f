/* The fuzz targets' machine (fuzzvm.h). */
#include "fuzzvm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/kvm.h>

#include "backend/backend.h"
#include "machine/machine_internal.h"
#include "mmu/memmap.h"

#define MIB (1ULL << 20)

static const struct {
    const char *qom_type;
    uint64_t size;
} backends[FUZZ_VM_BACKENDS] = {
    { "memory-backend-ram", 2 * MIB },
    { "memory-backend-ram", 2 * MIB },
    { "memory-backend-ram", 4 * MIB },
    { "memory-backend-memfd", 2 * MIB },
    { "memory-backend-ram", 8 * MIB },
    { "memory-backend-memfd", 4 * MIB },
};

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("fuzz: invariant: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

const char *fuzz_vm_backend_id(unsigned i)
{
    static const char *const ids[FUZZ_VM_BACKENDS] = {
        "m0", "m1", "m2", "m3", "m4", "m5" };

    return ids[i % FUZZ_VM_BACKENDS];
}

static void record_event(void *opaque, const char *event, const char *key,
                         bool limited, json_object *data)
{
    struct fuzz_vm *vm = opaque;

    g_ptr_array_add(vm->events, g_strdup_printf("%s %s", event,
                    data ? json_object_to_json_string_ext(
                               data, JSON_C_TO_STRING_PLAIN) : "{}"));
    json_object_put(data);
}

struct fuzz_vm *fuzz_vm_new(fuzz_vm_emit_fn emit, void *opaque)
{
    struct fuzz_vm *vm = g_new0(struct fuzz_vm, 1);
    json_object *objects[FUZZ_VM_BACKENDS];
    g_autoptr(GError) err = NULL;
    struct machine_config cfg = {
        .ram_size = FUZZ_VM_RAM, .slots = FUZZ_VM_SLOTS,
        .maxmem = FUZZ_VM_MAXMEM, .smp = 1,
        .serial = MACHINE_SERIAL_NONE, .kvm_stub = &vm->kvm.stub,
        .emit = emit ? emit : record_event, .opaque = emit ? opaque : vm,
        .objects = objects, .nr_objects = FUZZ_VM_BACKENDS,
    };

    fake_kvm_init(&vm->kvm, 40, 32);
    vm->events = g_ptr_array_new_with_free_func(g_free);
    for (unsigned i = 0; i < FUZZ_VM_BACKENDS; i++) {
        objects[i] = json_object_new_object();
        json_object_object_add(objects[i], "qom-type",
                               json_object_new_string(backends[i].qom_type));
        json_object_object_add(objects[i], "id",
                               json_object_new_string(fuzz_vm_backend_id(i)));
        json_object_object_add(objects[i], "size",
                               json_object_new_uint64(backends[i].size));
    }
    vm->m = machine_create(&cfg, &err);
    for (unsigned i = 0; i < FUZZ_VM_BACKENDS; i++)
        json_object_put(objects[i]);
    if (!vm->m)
        fuzz_fail("the fuzz machine cannot be built: %s", err->message);
    fuzz_vm_check(vm);
    return vm;
}

void fuzz_vm_free(struct fuzz_vm *vm)
{
    if (!vm)
        return;
    /* Its memslots go with the VM (closing a VM fd frees them in KVM). */
    machine_destroy(vm->m);
    fake_kvm_clear(&vm->kvm);
    g_ptr_array_free(vm->events, TRUE);
    g_free(vm);
}

static void check_dimm(struct fuzz_vm *vm, const struct pc_dimm *d)
{
    const struct memmap_slot *s = memmap_find(vm->m->memmap, d->addr);

    if (!s || s->gpa != d->addr || s->size != d->size)
        fuzz_fail("DIMM in slot %u [0x%" PRIx64 " +0x%" PRIx64 "] has no "
                  "memslot of its own", d->slot, d->addr, d->size);
    if (s->hva != backend_host_addr(d->backend))
        fuzz_fail("DIMM in slot %u: memslot maps %p, its backend is at %p",
                  d->slot, s->hva, backend_host_addr(d->backend));
    if (!!(s->flags & KVM_MEM_READONLY) != backend_readonly(d->backend))
        fuzz_fail("DIMM in slot %u: memslot read-only %d, backend %d",
                  d->slot, !!(s->flags & KVM_MEM_READONLY),
                  backend_readonly(d->backend));
    if (s->removing != d->hp.unplug_requested)
        fuzz_fail("DIMM in slot %u: memslot removing %d, unplug requested "
                  "%d", d->slot, s->removing, d->hp.unplug_requested);
    if (!backend_in_use(d->backend))
        fuzz_fail("DIMM in slot %u: its backend is not marked in use",
                  d->slot);
}

void fuzz_vm_check(struct fuzz_vm *vm)
{
    g_autofree char *diff = NULL;
    unsigned dimms = 0;
    uint64_t plugged = 0;

    if (vm->kvm.violation)
        fuzz_fail("hotmem asked KVM for what it refuses: %s",
                  vm->kvm.violation);
    diff = fake_kvm_compare(&vm->kvm, vm->m);
    if (diff)
        fuzz_fail("memslot table and KVM differ: %s", diff);
    g_mutex_lock(&vm->m->dimm_lock);
    for (unsigned i = 0; i < FUZZ_VM_SLOTS; i++) {
        const struct pc_dimm *d = vm->m->dimm_slots[i];

        if (!d)
            continue;
        if (d->slot != i)
            fuzz_fail("DIMM in table slot %u says it is in slot %u", i,
                      d->slot);
        check_dimm(vm, d);
        dimms++;
        plugged += d->size;
    }
    if (plugged != vm->m->plugged_size)
        fuzz_fail("plugged size 0x%" PRIx64 " but the DIMMs add up to 0x%"
                  PRIx64, vm->m->plugged_size, plugged);
    g_mutex_unlock(&vm->m->dimm_lock);
    /* Boot RAM (one or two slots) plus one per DIMM, nothing else. */
    if (memmap_count(vm->m->memmap) - dimms > 2)
        fuzz_fail("%u memslots for %u DIMMs and boot RAM",
                  memmap_count(vm->m->memmap), dimms);
}
