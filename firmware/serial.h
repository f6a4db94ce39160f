/* COM1, a 16550A UART, driven from ring 3 by port I/O. */
#pragma once

#include <stdbool.h>

/* 115200 8N1, FIFOs on, receive-data interrupt enabled, OUT2 gating the IRQ. */
void serial_init(void);

/* Polls LSR.THRE (once per 16 bytes, the FIFO depth) then writes THR. */
void serial_putc(char c);

/* Returns the next received byte, or -1 when none is pending. */
int serial_getc(void);

/* Whether a received byte waits (LSR data ready), without taking it. */
bool serial_rx_pending(void);

/*
 * Programs the UART again as serial_init() does, whatever was written to
 * its registers meanwhile (a storm, hostile.c), then reads and drops the
 * bytes waiting in the receive FIFO, at most SERIAL_RESET_DRAIN_MAX (a
 * loopback storm may have put garbage there). Returns how many it dropped.
 */
#define SERIAL_RESET_DRAIN_MAX  4096
unsigned serial_reset(void);
