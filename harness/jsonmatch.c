/*
 * JSON subset matching (docs/harness.md, "Matching").
 */
#include "jsonmatch.h"

#include <string.h>

const char *json_text(json_object *v)
{
    if (!v)
        return "null";
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                          JSON_C_TO_STRING_NOSLASHESCAPE);
}

static const char *type_name(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "a boolean";
    case json_type_double:
    case json_type_int: return "a number";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    }
    return "?";
}

static bool is_number(json_object *v)
{
    return json_object_is_type(v, json_type_int) ||
           json_object_is_type(v, json_type_double);
}

static bool numbers_equal(json_object *a, json_object *b)
{
    if (json_object_is_type(a, json_type_int) &&
        json_object_is_type(b, json_type_int)) {
        gint64 ia = json_object_get_int64(a), ib = json_object_get_int64(b);

        /* Negative values fit int64 exactly; others compare as uint64
         * (json-c keeps values above INT64_MAX as unsigned). */
        if (ia < 0 || ib < 0)
            return ia == ib;
        return json_object_get_uint64(a) == json_object_get_uint64(b);
    }
    return json_object_get_double(a) == json_object_get_double(b);
}

static bool mismatch(GString *why, const GString *path, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static bool mismatch(GString *why, const GString *path, const char *fmt, ...)
{
    va_list ap;

    if (!why)
        return false;
    g_string_append_printf(why, "%s: ", path->len ? path->str : "(top)");
    va_start(ap, fmt);
    g_string_append_vprintf(why, fmt, ap);
    va_end(ap);
    return false;
}

static bool match_at(json_object *p, json_object *v, GString *path,
                     GString *why)
{
    gsize plen = path->len;

    if (is_number(p) && is_number(v)) {
        if (!numbers_equal(p, v))
            return mismatch(why, path, "expected %s, got %s", json_text(p),
                            json_text(v));
        return true;
    }
    if (json_object_get_type(p) != json_object_get_type(v))
        return mismatch(why, path, "expected %s %s, got %s", type_name(p),
                        json_text(p), json_text(v));
    switch (json_object_get_type(p)) {
    case json_type_object: {
        json_object_object_foreach(p, key, pv) {
            json_object *vv;

            g_string_append_printf(path, ".%s", key);
            if (!json_object_object_get_ex(v, key, &vv))
                return mismatch(why, path, "missing (object is %s)",
                                json_text(v));
            if (!match_at(pv, vv, path, why))
                return false;
            g_string_truncate(path, plen);
        }
        return true;
    }
    case json_type_array: {
        size_t n = json_object_array_length(p);

        if (json_object_array_length(v) != n)
            return mismatch(why, path, "expected %zu elements, got %zu: %s",
                            n, json_object_array_length(v), json_text(v));
        for (size_t i = 0; i < n; i++) {
            g_string_append_printf(path, "[%zu]", i);
            if (!match_at(json_object_array_get_idx(p, i),
                          json_object_array_get_idx(v, i), path, why))
                return false;
            g_string_truncate(path, plen);
        }
        return true;
    }
    case json_type_string:
        if (json_object_get_string_len(p) != json_object_get_string_len(v) ||
            memcmp(json_object_get_string(p), json_object_get_string(v),
                   (size_t)json_object_get_string_len(p)))
            return mismatch(why, path, "expected %s, got %s", json_text(p),
                            json_text(v));
        return true;
    case json_type_boolean:
        if (json_object_get_boolean(p) != json_object_get_boolean(v))
            return mismatch(why, path, "expected %s, got %s", json_text(p),
                            json_text(v));
        return true;
    default:    /* null */
        return true;
    }
}

bool json_match(json_object *pattern, json_object *value, GString *why)
{
    g_autoptr(GString) path = g_string_new(NULL);

    return match_at(pattern, value, path, why);
}
