/* Kernel, initramfs and ring-0 speed for the Linux tests (linuxenv.h). */
#include "linuxenv.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmrunner.h"

#define EXIT_SKIP 77

static char *script_path(const char *name)
{
    const char *dir = g_getenv("HOTMEM_LINUX_DIR");

    return g_build_filename(dir ? dir : "tests/linux", name, NULL);
}

/* Runs a script; its stdout in *out. SKIP on exit 77, FAIL otherwise. */
static enum linux_env_status run_script(const char *name, char **out,
                                        char **why)
{
    g_autofree char *path = script_path(name);
    g_autofree char *err_text = NULL;
    g_autoptr(GError) err = NULL;
    char *argv[] = { path, NULL };
    int status;

    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out,
                      &err_text, &status, &err)) {
        *why = g_strdup_printf("%s: %s", path, err->message);
        return LINUX_ENV_FAIL;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return LINUX_ENV_OK;
    g_clear_pointer(out, g_free);
    g_strstrip(err_text);
    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP) {
        const char *last = strrchr(err_text, '\n');

        *why = g_strdup(last ? last + 1 : err_text);
        return LINUX_ENV_SKIP;
    }
    *why = g_strdup_printf("%s failed (status 0x%x):\n%s", path, status,
                           err_text);
    return LINUX_ENV_FAIL;
}

/* The value of KEY= in the script's KEY=VALUE lines, or NULL. */
static char *value_of(const char *out, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    size_t klen = strlen(key);

    for (char **l = lines; *l; l++) {
        if (!strncmp(*l, key, klen) && (*l)[klen] == '=')
            return g_strdup(*l + klen + 1);
    }
    return NULL;
}

enum linux_env_status linux_kernel_get(struct linux_kernel *k, char **why)
{
    g_autofree char *out = NULL;
    enum linux_env_status st = run_script("get-kernel.sh", &out, why);

    *k = (struct linux_kernel){ 0 };
    if (st != LINUX_ENV_OK)
        return st;
    k->vmlinuz = value_of(out, "VMLINUZ");
    k->vmlinux = value_of(out, "VMLINUX");
    k->package = value_of(out, "KPACKAGE");
    k->version = value_of(out, "KVERSION");
    if (k->vmlinuz && k->vmlinux)
        return LINUX_ENV_OK;
    *why = g_strdup_printf("get-kernel.sh printed no VMLINUZ/VMLINUX:\n%s",
                           out);
    linux_kernel_clear(k);
    return LINUX_ENV_FAIL;
}

void linux_kernel_clear(struct linux_kernel *k)
{
    g_free(k->vmlinuz);
    g_free(k->vmlinux);
    g_free(k->package);
    g_free(k->version);
    *k = (struct linux_kernel){ 0 };
}

enum linux_env_status linux_initramfs_get(char **path, char **why)
{
    g_autofree char *out = NULL;
    enum linux_env_status st = run_script("mkinitramfs.sh", &out, why);

    *path = NULL;
    if (st != LINUX_ENV_OK)
        return st;
    *path = value_of(out, "INITRAMFS");
    if (*path)
        return LINUX_ENV_OK;
    *why = g_strdup_printf("mkinitramfs.sh printed no INITRAMFS:\n%s", out);
    return LINUX_ENV_FAIL;
}

#define GUEST_TIMEOUT_MS 60000

/*
 * A nested host shares its CPUs with whatever else the machine runs, and
 * one measurement can come out far too low: up to three, stopping at the
 * first fast enough, and the best counts.
 */
#define RING0_TRIES 3

enum linux_env_status linux_ring0_mips(double *mips, char **line, char **why)
{
    static const char *const args[] = { "-m", "64M", NULL };
    const char *nokvm = vm_kvm_unavailable();
    g_autofree char *ready = NULL, *best = NULL;
    double best_mips = -1;
    struct vm *vm;

    if (nokvm) {
        *why = g_strdup(nokvm);
        return LINUX_ENV_SKIP;
    }
    vm = vm_spawn(args);
    ready = vm_wait_line(vm, "hotmem-guest: ready", GUEST_TIMEOUT_MS);
    for (int i = 0; ready && i < RING0_TRIES &&
                    best_mips < LINUX_MIN_RING0_MIPS; i++) {
        g_autofree char *report = NULL;
        const char *v;

        if (vm_send(vm, "ring0-mips"))
            report = vm_wait_line(vm, "hotmem-guest: ring0 ",
                                  GUEST_TIMEOUT_MS);
        v = report ? strstr(report, "mips=") : NULL;
        if (!v)
            break;
        if (g_ascii_strtod(v + 5, NULL) > best_mips) {
            best_mips = g_ascii_strtod(v + 5, NULL);
            g_free(best);
            best = g_steal_pointer(&report);
        }
    }
    if (!best) {
        *why = g_strdup_printf("hotmem-guest gave no ring0 report; console:\n"
                               "%s\nstderr:\n%s", vm_console(vm),
                               vm_stderr(vm));
        vm_free(vm);
        return LINUX_ENV_FAIL;
    }
    if (vm_send(vm, "poweroff"))
        vm_wait_exit(vm, 10000);
    vm_free(vm);
    *mips = best_mips;
    if (line)
        *line = g_steal_pointer(&best);
    return LINUX_ENV_OK;
}

char *linux_too_slow_message(double mips)
{
    return g_strdup_printf("KVM here emulates guest kernel code at %.1f MIPS; "
                           "needs a hardware-virtualization host (at least "
                           "%d MIPS to boot Linux to a shell)", mips,
                           LINUX_MIN_RING0_MIPS);
}

struct linux_qmp {
    int fd;
    GString *buf;
    GQueue events;      /* json_object * */
};

/* Next message from the monitor, or NULL at EOF or timeout. */
static json_object *qmp_read(struct linux_qmp *q, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    char chunk[8192];

    for (;;) {
        char *nl = strchr(q->buf->str, '\n');

        if (nl) {
            g_autofree char *line = g_strndup(q->buf->str, nl - q->buf->str);
            json_object *o;

            g_string_erase(q->buf, 0, nl + 1 - q->buf->str);
            o = json_tokener_parse(line);
            if (o)
                return o;
            continue;
        }
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        struct pollfd p = { q->fd, POLLIN, 0 };

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return NULL;
        ssize_t n = read(q->fd, chunk, sizeof(chunk));

        if (n <= 0)
            return NULL;
        g_string_append_len(q->buf, chunk, n);
    }
}

/* The next message that is not an event; events are queued. */
static json_object *qmp_reply(struct linux_qmp *q, int timeout_ms)
{
    for (;;) {
        json_object *o = qmp_read(q, timeout_ms);

        if (!o || !json_object_object_get_ex(o, "event", NULL))
            return o;
        g_queue_push_tail(&q->events, o);
    }
}

struct linux_qmp *linux_qmp_open(const char *path, int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    struct linux_qmp *q = g_new0(struct linux_qmp, 1);
    json_object *o;

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    q->buf = g_string_new(NULL);
    g_queue_init(&q->events);
    for (q->fd = -1; q->fd < 0 && g_get_monotonic_time() < end;) {
        q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            close(q->fd);
            q->fd = -1;
            g_usleep(20000);
        }
    }
    o = q->fd >= 0 ? qmp_reply(q, timeout_ms) : NULL;     /* greeting */
    if (!o) {
        linux_qmp_close(q);
        return NULL;
    }
    json_object_put(o);
    o = linux_qmp_execute(q, "{\"execute\": \"qmp_capabilities\"}");
    if (!o || !json_object_object_get_ex(o, "return", NULL)) {
        json_object_put(o);
        linux_qmp_close(q);
        return NULL;
    }
    json_object_put(o);
    return q;
}

static void put_json(gpointer o)
{
    json_object_put(o);
}

void linux_qmp_close(struct linux_qmp *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    g_string_free(q->buf, TRUE);
    g_queue_clear_full(&q->events, put_json);
    g_free(q);
}

json_object *linux_qmp_execute(struct linux_qmp *q, const char *json)
{
    g_autofree char *line = g_strconcat(json, "\r\n", NULL);
    size_t len = strlen(line);

    if (write(q->fd, line, len) != (ssize_t)len)
        return NULL;
    return qmp_reply(q, 600000);
}

static bool event_is(json_object *o, const char *name)
{
    json_object *v;

    return json_object_object_get_ex(o, "event", &v) &&
           !g_strcmp0(json_object_get_string(v), name);
}

json_object *linux_qmp_event(struct linux_qmp *q, const char *name,
                             int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        for (GList *l = q->events.head; l; l = l->next) {
            if (event_is(l->data, name)) {
                json_object *o = l->data;

                g_queue_delete_link(&q->events, l);
                return o;
            }
        }
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        json_object *o = left > 0 ? qmp_read(q, (int)left) : NULL;

        if (!o)
            return NULL;
        g_queue_push_tail(&q->events, o);
    }
}
