/*
 * QMP server core: the server object, client connections and their socket
 * I/O, and event broadcast. The protocol rules themselves (what a request
 * looks like, negotiation, argument checks) are in qmp_dispatch.c; the
 * input framing is in qmp_input.c; listening sockets in qmp_listen.c;
 * events in qmp_events.c.
 *
 * Every client socket is non-blocking and watched by one GSource whose
 * conditions follow the client's state: readable while it may queue more
 * input, writable while it has unsent output. Nothing here ever blocks the
 * main loop on one client.
 *
 * An idle client is cheap: its record and its GSource. The input buffer
 * and the JSON tokener (some 32 KiB with QEMU's nesting limit) exist
 * while a request is being read, the output buffer while a message is
 * being sent; each goes once empty. Reads land in one buffer the server
 * shares. After clients close, the heap's free pages go back to the
 * system (malloc_trim), so a burst of clients leaves no trace in the RSS.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

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
    qmp_events_init(s, info->event_period_ms);
    s->fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
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
    qmp_events_free(s);
    if (s->trim) {
        g_source_destroy(s->trim);
        g_source_unref(s->trim);
    }
    g_free(s->read_buf);
    qmp_fds_free(s);
    if (s->spare_tok)
        json_tokener_free(s->spare_tok);
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
    if (c->inbuf)
        g_byte_array_unref(c->inbuf);
    if (c->outbuf)
        g_byte_array_unref(c->outbuf);
    if (c->passed_fd >= 0)
        close(c->passed_fd);
    g_free(c);
}

#ifdef __GLIBC__
static gboolean server_trim(gpointer opaque)
{
    struct qmp_server *s = opaque;

    g_source_unref(s->trim);
    s->trim = NULL;
    malloc_trim(0);
    return G_SOURCE_REMOVE;
}
#endif

/*
 * glibc keeps freed memory in its arenas: what closed clients held would
 * stay in the RSS. Once the main loop has nothing else to do, the free
 * pages go back (one trim for a burst of closes).
 */
static void server_schedule_trim(struct qmp_server *s)
{
#ifdef __GLIBC__
    if (s->trim)
        return;
    s->trim = g_idle_source_new();
    g_source_set_priority(s->trim, G_PRIORITY_LOW);
    g_source_set_callback(s->trim, server_trim, s, NULL);
    g_source_attach(s->trim, s->ctx);
#endif
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
    server_schedule_trim(s);
}

/* ---- clients: output -------------------------------------------------- */

static size_t client_input_queued(struct qmp_client *c)
{
    return c->inbuf ? c->inbuf->len - c->inpos : 0;
}

static size_t client_output_queued(struct qmp_client *c)
{
    return c->outbuf ? c->outbuf->len - c->outpos : 0;
}

static void client_update_watch(struct qmp_client *c)
{
    GIOCondition events = 0;

    if (c->closed)
        return;
    if (client_input_queued(c) < QMP_MAX_QUEUED_INPUT)
        events |= G_IO_IN;
    if (client_output_queued(c) > 0)
        events |= G_IO_OUT;
    g_source_modify_unix_fd(c->io, c->io_tag, events);
}

/* Sends what the socket takes now; the rest waits for G_IO_OUT. */
static void client_flush(struct qmp_client *c)
{
    while (client_output_queued(c) > 0) {
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
    if (c->closed) {
        return;
    } else if (client_output_queued(c) == 0) {
        /* All sent: the buffer goes, however big it grew. */
        g_clear_pointer(&c->outbuf, g_byte_array_unref);
        c->outpos = 0;
    } else if (c->outpos >= c->outbuf->len / 2) {
        g_byte_array_remove_range(c->outbuf, 0, c->outpos);
        c->outpos = 0;
    }
    client_update_watch(c);
}

void qmp_client_queue(struct qmp_client *c, const char *data, size_t len)
{
    if (c->closed)
        return;
    qmp_client_ref(c);                  /* sending may close it */
    if (!c->outbuf)
        c->outbuf = g_byte_array_new();
    g_byte_array_append(c->outbuf, (const guint8 *)data, len);
    client_flush(c);
    if (!c->closed && client_output_queued(c) > QMP_MAX_QUEUED_OUTPUT) {
        g_debug("QMP client not reading its output (%zu bytes queued): "
                "disconnecting it", client_output_queued(c));
        qmp_client_close(c);
    }
    qmp_client_unref(c);
}

void qmp_client_send(struct qmp_client *c, json_object *msg)
{
    GString *line;

    if (c->closed)
        return;
    /* Events raised before this reply go first (qmp_events.c). */
    qmp_client_ref(c);
    qmp_server_flush_events(c->server);
    if (c->closed) {                    /* an event was one too many */
        qmp_client_unref(c);
        return;
    }
    qmp_client_unref(c);
    line = g_string_new(NULL);
    qmp_json_append(line, msg);
    g_string_append(line, "\r\n");      /* QEMU ends every message so */
    qmp_client_queue(c, line->str, line->len);
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
        if (client_input_queued(c) == 0 || !client_may_frame(c))
            break;
        if (!c->input.tok)
            qmp_input_init(&c->input, &c->server->spare_tok);
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
    if (client_input_queued(c) == 0) {
        g_clear_pointer(&c->inbuf, g_byte_array_unref);
        c->inpos = 0;
        /* Between requests, the tokener goes too: to the server's spare,
         * so the next request (this client's or another's) need not make
         * one, while idle clients hold none. */
        if (c->input.tok && qmp_input_between_values(&c->input))
            qmp_input_release(&c->input,
                              c->server ? &c->server->spare_tok : NULL);
    } else if (c->inpos > 0) {
        g_byte_array_remove_range(c->inbuf, 0, c->inpos);
        c->inpos = 0;
    }
}

/* Into the server's read buffer, then only what came into the client's. */
static void client_read(struct qmp_client *c)
{
    struct qmp_server *s = c->server;
    ssize_t n;

    if (!s->read_buf)
        s->read_buf = g_malloc(QMP_READ_CHUNK);
    n = qmp_client_recv(c, s->read_buf, QMP_READ_CHUNK);
    if (n > 0) {
        if (!c->inbuf)
            c->inbuf = g_byte_array_sized_new(n);
        g_byte_array_append(c->inbuf, s->read_buf, n);
    }
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

    c->passed_fd = -1;
    c->spec_id = spec_id;
    c->refcount = 1;                    /* owned by s->clients */
    c->server = s;
    c->fd = fd;
    g_ptr_array_add(s->clients, c);
    c->io = qmp_fd_source_new(fd, G_IO_IN, client_io, c, &c->io_tag);
    g_source_attach(c->io, s->ctx);
    client_send_greeting(c);
}
