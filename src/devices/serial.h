/* 16550A UART (one per instance; COM1 at 0x3f8, IRQ 4 on PCs). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "bus.h"

#define SERIAL_FIFO_SIZE 16

struct serial_ops {
    /* The device's interrupt line changed level. */
    void (*set_irq)(void *irq_opaque, bool level);
    void *irq_opaque;
    /* The character backend: transmit and rx_drained get chr_opaque. */
    void *chr_opaque;
    /*
     * The guest transmitted bytes: returns how many the backend took. The
     * rest stay in the UART's transmit FIFO (LSR THRE and TEMT clear, as
     * on a real UART whose line is busy) until the backend calls
     * serial_tx_ready(). Called with the UART's lock held, on a vCPU thread
     * or in serial_tx_ready(): it must never block.
     */
    size_t (*transmit)(void *opaque, const uint8_t *buf, size_t len);
    /*
     * The guest emptied the receive FIFO: the backend may call
     * serial_receive() again. Called on a vCPU thread.
     */
    void (*rx_drained)(void *opaque);
};

struct serial;

struct serial *serial_create(struct bus *bus, uint16_t base,
                             const struct serial_ops *ops, GError **err);
void serial_destroy(struct serial *s);

/*
 * Queues bytes from the outside world into the receive FIFO; returns how many
 * fit (the rest must be offered again after rx_drained). Thread-safe.
 */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

/*
 * The backend can take bytes again: the UART offers what waits in its
 * transmit FIFO and, once that is empty, raises THRE. Thread-safe; do not
 * call it from inside transmit.
 */
void serial_tx_ready(struct serial *s);
/*
 * Machine reset: the UART's registers as at power-on (9600 8N1, no FIFOs,
 * no interrupts enabled, line low); received bytes not yet read are
 * dropped, bytes already handed to the backend are not.
 */
void serial_reset(struct serial *s);

/*
 * A UART's state as a migration carries it (docs/migration.md): the
 * registers, both FIFOs (oldest byte first) and the interrupt line.
 */
struct serial_state {
    uint8_t rx[SERIAL_FIFO_SIZE], tx[SERIAL_FIFO_SIZE];
    uint8_t rx_count, tx_count;
    uint8_t ier, lcr, mcr, lsr_errors, scr, fcr;
    uint16_t divisor;
    bool thre_pending, irq_level;
};
void serial_get_state(struct serial *s, struct serial_state *st);
/*
 * Takes st over (counts beyond the FIFO size are cut to it), drives the
 * interrupt line to match and offers what waits in the transmit FIFO to
 * the backend.
 */
void serial_set_state(struct serial *s, const struct serial_state *st);

struct aml;
/* Appends Device(name) for a UART at base with interrupt gsi to scope. */
void serial_build_aml(struct aml *scope, const char *name, uint16_t base,
                      uint32_t gsi, unsigned uid);
