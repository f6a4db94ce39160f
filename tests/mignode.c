/* A hotmem process of a migration test (mignode.h). */
#include "mignode.h"

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qmpclient.h"
#include "vmrunner.h"

void mig_node_start(struct mig_node *n, const char *dir, const char *name,
                    const char *mem, const char *const *extra,
                    const char *incoming)
{
    g_autofree char *sock = g_strdup_printf("%s/%s.sock", dir, name);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off",
                                            sock);
    GPtrArray *args = g_ptr_array_new();

    g_ptr_array_add(args, "-m");
    g_ptr_array_add(args, (gpointer)mem);
    g_ptr_array_add(args, "-qmp");
    g_ptr_array_add(args, spec);
    for (; extra && *extra; extra++)
        g_ptr_array_add(args, (gpointer)*extra);
    if (incoming) {
        g_ptr_array_add(args, "-incoming");
        g_ptr_array_add(args, (gpointer)incoming);
    }
    g_ptr_array_add(args, NULL);
    n->vm = vm_spawn((const char *const *)args->pdata);
    g_ptr_array_free(args, TRUE);
    n->qmp = qmp_connect(sock, MIG_NODE_TIMEOUT_MS);
    qmp_on_closed(n->qmp, vm_explain_exit, n->vm);
}

void mig_node_stop(struct mig_node *n)
{
    if (n->qmp)
        qmp_close(n->qmp);
    if (n->vm)
        vm_free(n->vm);
    memset(n, 0, sizeof(*n));
}

json_object *mig_member(json_object *o, const char *name)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, name, &v))
        g_error("no '%s' in %s", name, json_object_to_json_string(o));
    return v;
}

char *mig_line(struct mig_node *n, const char *prefix)
{
    char *line = vm_wait_line(n->vm, prefix, MIG_NODE_TIMEOUT_MS);

    /* Tails of stderr and console, last: meson keeps only the last 100
     * lines of a failed test's output (a Linux console is thousands). */
    if (!line) {
        vm_explain_stall(n->vm);
        g_error("no '%s' line within %d ms; the end of the VMM's stderr:\n"
                "%s\nthe end of its console:\n%s", prefix,
                MIG_NODE_TIMEOUT_MS, vm_stderr_tail(n->vm, 20),
                vm_console_tail(n->vm, 12));
    }
    return line;
}

char *mig_run_state(struct mig_node *n)
{
    json_object *r = qmp_return(n->qmp, "{\"execute\": \"query-status\"}");
    char *s = g_strdup(json_object_get_string(mig_member(r, "status")));

    json_object_put(r);
    return s;
}

void mig_expect_state(struct mig_node *n, const char *want)
{
    g_autofree char *s = mig_run_state(n);

    g_assert_cmpstr(s, ==, want);
}

void mig_expect_event(struct mig_node *n, const char *name)
{
    json_object *ev = qmp_wait_event(n->qmp, name, MIG_NODE_TIMEOUT_MS);

    if (!ev)
        g_error("no %s event within %d s; stderr:\n%s", name,
                MIG_NODE_TIMEOUT_MS / 1000, vm_stderr(n->vm));
    json_object_put(ev);
}

void mig_expect_migration_event(struct mig_node *n, const char *status)
{
    json_object *ev = qmp_wait_event(n->qmp, "MIGRATION",
                                     MIG_NODE_TIMEOUT_MS);

    g_assert_nonnull(ev);
    g_assert_cmpstr(json_object_get_string(mig_member(mig_member(ev, "data"),
                                                      "status")), ==, status);
    json_object_put(ev);
}

void mig_migrate(struct mig_node *n, const char *uri)
{
    qmp_ok(n->qmp, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
           "\"%s\"}}", uri);
}

void mig_pattern_start(struct mig_node *n, const char *seed, unsigned rate,
                       unsigned seconds, const char *ranges)
{
    g_autofree char *cmd = g_strdup_printf("pattern %s %u %u %s", seed,
                                           rate, seconds, ranges);

    g_assert_true(vm_send(n->vm, cmd));
    /* Not just sent: running (a loaded host can be slow to read it). */
    g_free(mig_line(n, "hotmem-guest: pattern started"));
}

void mig_pattern_check(struct mig_node *n, const char *seed,
                       const char *ranges)
{
    g_autofree char *cmd = g_strdup_printf("pattern-check %s %s", seed,
                                           ranges);
    g_autofree char *line = NULL;

    g_assert_true(vm_send(n->vm, cmd));
    line = mig_line(n, "hotmem-guest: pattern-check");
    if (!strstr(line, "pattern-check ok"))
        g_error("%s", line);
}

uint64_t mig_hot_add_dimm(struct mig_node *n, const char *qom_type)
{
    g_autofree char *line = NULL;
    const char *at;

    qmp_ok(n->qmp, "{\"execute\": \"migrate-set-capabilities\", "
           "\"arguments\": {\"capabilities\": [{\"capability\": \"events\","
           " \"state\": true}]}}");
    qmp_ok(n->qmp, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"%s\", \"id\": \"mem1\", \"size\": 134217728}}",
           qom_type);
    qmp_ok(n->qmp, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"dimm1\", \"memdev\": "
           "\"mem1\"}}");
    line = mig_line(n, "hotmem-guest: dimm slot=0");
    at = strstr(line, "online addr=");
    g_assert_nonnull(at);
    return g_ascii_strtoull(at + strlen("online addr="), NULL, 16);
}

char *mig_ranges(uint64_t boot_base, uint64_t dimm, uint64_t size)
{
    return g_strdup_printf("0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER
                           "x 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER
                           "x", boot_base, size, dimm, size);
}

/* poke ADDR 0 through the console, answered. */
static void poke_zero(struct mig_node *n, uint64_t addr)
{
    g_autofree char *cmd = g_strdup_printf("poke 0x%" G_GINT64_MODIFIER
                                           "x 0", addr);
    g_autofree char *want = g_strdup_printf("hotmem-guest: poke addr=0x%"
                                            G_GINT64_MODIFIER "x value=0x0",
                                            addr);
    g_autofree char *line = NULL;

    g_assert_true(vm_send(n->vm, cmd));
    line = mig_line(n, "hotmem-guest: poke ");
    g_assert_cmpstr(line, ==, want);
}

void mig_clear_memcheck(struct mig_node *n, uint64_t dimm, uint64_t base,
                        uint64_t size)
{
    const uint64_t two_mib = 2 << 20;
    uint64_t first[] = { dimm, dimm + 0x1000 - 8 };

    for (size_t i = 0; i < G_N_ELEMENTS(first); i++)
        if (first[i] >= base && first[i] < base + size)
            poke_zero(n, first[i]);
    for (uint64_t a = dimm + two_mib; a < base + size; a += two_mib)
        if (a >= base)
            poke_zero(n, a);
}

void mig_remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);

        g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}
