/*
 * Framing of a QMP client's byte stream into JSON values.
 *
 * json-c's incremental tokener does the parsing. Alongside it a small
 * lexer (json_strict.h) follows the bracket depth and string state of the
 * value being parsed, because json-c cannot tell us where a broken value
 * ends: after an error the tokener only knows the offending byte, and
 * restarting right after it would turn the rest of the broken value into
 * a burst of further errors (and maybe a bogus command). Instead we
 * discard up to the end of the broken value, the end of the line, or a
 * control character, whichever comes first. The control character is the
 * reset QMP clients are told to send (qmp-spec "Forcing the JSON parser
 * into known-good state"), so we never hand one to json-c, which would
 * accept it inside a string (and takes a NUL byte for the end of its
 * input); the end of the line is the usual one-request-per-line recovery.
 *
 * A value may span lines (pretty-printed requests), but a line break can
 * never be inside a string: that line is an error at once and the next
 * line starts afresh, as in QEMU. A value left unfinished at the end of a
 * line, when the next line begins with a '{' it cannot take, is an error
 * too, and that next line is parsed as a request of its own, so a broken
 * line never takes the next request with it (docs/qmp.md).
 *
 * The lexer also stops json-c before it could change what the client
 * wrote without saying so: a "\u0000" escape, an integer out of 64-bit
 * range, NaN and Infinity are parse errors.
 *
 * Memory stays bounded: the tokener holds at most QMP_MAX_VALUE_BYTES of
 * one value, and discarding needs no buffer at all.
 */
#include <string.h>

#include "monitor/qmp_internal.h"

/* QEMU's JSON parser also limits nesting to 1024 levels. */
#define QMP_MAX_DEPTH 1024

void qmp_input_init(struct qmp_input *in, struct json_tokener **spare)
{
    memset(in, 0, sizeof(*in));
    if (spare && *spare) {
        in->tok = *spare;
        *spare = NULL;
        return;
    }
    in->tok = json_tokener_new_ex(QMP_MAX_DEPTH);
    /*
     * Non-strict mode on purpose: QMP accepts 'single-quoted' strings, which
     * json-c only accepts when not strict.
     */
}

void qmp_input_release(struct qmp_input *in, struct json_tokener **spare)
{
    if (in->tok && spare && !*spare) {
        json_tokener_reset(in->tok);
        *spare = in->tok;
        in->tok = NULL;
    }
    qmp_input_destroy(in);
}

void qmp_input_destroy(struct qmp_input *in)
{
    if (in->tok)
        json_tokener_free(in->tok);
    in->tok = NULL;
}

bool qmp_input_between_values(const struct qmp_input *in)
{
    return in->value_bytes == 0 && !in->resync && in->lex.depth == 0 &&
           !in->lex.quote;
}

static void input_restart(struct qmp_input *in)
{
    json_tokener_reset(in->tok);
    in->value_bytes = 0;
    json_lex_reset(&in->lex);
}

/* Follows strings and brackets over bytes that json-c accepted. */
static void input_track(struct qmp_input *in, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        json_lex_step(&in->lex, buf[i]);
}

/*
 * A control character other than tab, CR and LF is never valid JSON
 * outside a string and must be escaped inside one; 0xff is never valid
 * UTF-8. Clients send either to reset the parser.
 */
static bool is_control_byte(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0xff;
}

static bool is_reset_byte(unsigned char c)
{
    return c == '\n' || is_control_byte(c);
}

/* Where json-c must stop short of buf's end, and why. */
struct input_stop {
    size_t len;                 /* bytes json-c may have */
    enum json_lex_event why;     /* JSON_LEX_OK: none of the lexer's */
    bool control;               /* buf[len] is a control byte */
};

/*
 * Runs a copy of the lexer over buf. The copy is right up to the end of
 * the current value, which is as far as json-c will read.
 */
static struct input_stop input_scan(const struct qmp_input *in,
                                    const char *buf, size_t len)
{
    struct json_lex lx = in->lex;
    struct input_stop stop = { .len = len };

    for (size_t i = 0; i < len; i++) {
        if (is_control_byte((unsigned char)buf[i])) {
            stop = (struct input_stop){ .len = i, .control = true };
            break;
        }
        stop.why = json_lex_step(&lx, buf[i]);
        if (stop.why == JSON_LEX_NUL_ESCAPE) {
            stop.len = i + 1;       /* json-c may have the escape */
            break;
        }
        if (stop.why != JSON_LEX_OK) {
            stop.len = i;           /* but never this byte */
            break;
        }
    }
    return stop;
}

/*
 * Discards the rest of a broken value. Returns the bytes consumed; clears
 * in->resync once the value is behind us.
 */
static size_t input_discard(struct qmp_input *in, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        unsigned before = in->lex.depth;

        if (is_reset_byte((unsigned char)c)) {
            input_restart(in);
            in->resync = false;
            return i + 1;
        }
        if (!in->lex.quote && before == 0) {
            /* Top-level junk ends at whitespace or where a value starts. */
            if (c == ' ' || c == '\t' || c == '\r' || c == '{' || c == '[') {
                input_restart(in);
                in->resync = false;
                return (c == '{' || c == '[') ? i : i + 1;
            }
        }
        json_lex_step(&in->lex, c);
        if (before > 0 && in->lex.depth == 0 && !in->lex.quote) {
            input_restart(in);
            in->resync = false;
            return i + 1;
        }
    }
    return len;
}

static size_t skip_whitespace(const char *buf, size_t len)
{
    size_t i = 0;

    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
                       buf[i] == '\n'))
        i++;
    return i;
}

/* Starts discarding; the caller reports err. */
static enum qmp_input_result input_fail(struct qmp_input *in, char **error,
                                        char *err)
{
    json_tokener_reset(in->tok);
    in->value_bytes = 0;
    in->resync = true;
    *error = err;
    return QMP_INPUT_ERROR;
}

/* The value is dropped and parsing starts afresh at the next byte. */
static enum qmp_input_result input_drop(struct qmp_input *in, char **error,
                                        char *err)
{
    input_restart(in);
    *error = err;
    return QMP_INPUT_ERROR;
}

/* Why json-c must not have these bytes, for the lexer's reasons. */
static char *lex_error(const struct json_lex *lx, enum json_lex_event why)
{
    g_autofree char *msg = json_lex_message(lx, why);

    return g_strdup_printf("JSON parse error, %s", msg);
}

/*
 * json-c's error is at c, a '{' that begins a line after a value left
 * unfinished: a new request. That value is the error; the request is
 * parsed on its own. (Any other byte there is an error in a value that
 * spans lines, which is discarded as usual.)
 */
static bool unfinished_before_line(const struct qmp_input *in, size_t used,
                                   char c)
{
    return c == '{' && in->lex.line_start && (in->value_bytes > 0 || used > 0);
}

/* Feeds one piece of buf to the tokener; *used is what it consumed. */
static enum qmp_input_result input_parse(struct qmp_input *in, const char *buf,
                                         size_t len, size_t *used,
                                         json_object **value, char **error)
{
    size_t room = QMP_MAX_VALUE_BYTES - in->value_bytes;
    size_t n = MIN(len, room);
    json_object *obj = json_tokener_parse_ex(in->tok, buf, (int)n);
    enum json_tokener_error jerr = json_tokener_get_error(in->tok);
    size_t end = json_tokener_get_parse_end(in->tok);

    if (jerr == json_tokener_success) {
        *used = end;
        input_restart(in);
        if (json_has_nan_or_infinity(obj)) {
            json_object_put(obj);
            *error = g_strdup("JSON parse error, NaN and Infinity are not "
                              "JSON numbers");
            return QMP_INPUT_ERROR;
        }
        *value = obj;
        return QMP_INPUT_VALUE;
    }
    if (jerr == json_tokener_continue) {
        *used = n;
        input_track(in, buf, n);
        in->value_bytes += n;
        if (in->value_bytes < QMP_MAX_VALUE_BYTES)
            return QMP_INPUT_MORE;
        return input_fail(in, error, g_strdup_printf(
            "JSON input exceeds %u MiB", QMP_MAX_VALUE_BYTES >> 20));
    }
    /* end is the offending byte, which the discarding starts with. */
    *used = MIN(end, n);
    input_track(in, buf, *used);
    if (*used < n && unfinished_before_line(in, *used, buf[*used]))
        return input_drop(in, error, g_strdup_printf(
            "JSON parse error, value left unfinished at the end of a line "
            "(%s at the start of the next)", json_tokener_error_desc(jerr)));
    return input_fail(in, error, g_strdup_printf(
        "JSON parse error, %s", json_tokener_error_desc(jerr)));
}

enum qmp_input_result qmp_input_feed(struct qmp_input *in, const char *buf,
                                     size_t len, size_t *used,
                                     json_object **value, char **error)
{
    size_t pos = 0;

    *value = NULL;
    *error = NULL;
    while (pos < len) {
        enum qmp_input_result r;
        struct input_stop stop;
        size_t n = 0;

        if (in->resync) {
            pos += input_discard(in, buf + pos, len - pos);
            continue;
        }
        if (in->value_bytes == 0) {
            /* Whitespace between values does not count towards the limit. */
            pos += skip_whitespace(buf + pos, len - pos);
            if (pos == len)
                break;
        }
        stop = input_scan(in, buf + pos, len - pos);
        if (stop.len == 0 && stop.control) {
            /* json-c would take it inside strings, QEMU never does. */
            *error = g_strdup_printf("JSON parse error, invalid character "
                                     "0x%02x", (unsigned char)buf[pos]);
            input_restart(in);
            *used = pos + 1;
            return QMP_INPUT_ERROR;
        }
        if (stop.len == 0 && stop.why == JSON_LEX_LINE_IN_STRING) {
            *used = pos + 1;
            return input_drop(in, error, lex_error(&in->lex, stop.why));
        }
        if (stop.len > 0) {
            r = input_parse(in, buf + pos, stop.len, &n, value, error);
            pos += n;
            if (r != QMP_INPUT_MORE) {
                *used = pos;
                return r;
            }
        }
        if (n == stop.len && stop.why != JSON_LEX_OK &&
            stop.why != JSON_LEX_LINE_IN_STRING) {
            /* The lexer's copy saw what in->lex is now at (or is ending). */
            struct json_lex lx = in->lex;

            if (stop.why == JSON_LEX_INT_RANGE)
                json_lex_step(&lx, buf[pos]);
            *used = pos;
            return input_fail(in, error, lex_error(&lx, stop.why));
        }
    }
    *used = pos;
    return QMP_INPUT_MORE;
}
