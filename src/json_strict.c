/*
 * JSON as QMP and the command line take it, on top of json-c (json_strict.h).
 *
 * The lexer follows what json-c's incremental tokener does not tell its
 * caller: bracket depth, whether a byte is inside a string, line breaks,
 * and the spots where json-c would silently change what was written:
 *
 * - "\u0000" in a string: json-c keeps the NUL, but every C string hotmem
 *   takes from the value ends there, and json-c itself cuts member names
 *   at it ("id\u0000x" becomes "id");
 * - an integer outside -2^63 .. 2^64-1: json-c clamps it to the nearest
 *   limit;
 * - a raw line break in a string (RFC 8259 section 7 forbids control
 *   characters there; json-c takes them).
 *
 * One byte at a time, so a value can arrive in pieces of any size.
 */
#include "json_strict.h"

#include <math.h>
#include <string.h>

#include "errors.h"

void json_lex_reset(struct json_lex *lx)
{
    memset(lx, 0, sizeof(*lx));
}

static bool is_number_byte(char c)
{
    return g_ascii_isdigit(c) || c == '.' || c == 'e' || c == 'E' ||
           c == '+' || c == '-';
}

static void number_start(struct json_lex *lx)
{
    lx->in_number = true;
    lx->num_integer = true;
    lx->num_negative = false;
    lx->num_overflow = false;
    lx->num_digits = 0;
    lx->num_value = 0;
    lx->num_len = 0;
}

static void number_byte(struct json_lex *lx, char c)
{
    if (lx->num_len < sizeof(lx->num_text) - 1)
        lx->num_text[lx->num_len] = c;
    lx->num_len++;
    if (c == '-' && lx->num_len == 1) {
        lx->num_negative = true;
    } else if (g_ascii_isdigit(c) && lx->num_integer) {
        unsigned d = (unsigned)(c - '0');

        lx->num_digits++;
        if (lx->num_value > (UINT64_MAX - d) / 10)
            lx->num_overflow = true;
        else
            lx->num_value = lx->num_value * 10 + d;
    } else {
        lx->num_integer = false;       /* a fraction or an exponent */
    }
}

/* The number just ended: is it an integer json-c would clamp? */
static enum json_lex_event number_end(struct json_lex *lx)
{
    lx->in_number = false;
    lx->num_text[MIN(lx->num_len, sizeof(lx->num_text) - 1)] = '\0';
    if (!lx->num_integer || lx->num_digits == 0)
        return JSON_LEX_OK;
    if (lx->num_negative ? lx->num_overflow ||
                           lx->num_value > (UINT64_C(1) << 63)
                         : lx->num_overflow)
        return JSON_LEX_INT_RANGE;
    return JSON_LEX_OK;
}

static enum json_lex_event string_byte(struct json_lex *lx, char c)
{
    if (lx->escape == 1) {
        lx->escape = c == 'u' ? 2 : 0;
        lx->hex = 0;
        return JSON_LEX_OK;
    }
    if (lx->escape >= 2) {
        /* json-c checks the digits; only their value matters here. */
        lx->hex = (uint16_t)(lx->hex << 4 | (g_ascii_xdigit_value(c) & 0xf));
        if (++lx->escape < 6)
            return JSON_LEX_OK;
        lx->escape = 0;
        return lx->hex == 0 ? JSON_LEX_NUL_ESCAPE : JSON_LEX_OK;
    }
    if (c == '\r' || c == '\n')
        return JSON_LEX_LINE_IN_STRING;
    if (c == '\\')
        lx->escape = 1;
    else if (c == lx->quote)
        lx->quote = 0;
    return JSON_LEX_OK;
}

enum json_lex_event json_lex_step(struct json_lex *lx, char c)
{
    enum json_lex_event ev = JSON_LEX_OK;

    if (lx->quote)
        return string_byte(lx, c);
    if (lx->in_number) {
        if (is_number_byte(c)) {
            number_byte(lx, c);
            return JSON_LEX_OK;
        }
        ev = number_end(lx);
    }
    if (c == '\n')
        lx->line_start = true;
    else if (c != ' ' && c != '\t' && c != '\r')
        lx->line_start = false;
    if (c == '"' || c == '\'') {
        lx->quote = c;
    } else if (c == '{' || c == '[') {
        lx->depth++;
    } else if ((c == '}' || c == ']') && lx->depth > 0) {
        lx->depth--;
    } else if (c == '-' || g_ascii_isdigit(c)) {
        number_start(lx);
        number_byte(lx, c);
    } else if (c == '/' && ev == JSON_LEX_OK) {
        ev = JSON_LEX_SLASH;
    }
    return ev;
}

char *json_lex_message(const struct json_lex *lx, enum json_lex_event ev)
{
    const char *more = lx->num_len >= sizeof(lx->num_text) ? "..." : "";
    int shown = (int)MIN(lx->num_len, sizeof(lx->num_text) - 4);

    switch (ev) {
    case JSON_LEX_NUL_ESCAPE:
        return g_strdup("\\u0000 in a string is not accepted (a string "
                        "cannot hold a NUL character)");
    case JSON_LEX_INT_RANGE:
        return g_strdup_printf("integer %.*s%s is %s",
                               *more ? shown : (int)lx->num_len,
                               lx->num_text, more,
                               lx->num_negative
                               ? "too small (less than -2^63)"
                               : "too large (more than 2^64-1)");
    case JSON_LEX_SLASH:
        return g_strdup("invalid character '/' (JSON has no comments)");
    case JSON_LEX_LINE_IN_STRING:
        return g_strdup("line break inside a string (unterminated string)");
    default:
        return g_strdup("no error");
    }
}

bool json_has_nan_or_infinity(json_object *v)
{
    const char *text;

    switch (json_object_get_type(v)) {
    case json_type_double:
        if (isfinite(json_object_get_double(v)))
            return false;
        /* 1e400 is a JSON number, merely too large for a double. */
        text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        return !g_ascii_isdigit(text[text[0] == '-']);
    case json_type_object: {
        json_object_object_foreach(v, key, val) {
            (void)key;
            if (json_has_nan_or_infinity(val))
                return true;
        }
        return false;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (json_has_nan_or_infinity(json_object_array_get_idx(v, i)))
                return true;
        }
        return false;
    default:
        return false;
    }
}

json_object *json_strict_parse(const char *text, GError **err)
{
    struct json_lex lx;
    json_object *v;
    enum json_lex_event ev = JSON_LEX_OK;
    enum json_tokener_error jerr;

    json_lex_reset(&lx);
    for (const char *p = text; ev == JSON_LEX_OK; p++) {
        /* The NUL ends a number still open, as json-c's end of input. */
        ev = json_lex_step(&lx, *p ? *p : ' ');
        if (!*p)
            break;
    }
    if (ev != JSON_LEX_OK) {
        g_autofree char *why = json_lex_message(&lx, ev);

        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "%s", why);
        return NULL;
    }
    v = json_tokener_parse_verbose(text, &jerr);
    if (v && json_has_nan_or_infinity(v)) {
        json_object_put(v);
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "NaN and Infinity are not JSON numbers");
        return NULL;
    }
    if (!v)
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "%s",
                    json_tokener_error_desc(jerr));
    return v;
}
