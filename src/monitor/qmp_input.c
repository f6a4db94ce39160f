/*
 * Framing of a QMP client's byte stream into JSON values.
 *
 * json-c's incremental tokener does the parsing. Alongside it we track the
 * bracket depth and string state of the value being parsed, because
 * json-c cannot tell us where a broken value ends: after an error the
 * tokener only knows the offending byte, and restarting right after it
 * would turn the rest of the broken value into a burst of further errors
 * (and maybe a bogus command). Instead we discard up to the end of the
 * broken value, the end of the line, or a control character, whichever
 * comes first. The control character is the reset QMP clients are told to
 * send (qmp-spec "Forcing the JSON parser into known-good state"), so we
 * never hand one to json-c, which would accept it inside a string (and
 * takes a NUL byte for the end of its input); the end of the line is the
 * usual one-request-per-line recovery.
 *
 * Memory stays bounded: the tokener holds at most QMP_MAX_VALUE_BYTES of
 * one value, and discarding needs no buffer at all.
 */
#include <string.h>

#include "monitor/qmp_internal.h"

/* QEMU's JSON parser also limits nesting to 1024 levels. */
#define QMP_MAX_DEPTH 1024

void qmp_input_init(struct qmp_input *in)
{
    memset(in, 0, sizeof(*in));
    in->tok = json_tokener_new_ex(QMP_MAX_DEPTH);
    /*
     * Non-strict mode on purpose: QMP accepts 'single-quoted' strings, which
     * json-c only accepts when not strict.
     */
}

void qmp_input_destroy(struct qmp_input *in)
{
    if (in->tok)
        json_tokener_free(in->tok);
    in->tok = NULL;
}

bool qmp_input_between_values(const struct qmp_input *in)
{
    return in->value_bytes == 0 && !in->resync && in->depth == 0 &&
           !in->quote;
}

static void input_restart(struct qmp_input *in)
{
    json_tokener_reset(in->tok);
    in->value_bytes = 0;
    in->depth = 0;
    in->quote = 0;
    in->escape = false;
}

/* Follows strings and brackets over bytes that json-c accepted. */
static void input_track(struct qmp_input *in, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];

        if (in->quote) {
            if (in->escape)
                in->escape = false;
            else if (c == '\\')
                in->escape = true;
            else if (c == in->quote)
                in->quote = 0;
        } else if (c == '"' || c == '\'') {
            in->quote = c;
        } else if (c == '{' || c == '[') {
            in->depth++;
        } else if ((c == '}' || c == ']') && in->depth > 0) {
            in->depth--;
        }
    }
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

static size_t find_control_byte(const char *buf, size_t len)
{
    size_t i = 0;

    while (i < len && !is_control_byte((unsigned char)buf[i]))
        i++;
    return i;
}

/*
 * Discards the rest of a broken value. Returns the bytes consumed; clears
 * in->resync once the value is behind us.
 */
static size_t input_discard(struct qmp_input *in, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        unsigned before = in->depth;

        if (is_reset_byte((unsigned char)c)) {
            input_restart(in);
            in->resync = false;
            return i + 1;
        }
        if (!in->quote && before == 0) {
            /* Top-level junk ends at whitespace or where a value starts. */
            if (c == ' ' || c == '\t' || c == '\r' || c == '{' || c == '[') {
                input_restart(in);
                in->resync = false;
                return (c == '{' || c == '[') ? i : i + 1;
            }
        }
        input_track(in, &c, 1);
        if (before > 0 && in->depth == 0 && !in->quote) {
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
        size_t n;

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
        if (is_control_byte((unsigned char)buf[pos])) {
            /* json-c would take it inside strings, QEMU never does. */
            *error = g_strdup_printf("JSON parse error, invalid character "
                                     "0x%02x", (unsigned char)buf[pos]);
            input_restart(in);
            *used = pos + 1;
            return QMP_INPUT_ERROR;
        }
        n = find_control_byte(buf + pos, len - pos);
        r = input_parse(in, buf + pos, n, &n, value, error);
        pos += n;
        if (r != QMP_INPUT_MORE) {
            *used = pos;
            return r;
        }
    }
    *used = pos;
    return QMP_INPUT_MORE;
}
