/*
 * The machine's objects (memory backends): object-add, object-del,
 * query-memdev, and -object at startup. Objects are created and deleted on
 * the main thread; a preallocating object is in the table with a NULL value
 * until it is ready, so its id is taken but nobody can use it yet.
 */
#include <string.h>
#include <unistd.h>

#include "devices/pc_dimm.h"
#include "errors.h"
#include "props.h"
#include "machine/machine_internal.h"

struct object_add_ctx {
    struct machine *m;
    struct backend *b;
    char *id;
    json_object *bag;           /* object-add's arguments */
    machine_done_fn done;
    void *opaque;
};

struct backend *machine_object_find(struct machine *m, const char *id)
{
    return g_hash_table_lookup(m->objects, id);
}

bool machine_object_preallocating(struct machine *m, const char *id)
{
    gpointer value = NULL;

    return g_hash_table_lookup_extended(m->objects, id, NULL, &value) &&
           value == NULL;
}

bool machine_is_boot_ram(struct machine *m, const char *id)
{
    return m->ram && !strcmp(id, MACHINE_BOOT_RAM_ID);
}

/*
 * The anonymous boot RAM as QEMU's query-memdev shows it: the object
 * "pc.ram" of type memory-backend-ram with its defaults (merge: the
 * mapping is MADV_MERGEABLE; dump, reserve: nothing says otherwise).
 */
static json_object *boot_ram_describe(struct machine *m)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "id", json_object_new_string(MACHINE_BOOT_RAM_ID));
    json_object_object_add(o, "size",
                           json_object_new_uint64(m->layout.ram_size));
    json_object_object_add(o, "merge", json_object_new_boolean(1));
    json_object_object_add(o, "dump", json_object_new_boolean(1));
    json_object_object_add(o, "prealloc", json_object_new_boolean(0));
    json_object_object_add(o, "share", json_object_new_boolean(0));
    json_object_object_add(o, "reserve", json_object_new_boolean(1));
    json_object_object_add(o, "host-nodes", json_object_new_array());
    json_object_object_add(o, "policy", json_object_new_string("default"));
    return o;
}

/* The backend's own properties: args without qom-type and id. */
static json_object *backend_props(json_object *args)
{
    json_object *props = json_object_new_object();

    json_object_object_foreach(args, key, v) {
        if (strcmp(key, "qom-type") && strcmp(key, "id"))
            json_object_object_add(props, key, json_object_get(v));
    }
    return props;
}

static const char *string_arg(json_object *args, const char *name,
                              GError **err)
{
    json_object *v;

    if (!json_object_object_get_ex(args, name, &v)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Parameter '%s' is missing", name);
        return NULL;
    }
    if (!json_object_is_type(v, json_type_string)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Invalid parameter type for '%s', expected: string",
                    name);
        return NULL;
    }
    return json_object_get_string(v);
}

/* Checks and creates (without preallocating) the backend args describe. */
static struct backend *new_backend(struct machine *m, json_object *args,
                                   GError **err)
{
    const char *type = string_arg(args, "qom-type", err);
    const char *id = type ? string_arg(args, "id", err) : NULL;
    json_object *props;
    struct backend *b;

    if (!id)
        return NULL;
    if (!props_check_id(id, err))
        return NULL;
    if (g_hash_table_contains(m->objects, id) || machine_is_boot_ram(m, id)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "an object with id '%s' already exists", id);
        return NULL;
    }
    props = backend_props(args);
    /* -mem-prealloc: QEMU makes prealloc=on every backend's default. */
    if (m->cfg.prealloc_default &&
        !json_object_object_get_ex(props, "prealloc", NULL))
        json_object_object_add(props, "prealloc",
                               json_object_new_boolean(1));
    b = backend_new(type, id, props, err);
    json_object_put(props);
    return b;
}

static void on_prealloc_done(void *opaque, struct backend *b, GError *err)
{
    struct object_add_ctx *ctx = opaque;

    g_ptr_array_remove(ctx->m->preallocating, ctx);
    if (err) {
        g_hash_table_remove(ctx->m->objects, ctx->id);
        backend_free(b);
    } else {
        g_hash_table_replace(ctx->m->objects, g_strdup(ctx->id), b);
        g_hash_table_replace(ctx->m->object_bags, g_strdup(ctx->id),
                             ctx->bag);
        ctx->bag = NULL;
    }
    json_object_put(ctx->bag);
    ctx->done(ctx->opaque, err);
    g_free(ctx->id);
    g_free(ctx);
}

void machine_object_add(struct machine *m, json_object *args,
                        machine_done_fn done, void *opaque)
{
    GError *err = NULL;
    json_object *type = NULL;
    struct backend *b = NULL;
    struct object_add_ctx *ctx;

    json_object_object_get_ex(args, "qom-type", &type);
    if (backend_props_check_typed(json_object_get_string(type), args, &err))
        b = new_backend(m, args, &err);
    if (!b) {
        done(opaque, err);
        return;
    }
    if (!backend_prealloc_requested(b)) {
        g_hash_table_insert(m->objects, g_strdup(backend_id(b)), b);
        g_hash_table_insert(m->object_bags, g_strdup(backend_id(b)),
                            json_object_get(args));
        done(opaque, NULL);
        return;
    }
    ctx = g_new0(struct object_add_ctx, 1);
    *ctx = (struct object_add_ctx){ m, b, g_strdup(backend_id(b)),
                                    json_object_get(args), done, opaque };
    g_hash_table_insert(m->objects, g_strdup(ctx->id), NULL);
    g_ptr_array_add(m->preallocating, ctx);
    backend_prealloc_async(b, on_prealloc_done, ctx);
}

bool machine_object_del(struct machine *m, const char *id, GError **err)
{
    struct backend *b;
    bool in_use;

    if (machine_is_boot_ram(m, id)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "object '%s' is in use, can not be deleted", id);
        return false;
    }
    if (!g_hash_table_lookup_extended(m->objects, id, NULL, (gpointer *)&b)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "object '%s' not found", id);
        return false;
    }
    if (!b) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "object '%s' is still being created (preallocating)",
                    id);
        return false;
    }
    g_mutex_lock(&m->dimm_lock);
    in_use = backend_in_use(b);
    g_mutex_unlock(&m->dimm_lock);
    if (in_use) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "object '%s' is in use, can not be deleted", id);
        return false;
    }
    g_hash_table_remove(m->objects, id);
    g_hash_table_remove(m->object_bags, id);
    backend_free(b);
    return true;
}

json_object *machine_query_memdev(struct machine *m)
{
    json_object *list = json_object_new_array();
    GHashTableIter it;
    gpointer key, value;

    if (m->ram)
        json_object_array_add(list, boot_ram_describe(m));
    g_hash_table_iter_init(&it, m->objects);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (value)
            json_object_array_add(list, backend_describe(value));
    }
    return list;
}

static int by_id(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
    json_object *ix = NULL, *iy = NULL;

    json_object_object_get_ex(x, "id", &ix);
    json_object_object_get_ex(y, "id", &iy);
    return g_strcmp0(json_object_get_string(ix), json_object_get_string(iy));
}

json_object **machine_object_bags(struct machine *m, unsigned *n)
{
    GPtrArray *bags = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, m->object_bags);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_ptr_array_add(bags, json_object_get(value));
    qsort(bags->pdata, bags->len, sizeof(gpointer), by_id);
    *n = bags->len;
    g_ptr_array_add(bags, NULL);
    return (json_object **)g_ptr_array_free(bags, FALSE);
}

struct startup_prealloc {
    struct machine *m;
    struct backend *b;
};

/*
 * Startup preallocation prints progress when someone watches stderr, and
 * stops when asked to (a signal): this runs on the preallocating thread
 * every few milliseconds.
 */
static void startup_progress(void *opaque, uint64_t done, uint64_t total)
{
    struct startup_prealloc *p = opaque;
    const struct machine_config *cfg = &p->m->cfg;

    if (cfg->startup_cancelled && cfg->startup_cancelled(cfg->opaque))
        backend_prealloc_cancel(p->b);
    if (isatty(STDERR_FILENO))
        g_printerr("\rhotmem: preallocating %s: %3u%%%s", backend_id(p->b),
                   (unsigned)(done * 100 / (total ? total : 1)),
                   done == total ? "\n" : "");
}

static void bag_put(gpointer bag)
{
    json_object_put(bag);
}

/* -object, in command-line order, before any device needs them. */
bool machine_objects_init(struct machine *m, GError **err)
{
    m->objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       NULL);
    m->object_bags = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           bag_put);
    m->preallocating = g_ptr_array_new();
    for (unsigned i = 0; i < m->cfg.nr_objects; i++) {
        struct backend *b = new_backend(m, m->cfg.objects[i], err);

        if (!b) {
            g_prefix_error(err, "-object: ");
            return false;
        }
        g_hash_table_insert(m->objects, g_strdup(backend_id(b)), b);
        g_hash_table_insert(m->object_bags, g_strdup(backend_id(b)),
                            json_object_get(m->cfg.objects[i]));
        if (backend_prealloc_requested(b) &&
            !backend_prealloc(b, startup_progress,
                              &(struct startup_prealloc){ m, b }, err)) {
            g_prefix_error(err, "-object: ");
            return false;
        }
    }
    return true;
}

void machine_objects_free(struct machine *m)
{
    GHashTableIter it;
    gpointer value;

    if (!m->objects)
        return;
    /*
     * Objects still preallocating (object-add) are left to their threads,
     * which the process exit ends; told to stop, they no longer make the
     * host fault in memory that is about to go.
     */
    for (guint i = 0; i < m->preallocating->len; i++) {
        struct object_add_ctx *ctx = g_ptr_array_index(m->preallocating, i);

        backend_prealloc_cancel(ctx->b);
    }
    g_ptr_array_free(m->preallocating, TRUE);
    g_hash_table_iter_init(&it, m->objects);
    while (g_hash_table_iter_next(&it, NULL, &value))
        backend_free(value);
    g_hash_table_destroy(m->objects);
    m->objects = NULL;
    g_clear_pointer(&m->object_bags, g_hash_table_destroy);
}
