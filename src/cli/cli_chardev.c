/*
 * -chardev, -mon, -monitor and -serial: where the console and the QMP
 * monitors are, QEMU spelling. A QMP monitor on a socket chardev (a path,
 * HOST:PORT, or a listening socket passed as fd=N, libvirt's way) becomes
 * one more -qmp spec; the console takes stdio, file or null chardevs.
 * hotmem has no human monitor (HMP): what asks for one is refused.
 */
#include <inttypes.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "props.h"

enum chardev_backend { CHARDEV_SOCKET, CHARDEV_STDIO, CHARDEV_FILE,
                       CHARDEV_NULL };

struct cli_chardev {
    char *id;
    enum chardev_backend backend;
    char *path;             /* socket path=, file path= */
    char *host, *port;      /* socket host= port= */
    int64_t fd;             /* socket fd= (-1: none) */
    bool server;            /* server= (default off, as in QEMU) */
    bool wait;              /* wait= (default on, as in QEMU) */
};

static const char *const backend_names[] = {
    [CHARDEV_SOCKET] = "socket", [CHARDEV_STDIO] = "stdio",
    [CHARDEV_FILE] = "file", [CHARDEV_NULL] = "null",
};

static void chardev_free(gpointer p)
{
    struct cli_chardev *c = p;

    g_free(c->id);
    g_free(c->path);
    g_free(c->host);
    g_free(c->port);
    g_free(c);
}

void cli_chardevs_free(struct parse_state *st)
{
    g_clear_pointer(&st->chardevs, g_ptr_array_unref);
    g_clear_pointer(&st->mons, g_ptr_array_unref);
    g_clear_pointer(&st->serial_chardev, g_free);
}

static struct cli_chardev *chardev_find(struct parse_state *st,
                                        const char *id)
{
    for (guint i = 0; st->chardevs && i < st->chardevs->len; i++) {
        struct cli_chardev *c = st->chardevs->pdata[i];

        if (!strcmp(c->id, id))
            return c;
    }
    return NULL;
}

/* Keys of the socket backend that change nothing for a listener here. */
static const char *const socket_quiet_keys[] = {
    "nodelay", "ipv4", "ipv6", "tight", NULL,
};

static bool socket_key(struct cli_chardev *c, const char *key,
                       const char *val, GError **err)
{
    uint64_t n;
    bool b;

    if (!strcmp(key, "path") || !strcmp(key, "host") ||
        !strcmp(key, "port")) {
        char **dst = !strcmp(key, "path") ? &c->path
                     : !strcmp(key, "host") ? &c->host : &c->port;

        g_free(*dst);
        *dst = g_strdup(val);
        return true;
    }
    if (!strcmp(key, "fd")) {
        if (!cli_parse_count("-chardev", "fd", val, 0, INT32_MAX, &n, err))
            return false;
        c->fd = (int64_t)n;
        return true;
    }
    if (!strcmp(key, "server") || !strcmp(key, "wait"))
        return cli_parse_onoff("-chardev", key, val,
                               !strcmp(key, "server") ? &c->server : &c->wait,
                               err);
    if (g_strv_contains(socket_quiet_keys, key))
        return cli_parse_onoff("-chardev", key, val, &b, err);
    if (!strcmp(key, "telnet") || !strcmp(key, "websocket"))
        return (cli_parse_onoff("-chardev", key, val, &b, err) && !b) ||
               cli_fail(err, "-chardev: %s=on is not supported: hotmem's "
                        "sockets carry QMP's JSON lines as they are", key);
    return cli_fail(err, "-chardev: socket: unknown key '%s' (hotmem takes "
                    "id, path, host, port, fd, server, wait)", key);
}

static bool backend_key(struct cli_chardev *c, const char *key,
                        const char *val, GError **err)
{
    bool b;

    if (c->backend == CHARDEV_SOCKET)
        return socket_key(c, key, val, err);
    if (c->backend == CHARDEV_FILE && !strcmp(key, "path")) {
        g_free(c->path);
        c->path = g_strdup(val);
        return true;
    }
    if (c->backend == CHARDEV_STDIO && !strcmp(key, "signal"))
        return (cli_parse_onoff("-chardev", key, val, &b, err) && b) ||
               cli_fail(err, "-chardev: stdio: signal=off is not supported: "
                        "Ctrl-C on hotmem's console always stops it");
    if (!strcmp(key, "mux"))
        return cli_parse_onoff("-chardev", key, val, &b, err);
    return cli_fail(err, "-chardev: %s: unknown key '%s'",
                    backend_names[c->backend], key);
}

/* The address rules: one of path=, host=+port=, fd=. */
static bool check_chardev(const struct cli_chardev *c, GError **err)
{
    int given = (c->path != NULL) + (c->host || c->port) + (c->fd >= 0);

    if (c->backend == CHARDEV_FILE && (!c->path || !*c->path))
        return cli_fail(err, "-chardev: file '%s' needs path=PATH", c->id);
    if (c->backend != CHARDEV_SOCKET)
        return true;
    if (given != 1)
        return cli_fail(err, "-chardev: socket '%s' needs exactly one "
                        "address: path=PATH, host=HOST,port=PORT or fd=N",
                        c->id);
    if ((c->host || c->port) && !c->port)
        return cli_fail(err, "-chardev: socket '%s': host= needs port=",
                        c->id);
    if (c->path && !*c->path)
        return cli_fail(err, "-chardev: socket '%s': path is empty", c->id);
    return true;
}

static bool parse_backend(const char *name, enum chardev_backend *out,
                          GError **err)
{
    for (size_t i = 0; i < G_N_ELEMENTS(backend_names); i++) {
        if (!strcmp(name, backend_names[i])) {
            *out = (enum chardev_backend)i;
            return true;
        }
    }
    return cli_fail(err, "-chardev: backend '%s' is not available (hotmem "
                    "has socket, stdio, file and null)", name);
}

static bool chardev_keys(struct cli_chardev *c, GPtrArray *kv, GError **err)
{
    for (guint i = 2; i < kv->len; i += 2) {
        const char *key = kv->pdata[i], *val = kv->pdata[i + 1];

        if (!strcmp(key, "id")) {
            g_free(c->id);
            c->id = g_strdup(val);
        } else if (!strcmp(key, "logfile") || !strcmp(key, "logappend")) {
            return cli_fail(err, "-chardev: %s= is not supported (hotmem "
                            "keeps no copy of a chardev's traffic)", key);
        } else if (!backend_key(c, key, val, err)) {
            return false;
        }
    }
    return true;
}

/* -chardev BACKEND,id=ID[,...] */
bool cli_chardev_parse(struct parse_state *st, const char *arg, GError **err)
{
    g_autoptr(GPtrArray) kv = cli_keyval_split("-chardev", arg, "backend",
                                               err);
    struct cli_chardev *c;

    if (!kv)
        return false;
    if (strcmp(kv->pdata[0], "backend"))
        return cli_fail(err, "-chardev: '%s' names no backend first", arg);
    c = g_new0(struct cli_chardev, 1);
    c->fd = -1;
    c->wait = true;
    if (!parse_backend(kv->pdata[1], &c->backend, err) ||
        !chardev_keys(c, kv, err) ||
        (!c->id && !cli_fail(err, "-chardev: '%s' has no id= (chardevs need "
                             "one)", arg)) ||
        (!props_id_valid(c->id) && !cli_fail(err, "-chardev: id '%s' is not "
                             "an identifier (a letter, then letters, digits, "
                             "'-', '.', '_')", c->id)) ||
        (chardev_find(st, c->id) && !cli_fail(err, "-chardev: id '%s' is "
                             "used twice", c->id)) ||
        !check_chardev(c, err)) {
        chardev_free(c);
        return false;
    }
    if (!st->chardevs)
        st->chardevs = g_ptr_array_new_with_free_func(chardev_free);
    g_ptr_array_add(st->chardevs, c);
    return true;
}

static const char hmp_refusal[] = "the human monitor (HMP) is not "
    "available: hotmem has only QMP (-qmp, or -mon chardev=ID,mode=control)";

/* -mon [chardev=]ID[,mode=control|readline][,pretty=on|off][,id=NAME] */
bool cli_mon_parse(struct parse_state *st, const char *arg, GError **err)
{
    g_autoptr(GPtrArray) kv = cli_keyval_split("-mon", arg, "chardev", err);
    const char *chardev = NULL, *mode = "readline";
    bool b;

    if (!kv)
        return false;
    for (guint i = 0; i < kv->len; i += 2) {
        const char *key = kv->pdata[i], *val = kv->pdata[i + 1];

        if (!strcmp(key, "chardev"))
            chardev = val;
        else if (!strcmp(key, "mode"))
            mode = val;
        else if (!strcmp(key, "pretty")) {
            if (!cli_parse_onoff("-mon", key, val, &b, err))
                return false;
        } else if (strcmp(key, "id"))
            return cli_fail(err, "-mon: unknown key '%s' (expected chardev, "
                            "mode, pretty or id)", key);
    }
    if (!strcmp(mode, "readline"))
        return cli_fail(err, "-mon: mode=readline (the default): %s",
                        hmp_refusal);
    if (strcmp(mode, "control"))
        return cli_fail(err, "-mon: mode '%s' is neither control nor "
                        "readline", mode);
    if (!chardev || !*chardev)
        return cli_fail(err, "-mon: chardev=ID is missing");
    if (!st->mons)
        st->mons = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(st->mons, g_strdup(chardev));
    return true;
}

/* -monitor none; any other device would be an HMP monitor. */
bool cli_monitor_parse(struct parse_state *st, const char *arg,
                       GError **err)
{
    if (!strcmp(arg, "none"))
        return true;
    return cli_fail(err, "-monitor %s: %s", arg, hmp_refusal);
}

bool cli_serial_parse(struct parse_state *st, const char *arg, GError **err)
{
    struct cli_options *o = st->o;
    const char *path = NULL;

    g_clear_pointer(&st->serial_chardev, g_free);
    if (!strcmp(arg, "stdio") || !strcmp(arg, "mon:stdio")) {
        /* mon:stdio: the console on stdio; hotmem has no HMP to mix in. */
        o->serial = CLI_SERIAL_STDIO;
    } else if (!strcmp(arg, "none") || !strcmp(arg, "null")) {
        o->serial = CLI_SERIAL_NONE;
    } else if (g_str_has_prefix(arg, "file:")) {
        if (!arg[5])
            return cli_fail(err, "-serial: 'file:' needs a path after the "
                            "colon");
        o->serial = CLI_SERIAL_FILE;
        path = arg + 5;
    } else if (g_str_has_prefix(arg, "chardev:") && arg[8]) {
        st->serial_chardev = g_strdup(arg + 8);
    } else if (g_str_has_prefix(arg, "mon:")) {
        return cli_fail(err, "-serial: '%s': a console shared with the "
                        "human monitor is only available as mon:stdio "
                        "(which is the console on stdio: %s)", arg,
                        hmp_refusal);
    } else {
        return cli_fail(err, "-serial: backend '%s' is not supported "
                        "(expected stdio, mon:stdio, file:PATH, "
                        "chardev:ID, null or none)", arg);
    }
    g_free(o->serial_path);
    o->serial_path = g_strdup(path);
    st->serial_given = true;
    return true;
}

/* A path for a -qmp spec: ",," stands for a comma there. */
static char *escape_commas(const char *s)
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);

    return g_strjoinv(",,", parts);
}

static char *qmp_spec(const struct cli_chardev *c)
{
    g_autofree char *addr = NULL;

    if (c->path)
        addr = g_strconcat("unix:", c->path, NULL);
    else if (c->fd >= 0)
        addr = g_strdup_printf("fd:%" PRId64, c->fd);
    else
        addr = g_strdup_printf("tcp:%s:%s", c->host ? c->host : "",
                               c->port);
    g_autofree char *escaped = escape_commas(addr);

    return g_strdup_printf("%s,server=on,wait=%s", escaped,
                           c->wait ? "on" : "off");
}

static bool resolve_mon(struct parse_state *st, const char *id, GError **err)
{
    struct cli_chardev *c = chardev_find(st, id);

    if (!c)
        return cli_fail(err, "-mon: chardev '%s' is not defined (no -chardev "
                        "...,id=%s)", id, id);
    switch (c->backend) {
    case CHARDEV_NULL:      /* a monitor nobody can reach: nothing to do */
        return true;
    case CHARDEV_STDIO:
        return cli_fail(err, "-mon: chardev '%s' is stdio: hotmem serves "
                        "QMP on sockets only (stdio is the guest's console); "
                        "use -chardev socket,... or -qmp", id);
    case CHARDEV_FILE:
        return cli_fail(err, "-mon: chardev '%s' is a file: a QMP monitor "
                        "must read commands, which a file cannot give; use "
                        "-chardev socket,...", id);
    case CHARDEV_SOCKET:
        break;
    }
    if (!c->server)
        return cli_fail(err, "-mon: chardev '%s' has server=off: hotmem's "
                        "monitor only listens (server=on), it does not "
                        "connect out", id);
    if (!st->o->qmp)
        st->o->qmp = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(st->o->qmp, qmp_spec(c));
    return true;
}

static bool resolve_serial(struct parse_state *st, GError **err)
{
    const char *id = st->serial_chardev;
    struct cli_chardev *c = chardev_find(st, id);
    struct cli_options *o = st->o;

    if (!c)
        return cli_fail(err, "-serial: chardev '%s' is not defined (no "
                        "-chardev ...,id=%s)", id, id);
    if (c->backend == CHARDEV_SOCKET)
        return cli_fail(err, "-serial: chardev '%s' is a socket: hotmem's "
                        "console goes to stdio, a file or nowhere", id);
    o->serial = c->backend == CHARDEV_STDIO ? CLI_SERIAL_STDIO
                : c->backend == CHARDEV_FILE ? CLI_SERIAL_FILE
                                             : CLI_SERIAL_NONE;
    g_free(o->serial_path);
    o->serial_path = g_strdup(c->backend == CHARDEV_FILE ? c->path : NULL);
    return true;
}

bool cli_chardev_finish(struct parse_state *st, GError **err)
{
    for (guint i = 0; st->mons && i < st->mons->len; i++) {
        if (!resolve_mon(st, st->mons->pdata[i], err))
            return false;
    }
    return !st->serial_chardev || resolve_serial(st, err);
}
