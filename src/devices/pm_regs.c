/*
 * Sleep control (SLP_TYP bits 2-4, SLP_EN bit 5), sleep status (WAK_STS bit
 * 7) and reset registers. Only S5 exists here: writing SLP_EN with the _S5
 * sleep type powers off; writing the reset value resets.
 */
#include "devices/pm_regs.h"

#include <string.h>

#include "acpi/aml.h"
#include "acpi/tables.h"

#define SLP_TYP_SHIFT   2
#define SLP_TYP_MASK    0x7
#define SLP_EN          (1u << 5)
#define WAK_STS         (1u << 7)

struct pm_regs {
    struct bus *bus;
    pm_request_fn fn;
    void *opaque;
};

static void pm_access(void *opaque, uint64_t offset, uint8_t *data,
                      uint32_t len, bool is_write)
{
    struct pm_regs *p = opaque;
    uint16_t port = (uint16_t)(ACPI_SLEEP_CTL_PORT + offset);
    uint8_t v = data[0];

    if (!is_write) {
        memset(data, 0, len);
        return;     /* never asleep, so WAK_STS reads 0 */
    }
    if (port == ACPI_SLEEP_CTL_PORT && (v & SLP_EN) &&
        ((v >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == ACPI_S5_SLP_TYP)
        p->fn(p->opaque, PM_REQUEST_POWEROFF);
    else if (port == ACPI_RESET_PORT && v == ACPI_RESET_VALUE)
        p->fn(p->opaque, PM_REQUEST_RESET);
}

struct pm_regs *pm_regs_create(struct bus *bus, pm_request_fn fn,
                               void *opaque, GError **err)
{
    struct pm_regs *p = g_new0(struct pm_regs, 1);

    *p = (struct pm_regs){ .bus = bus, .fn = fn, .opaque = opaque };
    G_STATIC_ASSERT(ACPI_SLEEP_STS_PORT == ACPI_SLEEP_CTL_PORT + 1);
    G_STATIC_ASSERT(ACPI_RESET_PORT == ACPI_SLEEP_CTL_PORT + 2);
    if (!bus_register(bus, BUS_PIO, ACPI_SLEEP_CTL_PORT, 3, pm_access, p,
                      err)) {
        g_free(p);
        return NULL;
    }
    return p;
}

void pm_regs_destroy(struct pm_regs *p)
{
    if (!p)
        return;
    bus_unregister(p->bus, BUS_PIO, ACPI_SLEEP_CTL_PORT);
    g_free(p);
}

void pm_regs_build_aml(struct aml *scope)
{
    struct aml *s5 = aml_package(2);

    aml_append(s5, aml_int(ACPI_S5_SLP_TYP));
    aml_append(s5, aml_int(0));
    aml_append(scope, aml_name_decl("_S5", s5));
}
