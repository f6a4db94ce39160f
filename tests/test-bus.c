/* The port-I/O / MMIO trap API: registration, overlap rules, dispatch. */
#include <string.h>
#include <glib.h>

#include "bus.h"

struct probe {
    uint64_t last_offset;
    uint32_t last_len;
    bool last_write;
    uint8_t last_data[8];
    unsigned calls;
};

static void probe_handler(void *opaque, uint64_t offset, uint8_t *data,
                          uint32_t len, bool is_write)
{
    struct probe *p = opaque;

    p->calls++;
    p->last_offset = offset;
    p->last_len = len;
    p->last_write = is_write;
    if (is_write)
        memcpy(p->last_data, data, len);
    else
        memset(data, 0xa5, len);
}

static void test_dispatch_offset(void)
{
    struct bus *bus = bus_new();
    struct probe p = { 0 };
    uint8_t data[4] = { 1, 2, 3, 4 };

    g_assert_true(bus_register(bus, BUS_PIO, 0x3f8, 8, probe_handler, &p,
                               NULL));
    g_assert_true(bus_dispatch(bus, BUS_PIO, 0x3fd, data, 1, false));
    g_assert_cmpuint(p.last_offset, ==, 5);
    g_assert_cmpuint(data[0], ==, 0xa5);
    g_assert_true(bus_dispatch(bus, BUS_PIO, 0x3f8, data, 2, true));
    g_assert_true(p.last_write);
    g_assert_cmpuint(p.last_len, ==, 2);
    g_assert_cmpuint(p.last_offset, ==, 0);
    bus_free(bus);
}

static void test_unclaimed_reads_ones(void)
{
    struct bus *bus = bus_new();
    uint8_t data[4] = { 0 };

    g_assert_false(bus_dispatch(bus, BUS_MMIO, 0xfed00000, data, 4, false));
    g_assert_cmpmem(data, 4, "\xff\xff\xff\xff", 4);
    bus_free(bus);
}

static void test_edges(void)
{
    struct bus *bus = bus_new();
    struct probe p = { 0 };
    uint8_t d = 0;

    g_assert_true(bus_register(bus, BUS_PIO, 0x100, 0x10, probe_handler, &p,
                               NULL));
    g_assert_false(bus_dispatch(bus, BUS_PIO, 0xff, &d, 1, false));
    g_assert_true(bus_dispatch(bus, BUS_PIO, 0x100, &d, 1, false));
    g_assert_true(bus_dispatch(bus, BUS_PIO, 0x10f, &d, 1, false));
    g_assert_false(bus_dispatch(bus, BUS_PIO, 0x110, &d, 1, false));
    g_assert_cmpuint(p.calls, ==, 2);
    bus_free(bus);
}

/* Each case: an existing range [0x1000, 0x1100) and a candidate. */
static const struct {
    const char *name;
    uint64_t base, len;
    bool ok;
} overlap_cases[] = {
    { "below-adjacent", 0x0f00, 0x100, true },
    { "above-adjacent", 0x1100, 0x100, true },
    { "same", 0x1000, 0x100, false },
    { "inside", 0x1010, 0x10, false },
    { "covering", 0x0f00, 0x300, false },
    { "straddle-start", 0x0fff, 0x2, false },
    { "straddle-end", 0x10ff, 0x2, false },
    { "empty", 0x5000, 0, false },
    { "wraps", UINT64_MAX - 1, 0x10, false },
};

static void test_overlap(gconstpointer data)
{
    unsigned i = GPOINTER_TO_UINT(data);
    struct bus *bus = bus_new();
    struct probe p = { 0 };
    g_autoptr(GError) err = NULL;
    bool ok;

    g_assert_true(bus_register(bus, BUS_MMIO, 0x1000, 0x100, probe_handler,
                               &p, NULL));
    ok = bus_register(bus, BUS_MMIO, overlap_cases[i].base,
                      overlap_cases[i].len, probe_handler, &p, &err);
    g_assert_cmpint(ok, ==, overlap_cases[i].ok);
    if (!ok) {
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "MMIO"));
    }
    bus_free(bus);
}

static void test_spaces_independent(void)
{
    struct bus *bus = bus_new();
    struct probe a = { 0 }, b = { 0 };
    uint8_t d = 0;

    g_assert_true(bus_register(bus, BUS_PIO, 0x1000, 0x10, probe_handler, &a,
                               NULL));
    g_assert_true(bus_register(bus, BUS_MMIO, 0x1000, 0x10, probe_handler, &b,
                               NULL));
    bus_dispatch(bus, BUS_MMIO, 0x1004, &d, 1, false);
    g_assert_cmpuint(a.calls, ==, 0);
    g_assert_cmpuint(b.calls, ==, 1);
    bus_free(bus);
}

static void test_unregister(void)
{
    struct bus *bus = bus_new();
    struct probe p = { 0 };
    uint8_t d = 0;

    g_assert_true(bus_register(bus, BUS_PIO, 0xa00, 0x18, probe_handler, &p,
                               NULL));
    g_assert_false(bus_unregister(bus, BUS_PIO, 0xa04));
    g_assert_true(bus_unregister(bus, BUS_PIO, 0xa00));
    g_assert_false(bus_dispatch(bus, BUS_PIO, 0xa00, &d, 1, false));
    /* The range is free again. */
    g_assert_true(bus_register(bus, BUS_PIO, 0xa00, 0x18, probe_handler, &p,
                               NULL));
    bus_free(bus);
}

/* Many ranges: lookups stay exact whatever the registration order. */
static void test_many_ranges(void)
{
    struct bus *bus = bus_new();
    struct probe p[64] = { 0 };
    uint8_t d;

    for (unsigned i = 0; i < 64; i++) {
        unsigned k = (i * 37) % 64;

        g_assert_true(bus_register(bus, BUS_MMIO, 0x10000 + k * 0x100, 0x80,
                                   probe_handler, &p[k], NULL));
    }
    for (unsigned k = 0; k < 64; k++) {
        g_assert_true(bus_dispatch(bus, BUS_MMIO, 0x10000 + k * 0x100 + 0x7f,
                                   &d, 1, false));
        g_assert_false(bus_dispatch(bus, BUS_MMIO, 0x10000 + k * 0x100 + 0x80,
                                    &d, 1, false));
        g_assert_cmpuint(p[k].calls, ==, 1);
        g_assert_cmpuint(p[k].last_offset, ==, 0x7f);
    }
    bus_free(bus);
}

struct slow_probe {
    gint in_handler;
    gint done;
};

static void slow_handler(void *opaque, uint64_t offset, uint8_t *data,
                         uint32_t len, bool is_write)
{
    struct slow_probe *s = opaque;

    g_atomic_int_set(&s->in_handler, 1);
    g_usleep(100000);
    g_atomic_int_set(&s->done, 1);
}

static gpointer dispatch_thread(gpointer bus)
{
    uint8_t d = 0;

    bus_dispatch(bus, BUS_PIO, 0x80, &d, 1, true);
    return NULL;
}

/* Unregistering waits for a handler that is running on another thread. */
static void test_unregister_waits_for_handler(void)
{
    struct bus *bus = bus_new();
    struct slow_probe s = { 0 };
    GThread *t;

    g_assert_true(bus_register(bus, BUS_PIO, 0x80, 1, slow_handler, &s,
                               NULL));
    t = g_thread_new("dispatch", dispatch_thread, bus);
    while (!g_atomic_int_get(&s.in_handler))
        g_usleep(1000);
    g_assert_true(bus_unregister(bus, BUS_PIO, 0x80));
    g_assert_cmpint(g_atomic_int_get(&s.done), ==, 1);
    g_thread_join(t);
    bus_free(bus);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bus/dispatch/offset", test_dispatch_offset);
    g_test_add_func("/bus/dispatch/unclaimed-reads-ones",
                    test_unclaimed_reads_ones);
    g_test_add_func("/bus/dispatch/edges", test_edges);
    g_test_add_func("/bus/dispatch/many-ranges", test_many_ranges);
    g_test_add_func("/bus/spaces-independent", test_spaces_independent);
    for (unsigned i = 0; i < G_N_ELEMENTS(overlap_cases); i++) {
        g_autofree char *path = g_strdup_printf("/bus/register/%s",
                                                overlap_cases[i].name);

        g_test_add_data_func(path, GUINT_TO_POINTER(i), test_overlap);
    }
    g_test_add_func("/bus/unregister/basic", test_unregister);
    g_test_add_func("/bus/unregister/waits-for-handler",
                    test_unregister_waits_for_handler);
    return g_test_run();
}
