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

static bool parse_file(const char *spec_in, struct mig_uri *out,
                       GError **err)
{
    g_autofree char *spec = g_strdup(spec_in);
    char *opt = strstr(spec, OFFSET_OPTION);

    if (opt) {
        *opt = 0;
        if (!parse_offset(opt + strlen(OFFSET_OPTION), &out->offset, err))
            return false;
    }
    if (!check_path(spec, err))
        return false;
    out->kind = MIG_FILE;
    out->path = g_steal_pointer(&spec);
    return true;
}

/* HOST:PORT, HOST an IPv4 literal, a name, or [IPv6]. */
static bool set_inet(const char *host, const char *port, struct mig_uri *out,
                     GError **err)
{
    if (!*host || !*port) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "tcp: address needs a host and a port: "
                    "tcp:HOST:PORT (got host '%s', port '%s')", host, port);
        return false;
    }
    out->kind = MIG_TCP;
    out->host = g_strdup(host);
    out->port = g_strdup(port);
    return true;
}

static bool parse_tcp(const char *spec, struct mig_uri *out, GError **err)
{
    g_autofree char *host = NULL;
    const char *colon;

    if (*spec == '[') {
        const char *close = strchr(spec, ']');

        if (!close || close[1] != ':') {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "tcp: address '%s' is not [IPV6]:PORT", spec);
            return false;
        }
        host = g_strndup(spec + 1, (gsize)(close - spec - 1));
        return set_inet(host, close + 2, out, err);
    }
    colon = strrchr(spec, ':');
    if (!colon) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "tcp: address '%s' has no port: give tcp:HOST:PORT",
                    spec);
        return false;
    }
    host = g_strndup(spec, (gsize)(colon - spec));
    if (strchr(host, ':')) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "tcp: address '%s': put an IPv6 address in brackets, "
                    "tcp:[ADDR]:PORT", spec);
        return false;
    }
    return set_inet(host, colon + 1, out, err);
}

static bool parse_socket_path(const char *kind, const char *spec,
                              char **out, GError **err)
{
    if (*spec) {
        *out = g_strdup(spec);
        return true;
    }
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "%s: URI needs a %s", kind,
                strcmp(kind, "fd") ? "socket path" : "descriptor name");
    return false;
}

bool mig_uri_parse(const char *uri, struct mig_uri *out, GError **err)
{
    static const char *const refused[] = { "exec", "rdma", "vsock" };
    bool ok;

    memset(out, 0, sizeof(*out));
    if (g_str_has_prefix(uri, "file:")) {
        ok = parse_file(uri + 5, out, err);
    } else if (g_str_has_prefix(uri, "unix:")) {
        out->kind = MIG_UNIX;
        ok = parse_socket_path("unix", uri + 5, &out->path, err);
    } else if (g_str_has_prefix(uri, "tcp:")) {
        ok = parse_tcp(uri + 4, out, err);
    } else if (g_str_has_prefix(uri, "fd:")) {
        out->kind = MIG_FD;
        ok = parse_socket_path("fd", uri + 3, &out->fd_name, err);
    } else {
        for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
            size_t n = strlen(refused[i]);

            if (!strncmp(uri, refused[i], n) && uri[n] == ':') {
                g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                            "migration over '%s:' is not supported: hotmem "
                            "migrates over unix:, tcp:, fd: and to file: "
                            "(docs/migration.md)", refused[i]);
                return false;
            }
        }
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "unknown migration protocol: %s", uri);
        return false;
    }
    if (!ok) {
        mig_uri_clear(out);
        return false;
    }
    out->desc = g_strdup(uri);
    return true;
}

static const char *member_str(json_object *o, const char *name)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool missing(const char *name, GError **err)
{
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "Parameter '%s' is missing", name);
    return false;
}

/* SocketAddress: {"type": "unix"|"inet"|"fd", ...}. */
static bool channel_socket(json_object *addr, struct mig_uri *out,
                           GError **err)
{
    const char *type = member_str(addr, "type"), *v;

    if (!type)
        return missing("type", err);
    if (!strcmp(type, "unix")) {
        if (!(v = member_str(addr, "path")))
            return missing("path", err);
        out->desc = g_strdup_printf("unix:%s", v);
        out->kind = MIG_UNIX;
        return parse_socket_path("unix", v, &out->path, err);
    }
    if (!strcmp(type, "inet")) {
        const char *host = member_str(addr, "host");
        const char *port = member_str(addr, "port");

        if (!host)
            return missing("host", err);
        if (!port)
            return missing("port", err);
        out->desc = g_strdup_printf(strchr(host, ':') ? "tcp:[%s]:%s"
                                                      : "tcp:%s:%s",
                                    host, port);
        return set_inet(host, port, out, err);
    }
    if (!strcmp(type, "fd")) {
        if (!(v = member_str(addr, "str")))
            return missing("str", err);
        out->desc = g_strdup_printf("fd:%s", v);
        out->kind = MIG_FD;
        return parse_socket_path("fd", v, &out->fd_name, err);
    }
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "socket address type '%s' is not supported: hotmem has "
                "unix, inet and fd", type);
    return false;
}

static bool channel_file(json_object *addr, struct mig_uri *out,
                         GError **err)
{
    json_object *off = NULL;
    const char *file = member_str(addr, "filename");

    if (!file)
        return missing("filename", err);
    if (!check_path(file, err))
        return false;
    if (json_object_object_get_ex(addr, "offset", &off) &&
        !props_uint(off, "offset", UINT64_MAX, &out->offset, err))
        return false;
    out->kind = MIG_FILE;
    out->path = g_strdup(file);
    out->desc = g_strdup_printf("file:%s", file);
    return true;
}

static bool channel_addr(json_object *addr, struct mig_uri *out,
                         GError **err)
{
    const char *transport = member_str(addr, "transport");

    if (transport && !strcmp(transport, "file"))
        return channel_file(addr, out, err);
    if (transport && !strcmp(transport, "socket"))
        return channel_socket(addr, out, err);
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "migration transport '%s' is not supported: hotmem "
                "migrates over \"socket\" and to \"file\"",
                transport ? transport : "(none)");
    return false;
}

bool mig_uri_from_channels(json_object *channels, struct mig_uri *out,
                           GError **err)
{
    json_object *ch, *addr = NULL;
    const char *type;

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
    if (!channel_addr(addr, out, err)) {
        mig_uri_clear(out);
        return false;
    }
    return true;
}

void mig_uri_clear(struct mig_uri *u)
{
    g_clear_pointer(&u->path, g_free);
    g_clear_pointer(&u->host, g_free);
    g_clear_pointer(&u->port, g_free);
    g_clear_pointer(&u->fd_name, g_free);
    g_clear_pointer(&u->desc, g_free);
}
