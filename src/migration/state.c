/*
 * Encoding of struct machine_snapshot (state.h). Each section lists its
 * fields in docs/migration.md's order. KVM's own structures (registers,
 * irqchip, PIT) go as they are, each as a blob whose length the reader
 * checks against its own sizeof: the kernel keeps their layout stable
 * (Documentation/virt/kvm/api.rst), and a mismatch is refused rather than
 * guessed at.
 */
#include "migration/state.h"

#include <inttypes.h>
#include <string.h>

#include "errors.h"

#define MAX_STATE_BLOB  (16u << 20)

static const char *const run_states[] = {
    [MACHINE_PRELAUNCH] = "prelaunch", [MACHINE_RUNNING] = "running",
    [MACHINE_PAUSED] = "paused", [MACHINE_SHUTDOWN] = "shutdown",
};

static void put_config(GByteArray *b, const struct machine_snapshot *s)
{
    mig_put_u64(b, s->ram_size);
    mig_put_u64(b, s->maxmem);
    mig_put_u32(b, s->slots);
    mig_put_u32(b, s->smp);
    mig_put_u32(b, s->phys_bits);
    mig_put_str(b, s->run_state < G_N_ELEMENTS(run_states)
                   ? run_states[s->run_state] : "paused");
    mig_put_u32(b, s->blocks->len);
    for (unsigned i = 0; i < s->blocks->len; i++) {
        const struct machine_ram_block *r =
            &g_array_index(s->blocks, struct machine_ram_block, i);

        mig_put_u64(b, r->gpa);
        mig_put_u64(b, r->size);
        mig_put_str(b, r->name);
    }
}

static void put_dimm(GByteArray *b, const struct machine_dimm_snapshot *d)
{
    mig_put_str(b, d->id);
    mig_put_str(b, d->memdev);
    mig_put_u32(b, d->node);
    mig_put_u64(b, d->addr);
    mig_put_u64(b, d->size);
    mig_put_u8(b, d->hotplugged);
    mig_put_u8(b, d->hp.inserting);
    mig_put_u8(b, d->hp.removing);
    mig_put_u8(b, d->hp.unplug_requested);
    mig_put_u32(b, d->hp.ost_event);
    mig_put_u32(b, d->hp.ost_status);
}

void mig_state_put_config(GByteArray *out, const struct machine_snapshot *s)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    put_config(b, s);
    mig_put_section(out, "machine", 1, 0, b);
    for (unsigned i = 0; i < s->dimms->len; i++) {
        const struct machine_dimm_snapshot *d =
            &g_array_index(s->dimms, struct machine_dimm_snapshot, i);

        put_dimm(b, d);
        mig_put_section(out, "dimm", 1, d->slot, b);
    }
}

static void put_serial(GByteArray *b, const struct machine_snapshot *s)
{
    const struct serial_state *st = &s->serial;
    const uint8_t regs[] = { st->ier, st->lcr, st->mcr, st->lsr_errors,
                             st->scr, st->fcr, st->thre_pending,
                             st->irq_level };

    g_byte_array_append(b, regs, sizeof(regs));
    mig_put_u16(b, st->divisor);
    mig_put_blob(b, st->rx, st->rx_count);
    mig_put_blob(b, st->tx, st->tx_count);
    mig_put_blob(b, s->serial_input ? g_bytes_get_data(s->serial_input, NULL)
                                    : "",
                 s->serial_input ? (uint32_t)g_bytes_get_size(s->serial_input)
                                 : 0);
}

static void put_cpu(GByteArray *b, const struct vcpu_state *v)
{
    mig_put_blob(b, &v->regs, sizeof(v->regs));
    mig_put_blob(b, &v->sregs, sizeof(v->sregs));
    mig_put_blob(b, &v->fpu, sizeof(v->fpu));
    mig_put_u8(b, v->has_xcrs);
    mig_put_blob(b, &v->xcrs, sizeof(v->xcrs));
    mig_put_blob(b, v->xsave, v->xsave ? (uint32_t)v->xsave_size : 0);
    mig_put_blob(b, &v->mp, sizeof(v->mp));
    mig_put_blob(b, &v->lapic, sizeof(v->lapic));
    mig_put_blob(b, &v->events, sizeof(v->events));
    mig_put_blob(b, &v->debugregs, sizeof(v->debugregs));
    mig_put_u32(b, v->msrs->nmsrs);
    for (uint32_t i = 0; i < v->msrs->nmsrs; i++) {
        mig_put_u32(b, v->msrs->entries[i].index);
        mig_put_u64(b, v->msrs->entries[i].data);
    }
}

void mig_state_put_devices(GByteArray *out, const struct machine_snapshot *s)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    mig_put_u32(b, s->memhp.selector);
    mig_put_u32(b, s->memhp.empty_ost_event);
    mig_put_u32(b, s->slots);
    for (unsigned i = 0; i < s->slots; i++) {
        mig_put_u32(b, s->slot_ost_event[i]);
        mig_put_u32(b, s->slot_ost_status[i]);
    }
    mig_put_section(out, "memhp", 1, 0, b);
    mig_put_u32(b, s->ged_pending);
    mig_put_section(out, "ged", 1, 0, b);
    put_serial(b, s);
    mig_put_section(out, "serial", 1, 0, b);
    if (s->has_platform) {
        for (unsigned i = 0; i < G_N_ELEMENTS(s->irqchip); i++)
            mig_put_blob(b, &s->irqchip[i], sizeof(s->irqchip[i]));
        mig_put_section(out, "irqchip", 1, 0, b);
        mig_put_blob(b, &s->pit, sizeof(s->pit));
        mig_put_section(out, "pit", 1, 0, b);
        mig_put_u64(b, s->clock.clock);
        mig_put_section(out, "clock", 1, 0, b);
        for (unsigned i = 0; i < s->vcpus->len; i++) {
            put_cpu(b, g_ptr_array_index(s->vcpus, i));
            mig_put_section(out, "cpu", 1, i, b);
        }
    }
    mig_put_section(out, "end", 1, 0, b);
}

void mig_state_put_final(GByteArray *out, const struct machine_snapshot *s)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    for (unsigned i = 0; i < s->dimms->len; i++) {
        const struct machine_dimm_snapshot *d =
            &g_array_index(s->dimms, struct machine_dimm_snapshot, i);

        put_dimm(b, d);
        mig_put_section(out, "dimm", 1, d->slot, b);
    }
    mig_put_str(b, s->run_state < G_N_ELEMENTS(run_states) &&
                   run_states[s->run_state] ? run_states[s->run_state]
                                            : "paused");
    mig_put_section(out, "runstate", 1, 0, b);
    /* Only when there is one, so other streams stay readable by a hotmem
     * without it. */
    if (s->reset_pending) {
        mig_put_u8(b, s->reset_guest);
        mig_put_section(out, "reset", 1, 0, b);
    }
    mig_state_put_devices(out, s);
}

/* ---- decoding ----------------------------------------------------------- */

static void get_run_state(struct mig_reader *r, struct machine_snapshot *s)
{
    g_autofree char *state = mig_get_str(r);

    s->run_state = MACHINE_PAUSED;
    for (unsigned i = 0; state && i < G_N_ELEMENTS(run_states); i++) {
        if (run_states[i] && !strcmp(state, run_states[i]))
            s->run_state = i;
    }
}

static void get_config(struct mig_reader *r, struct machine_snapshot *s)
{
    uint32_t n;

    s->ram_size = mig_get_u64(r);
    s->maxmem = mig_get_u64(r);
    s->slots = mig_get_u32(r);
    s->smp = mig_get_u32(r);
    s->phys_bits = mig_get_u32(r);
    get_run_state(r, s);
    n = mig_get_u32(r);
    if (n > 65536)
        r->failed = true;
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        struct machine_ram_block b = { 0 };

        b.gpa = mig_get_u64(r);
        b.size = mig_get_u64(r);
        b.name = mig_get_str(r);
        if (!b.name)
            r->failed = true;
        g_array_append_val(s->blocks, b);
    }
    if (s->slots <= 256) {
        g_free(s->slot_ost_event);
        g_free(s->slot_ost_status);
        s->slot_ost_event = g_new0(uint32_t, s->slots + 1);
        s->slot_ost_status = g_new0(uint32_t, s->slots + 1);
    } else {
        r->failed = true;
    }
}

static void get_dimm(struct mig_reader *r, uint32_t slot,
                     struct machine_snapshot *s)
{
    struct machine_dimm_snapshot d = { .slot = slot };

    d.id = mig_get_str(r);
    d.memdev = mig_get_str(r);
    d.node = mig_get_u32(r);
    d.addr = mig_get_u64(r);
    d.size = mig_get_u64(r);
    d.hotplugged = mig_get_u8(r);
    d.hp.inserting = mig_get_u8(r);
    d.hp.removing = mig_get_u8(r);
    d.hp.unplug_requested = mig_get_u8(r);
    d.hp.ost_event = mig_get_u32(r);
    d.hp.ost_status = mig_get_u32(r);
    if (!d.memdev)
        r->failed = true;
    /* A live stream sends each DIMM again at the end, with the state of
     * its slot then: the later section replaces the earlier one. */
    for (unsigned i = 0; i < s->dimms->len; i++) {
        struct machine_dimm_snapshot *old =
            &g_array_index(s->dimms, struct machine_dimm_snapshot, i);

        if (old->slot != slot)
            continue;
        if (old->addr != d.addr || old->size != d.size)
            r->failed = true;
        g_free(old->id);
        g_free(old->memdev);
        *old = d;
        return;
    }
    g_array_append_val(s->dimms, d);
}

static void get_memhp(struct mig_reader *r, struct machine_snapshot *s)
{
    uint32_t n;

    s->memhp.selector = mig_get_u32(r);
    s->memhp.empty_ost_event = mig_get_u32(r);
    n = mig_get_u32(r);
    if (!s->slot_ost_event || n != s->slots) {
        r->failed = true;
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        s->slot_ost_event[i] = mig_get_u32(r);
        s->slot_ost_status[i] = mig_get_u32(r);
    }
}

static void get_fifo(struct mig_reader *r, uint8_t *fifo, uint8_t *count)
{
    uint32_t n = 0;
    g_autofree uint8_t *data = mig_get_blob(r, SERIAL_FIFO_SIZE, &n);

    if (data)
        memcpy(fifo, data, n);
    *count = (uint8_t)n;
}

static void get_serial(struct mig_reader *r, struct machine_snapshot *s)
{
    struct serial_state *st = &s->serial;
    uint32_t n = 0;
    uint8_t *input;

    st->ier = mig_get_u8(r);
    st->lcr = mig_get_u8(r);
    st->mcr = mig_get_u8(r);
    st->lsr_errors = mig_get_u8(r);
    st->scr = mig_get_u8(r);
    st->fcr = mig_get_u8(r);
    st->thre_pending = mig_get_u8(r);
    st->irq_level = mig_get_u8(r);
    st->divisor = mig_get_u16(r);
    get_fifo(r, st->rx, &st->rx_count);
    get_fifo(r, st->tx, &st->tx_count);
    input = mig_get_blob(r, MAX_STATE_BLOB, &n);
    g_clear_pointer(&s->serial_input, g_bytes_unref);
    if (input)
        s->serial_input = g_bytes_new_take(input, n);
}

static void get_cpu(struct mig_reader *r, uint32_t index,
                    struct machine_snapshot *s)
{
    struct vcpu_state *v = g_new0(struct vcpu_state, 1);
    uint32_t n;

    if (index != s->vcpus->len)     /* vCPUs come in order, from 0 */
        r->failed = true;
    g_ptr_array_add(s->vcpus, v);
    mig_get_blob_exact(r, &v->regs, sizeof(v->regs));
    mig_get_blob_exact(r, &v->sregs, sizeof(v->sregs));
    mig_get_blob_exact(r, &v->fpu, sizeof(v->fpu));
    v->has_xcrs = mig_get_u8(r);
    mig_get_blob_exact(r, &v->xcrs, sizeof(v->xcrs));
    n = 0;
    v->xsave = mig_get_blob(r, MAX_STATE_BLOB, &n);
    v->xsave_size = n;
    if (v->xsave && n < sizeof(struct kvm_xsave))
        r->failed = true;
    if (!n)
        g_clear_pointer(&v->xsave, g_free);
    mig_get_blob_exact(r, &v->mp, sizeof(v->mp));
    mig_get_blob_exact(r, &v->lapic, sizeof(v->lapic));
    mig_get_blob_exact(r, &v->events, sizeof(v->events));
    mig_get_blob_exact(r, &v->debugregs, sizeof(v->debugregs));
    n = mig_get_u32(r);
    if (n > 4096) {
        r->failed = true;
        n = 0;
    }
    v->msrs = g_malloc0(sizeof(*v->msrs) + n * sizeof(v->msrs->entries[0]));
    v->msrs->nmsrs = n;
    for (uint32_t i = 0; i < n; i++) {
        v->msrs->entries[i].index = mig_get_u32(r);
        v->msrs->entries[i].data = mig_get_u64(r);
    }
}

static void get_platform(struct mig_reader *r, const char *id,
                         struct machine_snapshot *s)
{
    if (!strcmp(id, "irqchip")) {
        for (unsigned i = 0; i < G_N_ELEMENTS(s->irqchip); i++)
            mig_get_blob_exact(r, &s->irqchip[i], sizeof(s->irqchip[i]));
    } else if (!strcmp(id, "pit")) {
        mig_get_blob_exact(r, &s->pit, sizeof(s->pit));
    } else {
        s->clock.clock = mig_get_u64(r);
    }
    s->has_platform = true;
}

/* The sections this reader knows, and the newest version of each. */
static const struct {
    const char *id;
    uint16_t version;
} known[] = {
    { "machine", 1 }, { "dimm", 1 }, { "memhp", 1 }, { "ged", 1 },
    { "serial", 1 }, { "irqchip", 1 }, { "pit", 1 }, { "clock", 1 },
    { "cpu", 1 }, { "runstate", 1 }, { "reset", 1 },
};

static bool check_known(const struct mig_section *sec, GError **err)
{
    for (size_t i = 0; i < G_N_ELEMENTS(known); i++) {
        if (strcmp(known[i].id, sec->id))
            continue;
        if (sec->version >= 1 && sec->version <= known[i].version)
            return true;
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "migration stream section '%s' has version %u; this "
                    "hotmem reads versions 1 to %u (written by a newer "
                    "hotmem?)", sec->id, sec->version, known[i].version);
        return false;
    }
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "migration stream has a section '%s' this hotmem does not "
                "know (written by a newer hotmem?)", sec->id);
    return false;
}

bool mig_state_get_section(const struct mig_section *sec, const void *body,
                           struct machine_snapshot *s, GError **err)
{
    struct mig_reader r;

    if (!check_known(sec, err))
        return false;
    mig_reader_init(&r, body, sec->length, sec->id);
    if (!strcmp(sec->id, "machine"))
        get_config(&r, s);
    else if (!strcmp(sec->id, "dimm"))
        get_dimm(&r, sec->instance, s);
    else if (!strcmp(sec->id, "memhp"))
        get_memhp(&r, s);
    else if (!strcmp(sec->id, "ged"))
        s->ged_pending = mig_get_u32(&r);
    else if (!strcmp(sec->id, "serial"))
        get_serial(&r, s);
    else if (!strcmp(sec->id, "cpu"))
        get_cpu(&r, sec->instance, s);
    else if (!strcmp(sec->id, "runstate"))
        get_run_state(&r, s);
    else if (!strcmp(sec->id, "reset")) {
        s->reset_pending = true;
        s->reset_guest = mig_get_u8(&r) != 0;
    }
    else
        get_platform(&r, sec->id, s);
    return mig_reader_done(&r, err);
}
