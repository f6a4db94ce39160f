/*
 * -numa node[,nodeid=N][,memdev=ID][,cpus=A[-B]]... in QEMU's spelling.
 * Nodes own consecutive slices of boot RAM, their backends, in the order
 * given.
 */
#include <inttypes.h>
#include <string.h>

#include "cli/cli_internal.h"

static bool node_id_used(const struct cli_options *o, uint32_t id)
{
    for (unsigned i = 0; i < o->nr_numa; i++) {
        if (o->numa[i].nodeid == id)
            return true;
    }
    return false;
}

/* cpus=A or cpus=A-B; repeatable like QEMU's cpus= list. */
static bool parse_cpus(struct cli_numa_node *n, const char *v, GError **err)
{
    g_auto(GStrv) ends = g_strsplit(v, "-", 2);
    uint64_t first, last;

    /* g_strsplit() gives no element at all for an empty cpus=. */
    if (!cli_parse_count("-numa", "cpus", ends[0] ? ends[0] : "", 0,
                         CLI_MAX_SMP - 1, &first, err))
        return false;
    last = first;
    if (ends[1] && !cli_parse_count("-numa", "cpus", ends[1], 0,
                                    CLI_MAX_SMP - 1, &last, err))
        return false;
    if (last < first)
        return cli_fail(err, "-numa: cpus range '%s' ends before it starts",
                        v);
    for (uint64_t c = first; c <= last; c++)
        n->cpus[c / 64] |= 1ULL << (c % 64);
    return true;
}

static bool numa_key(struct cli_numa_node *n, const char *key,
                     const char *v, bool *have_id, GError **err)
{
    uint64_t id;

    if (!strcmp(key, "nodeid")) {
        if (!cli_parse_count("-numa", "nodeid", v, 0, CLI_MAX_NUMA_NODES - 1,
                             &id, err))
            return false;
        n->nodeid = (uint32_t)id;
        *have_id = true;
        return true;
    }
    if (!strcmp(key, "mem"))
        return cli_fail(err, "-numa: mem=%s is not supported: give the "
                        "node's memory as memdev=ID, an -object "
                        "memory-backend-* (QEMU's pc and q35 machines refuse "
                        "mem= too since 5.1)", v);
    if (!strcmp(key, "memdev")) {
        g_free(n->memdev);
        n->memdev = g_strdup(v);
        return true;
    }
    if (!strcmp(key, "cpus"))
        return parse_cpus(n, v, err);
    return cli_fail(err, "-numa: unknown key '%s' (expected nodeid, "
                    "memdev or cpus)", key);
}

/* One JSON value as key=value text; arrays (cpus) as one pair each. */
static bool json_pairs(GPtrArray *kv, const char *key, json_object *v,
                       GError **err)
{
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (!json_pairs(kv, key, json_object_array_get_idx(v, i), err))
                return false;
        }
        return true;
    }
    if (!json_object_is_type(v, json_type_string) &&
        !json_object_is_type(v, json_type_int))
        return cli_fail(err, "-numa: '%s' must be a string or an integer",
                        key);
    g_ptr_array_add(kv, g_strdup(key));
    g_ptr_array_add(kv, g_strdup(json_object_get_string(v)));
    return true;
}

/*
 * The JSON spelling, {"type": "node", "nodeid": 0, "cpus": [0, 1],
 * "memdev": "m0"} (QMP's NumaOptions), as key=value pairs, type first.
 */
static GPtrArray *numa_json(const char *arg, GError **err)
{
    json_object *bag = cli_props_parse("-numa", arg, "type", err), *type;
    GPtrArray *kv;
    bool ok;

    if (!bag)
        return NULL;
    kv = g_ptr_array_new_with_free_func(g_free);
    ok = json_object_object_get_ex(bag, "type", &type) &&
         json_pairs(kv, "type", type, err);
    if (!ok && !(err && *err))
        cli_fail(err, "-numa: '%s' has no \"type\"", arg);
    json_object_object_foreach(bag, key, v) {
        if (ok && strcmp(key, "type"))
            ok = json_pairs(kv, key, v, err);
    }
    json_object_put(bag);
    if (!ok)
        g_clear_pointer(&kv, g_ptr_array_unref);
    return kv;
}

bool cli_numa_parse(struct cli_options *o, const char *arg, GError **err)
{
    g_autoptr(GPtrArray) kv = arg[0] == '{'
        ? numa_json(arg, err) : cli_keyval_split("-numa", arg, "type", err);
    struct cli_numa_node n = { 0 };
    bool have_id = false;

    if (!kv)
        return false;
    if (strcmp(kv->pdata[0], "type") || strcmp(kv->pdata[1], "node"))
        return cli_fail(err, "-numa: only 'node' entries are supported, "
                        "got '%s'", arg);
    if (o->nr_numa >= CLI_MAX_NUMA_NODES)
        return cli_fail(err, "-numa: at most %d nodes", CLI_MAX_NUMA_NODES);
    for (guint i = 2; i < kv->len; i += 2) {
        if (!numa_key(&n, kv->pdata[i], kv->pdata[i + 1], &have_id, err)) {
            g_free(n.memdev);
            return false;
        }
    }
    if (!have_id)
        n.nodeid = o->nr_numa;      /* QEMU: the next index */
    if (node_id_used(o, n.nodeid)) {
        g_free(n.memdev);
        return cli_fail(err, "-numa: node %u is defined twice", n.nodeid);
    }
    o->numa = g_renew(struct cli_numa_node, o->numa, o->nr_numa + 1);
    o->numa[o->nr_numa++] = n;
    return true;
}

/*
 * Boot RAM is in the nodes' memdev backends (their sizes are checked
 * against -m at startup, when the backends exist); a node without memdev=
 * has no memory, as in QEMU. Some node must have memory.
 */
static bool check_memory(const struct cli_options *o, GError **err)
{
    for (unsigned i = 0; i < o->nr_numa; i++) {
        if (o->numa[i].memdev)
            return true;
    }
    return cli_fail(err, "-numa: no node has memory: the nodes' memdev= "
                    "backends must add up to -m size 0x%" PRIx64 " (a node "
                    "without memdev= has none)", o->ram_size);
}

/* Every vCPU on exactly one node; unlisted ones round-robin (as QEMU). */
static bool assign_cpus(struct cli_options *o, GError **err)
{
    o->cpu_node = g_new(uint32_t, o->smp);
    for (uint32_t c = 0; c < o->smp; c++) {
        int owner = -1;

        for (unsigned i = 0; i < o->nr_numa; i++) {
            if (!(o->numa[i].cpus[c / 64] & (1ULL << (c % 64))))
                continue;
            if (owner >= 0)
                return cli_fail(err, "-numa: cpu %u is on nodes %u and %u",
                                c, o->numa[owner].nodeid, o->numa[i].nodeid);
            owner = (int)i;
        }
        o->cpu_node[c] = o->numa[owner >= 0 ? (unsigned)owner
                                            : c % o->nr_numa].nodeid;
    }
    for (unsigned i = 0; i < o->nr_numa; i++) {
        for (uint32_t c = o->smp; c < CLI_MAX_SMP; c++) {
            if (o->numa[i].cpus[c / 64] & (1ULL << (c % 64)))
                return cli_fail(err, "-numa: node %u lists cpu %u but -smp "
                                "is %u", o->numa[i].nodeid, c, o->smp);
        }
    }
    return true;
}

bool cli_numa_finish(struct cli_options *o, GError **err)
{
    if (o->nr_numa == 0)
        return true;
    return check_memory(o, err) && assign_cpus(o, err);
}
