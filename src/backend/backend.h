/*
 * Memory backends: the host memory behind guest RAM and DIMMs, in QEMU's
 * object model spelling (memory-backend-ram, memory-backend-file,
 * memory-backend-memfd; docs/qmp.md "object-add"). A backend is created
 * from a flat property bag (QMP object-add arguments or -object key=value
 * pairs), maps its memory, and may preallocate it on several threads.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

struct backend;

/*
 * Validates props and maps the memory; does not preallocate. props holds
 * everything but "qom-type" and "id", with JSON types (object-add) or
 * strings (-object: "on"/"off"/"yes"/"no"/"true"/"false", sizes with
 * K/M/G/T suffixes) — both are accepted. Unknown properties, wrong types,
 * missing size/mem-path and impossible combinations are errors naming the
 * property and value; nothing is left behind on error.
 */
struct backend *backend_new(const char *qom_type, const char *id,
                            json_object *props, GError **err);
void backend_free(struct backend *b);
/*
 * QMP object-add's stricter typing, QEMU's (its arguments are QAPI-typed,
 * unlike -object key=value): sizes and counts must be JSON integers,
 * booleans JSON booleans, host-nodes an array of integers. Run before
 * backend_new(); error texts are QEMU's.
 */
bool backend_props_check_typed(const char *qom_type, json_object *props,
                               GError **err);

/*
 * Guest RAM that is no backend object (the boot RAM without -numa memdev):
 * anonymous, not reserved, 2 MiB-aligned and advised for transparent huge
 * pages, as backends are. NULL and err on failure.
 */
void *backend_map_guest_ram(uint64_t size, GError **err);

const char *backend_id(const struct backend *b);
const char *backend_type(const struct backend *b);
void *backend_host_addr(const struct backend *b);
uint64_t backend_size(const struct backend *b);
/* The host page size backing it (4 KiB, or the huge page size). */
uint64_t backend_page_size(const struct backend *b);
bool backend_prealloc_requested(const struct backend *b);
/* prealloc-threads: QEMU defaults to 1, hotmem to the host's CPUs (<= 16). */
unsigned backend_prealloc_threads(const struct backend *b);

/* Used by a DIMM (or NUMA node); in-use backends cannot be deleted. */
/* readonly=on (memory-backend-file): the guest may read, never write. */
bool backend_readonly(const struct backend *b);
bool backend_in_use(const struct backend *b);
void backend_set_in_use(struct backend *b, bool in_use);

/*
 * The properties a backend type takes, with QEMU's names, in the order of
 * the one table object-add and -object are parsed with (so whoever lists
 * them, query-qmp-schema or qom-list, lists what is accepted).
 */
enum backend_value {
    BACKEND_VALUE_BOOL,
    BACKEND_VALUE_SIZE,         /* bytes */
    BACKEND_VALUE_COUNT,        /* a plain integer */
    BACKEND_VALUE_STR,
    BACKEND_VALUE_POLICY,       /* HostMemPolicy */
    BACKEND_VALUE_NODES,        /* host-nodes: a list of node numbers */
};
struct backend_prop {
    const char *name;
    enum backend_value value;
    bool required;              /* size, and mem-path of a file backend */
};
/* The i-th property of qom_type; false past the last or for a type that
 * is not a memory backend. */
bool backend_type_prop(const char *qom_type, unsigned i,
                       struct backend_prop *out);
/* The i-th backend type ("memory-backend-ram", ...); NULL past the last. */
const char *backend_type_name(unsigned i);
/* Property name's value in b (a new JSON value: sizes and counts as
 * integers, host-nodes as an array), or NULL when b has no such property. */
json_object *backend_prop_value(const struct backend *b, const char *name);
/*
 * qom-set: changes dump or merge of a mapped backend and applies the
 * advice (madvise) at once. Every other property is fixed once the
 * backend exists; the error says so.
 */
bool backend_set_advice(struct backend *b, const char *name, bool on,
                        GError **err);

/* The object's properties as query-memdev reports them (new object). */
json_object *backend_describe(const struct backend *b);

typedef void (*backend_progress_fn)(void *opaque, uint64_t done,
                                    uint64_t total);
typedef void (*backend_done_fn)(void *opaque, struct backend *b,
                                GError *err);

/*
 * Preallocates every page with backend_prealloc_threads() threads
 * (MADV_POPULATE_WRITE where the kernel has it, else touching one byte per
 * page). Synchronous: returns when done. progress may be NULL; it runs on
 * the calling thread every few milliseconds with done < total, then once
 * with done == total on success.
 */
bool backend_prealloc(struct backend *b, backend_progress_fn progress,
                      void *opaque, GError **err);

/*
 * The same, in the background: returns at once; done runs later on the
 * main context (g_main_context_default()) with err NULL on success (done
 * owns err). The backend must not be freed before done has run. Call it
 * from the thread that runs the default main context.
 */
void backend_prealloc_async(struct backend *b, backend_done_fn done,
                            void *opaque);

/*
 * Asks a running preallocation (either kind; from any thread) to stop
 * within a few milliseconds; it then fails with a "cancelled" error, and
 * an async one still calls done. Lets shutdown or object-del stop a long
 * preallocation instead of waiting for it. No effect when none runs.
 */
void backend_prealloc_cancel(struct backend *b);

/*
 * Handing memory to another process (cpr-transfer, docs/migration.md
 * "Local live update"). backend_share_fd(): the descriptor that holds
 * [addr, addr + len) of b's memory and the offset in it where addr is;
 * fails, naming the rule, for memory that cannot be shared (memory-backend-
 * ram, share=off, discard-data=on). The descriptor stays b's.
 */
bool backend_share_fd(const struct backend *b, const void *addr,
                      uint64_t len, int *fd, uint64_t *offset, GError **err);
/*
 * The other side: maps fd at offset over [addr, addr + len) of b's
 * memory (MAP_FIXED: the address, and so KVM's memslot, stays), after
 * checking that b is shared too and that fd holds offset + len bytes.
 * b takes fd (its own memory goes); a second part of the same file, as
 * boot RAM below and above 4 GiB, closes the duplicate. fd is closed on
 * failure too.
 */
bool backend_adopt_fd(struct backend *b, void *addr, uint64_t len, int fd,
                      uint64_t offset, GError **err);
/* The backend whose memory holds [addr, addr + len): is it b's? */
bool backend_holds(const struct backend *b, const void *addr, uint64_t len);
