/* Power port: one byte-wide register at HOTMEM_POWER_PORT. */
#include "devices/power_port.h"

#include <string.h>

#include "hotmem/guest-abi.h"

struct power_port {
    struct bus *bus;
    power_request_fn fn;
    void *opaque;
};

static void power_port_access(void *opaque, uint64_t offset, uint8_t *data,
                              uint32_t len, bool is_write)
{
    struct power_port *p = opaque;

    if (!is_write) {
        memset(data, 0, len);
        return;
    }
    if (data[0] == HOTMEM_POWER_OFF)
        p->fn(p->opaque, POWER_REQUEST_OFF);
    else if (data[0] == HOTMEM_POWER_PANIC)
        p->fn(p->opaque, POWER_REQUEST_PANIC);
}

struct power_port *power_port_create(struct bus *bus, power_request_fn fn,
                                     void *opaque, GError **err)
{
    struct power_port *p = g_new0(struct power_port, 1);

    *p = (struct power_port){ .bus = bus, .fn = fn, .opaque = opaque };
    if (!bus_register(bus, BUS_PIO, HOTMEM_POWER_PORT, 1, power_port_access,
                      p, err)) {
        g_free(p);
        return NULL;
    }
    return p;
}

void power_port_destroy(struct power_port *p)
{
    if (!p)
        return;
    bus_unregister(p->bus, BUS_PIO, HOTMEM_POWER_PORT);
    g_free(p);
}
