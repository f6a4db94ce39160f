/*
 * Output in QEMU's wire format: "key": value with one space after ':' and
 * ',', no spaces inside brackets, ASCII only (qmp-spec: "sends its output
 * encoded in ASCII"), so clients and scripts that match QEMU's output
 * textually keep working. json-c's own printers put spaces inside
 * brackets and emit raw UTF-8.
 */
#include <math.h>
#include <string.h>

#include "monitor/qmp_internal.h"

static void append_codepoint(GString *out, gunichar cp)
{
    if (cp > 0xffff) {
        /* UTF-16 surrogate pair (RFC 8259 section 7). */
        cp -= 0x10000;
        g_string_append_printf(out, "\\u%04x\\u%04x",
                               0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
        g_string_append_printf(out, "\\u%04x", cp);
    }
}

static void append_escape(GString *out, char c)
{
    switch (c) {
    case '"':  g_string_append(out, "\\\""); break;
    case '\\': g_string_append(out, "\\\\"); break;
    case '\b': g_string_append(out, "\\b"); break;
    case '\f': g_string_append(out, "\\f"); break;
    case '\n': g_string_append(out, "\\n"); break;
    case '\r': g_string_append(out, "\\r"); break;
    case '\t': g_string_append(out, "\\t"); break;
    default:   append_codepoint(out, (unsigned char)c); break;
    }
}

static void append_string(GString *out, const char *s, size_t len)
{
    const char *end = s + len;

    g_string_append_c(out, '"');
    while (s < end) {
        unsigned char c = (unsigned char)*s;

        if (c >= 0x80) {
            gunichar cp = g_utf8_get_char_validated(s, end - s);

            if (cp == (gunichar)-1 || cp == (gunichar)-2) {
                append_codepoint(out, 0xfffd);  /* invalid UTF-8 */
                s++;
                continue;
            }
            append_codepoint(out, cp);
            s = g_utf8_next_char(s);
            continue;
        }
        if (c < 0x20 || c == '"' || c == '\\' || c == 0x7f)
            append_escape(out, (char)c);
        else
            g_string_append_c(out, (char)c);
        s++;
    }
    g_string_append_c(out, '"');
}

static void append_object(GString *out, json_object *v)
{
    bool first = true;

    g_string_append_c(out, '{');
    json_object_object_foreach(v, key, val) {
        if (!first)
            g_string_append(out, ", ");
        first = false;
        append_string(out, key, strlen(key));
        g_string_append(out, ": ");
        qmp_json_append(out, val);
    }
    g_string_append_c(out, '}');
}

static void append_array(GString *out, json_object *v)
{
    size_t n = json_object_array_length(v);

    g_string_append_c(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            g_string_append(out, ", ");
        qmp_json_append(out, json_object_array_get_idx(v, i));
    }
    g_string_append_c(out, ']');
}

void qmp_json_append(GString *out, json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        g_string_append(out, "null");
        break;
    case json_type_boolean:
        g_string_append(out, json_object_get_boolean(v) ? "true" : "false");
        break;
    case json_type_double:
        /*
         * NaN and infinities have no JSON spelling; but a client's number
         * too large for a double (an "id" of 1e400) goes back as written,
         * which json-c keeps.
         */
        if (!isfinite(json_object_get_double(v))) {
            const char *text = json_object_to_json_string_ext(
                v, JSON_C_TO_STRING_PLAIN);

            g_string_append(out, g_ascii_isdigit(text[text[0] == '-'])
                                 ? text : "null");
            break;
        }
        /* json-c prints numbers faithfully */
        G_GNUC_FALLTHROUGH;
    case json_type_int:
        g_string_append(out, json_object_to_json_string_ext(
                                 v, JSON_C_TO_STRING_PLAIN));
        break;
    case json_type_string:
        append_string(out, json_object_get_string(v),
                      json_object_get_string_len(v));
        break;
    case json_type_object:
        append_object(out, v);
        break;
    case json_type_array:
        append_array(out, v);
        break;
    }
}
