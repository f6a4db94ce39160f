/*
 * The memory backend's property bag: QEMU's property names and defaults
 * (qapi/qom.json MemoryBackendProperties, MemoryBackendFileProperties,
 * MemoryBackendMemfdProperties). A value comes JSON-typed from QMP
 * object-add, or as a string from -object, so every parser takes both.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <linux/mempolicy.h>

#include "backend/backend_internal.h"
#include "props.h"
#include "errors.h"

/* The sysfs directory that lists the host's NUMA nodes (node0, node1...). */
#define SYSFS_NODE_DIR "/sys/devices/system/node"


#define FOR_RAM     (1u << BACKEND_RAM)
#define FOR_FILE    (1u << BACKEND_FILE)
#define FOR_MEMFD   (1u << BACKEND_MEMFD)
#define FOR_ALL     (FOR_RAM | FOR_FILE | FOR_MEMFD)
#define NO_FLAG     SIZE_MAX

struct prop_desc {
    const char *name;
    enum backend_value kind;
    unsigned types;             /* FOR_* */
    size_t off;                 /* the field in struct backend_config */
    size_t given_off;           /* its has_ flag, or NO_FLAG */
};

#define CFG(f) offsetof(struct backend_config, f)

static const struct prop_desc prop_table[] = {
    { "size", BACKEND_VALUE_SIZE, FOR_ALL, CFG(size), CFG(has_size) },
    { "share", BACKEND_VALUE_BOOL, FOR_ALL, CFG(share), CFG(has_share) },
    { "prealloc", BACKEND_VALUE_BOOL, FOR_ALL, CFG(prealloc), NO_FLAG },
    { "prealloc-threads", BACKEND_VALUE_COUNT, FOR_ALL, CFG(prealloc_threads),
      CFG(has_prealloc_threads) },
    { "reserve", BACKEND_VALUE_BOOL, FOR_ALL, CFG(reserve), NO_FLAG },
    { "merge", BACKEND_VALUE_BOOL, FOR_ALL, CFG(merge), NO_FLAG },
    { "dump", BACKEND_VALUE_BOOL, FOR_ALL, CFG(dump), NO_FLAG },
    { "thp", BACKEND_VALUE_BOOL, FOR_ALL, CFG(thp), NO_FLAG },
    { "policy", BACKEND_VALUE_POLICY, FOR_ALL, CFG(policy), CFG(has_policy) },
    { "host-nodes", BACKEND_VALUE_NODES, FOR_ALL, 0, NO_FLAG },
    { "mem-path", BACKEND_VALUE_STR, FOR_FILE, CFG(mem_path), NO_FLAG },
    { "align", BACKEND_VALUE_SIZE, FOR_FILE, CFG(align), NO_FLAG },
    { "offset", BACKEND_VALUE_SIZE, FOR_FILE, CFG(offset), NO_FLAG },
    { "readonly", BACKEND_VALUE_BOOL, FOR_FILE, CFG(readonly), NO_FLAG },
    { "discard-data", BACKEND_VALUE_BOOL, FOR_FILE, CFG(discard_data), NO_FLAG },
    { "hugetlb", BACKEND_VALUE_BOOL, FOR_MEMFD, CFG(hugetlb), NO_FLAG },
    { "hugetlbsize", BACKEND_VALUE_SIZE, FOR_MEMFD, CFG(hugetlbsize), NO_FLAG },
    { "seal", BACKEND_VALUE_BOOL, FOR_MEMFD, CFG(seal), NO_FLAG },
};

/* HostMemPolicy (qapi/machine.json) in MPOL_* order. */
static const char *const policy_names[] = {
    [MPOL_DEFAULT] = "default",
    [MPOL_PREFERRED] = "preferred",
    [MPOL_BIND] = "bind",
    [MPOL_INTERLEAVE] = "interleave",
};

static const char *const kind_names[] = {
    [BACKEND_RAM] = "memory-backend-ram",
    [BACKEND_FILE] = "memory-backend-file",
    [BACKEND_MEMFD] = "memory-backend-memfd",
};

#define fail(err, ...) hm_fail((err), HM_ERROR_INVALID, __VA_ARGS__)

const char *backend_kind_name(enum backend_kind kind)
{
    return kind_names[kind];
}

const char *backend_policy_name(int policy)
{
    return policy_names[policy];
}

bool backend_kind_from_name(const char *name, enum backend_kind *kind)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(kind_names); i++) {
        if (name && !strcmp(name, kind_names[i])) {
            *kind = i;
            return true;
        }
    }
    return false;
}

bool backend_check_id(const char *id, GError **err)
{
    return props_check_id(id, err);
}

static bool wrong_type(GError **err, const char *name, const char *expected)
{
    return fail(err, "Invalid parameter type for '%s', expected: %s", name,
                expected);
}

static bool parse_policy(const char *name, json_object *v, int *out,
                         GError **err)
{
    const char *s;

    if (!json_object_is_type(v, json_type_string))
        return wrong_type(err, name, "string");
    s = json_object_get_string(v);
    for (unsigned i = 0; i < G_N_ELEMENTS(policy_names); i++) {
        if (policy_names[i] && !strcmp(s, policy_names[i])) {
            *out = i;
            return true;
        }
    }
    return fail(err, "Parameter '%s' does not accept value '%s' (expected "
                "default, preferred, bind or interleave)", name, s);
}

static bool add_nodes(struct backend_config *cfg, uint64_t lo, uint64_t hi,
                      GError **err)
{
    if (hi >= BACKEND_MAX_HOST_NODES)
        return fail(err, "Invalid host-nodes value: %" PRIu64 " (host nodes "
                    "are below %d)", hi, BACKEND_MAX_HOST_NODES);
    for (uint64_t n = lo; n <= hi; n++) {
        unsigned long bit = 1UL << (n % (8 * sizeof(unsigned long)));
        unsigned long *word = &cfg->host_nodes[n / (8 * sizeof(unsigned long))];

        if (!(*word & bit))
            cfg->nr_host_nodes++;
        *word |= bit;
    }
    return true;
}

/* One host-nodes element: an integer, or a string "N" or "N-M". */
static bool parse_node_item(json_object *v, struct backend_config *cfg,
                            GError **err)
{
    uint64_t lo = 0, hi;
    const char *s;
    char *end;

    if (json_object_is_type(v, json_type_int)) {
        if (!props_uint(v, "host-nodes", UINT64_MAX, &lo, err))
            return false;
        return add_nodes(cfg, lo, lo, err);
    }
    if (!json_object_is_type(v, json_type_string))
        return wrong_type(err, "host-nodes", "array of integers");
    s = json_object_get_string(v);
    if (!g_ascii_isdigit(*s))
        goto bad;
    lo = hi = g_ascii_strtoull(s, &end, 10);
    if (*end == '-') {
        if (!g_ascii_isdigit(end[1]))
            goto bad;
        hi = g_ascii_strtoull(end + 1, &end, 10);
    }
    if (*end)
        goto bad;
    if (lo > hi)
        return fail(err, "host-nodes range '%s' is empty: its first node is "
                    "above its last", s);
    return add_nodes(cfg, lo, hi, err);
bad:
    return fail(err, "Parameter 'host-nodes' expects a node number or a "
                "range like '0-1', got '%s'", s);
}

static bool parse_host_nodes(json_object *v, struct backend_config *cfg,
                             GError **err)
{
    if (!json_object_is_type(v, json_type_array))
        return parse_node_item(v, cfg, err);
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        if (!parse_node_item(json_object_array_get_idx(v, i), cfg, err))
            return false;
    }
    return true;
}

static bool parse_one(const struct prop_desc *d, json_object *v,
                      struct backend_config *cfg, GError **err)
{
    void *field = (char *)cfg + d->off;
    bool ok = false;

    switch (d->kind) {
    case BACKEND_VALUE_BOOL:
        ok = props_bool(v, d->name, field, err);
        break;
    case BACKEND_VALUE_SIZE:
        ok = props_size(v, d->name, field, err);
        break;
    case BACKEND_VALUE_COUNT:
        ok = props_uint(v, d->name, UINT64_MAX, field, err);
        break;
    case BACKEND_VALUE_STR:
        ok = props_string(v, d->name, field, err);
        break;
    case BACKEND_VALUE_POLICY:
        ok = parse_policy(d->name, v, field, err);
        break;
    case BACKEND_VALUE_NODES:
        ok = parse_host_nodes(v, cfg, err);
        break;
    }
    if (ok && d->given_off != NO_FLAG)
        *(bool *)((char *)cfg + d->given_off) = true;
    return ok;
}

static const struct prop_desc *find_prop(enum backend_kind kind,
                                         const char *name)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(prop_table); i++) {
        if ((prop_table[i].types & (1u << kind)) &&
            !strcmp(prop_table[i].name, name))
            return &prop_table[i];
    }
    return NULL;
}

/* QMP's typing of one value of kind d (QEMU's QAPI MemoryBackend*Properties). */
static bool check_typed(const struct prop_desc *d, json_object *v,
                        GError **err)
{
    switch (d->kind) {
    case BACKEND_VALUE_BOOL:
        return json_object_is_type(v, json_type_boolean) ||
               wrong_type(err, d->name, "boolean");
    case BACKEND_VALUE_SIZE:
    case BACKEND_VALUE_COUNT:
        /* QEMU's visitor says so for a string, and for a negative number. */
        return (json_object_is_type(v, json_type_int) &&
                json_object_get_int64(v) >= 0) ||
               fail(err, "Parameter '%s' expects uint64", d->name);
    case BACKEND_VALUE_STR:
    case BACKEND_VALUE_POLICY:
        return json_object_is_type(v, json_type_string) ||
               wrong_type(err, d->name, "string");
    case BACKEND_VALUE_NODES:
        if (!json_object_is_type(v, json_type_array))
            return wrong_type(err, d->name, "array");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *n = json_object_array_get_idx(v, i);

            if (!json_object_is_type(n, json_type_int) ||
                json_object_get_int64(n) < 0)
                return fail(err, "Invalid parameter type for '%s[%zu]', "
                            "expected: integer", d->name, i);
        }
        return true;
    }
    return true;
}

bool backend_props_check_typed(const char *qom_type, json_object *props,
                               GError **err)
{
    enum backend_kind kind;

    if (!backend_kind_from_name(qom_type, &kind))
        return true;        /* backend_new() names the unknown type */
    json_object_object_foreach(props, key, v) {
        const struct prop_desc *d = find_prop(kind, key);

        if (d && !check_typed(d, v, err))
            return false;
    }
    return true;
}

/*
 * The host CPUs this process may run on: its affinity mask, one system
 * call. (g_get_num_processors() asks sysconf(), which opens and parses
 * /sys/devices/system/cpu/online, several times per object-add.) A mask
 * wider than cpu_set_t (over 1024 CPUs) falls back to GLib.
 */
static unsigned usable_cpus(void)
{
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    return g_get_num_processors();
}

static void set_defaults(enum backend_kind kind, struct backend_config *cfg)
{
    cfg->share = kind == BACKEND_MEMFD;     /* as in QEMU */
    cfg->reserve = true;
    cfg->merge = true;
    cfg->dump = true;
    cfg->thp = true;            /* as QEMU advises every RAM block */
    cfg->seal = true;
    cfg->policy = MPOL_DEFAULT;
    /*
     * QEMU defaults prealloc-threads to 1. hotmem preallocates at memory
     * bandwidth by default instead: one thread per host CPU this process
     * may run on, at most BACKEND_MAX_DEFAULT_THREADS (more threads than
     * that only contend on the memory bus and the mm locks).
     */
    cfg->prealloc_threads = MIN(MAX(usable_cpus(), 1u),
                                BACKEND_MAX_DEFAULT_THREADS);
}

/* host-nodes name nodes the host has, and fit the policy. */
static bool check_numa(const struct backend_config *cfg, GError **err)
{
    if (cfg->policy == MPOL_DEFAULT && cfg->nr_host_nodes)
        return fail(err, "host-nodes must be empty for policy default: give "
                    "policy=preferred, bind or interleave with host-nodes");
    if (cfg->policy != MPOL_DEFAULT && !cfg->nr_host_nodes)
        return fail(err, "host-nodes must be set for policy %s",
                    policy_names[cfg->policy]);
    for (unsigned n = 0; n < BACKEND_MAX_HOST_NODES; n++) {
        g_autofree char *dir = NULL;

        if (!(cfg->host_nodes[n / (8 * sizeof(unsigned long))] &
              (1UL << (n % (8 * sizeof(unsigned long))))))
            continue;
        dir = g_strdup_printf(SYSFS_NODE_DIR "/node%u", n);
        if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
            return fail(err, "host-nodes: host NUMA node %u does not exist "
                        "(no %s)", n, dir);
    }
    return true;
}

/* The rules between properties that need no mapping yet. */
static bool check_config(enum backend_kind kind,
                         const struct backend_config *cfg, GError **err)
{
    const char *type = kind_names[kind];

    if (!cfg->has_size)
        return fail(err, "Parameter 'size' is missing");
    if (!cfg->size)
        return fail(err, "Property '%s.size' doesn't take value '0'", type);
    if (kind == BACKEND_FILE && !cfg->mem_path)
        return fail(err, "Parameter 'mem-path' is missing");
    if (kind == BACKEND_FILE && !*cfg->mem_path)
        return fail(err, "Parameter 'mem-path' is empty");
    if (cfg->has_prealloc_threads && !cfg->prealloc_threads)
        return fail(err, "Property '%s.prealloc-threads' doesn't take value "
                    "'0'", type);
    if (cfg->prealloc_threads > BACKEND_MAX_PREALLOC_THREADS)
        return fail(err, "prealloc-threads %" PRIu64 " is above the limit "
                    "of %d threads", cfg->prealloc_threads,
                    BACKEND_MAX_PREALLOC_THREADS);
    if (cfg->prealloc && !cfg->reserve)
        return fail(err, "prealloc=on and reserve=off are incompatible: "
                    "preallocated memory is always reserved");
    if (cfg->hugetlbsize && !cfg->hugetlb)
        return fail(err, "hugetlbsize=0x%" PRIx64 " needs hugetlb=on",
                    cfg->hugetlbsize);
    return check_numa(cfg, err);
}

bool backend_parse_props(enum backend_kind kind, json_object *props,
                         struct backend_config *cfg, GError **err)
{
    set_defaults(kind, cfg);
    if (props && !json_object_is_type(props, json_type_object))
        return fail(err, "%s properties must be a JSON object",
                    kind_names[kind]);
    if (props) {
        json_object_object_foreach(props, key, v) {
            const struct prop_desc *d = find_prop(kind, key);

            if (!d)
                return fail(err, "Property '%s.%s' not found",
                            kind_names[kind], key);
            if (!parse_one(d, v, cfg, err))
                return false;
        }
    }
    return check_config(kind, cfg, err);
}

void backend_config_clear(struct backend_config *cfg)
{
    g_clear_pointer(&cfg->mem_path, g_free);
}

bool backend_type_prop(const char *qom_type, unsigned i,
                       struct backend_prop *out)
{
    enum backend_kind kind;

    if (!backend_kind_from_name(qom_type, &kind))
        return false;
    for (unsigned t = 0; t < G_N_ELEMENTS(prop_table); t++) {
        if (!(prop_table[t].types & (1u << kind)))
            continue;
        if (i-- == 0) {
            out->name = prop_table[t].name;
            out->value = prop_table[t].kind;
            /* As check_config() demands. */
            out->required = !strcmp(out->name, "size") ||
                            !strcmp(out->name, "mem-path");
            return true;
        }
    }
    return false;
}

const char *backend_type_name(unsigned i)
{
    return i < G_N_ELEMENTS(kind_names) ? kind_names[i] : NULL;
}

static json_object *host_nodes_json(const struct backend_config *c)
{
    json_object *nodes = json_object_new_array();

    for (unsigned n = 0; n < BACKEND_MAX_HOST_NODES; n++) {
        if (c->host_nodes[n / (8 * sizeof(unsigned long))] &
            (1UL << (n % (8 * sizeof(unsigned long)))))
            json_object_array_add(nodes, json_object_new_int(n));
    }
    return nodes;
}

json_object *backend_prop_value(const struct backend *b, const char *name)
{
    const struct prop_desc *d = find_prop(b->kind, name);
    const void *field;

    if (!d)
        return NULL;
    field = (const char *)&b->cfg + d->off;
    switch (d->kind) {
    case BACKEND_VALUE_BOOL:
        return json_object_new_boolean(*(const bool *)field);
    case BACKEND_VALUE_SIZE:
    case BACKEND_VALUE_COUNT:
        return json_object_new_uint64(*(const uint64_t *)field);
    case BACKEND_VALUE_STR:
        return json_object_new_string(*(char *const *)field
                                      ? *(char *const *)field : "");
    case BACKEND_VALUE_POLICY:
        return json_object_new_string(policy_names[b->cfg.policy]);
    case BACKEND_VALUE_NODES:
        return host_nodes_json(&b->cfg);
    }
    return NULL;
}
