/*
 * The memory hot-plug register block (docs/acpi.md), the GED event register
 * and the sleep/reset registers, driven through the bus as a guest would.
 * Includes random guest writes: they may not crash hotmem, eject a DIMM
 * nobody asked to remove, or move a DIMM.
 */
#include <string.h>
#include <glib.h>

#include "acpi/tables.h"
#include "bus.h"
#include "devices/ged.h"
#include "devices/memhp.h"
#include "devices/pm_regs.h"

struct log {
    unsigned notifies, osts, ejects;
    unsigned last_slot;
    uint32_t last_event, last_status;
};

static void on_notify(void *o) { ((struct log *)o)->notifies++; }

static void on_ost(void *o, unsigned slot, uint32_t ev, uint32_t st)
{
    struct log *l = o;

    l->osts++;
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
};

static void setup(struct fixture *f, gconstpointer data)
{
    struct memhp_ops ops = { &f->log, on_notify, on_ost, on_eject };

    memset(&f->log, 0, sizeof(f->log));
    f->bus = bus_new();
    f->h = memhp_create(f->bus, 4, &ops, NULL);
    g_assert_nonnull(f->h);
}

static void teardown(struct fixture *f, gconstpointer data)
{
    memhp_destroy(f->h);
    bus_free(f->bus);
}

static void wr(struct fixture *f, unsigned off, uint32_t v, unsigned len)
{
    bus_dispatch(f->bus, BUS_PIO, MEMHP_PORT + off, (uint8_t *)&v, len,
                 true);
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
    g_assert_true(memhp_plug(f->h, 2, 0x140000000ULL, 0x40000000, 1, false,
                             NULL));
    g_assert_cmpuint(f->log.notifies, ==, 0);
    wr(f, 0x00, 2, 4);
    g_assert_cmphex(rd(f, 0x00, 4), ==, 0x40000000);
    g_assert_cmphex(rd(f, 0x04, 4), ==, 0x1);
    g_assert_cmphex(rd(f, 0x08, 4), ==, 0x40000000);
    g_assert_cmphex(rd(f, 0x0c, 4), ==, 0);
    g_assert_cmphex(rd(f, 0x10, 4), ==, 1);
    /* Present at boot: enabled, not inserting. */
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
}

static void test_hot_plug_and_ack(struct fixture *f, gconstpointer data)
{
    g_assert_true(memhp_plug(f->h, 0, 0x100000000ULL, 0x10000000, 0, true,
                             NULL));
    g_assert_cmpuint(f->log.notifies, ==, 1);
    wr(f, 0x00, 0, 4);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x3);       /* enabled|inserting */
    wr(f, 0x14, 0x2, 1);                            /* clear inserting */
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
    /* _OST: event, then status completes it. */
    wr(f, 0x04, 0x1, 4);
    g_assert_cmpuint(f->log.osts, ==, 0);
    wr(f, 0x08, 0x0, 4);
    g_assert_cmpuint(f->log.osts, ==, 1);
    g_assert_cmpuint(f->log.last_event, ==, 1);
    g_assert_cmpuint(f->log.last_status, ==, 0);
    /* A busy slot refuses another DIMM. */
    g_assert_false(memhp_plug(f->h, 0, 0, 0x1000, 0, true, NULL));
}

static void test_unplug_and_eject(struct fixture *f, gconstpointer data)
{
    struct memhp_slot_state st;

    g_assert_true(memhp_plug(f->h, 1, 0x100000000ULL, 0x10000000, 0, false,
                             NULL));
    wr(f, 0x00, 1, 4);
    /* Eject before anyone asked: ignored. */
    wr(f, 0x14, 0x8, 1);
    g_assert_cmpuint(f->log.ejects, ==, 0);
    g_assert_true(memhp_request_unplug(f->h, 1, NULL));
    g_assert_cmpuint(f->log.notifies, ==, 1);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x5);       /* enabled|removing */
    wr(f, 0x14, 0x4, 1);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
    wr(f, 0x14, 0x8, 1);
    g_assert_cmpuint(f->log.ejects, ==, 1);
    g_assert_cmpuint(f->log.last_slot, ==, 1);
    memhp_clear(f->h, 1);
    g_assert_true(memhp_slot_state(f->h, 1, &st));
    g_assert_false(st.enabled);
    /* Eject of an empty slot: ignored. */
    wr(f, 0x14, 0x8, 1);
    g_assert_cmpuint(f->log.ejects, ==, 1);
    g_assert_false(memhp_request_unplug(f->h, 1, NULL));
}

static void test_refusal_keeps_dimm(struct fixture *f, gconstpointer data)
{
    g_assert_true(memhp_plug(f->h, 3, 0x100000000ULL, 0x10000000, 0, false,
                             NULL));
    g_assert_true(memhp_request_unplug(f->h, 3, NULL));
    memhp_cancel_unplug(f->h, 3);
    wr(f, 0x00, 3, 4);
    g_assert_cmphex(rd(f, 0x14, 1), ==, 0x1);
    wr(f, 0x14, 0x8, 1);                            /* no request now */
    g_assert_cmpuint(f->log.ejects, ==, 0);
}

static void test_selector_out_of_range(struct fixture *f,
                                       gconstpointer data)
{
    g_assert_true(memhp_plug(f->h, 0, 0x100000000ULL, 0x10000000, 0, false,
                             NULL));
    g_assert_true(memhp_request_unplug(f->h, 0, NULL));
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

/* Random guest writes: no crash, no unrequested eject, DIMMs stay put. */
static void test_random_writes(struct fixture *f, gconstpointer data)
{
    GRand *r = g_rand_new_with_seed(1234);
    struct memhp_slot_state st;

    g_assert_true(memhp_plug(f->h, 0, 0x100000000ULL, 0x10000000, 0, true,
                             NULL));
    g_assert_true(memhp_plug(f->h, 2, 0x140000000ULL, 0x20000000, 1, false,
                             NULL));
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
    g_assert_true(memhp_slot_state(f->h, 0, &st));
    g_assert_true(st.enabled);
    g_assert_cmphex(st.addr, ==, 0x100000000ULL);
    g_assert_true(memhp_slot_state(f->h, 2, &st));
    g_assert_true(st.enabled && st.size == 0x20000000 && st.node == 1);
    g_assert_true(memhp_slot_state(f->h, 1, &st));
    g_assert_false(st.enabled);
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
    ADD("selector-out-of-range", test_selector_out_of_range);
    ADD("random-writes", test_random_writes);
    g_test_add_func("/ged/read-and-clear", test_ged);
    g_test_add_func("/pm-regs/s5-and-reset", test_pm_regs);
    return g_test_run();
}
