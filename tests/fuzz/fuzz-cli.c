/*
 * Fuzz target: the command line (src/cli/). The input is split at NUL
 * bytes into argv[1..] (argv[0] is "hotmem"), parsed and freed. Checked:
 * the parser returns, never exits; a refusal carries a CLI_ERROR message
 * and leaves the options cleared; an accepted command line holds only
 * what the parser promises (docs/usage.md): a page-aligned RAM size, at
 * most 256 slots with maxmem above the size, 1-255 vCPUs, NUMA nodes
 * with a node for every vCPU, -object / -device property bags (objects
 * with an id; their types are the machine's to check at startup).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "cli/cli.h"
#include "fuzzvm.h"

#define MAX_ARGS 64

static void check_options(const struct cli_options *o)
{
    if (o->show_help || o->show_version)
        return;         /* the parse stopped there, as QEMU's does */
    if (o->ram_size == 0 || o->ram_size % 4096)
        fuzz_fail("accepted RAM size 0x%" PRIx64, o->ram_size);
    if (o->slots > CLI_MAX_SLOTS)
        fuzz_fail("accepted %u slots", o->slots);
    if (o->slots && o->maxmem <= o->ram_size)
        fuzz_fail("accepted slots=%u with maxmem 0x%" PRIx64 " <= size 0x%"
                  PRIx64, o->slots, o->maxmem, o->ram_size);
    if (o->smp < 1 || o->smp > CLI_MAX_SMP)
        fuzz_fail("accepted %u vCPUs", o->smp);
    if (o->nr_numa > CLI_MAX_NUMA_NODES)
        fuzz_fail("accepted %u NUMA nodes", o->nr_numa);
    for (unsigned i = 0; o->nr_numa && i < o->smp; i++) {
        bool found = false;

        for (unsigned n = 0; n < o->nr_numa; n++)
            found |= o->numa[n].nodeid == o->cpu_node[i];
        if (!found)
            fuzz_fail("vCPU %u is on node %u, which does not exist", i,
                      o->cpu_node[i]);
    }
    /* Types and the rest are the machine's to check, at startup. */
    for (guint i = 0; o->objects && i < o->objects->len; i++) {
        json_object *bag = g_ptr_array_index(o->objects, i);

        if (!json_object_is_type(bag, json_type_object) ||
            !json_object_object_get_ex(bag, "id", NULL))
            fuzz_fail("accepted an -object without id");
    }
    for (guint i = 0; o->devices && i < o->devices->len; i++) {
        if (!json_object_is_type(g_ptr_array_index(o->devices, i),
                                 json_type_object))
            fuzz_fail("accepted a -device that is not a property bag");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = g_malloc(size + 1);
    char *argv[MAX_ARGS + 2] = { "hotmem" };
    int argc = 1;
    struct cli_options o;
    GError *err = NULL;

    memcpy(copy, data, size);
    copy[size] = '\0';
    for (char *p = copy; p <= copy + size && argc <= MAX_ARGS;
         p += strlen(p) + 1)
        argv[argc++] = p;
    if (argc > 1 && size && !data[size - 1])
        argc--;         /* a trailing NUL ends the last argument */
    if (cli_parse(argc, argv, &o, &err)) {
        if (err)
            fuzz_fail("cli_parse succeeded and set an error");
        check_options(&o);
        cli_options_clear(&o);
    } else {
        if (!err || err->domain != CLI_ERROR || !err->message[0])
            fuzz_fail("cli_parse refused without a CLI_ERROR message");
        if (o.objects || o.devices || o.qmp || o.kernel || o.numa)
            fuzz_fail("cli_parse refused and left options behind");
        g_error_free(err);
    }
    g_free(copy);
    return 0;
}
