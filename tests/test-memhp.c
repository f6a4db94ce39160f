/*
 * The memory hot-plug register block (docs/acpi.md), the GED event register
 * and the sleep/reset registers, driven through the bus as a guest would.
 * Includes the VMM's requests interleaved with the guest's scan, the GED's
 * line against its latch with both sides on their own threads, and random
 * guest writes: they may not crash hotmem, eject a DIMM nobody asked to
 * remove, or move a DIMM.
 */
#include <string.h>
#include <glib.h>

#include "acpi/tables.h"
#include "bus.h"
#include "devices/ged.h"
#include "devices/memhp.h"
#include "devices/pc_dimm.h"
#include "devices/pm_regs.h"

struct log {
    unsigned notifies, osts, answers, ejects;
    unsigned last_slot;
    uint32_t last_event, last_status;
};

static void on_notify(void *o) { ((struct log *)o)->notifies++; }

static void on_ost(void *o, unsigned slot, uint32_t ev, uint32_t st,
                   bool answer)
{
    struct log *l = o;

    l->osts++;
    l->answers += answer;
    l->last_slot = slot;
    l->last_event = ev;
    l->last_status = st;
}

static void on_eject(void *o, unsigned slot)
{
    struct log *l = o;

    l->ejects++;
    l->last_slot = slot;
}

struct fixture {
    struct bus *bus;
    struct memhp *h;
    struct log log;
    GMutex lock;                    /* the owner's DIMM lock */
    struct pc_dimm *table[5];       /* the owner's slot table */
};

static void setup(struct fixture *f, gconstpointer data)
{
    struct memhp_ops ops = { &f->log, on_notify, on_ost, on_eject };

    memset(f, 0, sizeof(*f));
    g_mutex_init(&f->lock);
    f->bus = bus_new();
    f->h = memhp_create(f->bus, 4, f->table, &f->lock, &ops, NULL);
    g_assert_nonnull(f->h);
}

static void teardown(struct fixture *f, gconstpointer data)
{
    memhp_destroy(f->h);
    bus_free(f->bus);
    for (unsigned i = 0; i < G_N_ELEMENTS(f->table); i++)
        g_free(f->table[i]);
    g_mutex_clear(&f->lock);
}

/* What the machine does: a record in the table, then the controller. */
static void plug(struct fixture *f, unsigned slot, uint64_t addr,
                 uint64_t size, uint32_t node, bool hotplug)
{
    struct pc_dimm *d = g_new0(struct pc_dimm, 1);

    *d = (struct pc_dimm){ .slot = slot, .addr = addr, .size = size,
                           .node = node, .hotplugged = hotplug };
    g_mutex_lock(&f->lock);
    f->table[slot] = d;
    memhp_plugged(f->h, slot, hotplug);
    g_mutex_unlock(&f->lock);
}

static bool request_unplug(struct fixture *f, unsigned slot)
{
    bool ok;

    g_mutex_lock(&f->lock);
    ok = memhp_request_unplug(f->h, slot, NULL);
    g_mutex_unlock(&f->lock);
    return ok;
}

static void cancel_unplug(struct fixture *f, unsigned slot)
{
    g_mutex_lock(&f->lock);
    memhp_cancel_unplug(f->h, slot);
    g_mutex_unlock(&f->lock);
}

/* The machine frees an ejected DIMM's record. */
static void unplugged(struct fixture *f, unsigned slot)
{
    g_mutex_lock(&f->lock);
    g_clear_pointer(&f->table[slot], g_free);
    g_mutex_unlock(&f->lock);
}

static void wr(struct fixture *f, unsigned off, uint32_t v, unsigned len)
{
    bus_dispatch(f->bus, BUS_PIO, MEMHP_PORT + off, (uint8_t *)&v, len,
                 true);
}

/* An _OST call for slot, as the DSDT's _OST method makes it. */
static void ost(struct fixture *f, unsigned slot, uint32_t event,
                uint32_t status)
{
    wr(f, 0x00, slot, 4);
    wr(f, 0x04, event, 4);
    wr(f, 0x08, status, 4);
}

static uint32_t rd(struct fixture *f, unsigned off, unsigned len)
{
    uint32_t v = 0;

    bus_dispatch(f->bus, BUS_PIO, MEMHP_PORT + off, (uint8_t *)&v, len,
                 false);
    return v;
}

static void test_cold_plug(struct fixture *f, gconstpointer data)
{
    plug(f, 2, 0x140000000ULL, 0x40000000, 1, false);
    g_assert_cmpuint(f->log.notifies, ==, 0);
    wr(f, 0x00, 2, 4);
    g_assert_cmphex(rd(f, 0x00, 4), ==, 0x40000000);
    g_assert_cmphex(rd(f, 0x04, 4), ==, 0x1);
    g_assert_cmphex(rd(f, 0x08, 4), ==, 0x40000000);
    g_assert_cmphex(rd(f, 0x0c, 4), ==, 0);
    g_assert_cmphex(rd(f, 0x10, 4), ==, 1);
    /* Present at boot: enabled, not inserting. */
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
    /* An empty slot reads as zeros, not enabled. */
    wr(f, 0x00, 1, 4);
    g_assert_cmphex(rd(f, 0x00, 4), ==, 0);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0);
}

static void test_hot_plug_and_ack(struct fixture *f, gconstpointer data)
{
    plug(f, 0, 0x100000000ULL, 0x10000000, 0, true);
    g_assert_cmpuint(f->log.notifies, ==, 1);
    wr(f, 0x00, 0, 4);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x3);       /* enabled|inserting */
    wr(f, 0x14, 0x2, 1);                            /* clear inserting */
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
    g_assert_false(f->table[0]->hp.inserting);      /* in the one record */
    /* _OST: event, then status completes it. */
    wr(f, 0x04, 0x1, 4);
    g_assert_cmpuint(f->log.osts, ==, 0);
    wr(f, 0x08, 0x0, 4);
    g_assert_cmpuint(f->log.osts, ==, 1);
    g_assert_cmpuint(f->log.last_event, ==, 1);
    g_assert_cmpuint(f->log.last_status, ==, 0);
    g_assert_cmpuint(f->table[0]->hp.ost_event, ==, 1);
}

static void test_unplug_and_eject(struct fixture *f, gconstpointer data)
{
    plug(f, 1, 0x100000000ULL, 0x10000000, 0, false);
    wr(f, 0x00, 1, 4);
    /* Eject before anyone asked: ignored. */
    wr(f, 0x14, 0x8, 1);
    g_assert_cmpuint(f->log.ejects, ==, 0);
    g_assert_true(request_unplug(f, 1));
    g_assert_cmpuint(f->log.notifies, ==, 1);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x5);       /* enabled|removing */
    wr(f, 0x14, 0x4, 1);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
    wr(f, 0x14, 0x8, 1);
    g_assert_cmpuint(f->log.ejects, ==, 1);
    g_assert_cmpuint(f->log.last_slot, ==, 1);
    unplugged(f, 1);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0);
    /* The guest's _OST after the eject still reaches the machine. */
    wr(f, 0x04, 0x103, 4);
    wr(f, 0x08, 0x0, 4);
    g_assert_cmpuint(f->log.osts, ==, 1);
    g_assert_cmphex(f->log.last_event, ==, 0x103);
    g_assert_cmpuint(f->log.last_slot, ==, 1);
    /* Eject of an empty slot: ignored. */
    wr(f, 0x14, 0x8, 1);
    g_assert_cmpuint(f->log.ejects, ==, 1);
    g_assert_false(request_unplug(f, 1));
}

static void test_refusal_keeps_dimm(struct fixture *f, gconstpointer data)
{
    plug(f, 3, 0x100000000ULL, 0x10000000, 0, false);
    g_assert_true(request_unplug(f, 3));
    cancel_unplug(f, 3);
    wr(f, 0x00, 3, 4);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
    wr(f, 0x14, 0x8, 1);                            /* no request now */
    g_assert_cmpuint(f->log.ejects, ==, 0);
}

/*
 * Interleavings of the VMM's requests with the guest's scan (the protocol
 * of docs/acpi.md): a scan reads a slot's status once, handles what it
 * read, and writes back exactly those event bits to clear them.
 */

/* device_del before the guest scanned: both events at once, one write. */
static void test_add_then_del_before_scan(struct fixture *f,
                                          gconstpointer data)
{
    plug(f, 0, 0x100000000ULL, 0x10000000, 0, true);
    g_assert_true(request_unplug(f, 0));
    g_assert_cmpuint(f->log.notifies, ==, 2);
    wr(f, 0x00, 0, 4);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x7);       /* enabled|ins|rem */
    wr(f, 0x14, 0x6, 1);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
    wr(f, 0x14, 0x8, 1);                            /* the removal stands */
    g_assert_cmpuint(f->log.ejects, ==, 1);
}

/* Requests that arrive while a scan is in progress are not lost. */
static void test_event_during_scan(struct fixture *f, gconstpointer data)
{
    uint32_t seen;

    plug(f, 1, 0x100000000ULL, 0x10000000, 0, true);
    wr(f, 0x00, 1, 4);
    seen = rd(f, 0x14, 1) & 0x6;
    g_assert_cmphex(seen, ==, 0x2);
    /* Between the scan's read and its clear: the slot's removal, and a
     * DIMM in slot 0, which the scan has passed already. */
    g_assert_true(request_unplug(f, 1));
    plug(f, 0, 0x140000000ULL, 0x10000000, 0, true);
    wr(f, 0x14, seen, 1);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x5);       /* removal still due */
    wr(f, 0x00, 0, 4);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x3);       /* insertion too */
    /* Each asked for a scan of its own. */
    g_assert_cmpuint(f->log.notifies, ==, 3);
}

/* A removal asked for again after the guest cleared it is pending again. */
static void test_unplug_requested_again(struct fixture *f,
                                        gconstpointer data)
{
    plug(f, 2, 0x100000000ULL, 0x10000000, 0, false);
    g_assert_true(request_unplug(f, 2));
    wr(f, 0x00, 2, 4);
    wr(f, 0x14, 0x4, 1);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
    g_assert_true(request_unplug(f, 2));
    g_assert_cmpuint(f->log.notifies, ==, 2);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x5);
    wr(f, 0x14, 0x8, 1);
    g_assert_cmpuint(f->log.ejects, ==, 1);
}

static void test_selector_out_of_range(struct fixture *f,
                                       gconstpointer data)
{
    plug(f, 0, 0x100000000ULL, 0x10000000, 0, false);
    g_assert_true(request_unplug(f, 0));
    wr(f, 0x00, 4, 4);
    g_assert_cmphex(rd(f, 0x00, 4), ==, 0xffffffff);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0xff);
    wr(f, 0x04, 1, 4);
    wr(f, 0x08, 0, 4);
    wr(f, 0x14, 0xff, 1);
    g_assert_cmpuint(f->log.osts, ==, 0);
    g_assert_cmpuint(f->log.ejects, ==, 0);
    /* Unknown offsets of a valid slot read as all ones. */
    wr(f, 0x00, 0, 4);
    g_assert_cmphex(rd(f, 0x15, 1), ==, 0xff);
}

/*
 * Which _OST calls answer a host request: after a hot-add or a removal
 * request, the next two on that slot; after the eject, the next one, at
 * the now empty slot. Others are the guest's own; at an empty slot that
 * owes nothing they are not reported at all.
 */
static void test_ost_answers(struct fixture *f, gconstpointer data)
{
    /* A cold-plugged DIMM owes nothing; an empty slot neither. */
    plug(f, 1, 0x100000000ULL, 0x10000000, 0, false);
    ost(f, 1, 0x1, 0x0);
    ost(f, 2, 0x1, 0x0);
    g_assert_cmpuint(f->log.osts, ==, 1);
    g_assert_cmpuint(f->log.answers, ==, 0);

    plug(f, 0, 0x110000000ULL, 0x10000000, 0, true);
    ost(f, 0, 0x1, 0x0);
    ost(f, 0, 0x1, 0x0);
    ost(f, 0, 0x1, 0x0);
    g_assert_cmpuint(f->log.osts, ==, 4);
    g_assert_cmpuint(f->log.answers, ==, 2);
    g_assert_cmpuint(f->log.last_slot, ==, 0);

    /* A removal: in progress, eject, the last word, then nothing. */
    g_assert_true(request_unplug(f, 0));
    ost(f, 0, 0x3, 0x84);
    g_assert_cmpuint(f->log.answers, ==, 3);
    wr(f, 0x14, 0x8, 1);
    g_assert_cmpuint(f->log.ejects, ==, 1);
    unplugged(f, 0);
    ost(f, 0, 0x103, 0x0);
    g_assert_cmpuint(f->log.osts, ==, 6);
    g_assert_cmpuint(f->log.answers, ==, 4);
    g_assert_cmphex(f->log.last_event, ==, 0x103);
    ost(f, 0, 0x103, 0x0);
    g_assert_cmpuint(f->log.osts, ==, 6);
}

/*
 * A removal requested before the guest answered the hot-add: it owes
 * both, the insert's answer, then "in progress" and a refusal. Re-issued
 * requests add up to a bound.
 */
static void test_ost_answers_add_up(struct fixture *f, gconstpointer data)
{
    plug(f, 0, 0x100000000ULL, 0x10000000, 0, true);
    g_assert_true(request_unplug(f, 0));
    ost(f, 0, 0x1, 0x0);
    ost(f, 0, 0x3, 0x84);
    ost(f, 0, 0x3, 0x82);
    g_assert_cmpuint(f->log.answers, ==, 3);
    for (unsigned i = 0; i < 100; i++)
        g_assert_true(request_unplug(f, 0));
    for (unsigned i = 0; i < 100; i++)
        ost(f, 0, 0x3, 0x84);
    g_assert_cmpuint(f->log.osts, ==, 103);
    g_assert_cmpuint(f->log.answers, ==, 3 + 8);
}

/* Random guest writes: no crash, no unrequested eject, DIMMs stay put. */
static void test_random_writes(struct fixture *f, gconstpointer data)
{
    GRand *r = g_rand_new_with_seed(1234);

    plug(f, 0, 0x100000000ULL, 0x10000000, 0, true);
    plug(f, 2, 0x140000000ULL, 0x20000000, 1, false);
    for (int i = 0; i < 200000; i++) {
        unsigned len = 1u << g_rand_int_range(r, 0, 3);
        unsigned off = (unsigned)g_rand_int_range(r, 0, MEMHP_LEN);
        uint32_t v = g_rand_int(r);

        if (g_rand_boolean(r))
            wr(f, off, v, len);
        else
            rd(f, off, len);
    }
    g_assert_cmpuint(f->log.ejects, ==, 0);
    g_assert_nonnull(f->table[0]);
    g_assert_cmphex(f->table[0]->addr, ==, 0x100000000ULL);
    g_assert_true(f->table[2]->size == 0x20000000 && f->table[2]->node == 1);
    g_assert_null(f->table[1]);
    g_rand_free(r);
}

struct irq_log {
    bool level;
    unsigned changes;
};

static void set_irq(void *o, bool level)
{
    struct irq_log *l = o;

    l->level = level;
    l->changes++;
}

static void test_ged(void)
{
    struct bus *bus = bus_new();
    struct irq_log irq = { 0 };
    struct ged *g = ged_create(bus, set_irq, &irq, NULL);
    uint32_t v = 0xdeadbeef;

    ged_raise(g, GED_EVENT_MEMORY);
    ged_raise(g, GED_EVENT_POWER);
    g_assert_true(irq.level);
    /* Writes do nothing; a read returns and clears, lowering the line. */
    bus_dispatch(bus, BUS_PIO, GED_PORT, (uint8_t *)&v, 4, true);
    g_assert_true(irq.level);
    bus_dispatch(bus, BUS_PIO, GED_PORT, (uint8_t *)&v, 4, false);
    g_assert_cmphex(v, ==, GED_EVENT_MEMORY | GED_EVENT_POWER);
    g_assert_false(irq.level);
    bus_dispatch(bus, BUS_PIO, GED_PORT, (uint8_t *)&v, 4, false);
    g_assert_cmphex(v, ==, 0);
    ged_destroy(g);
    bus_free(bus);
}

/*
 * The GED's line against its latch, with the VMM raising on one thread
 * while the guest reads on another. The interleaving that lost events is
 * forced: when one side drives the line, the test lets the other side run
 * and gives it up to RACE_GRACE_US to finish. A GED that drives the line
 * under its latch's lock makes the other side wait for it, so whatever the
 * timing, the line ends up as the latch says: high with an event latched
 * (else that event waits for the next one), low without (else the guest's
 * handler reads 0 and, the line still high at its EOI, runs forever).
 */
#define RACE_GRACE_US   (200 * 1000)

struct race {
    struct bus *bus;
    struct ged *g;
    GMutex lock;            /* guards what follows */
    GCond cond;
    bool level;             /* the line as last driven */
    bool armed;             /* the next drive to arm_level lets other run */
    bool arm_level;
    bool go, done;          /* other side: may start; has finished */
    void (*other)(struct race *r);
};

static uint32_t race_read(struct race *r)
{
    uint32_t v = 0;

    bus_dispatch(r->bus, BUS_PIO, GED_PORT, (uint8_t *)&v, 4, false);
    return v;
}

static void race_raise(struct race *r)
{
    ged_raise(r->g, GED_EVENT_MEMORY);
}

static void race_guest_read(struct race *r)
{
    g_assert_cmphex(race_read(r), ==, GED_EVENT_MEMORY);
}

static void race_set_irq(void *o, bool level)
{
    struct race *r = o;
    gint64 until = g_get_monotonic_time() + RACE_GRACE_US;

    g_mutex_lock(&r->lock);
    if (r->armed && level == r->arm_level) {
        r->armed = false;
        r->go = true;
        g_cond_broadcast(&r->cond);
        while (!r->done && g_cond_wait_until(&r->cond, &r->lock, until))
            ;
    }
    r->level = level;
    g_mutex_unlock(&r->lock);
}

static gpointer race_other(gpointer data)
{
    struct race *r = data;

    g_mutex_lock(&r->lock);
    while (!r->go)
        g_cond_wait(&r->cond, &r->lock);
    g_mutex_unlock(&r->lock);
    r->other(r);
    g_mutex_lock(&r->lock);
    r->done = true;
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
    return NULL;
}

/*
 * first runs on this thread; when it drives the line to arm_level, other
 * runs on a second thread. Returns the line's final level.
 */
static bool race_run(void (*first)(struct race *), bool arm_level,
                     void (*other)(struct race *), bool pending_before,
                     uint32_t *latched_after)
{
    struct race r = { .armed = false, .arm_level = arm_level,
                      .other = other };
    GThread *t;
    bool level;

    g_mutex_init(&r.lock);
    g_cond_init(&r.cond);
    r.bus = bus_new();
    r.g = ged_create(r.bus, race_set_irq, &r, NULL);
    if (pending_before)
        ged_raise(r.g, GED_EVENT_MEMORY);
    r.armed = true;
    t = g_thread_new("race-other", race_other, &r);
    first(&r);
    g_thread_join(t);
    level = r.level;
    *latched_after = race_read(&r);
    ged_destroy(r.g);
    bus_free(r.bus);
    g_cond_clear(&r.cond);
    g_mutex_clear(&r.lock);
    return level;
}

/* The guest's read lowers the line while the VMM raises a new event. */
static void test_ged_raise_during_read(void)
{
    uint32_t latched;
    bool level = race_run(race_guest_read, false, race_raise, true,
                          &latched);

    g_assert_cmphex(latched, ==, GED_EVENT_MEMORY);
    g_assert_true(level);
}

/* The VMM raises while the guest reads the event it is raising. */
static void test_ged_read_during_raise(void)
{
    uint32_t latched;
    bool level = race_run(race_raise, true, race_guest_read, false,
                          &latched);

    g_assert_cmphex(latched, ==, 0);
    g_assert_false(level);
}

static void record_pm(void *o, enum pm_request req)
{
    g_array_append_val((GArray *)o, req);
}

static void test_pm_regs(void)
{
    struct bus *bus = bus_new();
    GArray *reqs = g_array_new(FALSE, FALSE, sizeof(enum pm_request));
    struct pm_regs *p = pm_regs_create(bus, record_pm, reqs, NULL);
    uint8_t v;

    /* SLP_EN without the S5 type, and S5 type without SLP_EN: nothing. */
    v = (3 << 2) | (1 << 5);
    bus_dispatch(bus, BUS_PIO, ACPI_SLEEP_CTL_PORT, &v, 1, true);
    v = ACPI_S5_SLP_TYP << 2;
    bus_dispatch(bus, BUS_PIO, ACPI_SLEEP_CTL_PORT, &v, 1, true);
    v = 0x0e;
    bus_dispatch(bus, BUS_PIO, ACPI_RESET_PORT, &v, 1, true);
    g_assert_cmpuint(reqs->len, ==, 0);
    v = (ACPI_S5_SLP_TYP << 2) | (1 << 5);
    bus_dispatch(bus, BUS_PIO, ACPI_SLEEP_CTL_PORT, &v, 1, true);
    v = ACPI_RESET_VALUE;
    bus_dispatch(bus, BUS_PIO, ACPI_RESET_PORT, &v, 1, true);
    g_assert_cmpuint(reqs->len, ==, 2);
    g_assert_cmpint(g_array_index(reqs, enum pm_request, 0), ==,
                    PM_REQUEST_POWEROFF);
    g_assert_cmpint(g_array_index(reqs, enum pm_request, 1), ==,
                    PM_REQUEST_RESET);
    bus_dispatch(bus, BUS_PIO, ACPI_SLEEP_STS_PORT, &v, 1, false);
    g_assert_cmpuint(v, ==, 0);
    pm_regs_destroy(p);
    g_array_free(reqs, TRUE);
    bus_free(bus);
}

#define ADD(path, fn) \
    g_test_add("/memhp/" path, struct fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("cold-plug", test_cold_plug);
    ADD("hot-plug-and-ack", test_hot_plug_and_ack);
    ADD("unplug-and-eject", test_unplug_and_eject);
    ADD("refusal-keeps-dimm", test_refusal_keeps_dimm);
    ADD("add-then-del-before-scan", test_add_then_del_before_scan);
    ADD("event-during-scan", test_event_during_scan);
    ADD("unplug-requested-again", test_unplug_requested_again);
    ADD("selector-out-of-range", test_selector_out_of_range);
    ADD("ost-answers", test_ost_answers);
    ADD("ost-answers-add-up", test_ost_answers_add_up);
    ADD("random-writes", test_random_writes);
    g_test_add_func("/ged/read-and-clear", test_ged);
    g_test_add_func("/ged/raise-during-read", test_ged_raise_during_read);
    g_test_add_func("/ged/read-during-raise", test_ged_read_during_raise);
    g_test_add_func("/pm-regs/s5-and-reset", test_pm_regs);
    return g_test_run();
}
