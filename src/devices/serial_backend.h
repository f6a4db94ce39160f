/*
 * Where a UART's bytes go and come from: the terminal (stdio), a file, or
 * nowhere. Input is read on the main loop and fed to the UART as fast as the
 * guest drains its FIFO, so pasted text is never dropped. Output never
 * blocks a vCPU: it is buffered (up to SERIAL_BACKEND_OUT_BUFFER bytes) and
 * written from the main loop; beyond that the UART's line looks busy to the
 * guest until the reader catches up.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "devices/serial.h"

/* Guest output kept while the console's reader is behind. */
#define SERIAL_BACKEND_OUT_BUFFER   (64u << 10)

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

/*
 * Input read from the host but not yet taken by the UART (main thread): a
 * copy for a migration, and on the destination bytes to deliver before
 * anything read there.
 */
GBytes *serial_backend_pending_input(struct serial_backend *b);
void serial_backend_prepend_input(struct serial_backend *b,
                                  const uint8_t *data, size_t len);

/* Starts feeding input to s (call once the UART exists). */
void serial_backend_attach(struct serial_backend *b, struct serial *s);
