/*
 * The VMM child process: console on pipes (stdin/stdout), stderr captured,
 * exit status collected. Non-blocking; the runner's poll loop drives it.
 */
#pragma once

#include <stdbool.h>
#include <poll.h>
#include <sys/types.h>
#include <glib.h>

#define VMPROC_RECENT 12    /* console lines kept for failure reports */

struct vmproc {
    pid_t pid;
    int in_fd, out_fd, err_fd;  /* -1 once closed */
    GString *partial;           /* console bytes after the last newline */
    GQueue lines;               /* char *: complete lines not yet consumed */
    GQueue recent;              /* char *: the last VMPROC_RECENT lines */
    GString *err;               /* everything written to stderr */
    gsize err_traced;
    GString *pending;           /* bytes still to be written to stdin */
    bool running;
    int status;                 /* once !running: exit code, or 128+N */
    int term_signal;            /* once !running: N if killed by signal N */
    int write_errno;            /* stdin write failure (EPIPE...) */
};

/* argv[0] is looked up in PATH when it has no '/'. */
struct vmproc *vmproc_spawn(char **argv, GError **err);
void vmproc_free(struct vmproc *vm);    /* SIGKILLs a running child */

/* Fills up to 3 pollfds; vmproc_dispatch() handles the same entries. */
guint vmproc_pollfds(struct vmproc *vm, struct pollfd *pfd);
void vmproc_dispatch(struct vmproc *vm, const struct pollfd *pfd, guint n);
/* Collects the exit status if the child has exited (never blocks). */
void vmproc_reap(struct vmproc *vm);

/* Queues bytes for the console; the poll loop writes them. */
void vmproc_write(struct vmproc *vm, const char *buf, gsize len);
/* Console at end of file (the child closed it or exited). */
bool vmproc_console_eof(const struct vmproc *vm);
