/* Migration URIs (uri.h). */
#include "migration/uri.h"

#include <string.h>

#include "errors.h"
#include "props.h"

#define OFFSET_OPTION ",offset="

static bool parse_offset(const char *s, uint64_t *out, GError **err)
{
    g_autoptr(GError) e = NULL;
    char *end = NULL;

    if (g_str_has_prefix(s, "0x") || g_str_has_prefix(s, "0X")) {
        *out = g_ascii_strtoull(s + 2, &end, 16);
        if (end != s + 2 && !*end)
            return true;
    } else if (props_parse_size(s, 0, out, &e)) {
        return true;
    }
    /* QEMU's words. */
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "file URI has bad offset %s", s);
    return false;
}

static bool check_path(const char *path, GError **err)
{
    if (*path)
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "file URI has no file name: give file:PATH");
    return false;
}

bool mig_uri_parse(const char *uri, struct mig_uri *out, GError **err)
{
    static const char *const later[] = { "unix", "tcp", "fd", "exec",
                                         "rdma", "vsock" };
    g_autofree char *spec = NULL;
    char *opt;

    memset(out, 0, sizeof(*out));
    if (g_str_has_prefix(uri, "file:")) {
        spec = g_strdup(uri + 5);
        opt = strstr(spec, OFFSET_OPTION);
        if (opt) {
            *opt = 0;
            if (!parse_offset(opt + strlen(OFFSET_OPTION), &out->offset,
                              err))
                return false;
        }
        if (!check_path(spec, err))
            return false;
        out->path = g_steal_pointer(&spec);
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(later); i++) {
        size_t n = strlen(later[i]);

        if (!strncmp(uri, later[i], n) && uri[n] == ':') {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "migration over '%s:' is not supported yet: hotmem "
                        "migrates to and from file:PATH[,offset=N] "
                        "(docs/migration.md)", later[i]);
            return false;
        }
    }
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "unknown migration protocol: %s", uri);
    return false;
}

static const char *member_str(json_object *o, const char *name)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

bool mig_uri_from_channels(json_object *channels, struct mig_uri *out,
                           GError **err)
{
    json_object *ch, *addr = NULL, *off = NULL;
    const char *type, *transport, *file;

    memset(out, 0, sizeof(*out));
    if (json_object_array_length(channels) != 1) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Channel list has more than one entries");
        return false;
    }
    ch = json_object_array_get_idx(channels, 0);
    type = member_str(ch, "channel-type");
    if (!type || strcmp(type, "main") ||
        !json_object_object_get_ex(ch, "addr", &addr) ||
        !json_object_is_type(addr, json_type_object)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "a migration channel needs \"channel-type\": \"main\" "
                    "and an \"addr\" object");
        return false;
    }
    transport = member_str(addr, "transport");
    if (!transport || strcmp(transport, "file")) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "migration transport '%s' is not supported yet: hotmem "
                    "migrates to and from \"file\"",
                    transport ? transport : "(none)");
        return false;
    }
    file = member_str(addr, "filename");
    if (!file) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Parameter 'filename' is missing");
        return false;
    }
    if (!check_path(file, err))
        return false;
    if (json_object_object_get_ex(addr, "offset", &off) &&
        !props_uint(off, "offset", UINT64_MAX, &out->offset, err))
        return false;
    out->path = g_strdup(file);
    return true;
}

void mig_uri_clear(struct mig_uri *u)
{
    g_clear_pointer(&u->path, g_free);
}
