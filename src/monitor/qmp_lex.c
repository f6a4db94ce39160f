/*
 * What the QMP framing needs to know about the bytes of a JSON value that
 * json-c's incremental tokener does not tell it: bracket depth, whether a
 * byte is inside a string, line breaks, and the spots where json-c would
 * silently change what the client wrote (qmp_input.c):
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
#include <string.h>

#include "monitor/qmp_internal.h"

void qmp_lex_reset(struct qmp_lex *lx)
{
    memset(lx, 0, sizeof(*lx));
}

static bool is_number_byte(char c)
{
    return g_ascii_isdigit(c) || c == '.' || c == 'e' || c == 'E' ||
           c == '+' || c == '-';
}

static void number_start(struct qmp_lex *lx)
{
    lx->in_number = true;
    lx->num_integer = true;
    lx->num_negative = false;
    lx->num_overflow = false;
    lx->num_digits = 0;
    lx->num_value = 0;
    lx->num_len = 0;
}

static void number_byte(struct qmp_lex *lx, char c)
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
static enum qmp_lex_event number_end(struct qmp_lex *lx)
{
    lx->in_number = false;
    lx->num_text[MIN(lx->num_len, sizeof(lx->num_text) - 1)] = '\0';
    if (!lx->num_integer || lx->num_digits == 0)
        return QMP_LEX_OK;
    if (lx->num_negative ? lx->num_overflow ||
                           lx->num_value > (UINT64_C(1) << 63)
                         : lx->num_overflow)
        return QMP_LEX_INT_RANGE;
    return QMP_LEX_OK;
}

static enum qmp_lex_event string_byte(struct qmp_lex *lx, char c)
{
    if (lx->escape == 1) {
        lx->escape = c == 'u' ? 2 : 0;
        lx->hex = 0;
        return QMP_LEX_OK;
    }
    if (lx->escape >= 2) {
        /* json-c checks the digits; only their value matters here. */
        lx->hex = (uint16_t)(lx->hex << 4 | (g_ascii_xdigit_value(c) & 0xf));
        if (++lx->escape < 6)
            return QMP_LEX_OK;
        lx->escape = 0;
        return lx->hex == 0 ? QMP_LEX_NUL_ESCAPE : QMP_LEX_OK;
    }
    if (c == '\r' || c == '\n')
        return QMP_LEX_LINE_IN_STRING;
    if (c == '\\')
        lx->escape = 1;
    else if (c == lx->quote)
        lx->quote = 0;
    return QMP_LEX_OK;
}

enum qmp_lex_event qmp_lex_step(struct qmp_lex *lx, char c)
{
    enum qmp_lex_event ev = QMP_LEX_OK;

    if (lx->quote)
        return string_byte(lx, c);
    if (lx->in_number) {
        if (is_number_byte(c)) {
            number_byte(lx, c);
            return QMP_LEX_OK;
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
    } else if (c == '/' && ev == QMP_LEX_OK) {
        ev = QMP_LEX_SLASH;
    }
    return ev;
}
