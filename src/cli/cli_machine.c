/* -machine and -accel: the machine type and accelerator, QEMU spelling. */
#include <string.h>

#include "cli/cli_internal.h"

/* QEMU's spellings of a boolean property. */
static bool parse_onoff(const char *key, const char *val, bool *out,
                        GError **err)
{
    static const char *const on[] = { "on", "yes", "true" };
    static const char *const off[] = { "off", "no", "false" };

    for (size_t i = 0; i < G_N_ELEMENTS(on); i++) {
        if (!strcmp(val, on[i]) || !strcmp(val, off[i])) {
            *out = !strcmp(val, on[i]);
            return true;
        }
    }
    return cli_fail(err, "-machine: %s '%s' is not a boolean (expected on or "
                "off)", key, val);
}

/*
 * -machine [type=]NAME[,accel=kvm][,memhp-default-online=on|off]. hotmem has
 * one machine; QEMU's pc and q35 are accepted so existing command lines work.
 */
static bool machine_key(struct cli_options *o, const char *key,
                        const char *val, GError **err)
{
    if (!strcmp(key, "type"))
        return !strcmp(val, "pc") || !strcmp(val, "q35") ||
               cli_fail(err, "-machine: type '%s' is not supported (hotmem "
                    "has one machine; pc and q35 are accepted as its names)",
                    val);
    if (!strcmp(key, "accel"))
        return !strcmp(val, "kvm") ||
               cli_fail(err, "-machine: accel '%s' is not supported (hotmem "
                    "only runs on kvm)", val);
    if (!strcmp(key, "memhp-default-online"))
        return parse_onoff(key, val, &o->memhp_default_online, err);
    return cli_fail(err, "-machine: unknown property '%s' (expected type, "
                "accel or memhp-default-online)", key);
}

bool cli_machine_parse(struct cli_options *o, const char *arg, GError **err)
{
    GPtrArray *kv = cli_keyval_split("-machine", arg, "type", err);
    bool ok = kv != NULL;

    for (guint i = 0; ok && i < kv->len; i += 2)
        ok = machine_key(o, kv->pdata[i], kv->pdata[i + 1], err);
    if (kv)
        g_ptr_array_unref(kv);
    return ok;
}

/* -accel kvm[,dirty-ring-size=N]: QEMU's rule is a power of two, 0 = off. */
bool cli_accel_parse(struct cli_options *o, const char *arg, GError **err)
{
    GPtrArray *kv = cli_keyval_split("-accel", arg, "accel", err);
    uint64_t n = 0;
    bool ok = kv != NULL;

    for (guint i = 0; ok && i < kv->len; i += 2) {
        const char *key = kv->pdata[i], *val = kv->pdata[i + 1];

        if (!strcmp(key, "accel") && strcmp(val, "kvm"))
            ok = cli_fail(err, "-accel: accelerator '%s' is not available "
                          "(hotmem has kvm)", val);
        else if (!strcmp(key, "dirty-ring-size"))
            ok = cli_parse_count("-accel", key, val, 0, UINT32_MAX, &n, err)
                 && ((n & (n - 1)) == 0 ||
                     cli_fail(err, "-accel: dirty-ring-size must be a power "
                              "of two (got %s)", val));
        else if (strcmp(key, "accel"))
            ok = cli_fail(err, "-accel: unknown property '%s' (hotmem knows "
                          "dirty-ring-size)", key);
    }
    if (ok)
        o->dirty_ring_size = (uint32_t)n;
    if (kv)
        g_ptr_array_unref(kv);
    return ok;
}
