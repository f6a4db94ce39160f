/* Property values (props.h). */
#include "props.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define fail(err, ...) hm_fail((err), HM_ERROR_INVALID, __VA_ARGS__)

const char *props_parse_digits(const char *s, uint64_t *v, bool *overflow)
{
    *v = 0;
    *overflow = false;
    for (; g_ascii_isdigit(*s); s++) {
        unsigned d = (unsigned)(*s - '0');

        if (*v > (UINT64_MAX - d) / 10)
            *overflow = true;
        else
            *v = *v * 10 + d;
    }
    return s;
}

/* Binary units, as QEMU's qemu_strtosz(); case does not matter. */
static int suffix_shift(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B': return 0;
    case 'K': return 10;
    case 'M': return 20;
    case 'G': return 30;
    case 'T': return 40;
    case 'P': return 50;
    case 'E': return 60;
    default: return -1;
    }
}

/*
 * "1.5G": whole part v, fraction digits at frac, then a suffix, which a
 * fraction needs (as in QEMU's qemu_strtosz(): "1.5" alone is refused,
 * "1.5G" is 1.5 GiB). Bytes below one are dropped, as QEMU truncates.
 */
static bool parse_fraction(const char *s, uint64_t v, bool overflow,
                           const char *frac, uint64_t *out, GError **err)
{
    unsigned __int128 num = 0, den = 1, total;
    const char *p = frac;
    int shift;

    for (; g_ascii_isdigit(*p); p++) {
        if (den < ((unsigned __int128)1 << 100)) {
            num = num * 10 + (unsigned)(*p - '0');
            den *= 10;
        }
    }
    shift = *p ? suffix_shift(*p) : -1;
    if (shift <= 0)
        return fail(err, "size '%s' has a fractional part but %s: a "
                    "fraction needs a K, M, G, T, P or E suffix (1.5G)", s,
                    !*p ? "no unit" : shift == 0 ? "the unit B"
                                                 : "an unknown suffix");
    if (p[1])
        return fail(err, "size '%s' has trailing characters '%s' after "
                    "the suffix '%c'", s, p + 1, *p);
    total = ((unsigned __int128)v << shift) + ((num << shift) / den);
    if (overflow || total > UINT64_MAX)
        return fail(err, "size '%s' does not fit in 64 bits", s);
    *out = (uint64_t)total;
    return true;
}

bool props_parse_size(const char *s, uint64_t default_unit, uint64_t *out,
                      GError **err)
{
    uint64_t v, unit = default_unit ? default_unit : 1;
    bool overflow;
    const char *end;
    int shift;

    if (!s || !*s)
        return fail(err, "size '' is empty: expected a number with an "
                    "optional K, M, G or T suffix");
    /* "-m -serial stdio": the next option was taken for the value. */
    if (*s == '-' && g_ascii_isalpha(s[1 + (s[1] == '-')]))
        return fail(err, "size '%s' is not a number; it looks like an "
                    "option: was the value left out?", s);
    if (*s == '-')
        return fail(err, "size '%s' is negative", s);
    if (!g_ascii_isdigit(*s))
        return fail(err, "size '%s' does not start with a decimal digit", s);
    end = props_parse_digits(s, &v, &overflow);
    if (end == s + 1 && *s == '0' && (*end == 'x' || *end == 'X'))
        return fail(err, "size '%s' is hexadecimal: only decimal numbers "
                    "are accepted", s);
    if (*end == ',')
        return fail(err, "size '%s' has a decimal comma: write a point "
                    "(1.5G) or whole units (1536M)", s);
    if (*end == '.')
        return parse_fraction(s, v, overflow, end + 1, out, err);
    if (*end) {
        shift = suffix_shift(*end);
        if (shift < 0)
            return fail(err, "size '%s' has unknown suffix '%s' (expected "
                        "K, M, G or T, binary units)", s, end);
        if (end[1])
            return fail(err, "size '%s' has trailing characters '%s' after "
                        "the suffix '%c'", s, end + 1, *end);
        unit = 1ULL << shift;
    }
    if (overflow || (v && unit > UINT64_MAX / v))
        return fail(err, "size '%s' does not fit in 64 bits", s);
    *out = v * unit;
    return true;
}

static bool wrong_type(GError **err, const char *name, const char *expected)
{
    return fail(err, "Invalid parameter type for '%s', expected: %s", name,
                expected);
}

/* A non-negative JSON integer (json-c keeps values above INT64_MAX too). */
static bool json_uint(const char *name, json_object *v, uint64_t *out,
                      GError **err)
{
    if (json_object_get_int64(v) < 0)
        return fail(err, "Parameter '%s' expects a non-negative number, got "
                    "%" PRId64, name, json_object_get_int64(v));
    *out = json_object_get_uint64(v);
    return true;
}

bool props_size(json_object *v, const char *name, uint64_t *out,
                GError **err)
{
    GError *local = NULL;

    if (json_object_is_type(v, json_type_int))
        return json_uint(name, v, out, err);
    if (!json_object_is_type(v, json_type_string))
        return wrong_type(err, name, "integer");
    if (!props_parse_size(json_object_get_string(v), 1, out, &local)) {
        fail(err, "Parameter '%s' expects a size: %s", name, local->message);
        g_error_free(local);
        return false;
    }
    return true;
}

bool props_uint(json_object *v, const char *name, uint64_t max,
                uint64_t *out, GError **err)
{
    const char *s;
    char *end;
    uint64_t n = 0;

    if (json_object_is_type(v, json_type_int)) {
        if (json_object_get_int64(v) < 0)
            goto range;
        n = json_object_get_uint64(v);
    } else if (json_object_is_type(v, json_type_string)) {
        s = json_object_get_string(v);
        errno = 0;
        n = strtoull(s, &end, 0);
        if (!g_ascii_isdigit(s[0]) || *end || errno)
            return fail(err, "Parameter '%s' expects a number (decimal or "
                        "0x hexadecimal), got '%s'", name, s);
    } else {
        return wrong_type(err, name, "integer");
    }
    if (n > max)
        goto range;
    *out = n;
    return true;
range:
    return fail(err, "Parameter '%s' is out of range (0..%" PRIu64 ")", name,
                max);
}

bool props_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "on", "yes", "true", "y" };
    static const char *const no[] = { "off", "no", "false", "n" };

    for (unsigned i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
            *out = !strcmp(s, yes[i]);
            return true;
        }
    }
    return false;
}

bool props_bool(json_object *v, const char *name, bool *out, GError **err)
{
    const char *s;

    if (json_object_is_type(v, json_type_boolean)) {
        *out = json_object_get_boolean(v);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return wrong_type(err, name, "boolean");
    s = json_object_get_string(v);
    if (props_parse_bool(s, out))
        return true;
    return fail(err, "Parameter '%s' expects 'on' or 'off', got '%s'", name, s);
}

bool props_string(json_object *v, const char *name, char **out,
                  GError **err)
{
    if (!json_object_is_type(v, json_type_string))
        return wrong_type(err, name, "string");
    g_free(*out);
    *out = g_strdup(json_object_get_string(v));
    return true;
}

bool props_id_valid(const char *id)
{
    if (!id || !g_ascii_isalpha(id[0]))
        return false;
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p))
            return false;
    }
    return true;
}

bool props_check_id(const char *id, GError **err)
{
    if (!id)
        return fail(err, "Parameter 'id' is missing");
    if (!props_id_valid(id))
        return fail(err, "Parameter 'id' expects an identifier (a letter, "
                    "then letters, digits, '-', '.' or '_'), got '%s'", id);
    return true;
}
