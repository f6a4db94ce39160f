/*
 * bench/vs-qemu, paused VMs (vsq.h): exec -> QMP greeting and the VMM's
 * memory after negotiation for hotmem, QEMU and the bare-KVM floor;
 * query-status round trips; query-memory-devices with many DIMMs; and
 * preallocation through object-add at 1 and 2 threads. Every round runs
 * each VMM once, in an order rotated from round to round.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "benchstat.h"
#include "qmpline.h"
#include "vmrunner.h"
#include "vsq.h"

#define MIB ((uint64_t)1 << 20)
#define START_TIMEOUT_MS 120000
#define CALL_TIMEOUT_MS 600000
#define DIMM_SIZE (128 * MIB)
#define QMD_CALLS 10

struct running {
    struct vm *vm;
    struct qline *q;
    char *sock;
};

/* The command line of a paused VM with -m mem and a QMP socket. */
static GPtrArray *paused_args(enum vsq_vmm w, const char *mem,
                              const char *sock)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    static const char *const qemu[] = { "-accel", "kvm", "-machine", "q35",
                                        "-nodefaults", "-no-user-config",
                                        "-display", "none" };

    if (w == VSQ_FLOOR) {
        g_ptr_array_add(a, g_strdup(sock));
    } else {
        if (w == VSQ_QEMU)
            for (size_t i = 0; i < G_N_ELEMENTS(qemu); i++)
                g_ptr_array_add(a, g_strdup(qemu[i]));
        g_ptr_array_add(a, g_strdup("-S"));
        g_ptr_array_add(a, g_strdup("-m"));
        g_ptr_array_add(a, g_strdup(mem));
        g_ptr_array_add(a, g_strdup("-qmp"));
        g_ptr_array_add(a, g_strdup_printf("unix:%s,server=on,wait=off",
                                           sock));
    }
    g_ptr_array_add(a, NULL);
    return a;
}

static const char *binary(const struct vsq_config *c, enum vsq_vmm w)
{
    return w == VSQ_HOTMEM ? c->hotmem : w == VSQ_QEMU ? c->qemu : c->floor;
}

static void stop(struct running *r)
{
    qline_close(r->q);
    vm_free(r->vm);
    if (r->sock)
        g_unlink(r->sock);
    g_free(r->sock);
    *r = (struct running){ 0 };
}

/* Starts a paused VM; *greeting_ms is exec -> greeting. Negotiated. */
static bool start(const struct vsq_config *c, enum vsq_vmm w,
                  const char *mem, struct running *r, double *greeting_ms)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) args = NULL;
    double t0;

    r->sock = g_strdup_printf("%s/%s.sock", c->dir, vsq_name(w));
    g_unlink(r->sock);
    args = paused_args(w, mem, r->sock);
    t0 = bench_now_ms();
    r->vm = vm_spawn_program(binary(c, w), (const char *const *)args->pdata);
    r->q = qline_open(r->sock, vm_pid(r->vm), START_TIMEOUT_MS, &err);
    if (r->q)
        *greeting_ms = bench_now_ms() - t0;
    if (r->q && qline_call(r->q, START_TIMEOUT_MS, &err,
                           "{\"execute\": \"qmp_capabilities\"}"))
        return true;
    vm_wait_exit(r->vm, 1000);
    printf("vs-qemu: %s did not start: %s\n  stderr: %s\n", vsq_name(w),
           err->message, vm_stderr(r->vm));
    stop(r);
    return false;
}

/* Rss and Pss (smaps_rollup) of pid in MiB; false if unreadable. */
static bool read_rss_pss(int pid, double *rss, double *pss)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps_rollup", pid);
    g_autofree char *text = NULL;
    const char *r, *p;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return false;
    r = strstr(text, "\nRss:");
    p = strstr(text, "\nPss:");
    if (!r || !p)
        return false;
    *rss = g_ascii_strtod(r + 5, NULL) / 1024;
    *pss = g_ascii_strtod(p + 5, NULL) / 1024;
    return true;
}

/* The median of calls query-status round trips, in us; < 0 on failure. */
static double query_status_us(struct qline *q, unsigned calls)
{
    g_autofree double *t = g_new(double, calls);
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < calls; i++) {
        double t0 = bench_now_ns();

        if (!qline_call(q, CALL_TIMEOUT_MS, &err,
                        "{\"execute\": \"query-status\"}")) {
            printf("vs-qemu: query-status: %s\n", err->message);
            return -1;
        }
        t[i] = (bench_now_ns() - t0) / 1e3;
    }
    return bench_median(t, calls);
}

/* One startup of w: greeting, memory, query-status. */
static void startup_once(const struct vsq_config *c, struct vsq_figures *f,
                         enum vsq_vmm w)
{
    struct running r = { 0 };
    double greeting, rss, pss, qs;

    if (!start(c, w, "512M,slots=8,maxmem=32G", &r, &greeting))
        return;
    vsq_add(f, VSQ_GREETING, w, greeting);
    if (read_rss_pss(vm_pid(r.vm), &rss, &pss)) {
        vsq_add(f, VSQ_RSS, w, rss);
        vsq_add(f, VSQ_PSS, w, pss);
    }
    if (w != VSQ_FLOOR && (qs = query_status_us(r.q, c->status_calls)) >= 0)
        vsq_add(f, VSQ_QUERY_STATUS, w, qs);
    stop(&r);
}

/* Plugs c->dims DIMMs of DIMM_SIZE into a paused VM. */
static bool plug_dimms(const struct vsq_config *c, enum vsq_vmm w,
                       struct running *r)
{
    g_autoptr(GError) err = NULL;
    double t0 = bench_now_ms();

    for (unsigned i = 0; i < c->dimms; i++) {
        if (!qline_call(r->q, CALL_TIMEOUT_MS, &err,
                        "{\"execute\": \"object-add\", \"arguments\": "
                        "{\"qom-type\": \"memory-backend-ram\", \"id\": "
                        "\"qm%u\", \"size\": %" PRIu64 "}}", i, DIMM_SIZE) ||
            !qline_call(r->q, CALL_TIMEOUT_MS, &err,
                        "{\"execute\": \"device_add\", \"arguments\": "
                        "{\"driver\": \"pc-dimm\", \"id\": \"qd%u\", "
                        "\"memdev\": \"qm%u\"}}", i, i)) {
            printf("vs-qemu: %s: DIMM %u: %s\n", vsq_name(w), i,
                   err->message);
            return false;
        }
    }
    printf("vs-qemu: %s: %u DIMMs plugged (paused) in %.0f ms\n",
           vsq_name(w), c->dimms, bench_now_ms() - t0);
    fflush(stdout);
    return true;
}

/* query-memory-devices: median of QMD_CALLS, ms; checks the count. */
static bool time_qmd(const struct vsq_config *c, struct qline *q, double *ms)
{
    double t[QMD_CALLS];
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < QMD_CALLS; i++) {
        double t0 = bench_now_ms();
        json_object *r = NULL, *ret;
        bool ok = qline_send(q, &err, "{\"execute\": "
                             "\"query-memory-devices\"}") &&
                  (r = qline_reply(q, CALL_TIMEOUT_MS, &err)) &&
                  json_object_object_get_ex(r, "return", &ret) &&
                  json_object_array_length(ret) == c->dimms;

        t[i] = bench_now_ms() - t0;
        if (!ok)
            printf("vs-qemu: query-memory-devices: %s\n",
                   err ? err->message : json_object_to_json_string(r));
        json_object_put(r);
        if (!ok)
            return false;
    }
    *ms = bench_median(t, QMD_CALLS);
    return true;
}

/* object-add with prealloc at threads, its reply time; object-del after. */
static bool time_prealloc(const struct vsq_config *c, struct qline *q,
                          unsigned threads, unsigned n, double *ms)
{
    g_autoptr(GError) err = NULL;
    double t0 = bench_now_ms();

    if (!qline_call(q, CALL_TIMEOUT_MS, &err,
                    "{\"execute\": \"object-add\", \"arguments\": "
                    "{\"qom-type\": \"memory-backend-ram\", \"id\": "
                    "\"pa%u\", \"size\": %" PRIu64 ", \"prealloc\": true, "
                    "\"prealloc-threads\": %u}}", n, c->prealloc, threads)) {
        printf("vs-qemu: prealloc: %s\n", err->message);
        return false;
    }
    *ms = bench_now_ms() - t0;
    if (!qline_call(q, CALL_TIMEOUT_MS, &err, "{\"execute\": \"object-del\","
                    " \"arguments\": {\"id\": \"pa%u\"}}", n)) {
        printf("vs-qemu: object-del after prealloc: %s\n", err->message);
        return false;
    }
    return true;
}

/* The monitor with many DIMMs, and preallocation, rounds interleaved. */
static void loaded(const struct vsq_config *c, struct vsq_figures *f,
                   unsigned nvmm)
{
    struct running r[2] = { { 0 } };
    bool up[2] = { false, false };
    g_autofree char *mem = g_strdup_printf(
        "512M,slots=%u,maxmem=%" PRIu64 "M", MAX(c->dimms, 1u),
        512 + c->dimms * (DIMM_SIZE / MIB));
    double unused;

    for (unsigned w = 0; w < nvmm; w++)
        up[w] = start(c, w, mem, &r[w], &unused) && plug_dimms(c, w, &r[w]);
    for (unsigned round = 0, n = 0; round < c->rounds; round++) {
        for (enum vsq_metric m = VSQ_QMD; m <= VSQ_PREALLOC2; m++) {
            for (unsigned i = 0; i < nvmm; i++, n++) {
                unsigned w = (round + i) % nvmm;
                double ms;
                bool ok;

                if (!up[w])
                    continue;
                ok = m == VSQ_QMD ? time_qmd(c, r[w].q, &ms)
                                  : time_prealloc(c, r[w].q,
                                                  m == VSQ_PREALLOC1 ? 1 : 2,
                                                  n, &ms);
                if (ok)
                    vsq_add(f, m, w, ms);
            }
        }
        printf("vs-qemu: monitor and prealloc round %u of %u done\n",
               round + 1, c->rounds);
        fflush(stdout);
    }
    for (unsigned w = 0; w < nvmm; w++)
        if (r[w].vm)
            stop(&r[w]);
}

void vsq_paused(const struct vsq_config *c, struct vsq_figures *f)
{
    enum vsq_vmm order[VSQ_NR_VMM] = { VSQ_HOTMEM, VSQ_QEMU, VSQ_FLOOR };
    unsigned n = c->qemu ? 3 : 2;

    if (!c->qemu)
        order[1] = VSQ_FLOOR;
    for (unsigned round = 0; round < c->rounds; round++) {
        for (unsigned i = 0; i < n; i++)
            startup_once(c, f, order[(round + i) % n]);
        printf("vs-qemu: startup round %u of %u done\n", round + 1,
               c->rounds);
        fflush(stdout);
    }
    loaded(c, f, c->qemu ? 2 : 1);
}
