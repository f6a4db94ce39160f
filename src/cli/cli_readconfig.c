/*
 * -readconfig FILE: QEMU's config file format (what -writeconfig wrote and
 * the .cfg files under QEMU's docs/config show):
 *
 *   # comment
 *   [machine]
 *     type = "q35"
 *   [object "ram0"]
 *     qom-type = "memory-backend-ram"
 *     size = "1G"
 *
 * Each section is one command-line option, its keys that option's keys
 * ("ID" in the header is id=); sections are applied in file order, where
 * -readconfig stands on the command line.
 */
#include <string.h>

#include "cli/cli_internal.h"

/* QEMU's option groups and the options they are. */
static const struct {
    const char *section;
    const char *option;
} sections[] = {
    { "machine", "machine" }, { "memory", "m" }, { "smp-opts", "smp" },
    { "name", "name" }, { "chardev", "chardev" }, { "mon", "mon" },
    { "object", "object" }, { "numa", "numa" }, { "device", "device" },
    { "accel", "accel" }, { "boot-opts", "boot" }, { "rtc", "rtc" },
    { "msg", "msg" }, { "overcommit", "overcommit" },
};

struct section {
    char *option;           /* NULL before the first header */
    unsigned line;
    GString *args;          /* "key=value,key=value" (commas doubled) */
};

static void append_kv(GString *args, const char *key, const char *value)
{
    if (args->len)
        g_string_append_c(args, ',');
    g_string_append_printf(args, "%s=", key);
    for (const char *p = value; *p; p++) {
        if (*p == ',')
            g_string_append_c(args, ',');
        g_string_append_c(args, *p);
    }
}

/* Applies the section read so far, if any. */
static bool flush(struct parse_state *st, struct section *s, const char *path,
                  GError **err)
{
    bool ok;

    if (!s->option)
        return true;
    ok = cli_apply_option(st, s->option, s->args->str, err);
    if (!ok)
        g_prefix_error(err, "-readconfig %s:%u: ", path, s->line);
    g_clear_pointer(&s->option, g_free);
    g_string_truncate(s->args, 0);
    return ok;
}

/* "[name]" or "[name "id"]". */
static bool header(struct section *s, char *line, unsigned n,
                   const char *path, GError **err)
{
    char *end = strrchr(line, ']'), *id = NULL, *q;

    if (!end || end[1])
        return cli_fail(err, "-readconfig %s:%u: '%s' is not a [section] "
                        "header", path, n, line);
    *end = '\0';
    if ((q = strchr(line, ' '))) {
        *q = '\0';
        id = g_strstrip(q + 1);
        if (strlen(id) < 2 || id[0] != '"' || id[strlen(id) - 1] != '"')
            return cli_fail(err, "-readconfig %s:%u: the id of [%s] must "
                            "be in double quotes", path, n, line + 1);
        id[strlen(id) - 1] = '\0';
        id++;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(sections); i++) {
        if (!strcmp(sections[i].section, line + 1)) {
            s->option = g_strdup(sections[i].option);
            s->line = n;
            if (id)
                append_kv(s->args, "id", id);
            return true;
        }
    }
    return cli_fail(err, "-readconfig %s:%u: section [%s] is not supported "
                    "(hotmem reads machine, memory, smp-opts, name, chardev, "
                    "mon, object, numa, device, accel, boot-opts, rtc, msg, "
                    "overcommit)", path, n, line + 1);
}

/* "key = "value"". */
static bool entry(struct section *s, char *line, unsigned n,
                  const char *path, GError **err)
{
    char *eq = strchr(line, '='), *value;
    size_t len;

    if (!s->option)
        return cli_fail(err, "-readconfig %s:%u: '%s' comes before any "
                        "[section]", path, n, line);
    if (!eq)
        return cli_fail(err, "-readconfig %s:%u: '%s' is not key = "
                        "\"value\"", path, n, line);
    *eq = '\0';
    value = g_strstrip(eq + 1);
    len = strlen(value);
    if (len < 2 || value[0] != '"' || value[len - 1] != '"')
        return cli_fail(err, "-readconfig %s:%u: the value of '%s' must be "
                        "in double quotes", path, n, g_strstrip(line));
    value[len - 1] = '\0';
    append_kv(s->args, g_strstrip(line), value + 1);
    return true;
}

bool cli_readconfig(struct parse_state *st, const char *path, GError **err)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) e = NULL;
    g_auto(GStrv) lines = NULL;
    struct section s = { .args = g_string_new(NULL) };
    bool ok = true;

    if (!g_file_get_contents(path, &text, NULL, &e)) {
        g_string_free(s.args, TRUE);
        return cli_fail(err, "-readconfig: %s", e->message);
    }
    lines = g_strsplit(text, "\n", -1);
    for (unsigned i = 0; ok && lines[i]; i++) {
        char *line = g_strstrip(lines[i]);

        if (!*line || *line == '#')
            continue;
        if (*line == '[')
            ok = flush(st, &s, path, err) && header(&s, line, i + 1, path, err);
        else
            ok = entry(&s, line, i + 1, path, err);
    }
    ok = ok && flush(st, &s, path, err);
    g_free(s.option);
    g_string_free(s.args, TRUE);
    return ok;
}
