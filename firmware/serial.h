/* COM1, a 16550A UART, driven from ring 3 by port I/O. */
#pragma once

/* 115200 8N1, FIFOs on, receive-data interrupt enabled, OUT2 gating the IRQ. */
void serial_init(void);

/* Polls LSR.THRE (once per 16 bytes, the FIFO depth) then writes THR. */
void serial_putc(char c);

/* Returns the next received byte, or -1 when none is pending. */
int serial_getc(void);
