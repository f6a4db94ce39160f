/*
 * The machine's side of a migration (machine_migrate.h): run states and
 * vCPU holds around it, and its state taken into and put back from a
 * struct machine_snapshot. The stream format is migration/'s.
 */
#include "machine/machine_migrate.h"

#include <inttypes.h>
#include <string.h>

#include "errors.h"
#include "machine/machine_internal.h"
#include "mmu/dirty.h"

static void block_clear(gpointer p)
{
    g_free(((struct machine_ram_block *)p)->name);
}

static void dimm_clear(gpointer p)
{
    struct machine_dimm_snapshot *d = p;

    g_free(d->id);
    g_free(d->memdev);
}

void machine_snapshot_init(struct machine_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->blocks = g_array_new(FALSE, TRUE, sizeof(struct machine_ram_block));
    g_array_set_clear_func(s->blocks, block_clear);
    s->dimms = g_array_new(FALSE, TRUE,
                           sizeof(struct machine_dimm_snapshot));
    g_array_set_clear_func(s->dimms, dimm_clear);
    s->vcpus = g_ptr_array_new_with_free_func(
        (GDestroyNotify)vcpu_state_free);
}

void machine_snapshot_clear(struct machine_snapshot *s)
{
    g_clear_pointer(&s->blocks, g_array_unref);
    g_clear_pointer(&s->dimms, g_array_unref);
    g_clear_pointer(&s->vcpus, g_ptr_array_unref);
    g_clear_pointer(&s->serial_input, g_bytes_unref);
    g_clear_pointer(&s->slot_ost_event, g_free);
    g_clear_pointer(&s->slot_ost_status, g_free);
}

bool machine_migration_active(struct machine *m)
{
    return g_atomic_int_get(&m->migrating) != 0;
}

void machine_emit_migration(struct machine *m, const char *status)
{
    json_object *data = json_object_new_object();

    json_object_object_add(data, "status", json_object_new_string(status));
    machine_emit(m, MACHINE_EVENT_MIGRATION, data);
}

static bool claim(struct machine *m, GError **err)
{
    if (machine_exit_status(m) >= 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "the machine is ending: nothing to migrate");
        return false;
    }
    if (!g_atomic_int_compare_and_exchange(&m->migrating, 0, 1)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "There's a migration process in progress");
        return false;
    }
    return true;
}

/* Holds the vCPUs; a running guest becomes finish-migrate (STOP). */
static void hold_guest(struct machine *m)
{
    bool stop;

    /* Parked with their registers final: KVM_GET_* sees an instant. */
    if (m->vcpus) {
        vcpus_hold(m->vcpus);
        vcpus_wait_parked(m->vcpus);
    }
    machine_clock_freeze(m);
    g_mutex_lock(&m->state_lock);
    m->migrate_prev = m->run_state;
    stop = m->run_state == MACHINE_RUNNING;
    if (stop)
        m->run_state = MACHINE_FINISH_MIGRATE;
    g_mutex_unlock(&m->state_lock);
    if (stop)
        machine_emit(m, MACHINE_EVENT_STOP, NULL);
}

bool machine_migration_begin(struct machine *m, GError **err)
{
    if (!claim(m, err))
        return false;
    hold_guest(m);
    return true;
}

bool machine_live_begin(struct machine *m, GError **err)
{
    if (!m->dirty) {
        g_set_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED,
                    "live migration needs KVM's dirty log, which this "
                    "machine (built without KVM) does not have");
        return false;
    }
    if (dirty_log_active(m->dirty)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "dirty logging is in use by calc-dirty-rate: migrate "
                    "once query-dirty-rate says \"measured\"");
        return false;
    }
    if (!claim(m, err))
        return false;
    g_mutex_lock(&m->state_lock);
    m->migrate_prev = m->run_state;
    g_mutex_unlock(&m->state_lock);
    if (!dirty_log_start(m->dirty, err)) {
        g_atomic_int_set(&m->migrating, 0);
        return false;
    }
    return true;
}

bool machine_live_harvest(struct machine *m, struct dirty_harvest *h,
                          GError **err)
{
    return dirty_log_harvest(m->dirty, h, err);
}

void machine_live_stop(struct machine *m)
{
    hold_guest(m);
    g_mutex_lock(&m->state_lock);
    m->live_held = true;
    g_mutex_unlock(&m->state_lock);
}

void machine_set_cpu_throttle(struct machine *m, unsigned percent)
{
    struct vcpu_throttle *t;

    if (!m->vcpus)
        return;
    g_mutex_lock(&m->state_lock);
    if (!m->throttle && percent)
        m->throttle = vcpu_throttle_new(m->vcpus);
    t = m->throttle;
    g_mutex_unlock(&m->state_lock);
    if (t)
        vcpu_throttle_set(t, percent);
}

void machine_live_complete(struct machine *m)
{
    machine_set_cpu_throttle(m, 0);
    dirty_log_stop(m->dirty);
    machine_migration_complete(m);
}

void machine_migration_complete(struct machine *m)
{
    bool stopped;

    g_mutex_lock(&m->state_lock);
    stopped = m->run_state == MACHINE_FINISH_MIGRATE;
    if (stopped)
        m->run_state = MACHINE_POSTMIGRATE;
    m->live_held = false;
    m->reset_deferred = false;  /* the guest lives on elsewhere now */
    g_mutex_unlock(&m->state_lock);
    /* Paused the ordinary way, so cont runs the guest again. */
    if (stopped)
        vcpus_pause(m->vcpus);
    g_atomic_int_set(&m->migrating, 0);
    vcpus_release(m->vcpus);
}

void machine_live_abort(struct machine *m)
{
    bool held, reset, guest;

    machine_set_cpu_throttle(m, 0);
    dirty_log_stop(m->dirty);
    g_mutex_lock(&m->state_lock);
    held = m->live_held;
    m->live_held = false;
    reset = !held && m->reset_deferred;
    guest = m->reset_deferred_guest;
    if (reset)
        m->reset_deferred = false;
    g_mutex_unlock(&m->state_lock);
    if (held) {
        machine_migration_end(m);   /* RESUME, a deferred reset */
        return;
    }
    g_atomic_int_set(&m->migrating, 0);
    if (reset)
        machine_reset_now(m, guest);
}

void machine_migration_end(struct machine *m)
{
    bool resume, reset, guest;

    g_mutex_lock(&m->state_lock);
    resume = m->run_state == MACHINE_FINISH_MIGRATE;
    if (resume)
        m->run_state = MACHINE_RUNNING;
    reset = m->reset_deferred;
    guest = m->reset_deferred_guest;
    m->reset_deferred = false;
    g_mutex_unlock(&m->state_lock);
    g_atomic_int_set(&m->migrating, 0);
    if (resume) {
        machine_clock_thaw(m);
        machine_emit(m, MACHINE_EVENT_RESUME, NULL);
    }
    /* A reset asked for meanwhile; it lets the vCPUs go when done. */
    if (reset)
        machine_reset_now(m, guest);
    else if (m->vcpus)
        vcpus_release(m->vcpus);
}

/* ---- taking the state (source) ---------------------------------------- */

static void add_block(void *opaque, const struct memmap_slot *slot)
{
    GArray *blocks = opaque;
    struct machine_ram_block b = { .name = g_strdup(slot->owner),
                                   .gpa = slot->gpa, .size = slot->size,
                                   .hva = slot->hva };

    /* A read-only DIMM's content is its file, which the guest cannot
     * change: the destination maps the same file. */
    if (slot->flags & KVM_MEM_READONLY) {
        g_free(b.name);
        return;
    }
    g_array_append_val(blocks, b);
}

static void take_dimms(struct machine *m, struct machine_snapshot *s)
{
    g_mutex_lock(&m->dimm_lock);
    s->slot_ost_event = g_new0(uint32_t, m->cfg.slots + 1);
    s->slot_ost_status = g_new0(uint32_t, m->cfg.slots + 1);
    for (unsigned i = 0; i < m->cfg.slots; i++) {
        const struct pc_dimm *d = m->dimm_slots[i];
        struct machine_dimm_snapshot sd;

        s->slot_ost_event[i] = m->slot_ost[i].event;
        s->slot_ost_status[i] = m->slot_ost[i].status;
        if (!d)
            continue;
        sd = (struct machine_dimm_snapshot){
            .id = g_strdup(d->id),
            .memdev = g_strdup(backend_id(d->backend)),
            .slot = d->slot, .node = d->node, .addr = d->addr,
            .size = d->size, .hotplugged = d->hotplugged, .hp = d->hp };
        g_array_append_val(s->dimms, sd);
    }
    if (m->memhp)
        memhp_get_state(m->memhp, &s->memhp);
    g_mutex_unlock(&m->dimm_lock);
}

static bool take_platform(struct machine *m, struct machine_snapshot *s,
                          GError **err)
{
    int vm = m->kvm->vm_fd;
    uint64_t now;

    for (unsigned i = 0; i < G_N_ELEMENTS(s->irqchip); i++) {
        s->irqchip[i].chip_id = i;
        if (!kvm_ioctl(vm, KVM_GET_IRQCHIP, &s->irqchip[i], err))
            return false;
    }
    /* The guest's time of the instant it stopped at. */
    if (!kvm_ioctl(vm, KVM_GET_PIT2, &s->pit, err) ||
        !machine_clock_read(m, &now, err))
        return false;
    s->clock.clock = now;
    for (unsigned i = 0; i < vcpus_count(m->vcpus); i++) {
        struct vcpu_state *st = vcpu_state_save(m->kvm,
                                                vcpus_fd(m->vcpus, i), err);

        if (!st) {
            g_prefix_error(err, "vCPU %u: ", i);
            return false;
        }
        g_ptr_array_add(s->vcpus, st);
    }
    s->has_platform = true;
    return true;
}

void machine_snapshot_take_config(struct machine *m,
                                  struct machine_snapshot *s)
{
    s->ram_size = m->cfg.ram_size;
    s->maxmem = m->cfg.maxmem;
    s->slots = m->cfg.slots;
    s->smp = m->cfg.smp;
    s->phys_bits = m->phys_bits;
    g_mutex_lock(&m->state_lock);
    s->run_state = m->migrate_prev;
    g_mutex_unlock(&m->state_lock);
    memmap_foreach(m->memmap, add_block, s->blocks);
    take_dimms(m, s);
}

bool machine_snapshot_take(struct machine *m, struct machine_snapshot *s,
                           GError **err)
{
    s->ram_size = m->cfg.ram_size;
    s->maxmem = m->cfg.maxmem;
    s->slots = m->cfg.slots;
    s->smp = m->cfg.smp;
    s->phys_bits = m->phys_bits;
    g_mutex_lock(&m->state_lock);
    s->run_state = m->migrate_prev;
    s->reset_pending = m->reset_deferred;
    s->reset_guest = m->reset_deferred_guest;
    g_mutex_unlock(&m->state_lock);
    memmap_foreach(m->memmap, add_block, s->blocks);
    take_dimms(m, s);
    s->ged_pending = ged_pending(m->ged);
    serial_get_state(m->com1, &s->serial);
    s->serial_input = serial_backend_pending_input(m->serial_backend);
    return m->cfg.kvm_stub || take_platform(m, s, err);
}

/* ---- checking and applying it (destination) ---------------------------- */

static bool check_config(struct machine *m, const struct machine_snapshot *s,
                         GError **err)
{
    static const char *const what[] = {
        "boot RAM (-m size)", "maxmem (-m maxmem=)", "DIMM slots (-m slots=)",
        "vCPUs (-smp)", "guest physical address bits (-cpu phys-bits=)",
    };
    uint64_t src[] = { s->ram_size, s->maxmem, s->slots, s->smp,
                       s->phys_bits };
    uint64_t dst[] = { m->cfg.ram_size, m->cfg.maxmem, m->cfg.slots,
                       m->cfg.smp, m->phys_bits };

    for (unsigned i = 0; i < G_N_ELEMENTS(src); i++) {
        if (src[i] != dst[i]) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "configuration mismatch: %s is 0x%" PRIx64 " in the "
                        "stream but 0x%" PRIx64 " here", what[i], src[i],
                        dst[i]);
            return false;
        }
    }
    if (s->has_platform && s->vcpus->len != vcpus_count(m->vcpus)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "the stream has the state of %u vCPUs, this machine has "
                    "%u", s->vcpus->len, vcpus_count(m->vcpus));
        return false;
    }
    return true;
}

static const char *dimm_name(const char *id)
{
    return id ? id : "(anonymous)";
}

/* One DIMM of the stream against the destination's slot. dimm_lock held. */
static bool check_dimm(struct machine *m,
                       const struct machine_dimm_snapshot *sd, GError **err)
{
    const struct pc_dimm *d = sd->slot < m->cfg.slots
                              ? m->dimm_slots[sd->slot] : NULL;

    if (!d) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "DIMM '%s' (slot %u, memdev '%s', addr 0x%" PRIx64
                    ", size 0x%" PRIx64 ") is in the stream but not on this "
                    "machine: start it with -object for '%s' and -device "
                    "pc-dimm,id=%s,memdev=%s,slot=%u,addr=0x%" PRIx64,
                    dimm_name(sd->id), sd->slot, sd->memdev, sd->addr,
                    sd->size, sd->memdev, dimm_name(sd->id), sd->memdev,
                    sd->slot, sd->addr);
        return false;
    }
    if (g_strcmp0(d->id, sd->id) || strcmp(backend_id(d->backend),
                                           sd->memdev) ||
        d->addr != sd->addr || d->size != sd->size || d->node != sd->node) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "DIMM in slot %u differs: the stream has '%s' (memdev "
                    "'%s', addr 0x%" PRIx64 ", size 0x%" PRIx64 ", node %u), "
                    "this machine '%s' (memdev '%s', addr 0x%" PRIx64
                    ", size 0x%" PRIx64 ", node %u)", sd->slot,
                    dimm_name(sd->id), sd->memdev, sd->addr, sd->size,
                    sd->node, dimm_name(d->id), backend_id(d->backend),
                    d->addr, d->size, d->node);
        return false;
    }
    return true;
}

static bool check_dimms(struct machine *m, const struct machine_snapshot *s,
                        GError **err)
{
    bool ok = true;

    g_mutex_lock(&m->dimm_lock);
    for (unsigned i = 0; ok && i < s->dimms->len; i++)
        ok = check_dimm(m, &g_array_index(s->dimms,
                                          struct machine_dimm_snapshot, i),
                        err);
    for (unsigned i = 0; ok && i < m->cfg.slots; i++) {
        const struct pc_dimm *d = m->dimm_slots[i];
        bool listed = false;

        if (!d)
            continue;
        for (unsigned k = 0; k < s->dimms->len; k++)
            listed |= g_array_index(s->dimms, struct machine_dimm_snapshot,
                                    k).slot == i;
        if (!listed) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "DIMM '%s' (slot %u) is on this machine but not in "
                        "the stream", dimm_name(d->id), i);
            ok = false;
        }
    }
    g_mutex_unlock(&m->dimm_lock);
    return ok;
}

static bool check_blocks(struct machine *m, const struct machine_snapshot *s,
                         void **hva, GError **err)
{
    for (unsigned i = 0; i < s->blocks->len; i++) {
        const struct machine_ram_block *b =
            &g_array_index(s->blocks, struct machine_ram_block, i);
        struct memmap_slot slot;
        bool same;

        if (!memmap_copy_slot(m->memmap, b->gpa, &slot)) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "RAM block '%s' at 0x%" PRIx64 " (size 0x%" PRIx64
                        ") is in the stream but this machine has no memory "
                        "there", b->name, b->gpa, b->size);
            return false;
        }
        same = slot.size == b->size && !strcmp(slot.owner, b->name) &&
               !(slot.flags & KVM_MEM_READONLY);
        if (!same)
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "RAM block '%s' at 0x%" PRIx64 " has size 0x%"
                        PRIx64 " in the stream, but this machine has '%s' "
                        "of size 0x%" PRIx64 "%s there", b->name, b->gpa,
                        b->size, slot.owner, slot.size,
                        (slot.flags & KVM_MEM_READONLY) ? " (read-only)"
                                                        : "");
        hva[i] = slot.hva;
        g_free(slot.owner);
        if (!same)
            return false;
    }
    return true;
}

bool machine_snapshot_check(struct machine *m,
                            const struct machine_snapshot *s,
                            void ***hva_out, GError **err)
{
    g_autofree void **hva = g_new0(void *, s->blocks->len + 1);

    if (!check_config(m, s, err) || !check_dimms(m, s, err) ||
        !check_blocks(m, s, hva, err))
        return false;
    *hva_out = g_steal_pointer(&hva);
    return true;
}

static void apply_dimms(struct machine *m, const struct machine_snapshot *s)
{
    g_mutex_lock(&m->dimm_lock);
    for (unsigned i = 0; i < s->dimms->len; i++) {
        const struct machine_dimm_snapshot *sd =
            &g_array_index(s->dimms, struct machine_dimm_snapshot, i);
        struct pc_dimm *d = m->dimm_slots[sd->slot];

        d->hotplugged = sd->hotplugged;
        d->hp = sd->hp;
        /* A removal the guest has not answered yet: hotmem keeps off the
         * DIMM's memory, as device_del made the source do. */
        memmap_set_removing(m->memmap, d->addr, sd->hp.unplug_requested);
    }
    for (unsigned i = 0; i < m->cfg.slots && s->slot_ost_event; i++)
        m->slot_ost[i] = (struct machine_slot_ost){
            s->slot_ost_event[i], s->slot_ost_status[i] };
    if (m->memhp)
        memhp_set_state(m->memhp, &s->memhp);
    g_mutex_unlock(&m->dimm_lock);
}

static bool apply_platform(struct machine *m, const struct machine_snapshot *s,
                           GError **err)
{
    int vm = m->kvm->vm_fd;
    for (unsigned i = 0; i < G_N_ELEMENTS(s->irqchip); i++) {
        if (!kvm_ioctl(vm, KVM_SET_IRQCHIP, (void *)&s->irqchip[i], err))
            return false;
    }
    if (!kvm_ioctl(vm, KVM_SET_PIT2, (void *)&s->pit, err))
        return false;
    /* The guest's time goes on from the stream's when it first runs
     * (here, or at cont after -S), not from now. */
    machine_clock_set_frozen(m, s->clock.clock);
    for (unsigned i = 0; i < s->vcpus->len; i++) {
        if (!vcpu_state_restore(g_ptr_array_index(s->vcpus, i),
                                vcpus_fd(m->vcpus, i), err)) {
            g_prefix_error(err, "vCPU %u: ", i);
            return false;
        }
    }
    return true;
}

bool machine_snapshot_apply(struct machine *m,
                            const struct machine_snapshot *s, GError **err)
{
    /* The irqchip first: the devices then drive their lines to match. */
    if (s->has_platform && !m->cfg.kvm_stub && !apply_platform(m, s, err))
        return false;
    apply_dimms(m, s);
    ged_set_pending(m->ged, s->ged_pending);
    serial_set_state(m->com1, &s->serial);
    if (s->serial_input)
        serial_backend_prepend_input(m->serial_backend,
                                     g_bytes_get_data(s->serial_input, NULL),
                                     g_bytes_get_size(s->serial_input));
    /* The source's held-back reset: machine_incoming_end() does it. */
    if (s->reset_pending) {
        g_mutex_lock(&m->state_lock);
        m->reset_deferred = true;
        m->reset_deferred_guest = s->reset_guest;
        g_mutex_unlock(&m->state_lock);
    }
    return true;
}

bool machine_incoming_begin(struct machine *m, bool autostart, GError **err)
{
    if (!g_atomic_int_compare_and_exchange(&m->migrating, 0, 1)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "There's a migration process in progress");
        return false;
    }
    g_mutex_lock(&m->state_lock);
    m->run_state = MACHINE_INMIGRATE;
    m->incoming_autostart = autostart;
    g_mutex_unlock(&m->state_lock);
    return true;
}

void machine_incoming_end(struct machine *m, bool ok,
                          enum machine_run_state source_state)
{
    bool run = false, reset, guest;

    g_mutex_lock(&m->state_lock);
    reset = ok && m->reset_deferred;
    guest = m->reset_deferred_guest;
    m->reset_deferred = false;
    if (ok && source_state == MACHINE_RUNNING) {
        run = m->incoming_autostart;
        m->run_state = run ? MACHINE_RUNNING : MACHINE_PAUSED;
    } else if (ok) {
        /* The source was stopped: so is the copy (QEMU's global state). */
        m->run_state = source_state;
        m->stopped_by_guest = source_state == MACHINE_SHUTDOWN;
    }
    g_mutex_unlock(&m->state_lock);
    g_atomic_int_set(&m->migrating, 0);
    if (reset)
        machine_reset_now(m, guest);
    if (run) {
        machine_clock_thaw(m);
        vcpus_resume(m->vcpus);
        machine_emit(m, MACHINE_EVENT_RESUME, NULL);
    }
}
