/*
 * The VMM child process (see vmproc.h).
 */
#include "vmproc.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* In the child: wire the pipes and exec; report exec failure on status. */
static void G_GNUC_NORETURN child_exec(char **argv, int in, int out, int err,
                                       int status)
{
    sigset_t none;
    int e;

    /* The VMM must not outlive a harness that dies without cleaning up. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    execvp(argv[0], argv);
    e = errno;
    if (write(status, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

struct vmproc *vmproc_spawn(char **argv, GError **err)
{
    int in[2], out[2], er[2], st[2], e;
    struct vmproc *vm;
    pid_t pid;
    ssize_t n;

    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
        pipe2(er, O_CLOEXEC) || pipe2(st, O_CLOEXEC)) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "pipe: %s", g_strerror(errno));
        return NULL;
    }
    pid = fork();
    if (pid == 0)
        child_exec(argv, in[0], out[1], er[1], st[1]);
    close(in[0]);
    close(out[1]);
    close(er[1]);
    close(st[1]);
    if (pid > 0) {
        do
            n = read(st[0], &e, sizeof(e));
        while (n < 0 && errno == EINTR);
    } else {
        e = errno;
        n = sizeof(e);
    }
    close(st[0]);
    if (n == sizeof(e)) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
                    "cannot run %s: %s", argv[0], g_strerror(e));
        if (pid > 0)
            waitpid(pid, NULL, 0);
        close(in[1]);
        close(out[0]);
        close(er[0]);
        return NULL;
    }
    vm = g_new0(struct vmproc, 1);
    vm->pid = pid;
    vm->in_fd = in[1];
    vm->out_fd = out[0];
    vm->err_fd = er[0];
    set_nonblock(vm->in_fd);
    set_nonblock(vm->out_fd);
    set_nonblock(vm->err_fd);
    vm->partial = g_string_new(NULL);
    vm->err = g_string_new(NULL);
    vm->pending = g_string_new(NULL);
    vm->running = true;
    return vm;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void vmproc_free(struct vmproc *vm)
{
    if (!vm)
        return;
    if (vm->running) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, NULL, 0);
    }
    close_fd(&vm->in_fd);
    close_fd(&vm->out_fd);
    close_fd(&vm->err_fd);
    g_string_free(vm->partial, TRUE);
    g_string_free(vm->err, TRUE);
    g_string_free(vm->pending, TRUE);
    g_queue_clear_full(&vm->lines, g_free);
    g_queue_clear_full(&vm->recent, g_free);
    g_free(vm);
}

guint vmproc_pollfds(struct vmproc *vm, struct pollfd *pfd)
{
    pfd[0] = (struct pollfd){ .fd = vm->out_fd, .events = POLLIN };
    pfd[1] = (struct pollfd){ .fd = vm->err_fd, .events = POLLIN };
    pfd[2] = (struct pollfd){ .fd = vm->pending->len ? vm->in_fd : -1,
                              .events = POLLOUT };
    return 3;
}

static void add_line(struct vmproc *vm, const char *s, gsize len)
{
    char *line;

    if (len && s[len - 1] == '\r')    /* CRLF consoles */
        len--;
    line = g_strndup(s, len);
    harness_trace("console: %s", line);
    g_queue_push_tail(&vm->lines, line);
    g_queue_push_tail(&vm->recent, g_strdup(line));
    if (vm->recent.length > VMPROC_RECENT)
        g_free(g_queue_pop_head(&vm->recent));
}

static void split_lines(struct vmproc *vm, bool eof)
{
    GString *p = vm->partial;
    char *nl;

    while ((nl = memchr(p->str, '\n', p->len))) {
        add_line(vm, p->str, (gsize)(nl - p->str));
        g_string_erase(p, 0, nl - p->str + 1);
    }
    if (eof && p->len) {    /* a last line without a newline still counts */
        add_line(vm, p->str, p->len);
        g_string_truncate(p, 0);
    }
}

static void trace_stderr(struct vmproc *vm, bool eof)
{
    char *nl;

    while ((nl = memchr(vm->err->str + vm->err_traced, '\n',
                        vm->err->len - vm->err_traced)) ||
           (eof && vm->err_traced < vm->err->len)) {
        gsize end = nl ? (gsize)(nl - vm->err->str) : vm->err->len;

        harness_trace("stderr: %.*s", (int)(end - vm->err_traced),
                      vm->err->str + vm->err_traced);
        vm->err_traced = nl ? end + 1 : end;
    }
}

/* Reads what is there; closes the fd at end of file or on error. */
static void drain(int *fd, GString *into)
{
    char buf[8192];

    for (;;) {
        ssize_t n = read(*fd, buf, sizeof(buf));

        if (n > 0) {
            g_string_append_len(into, buf, n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        close_fd(fd);
        return;
    }
}

void vmproc_dispatch(struct vmproc *vm, const struct pollfd *pfd, guint n)
{
    if (pfd[0].fd >= 0 && pfd[0].revents) {
        drain(&vm->out_fd, vm->partial);
        split_lines(vm, vm->out_fd < 0);
    }
    if (pfd[1].fd >= 0 && pfd[1].revents) {
        drain(&vm->err_fd, vm->err);
        if (harness_verbose)
            trace_stderr(vm, vm->err_fd < 0);
    }
    if (pfd[2].fd >= 0 && pfd[2].revents) {
        ssize_t w = write(vm->in_fd, vm->pending->str, vm->pending->len);

        if (w > 0) {
            g_string_erase(vm->pending, 0, w);
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            vm->write_errno = errno;
            g_string_truncate(vm->pending, 0);
            close_fd(&vm->in_fd);
        } else if (pfd[2].revents & (POLLERR | POLLHUP)) {
            vm->write_errno = EPIPE;
            g_string_truncate(vm->pending, 0);
            close_fd(&vm->in_fd);
        }
    }
}

void vmproc_reap(struct vmproc *vm)
{
    int st;

    if (!vm->running || waitpid(vm->pid, &st, WNOHANG) != vm->pid)
        return;
    vm->running = false;
    if (WIFSIGNALED(st)) {
        vm->term_signal = WTERMSIG(st);
        vm->status = 128 + vm->term_signal;
    } else {
        vm->status = WEXITSTATUS(st);
    }
    harness_trace("VMM exited: %s %d", vm->term_signal ? "killed by signal"
                  : "status", vm->term_signal ? vm->term_signal : vm->status);
}

void vmproc_write(struct vmproc *vm, const char *buf, gsize len)
{
    if (vm->in_fd < 0) {
        if (!vm->write_errno)
            vm->write_errno = EPIPE;
        return;
    }
    g_string_append_len(vm->pending, buf, len);
}

bool vmproc_console_eof(const struct vmproc *vm)
{
    return vm->out_fd < 0;
}
