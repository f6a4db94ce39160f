/*
 * Listening sockets for the QMP server, from QEMU-style chardev specs:
 *
 *   unix:PATH,server=on,wait=off
 *   tcp:HOST:PORT,server=on,wait=off      (HOST may be empty or [IPv6])
 *   fd:N,server=on,wait=off               (a listening socket inherited as
 *                                          fd N: libvirt's -chardev fd=N)
 *
 * QEMU's legacy flag spellings "server" and "nowait" are accepted, and ",,"
 * stands for a literal comma in the address, as in QEMU's option syntax.
 * We only listen, so server=on is required. wait=on (QEMU's default when
 * wait is not given) makes startup wait until a client has connected on
 * that listener: see qmp_server_waiting(). max-clients=N (hotmem's own,
 * default QMP_DEFAULT_MAX_CLIENTS) caps the clients connected through one
 * spec at a time: the one over it gets an error line and is disconnected.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "errors.h"
#include "props.h"
#include "monitor/qmp_internal.h"

#define QMP_LISTEN_BACKLOG 16
/* After accept() fails for lack of resources, wait this long (ms). */
#define QMP_ACCEPT_PAUSE_MS 100
/* max-clients: each client holds an fd and, idle, some 0.6 KiB of heap
 * (docs/qmp.md, "What a client costs"). */
#define QMP_DEFAULT_MAX_CLIENTS 64
#define QMP_MAX_MAX_CLIENTS     4096

struct qmp_listener {
    struct qmp_server *server;
    int fd;
    GSource *src;
    gpointer tag;
    GSource *pause;             /* re-arms src after an accept failure */
    char *path;                 /* UNIX socket file we created, or NULL */
    unsigned spec_id;           /* listeners from one spec share it */
    bool wait;                  /* the spec said wait=on */
    unsigned max_clients;       /* of the spec, connected at a time */
    bool accepted;              /* a client has connected here */
    dev_t dev;                  /* ... and its identity, so we never */
    ino_t ino;                  /* unlink a successor's socket */
};

struct listen_spec {
    bool is_unix;
    int fd;                     /* fd:N, or -1 */
    char *address;              /* PATH or HOST:PORT */
    int server;                 /* -1 when not given */
    int wait;
    unsigned max_clients;
};

/* ---- spec parsing ----------------------------------------------------- */

/* Splits at ',' where ",," is an escaped comma. */
static GPtrArray *split_options(const char *spec)
{
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);

    for (const char *p = spec; *p; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',') {
            g_ptr_array_add(parts, g_string_free(cur, FALSE));
            cur = g_string_new(NULL);
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_ptr_array_add(parts, g_string_free(cur, FALSE));
    return parts;
}

static bool parse_max_clients(struct listen_spec *ls, const char *value,
                              const char *spec, GError **err)
{
    uint64_t n = 0;
    bool overflow = false;
    const char *end = props_parse_digits(value, &n, &overflow);

    if (end == value || *end || overflow || n < 1 ||
        n > QMP_MAX_MAX_CLIENTS) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "max-clients '%s' in monitor address '%s' must be a "
                    "number from 1 to %d", value, spec, QMP_MAX_MAX_CLIENTS);
        return false;
    }
    ls->max_clients = (unsigned)n;
    return true;
}

/* One "key=value", or a legacy bare flag ("server", "nowait"). */
static bool parse_option(struct listen_spec *ls, const char *opt,
                         const char *spec, GError **err)
{
    g_autofree char *key = g_strdup(opt);
    char *eq = strchr(key, '=');
    const char *value = "on";
    bool b;

    if (eq) {
        *eq = '\0';
        value = eq + 1;
    } else if (g_str_has_prefix(key, "no") &&
               (!strcmp(key, "nowait") || !strcmp(key, "noserver"))) {
        memmove(key, key + 2, strlen(key + 2) + 1);
        value = "off";
    }
    if (!strcmp(key, "max-clients"))
        return parse_max_clients(ls, value, spec, err);
    if (strcmp(key, "server") != 0 && strcmp(key, "wait") != 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "unknown option '%s' in monitor address '%s' (known: "
                    "server, wait, max-clients)", key, spec);
        return false;
    }
    if (!props_parse_bool(value, &b)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "option '%s' in monitor address '%s' must be on or off, "
                    "not '%s'", key, spec, value);
        return false;
    }
    *(!strcmp(key, "server") ? &ls->server : &ls->wait) = b;
    return true;
}

static bool parse_spec(const char *spec, struct listen_spec *ls,
                       GError **err)
{
    g_autoptr(GPtrArray) parts = split_options(spec);
    const char *addr = g_ptr_array_index(parts, 0);

    ls->server = ls->wait = -1;
    ls->fd = -1;
    ls->max_clients = QMP_DEFAULT_MAX_CLIENTS;
    if (g_str_has_prefix(addr, "fd:")) {
        uint64_t n = 0;
        bool overflow = false;
        const char *end = props_parse_digits(addr + 3, &n, &overflow);

        if (end == addr + 3 || *end || overflow || n > INT32_MAX) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "fd '%s' in "
                        "monitor address '%s' is not a descriptor number",
                        addr + 3, spec);
            return false;
        }
        ls->fd = (int)n;
    } else if (g_str_has_prefix(addr, "unix:")) {
        ls->is_unix = true;
        ls->address = g_strdup(addr + 5);
    } else if (g_str_has_prefix(addr, "tcp:")) {
        ls->address = g_strdup(addr + 4);
    } else {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "monitor address '%s' "
                    "must start with unix: or tcp: (or fd:N, an inherited listening "
                    "socket)", spec);
        return false;
    }
    for (guint i = 1; i < parts->len; i++)
        if (!parse_option(ls, g_ptr_array_index(parts, i), spec, err))
            return false;
    if (ls->server != 1) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "monitor address '%s' "
                    "needs server=on: hotmem only listens", spec);
        return false;
    }
    return true;
}

/* ---- accepting -------------------------------------------------------- */

static gboolean listener_resume(gpointer opaque)
{
    struct qmp_listener *l = opaque;

    g_source_unref(l->pause);
    l->pause = NULL;
    g_source_modify_unix_fd(l->src, l->tag, G_IO_IN);
    return G_SOURCE_REMOVE;
}

/* Out of fds or memory: the listening socket stays readable, so stop
 * polling it for a moment rather than spinning. */
static void listener_pause(struct qmp_listener *l)
{
    g_source_modify_unix_fd(l->src, l->tag, 0);
    l->pause = g_timeout_source_new(QMP_ACCEPT_PAUSE_MS);
    g_source_set_callback(l->pause, listener_resume, l, NULL);
    g_source_attach(l->pause, l->server->ctx);
}

/* Clients connected through the listeners of spec_id. */
static unsigned spec_clients(struct qmp_server *s, unsigned spec_id)
{
    unsigned n = 0;

    for (guint i = 0; i < s->clients->len; i++) {
        struct qmp_client *c = g_ptr_array_index(s->clients, i);

        n += c->spec_id == spec_id;
    }
    return n;
}

/*
 * One client too many: an error line instead of the greeting, then close.
 * The socket is new and empty, so the short line fits without waiting.
 */
static void refuse_client(struct qmp_listener *l, int fd)
{
    g_autofree char *line = g_strdup_printf(
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"too many "
        "monitor clients (limit %u)\"}}\r\n", l->max_clients);
    ssize_t n = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);

    (void)n;                    /* a client already gone misses nothing */
    shutdown(fd, SHUT_WR);
    close(fd);
}

static gboolean listener_ready(GIOCondition revents, void *opaque)
{
    struct qmp_listener *l = opaque;

    for (int i = 0; i < QMP_LISTEN_BACKLOG; i++) {
        int one = 1;
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                listener_pause(l);
            break;
        }
        if (!l->path)   /* replies are single writes: no Nagle delays */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        l->accepted = true;
        if (spec_clients(l->server, l->spec_id) >= l->max_clients)
            refuse_client(l, fd);
        else
            qmp_server_add_client(l->server, fd, l->spec_id);
    }
    return G_SOURCE_CONTINUE;
}

static void listener_add(struct qmp_server *s, int fd, const char *path)
{
    struct qmp_listener *l = g_new0(struct qmp_listener, 1);
    struct stat st;

    l->server = s;
    l->fd = fd;
    if (path && lstat(path, &st) == 0) {
        l->path = g_strdup(path);
        l->dev = st.st_dev;
        l->ino = st.st_ino;
    }
    l->src = qmp_fd_source_new(fd, G_IO_IN, listener_ready, l, &l->tag);
    g_source_attach(l->src, s->ctx);
    g_ptr_array_add(s->listeners, l);
}

void qmp_listener_free(struct qmp_listener *l)
{
    struct stat st;

    if (l->pause) {
        g_source_destroy(l->pause);
        g_source_unref(l->pause);
    }
    g_source_destroy(l->src);
    g_source_unref(l->src);
    close(l->fd);
    if (l->path && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
        st.st_ino == l->ino)
        unlink(l->path);
    g_free(l->path);
    g_free(l);
}

/* ---- UNIX sockets ----------------------------------------------------- */

/* A socket file left by an earlier run is replaced; anything else is not. */
static bool unlink_stale(const char *path, GError **err)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return true;
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "cannot listen on "
                    "'%s': it exists and is not a socket", path);
        return false;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "cannot remove stale "
                    "socket '%s': %s", path, g_strerror(errno));
        return false;
    }
    return true;
}

static bool bind_unix(int fd, const char *path, GError **err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;

    strcpy(sa.sun_path, path);
    /*
     * Linux creates the socket file with the socket inode's mode (minus
     * the umask), so restricting the inode first leaves no window in which
     * other users could connect. umask() would do it too but is
     * process-wide and other threads may be creating files.
     */
    if (fchmod(fd, 0600) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "cannot bind UNIX "
                    "socket '%s': %s", path, g_strerror(errno));
        return false;
    }
    /* Belt and braces for kernels that ignore the inode's mode. */
    if (lstat(path, &st) == 0 && (st.st_mode & 0077) && chmod(path, 0600) < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "cannot make '%s' "
                    "mode 0600: %s", path, g_strerror(errno));
        unlink(path);
        return false;
    }
    return true;
}

static bool listen_unix(struct qmp_server *s, const char *path, GError **err)
{
    struct sockaddr_un sa;
    int fd;

    if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "UNIX socket path "
                    "'%s' must be 1 to %zu bytes long", path,
                    sizeof(sa.sun_path) - 1);
        return false;
    }
    if (!unlink_stale(path, err))
        return false;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO,
                    "cannot create UNIX socket: %s", g_strerror(errno));
        return false;
    }
    if (!bind_unix(fd, path, err)) {
        close(fd);
        return false;
    }
    if (listen(fd, QMP_LISTEN_BACKLOG) < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "cannot listen on "
                    "'%s': %s", path, g_strerror(errno));
        close(fd);
        unlink(path);
        return false;
    }
    listener_add(s, fd, path);
    return true;
}

/* ---- inherited sockets ------------------------------------------------ */

/*
 * fd N: a socket someone else bound and listens on (libvirt passes its
 * monitor socket this way). It must be a listening stream socket; it
 * becomes non-blocking and close-on-exec, and is closed with the server.
 */
static bool listen_fd(struct qmp_server *s, int fd, GError **err)
{
    int listening = 0, type = 0, flags;
    socklen_t len = sizeof(listening), tlen = sizeof(type);

    if (fcntl(fd, F_GETFD) < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "fd %d is not open: "
                    "a monitor socket passed as fd=N must be inherited "
                    "open", fd);
        return false;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
        type != SOCK_STREAM ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
        !listening) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "fd %d is not a "
                    "listening stream socket (bind and listen before "
                    "passing it, as libvirt does)", fd);
        return false;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "fd %d: cannot make it "
                    "non-blocking: %s", fd, g_strerror(errno));
        return false;
    }
    listener_add(s, fd, NULL);
    return true;
}

/* ---- TCP sockets ------------------------------------------------------ */

/* "HOST:PORT", "[V6]:PORT" or ":PORT" into host (NULL = any) and port. */
static bool split_host_port(const char *address, char **host, char **port,
                            GError **err)
{
    const char *colon = strrchr(address, ':');
    char *end;
    unsigned long n;

    if (!colon) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "TCP monitor address "
                    "'%s' must be HOST:PORT", address);
        return false;
    }
    errno = 0;
    n = strtoul(colon + 1, &end, 10);
    if (!g_ascii_isdigit(colon[1]) || *end || errno || n > 65535) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "invalid port '%s' in "
                    "TCP monitor address '%s': must be 0 to 65535",
                    colon + 1, address);
        return false;
    }
    *host = g_strndup(address, colon - address);
    if (**host == '[' && colon > address + 1 && colon[-1] == ']') {
        char *inner = g_strndup(*host + 1, strlen(*host) - 2);

        g_free(*host);
        *host = inner;
    }
    *port = g_strdup(colon + 1);
    return true;
}

/* Returns the listening fd, or -1 with errno set. */
static int tcp_socket(const struct addrinfo *ai)
{
    int one = 1;
    int fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Lets "::" and "0.0.0.0" from one lookup both bind. */
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(fd, QMP_LISTEN_BACKLOG) < 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Listens on every address the host name resolves to. */
static bool listen_tcp(struct qmp_server *s, const char *address,
                       GError **err)
{
    g_autofree char *host = NULL, *port = NULL;
    struct addrinfo hints = { .ai_flags = AI_PASSIVE,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *res;
    int rc, last_errno = 0, bound = 0;

    if (!split_host_port(address, &host, &port, err))
        return false;
    rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "cannot resolve "
                    "'%s': %s", address, gai_strerror(rc));
        return false;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = tcp_socket(ai);

        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        listener_add(s, fd, NULL);
        bound++;
    }
    freeaddrinfo(res);
    if (!bound)
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "cannot listen on "
                    "'%s': %s", address, g_strerror(last_errno));
    return bound > 0;
}

bool qmp_server_listen(struct qmp_server *s, const char *spec, GError **err)
{
    struct listen_spec ls = { 0 };
    guint first = s->listeners->len;
    bool ok;

    ok = parse_spec(spec, &ls, err);
    if (ok && ls.fd >= 0)
        ok = listen_fd(s, ls.fd, err);
    else if (ok && ls.is_unix)
        ok = listen_unix(s, ls.address, err);
    else if (ok)
        ok = listen_tcp(s, ls.address, err);
    /* One spec may give several listeners (TCP on IPv4 and IPv6). */
    for (guint i = first; ok && i < s->listeners->len; i++) {
        struct qmp_listener *l = g_ptr_array_index(s->listeners, i);

        l->spec_id = first + 1;
        l->wait = ls.wait != 0;     /* absent means on, as in QEMU */
        l->max_clients = ls.max_clients;
    }
    g_free(ls.address);
    return ok;
}

/* True when some listener of spec_id has had a client. */
static bool spec_connected(struct qmp_server *s, unsigned spec_id)
{
    for (guint i = 0; i < s->listeners->len; i++) {
        struct qmp_listener *l = g_ptr_array_index(s->listeners, i);

        if (l->spec_id == spec_id && l->accepted)
            return true;
    }
    return false;
}

bool qmp_server_waiting(struct qmp_server *s)
{
    for (guint i = 0; i < s->listeners->len; i++) {
        struct qmp_listener *l = g_ptr_array_index(s->listeners, i);

        if (l->wait && !spec_connected(s, l->spec_id))
            return true;
    }
    return false;
}
