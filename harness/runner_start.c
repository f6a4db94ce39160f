/*
 * The start step: spawn the VMM with its console on pipes and one
 * "-qmp unix:DIR/qmp-N.sock,server=on,wait=off" per client, connect every
 * client and, unless it was declared raw, read its greeting and negotiate
 * capabilities (docs/harness.md, "start").
 */
#include "runner_internal.h"
#include "harness.h"
#include "jsonmatch.h"

#include <errno.h>
#include <string.h>


static const char *exit_text(struct runner *r)
{
    static char buf[64];

    g_snprintf(buf, sizeof(buf), r->vm->term_signal
               ? "the VMM was killed by signal %d"
               : "the VMM exited with status %d",
               r->vm->term_signal ? r->vm->term_signal : r->vm->status);
    return buf;
}

/* The socket appears once the VMM has parsed its options: retry. */
static bool connect_client(struct runner *r, struct qmpc *c, gint64 deadline)
{
    while (!qmpc_try_connect(c)) {
        gint64 soon = MIN(deadline, harness_now() + 10000);

        if (errno != ENOENT && errno != ECONNREFUSED)
            return runner_failf(r, "connect to %s: %s",
                                c->path, g_strerror(errno));
        if (!r->vm->running)
            return runner_failf(r, "%s before %s accepted a connection",
                                exit_text(r), c->path);
        if (!harness_ms_left(deadline))
            return runner_failf(r, "%s did not accept a connection in time",
                                c->path);
        runner_pump(r, soon);
        if (harness_ms_left(soon))
            g_usleep(harness_ms_left(soon) * 1000);
    }
    return true;
}

/* Greeting, then {"execute": "qmp_capabilities"} -> {"return": {}}. */
static bool negotiate(struct runner *r, struct qmpc *c, gint64 deadline)
{
    static const char cmd[] = "{\"execute\": \"qmp_capabilities\"}\r\n";
    json_object *reply, *ret;
    bool ok;

    while (!c->greeting && !c->eof && !c->broken && harness_ms_left(deadline))
        runner_pump(r, deadline);
    if (!c->greeting)
        return runner_failf(r, "no QMP greeting on @%s: %s", c->name,
                            c->broken ? c->broken
                            : c->eof ? "connection closed" : "timed out");
    qmpc_send(c, cmd, strlen(cmd));
    while (!c->replies.length && !c->eof && !c->broken &&
           harness_ms_left(deadline))
        runner_pump(r, deadline);
    if (!c->replies.length)
        return runner_failf(r, "no reply to qmp_capabilities on @%s: %s",
                            c->name,
                            c->broken ? c->broken
                            : c->eof ? "connection closed" : "timed out");
    reply = g_queue_pop_head(&c->replies);
    ok = json_object_object_get_ex(reply, "return", &ret);
    if (!ok)
        runner_failf(r, "qmp_capabilities on @%s failed: %s", c->name,
                     json_text(reply));
    json_object_put(reply);
    return ok;
}

bool runner_start(struct runner *r, const struct step *s)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) cmdline = g_string_new(NULL);
    gint64 deadline = runner_deadline(r, -1);

    g_string_printf(r->expected, "the VMM to start and its QMP clients to "
                    "connect within %g s", r->timeout * r->opt->timeout_scale);
    if (r->vm)
        return runner_failf(r, "the VM was already started");
    r->tmpdir = g_dir_make_tmp("hotmem-harness-XXXXXX", &err);
    if (!r->tmpdir)
        return runner_failf(r, "%s", err->message);
    g_ptr_array_add(argv, g_strdup(r->opt->vmm));
    for (char **a = s->argv; *a; a++)
        g_ptr_array_add(argv, g_strdup(*a));
    for (guint i = 0; i < r->scn->clients->len; i++) {
        const char *name = r->scn->clients->pdata[i];
        g_autofree char *path = g_strdup_printf("%s/qmp-%u.sock", r->tmpdir, i);

        g_ptr_array_add(argv, g_strdup("-qmp"));
        g_ptr_array_add(argv, g_strdup_printf("unix:%s,server=on,wait=off",
                                              path));
        g_ptr_array_add(r->clients, qmpc_new(name, path,
                        scenario_client_is_raw(r->scn, name)));
    }
    g_ptr_array_add(argv, NULL);
    for (guint i = 0; argv->pdata[i]; i++) {
        g_autofree char *q = g_shell_quote(argv->pdata[i]);

        g_string_append_printf(cmdline, "%s%s", i ? " " : "", q);
    }
    harness_note("running: %s", cmdline->str);
    r->vm = vmproc_spawn((char **)argv->pdata, &err);
    if (!r->vm)
        return runner_failf(r, "%s", err->message);
    for (guint i = 0; i < r->clients->len; i++)
        if (!connect_client(r, r->clients->pdata[i], deadline))
            return false;
    for (guint i = 0; i < r->clients->len; i++) {
        struct qmpc *c = r->clients->pdata[i];

        if (!c->raw && !negotiate(r, c, deadline))
            return false;
    }
    return true;
}
