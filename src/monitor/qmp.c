/*
 * QMP server core: the server object, client connections and their socket
 * I/O, and event broadcast. The protocol rules themselves (what a request
 * looks like, negotiation, argument checks) are in qmp_dispatch.c; the
 * input framing is in qmp_input.c; listening sockets in qmp_listen.c.
 *
 * Every client socket is non-blocking and watched by one GSource whose
 * conditions follow the client's state: readable while it may queue more
 * input, writable while it has unsent output. Nothing here ever blocks the
 * main loop on one client.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "monitor/qmp_internal.h"

/* Bytes read from a client per wakeup: keeps one busy client from
 * starving the others. */
#define QMP_READ_CHUNK (64u << 10)

G_DEFINE_QUARK(qmp-error-quark, qmp_error)

static const char *const error_class_names[] = {
    [QMP_ERROR_GENERIC] = "GenericError",
    [QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
    [QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
    [QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
    [QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

const char *qmp_error_class_name(const GError *err)
{
    if (err && err->domain == QMP_ERROR && err->code >= 0 &&
        (size_t)err->code < G_N_ELEMENTS(error_class_names))
        return error_class_names[err->code];
    return "GenericError";
}

/* ---- a GSource on one fd with changeable conditions ------------------- */

struct qmp_fd_source {
    GSource base;
    gpointer tag;
    qmp_fd_func func;
    void *opaque;
};

static gboolean fd_source_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    struct qmp_fd_source *fs = (struct qmp_fd_source *)src;

    return fs->func(g_source_query_unix_fd(src, fs->tag), fs->opaque);
}

/* No prepare/check: GLib polls the fd and dispatches when it is ready. */
static GSourceFuncs fd_source_funcs = { .dispatch = fd_source_dispatch };

GSource *qmp_fd_source_new(int fd, GIOCondition events, qmp_fd_func func,
                           void *opaque, gpointer *tag)
{
    GSource *src = g_source_new(&fd_source_funcs,
                                sizeof(struct qmp_fd_source));
    struct qmp_fd_source *fs = (struct qmp_fd_source *)src;

    fs->func = func;
    fs->opaque = opaque;
    fs->tag = g_source_add_unix_fd(src, fd, events);
    if (tag)
        *tag = fs->tag;
    return src;
}

/* ---- server ----------------------------------------------------------- */

struct qmp_server *qmp_server_new(const struct qmp_server_info *info)
{
    struct qmp_server *s = g_new0(struct qmp_server, 1);

    s->ctx = g_main_context_ref_thread_default();
    s->major = info->major;
    s->minor = info->minor;
    s->micro = info->micro;
    s->package = g_strdup(info->package ? info->package : "");
    s->commands = g_ptr_array_new();
    s->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    s->oob_names = g_hash_table_new(g_str_hash, g_str_equal);
    s->clients = g_ptr_array_new();
    s->listeners = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qmp_listener_free);
    g_mutex_init(&s->events_lock);
    g_queue_init(&s->events);
    return s;
}

void qmp_server_free(struct qmp_server *s)
{
    if (!s)
        return;
    g_ptr_array_free(s->listeners, TRUE);
    while (s->clients->len > 0)
        qmp_client_close(g_ptr_array_index(s->clients, 0));
    g_ptr_array_free(s->clients, TRUE);
    g_mutex_lock(&s->events_lock);
    if (s->events_source) {
        g_source_destroy(s->events_source);
        g_source_unref(s->events_source);
    }
    g_queue_clear_full(&s->events, g_free);
    g_mutex_unlock(&s->events_lock);
    g_mutex_clear(&s->events_lock);
    g_hash_table_destroy(s->by_name);
    g_hash_table_destroy(s->oob_names);
    g_ptr_array_free(s->commands, TRUE);
    g_free(s->package);
    g_main_context_unref(s->ctx);
    g_free(s);
}

void qmp_server_register(struct qmp_server *s, const struct qmp_command *cmd)
{
    if (!strcmp(cmd->name, "qmp_capabilities") ||
        !strcmp(cmd->name, "query-commands") ||
        g_hash_table_contains(s->by_name, cmd->name)) {
        g_critical("QMP command '%s' is already registered", cmd->name);
        return;
    }
    g_ptr_array_add(s->commands, (gpointer)cmd);
    g_hash_table_insert(s->by_name, (gpointer)cmd->name, (gpointer)cmd);
}

void qmp_server_allow_oob(struct qmp_server *s, const char *name)
{
    const struct qmp_command *cmd = g_hash_table_lookup(s->by_name, name);

    if (!cmd) {
        g_critical("QMP command '%s' is not registered", name);
        return;
    }
    g_hash_table_add(s->oob_names, (gpointer)cmd->name);
}

bool qmp_server_command_allows_oob(struct qmp_server *s, const char *name)
{
    return g_hash_table_contains(s->oob_names, name);
}

unsigned qmp_server_client_count(struct qmp_server *s)
{
    return s->clients->len;
}

/* ---- clients: lifetime ------------------------------------------------ */

struct qmp_client *qmp_client_ref(struct qmp_client *c)
{
    c->refcount++;
    return c;
}

void qmp_client_unref(struct qmp_client *c)
{
    if (--c->refcount > 0)
        return;
    qmp_input_destroy(&c->input);
    while (!g_queue_is_empty(&c->queued))
        json_object_put(g_queue_pop_head(&c->queued));
    g_byte_array_unref(c->inbuf);
    g_byte_array_unref(c->outbuf);
    g_free(c);
}

/*
 * Closes the connection now. A request still executing keeps the struct
 * alive; its reply goes nowhere.
 */
void qmp_client_close(struct qmp_client *c)
{
    struct qmp_server *s = c->server;

    if (c->closed)
        return;
    qmp_client_ref(c);
    c->closed = true;
    c->server = NULL;
    if (c->resume) {
        GSource *resume = c->resume;

        c->resume = NULL;
        g_source_destroy(resume);
    }
    g_source_destroy(c->io);
    g_source_unref(c->io);
    c->io = NULL;
    close(c->fd);
    c->fd = -1;
    if (g_ptr_array_remove(s->clients, c))
        qmp_client_unref(c);
    qmp_client_unref(c);
}

/* ---- clients: output -------------------------------------------------- */

static size_t client_input_queued(struct qmp_client *c)
{
    return c->inbuf->len - c->inpos;
}

static void client_update_watch(struct qmp_client *c)
{
    GIOCondition events = 0;

    if (c->closed)
        return;
    if (client_input_queued(c) < QMP_MAX_QUEUED_INPUT)
        events |= G_IO_IN;
    if (c->outpos < c->outbuf->len)
        events |= G_IO_OUT;
    g_source_modify_unix_fd(c->io, c->io_tag, events);
}

/* Sends what the socket takes now; the rest waits for G_IO_OUT. */
static void client_flush(struct qmp_client *c)
{
    while (c->outpos < c->outbuf->len) {
        ssize_t n = send(c->fd, c->outbuf->data + c->outpos,
                         c->outbuf->len - c->outpos,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n > 0) {
            c->outpos += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            qmp_client_close(c);        /* EPIPE, ECONNRESET, ... */
            return;
        }
    }
    if (c->outpos == c->outbuf->len) {
        g_byte_array_set_size(c->outbuf, 0);
        c->outpos = 0;
    } else if (c->outpos >= c->outbuf->len / 2) {
        g_byte_array_remove_range(c->outbuf, 0, c->outpos);
        c->outpos = 0;
    }
    client_update_watch(c);
}

static void client_queue(struct qmp_client *c, const char *data, size_t len)
{
    if (c->closed)
        return;
    qmp_client_ref(c);                  /* sending may close it */
    g_byte_array_append(c->outbuf, (const guint8 *)data, len);
    client_flush(c);
    if (!c->closed && c->outbuf->len - c->outpos > QMP_MAX_QUEUED_OUTPUT) {
        g_debug("QMP client not reading its output (%u bytes queued): "
                "disconnecting it", c->outbuf->len - (guint)c->outpos);
        qmp_client_close(c);
    }
    qmp_client_unref(c);
}

void qmp_client_send(struct qmp_client *c, json_object *msg)
{
    GString *line;

    if (c->closed)
        return;
    line = g_string_new(NULL);
    qmp_json_append(line, msg);
    g_string_append(line, "\r\n");      /* QEMU ends every message so */
    client_queue(c, line->str, line->len);
    g_string_free(line, TRUE);
}

/* ---- clients: input --------------------------------------------------- */

/*
 * Whether to frame more input now: always when nothing is pending; with
 * oob enabled, also while an in-band request is pending, so that an
 * exec-oob request behind it runs at once (in-band ones queue, up to
 * QMP_MAX_QUEUED_REQUESTS).
 */
static bool client_may_frame(struct qmp_client *c)
{
    if (!c->pending && g_queue_is_empty(&c->queued))
        return true;
    return c->oob && g_queue_get_length(&c->queued) < QMP_MAX_QUEUED_REQUESTS;
}

/* Frames and executes queued input until a request goes asynchronous. */
static void client_process_input(struct qmp_client *c)
{
    while (!c->closed) {
        json_object *value;
        char *error;
        size_t used;
        enum qmp_input_result r;

        if (!c->pending && !g_queue_is_empty(&c->queued)) {
            qmp_client_dispatch(c, g_queue_pop_head(&c->queued));
            continue;
        }
        if (c->inpos >= c->inbuf->len || !client_may_frame(c))
            break;
        r = qmp_input_feed(&c->input, (const char *)c->inbuf->data + c->inpos,
                           c->inbuf->len - c->inpos, &used, &value, &error);
        c->inpos += used;
        if (r == QMP_INPUT_VALUE) {
            /* value may be NULL: json-c's representation of "null" */
            if (c->pending && !qmp_client_is_oob_request(c, value))
                g_queue_push_tail(&c->queued, value);
            else
                qmp_client_dispatch(c, value);
        } else if (r == QMP_INPUT_ERROR) {
            qmp_client_send_error(c, QMP_ERROR_GENERIC, error);
            g_free(error);
        }
    }
    if (c->inpos == c->inbuf->len) {
        g_byte_array_set_size(c->inbuf, 0);
        c->inpos = 0;
    } else if (c->inpos > 0) {
        g_byte_array_remove_range(c->inbuf, 0, c->inpos);
        c->inpos = 0;
    }
}

static void client_read(struct qmp_client *c)
{
    size_t old = c->inbuf->len;
    ssize_t n;

    g_byte_array_set_size(c->inbuf, old + QMP_READ_CHUNK);
    do {
        n = recv(c->fd, c->inbuf->data + old, QMP_READ_CHUNK, 0);
    } while (n < 0 && errno == EINTR);
    g_byte_array_set_size(c->inbuf, old + MAX(n, 0));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        qmp_client_close(c);            /* EOF or a broken connection */
}

static gboolean client_io(GIOCondition revents, void *opaque)
{
    struct qmp_client *c = qmp_client_ref(opaque);
    bool reading = client_input_queued(c) < QMP_MAX_QUEUED_INPUT;

    if (revents & G_IO_OUT)
        client_flush(c);
    if (!c->closed && reading && (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
        client_read(c);
    else if (!c->closed && (revents & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)))
        qmp_client_close(c);
    client_process_input(c);
    client_update_watch(c);
    qmp_client_unref(c);
    return G_SOURCE_CONTINUE;
}

static gboolean client_resume(gpointer opaque)
{
    struct qmp_client *c = opaque;

    c->resume = NULL;
    client_process_input(c);
    client_update_watch(c);
    return G_SOURCE_REMOVE;
}

void qmp_client_schedule_resume(struct qmp_client *c)
{
    if (c->closed || c->resume)
        return;
    c->resume = g_idle_source_new();
    g_source_set_callback(c->resume, client_resume, qmp_client_ref(c),
                          (GDestroyNotify)qmp_client_unref);
    g_source_attach(c->resume, c->server->ctx);
    g_source_unref(c->resume);          /* the context keeps it alive */
}

json_object *qmp_server_version(struct qmp_server *s)
{
    json_object *qemu = json_object_new_object();
    json_object *version = json_object_new_object();

    json_object_object_add(qemu, "micro", json_object_new_int(s->micro));
    json_object_object_add(qemu, "minor", json_object_new_int(s->minor));
    json_object_object_add(qemu, "major", json_object_new_int(s->major));
    json_object_object_add(version, "qemu", qemu);
    json_object_object_add(version, "package",
                           json_object_new_string(s->package));
    return version;
}

static void client_send_greeting(struct qmp_client *c)
{
    json_object *qmp = json_object_new_object();
    json_object *msg = json_object_new_object();
    json_object *caps = json_object_new_array();

    json_object_object_add(qmp, "version", qmp_server_version(c->server));
    /* QEMU's only capability, offered as QEMU does (docs/qmp.md). */
    json_object_array_add(caps, json_object_new_string("oob"));
    json_object_object_add(qmp, "capabilities", caps);
    json_object_object_add(msg, "QMP", qmp);
    qmp_client_send(c, msg);
    json_object_put(msg);
}

void qmp_server_add_client(struct qmp_server *s, int fd, unsigned spec_id)
{
    struct qmp_client *c = g_new0(struct qmp_client, 1);

    c->spec_id = spec_id;
    c->refcount = 1;                    /* owned by s->clients */
    c->server = s;
    c->fd = fd;
    c->inbuf = g_byte_array_new();
    c->outbuf = g_byte_array_new();
    qmp_input_init(&c->input);
    g_ptr_array_add(s->clients, c);
    c->io = qmp_fd_source_new(fd, G_IO_IN, client_io, c, &c->io_tag);
    g_source_attach(c->io, s->ctx);
    client_send_greeting(c);
}

/* ---- events ----------------------------------------------------------- */

static void server_broadcast(struct qmp_server *s, const char *line)
{
    GPtrArray *targets = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qmp_client_unref);
    size_t len = strlen(line);

    /* A snapshot: sending may disconnect a client and shrink s->clients. */
    for (guint i = 0; i < s->clients->len; i++) {
        struct qmp_client *c = g_ptr_array_index(s->clients, i);

        if (c->negotiated)
            g_ptr_array_add(targets, qmp_client_ref(c));
    }
    for (guint i = 0; i < targets->len; i++)
        client_queue(g_ptr_array_index(targets, i), line, len);
    g_ptr_array_free(targets, TRUE);
}

/* Sends the events queued by other threads, oldest first. */
static void server_flush_events(struct qmp_server *s)
{
    GQueue pending;
    GSource *src;
    char *line;

    g_mutex_lock(&s->events_lock);
    pending = s->events;
    g_queue_init(&s->events);
    src = s->events_source;
    s->events_source = NULL;
    g_mutex_unlock(&s->events_lock);
    if (src) {
        g_source_destroy(src);
        g_source_unref(src);
    }
    while ((line = g_queue_pop_head(&pending))) {
        server_broadcast(s, line);
        g_free(line);
    }
}

static gboolean events_ready(gpointer opaque)
{
    server_flush_events(opaque);
    return G_SOURCE_REMOVE;
}

static char *event_serialise(const char *event, json_object *data)
{
    gint64 now = g_get_real_time();
    json_object *ts = json_object_new_object();
    json_object *msg = json_object_new_object();
    GString *line = g_string_new(NULL);

    json_object_object_add(ts, "seconds",
                           json_object_new_int64(now / G_USEC_PER_SEC));
    json_object_object_add(ts, "microseconds",
                           json_object_new_int64(now % G_USEC_PER_SEC));
    json_object_object_add(msg, "timestamp", ts);
    json_object_object_add(msg, "event", json_object_new_string(event));
    /* Events without data carry no "data" member, as QEMU's (STOP, ...). */
    if (data)
        json_object_object_add(msg, "data", data);
    qmp_json_append(line, msg);
    g_string_append(line, "\r\n");
    json_object_put(msg);
    return g_string_free(line, FALSE);
}

void qmp_server_emit(struct qmp_server *s, const char *event,
                     json_object *data)
{
    char *line = event_serialise(event, data);

    if (g_main_context_is_owner(s->ctx)) {
        /* On the server's own thread: send now, after older events. */
        server_flush_events(s);
        server_broadcast(s, line);
        g_free(line);
        return;
    }
    g_mutex_lock(&s->events_lock);
    g_queue_push_tail(&s->events, line);
    if (!s->events_source) {
        s->events_source = g_idle_source_new();
        g_source_set_callback(s->events_source, events_ready, s, NULL);
        g_source_attach(s->events_source, s->ctx);
    }
    g_mutex_unlock(&s->events_lock);
}
