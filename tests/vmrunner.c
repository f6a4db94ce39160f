/* Child-process plumbing for the end-to-end tests. */
#include "vmrunner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

struct vm {
    pid_t pid;
    int in_fd, out_fd, err_fd;
    GString *out;       /* console bytes read so far */
    gsize scanned;      /* console lines before this offset were returned */
    GString *err;
    int status;         /* -1 while running */
    bool hold_console;  /* leave the console unread */
};

const char *vm_kvm_unavailable(void)
{
    static char why[256];
    const char *dev = g_getenv("HOTMEM_KVM") ? g_getenv("HOTMEM_KVM")
                                             : "/dev/kvm";
    int fd = open(dev, O_RDWR | O_CLOEXEC);

    if (fd >= 0) {
        close(fd);
        return NULL;
    }
    g_snprintf(why, sizeof(why), "%s is not usable here (%s)", dev,
               g_strerror(errno));
    return why;
}

struct vm *vm_spawn(const char *const *args)
{
    const char *bin = g_getenv("HOTMEM_BIN");

    g_assert_nonnull(bin);
    return vm_spawn_program(bin, args);
}

struct vm *vm_spawn_program(const char *bin, const char *const *args)
{
    int in[2], out[2], err[2];
    GPtrArray *argv = g_ptr_array_new();
    struct vm *vm;

    /* vm_send() to a VMM that went away fails, instead of killing the test
     * with SIGPIPE before it can say why. */
    signal(SIGPIPE, SIG_IGN);

    g_assert_cmpint(pipe2(in, O_CLOEXEC), ==, 0);
    g_assert_cmpint(pipe2(out, O_CLOEXEC), ==, 0);
    g_assert_cmpint(pipe2(err, O_CLOEXEC), ==, 0);
    g_ptr_array_add(argv, (gpointer)bin);
    for (; *args; args++)
        g_ptr_array_add(argv, (gpointer)*args);
    g_ptr_array_add(argv, NULL);
    vm = g_new0(struct vm, 1);
    vm->status = -1;
    vm->pid = fork();
    g_assert_cmpint(vm->pid, >=, 0);
    if (vm->pid == 0) {
        /* A test or benchmark that dies must not leave its VMs running. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execv(bin, (char **)argv->pdata);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    g_ptr_array_free(argv, TRUE);
    vm->in_fd = in[1];
    vm->out_fd = out[0];
    vm->err_fd = err[0];
    vm->out = g_string_new(NULL);
    vm->err = g_string_new(NULL);
    return vm;
}

/* Reads whatever is available on out and err within timeout_ms. */
static bool pump(struct vm *vm, int timeout_ms)
{
    struct pollfd p[2] = { { vm->hold_console ? -1 : vm->out_fd, POLLIN, 0 },
                           { vm->err_fd, POLLIN, 0 } };
    char buf[4096];
    bool any = false;

    if (poll(p, 2, timeout_ms) <= 0)
        return false;
    for (int i = 0; i < 2; i++) {
        ssize_t n;

        if (!(p[i].revents & (POLLIN | POLLHUP)) || p[i].fd < 0)
            continue;
        n = read(p[i].fd, buf, sizeof(buf));
        if (n > 0) {
            g_string_append_len(i ? vm->err : vm->out, buf, n);
            any = true;
        } else if (n == 0) {
            close(p[i].fd);
            *(i ? &vm->err_fd : &vm->out_fd) = -1;
        }
    }
    return any || vm->out_fd >= 0 || vm->err_fd >= 0;
}

static gint64 deadline_after(int ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

static int ms_left(gint64 deadline)
{
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;

    return left < 0 ? 0 : (int)left;
}

/* Next complete line after vm->scanned that starts with prefix, or NULL. */
static char *scan_lines(struct vm *vm, const char *prefix)
{
    while (vm->scanned < vm->out->len) {
        const char *start = vm->out->str + vm->scanned;
        const char *nl = memchr(start, '\n', vm->out->len - vm->scanned);
        g_autofree char *line = NULL;

        if (!nl)
            return NULL;
        line = g_strndup(start, (gsize)(nl - start));
        g_strchomp(line);   /* drop the '\r' of CRLF consoles */
        vm->scanned += (gsize)(nl - start) + 1;
        if (g_str_has_prefix(line, prefix))
            return g_steal_pointer(&line);
    }
    return NULL;
}

char *vm_wait_line(struct vm *vm, const char *prefix, int timeout_ms)
{
    gint64 deadline = deadline_after(timeout_ms);

    for (;;) {
        char *line = scan_lines(vm, prefix);

        if (line)
            return line;
        if (vm->out_fd < 0 || ms_left(deadline) == 0)
            return NULL;
        pump(vm, MIN(ms_left(deadline), 100));
    }
}

void vm_hold_console(struct vm *vm, bool hold)
{
    vm->hold_console = hold;
}

int vm_console_fd(struct vm *vm)
{
    return vm->out_fd;
}

int vm_input_fd(struct vm *vm)
{
    return vm->in_fd;
}

const char *vm_console(struct vm *vm)
{
    return vm->out->str;
}

bool vm_send(struct vm *vm, const char *line)
{
    g_autofree char *l = g_strconcat(line, "\n", NULL);

    return write(vm->in_fd, l, strlen(l)) == (ssize_t)strlen(l);
}

void vm_signal(struct vm *vm, int sig)
{
    if (vm->status < 0)
        kill(vm->pid, sig);
}

int vm_wait_exit(struct vm *vm, int timeout_ms)
{
    gint64 deadline = deadline_after(timeout_ms);
    int st;

    while (vm->status < 0) {
        pid_t r = waitpid(vm->pid, &st, WNOHANG);

        if (r == vm->pid) {
            vm->status = WIFEXITED(st) ? WEXITSTATUS(st)
                                       : 128 + WTERMSIG(st);
            break;
        }
        if (ms_left(deadline) == 0)
            return -1;
        if (!pump(vm, 20))
            g_usleep(5000);
    }
    while (pump(vm, 0))
        ;
    return vm->status;
}

const char *vm_stderr(struct vm *vm)
{
    return vm->err->str;
}

/* Where the last n lines of text begin (a trailing newline ends the last). */
static const char *tail_lines(const char *text, unsigned n)
{
    const char *p = text + strlen(text);

    if (p > text && p[-1] == '\n')
        p--;
    while (p > text && n) {
        p--;
        if (*p == '\n' && --n == 0)
            return p + 1;
    }
    return text;
}

const char *vm_console_tail(struct vm *vm, unsigned lines)
{
    return tail_lines(vm->out->str, lines);
}

const char *vm_stderr_tail(struct vm *vm, unsigned lines)
{
    return tail_lines(vm->err->str, lines);
}

void vm_explain_exit(void *vm_)
{
    struct vm *vm = vm_;
    int st = vm_wait_exit(vm, 5000);

    /* Short tails, and the status last: meson shows only the last 100
     * lines of a failed test's stderr. */
    g_printerr("the end of the VMM's stderr:\n%s\nthe end of its console:\n"
               "%s\n", tail_lines(vm->err->str, 20), tail_lines(vm->out->str,
                                                               12));
    if (st < 0)
        g_printerr("the VMM (pid %d) is still running\n", (int)vm->pid);
    else if (st > 128)
        g_printerr("the VMM was killed by signal %d\n", st - 128);
    else
        g_printerr("the VMM exited with status %d\n", st);
}

void vm_explain_stall(struct vm *vm)
{
    g_autofree char *tasks = g_strdup_printf("/proc/%d/task", (int)vm->pid);
    GDir *dir;
    const char *t;

    /* Reaps a VMM that has exited (a zombie is not a stall). */
    if (vm->status >= 0 || vm_wait_exit(vm, 200) >= 0) {
        vm_explain_exit(vm);
        return;
    }
    g_printerr("the VMM (pid %d) is running; its threads:\n", (int)vm->pid);
    /* The kernel's view of each thread, without stopping it (ptrace would). */
    dir = g_dir_open(tasks, 0, NULL);
    while (dir && (t = g_dir_read_name(dir))) {
        g_autofree char *stat_path = g_build_filename(tasks, t, "stat", NULL);
        g_autofree char *wchan_path = g_build_filename(tasks, t, "wchan",
                                                       NULL);
        g_autofree char *stack_path = g_build_filename(tasks, t, "stack",
                                                       NULL);
        g_autofree char *stat = NULL, *wchan = NULL, *stack = NULL;
        const char *after;

        g_file_get_contents(stat_path, &stat, NULL, NULL);
        g_file_get_contents(wchan_path, &wchan, NULL, NULL);
        g_file_get_contents(stack_path, &stack, NULL, NULL);
        /* "tid (comm) S ...": the comm, the state, the CPU time. */
        after = stat ? strrchr(stat, ')') : NULL;
        g_printerr("  %s %.*s state %.1s wchan %s\n%s", t,
                   stat && after ? (int)(after - stat + 1) : 0,
                   stat ? stat : "", after && strlen(after) > 2 ? after + 2
                                                               : "?",
                   wchan ? wchan : "?", stack ? stack : "");
    }
    if (dir)
        g_dir_close(dir);
}

int vm_pid(struct vm *vm)
{
    return vm->pid;
}

void vm_free(struct vm *vm)
{
    if (!vm)
        return;
    if (vm->status < 0) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, NULL, 0);
    }
    close(vm->in_fd);
    if (vm->out_fd >= 0)
        close(vm->out_fd);
    if (vm->err_fd >= 0)
        close(vm->err_fd);
    g_string_free(vm->out, TRUE);
    g_string_free(vm->err, TRUE);
    g_free(vm);
}
