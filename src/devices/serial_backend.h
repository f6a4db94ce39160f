/*
 * Where a UART's bytes go and come from: the terminal (stdio), a file, or
 * nowhere. Input is read on the main loop and fed to the UART as fast as the
 * guest drains its FIFO, so pasted text is never dropped.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "devices/serial.h"

enum serial_backend_kind {
    SERIAL_BACKEND_STDIO,
    SERIAL_BACKEND_FILE,
    SERIAL_BACKEND_NONE,
};

struct serial_backend;

struct serial_backend *serial_backend_new(enum serial_backend_kind kind,
                                          const char *path, GError **err);
/* Restores the terminal if it was put in raw mode. */
void serial_backend_free(struct serial_backend *b);

/* Fills the transmit/rx_drained callbacks of ops for this backend. */
void serial_backend_fill_ops(struct serial_backend *b, struct serial_ops *ops);

/* Starts feeding input to s (call once the UART exists). */
void serial_backend_attach(struct serial_backend *b, struct serial *s);
