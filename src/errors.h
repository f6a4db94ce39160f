/* The project-wide GError domain for VMM errors below main(). */
#pragma once

#include <stdbool.h>
#include <glib.h>

#define HM_ERROR (hm_error_quark())
GQuark hm_error_quark(void);

enum hm_error_code {
    HM_ERROR_FAILED,        /* generic failure */
    HM_ERROR_INVALID,       /* bad input: command line, monitor, guest */
    HM_ERROR_KVM,           /* a KVM ioctl failed */
    HM_ERROR_NOT_SUPPORTED, /* host lacks a capability */
    HM_ERROR_IO,            /* file or socket I/O */
    HM_ERROR_DEVICE_NOT_FOUND, /* no device with that id */
};

/* Sets *err (HM_ERROR, code) from a format, if err is not NULL; returns
 * false, for "return hm_fail(err, ...);". */
bool hm_fail(GError **err, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
