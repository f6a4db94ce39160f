/*
 * QEMU options for things hotmem does not have (a display, an RTC, boot
 * firmware, user config files): accepted so that QEMU command lines work,
 * with their keys checked, and with no effect (docs/usage.md says so for
 * each). A value that asks for something hotmem cannot give is refused,
 * saying why.
 */
#include <string.h>

#include "cli/cli_internal.h"

bool cli_parse_onoff(const char *opt, const char *key, const char *val,
                     bool *out, GError **err)
{
    static const char *const on[] = { "on", "yes", "true" };
    static const char *const off[] = { "off", "no", "false" };

    for (size_t i = 0; i < G_N_ELEMENTS(on); i++) {
        if (!strcmp(val, on[i]) || !strcmp(val, off[i])) {
            *out = !strcmp(val, on[i]);
            return true;
        }
    }
    return cli_fail(err, "%s: %s '%s' is not a boolean (expected on or off)",
                    opt, key, val);
}

/* -display none only: hotmem has no graphical output at all. */
bool cli_display_parse(struct parse_state *st, const char *arg,
                       GError **err)
{
    g_autoptr(GPtrArray) kv = cli_keyval_split("-display", arg, "type", err);

    if (!kv)
        return false;
    if (strcmp(kv->pdata[0], "type") || strcmp(kv->pdata[1], "none"))
        return cli_fail(err, "-display: '%s' is not available: hotmem has no "
                        "graphical display, only the serial console "
                        "(-display none is accepted)", arg);
    if (kv->len > 2)
        return cli_fail(err, "-display: none takes no options (got '%s')",
                        arg);
    return true;
}

/*
 * An option accepted with no effect. accepted lists "key" (any value),
 * "key=bool" (on/off) or "key=v1|v2" (those values); the first bare word
 * of arg is the first key's value, as QEMU's implied key.
 */
bool cli_quiet_option(const char *opt, const char *arg,
                      const char *const *accepted, GError **err)
{
    g_autofree char *first = g_strdup(accepted[0]);
    g_autoptr(GPtrArray) kv = NULL;

    *strchrnul(first, '=') = '\0';
    kv = cli_keyval_split(opt, arg, first, err);
    if (!kv)
        return false;
    for (guint i = 0; i < kv->len; i += 2) {
        const char *key = kv->pdata[i], *val = kv->pdata[i + 1];
        const char *rule = NULL;
        g_autofree char *known = g_strjoinv(", ", (char **)accepted);
        bool b;

        for (unsigned k = 0; accepted[k] && !rule; k++) {
            size_t n = strcspn(accepted[k], "=");

            if (strlen(key) == n && !strncmp(accepted[k], key, n))
                rule = accepted[k][n] ? accepted[k] + n + 1 : "";
        }
        if (!rule)
            return cli_fail(err, "%s: unknown key '%s' (hotmem accepts %s)",
                            opt, key, known);
        if (!strcmp(rule, "bool")) {
            if (!cli_parse_onoff(opt, key, val, &b, err))
                return false;
        } else if (*rule) {
            g_auto(GStrv) values = g_strsplit(rule, "|", -1);

            if (!g_strv_contains((const char *const *)values, val))
                return cli_fail(err, "%s: %s '%s' is not one of %s", opt,
                                key, val, rule);
        }
    }
    return true;
}
