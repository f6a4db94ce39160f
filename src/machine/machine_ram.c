/*
 * Boot RAM: one anonymous mapping, or, with -numa node,memdev=ID, the
 * memory of each node's backend. RAM is a sequence of node slices laid out
 * in guest-physical memory below the 32-bit hole and then from 4 GiB
 * (docs/acpi.md); each slice becomes one memslot, or two where it crosses
 * the hole.
 */
#include <errno.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "errors.h"
#include "machine/machine_internal.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

/* Installs RAM bytes [offset, offset + size) of the RAM sequence. */
static bool add_slice(struct machine *m, uint64_t offset, uint64_t size,
                      uint8_t *hva, const char *owner, GError **err)
{
    const struct layout *l = &m->layout;
    uint64_t low = offset < l->low_size ? MIN(size, l->low_size - offset) : 0;
    g_autofree char *high_owner = NULL;

    if (low && !memmap_add(m->memmap, offset, low, hva, 0, owner, NULL, err))
        return false;
    if (low == size)
        return true;
    high_owner = low ? g_strdup_printf("%s (above 4 GiB)", owner)
                     : g_strdup(owner);
    return memmap_add(m->memmap,
                      LAYOUT_HIGHMEM_BASE + offset + low - l->low_size,
                      size - low, hva + low, 0, high_owner, NULL, err);
}

static bool anonymous_ram(struct machine *m, GError **err)
{
    uint64_t size = m->layout.ram_size;
    uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (ram == MAP_FAILED) {
        g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                    "cannot map 0x%" PRIx64 " bytes of guest RAM: %s", size,
                    g_strerror(errno));
        return false;
    }
    m->ram = ram;
    /* Lets tools (and bench/startup) tell guest RAM from VMM memory. */
    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)ram, size,
          (unsigned long)"hotmem-guest-ram");
    if (add_slice(m, 0, MIN(size, m->layout.low_size), ram, "ram-below-4g",
                  err) &&
        (size <= m->layout.low_size ||
         add_slice(m, m->layout.low_size, size - m->layout.low_size,
                   ram + m->layout.low_size, "ram-above-4g", err)))
        return true;
    g_prefix_error(err, "-m: ");
    return false;
}

/* The backends of -numa node,memdev=..., checked before anything is used. */
static bool node_backends(struct machine *m, struct backend **out,
                          GError **err)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < m->cfg.nr_nodes; i++) {
        const char *id = m->cfg.node_memdev[i];

        out[i] = id ? machine_object_find(m, id) : NULL;
        if (!id || !out[i] || backend_in_use(out[i])) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "-numa: node %u: %s", m->cfg.nodes[i].id,
                        !id ? "every node needs memdev= when one has it"
                            : !out[i] ? "memdev names no -object"
                                      : "memdev is already in use");
            return false;
        }
        sum += backend_size(out[i]);
    }
    if (sum != m->cfg.ram_size) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "-numa: the node backends add up to 0x%" PRIx64 " bytes "
                    "but -m size is 0x%" PRIx64, sum, m->cfg.ram_size);
        return false;
    }
    return true;
}

static bool backend_ram(struct machine *m, GError **err)
{
    g_autofree struct backend **b = g_new0(struct backend *,
                                           m->cfg.nr_nodes);
    uint64_t offset = 0;

    if (!node_backends(m, b, err))
        return false;
    for (unsigned i = 0; i < m->cfg.nr_nodes; i++) {
        m->nodes[i].mem = backend_size(b[i]);
        if (!add_slice(m, offset, backend_size(b[i]), backend_host_addr(b[i]),
                       backend_id(b[i]), err))
            return false;
        backend_set_in_use(b[i], true);
        offset += backend_size(b[i]);
    }
    return true;
}

bool machine_ram_init(struct machine *m, GError **err)
{
    bool memdev = false;
    const struct machine_kvm_stub *stub = m->cfg.kvm_stub;

    m->memmap = stub ? memmap_new(stub->max_memslots, stub->set_region,
                                  stub->opaque)
                     : memmap_new(m->kvm->max_memslots, kvm_set_memory_region,
                                  m->kvm);
    /* Nodes as the machine uses them; memdev nodes learn their size here. */
    m->nodes = g_memdup2(m->cfg.nodes, sizeof(*m->nodes) *
                         (m->cfg.nr_nodes + 1));
    m->cfg.nodes = m->nodes;
    for (unsigned i = 0; m->cfg.node_memdev && i < m->cfg.nr_nodes; i++)
        memdev |= m->cfg.node_memdev[i] != NULL;
    return memdev ? backend_ram(m, err) : anonymous_ram(m, err);
}
