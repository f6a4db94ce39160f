/*
 * Boot RAM: one anonymous mapping, or, with -numa node,memdev=ID, the
 * memory of each node's backend (none for a node without memdev), or with
 * -machine memory-backend=ID that backend's memory. RAM is a sequence of node slices laid out
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

/*
 * The first 2 MiB of boot RAM: the legacy area below 1 MiB, where hotmem
 * writes the boot structures and ACPI tables, and the start of the guest
 * image. hotmem and the guest touch a few hundred KiB of it at boot; as one
 * transparent huge page it would all be resident (1.5 MiB more of a VMM
 * whose whole RSS is about 4 MiB after startup), for one TLB entry's worth
 * of gain. The rest of the RAM keeps the huge page advice.
 */
#define BOOT_AREA_SIZE (2ULL << 20)

static bool anonymous_ram(struct machine *m, GError **err)
{
    uint64_t size = m->layout.ram_size;
    uint8_t *ram = backend_map_guest_ram(size, err);

    if (!ram)
        return false;
    madvise(ram, MIN(size, BOOT_AREA_SIZE), MADV_NOHUGEPAGE);
    m->ram = ram;
    /* QEMU's pc.ram is mergeable (mem-merge=on); without KSM it fails. */
    madvise(ram, size, MADV_MERGEABLE);
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

/* The backend with id for boot RAM, unused so far. */
static struct backend *ram_backend(struct machine *m, const char *what,
                                   const char *id, GError **err)
{
    struct backend *b = machine_object_find(m, id);

    if (!b || backend_in_use(b)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID, "%s: %s '%s' %s", what,
                    m->cfg.nr_nodes ? "memdev" : "memory-backend", id,
                    !b ? "names no -object" : "is already in use");
        return NULL;
    }
    return b;
}

/*
 * The backends of boot RAM, checked before anything is used: each node's
 * memdev (a node without one has no memory, as in QEMU), or the machine's
 * memory-backend.
 */
static bool ram_backends(struct machine *m, struct backend **out,
                         unsigned n, GError **err)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < n; i++) {
        const char *id = m->cfg.nr_nodes ? m->cfg.node_memdev[i]
                                         : m->cfg.ram_memdev;
        g_autofree char *what = m->cfg.nr_nodes
            ? g_strdup_printf("-numa: node %u", m->cfg.nodes[i].id)
            : g_strdup("-machine");

        if (!id)
            continue;
        out[i] = ram_backend(m, what, id, err);
        if (!out[i])
            return false;
        sum += backend_size(out[i]);
    }
    if (sum != m->cfg.ram_size) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "%s add up to 0x%" PRIx64 " bytes but -m size is 0x%"
                    PRIx64, m->cfg.nr_nodes ? "-numa: the node backends"
                                            : "-machine: memory-backend's size",
                    sum, m->cfg.ram_size);
        return false;
    }
    return true;
}

static bool backend_ram(struct machine *m, GError **err)
{
    unsigned n = MAX(m->cfg.nr_nodes, 1);
    g_autofree struct backend **b = g_new0(struct backend *, n);
    uint64_t offset = 0;

    if (!ram_backends(m, b, n, err))
        return false;
    for (unsigned i = 0; i < n; i++) {
        uint64_t size = b[i] ? backend_size(b[i]) : 0;

        if (m->cfg.nr_nodes)
            m->nodes[i].mem = size;
        if (!size)
            continue;
        if (!add_slice(m, offset, size, backend_host_addr(b[i]),
                       backend_id(b[i]), err))
            return false;
        backend_set_in_use(b[i], true);
        offset += size;
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
    memdev |= m->cfg.ram_memdev != NULL;
    return memdev ? backend_ram(m, err) : anonymous_ram(m, err);
}
