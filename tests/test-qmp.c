/*
 * QMP server: framing, negotiation, dispatch, errors, async requests,
 * events and listeners, driven over real sockets. The server runs its
 * GMainContext on a thread of its own so the test can use plain blocking
 * sockets; the fake commands below run on that thread.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "monitor/qmp.h"
#include "monitor/qmp_internal.h"

#define RECV_TIMEOUT_S 30       /* generous: the tests also run in valgrind */

struct fixture {
    GMainContext *ctx;
    struct qmp_server *server;
    char *dir;
    char *path;                 /* the UNIX listener */
    int tcp_port;
    GThread *thread;
    gint stop;
};

/* ---- fake commands (run on the server thread) ------------------------- */

static struct fixture *current;     /* for commands that need the server */

static void cmd_echo(struct qmp_request *req, json_object *args, void *opaque)
{
    qmp_request_return(req, json_object_get(args));
}

static const struct schema_member object_members[] = { { NULL } };
static const struct schema_type object_type = {
    .meta = SCHEMA_OBJECT, .name = "Object", .members = object_members,
};

static const struct qmp_arg typed_args[] = {
    { "s", QMP_ARG_STR, false },
    { "i", QMP_ARG_INT, false },
    { "n", QMP_ARG_NUMBER, true },
    { "b", QMP_ARG_BOOL, true },
    { "o", &object_type, true },
    { "a", QMP_ARG_ARRAY, true },
    { "any", QMP_ARG_ANY, true },
    { NULL },
};

static const struct qmp_arg bag_args[] = {
    { "qom-type", QMP_ARG_STR, false },
    { NULL },
};

struct sleep_call {
    struct qmp_request *req;
    int64_t ms;
};

static gboolean sleep_done(gpointer opaque)
{
    struct sleep_call *call = opaque;
    json_object *ret = json_object_new_object();

    json_object_object_add(ret, "slept", json_object_new_int64(call->ms));
    qmp_request_return(call->req, ret);
    g_free(call);
    return G_SOURCE_REMOVE;
}

static const struct qmp_arg sleep_args[] = {
    { "ms", QMP_ARG_INT, false },
    { NULL },
};

static void cmd_sleep(struct qmp_request *req, json_object *args, void *opaque)
{
    struct sleep_call *call = g_new0(struct sleep_call, 1);
    GSource *src;

    call->req = req;
    call->ms = json_object_get_int64(json_object_object_get(args, "ms"));
    src = g_timeout_source_new(call->ms);
    g_source_set_callback(src, sleep_done, call, NULL);
    g_source_attach(src, g_main_context_get_thread_default());
    g_source_unref(src);
}

static void cmd_fail(struct qmp_request *req, json_object *args, void *opaque)
{
    qmp_request_fail(req, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found",
                     "dimm9");
}

static void cmd_client_count(struct qmp_request *req, json_object *args,
                             void *opaque)
{
    qmp_request_return(req, json_object_new_int(
                                qmp_server_client_count(current->server)));
}

static const struct qmp_arg emit_args[] = {
    { "count", QMP_ARG_INT, false },
    { NULL },
};

/* Emits on the server thread: events must precede the reply. */
static void cmd_emit(struct qmp_request *req, json_object *args, void *opaque)
{
    int n = json_object_get_int(json_object_object_get(args, "count"));

    for (int i = 0; i < n; i++) {
        json_object *data = json_object_new_object();

        json_object_object_add(data, "seq", json_object_new_int(i));
        qmp_server_emit(current->server, "HANDLER_EVENT", data);
    }
    qmp_request_return(req, NULL);
}

/* "gate" stays pending until another client sends "open-gate". */
static struct qmp_request *gate;

static void cmd_gate(struct qmp_request *req, json_object *args, void *opaque)
{
    g_assert_null(gate);
    gate = req;
}

static void cmd_open_gate(struct qmp_request *req, json_object *args,
                          void *opaque)
{
    json_object *ret = json_object_new_object();

    g_assert_nonnull(gate);
    json_object_object_add(ret, "opened", json_object_new_boolean(true));
    qmp_request_return(gate, ret);
    gate = NULL;
    qmp_request_return(req, NULL);
}

/* "block" holds the server thread until the test calls unblock(). */
static GMutex block_lock;
static GCond block_cond;
static int block_state;         /* 1: entered, 2: released */

static void cmd_block(struct qmp_request *req, json_object *args,
                      void *opaque)
{
    g_mutex_lock(&block_lock);
    block_state = 1;
    g_cond_broadcast(&block_cond);
    while (block_state != 2)
        g_cond_wait(&block_cond, &block_lock);
    block_state = 0;
    g_mutex_unlock(&block_lock);
    qmp_request_return(req, NULL);
}

static void wait_blocked(void)
{
    g_mutex_lock(&block_lock);
    while (block_state != 1)
        g_cond_wait(&block_cond, &block_lock);
    g_mutex_unlock(&block_lock);
}

static void unblock(void)
{
    g_mutex_lock(&block_lock);
    block_state = 2;
    g_cond_broadcast(&block_cond);
    g_mutex_unlock(&block_lock);
}

static const struct qmp_arg big_args[] = {
    { "bytes", QMP_ARG_INT, false },
    { NULL },
};

static void cmd_big(struct qmp_request *req, json_object *args, void *opaque)
{
    int n = json_object_get_int(json_object_object_get(args, "bytes"));
    char *s = g_malloc(n + 1);

    memset(s, 'b', n);
    s[n] = '\0';
    qmp_request_return(req, json_object_new_string(s));
    g_free(s);
}

static const struct qmp_command commands[] = {
    { "echo", NULL, true, cmd_echo, NULL },
    { "typed", typed_args, false, cmd_echo, NULL },
    { "bag", bag_args, true, cmd_echo, NULL },
    { "sleep", sleep_args, false, cmd_sleep, NULL },
    { "fail", NULL, false, cmd_fail, NULL },
    { "client-count", NULL, false, cmd_client_count, NULL },
    { "emit", emit_args, false, cmd_emit, NULL },
    { "big", big_args, false, cmd_big, NULL },
    { "gate", NULL, false, cmd_gate, NULL },
    { "open-gate", NULL, false, cmd_open_gate, NULL },
    { "block", NULL, false, cmd_block, NULL },
};

/* ---- fixture ---------------------------------------------------------- */

static gpointer server_thread(gpointer opaque)
{
    struct fixture *f = opaque;

    g_main_context_push_thread_default(f->ctx);
    while (!g_atomic_int_get(&f->stop))
        g_main_context_iteration(f->ctx, TRUE);
    g_main_context_pop_thread_default(f->ctx);
    return NULL;
}

/* period_ms: of the event rate limits (0: the default second). */
static struct qmp_server *new_server(GMainContext *ctx, unsigned period_ms)
{
    const struct qmp_server_info info = {
        .major = 1, .minor = 2, .micro = 3, .package = "hotmem-test",
        .event_period_ms = period_ms,
    };
    struct qmp_server *s;

    g_main_context_push_thread_default(ctx);
    s = qmp_server_new(&info);
    g_main_context_pop_thread_default(ctx);
    return s;
}

static int free_tcp_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = NULL;

    memset(f, 0, sizeof(*f));
    current = f;
    f->ctx = g_main_context_new();
    f->server = new_server(f->ctx, data ? *(const unsigned *)data : 0);
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        qmp_server_register(f->server, &commands[i]);
    qmp_server_allow_oob(f->server, "client-count");
    f->dir = g_dir_make_tmp("test-qmp-XXXXXX", &err);
    g_assert_no_error(err);
    f->path = g_build_filename(f->dir, "qmp.sock", NULL);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", f->path);
    g_assert_true(qmp_server_listen(f->server, spec, &err));
    g_assert_no_error(err);
    f->tcp_port = free_tcp_port();
    g_free(spec);
    spec = g_strdup_printf("tcp:127.0.0.1:%d,server,nowait", f->tcp_port);
    g_assert_true(qmp_server_listen(f->server, spec, &err));
    g_assert_no_error(err);
    f->thread = g_thread_new("qmp-server", server_thread, f);
}

static void fixture_stop(struct fixture *f)
{
    if (!f->thread)
        return;
    g_atomic_int_set(&f->stop, 1);
    g_main_context_wakeup(f->ctx);
    g_thread_join(f->thread);
    f->thread = NULL;
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    fixture_stop(f);
    qmp_server_free(f->server);
    g_assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS));
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
    g_main_context_unref(f->ctx);
    current = NULL;
}

/* ---- test client ------------------------------------------------------ */

struct client {
    int fd;
    GString *buf;               /* received, not yet returned */
};

static struct client *client_wrap(int fd)
{
    struct client *c = g_new0(struct client, 1);
    struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };

    g_assert_cmpint(fd, >=, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    c->fd = fd;
    c->buf = g_string_new(NULL);
    return c;
}

static struct client *client_connect(struct fixture *f)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_strlcpy(sa.sun_path, f->path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return client_wrap(fd);
}

static void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    g_string_free(c->buf, TRUE);
    g_free(c);
}

static void client_write_len(struct client *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

        g_assert_cmpint(n, >, 0);
        data += n;
        len -= n;
    }
}

static void client_write(struct client *c, const char *s)
{
    client_write_len(c, s, strlen(s));
}

/* One raw message line, CRLF included; fails the test on timeout. */
static char *client_read_line(struct client *c)
{
    char chunk[65536];
    char *eol, *line;
    size_t len;

    while (!(eol = strchr(c->buf->str, '\n'))) {
        ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);

        if (n <= 0)
            g_error("no message from the server: %s",
                    n == 0 ? "EOF" : g_strerror(errno));
        g_string_append_len(c->buf, chunk, n);
    }
    len = eol - c->buf->str + 1;
    line = g_strndup(c->buf->str, len);
    g_string_erase(c->buf, 0, len);
    return line;
}

static json_object *client_read(struct client *c)
{
    g_autofree char *line = client_read_line(c);
    size_t len = strlen(line);
    json_object *msg;

    g_assert_cmpuint(len, >=, 2);
    g_assert_cmpint(line[len - 2], ==, '\r');   /* QEMU's CRLF */
    msg = json_tokener_parse(line);
    g_assert_nonnull(msg);
    return msg;
}

static json_object *client_cmd(struct client *c, const char *json)
{
    client_write(c, json);
    return client_read(c);
}

/* Connected, greeted and negotiated. */
static struct client *client_open(struct fixture *f)
{
    struct client *c = client_connect(f);
    json_object *msg = client_read(c);

    g_assert_true(json_object_object_get_ex(msg, "QMP", NULL));
    json_object_put(msg);
    msg = client_cmd(c, "{\"execute\": \"qmp_capabilities\"}");
    g_assert_true(json_object_object_get_ex(msg, "return", NULL));
    json_object_put(msg);
    return c;
}

static const char *path_str(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;

    g_assert_true(json_object_object_get_ex(o, a, &v));
    if (b)
        g_assert_true(json_object_object_get_ex(v, b, &v));
    return json_object_get_string(v);
}

/* Takes msg; checks it is an error of class cls whose desc starts so. */
static void assert_error(json_object *msg, const char *cls, const char *desc)
{
    g_assert_cmpstr(path_str(msg, "error", "class"), ==, cls);
    g_assert_true(g_str_has_prefix(path_str(msg, "error", "desc"), desc));
    json_object_put(msg);
}

static int64_t reply_id(json_object *msg)
{
    json_object *id;

    g_assert_true(json_object_object_get_ex(msg, "id", &id));
    return json_object_get_int64(id);
}

/* Takes msg; checks it is a successful reply with this integer id. */
static void assert_return_id(json_object *msg, int64_t id)
{
    g_assert_true(json_object_object_get_ex(msg, "return", NULL));
    g_assert_cmpint(reply_id(msg), ==, id);
    json_object_put(msg);
}


/* Writes in a thread of its own, for inputs the server reads slowly. */
struct writer {
    struct client *c;
    GString *data;
    GThread *thread;
    gint done;
};

static gpointer writer_run(gpointer opaque)
{
    struct writer *w = opaque;

    client_write_len(w->c, w->data->str, w->data->len);
    g_atomic_int_set(&w->done, 1);
    return NULL;
}

static struct writer *writer_start(struct client *c, GString *data)
{
    struct writer *w = g_new0(struct writer, 1);

    w->c = c;
    w->data = data;
    w->thread = g_thread_new("writer", writer_run, w);
    return w;
}

static void writer_join(struct writer *w)
{
    g_thread_join(w->thread);
    g_string_free(w->data, TRUE);
    g_free(w);
}

static int64_t client_count(struct client *c)
{
    json_object *msg = client_cmd(c, "{\"execute\": \"client-count\"}");
    int64_t n = json_object_get_int64(json_object_object_get(msg, "return"));

    json_object_put(msg);
    return n;
}

/* Polls until the server counts n clients (disconnects are asynchronous). */
static void wait_client_count(struct client *c, int64_t n)
{
    for (int i = 0; i < RECV_TIMEOUT_S * 100; i++) {
        if (client_count(c) == n)
            return;
        g_usleep(10000);
    }
    g_error("the server never got down to %" G_GINT64_FORMAT " clients", n);
}

/* ---- greeting and negotiation ----------------------------------------- */

static void test_greeting_shape(struct fixture *f, gconstpointer data)
{
    struct client *c = client_connect(f);
    g_autofree char *line = client_read_line(c);

    g_assert_cmpstr(line, ==, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 3, "
                    "\"minor\": 2, \"major\": 1}, \"package\": \"hotmem-test\"}, "
                    "\"capabilities\": [\"oob\"]}}\r\n");
    client_close(c);
}

static void test_negotiation_required(struct fixture *f, gconstpointer data)
{
    struct client *c = client_connect(f);
    const char *expect = "Expecting capabilities negotiation with "
                         "'qmp_capabilities'";
    json_object *msg;
    char *line;

    json_object_put(client_read(c));
    assert_error(client_cmd(c, "{\"execute\": \"echo\"}"), "CommandNotFound",
                 expect);
    assert_error(client_cmd(c, "{\"execute\": \"query-commands\"}"),
                 "CommandNotFound", expect);
    msg = client_cmd(c, "{\"execute\": \"nope\", \"id\": 7}");
    g_assert_cmpint(reply_id(msg), ==, 7);
    assert_error(msg, "CommandNotFound", expect);
    client_write(c, "{\"execute\": \"qmp_capabilities\"}");
    line = client_read_line(c);
    g_assert_cmpstr(line, ==, "{\"return\": {}}\r\n");
    g_free(line);
    assert_return_id(client_cmd(c, "{\"execute\": \"echo\", \"id\": 1}"), 1);
    client_close(c);
}

static void test_negotiation_enable(struct fixture *f, gconstpointer data)
{
    struct client *c = client_connect(f);

    json_object_put(client_read(c));
    assert_error(client_cmd(c, "{\"execute\": \"qmp_capabilities\", "
                               "\"arguments\": {\"enable\": [\"oob\", "
                               "\"foo\"]}}"),
                 "GenericError", "Capability 'foo' not available");
    assert_error(client_cmd(c, "{\"execute\": \"qmp_capabilities\", "
                               "\"arguments\": {\"enable\": \"oob\"}}"),
                 "GenericError", "Invalid parameter type for 'enable', "
                 "expected: array");
    assert_error(client_cmd(c, "{\"execute\": \"echo\"}"), "CommandNotFound",
                 "Expecting capabilities negotiation");
    assert_return_id(client_cmd(c, "{\"execute\": \"qmp_capabilities\", "
                                   "\"arguments\": {\"enable\": []}, "
                                   "\"id\": 2}"), 2);
    assert_return_id(client_cmd(c, "{\"execute\": \"echo\", \"id\": 3}"), 3);
    client_close(c);
}

static void test_negotiation_twice(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open(f);

    assert_error(client_cmd(c, "{\"execute\": \"qmp_capabilities\"}"),
                 "CommandNotFound", "Capabilities negotiation is already "
                 "complete, command ignored");
    client_close(c);
}

/* ---- out-of-band execution (qmp-spec) ---------------------------------- */

static struct client *client_open_oob(struct fixture *f)
{
    struct client *c = client_connect(f);

    json_object_put(client_read(c));
    assert_return_id(client_cmd(c, "{\"execute\": \"qmp_capabilities\", "
                                   "\"arguments\": {\"enable\": [\"oob\"]}, "
                                   "\"id\": 1}"), 1);
    return c;
}

/* exec-oob: refused for other commands and without the capability. */
static void test_oob_refused(struct fixture *f, gconstpointer data)
{
    struct client *plain = client_open(f);
    struct client *c = client_open_oob(f);

    assert_error(client_cmd(plain, "{\"exec-oob\": \"client-count\"}"),
                 "GenericError", "QMP input member 'exec-oob' is unexpected");
    assert_error(client_cmd(c, "{\"exec-oob\": \"echo\"}"), "GenericError",
                 "The command echo does not support OOB");
    assert_error(client_cmd(c, "{\"execute\": \"echo\", "
                               "\"exec-oob\": \"client-count\"}"),
                 "GenericError",
                 "QMP input member 'execute' clashes with 'exec-oob'");
    assert_error(client_cmd(c, "{\"exec-oob\": 5}"), "GenericError",
                 "QMP input member 'exec-oob' must be a string");
    assert_return_id(client_cmd(c, "{\"exec-oob\": \"client-count\", "
                                   "\"id\": 2}"), 2);
    client_close(plain);
    client_close(c);
}

/*
 * An exec-oob request overtakes the client's pending in-band command; the
 * in-band commands sent meanwhile wait and run in order after it.
 */
static void test_oob_overtakes(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open_oob(f);
    struct client *other = client_open(f);
    json_object *msg;

    client_write(c, "{\"execute\": \"gate\", \"id\": 10}"
                    "{\"execute\": \"echo\", \"id\": 11}"
                    "{\"exec-oob\": \"client-count\", \"id\": 12}");
    msg = client_read(c);
    g_assert_cmpint(reply_id(msg), ==, 12);
    g_assert_cmpint(json_object_get_int(json_object_object_get(msg,
                                        "return")), ==, 2);
    json_object_put(msg);
    assert_return_id(client_cmd(other, "{\"execute\": \"open-gate\", "
                                       "\"id\": 1}"), 1);
    assert_return_id(client_read(c), 10);
    assert_return_id(client_read(c), 11);
    client_close(other);
    client_close(c);
}

/* ---- requests and replies --------------------------------------------- */

static void test_id_echo(struct fixture *f, gconstpointer data)
{
    static const char *const ids[] = {
        "42", "\"abc\"", "{\"a\": [1, \"x\"]}", "null", "[true, false]",
        "-1.5", "\"caf\\u00e9\"",
    };
    struct client *c = client_open(f);
    char *line;

    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        g_autofree char *req = g_strdup_printf(
            "{\"execute\": \"echo\", \"id\": %s}", ids[i]);
        g_autofree char *want = g_strdup_printf(
            "{\"return\": {}, \"id\": %s}\r\n", ids[i]);

        client_write(c, req);
        line = client_read_line(c);
        g_assert_cmpstr(line, ==, want);
        g_free(line);
    }
    client_write(c, "{\"execute\": \"nope\", \"id\": \"x\"}");
    line = client_read_line(c);
    g_assert_cmpstr(line, ==, "{\"error\": {\"class\": \"CommandNotFound\", "
                    "\"desc\": \"The command nope has not been found\"}, "
                    "\"id\": \"x\"}\r\n");
    g_free(line);
    client_close(c);
}

static const struct {
    const char *input, *cls, *desc;
    bool has_id;
} input_errors[] = {
    { "[1, 2]", "GenericError", "QMP input must be a JSON object", false },
    { "\"execute\"", "GenericError", "QMP input must be a JSON object", false },
    { "42\n", "GenericError", "QMP input must be a JSON object", false },
    { "null\n", "GenericError", "QMP input must be a JSON object", false },
    { "{\"id\": 1}", "GenericError", "QMP input lacks member 'execute'", true },
    { "{\"execute\": \"echo\", \"foo\": 1, \"id\": 1}", "GenericError",
      "QMP input member 'foo' is unexpected", true },
    { "{\"execute\": 42, \"id\": 1}", "GenericError",
      "QMP input member 'execute' must be a string", true },
    { "{\"execute\": \"echo\", \"arguments\": [], \"id\": 1}", "GenericError",
      "QMP input member 'arguments' must be an object", true },
    { "{\"exec-oob\": \"echo\", \"id\": 1}", "GenericError",
      "QMP input member 'exec-oob' is unexpected", true },
    { "{\"execute\": \"nope\", \"id\": 1}", "CommandNotFound",
      "The command nope has not been found", true },
    { "{\"execute\": \"fail\", \"id\": 1}", "DeviceNotFound",
      "Device 'dimm9' not found", true },
};

static void test_input_errors(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open(f);

    for (size_t i = 0; i < G_N_ELEMENTS(input_errors); i++) {
        json_object *msg = client_cmd(c, input_errors[i].input);

        g_test_message("input %s", input_errors[i].input);
        g_assert_cmpint(json_object_object_get_ex(msg, "id", NULL), ==,
                        input_errors[i].has_id);
        g_assert_cmpuint(json_object_object_length(msg), ==,
                         input_errors[i].has_id ? 2 : 1);
        assert_error(msg, input_errors[i].cls, input_errors[i].desc);
    }
    assert_return_id(client_cmd(c, "{\"execute\": \"echo\", \"id\": 9}"), 9);
    client_close(c);
}

static const struct {
    const char *command, *args, *desc;    /* desc NULL: must succeed */
} arg_cases[] = {
    { "typed", "{}", "Parameter 's' is missing" },
    { "typed", "{\"s\": \"x\"}", "Parameter 'i' is missing" },
    { "typed", "{\"s\": 1, \"i\": 1}",
      "Invalid parameter type for 's', expected: string" },
    { "typed", "{\"s\": null, \"i\": 1}",
      "Invalid parameter type for 's', expected: string" },
    { "typed", "{\"s\": \"x\", \"i\": 1.5}",
      "Invalid parameter type for 'i', expected: integer" },
    { "typed", "{\"s\": \"x\", \"i\": \"1\"}",
      "Invalid parameter type for 'i', expected: integer" },
    { "typed", "{\"s\": \"x\", \"i\": 1, \"n\": \"1\"}",
      "Invalid parameter type for 'n', expected: number" },
    { "typed", "{\"s\": \"x\", \"i\": 1, \"b\": 1}",
      "Invalid parameter type for 'b', expected: boolean" },
    { "typed", "{\"s\": \"x\", \"i\": 1, \"o\": []}",
      "Invalid parameter type for 'o', expected: object" },
    { "typed", "{\"s\": \"x\", \"i\": 1, \"a\": {}}",
      "Invalid parameter type for 'a', expected: array" },
    { "typed", "{\"s\": \"x\", \"i\": 1, \"zz\": 1}",
      "Parameter 'zz' is unexpected" },
    { "typed", "{\"s\": \"x\", \"i\": -5}", NULL },
    { "typed", "{\"s\": \"x\", \"i\": 1, \"n\": 2, \"b\": false, \"o\": {}, "
               "\"a\": [], \"any\": null}", NULL },
    { "typed", "{\"s\": \"x\", \"i\": 1, \"n\": 2.5, \"any\": [1]}", NULL },
    { "bag", "{\"id\": \"m0\", \"size\": 1024}",
      "Parameter 'qom-type' is missing" },
    { "bag", "{\"qom-type\": \"memory-backend-ram\", \"id\": \"m0\", "
             "\"size\": 1024}", NULL },
    { "echo", "{\"anything\": {\"goes\": true}}", NULL },
    { "fail", "{\"x\": 1}", "Parameter 'x' is unexpected" },
};

static void test_args(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open(f);

    for (size_t i = 0; i < G_N_ELEMENTS(arg_cases); i++) {
        g_autofree char *req = g_strdup_printf(
            "{\"execute\": \"%s\", \"arguments\": %s}", arg_cases[i].command,
            arg_cases[i].args);
        json_object *msg = client_cmd(c, req);
        json_object *args = json_tokener_parse(arg_cases[i].args);

        g_test_message("request %s", req);
        if (arg_cases[i].desc) {
            assert_error(msg, "GenericError", arg_cases[i].desc);
        } else {
            g_assert_true(json_object_equal(
                json_object_object_get(msg, "return"), args));
            json_object_put(msg);
        }
        json_object_put(args);
    }
    client_close(c);
}

static void test_query_commands(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open(f);
    json_object *msg = client_cmd(c, "{\"execute\": \"query-commands\"}");
    json_object *list = json_object_object_get(msg, "return");
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);

    g_assert_true(json_object_is_type(list, json_type_array));
    for (size_t i = 0; i < json_object_array_length(list); i++)
        g_hash_table_add(names, (char *)path_str(
            json_object_array_get_idx(list, i), "name", NULL));
    g_assert_cmpuint(g_hash_table_size(names), ==, G_N_ELEMENTS(commands) + 2);
    g_assert_cmpuint(json_object_array_length(list), ==,
                     G_N_ELEMENTS(commands) + 2);
    g_assert_true(g_hash_table_contains(names, "qmp_capabilities"));
    g_assert_true(g_hash_table_contains(names, "query-commands"));
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        g_assert_true(g_hash_table_contains(names, commands[i].name));
    json_object_put(msg);
    client_close(c);
}

static void test_error_class_name(void)
{
    static const char *const names[] = {
        [QMP_ERROR_GENERIC] = "GenericError",
        [QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
        [QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
        [QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
        [QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
    };

    g_autoptr(GError) other = g_error_new_literal(G_FILE_ERROR,
                                                  G_FILE_ERROR_NOENT, "x");

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autoptr(GError) err = g_error_new_literal(QMP_ERROR, i, "x");

        g_assert_cmpstr(qmp_error_class_name(err), ==, names[i]);
    }
    g_assert_cmpstr(qmp_error_class_name(other), ==, "GenericError");
}

/* ---- input framing ---------------------------------------------------- */

static void test_input_two_in_one_write(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open(f);

    client_write(c, "{\"execute\": \"echo\", \"id\": 1}{\"execute\": \"echo\", "
                    "\"id\": 2}\r\n  \t{'execute': 'echo', 'id': 3}\n");
    assert_return_id(client_read(c), 1);
    assert_return_id(client_read(c), 2);
    assert_return_id(client_read(c), 3);   /* QMP's single quotes */
    client_close(c);
}

static void test_input_split(struct fixture *f, gconstpointer data)
{
    const char *req = "{\"execute\": \"echo\", \"arguments\": "
                      "{\"k\": \"v\\\"}\"}, \"id\": 1234}";
    struct client *c = client_open(f);
    json_object *msg;

    /* One byte per write, with pauses so the server sees separate reads. */
    for (const char *p = req; *p; p++) {
        client_write_len(c, p, 1);
        g_usleep(500);
    }
    msg = client_read(c);
    g_assert_cmpstr(path_str(msg, "return", "k"), ==, "v\"}");
    assert_return_id(msg, 1234);
    /* A number cannot end a write: the server waits for its delimiter. */
    client_write(c, "{\"execute\": \"echo\", \"id\": 56");
    g_usleep(20000);
    client_write(c, "78}");
    assert_return_id(client_read(c), 5678);
    client_close(c);
}

static void test_input_malformed(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open(f);
    json_object *msg;

    msg = client_cmd(c, "{ \"execute\": }\n");
    g_assert_false(json_object_object_get_ex(msg, "id", NULL));
    assert_error(msg, "GenericError", "JSON parse error, ");
    assert_return_id(client_cmd(c, "{\"execute\": \"echo\", \"id\": 1}"), 1);
    /* No newline: the whole broken value is skipped, with one error. */
    client_write(c, "{\"execute\": foo, \"id\": [\"}\"]}"
                    "{\"execute\": \"echo\", \"id\": 2}");
    assert_error(client_read(c), "GenericError", "JSON parse error, ");
    assert_return_id(client_read(c), 2);
    client_write(c, "}{\"execute\": \"echo\", \"id\": 3}");
    assert_error(client_read(c), "GenericError", "JSON parse error, ");
    assert_return_id(client_read(c), 3);
    /* A control character resets the parser (qmp-spec). */
    client_write(c, "{\"execute\": \"ec\x01{\"execute\": \"echo\", \"id\": 4}");
    assert_error(client_read(c), "GenericError", "JSON parse error, invalid");
    assert_return_id(client_read(c), 4);
    client_write(c, "\xff{\"execute\": \"echo\", \"id\": 5}");
    assert_error(client_read(c), "GenericError", "JSON parse error, invalid");
    assert_return_id(client_read(c), 5);
    client_close(c);
}

/*
 * Issue 15, defect 10: "\u0000" in a string truncated it where hotmem
 * reads it as a C string: "echo\u0000garbage" ran echo, an argument
 * name "k\u0000x" became "k". No string may hold a NUL: the request is a
 * parse error, and the next one is served.
 */
static void test_input_nul_escape(struct fixture *f, gconstpointer data)
{
    static const char *const bad[] = {
        "{\"execute\": \"echo\\u0000garbage\", \"id\": 1}",
        "{\"execute\": \"echo\", \"arguments\": {\"k\": \"a\\u0000b\"}}",
        "{\"execute\": \"echo\", \"arguments\": {\"k\\u0000x\": 1}}",
        "{'execute': 'echo', 'arguments': {'k': '\\u0000'}}",
        "{\"execute\": \"echo\", \"id\": \"\\ud800\\u0000\"}",
    };
    struct client *c = client_open(f);
    json_object *msg;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_test_message("input %s", bad[i]);
        msg = client_cmd(c, bad[i]);
        g_assert_false(json_object_object_get_ex(msg, "id", NULL));
        assert_error(msg, "GenericError", "JSON parse error, \\u0000 in a "
                     "string is not accepted");
        assert_return_id(client_cmd(c, "{\"execute\": \"echo\", \"id\": 2}"),
                         2);
    }
    /* Split between two writes. */
    client_write(c, "{\"execute\": \"echo\", \"arguments\": {\"k\": \"a\\u00");
    g_usleep(20000);
    client_write(c, "00\"}, \"id\": 3}{\"execute\": \"echo\", \"id\": 4}");
    assert_error(client_read(c), "GenericError", "JSON parse error, \\u0000");
    assert_return_id(client_read(c), 4);
    /* An escaped backslash before u0000 and other \u escapes are fine. */
    msg = client_cmd(c, "{\"execute\": \"echo\", \"arguments\": {\"k\": "
                        "\"a\\\\u0000\", \"l\": \"\\u0001\\u0100\"}}");
    g_assert_cmpstr(path_str(msg, "return", "k"), ==, "a\\u0000");
    g_assert_cmpstr(path_str(msg, "return", "l"), ==, "\x01\xc4\x80");
    json_object_put(msg);
    client_close(c);
}

/*
 * Issue 15, defect 11: a line ending inside a string ({"execute":
 * "query-status + CRLF) got no reply, and the next line's command was
 * taken as the rest of it and failed. JSON strings cannot hold a line
 * break, so the line is an error and the next line starts afresh; a
 * value left unfinished on one line whose next line cannot continue it
 * is an error too, and that next line is parsed on its own. Objects that
 * span lines outside strings keep working.
 */
static void test_input_broken_line(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open(f);

    client_write(c, "{\"execute\": \"echo\r\n{\"execute\": \"echo\", "
                    "\"id\": 1}\r\n");
    assert_error(client_read(c), "GenericError", "JSON parse error, line "
                 "break inside a string (unterminated string)");
    assert_return_id(client_read(c), 1);
    client_write(c, "{'execute': 'echo', 'id': 'x\n{\"execute\": \"echo\", "
                    "\"id\": 2}\n");
    assert_error(client_read(c), "GenericError", "JSON parse error, line "
                 "break inside a string");
    assert_return_id(client_read(c), 2);
    /* The line break arrives in a write of its own. */
    client_write(c, "{\"execute\": \"ec");
    g_usleep(20000);
    client_write(c, "\r");
    g_usleep(20000);
    client_write(c, "\n{\"execute\": \"echo\", \"id\": 3}\r\n");
    assert_error(client_read(c), "GenericError", "JSON parse error, line "
                 "break inside a string");
    assert_return_id(client_read(c), 3);
    /* Unfinished outside a string: the next line is not swallowed. */
    client_write(c, "{\"execute\": \"echo\"\r\n{\"execute\": \"echo\", "
                    "\"id\": 4}\r\n");
    assert_error(client_read(c), "GenericError", "JSON parse error, value "
                 "left unfinished at the end of a line");
    assert_return_id(client_read(c), 4);
    client_write(c, "{\"execute\": \"echo\", \"arguments\": {\n  \n"
                    "{\"execute\": \"echo\", \"id\": 5}\n");
    assert_error(client_read(c), "GenericError", "JSON parse error, value "
                 "left unfinished");
    assert_return_id(client_read(c), 5);
    /* Pretty-printed requests span lines. */
    client_write(c, "{\n  \"execute\":\r\n    \"echo\",\n  \"arguments\": {\n"
                    "    \"k\": [1,\n 2]\n  },\n  \"id\": 6\n}\n");
    assert_return_id(client_read(c), 6);
    client_write(c, "{\"execute\": \"echo\",\n\"id\":\n7}");
    assert_return_id(client_read(c), 7);
    /* Broken inside (a missing comma): one error per broken line. */
    client_write(c, "{\n  \"execute\": \"echo\"\n  \"id\": 8\n}\n"
                    "{\"execute\": \"echo\", \"id\": 9}\n");
    assert_error(client_read(c), "GenericError", "JSON parse error, ");
    assert_error(client_read(c), "GenericError", "JSON parse error, ");
    assert_return_id(client_read(c), 9);
    client_close(c);
}

/*
 * Issue 15, defect 14: numbers json-c cannot hold were changed silently:
 * 2^64 and above became 2^64-1, below -2^63 became -2^63, and an "id" of
 * 1e400 came back as null. Out-of-range integers and NaN or Infinity
 * (not JSON) are parse errors; a number too large for a double is echoed
 * as it was written.
 */
static void test_input_numbers(struct fixture *f, gconstpointer data)
{
    static const struct {
        const char *input, *desc;
    } bad[] = {
        { "{\"execute\": \"echo\", \"arguments\": {\"size\": "
          "18446744073709551616}}", "JSON parse error, integer "
          "18446744073709551616 is too large (more than 2^64-1)" },
        { "{\"execute\": \"echo\", \"id\": 99999999999999999999999999999999"
          "9999}", "JSON parse error, integer 99999999999999999999... is "
          "too large" },
        { "{\"execute\": \"echo\", \"arguments\": {\"a\": [-9223372036854775809"
          "]}}", "JSON parse error, integer -9223372036854775809 is too small "
          "(less than -2^63)" },
        { "{\"execute\": \"echo\", \"id\": NaN}",
          "JSON parse error, NaN and Infinity are not JSON numbers" },
        { "{\"execute\": \"echo\", \"id\": -Infinity}",
          "JSON parse error, NaN and Infinity are not JSON numbers" },
    };
    static const char *const ids[] = {
        "1e400", "-1e400", "18446744073709551615", "-9223372036854775808",
        "18446744073709551616.0", "1e-400",
    };
    struct client *c = client_open(f);
    char *line;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        json_object *msg = client_cmd(c, bad[i].input);

        g_test_message("input %s", bad[i].input);
        g_assert_false(json_object_object_get_ex(msg, "id", NULL));
        assert_error(msg, "GenericError", bad[i].desc);
        assert_return_id(client_cmd(c, "{\"execute\": \"echo\", \"id\": 2}"),
                         2);
    }
    /* The limits themselves, and an integer split between writes. */
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        g_autofree char *req = g_strdup_printf(
            "{\"execute\": \"echo\", \"id\": %s}", ids[i]);
        g_autofree char *want = g_strdup_printf(
            "{\"return\": {}, \"id\": %s}\r\n", ids[i]);

        client_write(c, req);
        line = client_read_line(c);
        g_assert_cmpstr(line, ==, want);
        g_free(line);
    }
    client_write(c, "{\"execute\": \"echo\", \"id\": 1844674407");
    g_usleep(20000);
    client_write(c, "3709551616}");
    assert_error(client_read(c), "GenericError", "JSON parse error, integer "
                 "18446744073709551616 is too large");
    client_close(c);
}

static void test_input_oversized(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open(f);
    GString *big = g_string_new("{\"execute\": \"echo\", \"arguments\": "
                                "{\"data\": \"");

    for (int i = 0; i < 2 << 20; i += 64)
        g_string_append(big, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    g_string_append(big, "\"}, \"id\": 1}{\"execute\": \"echo\", \"id\": 2}");
    client_write_len(c, big->str, big->len);
    assert_error(client_read(c), "GenericError", "JSON input exceeds 1 MiB");
    assert_return_id(client_read(c), 2);
    /* Just under the limit is fine. */
    g_string_assign(big, "{\"execute\": \"echo\", \"arguments\": {\"data\": \"");
    while (big->len < (1 << 20) - 64)
        g_string_append_c(big, 'B');
    g_string_append(big, "\"}, \"id\": 3}");
    client_write_len(c, big->str, big->len);
    assert_return_id(client_read(c), 3);
    g_string_free(big, TRUE);
    client_close(c);
}

/* Gigabytes of junk must be discarded as it arrives, not buffered. */
static void test_input_garbage_stream(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f), *b = client_open(f);
    GString *junk = g_string_sized_new(8 << 20);
    struct writer *w;

    for (int i = 0; i < 8 << 20; i++)
        g_string_append_c(junk, 'x' + (i & 1));
    g_string_append(junk, "\n{\"execute\": \"echo\", \"id\": 1}");
    w = writer_start(a, junk);
    assert_return_id(client_cmd(b, "{\"execute\": \"echo\", \"id\": 7}"), 7);
    assert_error(client_read(a), "GenericError", "JSON parse error, ");
    assert_return_id(client_read(a), 1);
    writer_join(w);
    client_close(a);
    client_close(b);
}

/* ---- asynchronous requests -------------------------------------------- */

static void test_async_other_client(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f), *b = client_open(f);
    json_object *msg;

    /* a's echo is queued behind its pending gate; b is not held up. */
    client_write(a, "{\"execute\": \"gate\", \"id\": 1}"
                    "{\"execute\": \"echo\", \"id\": 2}");
    assert_return_id(client_cmd(b, "{\"execute\": \"echo\", \"id\": 10}"), 10);
    assert_return_id(client_cmd(b, "{\"execute\": \"open-gate\", \"id\": 11}"),
                     11);
    msg = client_read(a);
    g_assert_true(json_object_get_boolean(
        json_object_object_get(json_object_object_get(msg, "return"),
                               "opened")));
    assert_return_id(msg, 1);
    assert_return_id(client_read(a), 2);
    client_close(a);
    client_close(b);
}

static void test_async_sequential(struct fixture *f, gconstpointer data)
{
    struct client *c = client_open(f);
    json_object *msg;

    client_write(c, "{\"execute\": \"sleep\", \"arguments\": {\"ms\": 50}, "
                    "\"id\": 1}{\"execute\": \"echo\", \"id\": 2}");
    msg = client_read(c);
    g_assert_cmpint(json_object_get_int(json_object_object_get(
        json_object_object_get(msg, "return"), "slept")), ==, 50);
    assert_return_id(msg, 1);
    assert_return_id(client_read(c), 2);
    client_close(c);
}

static void test_async_disconnect(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f), *b = client_open(f);

    /* a goes away while its request is pending; completing it is safe. */
    client_write(a, "{\"execute\": \"gate\", \"id\": 1}");
    client_close(a);
    wait_client_count(b, 1);
    assert_return_id(client_cmd(b, "{\"execute\": \"open-gate\", \"id\": 2}"),
                     2);
    /* Same with a timer completing the orphaned request. */
    a = client_open(f);
    client_write(a, "{\"execute\": \"sleep\", \"arguments\": {\"ms\": 20}}");
    client_close(a);
    assert_return_id(client_cmd(b, "{\"execute\": \"sleep\", \"arguments\": "
                                   "{\"ms\": 100}, \"id\": 3}"), 3);
    wait_client_count(b, 1);
    client_close(b);
}

/* A client with a pending request keeps being read up to a bound, then is
 * left in its socket buffer; nothing is lost or reordered. */
static void test_async_backpressure(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f), *b = client_open(f);
    GString *input = g_string_new("{\"execute\": \"gate\", \"id\": 0}");
    char pad[1001];
    struct writer *w;

    memset(pad, 'p', 1000);
    pad[1000] = '\0';
    for (int i = 1; i <= 3000; i++)     /* about 3 MiB */
        g_string_append_printf(input, "{\"execute\": \"echo\", \"arguments\": "
                               "{\"pad\": \"%s\"}, \"id\": %d}\n", pad, i);
    w = writer_start(a, input);
    g_usleep(200000);
    /* The server stopped reading after about 1 MiB: the writer is stuck. */
    g_assert_false(g_atomic_int_get(&w->done));
    assert_return_id(client_cmd(b, "{\"execute\": \"open-gate\", \"id\": 1}"),
                     1);
    for (int i = 0; i <= 3000; i++)
        assert_return_id(client_read(a), i);
    writer_join(w);
    client_close(a);
    client_close(b);
}

/* ---- events ----------------------------------------------------------- */

/* Takes msg; checks an event's name, timestamp and integer data "seq". */
static void assert_event(json_object *msg, const char *name, int seq)
{
    json_object *ts, *v;
    int64_t now_s = g_get_real_time() / G_USEC_PER_SEC;

    g_assert_cmpstr(path_str(msg, "event", NULL), ==, name);
    g_assert_true(json_object_object_get_ex(msg, "timestamp", &ts));
    v = json_object_object_get(ts, "seconds");
    g_assert_true(json_object_is_type(v, json_type_int));
    g_assert_cmpint(json_object_get_int64(v), <=, now_s);
    g_assert_cmpint(json_object_get_int64(v), >=, now_s - 60);
    v = json_object_object_get(ts, "microseconds");
    g_assert_true(json_object_is_type(v, json_type_int));
    g_assert_cmpint(json_object_get_int64(v), <, G_USEC_PER_SEC);
    v = json_object_object_get(msg, "data");
    /* seq < 0: an event without data, which has no "data" member. */
    g_assert_true(seq < 0 ? v == NULL : json_object_is_type(v,
                                                            json_type_object));
    if (seq >= 0)
        g_assert_cmpint(json_object_get_int(json_object_object_get(v, "seq")),
                        ==, seq);
    json_object_put(msg);
}

static void emit_seq(struct qmp_server *s, const char *name, int seq)
{
    json_object *data = json_object_new_object();

    json_object_object_add(data, "seq", json_object_new_int(seq));
    qmp_server_emit(s, name, data);
}

static void test_events_negotiated_only(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f), *n = client_connect(f);
    json_object *msg;

    json_object_put(client_read(n));            /* greeting only */
    emit_seq(f->server, "TEST_EVENT", 0);       /* from this thread */
    assert_event(client_read(a), "TEST_EVENT", 0);
    qmp_server_emit(f->server, "NO_DATA", NULL);
    msg = client_read(a);
    g_assert_false(json_object_object_get_ex(msg, "data", NULL));
    assert_event(msg, "NO_DATA", -1);
    /* n was sent nothing: its first message is the reply to this. */
    assert_error(client_cmd(n, "{\"execute\": \"echo\"}"), "CommandNotFound",
                 "Expecting capabilities negotiation");
    client_close(a);
    client_close(n);
}

static gpointer emitter_run(gpointer opaque)
{
    for (int i = 0; i < 100; i++)
        emit_seq(opaque, "THREAD_EVENT", i);
    return NULL;
}

static void test_events_threads(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f), *b = client_open(f);
    GThread *t = g_thread_new("emitter", emitter_run, f->server);
    int next_main = 0, next_thread = 0;

    for (int i = 0; i < 100; i++)
        emit_seq(f->server, "MAIN_EVENT", i);
    g_thread_join(t);
    /* Interleaving is arbitrary; each emitter's order is kept. */
    while (next_main + next_thread < 200) {
        json_object *msg = client_read(a);

        if (!strcmp(path_str(msg, "event", NULL), "MAIN_EVENT"))
            assert_event(msg, "MAIN_EVENT", next_main++);
        else
            assert_event(msg, "THREAD_EVENT", next_thread++);
    }
    for (int i = 0; i < 200; i++)
        json_object_put(client_read(b));
    client_close(a);
    client_close(b);
}

static void test_events_from_handler(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f), *b = client_open(f);

    client_write(a, "{\"execute\": \"emit\", \"arguments\": {\"count\": 3}, "
                    "\"id\": 1}");
    for (int i = 0; i < 3; i++)
        assert_event(client_read(a), "HANDLER_EVENT", i);
    assert_return_id(client_read(a), 1);
    for (int i = 0; i < 3; i++)
        assert_event(client_read(b), "HANDLER_EVENT", i);
    client_close(a);
    client_close(b);
}

/*
 * An event raised on another thread (a vCPU's) before a command arrives
 * reaches the client before the command's reply, even when the command
 * is read first: replies send the queued events first.
 */
static void test_events_before_reply(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f), *b = client_open(f);

    client_write(a, "{\"execute\": \"block\", \"id\": 1}");
    wait_blocked();                 /* the server thread is busy */
    emit_seq(f->server, "THREAD_EVENT", 0);     /* queued for it */
    client_write(b, "{\"execute\": \"echo\", \"id\": 2}");
    unblock();
    assert_event(client_read(b), "THREAD_EVENT", 0);
    assert_return_id(client_read(b), 2);
    assert_event(client_read(a), "THREAD_EVENT", 0);
    assert_return_id(client_read(a), 1);
    client_close(a);
    client_close(b);
}

static void emit_keyed(struct qmp_server *s, const char *key, bool limited,
                       int seq)
{
    json_object *data = json_object_new_object();

    json_object_object_add(data, "seq", json_object_new_int(seq));
    qmp_server_emit_keyed(s, "GUEST_EVENT", key, limited, data);
}

/* A period longer than any test: what is held stays held. */
static const unsigned long_period_ms = 3600 * 1000;

/*
 * Events the guest raised on its own, per key: the first goes out, the
 * rest of the period only the latest is kept. An event for the same key
 * the host asked for sends the held one, then itself, and ends the limit.
 */
static void test_events_rate_limit(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f);
    int seq = 0;

    for (; seq < 10000; seq++)
        emit_keyed(f->server, "slot 0", true, seq);
    emit_keyed(f->server, "slot 1", true, seq++);   /* another key */
    emit_seq(f->server, "OTHER", 0);                /* no key */
    assert_event(client_read(a), "GUEST_EVENT", 0);
    assert_event(client_read(a), "GUEST_EVENT", 10000);
    assert_event(client_read(a), "OTHER", 0);
    /* The reply proves nothing else was sent. */
    assert_return_id(client_cmd(a, "{\"execute\": \"echo\", \"id\": 1}"), 1);

    emit_keyed(f->server, "slot 0", false, 10001);
    assert_event(client_read(a), "GUEST_EVENT", 9999);
    assert_event(client_read(a), "GUEST_EVENT", 10001);
    /* The limit ended: the next one goes out at once, and opens another. */
    emit_keyed(f->server, "slot 0", true, 10002);
    emit_keyed(f->server, "slot 0", true, 10003);
    assert_event(client_read(a), "GUEST_EVENT", 10002);
    assert_return_id(client_cmd(a, "{\"execute\": \"echo\", \"id\": 2}"), 2);
    /* From the server's own thread the same holds. */
    client_write(a, "{\"execute\": \"emit\", \"arguments\": {\"count\": 1}, "
                    "\"id\": 3}");
    assert_event(client_read(a), "HANDLER_EVENT", 0);
    assert_return_id(client_read(a), 3);
    client_close(a);
}

static const unsigned short_period_ms = 10;

/* At the end of a period the held event goes out by itself. */
static void test_events_rate_limit_period_end(struct fixture *f,
                                              gconstpointer data)
{
    struct client *a = client_open(f);
    const int n = 20000;
    int last = -1;

    for (int seq = 0; seq < n; seq++)
        emit_keyed(f->server, "slot 0", true, seq);
    /* One a period, in order, the last one always. */
    while (last < n - 1) {
        json_object *msg = client_read(a);
        int seq = json_object_get_int(json_object_object_get(
            json_object_object_get(msg, "data"), "seq"));

        g_assert_cmpint(seq, >, last);
        assert_event(msg, "GUEST_EVENT", seq);
        last = seq;
    }
    client_close(a);
}

/* Events held when the server goes are dropped, and nothing leaks. */
static void test_events_rate_limit_free(struct fixture *f, gconstpointer data)
{
    struct client *a = client_open(f);

    emit_keyed(f->server, "slot 0", true, 0);
    emit_keyed(f->server, "slot 0", true, 1);
    emit_keyed(f->server, "slot 1", true, 2);
    assert_event(client_read(a), "GUEST_EVENT", 0);
    assert_event(client_read(a), "GUEST_EVENT", 2);
    client_close(a);
}

/* ---- output ----------------------------------------------------------- */

/* A client that never reads is cut off; the others carry on meanwhile. */
static void test_output_slow_reader(struct fixture *f, gconstpointer data)
{
    struct client *s = client_open(f), *b = client_open(f);
    GString *input = g_string_new(NULL);

    for (int i = 0; i < 40; i++)
        g_string_append(input, "{\"execute\": \"big\", \"arguments\": "
                               "{\"bytes\": 1048576}}");
    client_write_len(s, input->str, input->len);
    g_string_free(input, TRUE);
    wait_client_count(b, 1);
    assert_return_id(client_cmd(b, "{\"execute\": \"echo\", \"id\": 1}"), 1);
    client_close(s);
    client_close(b);
}

/* ---- listeners -------------------------------------------------------- */

static void test_listen_unix_mode(struct fixture *f, gconstpointer data)
{
    struct stat st;

    g_assert_cmpint(stat(f->path, &st), ==, 0);
    g_assert_true(S_ISSOCK(st.st_mode));
    g_assert_cmpint(st.st_mode & 07777, ==, 0600);
}

static void test_listen_tcp(struct fixture *f, gconstpointer data)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct client *c;
    json_object *msg;

    sa.sin_port = htons(f->tcp_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    c = client_wrap(fd);
    msg = client_read(c);
    g_assert_cmpstr(path_str(msg, "QMP", "version") ? "ok" : NULL, ==, "ok");
    json_object_put(msg);
    assert_return_id(client_cmd(c, "{\"execute\": \"qmp_capabilities\", "
                                   "\"id\": 1}"), 1);
    assert_return_id(client_cmd(c, "{\"execute\": \"echo\", \"id\": 2}"), 2);
    client_close(c);
}

/* Clients that vanish before or right after the greeting. */
static void test_listen_connect_close(struct fixture *f, gconstpointer data)
{
    struct client *b = client_open(f);

    for (int i = 0; i < 20; i++) {
        struct client *c = client_connect(f);

        if (i & 1)
            shutdown(c->fd, SHUT_RDWR);
        else
            client_write(c, "{\"execute\": \"qmp_capabilities\"}");
        client_close(c);
    }
    wait_client_count(b, 1);
    client_close(b);
}

/* Stale socket files are replaced, other files are not; ",," escapes. */
static void test_listen_unix_files(void)
{
    g_autoptr(GMainContext) ctx = g_main_context_new();
    struct qmp_server *s = new_server(ctx, 0);
    g_autofree char *dir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
    g_autofree char *stale = g_build_filename(dir, "a,b.sock", NULL);
    g_autofree char *file = g_build_filename(dir, "file", NULL);
    g_autofree char *spec = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    GError *err = NULL;

    g_strlcpy(sa.sun_path, stale, sizeof(sa.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    close(fd);                          /* leaves the socket file behind */
    spec = g_strdup_printf("unix:%s/a,,b.sock,server=on,wait=off", dir);
    g_assert_true(qmp_server_listen(s, spec, &err));
    g_assert_no_error(err);
    g_assert_true(g_file_set_contents(file, "keep", -1, NULL));
    g_free(spec);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", file);
    g_assert_false(qmp_server_listen(s, spec, &err));
    g_assert_nonnull(strstr(err->message, "not a socket"));
    g_clear_error(&err);
    g_assert_true(g_file_test(file, G_FILE_TEST_IS_REGULAR));
    qmp_server_free(s);
    g_assert_false(g_file_test(stale, G_FILE_TEST_EXISTS));
    g_unlink(file);
    g_rmdir(dir);
}

static void test_listen_tcp_addresses(void)
{
    g_autoptr(GMainContext) ctx = g_main_context_new();
    struct qmp_server *s = new_server(ctx, 0);
    int fd6 = socket(AF_INET6, SOCK_STREAM, 0);
    GError *err = NULL;

    g_assert_true(qmp_server_listen(s, "tcp::0,server=on,wait=off", &err));
    g_assert_no_error(err);
    g_assert_true(qmp_server_listen(s, "tcp:localhost:0,server,nowait", &err));
    g_assert_no_error(err);
    if (fd6 >= 0) {
        close(fd6);
        g_assert_true(qmp_server_listen(s, "tcp:[::1]:0,server,nowait", &err));
        g_assert_no_error(err);
    }
    qmp_server_free(s);
}

static const struct {
    const char *spec, *error;
} bad_specs[] = {
    { "unix:/tmp/hotmem-test-qmp.sock,server=on,wait=maybe", "'maybe'" },
    { "unix:/tmp/hotmem-test-qmp.sock,wait=off", "server=on" },
    { "unix:/tmp/hotmem-test-qmp.sock,server=off,wait=off", "server=on" },
    { "unix:/tmp/hotmem-test-qmp.sock,server,nowait,foo=bar", "'foo'" },
    { "unix:/tmp/hotmem-test-qmp.sock,server,nowait,telnet", "'telnet'" },
    { "unix:/tmp/hotmem-test-qmp.sock,server=maybe,wait=off", "'maybe'" },
    { "unix:,server,nowait", "UNIX socket path" },
    { "tcp:127.0.0.1:99999,server=on,wait=off", "invalid port '99999'" },
    { "tcp:127.0.0.1:http,server=on,wait=off", "invalid port 'http'" },
    { "tcp:127.0.0.1:,server=on,wait=off", "invalid port ''" },
    { "tcp:127.0.0.1,server=on,wait=off", "HOST:PORT" },
    { "udp:127.0.0.1:4444,server=on,wait=off", "unix: or tcp:" },
    { "unix:/tmp/hotmem-test-qmp.sock,server,nowait,max-clients=0",
      "max-clients '0' in monitor address" },
    { "unix:/tmp/hotmem-test-qmp.sock,server,nowait,max-clients=4097",
      "must be a number from 1 to 4096" },
    { "unix:/tmp/hotmem-test-qmp.sock,server,nowait,max-clients=two",
      "max-clients 'two'" },
    { "/tmp/hotmem-test-qmp.sock", "unix: or tcp:" },
    { "fd:x,server=on,wait=off", "fd 'x' in monitor address" },
    { "fd:,server=on,wait=off", "fd '' in monitor address" },
    { "fd:3x,server=on,wait=off", "fd '3x' in monitor address" },
    { "fd:99999999999,server=on,wait=off", "not a descriptor number" },
    { "fd:1023,wait=off", "server=on" },
    { "fd:1023,server=on,wait=off", "fd 1023 is not open" },
};

/* fd:N must be a listening stream socket (libvirt's -chardev fd=N). */
static void test_listen_fd_not_listening(void)
{
    g_autoptr(GMainContext) ctx = g_main_context_new();
    struct qmp_server *s = new_server(ctx, 0);
    int pipefd[2], sv[2];
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    const int *fds[] = { &pipefd[0], &sv[0], &udp };

    g_assert_cmpint(pipe(pipefd), ==, 0);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(fds); i++) {
        g_autofree char *spec = g_strdup_printf("fd:%d,server=on,wait=off",
                                                *fds[i]);
        g_autofree char *want = g_strdup_printf(
            "fd %d is not a listening stream socket", *fds[i]);
        GError *err = NULL;

        g_assert_false(qmp_server_listen(s, spec, &err));
        g_assert_nonnull(err);
        if (!strstr(err->message, want))
            g_error("'%s' lacks '%s'", err->message, want);
        g_error_free(err);
    }
    close(pipefd[0]);
    close(pipefd[1]);
    close(sv[0]);
    close(sv[1]);
    close(udp);
    qmp_server_free(s);
}

static int connect_path(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    return fd;
}

/*
 * wait=on (also QEMU's default when wait is not given) holds startup until
 * a client connected on that listener; wait=off listeners never do.
 */
static void test_listen_wait(void)
{
    static const struct qmp_server_info info = {
        .major = 0, .minor = 1, .micro = 0, .package = "test",
    };
    GMainContext *ctx = g_main_context_new();
    g_autofree char *dir = g_dir_make_tmp("hotmem-qmp-XXXXXX", NULL);
    g_autofree char *a = g_build_filename(dir, "a.sock", NULL);
    g_autofree char *b = g_build_filename(dir, "b.sock", NULL);
    g_autofree char *sa = g_strdup_printf("unix:%s,server", a);
    g_autofree char *sb = g_strdup_printf("unix:%s,server=on,wait=off", b);
    struct qmp_server *s;
    int fd;

    g_main_context_push_thread_default(ctx);
    s = qmp_server_new(&info);
    g_assert_true(qmp_server_listen(s, sb, NULL));
    g_assert_false(qmp_server_waiting(s));
    g_assert_true(qmp_server_listen(s, sa, NULL));
    g_assert_true(qmp_server_waiting(s));
    /* A client on the wait=off listener does not count. */
    fd = connect_path(b);
    for (int i = 0; i < 100; i++)
        g_main_context_iteration(ctx, FALSE);
    g_assert_true(qmp_server_waiting(s));
    close(fd);
    fd = connect_path(a);
    for (int i = 0; i < 1000 && qmp_server_waiting(s); i++)
        g_main_context_iteration(ctx, TRUE);
    g_assert_false(qmp_server_waiting(s));
    close(fd);
    qmp_server_free(s);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    g_rmdir(dir);
}

/* Runs ctx until fd has something to read (or EOF); then reads a line. */
static char *serve_and_read_line(GMainContext *ctx, int fd)
{
    GString *line = g_string_new(NULL);
    char ch;

    for (int i = 0; i < 10000; i++) {
        struct pollfd p = { fd, POLLIN, 0 };

        if (poll(&p, 1, 0) == 1)
            break;
        g_main_context_iteration(ctx, FALSE);
        g_usleep(100);
    }
    while (recv(fd, &ch, 1, MSG_DONTWAIT) == 1 && ch != '\n')
        g_string_append_c(line, ch);
    return g_string_free(line, FALSE);
}

/*
 * max-clients=N: N clients at a time through that spec; the next one gets
 * an error line and EOF, and a place freed is taken again.
 */
static void test_listen_max_clients(void)
{
    static const struct qmp_server_info info = {
        .major = 0, .minor = 1, .micro = 0, .package = "test",
    };
    GMainContext *ctx = g_main_context_new();
    g_autofree char *dir = g_dir_make_tmp("hotmem-qmp-XXXXXX", NULL);
    g_autofree char *a = g_build_filename(dir, "a.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off,"
                                            "max-clients=2", a);
    struct qmp_server *s;
    int fd[4];
    char ch;

    g_main_context_push_thread_default(ctx);
    s = qmp_server_new(&info);
    g_assert_true(qmp_server_listen(s, spec, NULL));
    for (int i = 0; i < 2; i++) {
        g_autofree char *greeting = NULL;

        fd[i] = connect_path(a);
        greeting = serve_and_read_line(ctx, fd[i]);
        g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": "));
    }
    fd[2] = connect_path(a);
    {
        g_autofree char *refused = serve_and_read_line(ctx, fd[2]);

        g_assert_cmpstr(refused, ==, "{\"error\": {\"class\": "
                        "\"GenericError\", \"desc\": \"too many monitor "
                        "clients (limit 2)\"}}\r");
    }
    g_assert_cmpint(recv(fd[2], &ch, 1, 0), ==, 0);     /* then EOF */
    g_assert_cmpuint(qmp_server_client_count(s), ==, 2);
    close(fd[2]);
    close(fd[0]);
    for (int i = 0; i < 1000 && qmp_server_client_count(s) > 1; i++)
        g_main_context_iteration(ctx, TRUE);
    fd[3] = connect_path(a);
    {
        g_autofree char *greeting = serve_and_read_line(ctx, fd[3]);

        g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": "));
    }
    close(fd[1]);
    close(fd[3]);
    qmp_server_free(s);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    g_rmdir(dir);
}

/* Without max-clients, 64 clients at a time. */
static void test_listen_max_clients_default(void)
{
    static const struct qmp_server_info info = {
        .major = 0, .minor = 1, .micro = 0, .package = "test",
    };
    GMainContext *ctx = g_main_context_new();
    g_autofree char *dir = g_dir_make_tmp("hotmem-qmp-XXXXXX", NULL);
    g_autofree char *a = g_build_filename(dir, "a.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", a);
    g_autofree char *refused = NULL;
    struct qmp_server *s;
    int fd[65];

    g_main_context_push_thread_default(ctx);
    s = qmp_server_new(&info);
    g_assert_true(qmp_server_listen(s, spec, NULL));
    for (int i = 0; i < 64; i++) {
        g_autofree char *greeting = NULL;

        fd[i] = connect_path(a);
        greeting = serve_and_read_line(ctx, fd[i]);
        g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": "));
    }
    fd[64] = connect_path(a);
    refused = serve_and_read_line(ctx, fd[64]);
    g_assert_nonnull(strstr(refused, "too many monitor clients (limit 64)"));
    for (int i = 0; i < 65; i++)
        close(fd[i]);
    qmp_server_free(s);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    g_rmdir(dir);
}

static void test_listen_bad_specs(void)
{
    g_autoptr(GMainContext) ctx = g_main_context_new();
    struct qmp_server *s = new_server(ctx, 0);

    for (size_t i = 0; i < G_N_ELEMENTS(bad_specs); i++) {
        GError *err = NULL;

        g_test_message("spec %s", bad_specs[i].spec);
        g_assert_false(qmp_server_listen(s, bad_specs[i].spec, &err));
        g_assert_nonnull(err);
        if (!strstr(err->message, bad_specs[i].error))
            g_error("'%s' does not mention %s", err->message,
                    bad_specs[i].error);
        g_error_free(err);
    }
    g_assert_false(g_file_test("/tmp/hotmem-test-qmp.sock",
                               G_FILE_TEST_EXISTS));
    qmp_server_free(s);
}

/* ---- the tokener between requests ------------------------------------ */

/* Feeds text (one whole value) and returns the value's member name. */
static char *feed_one(struct qmp_input *in, const char *text)
{
    json_object *value = NULL;
    char *error = NULL;
    size_t used = 0;
    char *key = NULL;

    g_assert_cmpint(qmp_input_feed(in, text, strlen(text), &used, &value,
                                   &error), ==, QMP_INPUT_VALUE);
    g_assert_null(error);
    g_assert_true(json_object_is_type(value, json_type_object));
    json_object_object_foreach(value, k, v) {
        (void)v;
        key = g_strdup(k);
    }
    json_object_put(value);
    return key;
}

/*
 * A client's tokener goes back to the server's spare between requests
 * and the next request takes it, reset, instead of making one (json-c
 * clears 40 KiB for its 1024 levels: more work than the request itself);
 * a second idle client's is freed, so idle clients never hold one.
 */
static void test_input_spare_tokener(void)
{
    struct json_tokener *spare = NULL, *first;
    struct qmp_input a, b;
    g_autofree char *k1 = NULL, *k2 = NULL, *k3 = NULL;

    qmp_input_init(&a, &spare);
    first = a.tok;
    g_assert_nonnull(first);
    k1 = feed_one(&a, "{\"one\": [1, {\"x\": 2}]}");
    g_assert_cmpstr(k1, ==, "one");
    g_assert_true(qmp_input_between_values(&a));
    qmp_input_release(&a, &spare);
    g_assert_null(a.tok);
    g_assert_true(spare == first);

    qmp_input_init(&a, &spare);             /* the next request */
    g_assert_true(a.tok == first);
    g_assert_null(spare);
    qmp_input_init(&b, &spare);             /* another client, none spare */
    g_assert_nonnull(b.tok);
    g_assert_true(b.tok != first);
    k2 = feed_one(&a, "{\"two\": 2}");
    k3 = feed_one(&b, "{'three': 3}");      /* QMP's single quotes */
    g_assert_cmpstr(k2, ==, "two");
    g_assert_cmpstr(k3, ==, "three");
    qmp_input_release(&a, &spare);
    qmp_input_release(&b, &spare);          /* spare taken: freed */
    g_assert_null(b.tok);
    g_assert_true(spare == first);
    json_tokener_free(spare);
}

/* ---- main ------------------------------------------------------------- */

#define ADD(path, fn) \
    g_test_add(path, struct fixture, NULL, fixture_setup, fn, fixture_teardown)
/* With this event rate-limit period (unsigned *). */
#define ADD_PERIOD(path, fn, period) \
    g_test_add(path, struct fixture, period, fixture_setup, fn, \
               fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("/qmp/greeting/shape", test_greeting_shape);
    ADD("/qmp/negotiation/required", test_negotiation_required);
    ADD("/qmp/negotiation/enable", test_negotiation_enable);
    ADD("/qmp/negotiation/twice", test_negotiation_twice);
    ADD("/qmp/oob/refused", test_oob_refused);
    ADD("/qmp/oob/overtakes", test_oob_overtakes);
    ADD("/qmp/request/id-echo", test_id_echo);
    ADD("/qmp/request/errors", test_input_errors);
    g_test_add_func("/qmp/input/spare-tokener", test_input_spare_tokener);
    ADD("/qmp/request/args", test_args);
    ADD("/qmp/request/query-commands", test_query_commands);
    g_test_add_func("/qmp/request/error-class-name", test_error_class_name);
    ADD("/qmp/input/two-in-one-write", test_input_two_in_one_write);
    ADD("/qmp/input/split", test_input_split);
    ADD("/qmp/input/malformed", test_input_malformed);
    ADD("/qmp/input/oversized", test_input_oversized);
    ADD("/qmp/input/nul-escape", test_input_nul_escape);
    ADD("/qmp/input/broken-line", test_input_broken_line);
    ADD("/qmp/input/numbers", test_input_numbers);
    ADD("/qmp/input/garbage-stream", test_input_garbage_stream);
    ADD("/qmp/async/other-client", test_async_other_client);
    ADD("/qmp/async/sequential", test_async_sequential);
    ADD("/qmp/async/disconnect-pending", test_async_disconnect);
    ADD("/qmp/async/backpressure", test_async_backpressure);
    ADD("/qmp/events/negotiated-only", test_events_negotiated_only);
    ADD("/qmp/events/threads", test_events_threads);
    ADD("/qmp/events/from-handler", test_events_from_handler);
    ADD("/qmp/events/before-reply", test_events_before_reply);
    ADD_PERIOD("/qmp/events/rate-limit", test_events_rate_limit,
               &long_period_ms);
    ADD_PERIOD("/qmp/events/rate-limit-period-end",
               test_events_rate_limit_period_end, &short_period_ms);
    ADD_PERIOD("/qmp/events/rate-limit-free", test_events_rate_limit_free,
               &long_period_ms);
    ADD("/qmp/output/slow-reader", test_output_slow_reader);
    ADD("/qmp/listen/unix-mode", test_listen_unix_mode);
    ADD("/qmp/listen/tcp", test_listen_tcp);
    ADD("/qmp/listen/connect-close", test_listen_connect_close);
    g_test_add_func("/qmp/listen/unix-files", test_listen_unix_files);
    g_test_add_func("/qmp/listen/tcp-addresses", test_listen_tcp_addresses);
    g_test_add_func("/qmp/listen/bad-specs", test_listen_bad_specs);
    g_test_add_func("/qmp/listen/fd-not-listening",
                    test_listen_fd_not_listening);
    g_test_add_func("/qmp/listen/wait", test_listen_wait);
    g_test_add_func("/qmp/listen/max-clients", test_listen_max_clients);
    g_test_add_func("/qmp/listen/max-clients-default",
                    test_listen_max_clients_default);
    return g_test_run();
}
