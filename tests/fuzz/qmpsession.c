/* QMP client sessions for the fuzz targets (qmpsession.h). */
#include "qmpsession.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "fuzzvm.h"
#include "monitor/qmp_internal.h"

static void drain(int fd, GString *out)
{
    char buf[4096];
    ssize_t n;

    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        g_string_append_len(out, buf, n);
}

static void iterate(void)
{
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

/* The server has read everything sent and has nothing left to do for it. */
static bool client_idle(struct qmp_client *c, int server_fd)
{
    int unread = 0;

    if (c->closed)
        return true;
    if (ioctl(server_fd, FIONREAD, &unread) < 0)
        fuzz_fail("FIONREAD on the server's socket: %s", g_strerror(errno));
    /* The input buffer goes once it is all used (qmp.c). */
    return unread == 0 && !c->pending && !c->inbuf && !c->resume;
}

GString *qmp_session_run(struct qmp_server *s, const uint8_t *data,
                         size_t len)
{
    GString *out = g_string_new(NULL);
    struct qmp_client *c;
    size_t pos = 0;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   sv) < 0)
        fuzz_fail("socketpair: %s", g_strerror(errno));
    qmp_server_add_client(s, sv[0], 0);
    c = qmp_client_ref(g_ptr_array_index(s->clients, s->clients->len - 1));
    for (;;) {
        while (pos < len) {
            ssize_t n = send(sv[1], data + pos, len - pos,
                             MSG_DONTWAIT | MSG_NOSIGNAL);

            if (n <= 0)
                break;
            pos += n;
        }
        iterate();
        drain(sv[1], out);
        if (pos == len && client_idle(c, sv[0]))
            break;
        if (c->pending)     /* an asynchronous command: wait for it */
            g_main_context_iteration(NULL, TRUE);
    }
    close(sv[1]);
    while (!c->closed)
        g_main_context_iteration(NULL, TRUE);
    qmp_client_unref(c);
    if (g_getenv("FUZZ_VERBOSE"))     /* replaying one input by hand */
        fprintf(stderr, "%s", out->str);
    return out;
}

static const char *const error_classes[] = {
    "GenericError", "CommandNotFound", "DeviceNotFound", "DeviceNotActive",
    "KVMMissingCap",
};

static bool known_class(const char *cls)
{
    for (size_t i = 0; i < G_N_ELEMENTS(error_classes); i++) {
        if (!strcmp(cls, error_classes[i]))
            return true;
    }
    return false;
}

static bool has_only(json_object *o, const char *const *allowed)
{
    json_object_object_foreach(o, key, v) {
        bool ok = false;

        (void)v;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(key, *a);
        if (!ok)
            return false;
    }
    return true;
}

static bool is_string(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) &&
           json_object_is_type(v, json_type_string);
}

static bool valid_error(json_object *msg)
{
    static const char *const keys[] = { "class", "desc", NULL };
    json_object *e = json_object_object_get(msg, "error");

    return json_object_is_type(e, json_type_object) && has_only(e, keys) &&
           is_string(e, "class") && is_string(e, "desc") &&
           known_class(json_object_get_string(
               json_object_object_get(e, "class"))) &&
           json_object_get_string_len(json_object_object_get(e, "desc")) > 0;
}

static bool valid_event(json_object *msg)
{
    static const char *const ts_keys[] = { "seconds", "microseconds", NULL };
    json_object *ts = json_object_object_get(msg, "timestamp");

    return is_string(msg, "event") &&
           json_object_is_type(ts, json_type_object) &&
           has_only(ts, ts_keys) &&
           json_object_is_type(json_object_object_get(ts, "seconds"),
                               json_type_int);
}

/* Returns 1 for a reply, 0 for an event; aborts on anything else. */
static unsigned check_message(json_object *msg, const char *line)
{
    static const char *const reply_keys[] = { "return", "id", NULL };
    static const char *const error_keys[] = { "error", "id", NULL };
    static const char *const event_keys[] = { "event", "timestamp", "data",
                                              NULL };

    if (!json_object_is_type(msg, json_type_object))
        fuzz_fail("QMP output is not a JSON object: %s", line);
    if (json_object_object_get_ex(msg, "return", NULL)) {
        if (!has_only(msg, reply_keys))
            fuzz_fail("QMP reply with extra members: %s", line);
        return 1;
    }
    if (json_object_object_get_ex(msg, "error", NULL)) {
        if (!has_only(msg, error_keys) || !valid_error(msg))
            fuzz_fail("malformed QMP error: %s", line);
        return 1;
    }
    if (json_object_object_get_ex(msg, "event", NULL)) {
        if (!has_only(msg, event_keys) || !valid_event(msg))
            fuzz_fail("malformed QMP event: %s", line);
        return 0;
    }
    fuzz_fail("QMP output neither reply, error nor event: %s", line);
}

unsigned qmp_session_check(const GString *out)
{
    struct json_tokener *tok = json_tokener_new();
    unsigned replies = 0;
    size_t pos = 0;
    bool first = true;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    for (size_t i = 0; i < out->len; i++) {
        if ((unsigned char)out->str[i] >= 0x80 || out->str[i] == '\0')
            fuzz_fail("QMP output byte 0x%02x at %zu is not ASCII text",
                      (unsigned char)out->str[i], i);
    }
    if (out->len && !g_str_has_suffix(out->str, "\r\n"))
        fuzz_fail("QMP output does not end with CRLF");
    while (pos < out->len) {
        const char *line = out->str + pos;
        const char *end = strstr(line, "\r\n");
        size_t n = end - line;
        g_autofree char *text = g_strndup(line, n);
        json_object *msg;

        json_tokener_reset(tok);
        msg = json_tokener_parse_ex(tok, text, (int)n);
        if (!msg || json_tokener_get_parse_end(tok) != n)
            fuzz_fail("QMP output line is not one JSON value: %s", text);
        if (first) {
            if (!json_object_is_type(msg, json_type_object) ||
                !json_object_object_get_ex(msg, "QMP", NULL))
                fuzz_fail("QMP output does not start with the greeting: %s",
                          text);
            first = false;
        } else {
            replies += check_message(msg, text);
        }
        json_object_put(msg);
        pos += n + 2;
    }
    if (first)
        fuzz_fail("no QMP greeting");
    json_tokener_free(tok);
    return replies;
}
