/*
 * -numa node[,nodeid=N][,mem=SIZE|,memdev=ID][,cpus=A[-B]]... in QEMU's
 * spelling. Nodes own consecutive slices of boot RAM in the order given.
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
    if (!strcmp(key, "mem")) {
        if (!cli_parse_size(v, 1ULL << 20, &n->mem, err)) {
            g_prefix_error(err, "-numa: mem: ");
            return false;
        }
        n->has_mem = true;
        return true;
    }
    if (!strcmp(key, "memdev")) {
        g_free(n->memdev);
        n->memdev = g_strdup(v);
        return true;
    }
    if (!strcmp(key, "cpus"))
        return parse_cpus(n, v, err);
    return cli_fail(err, "-numa: unknown key '%s' (expected nodeid, mem, "
                    "memdev or cpus)", key);
}

bool cli_numa_parse(struct cli_options *o, const char *arg, GError **err)
{
    g_autoptr(GPtrArray) kv = cli_keyval_split("-numa", arg, "type", err);
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
    if (n.has_mem && n.memdev) {
        g_free(n.memdev);
        return cli_fail(err, "-numa: node %u: mem= and memdev= are mutually "
                        "exclusive", n.nodeid);
    }
    if (node_id_used(o, n.nodeid)) {
        g_free(n.memdev);
        return cli_fail(err, "-numa: node %u is defined twice", n.nodeid);
    }
    o->numa = g_renew(struct cli_numa_node, o->numa, o->nr_numa + 1);
    o->numa[o->nr_numa++] = n;
    return true;
}

/* RAM per node: as given, or split evenly in 8 MiB granules (as QEMU). */
static bool assign_memory(struct cli_options *o, GError **err)
{
    unsigned with_mem = 0;
    uint64_t sum = 0, share;

    unsigned with_memdev = 0;

    for (unsigned i = 0; i < o->nr_numa; i++) {
        with_memdev += o->numa[i].memdev != NULL;
        with_mem += o->numa[i].has_mem;
        sum += o->numa[i].mem;
    }
    /* memdev: the backends' sizes are checked against -m at startup. */
    if (with_memdev == o->nr_numa)
        return true;
    if (with_memdev)
        return cli_fail(err, "-numa: either every node gives memdev= or "
                        "none does (%u of %u do)", with_memdev, o->nr_numa);
    if (with_mem == 0) {
        share = o->ram_size / o->nr_numa & ~(CLI_NUMA_MEM_ALIGN - 1);
        for (unsigned i = 0; i + 1 < o->nr_numa; i++)
            o->numa[i].mem = share;
        o->numa[o->nr_numa - 1].mem = o->ram_size - share * (o->nr_numa - 1);
        return true;
    }
    if (with_mem != o->nr_numa)
        return cli_fail(err, "-numa: either every node gives mem= or none "
                        "does (%u of %u do)", with_mem, o->nr_numa);
    if (sum != o->ram_size)
        return cli_fail(err, "-numa: node memory adds up to 0x%" PRIx64
                        " but -m size is 0x%" PRIx64, sum, o->ram_size);
    for (unsigned i = 0; i < o->nr_numa; i++) {
        if (o->numa[i].mem % 0x1000)
            return cli_fail(err, "-numa: node %u: mem 0x%" PRIx64 " is not "
                            "a multiple of 4 KiB", o->numa[i].nodeid,
                            o->numa[i].mem);
    }
    return true;
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
    return assign_memory(o, err) && assign_cpus(o, err);
}
