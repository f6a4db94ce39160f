/*
 * pc-dimm: a DIMM backed by a memory-backend object, plugged into one slot
 * of the memory hot-plug controller at an address inside the device-memory
 * window. This file holds what a DIMM is and where it may go; the machine
 * (machine_dimm.c) installs it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

/* DIMMs are aligned to at least 2 MiB (large pages in guest and host). */
#define PC_DIMM_MIN_ALIGN   0x200000ULL

struct backend;

/*
 * What the guest sees of a plugged DIMM's slot through the memory hot-plug
 * register block (docs/acpi.md); devices/memhp.c changes it.
 */
struct pc_dimm_slot_state {
    bool inserting;         /* insert event not yet acknowledged */
    bool removing;          /* remove event not yet acknowledged */
    bool unplug_requested;  /* device_del asked; until the guest ejects */
    uint32_t ost_event;     /* the guest's last _OST */
    uint32_t ost_status;
};

/*
 * A plugged pc-dimm: the one record of it. The machine creates it, keeps
 * it in its slot table under its DIMM lock (machine/machine_dimm.c) and
 * frees it after the guest ejected it; the register block reads it and
 * updates its slot state through the same table, under the same lock. The
 * memslot is the one at addr in the memory map.
 */
struct pc_dimm {
    char *id;               /* NULL for an anonymous device */
    char *path;             /* QOM path: /machine/peripheral/<id> */
    struct backend *backend;
    unsigned slot;
    uint64_t addr, size;
    uint32_t node;
    bool hotplugged;
    struct pc_dimm_slot_state hp;
};

/* device_add / -device properties of a pc-dimm, as given. */
struct pc_dimm_props {
    char *id;               /* NULL: anonymous */
    char *memdev;           /* required */
    bool has_slot, has_addr, has_node;
    uint32_t slot;
    uint64_t addr;
    uint32_t node;
};

/*
 * The properties device_add and -device take for a pc-dimm beyond id, as
 * device-list-properties reports them: QOM type and default (NULL: none).
 */
struct pc_dimm_prop_info {
    const char *name;
    const char *qom_type;
    const char *default_json;
};
extern const struct pc_dimm_prop_info pc_dimm_prop_infos[];   /* NULL-ended */

/*
 * Parses the flat property bag (everything but "driver"); accepts JSON types
 * (device_add) and strings (-device). Errors name the property and value.
 */
bool pc_dimm_props_parse(json_object *props, struct pc_dimm_props *out,
                         GError **err);
void pc_dimm_props_clear(struct pc_dimm_props *p);

struct pc_dimm_range {
    uint64_t addr, size;
    const char *id;         /* for error messages */
};

/* Where a DIMM can go: the window and what already occupies it. */
struct pc_dimm_space {
    uint64_t window_base, window_size;
    /* By address, not overlapping (the machine keeps them so). */
    const struct pc_dimm_range *used;
    unsigned nr_used;
    /*
     * The first nr_packed ranges follow each other from window_base with
     * no gap at all, so first fit need not look there (0: no such hint).
     */
    unsigned nr_packed;
};

/*
 * Checks an explicit address (aligned, inside the window, no overlap: a
 * binary search) or, when !has_addr, finds the lowest aligned free address
 * (first fit: one pass over the ranges, stopping at the first gap that
 * fits).
 */
bool pc_dimm_place(const struct pc_dimm_space *space, uint64_t size,
                   uint64_t align, bool has_addr, uint64_t addr,
                   uint64_t *out, GError **err);
