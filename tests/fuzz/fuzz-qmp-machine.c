/*
 * Fuzz target: the QMP server from raw client bytes with hotmem's real
 * command table (monitor/commands.c and the cmd_*.c groups) on the fuzz
 * machine (fuzzvm.h: the real machine, KVM calls going to a fake KVM). A
 * fresh machine per input, so every input replays alone. Checked: every
 * output line is a well-formed greeting, reply or event, the memslot table
 * equals what KVM holds, and every DIMM has its memslot, after the session.
 *
 * Sandbox: a client may name files (memory-backend-file's mem-path,
 * pmemsave's filename) and ask for memory (object-add size with prealloc).
 * So that fuzzing cannot write outside a scratch directory or exhaust the
 * host, those three commands go through a guard first: a file name must be
 * a plain name ([A-Za-z0-9_-], at most 32 characters), which is then made
 * a path in the scratch directory (emptied after every input), and
 * preallocation is limited to 64 MiB in at most 4 threads. The guard
 * answers anything else itself with GenericError "fuzz sandbox: ...".
 */
#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "fuzzvm.h"
#include "monitor/commands.h"
#include "monitor/qmp_internal.h"
#include "props.h"
#include "qmpsession.h"

#define SANDBOX_PREALLOC_MAX    (64ULL << 20)
#define SANDBOX_THREADS_MAX     4

static char *scratch;           /* the sandbox directory */

struct guard {
    struct qmp_command cmd;     /* the guard, registered in place of ... */
    const struct qmp_command *real;     /* ... the command it guards */
    const char *file_arg;       /* argument naming a file, or NULL */
};

static bool plain_name(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_-") == n;
}

/* Makes args[key] a path in the scratch directory; false if not allowed. */
static bool sandbox_file(json_object *args, const char *key)
{
    json_object *v;
    g_autofree char *path = NULL;

    if (!json_object_object_get_ex(args, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return true;            /* the command's own check answers */
    if (!plain_name(json_object_get_string(v)))
        return false;
    path = g_build_filename(scratch, json_object_get_string(v), NULL);
    json_object_object_add(args, key, json_object_new_string(path));
    return true;
}

static bool sandbox_memory(json_object *args)
{
    json_object *v;
    uint64_t size = 0, threads = 0;
    bool prealloc = false;

    if (json_object_object_get_ex(args, "prealloc", &v))
        props_bool(v, "prealloc", &prealloc, NULL);
    if (json_object_object_get_ex(args, "size", &v))
        props_size(v, "size", &size, NULL);
    if (json_object_object_get_ex(args, "prealloc-threads", &v) &&
        props_uint(v, "prealloc-threads", UINT64_MAX, &threads, NULL) &&
        threads > SANDBOX_THREADS_MAX)
        return false;
    return !prealloc || size <= SANDBOX_PREALLOC_MAX;
}

static void guard_handler(struct qmp_request *req, json_object *args,
                          void *opaque)
{
    struct guard *g = opaque;

    if (g->file_arg && !sandbox_file(args, g->file_arg)) {
        qmp_request_fail(req, QMP_ERROR_GENERIC, "fuzz sandbox: '%s' must "
                         "be a plain file name", g->file_arg);
        return;
    }
    if (!strcmp(g->cmd.name, "object-add") && !sandbox_memory(args)) {
        qmp_request_fail(req, QMP_ERROR_GENERIC, "fuzz sandbox: at most "
                         "64 MiB preallocated in 4 threads");
        return;
    }
    g->real->handler(req, args, g->real->opaque);
}

static struct guard guards[] = {
    { .cmd.name = "object-add", .file_arg = "mem-path" },
    { .cmd.name = "pmemsave", .file_arg = "filename" },
    { .cmd.name = "memsave", .file_arg = "filename" },
};

/* Puts each guard in the server's name table in place of its command. */
static void install_guards(struct qmp_server *s)
{
    for (size_t i = 0; i < G_N_ELEMENTS(guards); i++) {
        struct guard *g = &guards[i];

        g->real = g_hash_table_lookup(s->by_name, g->cmd.name);
        if (!g->real)
            fuzz_fail("no command %s to guard", g->cmd.name);
        g->cmd.args = g->real->args;
        g->cmd.extra_args = g->real->extra_args;
        g->cmd.handler = guard_handler;
        g->cmd.opaque = g;
        g_hash_table_insert(s->by_name, (gpointer)g->cmd.name, &g->cmd);
    }
}

static void empty_scratch(void)
{
    g_autoptr(GDir) dir = g_dir_open(scratch, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(scratch, name, NULL);

        g_unlink(path);
    }
}

/*
 * The scratch directory is "qmp-machine-scratch" in the working directory
 * (run.sh's work directory, or the build's tests/fuzz for meson test): it
 * is empty between inputs, and a run that ends on a finding or a timeout
 * (libFuzzer then leaves without atexit handlers) leaves nothing in /tmp.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autofree char *cwd = g_get_current_dir();

    scratch = g_build_filename(cwd, "qmp-machine-scratch", NULL);
    if (g_mkdir_with_parents(scratch, 0700) < 0)
        fuzz_fail("scratch directory %s: %s", scratch, g_strerror(errno));
    empty_scratch();
    return 0;
}

static struct qmp_server *server;

static void emit_to_server(void *opaque, const char *event, const char *key,
                           bool limited, json_object *data)
{
    qmp_server_emit_keyed(server, event, key, limited, data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct qmp_server_info info = {
        .major = 8, .minor = 2, .micro = 0, .package = "hotmem-fuzz",
    };
    struct fuzz_vm *vm = fuzz_vm_new(emit_to_server, NULL);
    struct monitor *mon;
    GString *out;

    server = qmp_server_new(&info);
    mon = monitor_new(server, vm->m, "fuzz");
    install_guards(server);
    out = qmp_session_run(server, data, size);
    qmp_session_check(out);
    fuzz_vm_check(vm);
    g_string_free(out, TRUE);
    qmp_server_free(server);
    monitor_free(mon);
    server = NULL;
    fuzz_vm_free(vm);
    empty_scratch();
    return 0;
}
