/*
 * -m [size=]SIZE[,slots=N][,maxmem=SIZE]: boot RAM and the room for DIMMs,
 * with QEMU's rules (machine_set_mem()) plus page alignment.
 */
#include <inttypes.h>
#include <string.h>

#include "cli/cli_internal.h"

#define CLI_PAGE_SIZE 0x1000ULL

/* "0x20000000 (512M)": exact hex plus the largest unit that divides it. */
static char *size_str(uint64_t v)
{
    static const char units[] = "KMGTPE";
    int u = -1;

    while (v && u < 5 && (v & ((1ULL << (10 * (u + 2))) - 1)) == 0)
        u++;
    if (u < 0)
        return g_strdup_printf("0x%" PRIx64 " (%" PRIu64 ")", v, v);
    return g_strdup_printf("0x%" PRIx64 " (%" PRIu64 "%c)", v,
                           v >> (10 * (u + 1)), units[u]);
}

/* The -m values as parsed, before the cross-key rules are applied. */
struct mem_args {
    uint64_t size, maxmem, slots;
    bool have_size, have_slots, have_maxmem;
};

static bool mem_key(struct mem_args *m, const char *arg, const char *key,
                    const char *val, GError **err)
{
    bool *seen = !strcmp(key, "size") ? &m->have_size :
                 !strcmp(key, "slots") ? &m->have_slots :
                 !strcmp(key, "maxmem") ? &m->have_maxmem : NULL;

    if (!seen)
        return cli_fail(err, "-m: unknown key '%s' in '%s' (expected size, "
                    "slots or maxmem)", key, arg);
    /* A repeated key: the last one counts, as in QEMU. */
    *seen = true;
    if (seen == &m->have_slots)
        return cli_parse_count("-m", "slots", val, 0, CLI_MAX_SLOTS, &m->slots,
                           err);
    /* QEMU reads a bare size as MiB but a bare maxmem as bytes. */
    if (seen == &m->have_size) {
        if (!cli_parse_size(val, 1ULL << 20, &m->size, err)) {
            g_prefix_error(err, "-m: ");
            return false;
        }
    } else if (!cli_parse_size(val, 1, &m->maxmem, err)) {
        g_prefix_error(err, "-m: maxmem: ");
        return false;
    }
    return true;
}

static bool check_page_aligned(const char *key, uint64_t v, GError **err)
{
    g_autofree char *vs = size_str(v);
    g_autofree char *ps = size_str(CLI_PAGE_SIZE);

    if (v % CLI_PAGE_SIZE == 0)
        return true;
    return cli_fail(err, "-m: %s %s is not a multiple of the page size %s", key,
                vs, ps);
}

/* The cross-key rules of QEMU's machine_set_mem(), plus page alignment. */
static bool check_mem(const struct mem_args *m, GError **err)
{
    g_autofree char *ss = size_str(m->size);
    g_autofree char *ms = size_str(m->maxmem);

    if (m->size == 0)
        return cli_fail(err, "-m: size 0 is invalid: the guest needs RAM");
    if (!check_page_aligned("size", m->size, err))
        return false;
    if (m->have_slots && !m->have_maxmem)
        return cli_fail(err, "-m: slots=%" PRIu64 " needs maxmem=SIZE, the "
                    "most memory the guest can grow to", m->slots);
    /* maxmem without slots (or slots=0) is QEMU's "no slots": kept, but
     * no DIMM can be plugged. */
    if (!m->have_maxmem)
        return true;
    if (!check_page_aligned("maxmem", m->maxmem, err))
        return false;
    if (m->maxmem < m->size)
        return cli_fail(err, "-m: maxmem %s is smaller than size %s", ms, ss);
    if (m->slots > 0 && m->maxmem == m->size)
        return cli_fail(err, "-m: maxmem %s equals size %s, leaving no room "
                    "for the DIMMs of slots=%" PRIu64, ms, ss, m->slots);
    return true;
}

/* A later -m replaces an earlier one entirely. */
bool cli_opt_memory(struct parse_state *st, const char *arg, GError **err)
{
    struct mem_args m = { .size = CLI_DEFAULT_RAM };
    GPtrArray *kv = cli_keyval_split("-m", arg, "size", err);
    bool ok = kv != NULL;

    for (guint i = 0; ok && i < kv->len; i += 2)
        ok = mem_key(&m, arg, kv->pdata[i], kv->pdata[i + 1], err);
    if (kv)
        g_ptr_array_unref(kv);
    if (!ok || !check_mem(&m, err))
        return false;
    st->o->ram_size = m.size;
    st->o->ram_size_given = m.have_size;
    st->o->slots = (uint32_t)m.slots;
    st->o->maxmem = m.have_maxmem ? m.maxmem : 0;
    return true;
}
