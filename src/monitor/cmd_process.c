/*
 * x-query-process: what the hotmem process itself holds (resident memory,
 * apart from the guest's, heap in use, open descriptors, threads), read
 * from /proc/self, mincore() over the memslots and mallinfo2(). The soak test (tests/soak) compares it before and after
 * hundreds of hot-plug cycles; a leak that valgrind calls "still
 * reachable" shows here as heap that never comes back.
 */
#include "monitor/commands.h"
#include "monitor/qmp_types.h"

#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

/* The value of a "Name:   N kB" (bytes) or "Name:   N" line of
 * /proc/self/status; -1 if absent. */
static int64_t status_field(const char *status, const char *name)
{
    g_auto(GStrv) lines = g_strsplit(status, "\n", -1);
    size_t len = strlen(name);

    for (char **l = lines; *l; l++) {
        char *end;
        long long v;

        if (strncmp(*l, name, len) != 0 || (*l)[len] != ':')
            continue;
        v = g_ascii_strtoll(*l + len + 1, &end, 10);
        return g_str_has_suffix(end, " kB") ? v * 1024 : v;
    }
    return -1;
}

static int64_t count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int64_t n = 0;
    struct dirent *e;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;                       /* the directory's own descriptor */
}

static void add_int(json_object *o, const char *key, int64_t v)
{
    json_object_object_add(o, key, json_object_new_int64(v));
}

static void cmd_x_query_process(struct qmp_request *req, json_object *args,
                                void *opaque)
{
    g_autofree char *status = NULL;
    struct mallinfo2 mi = mallinfo2();
    json_object *r = json_object_new_object();

    int64_t rss, guest = (int64_t)machine_guest_resident(opaque);

    g_file_get_contents("/proc/self/status", &status, NULL, NULL);
    rss = status ? status_field(status, "VmRSS") : -1;
    add_int(r, "rss", rss);
    /* What the VMM itself holds: the rest is the guest's memory. */
    add_int(r, "rss-guest", guest);
    add_int(r, "rss-vmm", rss >= 0 ? MAX(rss - guest, 0) : -1);
    add_int(r, "rss-peak", status ? status_field(status, "VmHWM") : -1);
    add_int(r, "threads", status ? status_field(status, "Threads") : -1);
    add_int(r, "fds", count_fds());
    /* malloc's view: small blocks in the arenas plus mmap()ed big ones. */
    add_int(r, "heap-in-use", (int64_t)(mi.uordblks + mi.hblkhd));
    add_int(r, "heap-free", (int64_t)mi.fordblks);
    qmp_request_return(req, r);
}

static const struct qmp_arg no_args[] = { { NULL } };

static const struct qmp_command process_commands[] = {
    { .name = "x-query-process", .args = no_args,
      .handler = cmd_x_query_process, .ret = &qt_process_info },
};

struct monitor_group monitor_register_process(struct qmp_server *server,
                                              struct machine *m)
{
    /* The server points at these until it is freed; then so are they. */
    struct qmp_command *table = g_memdup2(process_commands,
                                          sizeof(process_commands));

    for (size_t i = 0; i < G_N_ELEMENTS(process_commands); i++) {
        table[i].opaque = m;
        qmp_server_register(server, &table[i]);
    }
    return (struct monitor_group){ table, g_free };
}
