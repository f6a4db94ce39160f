/*
 * Shared between the memory backend's files (backend.c maps, backend_props.c
 * parses the property bag, backend_prealloc.c preallocates). Not a public
 * API; tests may use the prealloc method override.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

#include "backend/backend.h"

/* QEMU's MAX_NODES: host-nodes values are below it. */
#define BACKEND_MAX_HOST_NODES  128
/* mbind(2) is given maxnode + 1 bits, so keep one spare bit. */
#define BACKEND_NODE_LONGS \
    ((BACKEND_MAX_HOST_NODES + 1 + 8 * sizeof(unsigned long) - 1) / \
     (8 * sizeof(unsigned long)))

/* hotmem's default prealloc-threads: the host's CPUs, at most this many. */
#define BACKEND_MAX_DEFAULT_THREADS 16
/* prealloc-threads above this are refused (each one is a host thread). */
#define BACKEND_MAX_PREALLOC_THREADS 1024

enum backend_kind { BACKEND_RAM, BACKEND_FILE, BACKEND_MEMFD };

/* The property bag once parsed: what backend_new() maps. */
struct backend_config {
    uint64_t size;
    bool has_size;
    bool share, has_share;
    bool prealloc;
    uint64_t prealloc_threads;
    bool has_prealloc_threads;
    bool reserve;
    bool merge;
    bool dump;
    bool thp;                   /* hotmem's own: MADV_HUGEPAGE, else
                                   MADV_NOHUGEPAGE (ignored for hugetlb) */
    int policy;                 /* MPOL_DEFAULT, _PREFERRED, _BIND, ... */
    bool has_policy;
    unsigned long host_nodes[BACKEND_NODE_LONGS];
    unsigned nr_host_nodes;     /* bits set in host_nodes */
    /* memory-backend-file */
    char *mem_path;
    uint64_t align;             /* 0: not given */
    uint64_t offset;
    bool readonly;
    bool discard_data;
    /* memory-backend-memfd */
    bool hugetlb;
    uint64_t hugetlbsize;       /* 0: not given */
    bool seal;
};

struct backend {
    char *id;
    enum backend_kind kind;
    struct backend_config cfg;
    void *addr;                 /* NULL until mapped */
    uint64_t page_size;
    bool hugetlb;               /* backed by huge pages (memfd or hugetlbfs) */
    int fd;                     /* file and memfd backends; -1 for ram */
    char *created_path;         /* a file backend_new() created: unlinked
                                   if backend_new() fails */
    bool in_use;
    atomic_bool prealloc_cancel;
    atomic_bool prealloc_running;
};

/* "memory-backend-ram" and friends. */
const char *backend_kind_name(enum backend_kind kind);
bool backend_kind_from_name(const char *name, enum backend_kind *kind);

/* HostMemPolicy's name for an MPOL_* mode ("default", "bind", ...). */
const char *backend_policy_name(int policy);

/* QEMU's identifier rule: a letter, then letters, digits, '-', '.', '_'. */
bool backend_check_id(const char *id, GError **err);

/*
 * Fills cfg from props (JSON-typed or string values) with the type's
 * defaults, then checks the rules that need no mapping (required
 * properties, combinations, host nodes exist). cfg must be zeroed; on
 * error it may hold allocations: backend_config_clear() it.
 */
bool backend_parse_props(enum backend_kind kind, json_object *props,
                         struct backend_config *cfg, GError **err);
void backend_config_clear(struct backend_config *cfg);

/* backend_room.c: what the host can still give a preallocation. */
enum backend_memory {
    BACKEND_MEMORY_RAM,         /* anonymous or shmem: RAM and cgroup */
    BACKEND_MEMORY_HUGETLB,     /* huge pages of one size */
    BACKEND_MEMORY_PAGE_CACHE,  /* a file the kernel can write back */
};
/*
 * Bytes of kind the host can still give (UINT64_MAX: no limit known) and
 * in *source (g_free) the figure that limits it. root prefixes /proc and
 * /sys ("" on a real host; a fake tree in tests).
 */
uint64_t backend_host_room(const char *root, enum backend_memory kind,
                           uint64_t page_size, char **source);
/*
 * Fails, naming both sizes and the limit, when preallocating what b has
 * not allocated yet needs more than backend_host_room().
 */
bool backend_check_room(const struct backend *b, const char *root,
                        GError **err);

/* How preallocation touches pages; tests force the fallback. */
enum backend_prealloc_method {
    BACKEND_PREALLOC_AUTO,      /* MADV_POPULATE_*, else touch */
    BACKEND_PREALLOC_TOUCH,     /* always one access per page */
};
void backend_prealloc_set_method(enum backend_prealloc_method method);

/* merge, huge page and dump advice over the whole mapping (backend.c). */
bool backend_apply_advice(struct backend *b, GError **err);
