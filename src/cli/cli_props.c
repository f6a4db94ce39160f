/* -qmp, -object and -device: collected in order for main() to use. */
#include <string.h>

#include "cli/cli_internal.h"
#include "json_strict.h"

static bool add_json(json_object *bag, const char *opt, const char *key,
                     const char *value, GError **err)
{
    if (json_object_object_get_ex(bag, key, NULL))
        return cli_fail(err, "%s: property '%s' is given twice", opt, key);
    json_object_object_add(bag, key, json_object_new_string(value));
    return true;
}

json_object *cli_props_parse(const char *opt, const char *arg,
                             const char *implied_key, GError **err)
{
    g_autoptr(GPtrArray) kv = NULL;
    json_object *bag;

    if (arg[0] == '{') {
        g_autoptr(GError) e = NULL;

        bag = json_strict_parse(arg, &e);
        if (!bag || !json_object_is_type(bag, json_type_object)) {
            json_object_put(bag);
            cli_fail(err, "%s: '%s' is not a valid JSON object%s%s", opt, arg,
                     e ? ": " : "", e ? e->message : "");
            return NULL;
        }
        return bag;
    }
    kv = cli_keyval_split(opt, arg, implied_key, err);
    if (!kv)
        return NULL;
    bag = json_object_new_object();
    for (guint i = 0; i < kv->len; i += 2) {
        if (!add_json(bag, opt, kv->pdata[i], kv->pdata[i + 1], err)) {
            json_object_put(bag);
            return NULL;
        }
    }
    return bag;
}

static void bag_free(gpointer bag)
{
    json_object_put(bag);
}

static bool add_bag(GPtrArray **list, const char *opt, const char *arg,
                    const char *implied_key, GError **err)
{
    json_object *bag = cli_props_parse(opt, arg, implied_key, err);

    if (!bag)
        return false;
    if (!json_object_object_get_ex(bag, "id", NULL) &&
        !strcmp(implied_key, "qom-type")) {
        json_object_put(bag);
        return cli_fail(err, "%s: '%s' has no id= (objects need one)", opt,
                        arg);
    }
    if (!*list)
        *list = g_ptr_array_new_with_free_func(bag_free);
    g_ptr_array_add(*list, bag);
    return true;
}

bool cli_add_object(struct cli_options *o, const char *arg, GError **err)
{
    return add_bag(&o->objects, "-object", arg, "qom-type", err);
}

bool cli_add_device(struct cli_options *o, const char *arg, GError **err)
{
    return add_bag(&o->devices, "-device", arg, "driver", err);
}

/* The listen spec is checked by the QMP server when it binds. */
bool cli_add_qmp(struct cli_options *o, const char *arg, GError **err)
{
    if (!g_str_has_prefix(arg, "unix:") && !g_str_has_prefix(arg, "tcp:"))
        return cli_fail(err, "-qmp: '%s' is neither unix:PATH,... nor "
                        "tcp:HOST:PORT,...", arg);
    if (!o->qmp)
        o->qmp = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(o->qmp, g_strdup(arg));
    return true;
}
