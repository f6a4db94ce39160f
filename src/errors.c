#include "errors.h"

#include <stdarg.h>

G_DEFINE_QUARK(hotmem-error-quark, hm_error)

bool hm_fail(GError **err, int code, const char *fmt, ...)
{
    va_list ap;
    GError *e;

    va_start(ap, fmt);
    e = g_error_new_valist(HM_ERROR, code, fmt, ap);
    va_end(ap);
    g_propagate_error(err, e);
    return false;
}
