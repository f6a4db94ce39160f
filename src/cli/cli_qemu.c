/*
 * QEMU's smaller options. Those for things hotmem does not have (a display,
 * an RTC, boot firmware, message timestamps) are accepted so that QEMU
 * command lines work, with their keys checked, and with no effect
 * (docs/usage.md says so for each); a value that asks for something hotmem
 * cannot give is refused, saying why. -name, -overcommit and -action have
 * effects, kept in struct cli_options.
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

/*
 * -name [guest=]NAME[,process=NAME][,debug-threads=on|off]: process= names
 * the process (its main thread, as ps shows it); hotmem's threads always
 * carry names, so debug-threads changes nothing.
 */
static bool name_key(struct cli_options *o, const char *key, const char *val,
                     GError **err)
{
    bool b;

    if (!strcmp(key, "guest") || !strcmp(key, "process")) {
        char **dst = !strcmp(key, "guest") ? &o->name : &o->process_name;

        g_free(*dst);
        *dst = g_strdup(val);
        return true;
    }
    if (!strcmp(key, "debug-threads"))
        return cli_parse_onoff("-name", key, val, &b, err);
    return cli_fail(err, "-name: unknown key '%s' (expected guest, process "
                    "or debug-threads)", key);
}

bool cli_opt_name(struct parse_state *st, const char *arg, GError **err)
{
    g_autoptr(GPtrArray) kv = cli_keyval_split("-name", arg, "guest", err);

    for (guint i = 0; kv && i < kv->len; i += 2) {
        if (!name_key(st->o, kv->pdata[i], kv->pdata[i + 1], err))
            return false;
    }
    return kv != NULL;
}

/* -overcommit mem-lock=on locks hotmem's memory (mlockall). */
bool cli_opt_overcommit(struct parse_state *st, const char *arg,
                           GError **err)
{
    g_autoptr(GPtrArray) kv = cli_keyval_split("-overcommit", arg,
                                               "mem-lock", err);
    bool b;

    for (guint i = 0; kv && i < kv->len; i += 2) {
        const char *key = kv->pdata[i], *val = kv->pdata[i + 1];

        if (!strcmp(key, "mem-lock")) {
            if (!cli_parse_onoff("-overcommit", key, val, &st->o->mem_lock,
                                 err))
                return false;
        } else if (!strcmp(key, "cpu-pm")) {
            if (!cli_parse_onoff("-overcommit", key, val, &b, err))
                return false;
            if (b)
                return cli_fail(err, "-overcommit: cpu-pm=on is not "
                                "supported: hotmem keeps the guest's HLT and "
                                "MWAIT exits in KVM");
        } else {
            return cli_fail(err, "-overcommit: unknown key '%s' (expected "
                            "mem-lock or cpu-pm)", key);
        }
    }
    return kv != NULL;
}

bool cli_opt_msg(struct parse_state *st, const char *arg, GError **err)
{
    static const char *const keys[] = { "timestamp=bool", "guest-name=bool",
                                        NULL };

    return cli_quiet_option("-msg", arg, keys, err);
}

bool cli_opt_rtc(struct parse_state *st, const char *arg, GError **err)
{
    static const char *const keys[] = { "base", "clock=host|rt|vm",
                                        "driftfix=none|slew", NULL };

    return cli_quiet_option("-rtc", arg, keys, err);
}

bool cli_opt_boot(struct parse_state *st, const char *arg, GError **err)
{
    static const char *const keys[] = { "order", "once", "menu=bool",
                                        "splash", "splash-time",
                                        "reboot-timeout", "strict=bool",
                                        NULL };

    return cli_quiet_option("-boot", arg, keys, err);
}

/*
 * -action: QEMU's general spelling of -no-reboot (reboot=shutdown) and
 * -no-shutdown (shutdown=pause); the defaults are accepted as they are.
 */
static bool action_key(struct cli_options *o, const char *key,
                       const char *val, GError **err)
{
    if (!strcmp(key, "reboot") &&
        (!strcmp(val, "reset") || !strcmp(val, "shutdown"))) {
        o->no_reboot = !strcmp(val, "shutdown");
        return true;
    }
    if (!strcmp(key, "shutdown") &&
        (!strcmp(val, "poweroff") || !strcmp(val, "pause"))) {
        o->no_shutdown = !strcmp(val, "pause");
        return true;
    }
    if (!strcmp(key, "panic") && !strcmp(val, "shutdown"))
        return true;
    if (!strcmp(key, "reboot") || !strcmp(key, "shutdown") ||
        !strcmp(key, "panic"))
        return cli_fail(err, "-action: %s=%s is not supported (hotmem takes "
                        "reboot=reset|shutdown, shutdown=poweroff|pause, "
                        "panic=shutdown)", key, val);
    return cli_fail(err, "-action: unknown key '%s'%s", key,
                    !strcmp(key, "watchdog") ? ": hotmem has no watchdog"
                                             : " (expected reboot, shutdown "
                                               "or panic)");
}

bool cli_opt_action(struct parse_state *st, const char *arg, GError **err)
{
    g_autoptr(GPtrArray) kv = cli_keyval_split("-action", arg, "action",
                                               err);

    for (guint i = 0; kv && i < kv->len; i += 2) {
        if (!action_key(st->o, kv->pdata[i], kv->pdata[i + 1], err))
            return false;
    }
    return kv != NULL;
}
