/*
 * Scenario line lexer and ${VAR} substitution (docs/harness.md).
 */
#include "scenario.h"
#include "scenario_lex.h"

#include <string.h>

G_DEFINE_QUARK(hotmem-harness-scenario-error, scenario_error)

static void token_free(gpointer p)
{
    struct token *t = p;

    g_free(t->text);
    if (t->json)
        json_object_put(t->json);
    g_free(t);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes "..." starting at *p (the opening quote); advances *p past it. */
static struct token *lex_string(const char **p, GError **err)
{
    const char *s = *p + 1;
    GString *out = g_string_new(NULL);
    struct token *t;

    while (*s && *s != '"') {
        if (*s != '\\') {
            g_string_append_c(out, *s++);
            continue;
        }
        s++;
        switch (*s) {
        case 'n': g_string_append_c(out, '\n'); s++; break;
        case 'r': g_string_append_c(out, '\r'); s++; break;
        case 't': g_string_append_c(out, '\t'); s++; break;
        case '\\': g_string_append_c(out, '\\'); s++; break;
        case '"': g_string_append_c(out, '"'); s++; break;
        case 'x': {
            int hi = hex_digit(s[1]), lo = hi < 0 ? -1 : hex_digit(s[2]);

            if (lo < 0) {
                g_set_error(err, SCENARIO_ERROR, 0,
                            "\\x must be followed by two hex digits");
                g_string_free(out, TRUE);
                return NULL;
            }
            g_string_append_c(out, (char)(hi << 4 | lo));
            s += 3;
            break;
        }
        default:
            g_set_error(err, SCENARIO_ERROR, 0,
                        "unknown escape \\%c in a string (known: \\n \\r \\t "
                        "\\\\ \\\" \\xHH)", *s ? *s : ' ');
            g_string_free(out, TRUE);
            return NULL;
        }
    }
    if (*s != '"') {
        g_set_error(err, SCENARIO_ERROR, 0, "unterminated string");
        g_string_free(out, TRUE);
        return NULL;
    }
    *p = s + 1;
    t = g_new0(struct token, 1);
    t->type = TOKEN_STRING;
    t->len = out->len;
    t->text = g_string_free(out, FALSE);
    return t;
}

/* Parses the JSON value starting at *p ('{' or '['); advances *p. */
static struct token *lex_json(const char **p, GError **err)
{
    json_tokener *tok = json_tokener_new();
    size_t len = strlen(*p);
    json_object *v = json_tokener_parse_ex(tok, *p, (int)MIN(len, G_MAXINT));
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    struct token *t;

    json_tokener_free(tok);
    /* json-c also consumes the blanks after the value. */
    while (end && g_ascii_isspace((*p)[end - 1]))
        end--;
    if (!v) {
        g_set_error(err, SCENARIO_ERROR, 0, "bad JSON: %s",
                    jerr == json_tokener_continue
                        ? "unterminated (a JSON value must fit on its line)"
                        : json_tokener_error_desc(jerr));
        return NULL;
    }
    t = g_new0(struct token, 1);
    t->type = TOKEN_JSON;
    t->text = g_strndup(*p, end);
    t->len = end;
    t->json = v;
    *p += end;
    return t;
}

GPtrArray *lex_line(const char *line, GError **err)
{
    GPtrArray *toks = g_ptr_array_new_with_free_func(token_free);
    const char *p = line;

    for (;;) {
        struct token *t;

        while (is_blank(*p))
            p++;
        if (!*p)
            return toks;
        if (*p == '"') {
            t = lex_string(&p, err);
        } else if (*p == '{' || *p == '[') {
            t = lex_json(&p, err);
        } else {
            const char *start = p;

            while (*p && !is_blank(*p))
                p++;
            t = g_new0(struct token, 1);
            t->type = TOKEN_WORD;
            t->len = (gsize)(p - start);
            t->text = g_strndup(start, t->len);
        }
        if (!t)
            break;
        g_ptr_array_add(toks, t);
        if (*p && !is_blank(*p)) {
            g_set_error(err, SCENARIO_ERROR, 0,
                        "expected a blank after %s, found '%c'", t->text, *p);
            break;
        }
    }
    g_ptr_array_free(toks, TRUE);
    return NULL;
}

gsize lex_comment_start(const char *line, bool shell)
{
    bool dq = false, sq = false;
    gsize i;

    for (i = 0; line[i]; i++) {
        char c = line[i];

        if (sq) {
            sq = c != '\'';
        } else if (dq) {
            if (c == '\\' && line[i + 1])
                i++;
            else if (c == '"')
                dq = false;
        } else if (c == '"') {
            dq = true;
        } else if (shell && c == '\'') {
            sq = true;
        } else if (shell && c == '\\' && line[i + 1]) {
            i++;
        } else if (c == '#' && (i == 0 || is_blank(line[i - 1]))) {
            break;
        }
    }
    return i;
}

/* Names are letters, digits and _; a '.' separates a member (${VAR.KEY}). */
static bool is_name_char(char c, bool first)
{
    return c == '_' || g_ascii_isalpha(c) ||
           (!first && (g_ascii_isdigit(c) || c == '.'));
}

/* "123" or "0x7b" (at most 64 bits); *hex says which. */
static bool parse_number(const char *s, gsize len, guint64 *v, bool *hex)
{
    g_autofree char *t = g_strndup(s, len);

    *hex = len > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
    return g_ascii_string_to_unsigned(*hex ? t + 2 : t, *hex ? 16 : 10, 0,
                                      G_MAXUINT64, v, NULL);
}

/* value OP operand, printed in value's base: ${addr+8} = 0x100000008. */
static char *apply_op(const char *name, const char *value, char op,
                      const char *operand, gsize oplen, GError **err)
{
    guint64 a, b, r;
    bool hex, ohex;

    if (!parse_number(value, strlen(value), &a, &hex)) {
        g_set_error(err, SCENARIO_ERROR, 0, "${%s} is \"%s\", not a number, "
                    "so ${%s%c...} cannot be computed", name, value, name, op);
        return NULL;
    }
    if (!parse_number(operand, oplen, &b, &ohex)) {
        g_set_error(err, SCENARIO_ERROR, 0, "bad number \"%.*s\" after "
                    "${%s%c", (int)oplen, operand, name, op);
        return NULL;
    }
    if ((op == '+' && !g_uint64_checked_add(&r, a, b)) ||
        (op == '-' && a < b) ||
        (op == '*' && !g_uint64_checked_mul(&r, a, b))) {
        g_set_error(err, SCENARIO_ERROR, 0, "${%s%c%.*s} is out of range "
                    "(0 to 2^64-1)", name, op, (int)oplen, operand);
        return NULL;
    }
    if (op == '-')
        r = a - b;
    return hex ? g_strdup_printf("0x%" G_GINT64_MODIFIER "x", r)
               : g_strdup_printf("%" G_GUINT64_FORMAT, r);
}

char *scenario_substitute(const char *text, scenario_lookup lookup,
                          void *opaque, GError **err)
{
    GString *out = g_string_new(NULL);
    const char *p = text;

    while (*p) {
        const char *end, *opnd = NULL;
        g_autofree char *name = NULL, *computed = NULL;
        const char *value;
        char op = 0;

        if (p[0] != '$' || p[1] != '{') {
            g_string_append_c(out, *p++);
            continue;
        }
        end = p + 2;
        while (is_name_char(*end, end == p + 2))
            end++;
        name = g_strndup(p + 2, (gsize)(end - p - 2));
        if (*end == '+' || *end == '-' || *end == '*') {
            op = *end;
            opnd = ++end;
            while (g_ascii_isxdigit(*end) || *end == 'x' || *end == 'X')
                end++;
        }
        if (*end != '}' || !*name || (op && end == opnd)) {
            g_set_error(err, SCENARIO_ERROR, 0,
                        "bad variable reference at \"%.20s\" (expected "
                        "${NAME} or ${NAME+N}, ${NAME-N}, ${NAME*N})", p);
            g_string_free(out, TRUE);
            return NULL;
        }
        value = lookup(name, opaque);
        if (!value) {
            g_set_error(err, SCENARIO_ERROR, 0, "undefined variable ${%s}",
                        name);
            g_string_free(out, TRUE);
            return NULL;
        }
        if (op) {
            computed = apply_op(name, value, op, opnd, (gsize)(end - opnd),
                                err);
            if (!computed) {
                g_string_free(out, TRUE);
                return NULL;
            }
            value = computed;
        }
        g_string_append(out, value);
        p = end + 1;
    }
    return g_string_free(out, FALSE);
}
