/*
 * The steps that talk to the VMM: start, qmp, qmp-raw, greeting, event,
 * no-event, console, send, sleep, expect-exit, kill, close, vmm-fds
 * (docs/harness.md).
 */
#include "runner_internal.h"
#include "harness.h"
#include "jsonmatch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


static void expectf(struct runner *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void expectf(struct runner *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_string_vprintf(r->expected, fmt, ap);
    va_end(ap);
}

static double seconds_of(struct runner *r, const struct step *s)
{
    return (s->seconds >= 0 ? s->seconds : r->timeout) * r->opt->timeout_scale;
}

static const char *vm_state(struct runner *r)
{
    static char buf[64];

    if (r->vm->term_signal)
        g_snprintf(buf, sizeof(buf), "the VMM was killed by signal %d",
                   r->vm->term_signal);
    else
        g_snprintf(buf, sizeof(buf), "the VMM exited with status %d",
                   r->vm->status);
    return buf;
}

/*
 * A closed console or socket usually means the VMM is exiting: give it a
 * moment so the report can say how it ended.
 */
static void await_exit(struct runner *r)
{
    gint64 deadline = harness_now() + G_USEC_PER_SEC;

    while (r->vm->running && harness_ms_left(deadline))
        runner_pump(r, deadline);
}

static struct qmpc *client(struct runner *r, const char *name)
{
    for (guint i = 0; i < r->clients->len; i++) {
        struct qmpc *c = r->clients->pdata[i];

        if (!strcmp(c->name, name))
            return c;
    }
    return NULL;
}

/* The client, if it can still receive; else why not in r->got. */
static struct qmpc *live_client(struct runner *r, const char *name)
{
    struct qmpc *c = client(r, name);

    if (!c)
        runner_failf(r, "no client @%s", name);
    else if (c->closed)
        runner_failf(r, "client @%s was closed by a close step", name);
    else if (c->broken)
        runner_failf(r, "%s on @%s", c->broken, name);
    else if (c->eof && !c->replies.length && !c->events.length &&
             (await_exit(r), true))
        runner_failf(r, "the VMM closed @%s's connection%s%s", name,
                     r->vm->running ? "" : "; ",
                     r->vm->running ? "" : vm_state(r));
    else
        return c;
    return NULL;
}

/* Waits until c has written everything it queued. */
static bool flush_client(struct runner *r, struct qmpc *c, gint64 deadline)
{
    while (c->out->len && qmpc_connected(c) && harness_ms_left(deadline))
        runner_pump(r, deadline);
    if (!c->out->len)
        return true;
    return runner_failf(r, "could not send to @%s (%s)", c->name,
                        qmpc_connected(c) ? "timed out" : "connection closed");
}

/* Waits for the next reply on c; NULL (why in r->got) on failure. */
static json_object *next_reply(struct runner *r, struct qmpc *c,
                               gint64 deadline, double secs)
{
    for (;;) {
        if (c->replies.length)
            return g_queue_pop_head(&c->replies);
        if (c->broken) {
            runner_failf(r, "%s", c->broken);
            return NULL;
        }
        if (c->eof) {
            await_exit(r);
            runner_failf(r, "the VMM closed the connection without "
                         "replying%s%s", r->vm->running ? "" : "; ",
                         r->vm->running ? "" : vm_state(r));
            return NULL;
        }
        if (!harness_ms_left(deadline)) {
            runner_failf(r, "no reply on @%s within %g s", c->name, secs);
            return NULL;
        }
        runner_pump(r, deadline);
    }
}

static void describe_expect(struct runner *r, const struct step *s)
{
    switch (s->expect) {
    case EXPECT_RETURN:
        expectf(r, "a reply {\"return\": %s}",
                s->has_pattern ? json_text(s->pattern) : "...");
        break;
    case EXPECT_ERROR:
        expectf(r, "an error reply, class %s, description containing \"%s\"",
                s->error_class ? s->error_class : "(any)",
                s->error_desc ? s->error_desc : "");
        break;
    case EXPECT_REPLY:
        expectf(r, "a reply matching %s", json_text(s->pattern));
        break;
    case EXPECT_NOTHING:
        break;
    }
}

static bool check_reply(struct runner *r, const struct step *s,
                        json_object *command, json_object *reply)
{
    json_object *v, *id, *rid, *cls = NULL, *desc = NULL;
    g_autoptr(GString) why = g_string_new(NULL);

    /* QMP echoes a command's "id" in its reply. */
    if (command && json_object_object_get_ex(command, "id", &id) &&
        (!json_object_object_get_ex(reply, "id", &rid) ||
         !json_match(id, rid, NULL)))
        return runner_failf(r, "reply without the command's id %s: %s",
                            json_text(id), json_text(reply));
    switch (s->expect) {
    case EXPECT_RETURN:
        if (!json_object_object_get_ex(reply, "return", &v))
            return runner_failf(r, "%s", json_text(reply));
        if (s->has_pattern && !json_match(s->pattern, v, why))
            return runner_failf(r, "%s; return value mismatch at %s",
                                json_text(reply), why->str);
        return true;
    case EXPECT_ERROR:
        if (!json_object_object_get_ex(reply, "error", &v) ||
            !json_object_object_get_ex(v, "class", &cls) ||
            !json_object_object_get_ex(v, "desc", &desc))
            return runner_failf(r, "%s", json_text(reply));
        if (s->error_class && g_strcmp0(json_object_get_string(cls),
                                        s->error_class))
            return runner_failf(r, "%s (class differs)", json_text(reply));
        if (s->error_desc && !strstr(json_object_get_string(desc),
                                     s->error_desc))
            return runner_failf(r, "%s (description differs)",
                                json_text(reply));
        return true;
    case EXPECT_REPLY:
        if (!json_match(s->pattern, reply, why))
            return runner_failf(r, "%s; mismatch at %s",
                                json_text(reply), why->str);
        return true;
    default:
        return true;
    }
}

/*
 * qmp ... as VAR: VAR is the return value as compact JSON and, when it is
 * an object, VAR.KEY each of its members (those of an earlier capture under
 * the same name are forgotten first).
 */
static void capture_return(struct runner *r, const char *var,
                           json_object *reply)
{
    g_autofree char *prefix = g_strconcat(var, ".", NULL);
    GHashTableIter it;
    gpointer key;
    json_object *v = NULL;

    json_object_object_get_ex(reply, "return", &v);
    g_hash_table_iter_init(&it, r->vars);
    while (g_hash_table_iter_next(&it, &key, NULL))
        if (g_str_has_prefix(key, prefix))
            g_hash_table_iter_remove(&it);
    g_hash_table_insert(r->vars, g_strdup(var), g_strdup(json_text(v)));
    if (!json_object_is_type(v, json_type_object))
        return;
    json_object_object_foreach(v, k, member)
        g_hash_table_insert(r->vars, g_strconcat(prefix, k, NULL),
                            g_strdup(json_text(member)));
}

static bool step_qmp(struct runner *r, const struct step *s)
{
    struct qmpc *c = live_client(r, s->client);
    gint64 deadline = runner_deadline(r, s->seconds);
    json_object *command = NULL, *reply;
    bool ok;

    if (!c)
        return false;
    if (s->kind == STEP_QMP) {
        g_autofree char *line = g_strconcat(s->text, "\r\n", NULL);

        command = json_tokener_parse(s->text);
        qmpc_send(c, line, s->text_len + 2);
    } else {
        qmpc_send(c, s->text, s->text_len);
    }
    ok = flush_client(r, c, deadline);
    if (ok && s->expect != EXPECT_NOTHING) {
        describe_expect(r, s);
        reply = next_reply(r, c, deadline, seconds_of(r, s));
        ok = reply && check_reply(r, s, command, reply);
        if (ok && s->var)
            capture_return(r, s->var, reply);
        if (reply)
            json_object_put(reply);
    }
    if (command)
        json_object_put(command);
    return ok;
}

static bool step_greeting(struct runner *r, const struct step *s)
{
    struct qmpc *c = live_client(r, s->client);
    gint64 deadline = runner_deadline(r, s->seconds);
    g_autoptr(GString) why = g_string_new(NULL);
    json_object *v;

    if (!c)
        return false;
    expectf(r, "the QMP greeting {\"QMP\": %s} on @%s",
            s->has_pattern ? json_text(s->pattern) : "...", s->client);
    while (!c->greeting && !c->eof && !c->broken && harness_ms_left(deadline))
        runner_pump(r, deadline);
    if (!c->greeting)
        return runner_failf(r, "%s", c->broken ? c->broken : c->eof
                            ? "connection closed" : "no greeting in time");
    json_object_object_get_ex(c->greeting, "QMP", &v);
    if (s->has_pattern && !json_match(s->pattern, v, why))
        return runner_failf(r, "%s; mismatch at %s", json_text(c->greeting),
                            why->str);
    return true;
}

/* Removes and returns the first queued event matching s, or NULL. */
static json_object *take_event(struct qmpc *c, const struct step *s)
{
    for (GList *l = c->events.head; l; l = l->next) {
        json_object *ev = l->data, *name, *data = NULL;

        if (!json_object_object_get_ex(ev, "event", &name) ||
            g_strcmp0(json_object_get_string(name), s->text))
            continue;
        json_object_object_get_ex(ev, "data", &data);
        if (s->has_pattern && !json_match(s->pattern, data, NULL))
            continue;
        g_queue_delete_link(&c->events, l);
        return ev;
    }
    return NULL;
}

static bool step_event(struct runner *r, const struct step *s)
{
    struct qmpc *c = live_client(r, s->client);
    gint64 deadline = runner_deadline(r, s->seconds);
    json_object *ev;

    if (!c)
        return false;
    expectf(r, "event %s on @%s with data matching %s within %g s", s->text,
            s->client, s->has_pattern ? json_text(s->pattern) : "anything",
            seconds_of(r, s));
    while (!(ev = take_event(c, s))) {
        if (c->eof || c->broken || !harness_ms_left(deadline)) {
            runner_failf(r, "%s; unconsumed events on @%s:",
                         c->broken ? c->broken : c->eof ? "connection closed"
                         : "timed out", c->name);
            for (GList *l = c->events.head; l; l = l->next)
                runner_failf(r, "\n  %s", json_text(l->data));
            if (!c->events.length)
                runner_failf(r, " none");
            return false;
        }
        runner_pump(r, deadline);
    }
    json_object_put(ev);
    return true;
}

/*
 * Nothing waits: what the VMM has sent so far is read, then no queued event
 * may match. Put it after a step that proves the VMM has done what could
 * have sent the event (a reply, a console line), so it had its chance.
 */
static bool step_no_event(struct runner *r, const struct step *s)
{
    struct qmpc *c = live_client(r, s->client);
    json_object *ev;

    if (!c)
        return false;
    expectf(r, "no queued event %s on @%s with data matching %s", s->text,
            s->client, s->has_pattern ? json_text(s->pattern) : "anything");
    runner_pump(r, harness_now());
    ev = take_event(c, s);
    if (!ev)
        return true;
    runner_failf(r, "%s", json_text(ev));
    json_object_put(ev);
    return false;
}

/* The VMM's open file descriptors: /proc/PID/fd; -1 (why in r->got). */
static int count_fds(struct runner *r, GString *list)
{
    g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int)r->vm->pid);
    g_autoptr(GError) e = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &e);
    const char *name;
    int n = 0;

    if (!d) {
        runner_failf(r, "%s", e->message);
        return -1;
    }
    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *target = g_file_read_link(path, NULL);

        g_string_append_printf(list, "\n  %s -> %s", name,
                               target ? target : "?");
        n++;
    }
    return n;
}

/* How long the count must hold still before vmm-fds trusts it: a VMM may
 * be accepting or closing a connection at the moment of a single look. */
#define FDS_SETTLE_US (300 * 1000)

static bool step_vmm_fds(struct runner *r, const struct step *s)
{
    g_autoptr(GString) list = g_string_new(NULL);
    gint64 deadline = runner_deadline(r, s->seconds), since = 0;
    int n, prev = -1;

    if (s->var)
        expectf(r, "to count the VMM's open file descriptors");
    else
        expectf(r, "the VMM to have %" G_GINT64_FORMAT " open file "
                "descriptors", s->number);
    for (;;) {
        if (!r->vm->running)
            return runner_failf(r, "%s", vm_state(r));
        g_string_truncate(list, 0);
        n = count_fds(r, list);
        if (n < 0)
            return false;
        if (!s->var && n == s->number)
            return true;
        if (n != prev) {
            prev = n;
            since = harness_now();
        } else if (harness_now() - since >= FDS_SETTLE_US ||
                   !harness_ms_left(deadline)) {
            break;
        }
        runner_pump(r, MIN(deadline, harness_now() + 50 * 1000));
    }
    if (s->var) {
        g_hash_table_insert(r->vars, g_strdup(s->var),
                            g_strdup_printf("%d", n));
        return true;
    }
    return runner_failf(r, "%d open file descriptors:%s", n, list->str);
}

/* Pops lines up to the first that starts with the prefix; NULL if none. */
static char *take_line(struct vmproc *vm, const char *prefix, gsize len)
{
    guint n = 0;

    for (GList *l = vm->lines.head; l; l = l->next, n++) {
        if (strncmp(l->data, prefix, len))
            continue;
        while (n--)
            g_free(g_queue_pop_head(&vm->lines));
        return g_queue_pop_head(&vm->lines);
    }
    return NULL;
}

static bool step_console(struct runner *r, const struct step *s)
{
    gint64 deadline = runner_deadline(r, s->seconds);
    g_autofree char *line = NULL;

    expectf(r, "a console line starting with \"%s\" within %g s", s->text,
            seconds_of(r, s));
    while (!(line = take_line(r->vm, s->text, s->text_len))) {
        if (vmproc_console_eof(r->vm) && (await_exit(r), true))
            return runner_failf(r, "the console was closed (%s)", r->vm->running
                                ? "the VMM is still running" : vm_state(r));
        if (!harness_ms_left(deadline))
            return runner_failf(r, "timed out; %u unconsumed console lines",
                                r->vm->lines.length);
        runner_pump(r, deadline);
    }
    if (s->var) {
        const char *rest = line + s->text_len;

        g_hash_table_insert(r->vars, g_strdup(s->var),
                            g_strndup(rest, strcspn(rest, " \t")));
    }
    return true;
}

static bool step_send(struct runner *r, const struct step *s)
{
    gint64 deadline = runner_deadline(r, s->seconds);

    expectf(r, "to write \"%s\" to the console", s->text);
    harness_trace("console< %s", s->text);
    vmproc_write(r->vm, s->text, s->text_len);
    vmproc_write(r->vm, "\n", 1);
    while (r->vm->pending->len && !r->vm->write_errno &&
           harness_ms_left(deadline))
        runner_pump(r, deadline);
    if (r->vm->write_errno)
        return runner_failf(r, "the console is closed (%s; %s)",
                            g_strerror(r->vm->write_errno), r->vm->running
                            ? "the VMM is still running" : vm_state(r));
    if (r->vm->pending->len)
        return runner_failf(r, "the VMM did not read its console within %g s",
                            seconds_of(r, s));
    return true;
}

static bool step_expect_exit(struct runner *r, const struct step *s)
{
    gint64 deadline = runner_deadline(r, s->seconds);

    expectf(r, "the VMM to exit with status %" G_GINT64_FORMAT " within %g s",
            s->number, seconds_of(r, s));
    while (r->vm->running && harness_ms_left(deadline))
        runner_pump(r, deadline);
    if (r->vm->running)
        return runner_failf(r, "still running");
    /* Collect the last console lines and stderr for the record. */
    deadline = harness_now() + G_USEC_PER_SEC;
    while ((!vmproc_console_eof(r->vm) || r->vm->err_fd >= 0) &&
           harness_ms_left(deadline))
        runner_pump(r, deadline);
    if (r->vm->status != s->number)
        return runner_failf(r, "%s", vm_state(r));
    return true;
}

bool runner_exec_step(struct runner *r, const struct step *s)
{
    if (s->kind != STEP_START && !r->vm)
        return runner_failf(r, "no VM: a start step must come first");
    switch (s->kind) {
    case STEP_START:
        return runner_start(r, s);
    case STEP_QMP:
    case STEP_QMP_RAW:
        return step_qmp(r, s);
    case STEP_GREETING:
        return step_greeting(r, s);
    case STEP_EVENT:
        return step_event(r, s);
    case STEP_NO_EVENT:
        return step_no_event(r, s);
    case STEP_VMM_FDS:
        return step_vmm_fds(r, s);
    case STEP_CONSOLE:
        return step_console(r, s);
    case STEP_SEND:
        return step_send(r, s);
    case STEP_SLEEP: {
        gint64 deadline = harness_now() + s->number * 1000;

        while (harness_ms_left(deadline))
            runner_pump(r, deadline);
        return true;
    }
    case STEP_EXPECT_EXIT:
        return step_expect_exit(r, s);
    case STEP_KILL:
        expectf(r, "to send signal %d to the VMM", (int)s->number);
        if (!r->vm->running)
            return runner_failf(r, "%s", vm_state(r));
        harness_trace("kill -%d %d", (int)s->number, (int)r->vm->pid);
        if (kill(r->vm->pid, (int)s->number) < 0)
            return runner_failf(r, "kill: %s", g_strerror(errno));
        return true;
    case STEP_CLOSE: {
        struct qmpc *c = client(r, s->client);

        qmpc_close(c);
        c->closed = true;
        return true;
    }
    default:
        return runner_failf(r, "internal error: step %s",
                            step_kind_name(s->kind));
    }
}
