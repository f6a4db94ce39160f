/*
 * Scenario runner: expands repeats, substitutes variables, runs steps,
 * prints TAP, reports failures (docs/harness.md).
 */
#include "runner_internal.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* SIGCHLD wakes the poll loop through this pipe. */
static int sigchld_pipe[2] = { -1, -1 };

static void on_sigchld(int sig)
{
    int e = errno;
    char b = 0;

    /* A full pipe means a wakeup is already pending. */
    ssize_t n = write(sigchld_pipe[1], &b, 1);

    (void)n;
    errno = e;
}

static void install_sigchld(void)
{
    struct sigaction sa = { .sa_handler = on_sigchld,
                            .sa_flags = SA_RESTART | SA_NOCLDSTOP };

    if (sigchld_pipe[0] >= 0)
        return;
    if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        g_error("pipe: %s", g_strerror(errno));
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

gint64 runner_deadline(struct runner *r, double step_seconds)
{
    double s = step_seconds >= 0 ? step_seconds : r->timeout;

    return harness_now() + (gint64)(s * r->opt->timeout_scale * 1e6);
}

void runner_pump(struct runner *r, gint64 deadline)
{
    struct pollfd pfd[4 + 64];
    guint n = 0, nc = MIN(r->clients->len, 64);
    int ms = MIN(harness_ms_left(deadline), 1000);

    pfd[n++] = (struct pollfd){ .fd = sigchld_pipe[0], .events = POLLIN };
    if (r->vm)
        n += vmproc_pollfds(r->vm, &pfd[n]);
    for (guint i = 0; i < nc; i++)
        qmpc_pollfd(r->clients->pdata[i], &pfd[n++]);
    if (poll(pfd, n, ms) > 0) {
        char buf[64];

        if (pfd[0].revents)
            while (read(sigchld_pipe[0], buf, sizeof(buf)) > 0)
                ;
        n = 1;
        if (r->vm) {
            vmproc_dispatch(r->vm, &pfd[n], 3);
            n += 3;
        }
        for (guint i = 0; i < nc; i++)
            qmpc_dispatch(r->clients->pdata[i], &pfd[n++]);
    }
    if (r->vm)
        vmproc_reap(r->vm);
}

static const char *lookup(const char *name, void *opaque)
{
    struct runner *r = opaque;
    const char *v = g_hash_table_lookup(r->vars, name);

    if (!v && r->dry) {
        r->used_capture = true;     /* set by an "as VAR" at run time */
        return "0";
    }
    return v;
}

/* TAP descriptions end at '#' (directives), so escape it. */
static char *tap_escape(const char *s)
{
    GString *out = g_string_new(NULL);

    for (; *s; s++) {
        if (*s == '#')
            g_string_append_c(out, '\\');
        g_string_append_c(out, *s == '\n' || *s == '\r' ? ' ' : *s);
    }
    return g_string_free(out, FALSE);
}

static void note_lines(const char *title, GQueue *lines)
{
    if (!lines->length)
        return;
    harness_failure_note("%s", title);
    for (GList *l = lines->head; l; l = l->next)
        harness_failure_note("  %s", (char *)l->data);
}

static void report_failure(struct runner *r, const struct scenario_line *l,
                           const char *text)
{
    g_autofree char *esc = tap_escape(text);
    const char *reason;

    printf("not ok %d - %s:%d %s\n", r->points, r->scn->name, l->lineno, esc);
    harness_failure_note("FAILED at %s:%d: %s", r->scn->path, l->lineno, text);
    if (r->expected->len)
        harness_failure_note("expected: %s", r->expected->str);
    if (r->got->len)
        harness_failure_note("got: %s", r->got->str);
    if (r->vm) {
        if (r->vm->running)
            harness_failure_note("VMM: running (pid %d)", (int)r->vm->pid);
        else if (r->vm->term_signal)
            harness_failure_note("VMM: killed by signal %d", r->vm->term_signal);
        else
            harness_failure_note("VMM: exited with status %d", r->vm->status);
        note_lines("last console lines:", &r->vm->recent);
    }
    for (guint i = 0; i < r->clients->len; i++) {
        struct qmpc *c = r->clients->pdata[i];
        g_autofree char *title = g_strdup_printf("last QMP messages on @%s:",
                                                 c->name);

        if (!r->fail_client || !strcmp(r->fail_client, c->name))
            note_lines(title, &c->recent);
    }
    if (r->vm && r->vm->err->len) {
        const char *e = r->vm->err->str;
        gsize from = r->vm->err->len > 2000 ? r->vm->err->len - 2000 : 0;
        g_auto(GStrv) lines = g_strsplit(e + from, "\n", -1);

        harness_failure_note("VMM stderr%s:", from ? " (end)" : "");
        for (guint i = 0; lines[i]; i++)
            if (*lines[i])
                harness_failure_note("  %s", lines[i]);
    }
    reason = r->got->len ? r->got->str : r->expected->str;
    printf("Bail out! %s:%d: %.*s\n", r->scn->name, l->lineno,
           (int)strcspn(reason, "\n"), reason);
    fflush(stdout);
}

static bool fail_line(struct runner *r, const struct scenario_line *l,
                      const char *text, GError **err, const char *why)
{
    if (r->dry) {
        g_set_error(err, SCENARIO_ERROR, 0, "%s:%d: %s", r->scn->path,
                    l->lineno, why);
        return false;
    }
    r->points++;
    g_string_assign(r->expected, why);
    report_failure(r, l, text);
    return false;
}

static bool exec_range(struct runner *r, guint from, guint to, GError **err);

static bool exec_repeat(struct runner *r, guint idx, const struct step *s,
                        GError **err)
{
    const struct scenario_line *l = &g_array_index(r->scn->lines,
                                                   struct scenario_line, idx);
    g_autofree char *saved = g_strdup(g_hash_table_lookup(r->vars, s->var));
    bool ok = true;

    for (gint64 k = 0; ok && k < s->number; k++) {
        g_hash_table_insert(r->vars, g_strdup(s->var),
                            g_strdup_printf("%" G_GINT64_FORMAT, k));
        ok = exec_range(r, idx + 1, l->end, err);
    }
    if (saved)      /* an outer loop's variable of the same name */
        g_hash_table_insert(r->vars, g_strdup(s->var), g_steal_pointer(&saved));
    else
        g_hash_table_remove(r->vars, s->var);
    return ok;
}

static bool exec_line(struct runner *r, guint idx, guint *next, GError **err)
{
    const struct scenario_line *l = &g_array_index(r->scn->lines,
                                                   struct scenario_line, idx);
    g_autofree char *text = NULL;
    g_autoptr(GError) e = NULL;
    struct step s = { .seconds = -1 };
    bool ok = true;

    *next = idx + 1;
    r->used_capture = false;
    text = scenario_substitute(l->text, lookup, r, &e);
    if (!text || !scenario_parse_step(text, &s, &e))
        return fail_line(r, l, text ? text : l->text, err, e->message);
    switch (s.kind) {
    case STEP_SET:
        r->timeout = s.seconds;
        break;
    case STEP_CLIENT:
        break;
    case STEP_REPEAT:
        if (r->used_capture) {
            ok = fail_line(r, l, text, err, "a repeat count cannot use a "
                           "variable captured by ... as at run time");
            break;
        }
        ok = exec_repeat(r, idx, &s, err);
        *next = l->end + 1;
        break;
    default:
        r->points++;
        if (r->dry)
            break;
        g_string_truncate(r->expected, 0);
        g_string_truncate(r->got, 0);
        r->fail_client = s.client;
        ok = runner_exec_step(r, &s);
        if (ok) {
            g_autofree char *esc = tap_escape(text);

            printf("ok %d - %s:%d %s\n", r->points, r->scn->name, l->lineno,
                   esc);
            fflush(stdout);
        } else {
            report_failure(r, l, text);
        }
        r->fail_client = NULL;
    }
    step_clear(&s);
    return ok;
}

static bool exec_range(struct runner *r, guint from, guint to, GError **err)
{
    guint i = from;

    while (i < to)
        if (!exec_line(r, i, &i, err))
            return false;
    return true;
}

static void runner_init(struct runner *r, const struct scenario *scn,
                        const struct runner_options *opt, bool dry)
{
    GHashTableIter it;
    gpointer k, v;

    memset(r, 0, sizeof(*r));
    r->scn = scn;
    r->opt = opt;
    r->dry = dry;
    r->timeout = 30;
    r->vars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (opt->defines) {
        g_hash_table_iter_init(&it, opt->defines);
        while (g_hash_table_iter_next(&it, &k, &v))
            g_hash_table_insert(r->vars, g_strdup(k), g_strdup(v));
    }
    r->clients = g_ptr_array_new_with_free_func((GDestroyNotify)qmpc_free);
    r->expected = g_string_new(NULL);
    r->got = g_string_new(NULL);
}

static void runner_cleanup(struct runner *r)
{
    if (r->vm && r->vm->running) {
        /* Ask politely, then SIGKILL (vmproc_free). */
        gint64 deadline = harness_now() + 3 * G_USEC_PER_SEC;

        kill(r->vm->pid, SIGTERM);
        while (r->vm->running && harness_ms_left(deadline))
            runner_pump(r, deadline);
    }
    vmproc_free(r->vm);
    g_ptr_array_free(r->clients, TRUE);
    if (r->tmpdir) {
        g_autoptr(GDir) d = g_dir_open(r->tmpdir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *p = g_build_filename(r->tmpdir, name, NULL);

            unlink(p);
        }
        rmdir(r->tmpdir);
        g_free(r->tmpdir);
    }
    g_hash_table_destroy(r->vars);
    g_string_free(r->expected, TRUE);
    g_string_free(r->got, TRUE);
}

int runner_check(const struct scenario *scn, const struct runner_options *opt,
                 GError **err)
{
    struct runner r;
    bool ok;

    runner_init(&r, scn, opt, true);
    ok = exec_range(&r, 0, scn->lines->len, err);
    runner_cleanup(&r);
    return ok ? r.points : -1;
}

int runner_run(const struct scenario *scn, const struct runner_options *opt)
{
    g_autoptr(GError) err = NULL;
    struct runner r;
    int plan = runner_check(scn, opt, &err);
    bool ok;

    if (plan < 0) {
        fprintf(stderr, "hotmem-harness: %s\n", err->message);
        printf("Bail out! %s\n", err->message);
        return 1;
    }
    install_sigchld();
    printf("1..%d\n", plan);
    fflush(stdout);
    runner_init(&r, scn, opt, false);
    ok = exec_range(&r, 0, scn->lines->len, NULL);
    runner_cleanup(&r);
    return ok ? 0 : 1;
}

bool runner_failf(struct runner *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_string_append_vprintf(r->got, fmt, ap);
    va_end(ap);
    return false;
}
