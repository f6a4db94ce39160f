/*
 * Port-I/O and MMIO dispatch. Each space keeps its ranges sorted by base so a
 * lookup is a binary search. Dispatch holds the read side of the bus lock for
 * the duration of the handler, so bus_unregister() (write side) returns only
 * once no vCPU is inside a handler of the range being removed.
 */
#include "bus.h"

#include <string.h>

#include "errors.h"

struct bus_range {
    uint64_t base;
    uint64_t len;
    bus_handler fn;
    void *opaque;
};

struct bus {
    GRWLock lock;
    GArray *ranges[2];      /* struct bus_range, sorted by base */
};

static const char *space_name(enum bus_space space)
{
    return space == BUS_PIO ? "port I/O" : "MMIO";
}

struct bus *bus_new(void)
{
    struct bus *bus = g_new0(struct bus, 1);

    g_rw_lock_init(&bus->lock);
    for (int i = 0; i < 2; i++)
        bus->ranges[i] = g_array_new(FALSE, FALSE, sizeof(struct bus_range));
    return bus;
}

void bus_free(struct bus *bus)
{
    if (!bus)
        return;
    for (int i = 0; i < 2; i++)
        g_array_free(bus->ranges[i], TRUE);
    g_rw_lock_clear(&bus->lock);
    g_free(bus);
}

/* Index of the first range with base > addr. */
static guint upper_bound(GArray *a, uint64_t addr)
{
    guint lo = 0, hi = a->len;

    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;

        if (g_array_index(a, struct bus_range, mid).base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct bus_range *find_range(GArray *a, uint64_t addr)
{
    guint i = upper_bound(a, addr);
    struct bus_range *r;

    if (i == 0)
        return NULL;
    r = &g_array_index(a, struct bus_range, i - 1);
    return addr - r->base < r->len ? r : NULL;
}

static bool overlaps(GArray *a, guint i, uint64_t base, uint64_t len,
                     struct bus_range **hit)
{
    /* Only the neighbours of the insertion point can overlap. */
    for (guint j = i ? i - 1 : 0; j < a->len && j <= i; j++) {
        struct bus_range *r = &g_array_index(a, struct bus_range, j);

        if (base < r->base + r->len && r->base < base + len) {
            *hit = r;
            return true;
        }
    }
    return false;
}

bool bus_register(struct bus *bus, enum bus_space space, uint64_t base,
                  uint64_t len, bus_handler fn, void *opaque, GError **err)
{
    GArray *a = bus->ranges[space];
    struct bus_range *hit, r = { base, len, fn, opaque };
    guint i;

    if (len == 0 || base + len < base || !fn) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "%s range at 0x%" G_GINT64_MODIFIER "x with length 0x%"
                    G_GINT64_MODIFIER "x is empty or wraps around",
                    space_name(space), base, len);
        return false;
    }
    g_rw_lock_writer_lock(&bus->lock);
    i = upper_bound(a, base);
    if (overlaps(a, i, base, len, &hit)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "%s range [0x%" G_GINT64_MODIFIER "x, 0x%"
                    G_GINT64_MODIFIER "x) overlaps registered range [0x%"
                    G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER "x)",
                    space_name(space), base, base + len, hit->base,
                    hit->base + hit->len);
        g_rw_lock_writer_unlock(&bus->lock);
        return false;
    }
    g_array_insert_val(a, i, r);
    g_rw_lock_writer_unlock(&bus->lock);
    return true;
}

bool bus_unregister(struct bus *bus, enum bus_space space, uint64_t base)
{
    GArray *a = bus->ranges[space];
    bool found = false;

    g_rw_lock_writer_lock(&bus->lock);
    for (guint i = 0; i < a->len; i++) {
        if (g_array_index(a, struct bus_range, i).base == base) {
            g_array_remove_index(a, i);
            found = true;
            break;
        }
    }
    g_rw_lock_writer_unlock(&bus->lock);
    return found;
}

bool bus_dispatch(struct bus *bus, enum bus_space space, uint64_t addr,
                  uint8_t *data, uint32_t len, bool is_write)
{
    struct bus_range *r;
    bool claimed = false;

    g_rw_lock_reader_lock(&bus->lock);
    r = find_range(bus->ranges[space], addr);
    if (r) {
        r->fn(r->opaque, addr - r->base, data, len, is_write);
        claimed = true;
    }
    g_rw_lock_reader_unlock(&bus->lock);
    if (!claimed && !is_write)
        memset(data, 0xff, len);
    return claimed;
}
