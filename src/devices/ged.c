/*
 * Generic Event Device. Reading the event register returns the latched
 * events and clears them, which also lowers the (level-triggered) interrupt
 * line: the guest's _EVT runs once per batch of events.
 *
 * The line follows the latch exactly: it is driven under the same lock that
 * guards the latch, so a raise on the main thread and the guest's read on a
 * vCPU thread cannot leave it low with an event latched (that event would
 * wait for the next one) or high with none (the guest's handler would read
 * 0 and, the line still high at its EOI, be interrupted again forever).
 */
#include "devices/ged.h"

#include <string.h>

#include "acpi/aml.h"

struct ged {
    GMutex lock;
    struct bus *bus;
    ged_irq_fn set_irq;
    void *opaque;
    uint32_t pending;
};

static void ged_access(void *opaque, uint64_t offset, uint8_t *data,
                       uint32_t len, bool is_write)
{
    struct ged *g = opaque;
    uint32_t v;

    if (is_write)
        return;     /* the register is read-only */
    g_mutex_lock(&g->lock);
    v = offset == 0 ? g->pending : 0;
    if (offset == 0) {
        g->pending = 0;
        g->set_irq(g->opaque, false);
    }
    g_mutex_unlock(&g->lock);
    memset(data, 0, len);
    memcpy(data, &v, MIN(len, sizeof(v)));
}

struct ged *ged_create(struct bus *bus, ged_irq_fn set_irq, void *opaque,
                       GError **err)
{
    struct ged *g = g_new0(struct ged, 1);

    g_mutex_init(&g->lock);
    g->bus = bus;
    g->set_irq = set_irq;
    g->opaque = opaque;
    if (!bus_register(bus, BUS_PIO, GED_PORT, 4, ged_access, g, err)) {
        g_mutex_clear(&g->lock);
        g_free(g);
        return NULL;
    }
    return g;
}

void ged_destroy(struct ged *g)
{
    if (!g)
        return;
    bus_unregister(g->bus, BUS_PIO, GED_PORT);
    g_mutex_clear(&g->lock);
    g_free(g);
}

void ged_raise(struct ged *g, uint32_t events)
{
    g_mutex_lock(&g->lock);
    g->pending |= events;
    g->set_irq(g->opaque, true);
    g_mutex_unlock(&g->lock);
}

void ged_reset(struct ged *g)
{
    g_mutex_lock(&g->lock);
    g->pending = 0;
    g->set_irq(g->opaque, false);
    g_mutex_unlock(&g->lock);
}

uint32_t ged_pending(struct ged *g)
{
    uint32_t v;

    g_mutex_lock(&g->lock);
    v = g->pending;
    g_mutex_unlock(&g->lock);
    return v;
}

void ged_set_pending(struct ged *g, uint32_t events)
{
    g_mutex_lock(&g->lock);
    g->pending = events;
    g->set_irq(g->opaque, events != 0);
    g_mutex_unlock(&g->lock);
}

/* If (And (Local0, bit)) { body } */
static struct aml *if_event(uint32_t bit, struct aml *body)
{
    struct aml *test = aml_if(aml_and(aml_local(0), aml_int(bit), NULL));

    aml_append(test, body);
    return test;
}

void ged_build_aml(struct aml *scope, const char *memory_scan,
                   const char *power_button)
{
    struct aml *dev = aml_device("GED0");
    struct aml *crs = aml_resource_template();
    struct aml *field = aml_field("EREG", AML_DWORD_ACC, AML_NOLOCK,
                                  AML_PRESERVE);
    struct aml *evt = aml_method("_EVT", 1, true);
    uint32_t gsi = GED_GSI;

    aml_append(dev, aml_name_decl("_HID", aml_string("ACPI0013")));
    aml_append(dev, aml_name_decl("_UID", aml_int(0)));
    aml_append(crs, aml_interrupt(false, false, false, &gsi, 1));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(dev, aml_operation_region("EREG", AML_SYSTEM_IO,
                                         aml_int(GED_PORT), aml_int(4)));
    aml_append(field, aml_named_field("ESEL", 32));
    aml_append(dev, field);
    /* _EVT(Arg0 = GSI): read-and-clear the events, act on each bit. */
    aml_append(evt, aml_store(aml_name("ESEL"), aml_local(0)));
    if (memory_scan)
        aml_append(evt, if_event(GED_EVENT_MEMORY,
                                 aml_call(memory_scan, NULL)));
    aml_append(evt, if_event(GED_EVENT_POWER,
                             aml_notify(aml_name("%s", power_button),
                                        aml_int(0x80))));
    aml_append(dev, evt);
    aml_append(scope, dev);
}
