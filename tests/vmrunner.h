/*
 * Test helper: runs the real hotmem binary ($HOTMEM_BIN) as a child with its
 * console on pipes, and reads the guest's lines with timeouts.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

struct vm;

/* NULL when $HOTMEM_KVM (default /dev/kvm) can be used, else why not (for
 * g_test_skip). */
const char *vm_kvm_unavailable(void);

/* argv without the program name, NULL-terminated. */
struct vm *vm_spawn(const char *const *args);
/* The same with another program (a path): a peer VMM such as QEMU. */
struct vm *vm_spawn_program(const char *bin, const char *const *args);
void vm_free(struct vm *vm);        /* kills the child if still running */

/*
 * Waits for a console line starting with prefix; returns it (without the
 * line ending; g_free it) or NULL after timeout_ms or when the child exits.
 */
char *vm_wait_line(struct vm *vm, const char *prefix, int timeout_ms);
/*
 * hold: stop reading the console (the child's stdout pipe), as a terminal
 * nobody reads; every wait above then leaves it alone. false reads again.
 */
void vm_hold_console(struct vm *vm, bool hold);
/* The read end of the child's stdout, and the write end of its stdin
 * (pipe sizes, FIONREAD). */
int vm_console_fd(struct vm *vm);
int vm_input_fd(struct vm *vm);
/* Everything read from the console so far. */
const char *vm_console(struct vm *vm);
bool vm_send(struct vm *vm, const char *line);
void vm_signal(struct vm *vm, int sig);
/* Exit status (128+N for a signal death), or -1 after timeout_ms. */
int vm_wait_exit(struct vm *vm, int timeout_ms);
/* What the child wrote to stderr (complete once it has exited). */
const char *vm_stderr(struct vm *vm);
int vm_pid(struct vm *vm);
/* The last `lines` lines of the console (all of it when shorter). */
const char *vm_console_tail(struct vm *vm, unsigned lines);
/* The same for its stderr (what it wrote so far). */
const char *vm_stderr_tail(struct vm *vm, unsigned lines);
/*
 * Prints to stderr why the VMM went away: the last 20 lines of its stderr,
 * the last 12 of its console and, last, its exit status (waiting up to
 * 5 s). A qmp_on_closed() hook.
 */
void vm_explain_exit(void *vm);
/*
 * Prints to stderr what a VMM that stopped answering is doing: each
 * thread's state, kernel wait channel and kernel stack (nothing is
 * stopped to read them). Exited, it prints vm_explain_exit().
 */
void vm_explain_stall(struct vm *vm);
