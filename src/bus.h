/*
 * One trap API for port I/O and MMIO. Devices register a range with a
 * handler; vCPU threads dispatch exits through bus_dispatch(). Overlapping
 * ranges are rejected. Unregistering is safe while vCPUs run: it waits for
 * handlers in flight on that bus to return. A handler must not register or
 * unregister on the bus that called it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

enum bus_space { BUS_PIO, BUS_MMIO };

/*
 * offset is relative to the registered base. For reads, the handler fills
 * data[0..len); for writes it consumes it. len is 1, 2, 4 or 8.
 */
typedef void (*bus_handler)(void *opaque, uint64_t offset, uint8_t *data,
                            uint32_t len, bool is_write);

struct bus;

struct bus *bus_new(void);
void bus_free(struct bus *bus);

bool bus_register(struct bus *bus, enum bus_space space, uint64_t base,
                  uint64_t len, bus_handler fn, void *opaque, GError **err);
bool bus_unregister(struct bus *bus, enum bus_space space, uint64_t base);

/*
 * Dispatches one access. Returns false when no device claims the address;
 * unclaimed reads then return all-ones in data, as on real buses.
 */
bool bus_dispatch(struct bus *bus, enum bus_space space, uint64_t addr,
                  uint8_t *data, uint32_t len, bool is_write);
