#include "errors.h"

G_DEFINE_QUARK(hotmem-error-quark, hm_error)
