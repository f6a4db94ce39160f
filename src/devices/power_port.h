/*
 * The hotmem power port (include/hotmem/guest-abi.h): lets a guest power off
 * or report a fatal error before ACPI sleep registers exist.
 */
#pragma once

#include <glib.h>

#include "bus.h"

enum power_request { POWER_REQUEST_OFF, POWER_REQUEST_PANIC };

typedef void (*power_request_fn)(void *opaque, enum power_request req);

struct power_port;

struct power_port *power_port_create(struct bus *bus, power_request_fn fn,
                                     void *opaque, GError **err);
void power_port_destroy(struct power_port *p);
