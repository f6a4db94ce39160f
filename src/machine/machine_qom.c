/*
 * The machine as QEMU's object tree (QOM) shows it, for qom-list, qom-get
 * and qom-set: the paths and properties QEMU has for what hotmem has too.
 *
 *   /                               container
 *   /machine                        pc-q35-7.2-machine
 *   /machine/peripheral/ID          pc-dimm (device_add with an id)
 *   /machine/peripheral-anon/device[N]   pc-dimm without an id
 *   /machine/unattached/device[N]   the vCPUs
 *   /objects/ID                     memory-backend-ram, -file, -memfd
 *
 * Every request builds a snapshot of the tree (tens of nodes, under the
 * DIMM lock for the DIMMs), answers from it and frees it, so no QOM state
 * lives beside the records that own it (the DIMM's, the backend's).
 */
#include "machine/machine_qom.h"

#include <string.h>

#include "errors.h"
#include "machine/machine_internal.h"

#define MACHINE_QOM_TYPE "pc-q35-7.2-machine"
#define CPU_QOM_TYPE "host-x86_64-cpu"

struct qom_prop {
    char *name;
    char *type;             /* "bool", "uint64", "child<pc-dimm>", ... */
    json_object *value;     /* NULL: not readable */
};

struct qom_node {
    char *name;
    char *path;
    const char *type;
    GPtrArray *props;       /* struct qom_prop *, in qom-list order */
    GPtrArray *children;    /* struct qom_node * */
    struct backend *backend;    /* /objects/ID */
    bool is_dimm;
    char *dimm_id;          /* NULL: anonymous */
};

static void prop_free(gpointer p)
{
    struct qom_prop *prop = p;

    g_free(prop->name);
    g_free(prop->type);
    json_object_put(prop->value);
    g_free(prop);
}

static void node_free(gpointer p)
{
    struct qom_node *n = p;

    g_ptr_array_unref(n->children);
    g_ptr_array_unref(n->props);
    g_free(n->name);
    g_free(n->path);
    g_free(n->dimm_id);
    g_free(n);
}

typedef struct qom_node qom_node_auto;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qom_node_auto, node_free)

static void add_prop(struct qom_node *n, const char *name, const char *type,
                     json_object *value)
{
    struct qom_prop *p = g_new0(struct qom_prop, 1);

    p->name = g_strdup(name);
    p->type = g_strdup(type);
    p->value = value;
    g_ptr_array_add(n->props, p);
}

static struct qom_node *node_new(struct qom_node *parent, const char *name,
                                 const char *type)
{
    struct qom_node *n = g_new0(struct qom_node, 1);

    n->name = g_strdup(name);
    n->path = !parent ? g_strdup("/")
              : !strcmp(parent->path, "/") ? g_strconcat("/", name, NULL)
              : g_strconcat(parent->path, "/", name, NULL);
    n->type = type;
    n->props = g_ptr_array_new_with_free_func(prop_free);
    n->children = g_ptr_array_new_with_free_func(node_free);
    add_prop(n, "type", "string", json_object_new_string(type));
    if (parent) {
        g_autofree char *child = g_strdup_printf("child<%s>", type);

        add_prop(parent, name, child, json_object_new_string(n->path));
        g_ptr_array_add(parent->children, n);
    }
    return n;
}

/* ---- the nodes --------------------------------------------------------- */

static const char *backend_qom_type(enum backend_value v)
{
    switch (v) {
    case BACKEND_VALUE_BOOL:   return "bool";
    case BACKEND_VALUE_SIZE:
    case BACKEND_VALUE_COUNT:
    case BACKEND_VALUE_NODES:  return "int";   /* as QEMU lists them */
    case BACKEND_VALUE_STR:    return "string";
    case BACKEND_VALUE_POLICY: return "HostMemPolicy";
    }
    return "any";
}

static void add_backend(struct qom_node *objects, const char *id,
                        struct backend *b)
{
    struct qom_node *n = node_new(objects, id, backend_type(b));
    struct backend_prop p;

    n->backend = b;
    for (unsigned i = 0; backend_type_prop(backend_type(b), i, &p); i++)
        add_prop(n, p.name, backend_qom_type(p.value),
                 backend_prop_value(b, p.name));
}

/* pc-dimm's properties in QEMU's qom-list order (but parent_bus and the
 * write-only legacy-memdev: a hotmem DIMM sits on no bus). */
static void add_dimm(struct qom_node *parent, const struct pc_dimm *d)
{
    const char *name = strrchr(d->path, '/') + 1;
    struct qom_node *n = node_new(parent, name, "pc-dimm");
    g_autofree char *memdev = g_strdup_printf("/objects/%s",
                                              backend_id(d->backend));

    n->is_dimm = true;
    n->dimm_id = g_strdup(d->id);
    add_prop(n, "realized", "bool", json_object_new_boolean(true));
    add_prop(n, "hotplugged", "bool", json_object_new_boolean(d->hotplugged));
    add_prop(n, "hotpluggable", "bool", json_object_new_boolean(true));
    add_prop(n, "memdev", "link<memory-backend>",
             json_object_new_string(memdev));
    add_prop(n, "node", "uint32", json_object_new_int64(d->node));
    add_prop(n, "addr", "uint64", json_object_new_uint64(d->addr));
    add_prop(n, "slot", "int32", json_object_new_int64(d->slot));
    add_prop(n, "size", "uint64", json_object_new_uint64(d->size));
}

/* x86 CPU topology properties; hotmem's vCPU i is core i of socket 0. */
static void add_cpu(struct qom_node *unattached, struct machine *m,
                    unsigned i)
{
    g_autofree char *name = g_strdup_printf("device[%u]", i);
    struct qom_node *n = node_new(unattached, name, CPU_QOM_TYPE);

    add_prop(n, "node-id", "int32",
             json_object_new_int64(machine_cpu_node(m, i)));
    add_prop(n, "socket-id", "int32", json_object_new_int64(0));
    add_prop(n, "core-id", "int32", json_object_new_int64(i));
    add_prop(n, "thread-id", "int32", json_object_new_int64(0));
    add_prop(n, "apic-id", "uint32", json_object_new_int64(i));
}

/* Main thread (the objects table is main-thread state). */
static struct qom_node *tree_build(struct machine *m)
{
    struct qom_node *root = node_new(NULL, "", "container");
    struct qom_node *machine = node_new(root, "machine", MACHINE_QOM_TYPE);
    struct qom_node *objects = node_new(root, "objects", "container");
    struct qom_node *peripheral = node_new(machine, "peripheral",
                                           "container");
    struct qom_node *anon = node_new(machine, "peripheral-anon", "container");
    struct qom_node *unattached = node_new(machine, "unattached",
                                           "container");
    g_autoptr(GList) ids = NULL;

    for (unsigned i = 0; m->vcpus && i < vcpus_count(m->vcpus); i++)
        add_cpu(unattached, m, i);
    if (m->objects)
        ids = g_list_sort(g_hash_table_get_keys(m->objects),
                          (GCompareFunc)strcmp);
    for (GList *l = ids; l; l = l->next) {
        struct backend *b = g_hash_table_lookup(m->objects, l->data);

        if (b)      /* NULL: still being created by object-add */
            add_backend(objects, l->data, b);
    }
    g_mutex_lock(&m->dimm_lock);
    for (unsigned i = 0; i < m->cfg.slots; i++) {
        const struct pc_dimm *d = m->dimm_slots[i];

        if (d)
            add_dimm(d->id ? peripheral : anon, d);
    }
    g_mutex_unlock(&m->dimm_lock);
    return root;
}

/* ---- paths ------------------------------------------------------------- */

static struct qom_node *child_named(struct qom_node *n, const char *name)
{
    for (guint i = 0; i < n->children->len; i++) {
        struct qom_node *c = g_ptr_array_index(n->children, i);

        if (!strcmp(c->name, name))
            return c;
    }
    return NULL;
}

static struct qom_node *resolve_absolute(struct qom_node *root,
                                         const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    struct qom_node *n = root;

    for (unsigned i = 0; n && parts[i]; i++) {
        if (*parts[i])
            n = child_named(n, parts[i]);
    }
    return n;
}

/* Does n's path end with the components of partial? */
static bool path_ends_with(const struct qom_node *n, const char *partial)
{
    size_t pl = strlen(n->path), ql = strlen(partial);

    return pl > ql && n->path[pl - ql - 1] == '/' &&
           !strcmp(n->path + pl - ql, partial);
}

static void find_partial(struct qom_node *n, const char *partial,
                         struct qom_node **found, unsigned *matches)
{
    if (!*partial || path_ends_with(n, partial)) {
        *found = n;
        (*matches)++;
    }
    for (guint i = 0; i < n->children->len; i++)
        find_partial(g_ptr_array_index(n->children, i), partial, found,
                     matches);
}

/*
 * QEMU's rule: an absolute path names one node; a partial path ("d0",
 * "peripheral/d0") names the one node whose path ends with it, and is an
 * error when several do.
 */
static struct qom_node *resolve(struct qom_node *root, const char *path,
                                GError **err)
{
    struct qom_node *n = NULL;
    unsigned matches = 0;

    if (path[0] == '/') {
        n = resolve_absolute(root, path);
    } else {
        find_partial(root, path, &n, &matches);
        if (matches > 1) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "Path '%s' is ambiguous", path);
            return NULL;
        }
    }
    if (!n)
        g_set_error(err, HM_ERROR, HM_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", path);
    return n;
}

static struct qom_prop *find_prop(struct qom_node *n, const char *name,
                                  GError **err)
{
    for (guint i = 0; i < n->props->len; i++) {
        struct qom_prop *p = g_ptr_array_index(n->props, i);

        if (!strcmp(p->name, name))
            return p;
    }
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "Property '%s.%s' not found", n->type, name);
    return NULL;
}

/* ---- the commands ------------------------------------------------------ */

json_object *machine_qom_list(struct machine *m, const char *path,
                              GError **err)
{
    g_autoptr(qom_node_auto) root = tree_build(m);
    struct qom_node *n = resolve(root, path, err);
    json_object *list;

    if (!n)
        return NULL;
    list = json_object_new_array();
    for (guint i = 0; i < n->props->len; i++) {
        struct qom_prop *p = g_ptr_array_index(n->props, i);
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(p->name));
        json_object_object_add(o, "type", json_object_new_string(p->type));
        json_object_array_add(list, o);
    }
    return list;
}

json_object *machine_qom_get(struct machine *m, const char *path,
                             const char *property, GError **err)
{
    g_autoptr(qom_node_auto) root = tree_build(m);
    struct qom_node *n = resolve(root, path, err);
    struct qom_prop *p = n ? find_prop(n, property, err) : NULL;

    return p ? json_object_get(p->value) : NULL;
}

/*
 * What QEMU allows once a thing exists: a realized device's properties are
 * fixed; of a memory backend's, hotmem changes dump and merge (the advice
 * applies at once). QEMU also takes prealloc, policy, host-nodes and
 * prealloc-threads after creation, but only its next preallocation or
 * binding would use them and hotmem has none: refused, saying so.
 */
static bool set_backend_prop(struct qom_node *n, struct qom_prop *p,
                             json_object *value, GError **err)
{
    static const char *const fixed_in_qemu[] = { "share", "reserve",
                                                 "readonly", NULL };

    if (!strcmp(p->name, "dump") || !strcmp(p->name, "merge")) {
        if (!json_object_is_type(value, json_type_boolean))
            return hm_fail(err, HM_ERROR_INVALID, "Invalid parameter type "
                           "for '%s', expected: boolean", p->name);
        return backend_set_advice(n->backend, p->name,
                                  json_object_get_boolean(value), err);
    }
    if (!strcmp(p->name, "type"))
        return hm_fail(err, HM_ERROR_INVALID, "Property '%s.type' is not "
                       "writable", n->type);
    if (!strcmp(p->name, "size"))
        return hm_fail(err, HM_ERROR_INVALID, "cannot change property size "
                       "of %s", n->type);
    if (g_strv_contains(fixed_in_qemu, p->name))
        return hm_fail(err, HM_ERROR_INVALID, "cannot change property value");
    /* Asking for the value it has changes nothing. */
    if (p->value && value && json_object_equal(p->value, value))
        return true;
    return hm_fail(err, HM_ERROR_INVALID, "Property '%s.%s' cannot change "
                   "once the backend exists in hotmem (it has no later "
                   "allocation to apply it to): give it to object-add",
                   n->type, p->name);
}

/* The properties -device sets; QEMU refuses them once realized. */
static bool is_dimm_setting(const char *name)
{
    for (const struct pc_dimm_prop_info *p = pc_dimm_prop_infos; p->name;
         p++)
        if (!strcmp(p->name, name))
            return true;
    return false;
}

bool machine_qom_set(struct machine *m, const char *path,
                     const char *property, json_object *value, GError **err)
{
    g_autoptr(qom_node_auto) root = tree_build(m);
    struct qom_node *n = resolve(root, path, err);
    struct qom_prop *p = n ? find_prop(n, property, err) : NULL;

    if (!p)
        return false;
    if (n->backend)
        return set_backend_prop(n, p, value, err);
    if (n->is_dimm && !strcmp(p->name, "realized"))
        return hm_fail(err, HM_ERROR_INVALID, "Property 'pc-dimm.realized' "
                       "cannot change here: device_del unplugs a DIMM");
    if (n->is_dimm && is_dimm_setting(p->name)) {
        if (n->dimm_id)
            return hm_fail(err, HM_ERROR_INVALID, "Attempt to set property "
                           "'%s' on device '%s' (type 'pc-dimm') after it "
                           "was realized", p->name, n->dimm_id);
        return hm_fail(err, HM_ERROR_INVALID, "Attempt to set property '%s' "
                       "on anonymous device (type 'pc-dimm') after it was "
                       "realized", p->name);
    }
    return hm_fail(err, HM_ERROR_INVALID, "Property '%s.%s' is not writable",
                   n->type, p->name);
}

/* ---- types ------------------------------------------------------------- */

struct qom_type {
    const char *name;
    const char *parent;     /* NULL: the root */
    bool abstract;
};

/* The types hotmem has, with QEMU's names and parents. */
static const struct qom_type qom_types[] = {
    { "object", NULL, true },
    { "container", "object", false },
    { "machine", "object", true },
    { MACHINE_QOM_TYPE, "machine", false },
    { "device", "object", true },
    { "x86_64-cpu", "device", true },
    { CPU_QOM_TYPE, "x86_64-cpu", false },
    { "pc-dimm", "device", false },
    { "memory-backend", "object", true },
    { "memory-backend-ram", "memory-backend", false },
    { "memory-backend-file", "memory-backend", false },
    { "memory-backend-memfd", "memory-backend", false },
};

static const struct qom_type *type_find(const char *name)
{
    for (size_t i = 0; name && i < G_N_ELEMENTS(qom_types); i++)
        if (!strcmp(qom_types[i].name, name))
            return &qom_types[i];
    return NULL;
}

static bool type_implements(const struct qom_type *t, const char *ancestor)
{
    for (; t; t = type_find(t->parent))
        if (!strcmp(t->name, ancestor))
            return true;
    return false;
}

json_object *machine_qom_list_types(const char *implements, bool abstract)
{
    json_object *list = json_object_new_array();

    for (size_t i = 0; i < G_N_ELEMENTS(qom_types); i++) {
        const struct qom_type *t = &qom_types[i];
        json_object *o;

        if ((t->abstract && !abstract) ||
            (implements && !type_implements(t, implements)))
            continue;
        o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(t->name));
        if (t->abstract)
            json_object_object_add(o, "abstract",
                                   json_object_new_boolean(true));
        if (t->parent)
            json_object_object_add(o, "parent",
                                   json_object_new_string(t->parent));
        json_object_array_add(list, o);
    }
    return list;
}

json_object *machine_device_list_properties(const char *type_name,
                                            GError **err)
{
    const struct qom_type *t = type_find(type_name);
    json_object *list;

    if (!t) {
        g_set_error(err, HM_ERROR, HM_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", type_name);
        return NULL;
    }
    if (t->abstract || !type_implements(t, "device")) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "Parameter 'typename' "
                    "expects a non-abstract device type");
        return NULL;
    }
    list = json_object_new_array();
    if (strcmp(type_name, "pc-dimm"))
        return list;        /* the vCPU type: no -device properties */
    for (const struct pc_dimm_prop_info *p = pc_dimm_prop_infos; p->name;
         p++) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(p->name));
        json_object_object_add(o, "type",
                               json_object_new_string(p->qom_type));
        if (p->default_json)
            json_object_object_add(o, "default-value",
                                   json_tokener_parse(p->default_json));
        json_object_array_add(list, o);
    }
    return list;
}
