/*
 * bench/hotplug: QMP latency and DIMM hot-plug times, figures only.
 *
 *   bench-hotplug HOTMEM_BIN GUEST_ELF [ITERATIONS]
 *
 * For hotmem (and QEMU with KVM where installed, for the VMM-side figures),
 * both VMs running, iterations alternating between them (medians [min-max]):
 *  - round trip of query-status (median of 200 per iteration)
 *  - device_add of a 1 GiB pc-dimm, from sending to the reply (VMM side)
 *  - hotmem only: device_add to the guest's "dimm ... online" line, and
 *    device_del to DEVICE_DELETED (the guest checks the memory in between)
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "benchstat.h"

struct vm {
    pid_t pid;
    int console_in, console_out, qmp;
    GString *console, *qbuf;
};

static bool read_into(int fd, GString *s, int timeout_ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    char buf[8192];
    ssize_t n;

    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    n = read(fd, buf, sizeof(buf));
    if (n <= 0)
        return false;
    g_string_append_len(s, buf, n);
    return true;
}

/* Waits for a QMP line containing needle; consumes through that line. */
static bool qmp_wait(struct vm *vm, const char *needle, int timeout_ms)
{
    double end = bench_now_ms() + timeout_ms;

    for (;;) {
        char *hit = strstr(vm->qbuf->str, needle);
        char *nl = hit ? strchr(hit, '\n') : NULL;

        if (nl) {
            g_string_erase(vm->qbuf, 0, nl + 1 - vm->qbuf->str);
            return true;
        }
        if (bench_now_ms() > end)
            return false;
        read_into(vm->qmp, vm->qbuf, 50);
    }
}

static bool console_wait(struct vm *vm, const char *needle, int timeout_ms)
{
    double end = bench_now_ms() + timeout_ms;

    while (!strstr(vm->console->str, needle)) {
        if (bench_now_ms() > end)
            return false;
        read_into(vm->console_out, vm->console, 50);
    }
    g_string_truncate(vm->console, 0);
    return true;
}

static void qmp_send(struct vm *vm, const char *cmd)
{
    if (write(vm->qmp, cmd, strlen(cmd)) < 0)
        perror("qmp write");
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    for (int i = 0; i < 500; i++) {
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        g_usleep(10000);
    }
    close(fd);
    return -1;
}

static struct vm *vm_start(char **argv, const char *sock)
{
    int in[2], out[2];
    struct vm *vm = g_new0(struct vm, 1);

    if (pipe(in) < 0 || pipe(out) < 0)
        return NULL;
    vm->pid = fork();
    if (vm->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(open("/dev/null", O_WRONLY), 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    vm->console_in = in[1];
    vm->console_out = out[0];
    vm->console = g_string_new(NULL);
    vm->qbuf = g_string_new(NULL);
    vm->qmp = connect_unix(sock);
    if (vm->qmp < 0 || !qmp_wait(vm, "\"QMP\"", 10000))
        return NULL;
    qmp_send(vm, "{\"execute\":\"qmp_capabilities\"}\n");
    return qmp_wait(vm, "\"return\"", 10000) ? vm : NULL;
}

static void vm_stop(struct vm *vm)
{
    kill(vm->pid, SIGKILL);
    waitpid(vm->pid, NULL, 0);
    close(vm->qmp);
    close(vm->console_in);
    close(vm->console_out);
    g_string_free(vm->console, TRUE);
    g_string_free(vm->qbuf, TRUE);
    g_free(vm);
}

static double query_status_us(struct vm *vm)
{
    double t[200];

    for (int i = 0; i < 200; i++) {
        double t0 = bench_now_ms();

        qmp_send(vm, "{\"execute\":\"query-status\"}\n");
        if (!qmp_wait(vm, "\"return\"", 5000))
            return -1;
        t[i] = (bench_now_ms() - t0) * 1000;
    }
    return bench_median(t, 200);
}

/* One add/remove cycle; returns false on any failure. */
static bool cycle(struct vm *vm, int i, bool guest, double *reply,
                  double *online, double *deleted)
{
    char cmd[512];
    double t0;

    snprintf(cmd, sizeof(cmd), "{\"execute\":\"object-add\",\"arguments\":"
             "{\"qom-type\":\"memory-backend-ram\",\"id\":\"m%d\","
             "\"size\":1073741824}}\n", i);
    qmp_send(vm, cmd);
    if (!qmp_wait(vm, "\"return\"", 10000))
        return false;
    snprintf(cmd, sizeof(cmd), "{\"execute\":\"device_add\",\"arguments\":"
             "{\"driver\":\"pc-dimm\",\"id\":\"d%d\",\"memdev\":\"m%d\"}}\n",
             i, i);
    t0 = bench_now_ms();
    qmp_send(vm, cmd);
    if (!qmp_wait(vm, "\"return\"", 10000))
        return false;
    *reply = (bench_now_ms() - t0) * 1000;
    if (!guest)
        return true;
    if (!console_wait(vm, "online addr=", 60000))
        return false;
    *online = bench_now_ms() - t0;
    snprintf(cmd, sizeof(cmd), "{\"execute\":\"device_del\",\"arguments\":"
             "{\"id\":\"d%d\"}}\n", i);
    t0 = bench_now_ms();
    qmp_send(vm, cmd);
    if (!qmp_wait(vm, "DEVICE_DELETED", 60000))
        return false;
    *deleted = bench_now_ms() - t0;
    snprintf(cmd, sizeof(cmd), "{\"execute\":\"object-del\",\"arguments\":"
             "{\"id\":\"m%d\"}}\n", i);
    qmp_send(vm, cmd);
    return qmp_wait(vm, "\"return\"", 10000);
}

/* One VMM and its samples. */
struct side {
    const char *label;
    struct vm *vm;
    bool guest;
    double qs[64], reply[64], online[64], deleted[64];
    int nq, n;
};

static bool side_start(struct side *s, char **argv, const char *sock)
{
    s->vm = vm_start(argv, sock);
    if (!s->vm) {
        printf("%-7s could not start or negotiate QMP\n", s->label);
        return false;
    }
    if (s->guest)
        console_wait(s->vm, "hotmem-guest: ready", 30000);
    return true;
}

/* One iteration: a query-status burst and one add/remove cycle. */
static void side_step(struct side *s, int i)
{
    double qs;

    if (!s->vm)
        return;
    qs = query_status_us(s->vm);
    if (qs >= 0)
        s->qs[s->nq++] = qs;
    if (cycle(s->vm, i, s->guest, &s->reply[s->n], &s->online[s->n],
              &s->deleted[s->n]))
        s->n++;
    else
        printf("%-7s cycle %d failed: no more figures from it\n", s->label, i);
    if (s->n <= i) {
        vm_stop(s->vm);
        s->vm = NULL;
    }
}

/* "median [min-max]" of v[0..n); sorts v. */
static char *spread(double *v, int n)
{
    double med = bench_median(v, n);

    return g_strdup_printf("%.1f [%.1f-%.1f]", med, v[0], v[n - 1]);
}

static void side_report(struct side *s)
{
    if (s->nq) {
        g_autofree char *t = spread(s->qs, s->nq);

        printf("%-7s query-status round trip %s us (median of 200, %d "
               "bursts)\n", s->label, t, s->nq);
    }
    if (s->n) {
        g_autofree char *t = spread(s->reply, s->n);

        printf("%-7s device_add 1 GiB reply %s us (%d runs)\n", s->label, t,
               s->n);
    }
    if (s->n && s->guest) {
        g_autofree char *on = spread(s->online, s->n);
        g_autofree char *del = spread(s->deleted, s->n);

        printf("%-7s device_add -> guest online %s ms; device_del -> "
               "DEVICE_DELETED %s ms\n", s->label, on, del);
    }
    if (s->vm)
        vm_stop(s->vm);
}

int main(int argc, char **argv)
{
    int iters = argc > 3 ? atoi(argv[3]) : 7;
    g_autofree char *dir = g_dir_make_tmp("hotmem-bench-XXXXXX", NULL);
    g_autofree char *s1 = g_build_filename(dir, "h.sock", NULL);
    g_autofree char *s2 = g_build_filename(dir, "q.sock", NULL);
    g_autofree char *q1 = g_strdup_printf("unix:%s,server=on,wait=off", s1);
    g_autofree char *q2 = g_strdup_printf("unix:%s,server=on,wait=off", s2);
    char *hotmem[] = { argv[1], "-m", "512M,slots=8,maxmem=16G", "-qmp", q1,
                       NULL };
    char *qemu[] = { "qemu-system-x86_64", "-accel", "kvm", "-M", "pc",
                     "-m", "512M,slots=8,maxmem=16G", "-nodefaults",
                     "-display", "none", "-serial", "none", "-S",
                     "-kernel", argc > 2 ? argv[2] : "", "-qmp", q2, NULL };
    g_autofree char *qemu_path = g_find_program_in_path(qemu[0]);

    bench_print_environment(stdout);
    if (argc < 3 || iters < 1 || iters > 64) {
        fprintf(stderr, "usage: %s HOTMEM_BIN GUEST_ELF [ITERATIONS<=64]\n",
                argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    printf("bench/hotplug: 1 GiB pc-dimm, %d add/remove cycles, VMMs "
           "interleaved (order alternating); median [min-max]\n", iters);
    struct side side[2] = { { .label = "hotmem", .guest = true },
                            { .label = "qemu" } };
    int nside = 1;

    side_start(&side[0], hotmem, s1);
    if (qemu_path && side_start(&side[1], qemu, s2))
        nside = 2;
    for (int i = 0; i < iters; i++)
        for (int j = 0; j < nside; j++)
            side_step(&side[(i + j) % nside], i);
    for (int j = 0; j < nside; j++)
        side_report(&side[j]);
    if (!qemu_path)
        printf("qemu    not installed: no peer figures\n");
    g_unlink(s1);
    g_unlink(s2);
    g_rmdir(dir);
    return 0;
}
