/*
 * query-qmp-schema and query-events: the monitor describing itself, in
 * QEMU's introspection format (qapi/introspect.json SchemaInfo), from the
 * tables the server dispatches with (each command's struct qmp_arg list,
 * result type and union branches) and the table the machine emits events
 * from (machine/machine_events.h). Nothing here lists a command or an
 * event by name, so the schema cannot leave one out or describe one the
 * dispatcher would refuse.
 *
 * Type names are opaque numbers as in QEMU ("0" is the empty object);
 * builtins keep their names ("str", "int", ...) and arrays are named
 * "[ELEMENT]". A type is printed once however often it is used.
 */
#include "monitor/commands.h"

#include "machine/machine_events.h"
#include "monitor/qmp_types.h"

struct schema_gen {
    json_object *out;           /* SchemaInfo list */
    GHashTable *names;          /* description pointer -> name */
    unsigned next;              /* next opaque number */
};

static const char *type_name(struct schema_gen *g,
                             const struct schema_type *t);

static json_object *entity(const char *name, const char *meta)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "meta-type", json_object_new_string(meta));
    return o;
}

/* A name for key, and whether it is new (then the caller prints it). */
static const char *claim_name(struct schema_gen *g, const void *key,
                              char *fixed, bool *is_new)
{
    char *name = g_hash_table_lookup(g->names, key);

    *is_new = !name;
    if (name) {
        g_free(fixed);
        return name;
    }
    name = fixed ? fixed : g_strdup_printf("%u", g->next++);
    g_hash_table_insert(g->names, (gpointer)key, name);
    return name;
}

static json_object *member_json(struct schema_gen *g, const char *name,
                                const struct schema_type *type,
                                bool optional)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "type",
                           json_object_new_string(type_name(g, type)));
    if (optional)       /* introspect.json: "default": null = optional */
        json_object_object_add(o, "default", NULL);
    return o;
}

static void add_variants(struct schema_gen *g, json_object *o,
                         const char *tag,
                         const struct schema_variant *variants)
{
    json_object *list = json_object_new_array();

    for (const struct schema_variant *v = variants; v->value; v++) {
        json_object *c = json_object_new_object();

        json_object_object_add(c, "case", json_object_new_string(v->value));
        json_object_object_add(c, "type", json_object_new_string(
                                   type_name(g, v->type)));
        json_object_array_add(list, c);
    }
    json_object_object_add(o, "tag", json_object_new_string(tag));
    json_object_object_add(o, "variants", list);
}

static json_object *describe(struct schema_gen *g, const char *name,
                             const struct schema_type *t)
{
    json_object *o, *members = json_object_new_array();

    switch (t->meta) {
    case SCHEMA_BUILTIN:
        json_object_put(members);
        o = entity(name, "builtin");
        json_object_object_add(o, "json-type",
                               json_object_new_string(t->json_type));
        return o;
    case SCHEMA_ENUM: {
        json_object *values = json_object_new_array();

        o = entity(name, "enum");
        for (const char *const *v = t->values; *v; v++) {
            json_object *mem = json_object_new_object();

            json_object_object_add(mem, "name", json_object_new_string(*v));
            json_object_array_add(members, mem);
            json_object_array_add(values, json_object_new_string(*v));
        }
        json_object_object_add(o, "members", members);
        json_object_object_add(o, "values", values);
        return o;
    }
    case SCHEMA_ARRAY:
        json_object_put(members);
        o = entity(name, "array");
        json_object_object_add(o, "element-type", json_object_new_string(
                                   type_name(g, t->element)));
        return o;
    case SCHEMA_OBJECT:
        o = entity(name, "object");
        for (const struct schema_member *m = t->members; m->name; m++)
            json_object_array_add(members, member_json(g, m->name, m->type,
                                                       m->optional));
        json_object_object_add(o, "members", members);
        if (t->variants)
            add_variants(g, o, t->tag, t->variants);
        return o;
    case SCHEMA_ALTERNATE:
        o = entity(name, "alternate");
        for (const struct schema_type *const *a = t->alternatives; *a; a++) {
            json_object *mem = json_object_new_object();

            json_object_object_add(mem, "type", json_object_new_string(
                                       type_name(g, *a)));
            json_object_array_add(members, mem);
        }
        json_object_object_add(o, "members", members);
        return o;
    }
    json_object_put(members);
    return NULL;
}

static const char *type_name(struct schema_gen *g,
                             const struct schema_type *t)
{
    char *fixed = NULL;
    const char *name;
    bool is_new;

    if (t->meta == SCHEMA_BUILTIN)
        fixed = g_strdup(t->name);
    else if (t->meta == SCHEMA_ARRAY)
        fixed = g_strdup_printf("[%s]", type_name(g, t->element));
    name = claim_name(g, t, fixed, &is_new);
    if (is_new)
        json_object_array_add(g->out, describe(g, name, t));
    return name;
}

/* A command's arguments: its qmp_arg list (and union branches) as an
 * object type; the empty object when it takes none. */
static const char *args_type_name(struct schema_gen *g,
                                  const struct qmp_command *cmd)
{
    const void *key = cmd->variants ? (const void *)cmd
                                    : (const void *)cmd->args;
    json_object *o, *members;
    const char *name;
    bool is_new;

    if (!cmd->variants && (!cmd->args || !cmd->args->name))
        return type_name(g, &schema_empty);
    name = claim_name(g, key, NULL, &is_new);
    if (!is_new)
        return name;
    o = entity(name, "object");
    members = json_object_new_array();
    for (const struct qmp_arg *a = cmd->args; a && a->name; a++)
        json_object_array_add(members, member_json(g, a->name, a->type,
                                                   a->optional));
    json_object_object_add(o, "members", members);
    if (cmd->variants)
        add_variants(g, o, cmd->tag, cmd->variants);
    json_object_array_add(g->out, o);
    return name;
}

static void describe_command(const struct qmp_command *cmd, void *opaque)
{
    struct schema_gen *g = opaque;
    json_object *o = entity(cmd->name, "command");

    json_object_object_add(o, "arg-type", json_object_new_string(
                               args_type_name(g, cmd)));
    json_object_object_add(o, "ret-type", json_object_new_string(
                               type_name(g, cmd->ret ? cmd->ret
                                                     : &schema_empty)));
    if (cmd->features) {
        json_object *f = json_object_new_array();

        for (const char *const *s = cmd->features; *s; s++)
            json_object_array_add(f, json_object_new_string(*s));
        json_object_object_add(o, "features", f);
    }
    json_object_array_add(g->out, o);
}

static void cmd_query_qmp_schema(struct qmp_request *req, json_object *args,
                                 void *opaque)
{
    struct schema_gen g = {
        .out = json_object_new_array(),
        .names = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                       g_free),
    };

    type_name(&g, &schema_empty);       /* "0", as in QEMU */
    qmp_server_foreach_command(opaque, describe_command, &g);
    for (unsigned i = 0; i < MACHINE_EVENT_COUNT; i++) {
        json_object *o = entity(machine_events[i].name, "event");

        json_object_object_add(o, "arg-type", json_object_new_string(
                                   type_name(&g, machine_events[i].data)));
        json_object_array_add(g.out, o);
    }
    g_hash_table_destroy(g.names);
    qmp_request_return(req, g.out);
}

static void cmd_query_events(struct qmp_request *req, json_object *args,
                             void *opaque)
{
    json_object *list = json_object_new_array();

    for (unsigned i = 0; i < MACHINE_EVENT_COUNT; i++) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name",
                               json_object_new_string(machine_events[i].name));
        json_object_array_add(list, o);
    }
    qmp_request_return(req, list);
}

static const struct qmp_command schema_commands[] = {
    { .name = "query-qmp-schema", .handler = cmd_query_qmp_schema,
      .ret = &qt_schema_info_list },
    { .name = "query-events", .handler = cmd_query_events,
      .ret = &qt_event_info_list },
};

struct monitor_group monitor_register_schema(struct qmp_server *server)
{
    /* The server points at these until it is freed; then so are they. */
    struct qmp_command *table = g_memdup2(schema_commands,
                                          sizeof(schema_commands));

    for (size_t i = 0; i < G_N_ELEMENTS(schema_commands); i++) {
        table[i].opaque = server;
        qmp_server_register(server, &table[i]);
    }
    return (struct monitor_group){ table, g_free };
}
