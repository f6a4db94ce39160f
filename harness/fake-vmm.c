/*
 * fake-vmm: a stand-in for hotmem used by the harness self-test. It speaks
 * just enough QMP on its -qmp sockets and just enough of hotmem-guest's
 * console protocol to exercise the runner without KVM: a ready line, a
 * toy DIMM model (object-add, device_add pc-dimm, device_del, object-del,
 * stop/cont, guest refusal), and test hooks on the console:
 *
 *   poweroff | exit N | echo TEXT | refuse-eject on|off | emit NAME [JSON]
 *   garbage (sends non-JSON to every client) | hangup (closes every client)
 *   tail TEXT (prints TEXT without a newline and exits 0)
 *   ignore-stdin (stops reading the console)
 *
 * Options: -qmp unix:PATH,server=on,wait=off (repeatable), -m and -object/
 * -device (cold-plugged DIMMs, reported online at boot), -fake-exit N
 * (exit at once), -fake-no-ready, -fake-qmp-delay MS. Everything else is
 * ignored. Not a model of hotmem's rules: only what the tests need.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>
#include <json-c/json.h>

#define MAX_FDS 64

struct client {
    int fd;
    bool negotiated;
    json_tokener *tok;
};

struct dimm {
    char *id, *memdev;
    int slot;
    bool online, cold;
};

static struct {
    GPtrArray *listen_paths;    /* char * */
    int listen_fd[8];
    guint n_listen;
    GPtrArray *clients;         /* struct client * */
    GHashTable *backends;       /* id -> size (as GUINT64 pointer) */
    GPtrArray *dimms;           /* struct dimm * */
    int slots;
    bool running, refuse, stdin_open;
    GString *in;
    GQueue work;                /* char *: "+ID" online, "-ID" eject */
    GHashTable *mem;            /* guest address -> u64 (poke/peek) */
    gint64 work_due;
} vm;

/* The guest acts on hot-plug a little after the command's reply. */
static void guest_later(char op, const char *id)
{
    g_queue_push_tail(&vm.work, g_strdup_printf("%c%s", op, id));
    vm.work_due = g_get_monotonic_time() + 5000;
}

static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;

    fputs("hotmem-guest: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static void client_send(struct client *c, json_object *msg)
{
    const char *s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    g_autofree char *line = g_strconcat(s, "\r\n", NULL);

    if (c->fd >= 0 && send(c->fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
        close(c->fd);
        c->fd = -1;
    }
}

static void emit(const char *name, json_object *data)
{
    json_object *ev = json_object_new_object(), *ts = json_object_new_object();
    gint64 now = g_get_real_time();

    json_object_object_add(ts, "seconds", json_object_new_int64(now / 1000000));
    json_object_object_add(ts, "microseconds",
                           json_object_new_int64(now % 1000000));
    json_object_object_add(ev, "event", json_object_new_string(name));
    json_object_object_add(ev, "data", data ? data : json_object_new_object());
    json_object_object_add(ev, "timestamp", ts);
    for (guint i = 0; i < vm.clients->len; i++) {
        struct client *c = vm.clients->pdata[i];

        if (c->negotiated)
            client_send(c, ev);
    }
    json_object_put(ev);
}

static json_object *ost(const struct dimm *d, int source, int status)
{
    json_object *info = json_object_new_object(), *data;

    json_object_object_add(info, "device", json_object_new_string(d->id));
    g_autofree char *slot = g_strdup_printf("%d", d->slot);

    json_object_object_add(info, "slot", json_object_new_string(slot));
    json_object_object_add(info, "slot-type", json_object_new_string("DIMM"));
    json_object_object_add(info, "source", json_object_new_int(source));
    json_object_object_add(info, "status", json_object_new_int(status));
    data = json_object_new_object();
    json_object_object_add(data, "info", info);
    return data;
}

static json_object *dev_data(const struct dimm *d)
{
    json_object *data = json_object_new_object();
    g_autofree char *path = g_strdup_printf("/machine/peripheral/%s", d->id);

    json_object_object_add(data, "device", json_object_new_string(d->id));
    json_object_object_add(data, "path", json_object_new_string(path));
    return data;
}

static guint64 backend_size(const char *id)
{
    return GPOINTER_TO_SIZE(g_hash_table_lookup(vm.backends, id));
}

static guint64 dimm_addr(const struct dimm *d)
{
    return (4ull + (guint64)d->slot) << 30;
}

static json_object *memory_devices(void)
{
    json_object *list = json_object_new_array();

    for (int slot = 0; slot < vm.slots; slot++)
        for (guint i = 0; i < vm.dimms->len; i++) {
            struct dimm *d = vm.dimms->pdata[i];
            json_object *e, *data;
            g_autofree char *path = NULL;

            if (d->slot != slot)
                continue;
            path = g_strdup_printf("/objects/%s", d->memdev);
            data = json_object_new_object();
            json_object_object_add(data, "id", json_object_new_string(d->id));
            json_object_object_add(data, "addr",
                                   json_object_new_uint64(dimm_addr(d)));
            json_object_object_add(data, "size", json_object_new_uint64(
                                   backend_size(d->memdev)));
            json_object_object_add(data, "slot", json_object_new_int(slot));
            json_object_object_add(data, "node", json_object_new_int(0));
            json_object_object_add(data, "memdev",
                                   json_object_new_string(path));
            json_object_object_add(data, "hotplugged",
                                   json_object_new_boolean(!d->cold));
            json_object_object_add(data, "hotpluggable",
                                   json_object_new_boolean(true));
            e = json_object_new_object();
            json_object_object_add(e, "type", json_object_new_string("dimm"));
            json_object_object_add(e, "data", data);
            json_object_array_add(list, e);
        }
    return list;
}

/* peek/poke: backed inside online DIMMs, all ones elsewhere. */
static bool backed(guint64 addr)
{
    for (guint i = 0; i < vm.dimms->len; i++) {
        struct dimm *d = vm.dimms->pdata[i];

        if (d->online && addr >= dimm_addr(d) &&
            addr + 8 <= dimm_addr(d) + backend_size(d->memdev))
            return true;
    }
    return false;
}

/* The guest's side of a hot-add: online the DIMM, acknowledge with _OST. */
static void guest_online(struct dimm *d)
{
    if (d->online || !vm.running)
        return;
    d->online = true;
    say("dimm slot=%d online addr=0x%llx size=0x%llx", d->slot,
        (unsigned long long)dimm_addr(d),
        (unsigned long long)backend_size(d->memdev));
    emit("ACPI_DEVICE_OST", ost(d, 1, 0));
}

static void guest_eject(struct dimm *d)
{
    if (vm.refuse) {
        say("dimm slot=%d eject refused", d->slot);
        emit("ACPI_DEVICE_OST", ost(d, 3, 0x81));
        emit("DEVICE_UNPLUG_GUEST_ERROR", dev_data(d));
        return;
    }
    say("dimm slot=%d ejected", d->slot);
    emit("ACPI_DEVICE_OST", ost(d, 3, 0));
    emit("DEVICE_DELETED", dev_data(d));
    g_ptr_array_remove(vm.dimms, d);
}

static struct dimm *find_dimm(const char *id)
{
    for (guint i = 0; i < vm.dimms->len; i++) {
        struct dimm *d = vm.dimms->pdata[i];

        if (!strcmp(d->id, id))
            return d;
    }
    return NULL;
}

static void dimm_free(gpointer p)
{
    struct dimm *d = p;

    g_free(d->id);
    g_free(d->memdev);
    g_free(d);
}

static const char *str_arg(json_object *args, const char *key)
{
    json_object *v;

    if (!args || !json_object_object_get_ex(args, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Returns NULL on success, else an error description (class in *cls). */
static const char *add_dimm(const char *id, const char *memdev,
                            const char **cls)
{
    bool used[256] = { false };
    struct dimm *d;
    int slot = 0;

    if (!memdev)
        return "'memdev' property is not set";
    if (!g_hash_table_contains(vm.backends, memdev))
        return "can't find memory backend";
    for (guint i = 0; i < vm.dimms->len; i++) {
        d = vm.dimms->pdata[i];
        if (!strcmp(d->memdev, memdev))
            return "can't use already busy memdev";
        if (!strcmp(d->id, id))
            return "Duplicate device ID";
        used[d->slot] = true;
    }
    while (slot < vm.slots && used[slot])
        slot++;
    if (slot >= vm.slots)
        return "no free slots left";
    d = g_new0(struct dimm, 1);
    d->id = g_strdup(id);
    d->memdev = g_strdup(memdev);
    d->slot = slot;
    g_ptr_array_add(vm.dimms, d);
    *cls = NULL;
    return NULL;
}

static const char *do_command(const char *name, json_object *args,
                              json_object **ret, const char **cls)
{
    const char *id = str_arg(args, "id"), *err;
    struct dimm *d;

    *cls = "GenericError";
    if (!strcmp(name, "query-memory-devices")) {
        *ret = memory_devices();
    } else if (!strcmp(name, "query-status")) {
        *ret = json_object_new_object();
        json_object_object_add(*ret, "status", json_object_new_string(
                                vm.running ? "running" : "paused"));
        json_object_object_add(*ret, "running",
                               json_object_new_boolean(vm.running));
    } else if (!strcmp(name, "stop")) {
        if (vm.running)
            emit("STOP", NULL);
        vm.running = false;
    } else if (!strcmp(name, "cont")) {
        if (!vm.running)
            emit("RESUME", NULL);
        vm.running = true;
        for (guint i = 0; i < vm.dimms->len; i++)
            guest_later('+', ((struct dimm *)vm.dimms->pdata[i])->id);
    } else if (!strcmp(name, "object-add")) {
        json_object *size;

        if (!id || !json_object_object_get_ex(args, "size", &size))
            return "Parameter 'size' is missing";
        if (g_hash_table_contains(vm.backends, id))
            return "attempt to add duplicate property";
        g_hash_table_insert(vm.backends, g_strdup(id),
                            GSIZE_TO_POINTER(json_object_get_uint64(size)));
    } else if (!strcmp(name, "object-del")) {
        for (guint i = 0; id && i < vm.dimms->len; i++)
            if (!strcmp(((struct dimm *)vm.dimms->pdata[i])->memdev, id))
                return "object is in use, can not be deleted";
        if (!id || !g_hash_table_remove(vm.backends, id))
            return "object not found";
    } else if (!strcmp(name, "device_add")) {
        if (g_strcmp0(str_arg(args, "driver"), "pc-dimm"))
            return "not a valid device model name";
        if ((err = add_dimm(id, str_arg(args, "memdev"), cls)))
            return err;
        guest_later('+', id);
    } else if (!strcmp(name, "device_del")) {
        if (!id || !(d = find_dimm(id))) {
            *cls = "DeviceNotFound";
            return "Device not found";
        }
        guest_later('-', id);
    } else {
        *cls = "CommandNotFound";
        return "The command has not been found";
    }
    return NULL;
}

static void reply_error(struct client *c, json_object *id, const char *cls,
                        const char *desc)
{
    json_object *msg = json_object_new_object(), *e = json_object_new_object();

    json_object_object_add(e, "class", json_object_new_string(cls));
    json_object_object_add(e, "desc", json_object_new_string(desc));
    json_object_object_add(msg, "error", e);
    if (id)
        json_object_object_add(msg, "id", json_object_get(id));
    client_send(c, msg);
    json_object_put(msg);
}

static void handle_message(struct client *c, json_object *msg)
{
    json_object *exec = NULL, *args = NULL, *id = NULL, *ret = NULL, *reply;
    const char *name, *err = NULL, *cls = "GenericError";

    if (!json_object_is_type(msg, json_type_object))
        return reply_error(c, NULL, cls, "QMP input must be a JSON object");
    json_object_object_get_ex(msg, "id", &id);
    json_object_object_get_ex(msg, "arguments", &args);
    if (!json_object_object_get_ex(msg, "execute", &exec))
        return reply_error(c, id, cls, "QMP input lacks member 'execute'");
    name = json_object_get_string(exec);
    if (!strcmp(name, "qmp_capabilities"))
        c->negotiated = true;
    else if (!c->negotiated)
        return reply_error(c, id, "CommandNotFound", "Expecting capabilities "
                           "negotiation with 'qmp_capabilities'");
    else
        err = do_command(name, args, &ret, &cls);
    if (err)
        return reply_error(c, id, cls, err);
    reply = json_object_new_object();
    json_object_object_add(reply, "return", ret ? ret : json_object_new_object());
    if (id)
        json_object_object_add(reply, "id", json_object_get(id));
    client_send(c, reply);
    json_object_put(reply);
}

static void run_work(void)
{
    char *w;

    while ((w = g_queue_pop_head(&vm.work))) {
        struct dimm *d = find_dimm(w + 1);

        if (d && w[0] == '+')
            guest_online(d);
        else if (d && w[0] == '-' && vm.running)
            guest_eject(d);
        g_free(w);
    }
}

static void console_command(char *line)
{
    char *arg = strchr(line, ' ');

    if (arg)
        *arg++ = 0;
    if (!strcmp(line, "poweroff")) {
        say("poweroff");
        exit(0);
    } else if (!strcmp(line, "exit") && arg) {
        exit(atoi(arg));
    } else if (!strcmp(line, "ping")) {
        say("pong");
    } else if (!strcmp(line, "peek") && arg) {
        guint64 a = g_ascii_strtoull(arg, NULL, 16);
        gpointer v = g_hash_table_lookup(vm.mem, GSIZE_TO_POINTER(a));

        say("peek addr=0x%llx value=0x%llx", (unsigned long long)a,
            backed(a) ? (unsigned long long)GPOINTER_TO_SIZE(v) : ~0ull);
    } else if (!strcmp(line, "poke") && arg && strchr(arg, ' ')) {
        guint64 a = g_ascii_strtoull(arg, NULL, 16);
        guint64 v = g_ascii_strtoull(strchr(arg, ' ') + 1, NULL, 16);

        if (backed(a))
            g_hash_table_insert(vm.mem, GSIZE_TO_POINTER(a),
                                GSIZE_TO_POINTER(v));
        say("poke addr=0x%llx value=0x%llx", (unsigned long long)a,
            (unsigned long long)v);
    } else if (!strcmp(line, "echo")) {
        say("echo %s", arg ? arg : "");
    } else if (!strcmp(line, "refuse-eject") && arg) {
        vm.refuse = !strcmp(arg, "on");
        say("refuse-eject %s", vm.refuse ? "on" : "off");
    } else if (!strcmp(line, "emit") && arg) {
        char *data = strchr(arg, ' ');

        if (data)
            *data++ = 0;
        emit(arg, data ? json_tokener_parse(data) : NULL);
    } else if (!strcmp(line, "garbage")) {
        for (guint i = 0; i < vm.clients->len; i++) {
            struct client *c = vm.clients->pdata[i];

            if (c->fd >= 0)
                (void)!send(c->fd, "}}not json\r\n", 12, MSG_NOSIGNAL);
        }
    } else if (!strcmp(line, "hangup")) {
        for (guint i = 0; i < vm.clients->len; i++) {
            struct client *c = vm.clients->pdata[i];

            if (c->fd >= 0)
                close(c->fd);
            c->fd = -1;
        }
    } else if (!strcmp(line, "tail")) {
        fputs(arg ? arg : "", stdout);
        exit(0);
    } else if (!strcmp(line, "ignore-stdin")) {
        vm.stdin_open = false;
    } else if (*line) {
        say("error unknown command \"%s\"", line);
    }
}

static void read_stdin(void)
{
    char buf[4096], *nl;
    ssize_t n = read(0, buf, sizeof(buf));

    if (n <= 0) {
        vm.stdin_open = false;
        return;
    }
    g_string_append_len(vm.in, buf, n);
    while ((nl = memchr(vm.in->str, '\n', vm.in->len))) {
        g_autofree char *line = g_strndup(vm.in->str, nl - vm.in->str);

        g_string_erase(vm.in, 0, nl - vm.in->str + 1);
        console_command(line);
    }
}

static void read_client(struct client *c)
{
    char buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
    const char *p = buf;

    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    while (n > 0 && c->fd >= 0) {
        json_object *msg = json_tokener_parse_ex(c->tok, p, (int)n);
        enum json_tokener_error e = json_tokener_get_error(c->tok);
        size_t used = json_tokener_get_parse_end(c->tok);

        if (e == json_tokener_continue)
            return;
        if (e != json_tokener_success) {
            g_autofree char *d = g_strdup_printf("JSON parse error, %s",
                                                 json_tokener_error_desc(e));

            json_tokener_reset(c->tok);
            reply_error(c, NULL, "GenericError", d);
            return;     /* the rest of this chunk is dropped */
        }
        handle_message(c, msg);
        json_object_put(msg);
        p += used ? used : 1;
        n -= used ? (ssize_t)used : 1;
    }
}

static void accept_client(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    struct client *c;
    json_object *g;

    if (fd < 0)
        return;
    c = g_new0(struct client, 1);
    c->fd = fd;
    c->tok = json_tokener_new();
    g_ptr_array_add(vm.clients, c);
    g = json_tokener_parse("{\"QMP\": {\"version\": {\"qemu\": {\"major\": 8, "
                           "\"minor\": 2, \"micro\": 0}, \"package\": "
                           "\"fake-vmm\"}, \"capabilities\": []}}");
    client_send(c, g);
    json_object_put(g);
}

static void listen_on(const char *spec)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *path = spec + 5;
    size_t len = strcspn(path, ",");
    int fd;

    if (strncmp(spec, "unix:", 5) || len >= sizeof(sa.sun_path) ||
        vm.n_listen >= G_N_ELEMENTS(vm.listen_fd)) {
        fprintf(stderr, "fake-vmm: -qmp %s: unsupported\n", spec);
        exit(1);
    }
    memcpy(sa.sun_path, path, len);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(sa.sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 4) < 0) {
        fprintf(stderr, "fake-vmm: -qmp %s: %s\n", spec, g_strerror(errno));
        exit(1);
    }
    vm.listen_fd[vm.n_listen++] = fd;
}

/* -object memory-backend-ram,id=X,size=N[M|G] / -device pc-dimm,id=,memdev= */
static const char *opt_value(const char *opts, const char *key)
{
    static char buf[256];
    g_auto(GStrv) parts = g_strsplit(opts, ",", -1);
    size_t klen = strlen(key);

    for (guint i = 0; parts[i]; i++)
        if (!strncmp(parts[i], key, klen) && parts[i][klen] == '=') {
            g_strlcpy(buf, parts[i] + klen + 1, sizeof(buf));
            return buf;
        }
    return NULL;
}

static guint64 parse_size(const char *s)
{
    char *end;
    guint64 v = g_ascii_strtoull(s ? s : "0", &end, 0);

    switch (*end) {
    case 'G': return v << 30;
    case 'M': return v << 20;
    case 'K': return v << 10;
    default: return v;
    }
}

static void parse_args(int argc, char **argv, int *qmp_delay, bool *ready)
{
    const char *cls;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "-fake-exit") && v)
            exit(atoi(v));
        if (!strcmp(a, "-fake-no-ready"))
            *ready = false;
        if (!strcmp(a, "-fake-qmp-delay") && v)
            *qmp_delay = atoi(v);
        if (!v)
            continue;
        if (!strcmp(a, "-qmp"))
            g_ptr_array_add(vm.listen_paths, g_strdup(v));
        else if (!strcmp(a, "-m") && opt_value(v, "slots"))
            vm.slots = CLAMP(atoi(opt_value(v, "slots")), 0, 256);
        else if (!strcmp(a, "-object") && opt_value(v, "id"))
            g_hash_table_insert(vm.backends, g_strdup(opt_value(v, "id")),
                                GSIZE_TO_POINTER(parse_size(opt_value(v,
                                                                "size"))));
        else if (!strcmp(a, "-device") && opt_value(v, "id")) {
            g_autofree char *id = g_strdup(opt_value(v, "id"));

            if (add_dimm(id, opt_value(v, "memdev"), &cls)) {
                fprintf(stderr, "fake-vmm: -device %s: rejected\n", v);
                exit(1);
            }
            ((struct dimm *)vm.dimms->pdata[vm.dimms->len - 1])->cold = true;
        }
    }
}

int main(int argc, char **argv)
{
    int qmp_delay = 0;
    bool ready = true;

    signal(SIGPIPE, SIG_IGN);
    vm.listen_paths = g_ptr_array_new_with_free_func(g_free);
    vm.clients = g_ptr_array_new();
    vm.backends = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    vm.dimms = g_ptr_array_new_with_free_func(dimm_free);
    vm.in = g_string_new(NULL);
    vm.mem = g_hash_table_new(g_direct_hash, g_direct_equal);
    vm.running = vm.stdin_open = true;
    parse_args(argc, argv, &qmp_delay, &ready);
    if (qmp_delay)
        g_usleep(qmp_delay * 1000);
    for (guint i = 0; i < vm.listen_paths->len; i++)
        listen_on(vm.listen_paths->pdata[i]);
    if (ready)
        say("ready ram=0x10000000");
    for (guint i = 0; i < vm.dimms->len; i++)
        guest_later('+', ((struct dimm *)vm.dimms->pdata[i])->id);
    for (;;) {
        struct pollfd pfd[MAX_FDS];
        struct client *owner[MAX_FDS] = { NULL };
        nfds_t n = 0;
        int ms = -1;

        pfd[n++] = (struct pollfd){ .fd = vm.stdin_open ? 0 : -1,
                                    .events = POLLIN };
        for (guint i = 0; i < vm.n_listen; i++)
            pfd[n++] = (struct pollfd){ .fd = vm.listen_fd[i],
                                        .events = POLLIN };
        for (guint i = 0; i < vm.clients->len && n < MAX_FDS; i++) {
            owner[n] = vm.clients->pdata[i];
            pfd[n] = (struct pollfd){ .fd = owner[n]->fd, .events = POLLIN };
            n++;
        }
        if (vm.work.length)
            ms = MAX(0, (int)((vm.work_due - g_get_monotonic_time()) / 1000));
        if (poll(pfd, n, ms) < 0 && errno != EINTR)
            return 1;
        if (vm.work.length && g_get_monotonic_time() >= vm.work_due)
            run_work();
        for (nfds_t i = 0; i < n; i++) {
            if (!pfd[i].revents || pfd[i].fd < 0)
                continue;
            if (i == 0)
                read_stdin();
            else if (!owner[i])
                accept_client(pfd[i].fd);
            else if (owner[i]->fd == pfd[i].fd)
                read_client(owner[i]);
        }
    }
}
