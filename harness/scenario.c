/*
 * Scenario files: load, check, parse steps (docs/harness.md).
 */
#include "scenario.h"
#include "scenario_lex.h"

#include <math.h>
#include <signal.h>
#include <string.h>

static const struct {
    const char *name;
    enum step_kind kind;
} keywords[] = {
    { "set", STEP_SET },
    { "client", STEP_CLIENT },
    { "start", STEP_START },
    { "qmp", STEP_QMP },
    { "qmp-raw", STEP_QMP_RAW },
    { "greeting", STEP_GREETING },
    { "event", STEP_EVENT },
    { "no-event", STEP_NO_EVENT },
    { "console", STEP_CONSOLE },
    { "send", STEP_SEND },
    { "sleep", STEP_SLEEP },
    { "expect-exit", STEP_EXPECT_EXIT },
    { "kill", STEP_KILL },
    { "close", STEP_CLOSE },
    { "vmm-fds", STEP_VMM_FDS },
    { "repeat", STEP_REPEAT },
    { "end", STEP_END },
};

const char *step_kind_name(enum step_kind kind)
{
    for (gsize i = 0; i < G_N_ELEMENTS(keywords); i++)
        if (keywords[i].kind == kind)
            return keywords[i].name;
    return "?";
}

static bool keyword_kind(const char *word, gsize len, enum step_kind *kind)
{
    for (gsize i = 0; i < G_N_ELEMENTS(keywords); i++)
        if (strlen(keywords[i].name) == len &&
            !strncmp(keywords[i].name, word, len)) {
            *kind = keywords[i].kind;
            return true;
        }
    return false;
}

void step_clear(struct step *s)
{
    g_free(s->client);
    g_free(s->text);
    g_free(s->var);
    if (s->pattern)
        json_object_put(s->pattern);
    g_free(s->error_class);
    g_free(s->error_desc);
    g_strfreev(s->argv);
    memset(s, 0, sizeof(*s));
    s->seconds = -1;
}

/* Steps that wait for something and so take timeout=SECONDS. */
static bool takes_timeout(enum step_kind k)
{
    return k == STEP_QMP || k == STEP_QMP_RAW || k == STEP_GREETING ||
           k == STEP_EVENT || k == STEP_CONSOLE || k == STEP_SEND ||
           k == STEP_EXPECT_EXIT;
}

static bool takes_client(enum step_kind k)
{
    return k == STEP_QMP || k == STEP_QMP_RAW || k == STEP_GREETING ||
           k == STEP_EVENT || k == STEP_NO_EVENT || k == STEP_CLOSE ||
           k == STEP_CLIENT;
}

static bool fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool fail(GError **err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(err, g_error_new_valist(SCENARIO_ERROR, 0, fmt, ap));
    va_end(ap);
    return false;
}

static bool parse_seconds(const char *s, double *out, GError **err)
{
    char *end;
    double v = g_ascii_strtod(s, &end);

    if (!*s || *end || !isfinite(v) || v < 0 || v > 86400)
        return fail(err, "\"%s\" is not a number of seconds (0 to 86400)", s);
    *out = v;
    return true;
}

static bool parse_int(const char *what, const char *s, gint64 min, gint64 max,
                      gint64 *out, GError **err)
{
    guint64 v;

    if (*s == '-' || !g_ascii_string_to_unsigned(s, 10, 0, G_MAXINT64, &v,
                                                  NULL) ||
        (gint64)v < min || (gint64)v > max)
        return fail(err, "%s \"%s\" is not a whole number from %" G_GINT64_FORMAT
                    " to %" G_GINT64_FORMAT, what, s, min, max);
    *out = (gint64)v;
    return true;
}

static bool parse_signal(const char *s, gint64 *out, GError **err)
{
    static const struct { const char *name; int sig; } sigs[] = {
        { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
        { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
        { "TERM", SIGTERM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
        { "ABRT", SIGABRT }, { "SEGV", SIGSEGV }, { "PIPE", SIGPIPE },
        { "ALRM", SIGALRM },
    };
    const char *n = g_str_has_prefix(s, "SIG") ? s + 3 : s;

    for (gsize i = 0; i < G_N_ELEMENTS(sigs); i++)
        if (!strcmp(n, sigs[i].name)) {
            *out = sigs[i].sig;
            return true;
        }
    if (g_ascii_isdigit(*s))
        return parse_int("signal", s, 0, 64, out, err);
    return fail(err, "unknown signal \"%s\" (use TERM, SIGKILL, 9, ...)", s);
}

static bool valid_name(const char *s, bool dash)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '_' && !(dash && *s == '-'))
            return false;
    return true;
}

static char *dup_bytes(const char *p, gsize len)
{
    char *d = g_malloc(len + 1);

    memcpy(d, p, len);
    d[len] = 0;
    return d;
}

#define TOK(i) ((struct token *)toks->pdata[i])

/* Steps that store a value with "as VAR". */
static bool takes_as(enum step_kind k)
{
    return k == STEP_CONSOLE || k == STEP_REPEAT || k == STEP_QMP ||
           k == STEP_QMP_RAW || k == STEP_VMM_FDS;
}

static bool is_as(GPtrArray *toks, guint i)
{
    return i < toks->len && TOK(i)->type == TOKEN_WORD &&
           !strcmp(TOK(i)->text, "as");
}

/* A pattern operand: JSON, a "string", or a JSON scalar word. */
static json_object *token_json(struct token *t, GError **err)
{
    json_object *v;

    if (t->type == TOKEN_JSON)
        return json_object_get(t->json);
    if (t->type == TOKEN_STRING)
        return json_object_new_string_len(t->text, (int)t->len);
    v = json_tokener_parse(t->text);
    if (!v && strcmp(t->text, "null"))
        fail(err, "\"%s\" is not a JSON value", t->text);
    return v;
}

static bool parse_pattern(GPtrArray *toks, guint *i, struct step *s,
                          GError **err)
{
    GError *e = NULL;

    if (*i >= toks->len)
        return true;
    s->pattern = token_json(TOK(*i), &e);
    if (e) {
        g_propagate_error(err, e);
        return false;
    }
    s->has_pattern = true;     /* s->pattern NULL is JSON null */
    (*i)++;
    return true;
}

/* After "->": return [P] | error [CLASS [DESC]] | reply P | nothing */
static bool parse_expect(GPtrArray *toks, guint *i, struct step *s,
                         GError **err)
{
    const char *what;

    if (*i >= toks->len || TOK(*i)->type != TOKEN_WORD)
        return fail(err, "expected return, error, reply or nothing after ->");
    what = TOK((*i)++)->text;
    if (!strcmp(what, "return")) {
        s->expect = EXPECT_RETURN;
        return is_as(toks, *i) || parse_pattern(toks, i, s, err);
    }
    if (!strcmp(what, "reply")) {
        s->expect = EXPECT_REPLY;
        if (*i >= toks->len)
            return fail(err, "-> reply needs a JSON pattern");
        return parse_pattern(toks, i, s, err);
    }
    if (!strcmp(what, "nothing")) {
        if (s->kind != STEP_QMP_RAW)
            return fail(err, "-> nothing is for qmp-raw only (a qmp command "
                        "always gets a reply)");
        s->expect = EXPECT_NOTHING;
        return true;
    }
    if (strcmp(what, "error"))
        return fail(err, "expected return, error, reply or nothing after ->, "
                    "found \"%s\"", what);
    s->expect = EXPECT_ERROR;
    if (*i < toks->len) {
        if (TOK(*i)->type != TOKEN_WORD || !valid_name(TOK(*i)->text, false))
            return fail(err, "error class must be a word like GenericError");
        s->error_class = g_strdup(TOK((*i)++)->text);
    }
    if (*i < toks->len) {
        if (TOK(*i)->type != TOKEN_STRING)
            return fail(err, "error description must be a \"string\"");
        s->error_desc = g_strdup(TOK((*i)++)->text);
    }
    return true;
}

static bool parse_start(const char *args, struct step *s, GError **err)
{
    int argc;

    while (*args == ' ' || *args == '\t')
        args++;
    if (!*args) {
        s->argv = g_new0(char *, 1);
        return true;
    }
    if (!g_shell_parse_argv(args, &argc, &s->argv, err))
        return false;
    for (int k = 0; k < argc; k++) {
        const char *a = s->argv[k] + (g_str_has_prefix(s->argv[k], "--"));

        if (!strcmp(a, "-daemonize"))
            return fail(err, "start: -daemonize cannot be used: the harness "
                        "owns the VMM's console and waits for its exit");
        if (!strcmp(a, "-serial") && g_strcmp0(s->argv[k + 1], "stdio"))
            return fail(err, "start: -serial %s cannot be used: the harness "
                        "runs the console on the VMM's stdin/stdout",
                        s->argv[k + 1] ? s->argv[k + 1] : "");
    }
    return true;
}

/* Kind-specific operands, from toks[i] on (options and @client removed). */
static bool parse_operands(GPtrArray *toks, guint i, struct step *s,
                           GError **err)
{
    guint n = toks->len;
    struct token *t = i < n ? TOK(i) : NULL;

    switch (s->kind) {
    case STEP_SET:
        if (n - i != 2 || strcmp(t->text, "timeout"))
            return fail(err, "usage: set timeout SECONDS");
        if (!parse_seconds(TOK(i + 1)->text, &s->seconds, err))
            return false;
        return true;
    case STEP_CLIENT:
        if (i < n && TOK(i)->type == TOKEN_WORD &&
            (!strcmp(t->text, "raw") || !strcmp(t->text, "auto"))) {
            s->client_raw = !strcmp(t->text, "raw");
            i++;
        }
        break;
    case STEP_QMP:
    case STEP_QMP_RAW:
        if (!t || t->type != (s->kind == STEP_QMP ? TOKEN_JSON : TOKEN_STRING))
            return fail(err, s->kind == STEP_QMP
                        ? "qmp needs a JSON command object: qmp {\"execute\": ...}"
                        : "qmp-raw needs the bytes to send as a \"string\"");
        if (s->kind == STEP_QMP && !json_object_is_type(t->json,
                                                       json_type_object))
            return fail(err, "a qmp command must be a JSON object");
        s->text = dup_bytes(t->text, t->len);
        s->text_len = t->len;
        i++;
        s->expect = EXPECT_RETURN;
        if (i < n && !is_as(toks, i)) {
            if (TOK(i)->type != TOKEN_WORD || strcmp(TOK(i)->text, "->"))
                return fail(err, "expected -> or as after the command");
            i++;
            if (!parse_expect(toks, &i, s, err))
                return false;
        }
        break;
    case STEP_GREETING:
        if (!parse_pattern(toks, &i, s, err))
            return false;
        break;
    case STEP_EVENT:
    case STEP_NO_EVENT:
        if (!t || t->type != TOKEN_WORD || !valid_name(t->text, true))
            return fail(err, "usage: %s [@CLIENT] NAME [PATTERN]",
                        step_kind_name(s->kind));
        s->text = g_strdup(t->text);
        i++;
        if (!parse_pattern(toks, &i, s, err))
            return false;
        break;
    case STEP_CONSOLE:
    case STEP_SEND:
        if (!t || t->type != TOKEN_STRING)
            return fail(err, "%s needs a \"string\"", step_kind_name(s->kind));
        if (memchr(t->text, '\n', t->len))
            return fail(err, "%s: the string cannot hold a newline (the "
                        "console is line based)", step_kind_name(s->kind));
        s->text = dup_bytes(t->text, t->len);
        s->text_len = t->len;
        i++;
        break;
    case STEP_SLEEP:
        if (n - i != 1 || !parse_int("sleep", t->text, 0, 3600000,
                                     &s->number, err))
            return err && *err ? false : fail(err, "usage: sleep MILLISECONDS");
        return true;
    case STEP_EXPECT_EXIT:
        if (n - i != 1 || !parse_int("exit status", t->text, 0, 255,
                                     &s->number, err))
            return err && *err ? false : fail(err, "usage: expect-exit STATUS");
        return true;
    case STEP_VMM_FDS:
        if (n - i == 1 && !parse_int("fd count", t->text, 0, 1000000,
                                     &s->number, err))
            return false;
        if (n - i == 1)
            return true;
        if (!is_as(toks, i))
            return fail(err, "usage: vmm-fds COUNT | vmm-fds as VAR");
        break;
    case STEP_KILL:
        if (n - i != 1)
            return fail(err, "usage: kill SIGNAL");
        return parse_signal(t->text, &s->number, err);
    case STEP_REPEAT:
        if (!t || !parse_int("repeat count", t->text, 0, 1000000, &s->number,
                             err))
            return err && *err ? false : fail(err, "usage: repeat N [as VAR]");
        i++;
        break;
    default:
        break;
    }
    /* "as VAR" */
    if (takes_as(s->kind) && is_as(toks, i)) {
        if (i + 1 == n || TOK(i + 1)->type != TOKEN_WORD ||
            !valid_name(TOK(i + 1)->text, false) ||
            g_ascii_isdigit(TOK(i + 1)->text[0]))
            return fail(err, "as needs a variable name (letters, digits, _)");
        s->var = g_strdup(TOK(i + 1)->text);
        i += 2;
    }
    if (s->kind == STEP_REPEAT && !s->var)
        s->var = g_strdup("i");
    if (s->kind == STEP_VMM_FDS && !s->var)
        return fail(err, "usage: vmm-fds COUNT | vmm-fds as VAR");
    if ((s->kind == STEP_QMP || s->kind == STEP_QMP_RAW) && s->var &&
        s->expect != EXPECT_RETURN)
        return fail(err, "as captures a return value: it needs -> return");
    if (i < n)
        return fail(err, "unexpected \"%s\"", TOK(i)->text);
    return true;
}

bool scenario_parse_step(const char *text, struct step *s, GError **err)
{
    g_autoptr(GPtrArray) toks = NULL;
    gsize kwlen = strcspn(text, " \t");
    guint i = 1;

    step_clear(s);
    if (!keyword_kind(text, kwlen, &s->kind))
        return fail(err, "unknown step \"%.*s\"", (int)kwlen, text);
    if (s->kind == STEP_START)
        return parse_start(text + kwlen, s, err);
    toks = lex_line(text, err);
    if (!toks)
        return false;
    for (guint k = 1; k < toks->len; k++) {
        struct token *t = TOK(k);

        if (t->type != TOKEN_WORD || !g_str_has_prefix(t->text, "timeout="))
            continue;
        if (!takes_timeout(s->kind))
            return fail(err, "%s does not wait, so takes no timeout=",
                        step_kind_name(s->kind));
        if (!parse_seconds(t->text + 8, &s->seconds, err))
            return false;
        g_ptr_array_remove_index(toks, k--);
    }
    if (takes_client(s->kind)) {
        if (i < toks->len && TOK(i)->type == TOKEN_WORD &&
            TOK(i)->text[0] == '@') {
            if (!valid_name(TOK(i)->text + 1, true))
                return fail(err, "bad client name \"%s\" (letters, digits, "
                            "- and _ after @)", TOK(i)->text);
            s->client = g_strdup(TOK(i)->text + 1);
            i++;
        } else if (s->kind == STEP_CLIENT) {
            return fail(err, "usage: client @NAME [auto|raw]");
        } else {
            s->client = g_strdup(SCENARIO_DEFAULT_CLIENT);
        }
    }
    return parse_operands(toks, i, s, err);
}

/* ---- loading ---- */

struct load_state {
    struct scenario *scn;
    GHashTable *defines;
    GPtrArray *scope;       /* char *: loop variables in scope */
    GHashTable *captures;   /* names set by "console ... as" so far */
    GError *undefined;
};

/*
 * At load time every variable reads as "0", but it must be known. A
 * member of a captured object (${VAR.KEY}) is known when VAR is: whether
 * the object has that member is only known at run time.
 */
static const char *load_lookup(const char *name, void *opaque)
{
    struct load_state *ls = opaque;
    g_autofree char *base = g_strndup(name, strcspn(name, "."));

    if (name[strlen(base)] && g_hash_table_contains(ls->captures, base))
        return "0";

    if ((ls->defines && g_hash_table_contains(ls->defines, name)) ||
        g_hash_table_contains(ls->captures, name))
        return "0";
    for (guint i = 0; i < ls->scope->len; i++)
        if (!strcmp(ls->scope->pdata[i], name))
            return "0";
    return NULL;
}

static void add_client(struct scenario *scn, const char *name)
{
    for (guint i = 0; i < scn->clients->len; i++)
        if (!strcmp(scn->clients->pdata[i], name))
            return;
    g_ptr_array_add(scn->clients, g_strdup(name));
}

/* Checks one line; records clients, loop variables and captures. */
static bool load_check_line(struct load_state *ls, struct scenario_line *l,
                            bool *started, GError **err)
{
    g_autofree char *text = NULL;
    struct step s = { .seconds = -1 };
    bool ok;

    text = scenario_substitute(l->text, load_lookup, ls, err);
    if (!text)
        return false;
    ok = scenario_parse_step(text, &s, err);
    if (ok && s.kind == STEP_START && *started)
        ok = fail(err, "a scenario runs one VM: only one start step");
    if (ok && !*started && s.kind != STEP_START && s.kind != STEP_SET &&
        s.kind != STEP_CLIENT && s.kind != STEP_REPEAT)
        ok = fail(err, "%s needs the VM: a start step must come first",
                  step_kind_name(s.kind));
    if (ok && s.kind == STEP_CLIENT && *started)
        ok = fail(err, "client declarations must come before start");
    if (ok && (s.kind == STEP_START || s.kind == STEP_CLIENT) &&
        ls->scope->len)
        ok = fail(err, "%s cannot be inside repeat", step_kind_name(s.kind));
    if (ok) {
        if (s.kind == STEP_START)
            *started = true;
        if (s.client)
            add_client(ls->scn, s.client);
        if (s.kind == STEP_CLIENT && s.client_raw)
            g_ptr_array_add(ls->scn->raw_clients, g_strdup(s.client));
        if (s.kind != STEP_REPEAT && s.var)
            g_hash_table_add(ls->captures, g_strdup(s.var));
        if (s.kind == STEP_REPEAT)
            g_ptr_array_add(ls->scope, g_strdup(s.var));
    }
    step_clear(&s);
    return ok;
}

static bool load_lines(struct load_state *ls, const char *text, GError **err)
{
    struct scenario *scn = ls->scn;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GArray) open = g_array_new(FALSE, FALSE, sizeof(guint));
    bool started = false;

    for (guint n = 0; lines[n]; n++) {
        struct scenario_line l = { .lineno = (int)n + 1 };
        char *s = g_strstrip(lines[n]);
        gsize kwlen = strcspn(s, " \t");
        GError *e = NULL;

        s[lex_comment_start(s, kwlen == 5 && !strncmp(s, "start", 5))] = 0;
        g_strchomp(s);
        if (!*s)
            continue;
        if (!keyword_kind(s, kwlen, &l.kind)) {
            g_set_error(err, SCENARIO_ERROR, 0, "%s:%d: unknown step \"%.*s\"",
                        scn->path, l.lineno, (int)kwlen, s);
            return false;
        }
        l.text = g_strdup(s);
        g_array_append_val(scn->lines, l);
        if (l.kind == STEP_END) {
            guint idx = scn->lines->len - 1;

            if (!open->len || strcmp(s, "end")) {
                g_set_error(err, SCENARIO_ERROR, 0, "%s:%d: %s", scn->path,
                            l.lineno, open->len ? "end takes no arguments"
                                                : "end without repeat");
                return false;
            }
            g_array_index(scn->lines, struct scenario_line,
                          g_array_index(open, guint, open->len - 1)).end = idx;
            g_array_set_size(open, open->len - 1);
            g_free(g_ptr_array_steal_index(ls->scope, ls->scope->len - 1));
            continue;
        }
        if (!load_check_line(ls, &l, &started, &e)) {
            g_set_error(err, SCENARIO_ERROR, 0, "%s:%d: %s", scn->path,
                        l.lineno, e->message);
            g_error_free(e);
            return false;
        }
        if (l.kind == STEP_REPEAT) {
            guint idx = scn->lines->len - 1;

            g_array_append_val(open, idx);
        }
    }
    if (open->len) {
        g_set_error(err, SCENARIO_ERROR, 0, "%s:%d: repeat without end",
                    scn->path, g_array_index(scn->lines, struct scenario_line,
                        g_array_index(open, guint, open->len - 1)).lineno);
        return false;
    }
    return true;
}

static void line_clear(gpointer p)
{
    g_free(((struct scenario_line *)p)->text);
}

struct scenario *scenario_load_text(const char *path, const char *text,
                                    GHashTable *defines, GError **err)
{
    struct scenario *scn = g_new0(struct scenario, 1);
    struct load_state ls = { .scn = scn, .defines = defines };
    bool ok;

    scn->path = g_strdup(path);
    scn->name = g_path_get_basename(path);
    scn->lines = g_array_new(FALSE, TRUE, sizeof(struct scenario_line));
    g_array_set_clear_func(scn->lines, line_clear);
    scn->clients = g_ptr_array_new_with_free_func(g_free);
    scn->raw_clients = g_ptr_array_new_with_free_func(g_free);
    ls.scope = g_ptr_array_new_with_free_func(g_free);
    ls.captures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ok = load_lines(&ls, text, err);
    g_ptr_array_free(ls.scope, TRUE);
    g_hash_table_destroy(ls.captures);
    if (!ok) {
        scenario_free(scn);
        return NULL;
    }
    return scn;
}

struct scenario *scenario_load(const char *path, GHashTable *defines,
                               GError **err)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, err))
        return NULL;
    return scenario_load_text(path, text, defines, err);
}

void scenario_free(struct scenario *scn)
{
    if (!scn)
        return;
    g_free(scn->path);
    g_free(scn->name);
    g_array_free(scn->lines, TRUE);
    g_ptr_array_free(scn->clients, TRUE);
    g_ptr_array_free(scn->raw_clients, TRUE);
    g_free(scn);
}

bool scenario_client_is_raw(const struct scenario *scn, const char *name)
{
    for (guint i = 0; i < scn->raw_clients->len; i++)
        if (!strcmp(scn->raw_clients->pdata[i], name))
            return true;
    return false;
}
