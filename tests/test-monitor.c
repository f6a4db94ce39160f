/*
 * The monitor's command table against a machine without /dev/kvm
 * (machine_config.kvm_stub), through a real QMP socket: query-qmp-schema
 * checked against what the dispatcher actually accepts and refuses, and
 * the object tree, device properties and human-monitor texts with QEMU's
 * shapes and error texts. The server runs the default main context on a
 * thread of its own (object-add completes there); the test talks to it
 * with blocking sockets.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "cli/cli.h"
#include "machine/machine.h"
#include "monitor/commands.h"
#include "monitor/qmp.h"
#include "qmpclient.h"

#define MIB (1ULL << 20)
#define TIMEOUT_MS 30000

struct fixture {
    struct machine_kvm_stub stub;
    struct machine *m;
    struct qmp_server *server;
    struct monitor *mon;
    char *dir, *path;
    GThread *thread;
    gint stop;
    struct qmp *q;
};

static int stub_set_region(void *opaque, uint32_t slot, uint32_t flags,
                           uint64_t gpa, uint64_t size, void *hva)
{
    return 0;
}

static void stub_irq_line(void *opaque, uint32_t gsi, bool level)
{
}

static void forward_event(void *opaque, const char *event, const char *key,
                          bool limited, json_object *data)
{
    struct fixture *f = opaque;

    qmp_server_emit_keyed(f->server, event, key, limited, data);
}

static gpointer server_thread(gpointer opaque)
{
    struct fixture *f = opaque;

    while (!g_atomic_int_get(&f->stop))
        g_main_context_iteration(NULL, TRUE);
    return NULL;
}

/* 256 MiB of boot RAM, 4 slots, 2 vCPUs' worth of config (no vCPUs). */
static void setup(struct fixture *f, gconstpointer data)
{
    static const struct qmp_server_info info = {
        .major = 0, .minor = 1, .micro = 0, .package = "hotmem-test",
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = NULL;
    struct machine_config cfg = {
        .ram_size = 256 * MIB, .slots = 4, .maxmem = 1024 * MIB, .smp = 2,
        .serial = MACHINE_SERIAL_NONE, .kvm_stub = &f->stub,
        .emit = forward_event, .opaque = f,
    };

    memset(f, 0, sizeof(*f));
    f->stub = (struct machine_kvm_stub){ stub_set_region, stub_irq_line,
                                         f, 40, 64, NULL };
    f->m = machine_create(&cfg, &err);
    g_assert_no_error(err);
    f->server = qmp_server_new(&info);
    f->mon = monitor_new(f->server, f->m, NULL);
    f->dir = g_dir_make_tmp("test-monitor-XXXXXX", &err);
    g_assert_no_error(err);
    f->path = g_build_filename(f->dir, "qmp.sock", NULL);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", f->path);
    g_assert_true(qmp_server_listen(f->server, spec, &err));
    g_assert_no_error(err);
    f->thread = g_thread_new("qmp-server", server_thread, f);
    f->q = qmp_connect(f->path, TIMEOUT_MS);
    g_assert_nonnull(f->q);
}

static void teardown(struct fixture *f, gconstpointer data)
{
    qmp_close(f->q);
    g_atomic_int_set(&f->stop, 1);
    g_main_context_wakeup(NULL);
    g_thread_join(f->thread);
    qmp_server_free(f->server);
    monitor_free(f->mon);
    machine_destroy(f->m);
    g_unlink(f->path);
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

/* The error's class and desc; fails unless the reply is an error. */
static char *error_of(json_object *reply, const char **cls)
{
    json_object *e = NULL;
    char *desc;

    g_assert_true(json_object_object_get_ex(reply, "error", &e));
    *cls = g_intern_string(json_object_get_string(
                               json_object_object_get(e, "class")));
    desc = g_strdup(json_object_get_string(json_object_object_get(e,
                                                                  "desc")));
    json_object_put(reply);
    return desc;
}

static void expect_error(struct fixture *f, const char *cls,
                         const char *desc, const char *cmd)
{
    const char *got_cls;
    g_autofree char *got = error_of(qmp_call(f->q, cmd), &got_cls);

    g_assert_cmpstr(got, ==, desc);
    g_assert_cmpstr(got_cls, ==, cls);
}

/* The "return" of cmd as compact JSON text. */
static char *returns(struct fixture *f, const char *cmd)
{
    json_object *r = qmp_take_return(f->q, qmp_call(f->q, cmd));
    char *s = g_strdup(json_object_to_json_string_ext(
                           r, JSON_C_TO_STRING_PLAIN |
                              JSON_C_TO_STRING_NOSLASHESCAPE));

    json_object_put(r);
    return s;
}

static void expect_return(struct fixture *f, const char *cmd,
                          const char *json)
{
    g_autofree char *got = returns(f, cmd);

    g_assert_cmpstr(got, ==, json);
}

/* Two DIMMs: d0 (named, slot 0) and an anonymous one (slot 1). */
static void plug_two(struct fixture *f)
{
    qmp_ok(f->q, "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\":"
           " \"memory-backend-ram\", \"id\": \"m0\", \"size\": %llu}}",
           128 * MIB);
    qmp_ok(f->q, "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\":"
           " \"memory-backend-ram\", \"id\": \"m1\", \"size\": %llu}}",
           128 * MIB);
    qmp_ok(f->q, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
           "\"pc-dimm\", \"id\": \"d0\", \"memdev\": \"m0\"}}");
    qmp_ok(f->q, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
           "\"pc-dimm\", \"memdev\": \"m1\"}}");
}

/* ---- query-qmp-schema -------------------------------------------------- */

static json_object *schema_of(struct fixture *f, GHashTable *by_name)
{
    json_object *schema = qmp_return(f->q, "{\"execute\": "
                                     "\"query-qmp-schema\"}");

    for (size_t i = 0; i < json_object_array_length(schema); i++) {
        json_object *e = json_object_array_get_idx(schema, i);
        const char *name = json_object_get_string(
                               json_object_object_get(e, "name"));

        g_assert_false(g_hash_table_contains(by_name, name));
        g_hash_table_insert(by_name, (gpointer)name, e);
    }
    return schema;
}

static const char *member_str(json_object *o, const char *name)
{
    json_object *v = json_object_object_get(o, name);

    return v ? json_object_get_string(v) : NULL;
}

/* Every type a SchemaInfo names is defined in the schema. */
static void assert_defined(GHashTable *by_name, const char *type)
{
    g_assert_nonnull(type);
    if (!g_hash_table_contains(by_name, type))
        g_error("type '%s' is used but not defined", type);
}

static void check_entity(GHashTable *by_name, json_object *e)
{
    const char *meta = member_str(e, "meta-type");
    json_object *list;

    if (!strcmp(meta, "command") || !strcmp(meta, "event")) {
        assert_defined(by_name, member_str(e, "arg-type"));
        /* An event or a command's arguments are an object. */
        g_assert_cmpstr(member_str(g_hash_table_lookup(
                            by_name, member_str(e, "arg-type")),
                            "meta-type"), ==, "object");
    }
    if (!strcmp(meta, "command"))
        assert_defined(by_name, member_str(e, "ret-type"));
    else if (!strcmp(meta, "array"))
        assert_defined(by_name, member_str(e, "element-type"));
    else if (!strcmp(meta, "builtin"))
        g_assert_nonnull(member_str(e, "json-type"));
    else if (!strcmp(meta, "enum"))
        g_assert_cmpuint(json_object_array_length(
                             json_object_object_get(e, "values")), >, 0);
    else if (strcmp(meta, "object") && strcmp(meta, "alternate") &&
             strcmp(meta, "event"))
        g_error("unknown meta-type '%s'", meta);
    list = json_object_object_get(e, "members");
    for (size_t i = 0; (!strcmp(meta, "object") ||
                        !strcmp(meta, "alternate")) &&
                       i < json_object_array_length(list); i++)
        assert_defined(by_name, member_str(json_object_array_get_idx(list, i),
                                           "type"));
    list = json_object_object_get(e, "variants");
    for (size_t i = 0; list && i < json_object_array_length(list); i++)
        assert_defined(by_name, member_str(json_object_array_get_idx(list, i),
                                           "type"));
}

static void test_schema_well_formed(struct fixture *f, gconstpointer data)
{
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash,
                                                     g_str_equal);
    json_object *schema = schema_of(f, by_name);
    json_object *empty = g_hash_table_lookup(by_name, "0");

    for (size_t i = 0; i < json_object_array_length(schema); i++)
        check_entity(by_name, json_object_array_get_idx(schema, i));
    /* QEMU's shapes: "0" is the empty object, builtins keep their names. */
    g_assert_cmpstr(member_str(empty, "meta-type"), ==, "object");
    g_assert_cmpuint(json_object_array_length(
                         json_object_object_get(empty, "members")), ==, 0);
    g_assert_cmpstr(member_str(g_hash_table_lookup(by_name, "str"),
                               "json-type"), ==, "string");
    g_assert_cmpstr(member_str(g_hash_table_lookup(by_name, "qom-get"),
                               "ret-type"), ==, "any");
    g_assert_cmpstr(member_str(g_hash_table_lookup(by_name,
                                                   "human-monitor-command"),
                               "ret-type"), ==, "str");
    json_object_put(schema);
}

/* Commands in query-commands and events in query-events, and no others. */
static void test_schema_lists_everything(struct fixture *f,
                                         gconstpointer data)
{
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash,
                                                     g_str_equal);
    json_object *schema = schema_of(f, by_name);
    json_object *cmds = qmp_return(f->q, "{\"execute\": \"query-commands\"}");
    json_object *events = qmp_return(f->q, "{\"execute\": \"query-events\"}");
    unsigned schema_cmds = 0, schema_events = 0;

    for (size_t i = 0; i < json_object_array_length(schema); i++) {
        const char *meta = member_str(json_object_array_get_idx(schema, i),
                                      "meta-type");

        schema_cmds += !strcmp(meta, "command");
        schema_events += !strcmp(meta, "event");
    }
    for (size_t i = 0; i < json_object_array_length(cmds); i++) {
        const char *name = member_str(json_object_array_get_idx(cmds, i),
                                      "name");
        json_object *e = g_hash_table_lookup(by_name, name);

        g_assert_nonnull(e);
        g_assert_cmpstr(member_str(e, "meta-type"), ==, "command");
    }
    for (size_t i = 0; i < json_object_array_length(events); i++) {
        const char *name = member_str(json_object_array_get_idx(events, i),
                                      "name");
        json_object *e = g_hash_table_lookup(by_name, name);

        g_assert_nonnull(e);
        g_assert_cmpstr(member_str(e, "meta-type"), ==, "event");
    }
    g_assert_cmpuint(schema_cmds, ==, json_object_array_length(cmds));
    g_assert_cmpuint(schema_events, ==, json_object_array_length(events));
    /* The events hotmem sends (docs/qmp.md). */
    for (const char *const *ev = (const char *const[]){
             "SHUTDOWN", "POWERDOWN", "STOP", "RESUME", "ACPI_DEVICE_OST",
             "DEVICE_DELETED", "DEVICE_UNPLUG_GUEST_ERROR", NULL }; *ev; ev++)
        g_assert_nonnull(g_hash_table_lookup(by_name, *ev));
    json_object_put(schema);
    json_object_put(cmds);
    json_object_put(events);
}

/* A value of the member's type, and one of another JSON type. */
static json_object *sample(GHashTable *by_name, const char *type, bool good)
{
    json_object *t = g_hash_table_lookup(by_name, type);
    const char *meta = member_str(t, "meta-type");
    const char *json = !strcmp(meta, "builtin") ? member_str(t, "json-type")
                       : !strcmp(meta, "enum") ? "string"
                       : !strcmp(meta, "array") ? "array" : "object";

    if (!good)
        return !strcmp(json, "string") ? json_object_new_int(0)
                                       : json_object_new_string("x");
    if (!strcmp(meta, "enum"))
        return json_object_get(json_object_array_get_idx(
                   json_object_object_get(t, "values"), 0));
    if (!strcmp(json, "string"))
        return json_object_new_string("x");
    if (!strcmp(json, "int") || !strcmp(json, "number") ||
        !strcmp(json, "value"))
        return json_object_new_int(0);
    if (!strcmp(json, "boolean"))
        return json_object_new_boolean(0);
    return !strcmp(json, "array") ? json_object_new_array()
                                  : json_object_new_object();
}

static const char *expected_name(GHashTable *by_name, const char *type)
{
    json_object *t = g_hash_table_lookup(by_name, type);
    const char *meta = member_str(t, "meta-type");
    const char *json = member_str(t, "json-type");

    if (!strcmp(meta, "enum"))
        return "string";
    if (strcmp(meta, "builtin"))
        return meta;            /* "array", "object" */
    return !strcmp(json, "int") ? "integer" : json;
}

static char *call_with(struct fixture *f, const char *cmd, json_object *args,
                       const char **cls)
{
    json_object *req = json_object_new_object();
    json_object *reply;

    json_object_object_add(req, "execute", json_object_new_string(cmd));
    json_object_object_add(req, "arguments", args);
    reply = qmp_call(f->q, json_object_to_json_string_ext(
                               req, JSON_C_TO_STRING_PLAIN));
    json_object_put(req);
    return error_of(reply, cls);
}

/*
 * For every command and every member of its arguments in the schema, the
 * dispatcher refuses a value of another JSON type (and an enum value not
 * listed) with QEMU's message naming that member; the members before it
 * are given well-typed values, so the check runs before any handler does.
 * A command whose schema lists no members refuses any argument.
 */
static void check_command_args(struct fixture *f, GHashTable *by_name,
                               const char *cmd, json_object *arg_type)
{
    json_object *members = json_object_object_get(arg_type, "members");
    size_t n = json_object_array_length(members);
    const char *cls;

    for (size_t i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(members, i);
        const char *name = member_str(m, "name");
        const char *type = member_str(m, "type");
        json_object *args;
        g_autofree char *want = NULL, *got = NULL;

        if (!strcmp(type, "any"))
            continue;
        args = json_object_new_object();
        for (size_t k = 0; k < i; k++) {
            json_object *before = json_object_array_get_idx(members, k);

            json_object_object_add(args, member_str(before, "name"),
                                   sample(by_name,
                                          member_str(before, "type"), true));
        }
        json_object_object_add(args, name, sample(by_name, type, false));
        want = g_strdup_printf("Invalid parameter type for '%s', expected: "
                               "%s", name, expected_name(by_name, type));
        got = call_with(f, cmd, args, &cls);
        if (strcmp(got, want))
            g_error("%s: '%s', expected '%s'", cmd, got, want);
    }
    if (n == 0) {
        g_autofree char *got = call_with(f, cmd, json_tokener_parse(
                                             "{\"x-no-such\": 1}"), &cls);

        g_assert_cmpstr(got, ==, "Parameter 'x-no-such' is unexpected");
    }
}

static void test_schema_matches_dispatcher(struct fixture *f,
                                           gconstpointer data)
{
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash,
                                                     g_str_equal);
    json_object *schema = schema_of(f, by_name);
    unsigned checked = 0;

    for (size_t i = 0; i < json_object_array_length(schema); i++) {
        json_object *e = json_object_array_get_idx(schema, i);
        const char *name = member_str(e, "name");

        if (strcmp(member_str(e, "meta-type"), "command") ||
            !strcmp(name, "qmp_capabilities"))
            continue;   /* refused after negotiation whatever its args */
        check_command_args(f, by_name, name, g_hash_table_lookup(
                               by_name, member_str(e, "arg-type")));
        checked++;
    }
    g_assert_cmpuint(checked, >, 30);
    json_object_put(schema);
}

/* An enum member refuses a value it does not list, in QEMU's words. */
static void test_schema_enum_checked(struct fixture *f, gconstpointer data)
{
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash,
                                                     g_str_equal);
    json_object *schema = schema_of(f, by_name);
    json_object *ost = g_hash_table_lookup(by_name, "ACPI_DEVICE_OST");
    json_object *data_type = g_hash_table_lookup(by_name,
                                                 member_str(ost, "arg-type"));
    json_object *info = json_object_array_get_idx(
                            json_object_object_get(data_type, "members"), 0);
    json_object *info_type = g_hash_table_lookup(by_name,
                                                 member_str(info, "type"));
    json_object *slot_type = json_object_array_get_idx(
                                 json_object_object_get(info_type, "members"),
                                 2);
    json_object *values = json_object_object_get(g_hash_table_lookup(
                              by_name, member_str(slot_type, "type")),
                              "values");

    /* ACPI_DEVICE_OST's data: {"info": ACPIOSTInfo}, slot-type an enum. */
    g_assert_cmpstr(member_str(info, "name"), ==, "info");
    g_assert_cmpstr(member_str(slot_type, "name"), ==, "slot-type");
    g_assert_cmpstr(json_object_get_string(json_object_array_get_idx(values,
                                                                     0)),
                    ==, "DIMM");
    json_object_put(schema);
}

/* object-add's branches are the memory backends, with their properties. */
static void test_schema_object_add(struct fixture *f, gconstpointer data)
{
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash,
                                                     g_str_equal);
    json_object *schema = schema_of(f, by_name);
    json_object *cmd = g_hash_table_lookup(by_name, "object-add");
    json_object *args = g_hash_table_lookup(by_name,
                                            member_str(cmd, "arg-type"));
    json_object *variants = json_object_object_get(args, "variants");
    g_autoptr(GString) file_members = g_string_new(NULL);
    json_object *file = NULL;

    g_assert_cmpstr(member_str(args, "tag"), ==, "qom-type");
    for (size_t i = 0; i < json_object_array_length(variants); i++) {
        json_object *v = json_object_array_get_idx(variants, i);

        if (!strcmp(member_str(v, "case"), "memory-backend-file"))
            file = g_hash_table_lookup(by_name, member_str(v, "type"));
    }
    g_assert_cmpuint(json_object_array_length(variants), ==, 3);
    g_assert_nonnull(file);
    for (size_t i = 0; i < json_object_array_length(
                               json_object_object_get(file, "members")); i++) {
        json_object *m = json_object_array_get_idx(
                             json_object_object_get(file, "members"), i);

        g_string_append_printf(file_members, "%s%s ", member_str(m, "name"),
                               json_object_object_get_ex(m, "default", NULL)
                               ? "?" : "");
    }
    g_assert_cmpstr(file_members->str, ==, "size share? prealloc? "
                    "prealloc-threads? reserve? merge? dump? thp? policy? "
                    "host-nodes? mem-path align? offset? readonly? "
                    "discard-data? ");
    g_assert_cmpstr(member_str(cmd, "ret-type"), ==, "0");
    json_object_put(schema);
}

/* ---- the object tree --------------------------------------------------- */

static void test_qom_list(struct fixture *f, gconstpointer data)
{
    plug_two(f);
    expect_return(f, "{\"execute\": \"qom-list\", \"arguments\": {\"path\": "
                  "\"/machine/peripheral/d0\"}}",
                  "[{\"name\":\"type\",\"type\":\"string\"},"
                  "{\"name\":\"realized\",\"type\":\"bool\"},"
                  "{\"name\":\"hotplugged\",\"type\":\"bool\"},"
                  "{\"name\":\"hotpluggable\",\"type\":\"bool\"},"
                  "{\"name\":\"memdev\",\"type\":\"link<memory-backend>\"},"
                  "{\"name\":\"node\",\"type\":\"uint32\"},"
                  "{\"name\":\"addr\",\"type\":\"uint64\"},"
                  "{\"name\":\"slot\",\"type\":\"int32\"},"
                  "{\"name\":\"size\",\"type\":\"uint64\"}]");
    expect_return(f, "{\"execute\": \"qom-list\", \"arguments\": {\"path\": "
                  "\"/objects\"}}",
                  "[{\"name\":\"type\",\"type\":\"string\"},"
                  "{\"name\":\"m0\",\"type\":\"child<memory-backend-ram>\"},"
                  "{\"name\":\"m1\",\"type\":\"child<memory-backend-ram>\"}]");
    expect_return(f, "{\"execute\": \"qom-list\", \"arguments\": {\"path\": "
                  "\"/machine/peripheral-anon\"}}",
                  "[{\"name\":\"type\",\"type\":\"string\"},"
                  "{\"name\":\"device[0]\",\"type\":\"child<pc-dimm>\"}]");
    expect_return(f, "{\"execute\": \"qom-list\", \"arguments\": {\"path\": "
                  "\"/objects/m0\"}}",
                  "[{\"name\":\"type\",\"type\":\"string\"},"
                  "{\"name\":\"size\",\"type\":\"int\"},"
                  "{\"name\":\"share\",\"type\":\"bool\"},"
                  "{\"name\":\"prealloc\",\"type\":\"bool\"},"
                  "{\"name\":\"prealloc-threads\",\"type\":\"int\"},"
                  "{\"name\":\"reserve\",\"type\":\"bool\"},"
                  "{\"name\":\"merge\",\"type\":\"bool\"},"
                  "{\"name\":\"dump\",\"type\":\"bool\"},"
                  "{\"name\":\"thp\",\"type\":\"bool\"},"
                  "{\"name\":\"policy\",\"type\":\"HostMemPolicy\"},"
                  "{\"name\":\"host-nodes\",\"type\":\"int\"}]");
    expect_error(f, "DeviceNotFound", "Device '/machine/foo' not found",
                 "{\"execute\": \"qom-list\", \"arguments\": {\"path\": "
                 "\"/machine/foo\"}}");
    expect_error(f, "GenericError", "Path '' is ambiguous",
                 "{\"execute\": \"qom-list\", \"arguments\": {\"path\": "
                 "\"\"}}");
}

static void test_qom_get(struct fixture *f, gconstpointer data)
{
    plug_two(f);
    expect_return(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
                  "\"/machine/peripheral/d0\", \"property\": \"memdev\"}}",
                  "\"/objects/m0\"");
    expect_return(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
                  "\"/machine/peripheral-anon/device[0]\", \"property\": "
                  "\"slot\"}}", "1");
    /* A partial path names the one object whose path ends with it. */
    expect_return(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
                  "\"d0\", \"property\": \"size\"}}", "134217728");
    expect_return(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
                  "\"/objects\", \"property\": \"m1\"}}", "\"/objects/m1\"");
    expect_return(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
                  "\"/objects/m1\", \"property\": \"host-nodes\"}}", "[]");
    expect_return(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
                  "\"/objects/m1\", \"property\": \"policy\"}}",
                  "\"default\"");
    expect_error(f, "GenericError", "Property 'pc-dimm.nope' not found",
                 "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
                 "\"/machine/peripheral/d0\", \"property\": \"nope\"}}");
    expect_error(f, "DeviceNotFound", "Device '/machine/foo' not found",
                 "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
                 "\"/machine/foo\", \"property\": \"type\"}}");
}

static void test_qom_set(struct fixture *f, gconstpointer data)
{
    plug_two(f);
    qmp_ok(f->q, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
           "\"/objects/m0\", \"property\": \"dump\", \"value\": false}}");
    expect_return(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
                  "\"/objects/m0\", \"property\": \"dump\"}}", "false");
    expect_error(f, "GenericError", "Invalid parameter type for 'merge', "
                 "expected: boolean",
                 "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
                 "\"/objects/m0\", \"property\": \"merge\", \"value\": 1}}");
    expect_error(f, "GenericError", "Attempt to set property 'addr' on "
                 "device 'd0' (type 'pc-dimm') after it was realized",
                 "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
                 "\"d0\", \"property\": \"addr\", \"value\": 0}}");
    expect_error(f, "GenericError", "Attempt to set property 'node' on "
                 "anonymous device (type 'pc-dimm') after it was realized",
                 "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
                 "\"/machine/peripheral-anon/device[0]\", \"property\": "
                 "\"node\", \"value\": 0}}");
    expect_error(f, "GenericError", "Property 'pc-dimm.size' is not writable",
                 "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
                 "\"d0\", \"property\": \"size\", \"value\": 1}}");
    expect_error(f, "GenericError", "cannot change property value",
                 "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
                 "\"/objects/m0\", \"property\": \"share\", \"value\": "
                 "true}}");
    expect_error(f, "GenericError", "Property 'container.m0' is not writable",
                 "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
                 "\"/objects\", \"property\": \"m0\", \"value\": 1}}");
}

static void test_types_and_properties(struct fixture *f, gconstpointer data)
{
    expect_return(f, "{\"execute\": \"device-list-properties\", "
                  "\"arguments\": {\"typename\": \"pc-dimm\"}}",
                  "[{\"name\":\"memdev\",\"type\":\"link<memory-backend>\"},"
                  "{\"name\":\"node\",\"type\":\"uint32\","
                  "\"default-value\":0},"
                  "{\"name\":\"addr\",\"type\":\"uint64\","
                  "\"default-value\":0},"
                  "{\"name\":\"slot\",\"type\":\"int32\","
                  "\"default-value\":-1}]");
    expect_error(f, "DeviceNotFound", "Device 'nope' not found",
                 "{\"execute\": \"device-list-properties\", \"arguments\": "
                 "{\"typename\": \"nope\"}}");
    expect_error(f, "GenericError", "Parameter 'typename' expects a "
                 "non-abstract device type",
                 "{\"execute\": \"device-list-properties\", \"arguments\": "
                 "{\"typename\": \"memory-backend-ram\"}}");
    expect_return(f, "{\"execute\": \"qom-list-types\", \"arguments\": "
                  "{\"implements\": \"memory-backend\", \"abstract\": true}}",
                  "[{\"name\":\"memory-backend\",\"abstract\":true,"
                  "\"parent\":\"object\"},"
                  "{\"name\":\"memory-backend-ram\","
                  "\"parent\":\"memory-backend\"},"
                  "{\"name\":\"memory-backend-file\","
                  "\"parent\":\"memory-backend\"},"
                  "{\"name\":\"memory-backend-memfd\","
                  "\"parent\":\"memory-backend\"}]");
    expect_return(f, "{\"execute\": \"qom-list-types\", \"arguments\": "
                  "{\"implements\": \"nope\"}}", "[]");
    /* No vCPUs in a machine without KVM; the machine types all the same. */
    expect_return(f, "{\"execute\": \"query-cpus-fast\"}", "[]");
    expect_return(f, "{\"execute\": \"query-hotpluggable-cpus\"}", "[]");
    expect_return(f, "{\"execute\": \"query-machines\"}",
                  "[{\"hotpluggable-cpus\":false,\"name\":\"pc-q35-7.2\","
                  "\"numa-mem-supported\":false,"
                  "\"default-cpu-type\":\"host-x86_64-cpu\",\"cpu-max\":255,"
                  "\"deprecated\":false,\"default-ram-id\":\"pc.ram\","
                  "\"alias\":\"q35\"},"
                  "{\"hotpluggable-cpus\":false,\"name\":\"pc-i440fx-7.2\","
                  "\"numa-mem-supported\":false,"
                  "\"default-cpu-type\":\"host-x86_64-cpu\","
                  "\"is-default\":true,\"cpu-max\":255,"
                  "\"deprecated\":false,\"default-ram-id\":\"pc.ram\","
                  "\"alias\":\"pc\"}]");
}

/* ---- human-monitor-command ---------------------------------------------- */

static char *hmp(struct fixture *f, const char *line)
{
    json_object *r = qmp_return(f->q, "{\"execute\": "
                                "\"human-monitor-command\", \"arguments\": "
                                "{\"command-line\": \"%s\"}}", line);
    char *s = g_strdup(json_object_get_string(r));

    json_object_put(r);
    return s;
}

static void expect_hmp(struct fixture *f, const char *line, const char *text)
{
    g_autofree char *got = hmp(f, line);

    g_assert_cmpstr(got, ==, text);
}

static void test_hmp_info(struct fixture *f, gconstpointer data)
{
    plug_two(f);
    qmp_ok(f->q, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
           "\"/objects/m0\", \"property\": \"dump\", \"value\": false}}");
    expect_hmp(f, "info memory-devices",
               "Memory device [dimm]: \"d0\"\r\n"
               "  addr: 0x100000000\r\n  slot: 0\r\n  node: 0\r\n"
               "  size: 134217728\r\n  memdev: /objects/m0\r\n"
               "  hotplugged: true\r\n  hotpluggable: true\r\n"
               "Memory device [dimm]: \"\"\r\n"
               "  addr: 0x108000000\r\n  slot: 1\r\n  node: 0\r\n"
               "  size: 134217728\r\n  memdev: /objects/m1\r\n"
               "  hotplugged: true\r\n  hotpluggable: true\r\n");
    /* The boot RAM first, as QEMU's pc.ram (query-memdev's order). */
    expect_hmp(f, "info memdev",
               "memory backend: pc.ram\r\n  size:  268435456\r\n"
               "  merge: true\r\n  dump: true\r\n  prealloc: false\r\n"
               "  share: false\r\n  reserve: true\r\n  policy: default\r\n"
               "  host nodes: \r\n"
               "memory backend: m0\r\n  size:  134217728\r\n"
               "  merge: true\r\n  dump: false\r\n  prealloc: false\r\n"
               "  share: false\r\n  reserve: true\r\n  policy: default\r\n"
               "  host nodes: \r\n"
               "memory backend: m1\r\n  size:  134217728\r\n"
               "  merge: true\r\n  dump: true\r\n  prealloc: false\r\n"
               "  share: false\r\n  reserve: true\r\n  policy: default\r\n"
               "  host nodes: \r\n\r\n");
    expect_hmp(f, "info status", "VM status: paused (prelaunch)\r\n");
    expect_hmp(f, "info numa", "1 nodes\r\nnode 0 cpus: 0 1\r\n"
               "node 0 size: 512 MB\r\nnode 0 plugged: 256 MB\r\n");
    expect_hmp(f, "info mtree -f",
               "address-space: memory\r\n"
               "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\r\n"
               "    0000000000000000-000000000fffffff (prio 0, ram): "
               "ram-below-4g\r\n"
               "    0000000100000000-000000023fffffff (prio 0, i/o): "
               "device-memory\r\n"
               "      0000000100000000-0000000107ffffff (prio 0, ram): d0\r\n"
               "      0000000108000000-000000010fffffff (prio 0, ram): "
               "/machine/peripheral-anon/device[0]\r\n\r\n");
    expect_hmp(f, "info nope", "unknown command: 'info nope'\r\n");
    expect_hmp(f, "nope", "unknown command: 'nope'\r\n");
    expect_hmp(f, "", "");
    expect_hmp(f, "info status now", "status: extraneous characters at the "
               "end of line\r\nTry \"help info status\" for more "
               "information\r\n");
}

/*
 * x-query-cmdline: the machine as it is now. Objects added and still
 * there, in id order, as they were given; the hot-added DIMM with its
 * slot and address; a deleted object gone. The line parses back.
 */
static void test_query_cmdline(struct fixture *f, gconstpointer data)
{
    static const char *const want_args =
        "[\"-m\",\"256M,slots=4,maxmem=1G\",\"-smp\",\"2\","
        /* The fixture's config leaves host_phys_bits 0: off. */
        "\"-cpu\",\"host,host-phys-bits=off\","
        "\"-object\",\"memory-backend-memfd,id=a1,size=2097152,"
        "share=on\","
        "\"-object\",\"memory-backend-ram,id=b1,size=134217728\","
        "\"-device\",\"pc-dimm,id=d1,memdev=b1,slot=0,addr=0x100000000,"
        "node=0\"]";
    g_autofree char *got = NULL, *line = NULL;
    json_object *r;
    struct cli_options o;
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) words = NULL;
    int nwords;

    qmp_ok(f->q, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": \"b1\", "
           "\"size\": 134217728}}");
    qmp_ok(f->q, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-memfd\", \"id\": \"a1\", "
           "\"size\": 2097152, \"share\": true}}");
    qmp_ok(f->q, "{\"execute\": \"object-add\", \"arguments\": "
           "{\"qom-type\": \"memory-backend-ram\", \"id\": \"gone\", "
           "\"size\": 2097152}}");
    qmp_ok(f->q, "{\"execute\": \"object-del\", \"arguments\": "
           "{\"id\": \"gone\"}}");
    qmp_ok(f->q, "{\"execute\": \"device_add\", \"arguments\": "
           "{\"driver\": \"pc-dimm\", \"id\": \"d1\", "
           "\"memdev\": \"b1\"}}");
    r = qmp_return(f->q, "{\"execute\": \"x-query-cmdline\"}");
    got = g_strdup(json_object_to_json_string_ext(
                       json_object_object_get(r, "args"),
                       JSON_C_TO_STRING_PLAIN |
                       JSON_C_TO_STRING_NOSLASHESCAPE));
    g_assert_cmpstr(got, ==, want_args);
    line = g_strdup(json_object_get_string(json_object_object_get(r,
                                                                  "cmdline")));
    json_object_put(r);
    g_assert_true(g_str_has_prefix(line, "hotmem -m 256M,slots=4,maxmem=1G "));
    g_assert_true(g_shell_parse_argv(line, &nwords, &words, &err));
    g_assert_true(cli_parse(nwords, words, &o, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(o.objects->len, ==, 2);
    g_assert_cmpuint(o.devices->len, ==, 1);
    g_assert_cmpuint(o.ram_size, ==, 256 * MIB);
    g_assert_cmpuint(o.smp, ==, 2);
    cli_options_clear(&o);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, struct fixture, NULL, setup, fn, \
                                 teardown)
    ADD("/monitor/schema/well-formed", test_schema_well_formed);
    ADD("/monitor/schema/lists-everything", test_schema_lists_everything);
    ADD("/monitor/schema/matches-dispatcher",
        test_schema_matches_dispatcher);
    ADD("/monitor/schema/enum", test_schema_enum_checked);
    ADD("/monitor/schema/object-add", test_schema_object_add);
    ADD("/monitor/qom/list", test_qom_list);
    ADD("/monitor/qom/get", test_qom_get);
    ADD("/monitor/qom/set", test_qom_set);
    ADD("/monitor/qom/types-and-properties", test_types_and_properties);
    ADD("/monitor/hmp/info", test_hmp_info);
    ADD("/monitor/x-query-cmdline", test_query_cmdline);
#undef ADD
    return g_test_run();
}
