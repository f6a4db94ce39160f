/*
 * human-monitor-command: the "info" commands of QEMU's human monitor that
 * concern hotmem's machine, printed as QEMU prints them (CRLF line ends,
 * the same labels) from the same machine queries QMP answers with, so the
 * text and the JSON never disagree. Anything else answers as QEMU answers
 * a command it does not know: a line of text, not a QMP error.
 */
#include "monitor/commands.h"

#include <inttypes.h>
#include <string.h>

#include "machine/machine_qom.h"

typedef void (*hmp_info_fn)(GString *out, struct machine *m);

static int64_t member_int(json_object *o, const char *name)
{
    return json_object_get_int64(json_object_object_get(o, name));
}

static const char *member_str(json_object *o, const char *name)
{
    json_object *v = json_object_object_get(o, name);

    return v ? json_object_get_string(v) : "";
}

static const char *member_bool(json_object *o, const char *name)
{
    return json_object_get_boolean(json_object_object_get(o, name))
           ? "true" : "false";
}

static void info_memory_devices(GString *out, struct machine *m)
{
    json_object *list = machine_query_memory_devices(m);

    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *info = json_object_array_get_idx(list, i);
        json_object *d = json_object_object_get(info, "data");

        g_string_append_printf(out, "Memory device [%s]: \"%s\"\r\n",
                               member_str(info, "type"), member_str(d, "id"));
        g_string_append_printf(out, "  addr: 0x%" PRIx64 "\r\n",
                               (uint64_t)member_int(d, "addr"));
        g_string_append_printf(out, "  slot: %" PRId64 "\r\n",
                               member_int(d, "slot"));
        g_string_append_printf(out, "  node: %" PRId64 "\r\n",
                               member_int(d, "node"));
        g_string_append_printf(out, "  size: %" PRIu64 "\r\n",
                               json_object_get_uint64(
                                   json_object_object_get(d, "size")));
        g_string_append_printf(out, "  memdev: %s\r\n",
                               member_str(d, "memdev"));
        g_string_append_printf(out, "  hotplugged: %s\r\n",
                               member_bool(d, "hotplugged"));
        g_string_append_printf(out, "  hotpluggable: %s\r\n",
                               member_bool(d, "hotpluggable"));
    }
    json_object_put(list);
}

/* host-nodes as QEMU's string output prints an integer list: runs of
 * consecutive numbers as "A-B", separated by commas. */
static void append_ranges(GString *out, json_object *nodes)
{
    size_t n = json_object_array_length(nodes);

    for (size_t i = 0; i < n;) {
        int64_t first = json_object_get_int64(
                            json_object_array_get_idx(nodes, i));
        size_t j = i;

        while (j + 1 < n && json_object_get_int64(
                   json_object_array_get_idx(nodes, j + 1)) ==
               first + (int64_t)(j + 1 - i))
            j++;
        g_string_append_printf(out, "%s%" PRId64, i ? "," : "", first);
        if (j > i)
            g_string_append_printf(out, "-%" PRId64, first +
                                   (int64_t)(j - i));
        i = j + 1;
    }
}

static void info_memdev(GString *out, struct machine *m)
{
    json_object *list = machine_query_memdev(m);

    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *b = json_object_array_get_idx(list, i);

        g_string_append_printf(out, "memory backend: %s\r\n",
                               member_str(b, "id"));
        g_string_append_printf(out, "  size:  %" PRIu64 "\r\n",
                               json_object_get_uint64(
                                   json_object_object_get(b, "size")));
        g_string_append_printf(out, "  merge: %s\r\n",
                               member_bool(b, "merge"));
        g_string_append_printf(out, "  dump: %s\r\n", member_bool(b, "dump"));
        g_string_append_printf(out, "  prealloc: %s\r\n",
                               member_bool(b, "prealloc"));
        g_string_append_printf(out, "  share: %s\r\n",
                               member_bool(b, "share"));
        if (json_object_object_get(b, "reserve"))
            g_string_append_printf(out, "  reserve: %s\r\n",
                                   member_bool(b, "reserve"));
        g_string_append_printf(out, "  policy: %s\r\n",
                               member_str(b, "policy"));
        g_string_append(out, "  host nodes: ");
        append_ranges(out, json_object_object_get(b, "host-nodes"));
        g_string_append(out, "\r\n");
    }
    g_string_append(out, "\r\n");
    json_object_put(list);
}

static void info_status(GString *out, struct machine *m)
{
    enum machine_run_state s = machine_run_state(m);

    if (s == MACHINE_RUNNING)
        g_string_append(out, "VM status: running\r\n");
    else if (s == MACHINE_PAUSED)
        g_string_append(out, "VM status: paused\r\n");
    else
        g_string_append_printf(out, "VM status: paused (%s)\r\n",
                               machine_run_state_name(s));
}

static void info_numa(GString *out, struct machine *m)
{
    json_object *nodes = machine_query_numa(m);
    size_t n = json_object_array_length(nodes);

    g_string_append_printf(out, "%zu nodes\r\n", n);
    for (size_t i = 0; i < n; i++) {
        json_object *node = json_object_array_get_idx(nodes, i);
        json_object *cpus = json_object_object_get(node, "cpus");
        int64_t id = member_int(node, "node");

        g_string_append_printf(out, "node %" PRId64 " cpus:", id);
        for (size_t c = 0; c < json_object_array_length(cpus); c++)
            g_string_append_printf(out, " %" PRId64, json_object_get_int64(
                                       json_object_array_get_idx(cpus, c)));
        g_string_append_printf(out, "\r\nnode %" PRId64 " size: %" PRIu64
                               " MB\r\n", id, json_object_get_uint64(
                                   json_object_object_get(node, "size")) >> 20);
        g_string_append_printf(out, "node %" PRId64 " plugged: %" PRIu64
                               " MB\r\n", id, json_object_get_uint64(
                                   json_object_object_get(node, "plugged"))
                               >> 20);
    }
    json_object_put(nodes);
}

static void mtree_line(GString *out, unsigned depth, json_object *e)
{
    uint64_t addr = json_object_get_uint64(json_object_object_get(e, "addr"));
    uint64_t size = json_object_get_uint64(json_object_object_get(e, "size"));
    bool ram = !strcmp(member_str(e, "kind"), "ram");

    g_string_append_printf(out, "%*s%016" PRIx64 "-%016" PRIx64
                           " (prio 0, %s): %s\r\n", 2 * depth, "", addr,
                           addr + size - 1, ram ? "ram" : "i/o",
                           member_str(e, "name"));
}

/*
 * QEMU's memory tree, for the guest-physical address space: boot RAM and
 * DIMMs as KVM maps them (one line per memslot, named by its owner), the
 * DIMMs inside the device-memory window's container.
 */
static void info_mtree(GString *out, struct machine *m)
{
    json_object *map = machine_query_memory_map(m);
    uint64_t window_end = 0;

    g_string_append(out, "address-space: memory\r\n");
    g_string_append(out, "  0000000000000000-ffffffffffffffff "
                    "(prio 0, i/o): system\r\n");
    for (size_t i = 0; i < json_object_array_length(map); i++) {
        json_object *e = json_object_array_get_idx(map, i);
        uint64_t addr = json_object_get_uint64(
                            json_object_object_get(e, "addr"));

        if (!strcmp(member_str(e, "kind"), "window")) {
            window_end = addr + json_object_get_uint64(
                                    json_object_object_get(e, "size"));
            mtree_line(out, 2, e);
        } else {
            mtree_line(out, addr < window_end ? 3 : 2, e);
        }
    }
    g_string_append(out, "\r\n");
    json_object_put(map);
}

static const struct {
    const char *name;
    const char *help;
    hmp_info_fn fn;
    bool flags;         /* takes QEMU's -X flags (and ignores them) */
} infos[] = {
    { "memdev", "show memory backends", info_memdev, false },
    { "memory-devices", "show memory devices", info_memory_devices, false },
    { "mtree", "show memory tree (guest-physical memory map)", info_mtree,
      true },
    { "numa", "show NUMA information", info_numa, false },
    { "status", "show the current VM status (running|paused)", info_status,
      false },
};

/* Words after the command's name that it cannot take. */
static bool extraneous(char **rest, bool flags)
{
    for (; *rest; rest++) {
        if (!flags || (*rest)[0] != '-')
            return true;
    }
    return false;
}

static void run_info(GString *out, struct machine *m, char **words)
{
    if (!words[1]) {
        for (size_t i = 0; i < G_N_ELEMENTS(infos); i++)
            g_string_append_printf(out, "info %s  -- %s\r\n", infos[i].name,
                                   infos[i].help);
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(infos); i++) {
        if (strcmp(words[1], infos[i].name))
            continue;
        if (extraneous(words + 2, infos[i].flags)) {
            g_string_append_printf(out, "%s: extraneous characters at the "
                                   "end of line\r\nTry \"help info %s\" for "
                                   "more information\r\n", infos[i].name,
                                   infos[i].name);
            return;
        }
        infos[i].fn(out, m);
        return;
    }
    g_string_append_printf(out, "unknown command: 'info %s'\r\n", words[1]);
}

static void cmd_human_monitor_command(struct qmp_request *req,
                                      json_object *args, void *opaque)
{
    const char *line = json_object_get_string(
                           json_object_object_get(args, "command-line"));
    g_auto(GStrv) words = g_strsplit_set(line, " \t", -1);
    g_autoptr(GPtrArray) kept = g_ptr_array_new();
    GString *out = g_string_new(NULL);

    for (unsigned i = 0; words[i]; i++) {
        if (*words[i])
            g_ptr_array_add(kept, words[i]);
    }
    g_ptr_array_add(kept, NULL);
    if (kept->len > 1 && !strcmp(kept->pdata[0], "info"))
        run_info(out, opaque, (char **)kept->pdata);
    else if (kept->len > 1)
        g_string_append_printf(out, "unknown command: '%s'\r\n",
                               (char *)kept->pdata[0]);
    qmp_request_return(req, json_object_new_string(out->str));
    g_string_free(out, TRUE);
}

static const struct qmp_arg hmp_args[] = {
    { "command-line", QMP_ARG_STR, false },
    { "cpu-index", QMP_ARG_INT, true },
    { NULL },
};

static const struct qmp_command hmp_command = {
    .name = "human-monitor-command", .args = hmp_args,
    .handler = cmd_human_monitor_command, .ret = &schema_str,
};

struct monitor_group monitor_register_hmp(struct qmp_server *server,
                                          struct machine *m)
{
    /* The server points at it until it is freed; then so is it. */
    struct qmp_command *cmd = g_memdup2(&hmp_command, sizeof(hmp_command));

    cmd->opaque = m;
    qmp_server_register(server, cmd);
    return (struct monitor_group){ cmd, g_free };
}
