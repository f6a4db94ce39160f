/*
 * The command line of a machine's configuration, in the spelling cli_parse()
 * reads (x-query-cmdline, docs/migration.md): what a migration destination
 * is started with. The inverse of the parser for what the machine keeps;
 * tests/test-cli.c parses every line this writes back.
 */
#include <inttypes.h>
#include <string.h>

#include "acpi/tables.h"
#include "cli/cli.h"
#include "machine/machine.h"

/* A size cli_parse_size() reads back exactly: the largest unit that
 * divides it (B for bytes, since a bare number is MiB for -m). */
static char *format_size(uint64_t v)
{
    static const char units[] = "TGMK";

    for (int i = 0; i < 4 && v; i++) {
        uint64_t unit = 1ULL << (10 * (4 - i));

        if (v % unit == 0)
            return g_strdup_printf("%" PRIu64 "%c", v / unit, units[i]);
    }
    return g_strdup_printf("%" PRIu64 "B", v);
}

/* A value as keyval text, its commas doubled; false for a list or object. */
static bool append_value(GString *s, json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_boolean:
        g_string_append(s, json_object_get_boolean(v) ? "on" : "off");
        return true;
    case json_type_int:
    case json_type_double:
        g_string_append(s, json_object_to_json_string(v));
        return true;
    case json_type_string:
        for (const char *c = json_object_get_string(v); *c; c++) {
            g_string_append_c(s, *c);
            if (*c == ',')
                g_string_append_c(s, ',');
        }
        return true;
    default:
        return false;
    }
}

char *cli_format_props(json_object *bag, const char *implied_key)
{
    GString *s = g_string_new(NULL);
    json_object *first = NULL;

    if (json_object_object_get_ex(bag, implied_key, &first) &&
        json_object_is_type(first, json_type_string) &&
        !strchr(json_object_get_string(first), '=') &&
        append_value(s, first)) {
        json_object_object_foreach(bag, key, v) {
            if (!strcmp(key, implied_key) || !v)
                continue;
            g_string_append_printf(s, ",%s=", key);
            if (strchr(key, ',') || strchr(key, '=') || !append_value(s, v))
                goto json;
        }
        return g_string_free(s, FALSE);
    }
json:
    /* The JSON spelling takes every value as it is (host-nodes lists). */
    g_string_free(s, TRUE);
    return g_strdup(json_object_to_json_string_ext(bag,
                                                   JSON_C_TO_STRING_PLAIN));
}

static void add(GPtrArray *argv, const char *opt, char *value)
{
    g_ptr_array_add(argv, g_strdup(opt));
    if (value)
        g_ptr_array_add(argv, value);
}

/* "node,nodeid=N[,memdev=ID][,cpus=A[-B]]...": node i's vCPUs as ranges. */
static char *format_node(const struct machine_config *c, unsigned i)
{
    uint32_t id = c->nodes[i].id;
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "node,nodeid=%" PRIu32, id);
    if (c->node_memdev && c->node_memdev[i])
        g_string_append_printf(s, ",memdev=%s", c->node_memdev[i]);
    for (uint32_t cpu = 0; c->cpu_node && cpu < c->smp; cpu++) {
        uint32_t last = cpu;

        if (c->cpu_node[cpu] != id)
            continue;
        while (last + 1 < c->smp && c->cpu_node[last + 1] == id)
            last++;
        if (last == cpu)
            g_string_append_printf(s, ",cpus=%" PRIu32, cpu);
        else
            g_string_append_printf(s, ",cpus=%" PRIu32 "-%" PRIu32, cpu,
                                   last);
        cpu = last;
    }
    return g_string_free(s, FALSE);
}

static char *format_cpu(const struct cpu_model_config *cpu)
{
    GString *s = g_string_new(cpu->name ? cpu->name : "host");

    if (cpu->phys_bits)
        g_string_append_printf(s, ",phys-bits=%u", cpu->phys_bits);
    if (cpu->host_phys_bits >= 0)
        g_string_append_printf(s, ",host-phys-bits=%s",
                               cpu->host_phys_bits ? "on" : "off");
    if (cpu->host_phys_bits_limit)
        g_string_append_printf(s, ",host-phys-bits-limit=%u",
                               cpu->host_phys_bits_limit);
    return g_string_free(s, FALSE);
}

static char *format_memory(const struct machine_config *c)
{
    g_autofree char *size = format_size(c->ram_size);
    g_autofree char *maxmem = c->maxmem ? format_size(c->maxmem) : NULL;
    GString *s = g_string_new(size);

    if (c->slots)
        g_string_append_printf(s, ",slots=%" PRIu32, c->slots);
    if (maxmem)
        g_string_append_printf(s, ",maxmem=%s", maxmem);
    return g_string_free(s, FALSE);
}

/* -machine's keys, or NULL when every one has its default. */
static char *format_machine(const struct machine_config *c)
{
    GString *s = g_string_new(NULL);

    if (c->ram_memdev)
        g_string_append_printf(s, "memory-backend=%s", c->ram_memdev);
    if (c->linux_memhp_default_off)
        g_string_append_printf(s, "%smemhp-default-online=off",
                               s->len ? "," : "");
    return g_string_free(s, s->len == 0);
}

char **cli_format_config(const struct machine_config *c)
{
    GPtrArray *argv = g_ptr_array_new();
    char *machine = format_machine(c);

    add(argv, "-m", format_memory(c));
    add(argv, "-smp", g_strdup_printf("%" PRIu32, c->smp));
    add(argv, "-cpu", format_cpu(&c->cpu));
    if (machine)
        add(argv, "-machine", machine);
    if (c->dirty_ring_size)
        add(argv, "-accel", g_strdup_printf("kvm,dirty-ring-size=%" PRIu32,
                                            c->dirty_ring_size));
    /* Objects first: -numa, -machine and -device name them. */
    for (unsigned i = 0; i < c->nr_objects; i++)
        add(argv, "-object", cli_format_props(c->objects[i], "qom-type"));
    for (unsigned i = 0; i < c->nr_nodes; i++)
        add(argv, "-numa", format_node(c, i));
    if (c->kernel_path)
        add(argv, "-kernel", g_strdup(c->kernel_path));
    if (c->initrd_path)
        add(argv, "-initrd", g_strdup(c->initrd_path));
    if (c->cmdline)
        add(argv, "-append", g_strdup(c->cmdline));
    if (c->prealloc_default)
        add(argv, "-mem-prealloc", NULL);
    if (c->no_shutdown)
        add(argv, "-no-shutdown", NULL);
    if (c->no_reboot)
        add(argv, "-no-reboot", NULL);
    for (unsigned i = 0; i < c->nr_devices; i++)
        add(argv, "-device", cli_format_props(c->devices[i], "driver"));
    g_ptr_array_add(argv, NULL);
    return (char **)g_ptr_array_free(argv, FALSE);
}

/* Words a POSIX shell takes as they are; others are quoted. */
static bool shell_plain(const char *w)
{
    if (!*w)
        return false;
    for (; *w; w++) {
        if (!g_ascii_isalnum(*w) && !strchr("-_./,=:+@%", *w))
            return false;
    }
    return true;
}

char *cli_format_shell(const char *program, char *const *argv)
{
    GString *s = g_string_new(program);

    for (; *argv; argv++) {
        g_autofree char *quoted = shell_plain(*argv)
                                  ? NULL : g_shell_quote(*argv);

        g_string_append_c(s, ' ');
        g_string_append(s, quoted ? quoted : *argv);
    }
    return g_string_free(s, FALSE);
}
