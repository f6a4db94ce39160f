/* What the migration benchmarks share (migrun.h). */
#include "migrun.h"

#include <string.h>
#include <glib/gstdio.h>

#include "cli/cli.h"

#include "benchstat.h"
#include "qmpline.h"
#include "vmrunner.h"

bool mig_side_start(const char *bin, const char *const *args,
                    const char *dir, const char *name, int timeout_ms,
                    struct mig_side *s, GError **err)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);

    s->sock = g_strdup_printf("%s/%s.sock", dir, name);
    g_unlink(s->sock);
    for (size_t i = 0; args[i]; i++)
        g_ptr_array_add(a, g_strdup(args[i]));
    g_ptr_array_add(a, g_strdup("-qmp"));
    g_ptr_array_add(a, g_strdup_printf("unix:%s,server=on,wait=off",
                                       s->sock));
    g_ptr_array_add(a, NULL);
    s->vm = vm_spawn_program(bin, (const char *const *)a->pdata);
    s->q = qline_open(s->sock, vm_pid(s->vm), timeout_ms, err);
    return s->q && qline_call(s->q, timeout_ms, err,
                              "{\"execute\": \"qmp_capabilities\"}");
}

void mig_side_free(struct mig_side *s)
{
    if (s->q)
        qline_close(s->q);
    if (s->vm)
        vm_free(s->vm);
    if (s->sock)
        g_unlink(s->sock);
    g_free(s->sock);
    memset(s, 0, sizeof(*s));
}

double mig_field(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, a, &v))
        return -1;
    if (b && !json_object_object_get_ex(v, b, &v))
        return -1;
    return json_object_get_double(v);
}

/* The return object of one call of a query command; NULL on failure. */
static json_object *query(struct qline *q, const char *command,
                          int timeout_ms, GError **err)
{
    json_object *r, *ret;

    if (!qline_send(q, err, "{\"execute\": \"%s\"}", command))
        return NULL;
    r = qline_reply(q, timeout_ms, err);
    if (!r)
        return NULL;
    if (!json_object_object_get_ex(r, "return", &ret)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s",
                    command, json_object_to_json_string(r));
        json_object_put(r);
        return NULL;
    }
    json_object_get(ret);
    json_object_put(r);
    return ret;
}

static const char *status_of(json_object *ret)
{
    json_object *st;

    return json_object_object_get_ex(ret, "status", &st)
        ? json_object_get_string(st) : "";
}

json_object *mig_wait_completed(struct qline *q, int timeout_ms,
                                GError **err)
{
    double end = bench_now_ms() + timeout_ms;

    while (bench_now_ms() < end) {
        json_object *ret = query(q, "query-migrate", timeout_ms, err);
        const char *status;

        if (!ret)
            return NULL;
        status = status_of(ret);
        if (!strcmp(status, "completed")) {
            /*
             * QEMU says completed a moment before it has filled in the
             * times (a total-time of 0 was seen): read them once more.
             */
            json_object_put(ret);
            g_usleep(20000);
            return query(q, "query-migrate", timeout_ms, err);
        }
        if (!strcmp(status, "failed") || !strcmp(status, "cancelled")) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "migration %s: %s", status,
                        json_object_to_json_string(ret));
            json_object_put(ret);
            return NULL;
        }
        json_object_put(ret);
        g_usleep(5000);
    }
    g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                "the migration did not complete within %d s (a guest "
                "dirtying faster than the link does not converge)",
                timeout_ms / 1000);
    return NULL;
}

bool mig_destination_runs(struct mig_side *d, bool ping, int timeout_ms,
                          GError **err)
{
    double end = bench_now_ms() + timeout_ms;
    g_autofree char *pong = NULL;
    bool running = false;

    while (!running && bench_now_ms() < end) {
        json_object *ret = query(d->q, "query-status", timeout_ms, err);

        if (!ret)
            return false;
        running = !strcmp(status_of(ret), "running");
        json_object_put(ret);
        if (!running)
            g_usleep(5000);
    }
    if (!running) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "the destination is not running after %d s",
                    timeout_ms / 1000);
        return false;
    }
    if (!ping)
        return true;
    vm_send(d->vm, "ping");
    pong = vm_wait_line(d->vm, "hotmem-guest: pong", timeout_ms);
    if (!pong)
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "the migrated guest does not answer its console");
    return pong != NULL;
}

void mig_add_stderr(GError **err, struct mig_side *src, struct mig_side *dst)
{
    struct mig_side *sides[] = { src, dst };

    if (!err || !*err)
        return;
    for (int i = 0; i < 2; i++) {
        const char *e = sides[i]->vm ? vm_stderr(sides[i]->vm) : "";
        size_t len = strlen(e);
        g_autofree char *tail = g_strchomp(g_strdup(e + (len > 300 ?
                                                         len - 300 : 0)));

        if (*tail)
            g_prefix_error(err, "[%s stderr: %s] ", i ? "dst" : "src", tail);
    }
}

void mig_add(struct mig_samples *s, double v)
{
    if (s->n < MIG_MAX_ROUNDS)
        s->v[s->n++] = v;
}

char *mig_spread(const struct mig_samples *s, int decimals, double *median)
{
    double v[MIG_MAX_ROUNDS], med;

    if (median)
        *median = 0;
    if (!s->n)
        return g_strdup("-");
    memcpy(v, s->v, s->n * sizeof(double));
    med = bench_median(v, s->n);
    if (median)
        *median = med;
    return g_strdup_printf("%.*f [%.*f-%.*f]", decimals, med, decimals, v[0],
                           decimals, v[s->n - 1]);
}

bool mig_parse_sizes(const char *text, uint64_t min, uint64_t align,
                     uint64_t *sizes, unsigned max, unsigned *n,
                     GError **err)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);

    *n = g_strv_length(parts);
    if (*n < 1 || *n > max) {
        g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--sizes takes 1 to %u sizes separated by commas, not "
                    "\"%s\"", max, text);
        return false;
    }
    for (unsigned i = 0; i < *n; i++) {
        if (!cli_parse_size(parts[i], (uint64_t)1 << 20, &sizes[i], err))
            return false;
        if (sizes[i] < min || sizes[i] % align) {
            g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--sizes: %s is below %" G_GUINT64_FORMAT " MiB or "
                        "not a multiple of %" G_GUINT64_FORMAT " MiB",
                        parts[i], (guint64)(min >> 20),
                        (guint64)(align >> 20));
            return false;
        }
    }
    return true;
}
