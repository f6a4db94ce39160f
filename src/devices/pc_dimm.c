/* pc-dimm properties and placement in the device-memory window. */
#include "devices/pc_dimm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "props.h"


static bool prop_str(json_object *v, const char *name, char **out,
                     GError **err)
{
    if (!json_object_is_type(v, json_type_string)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Invalid parameter type for '%s', expected: string",
                    name);
        return false;
    }
    g_free(*out);
    *out = g_strdup(json_object_get_string(v));
    return true;
}

/* What parse_one() below accepts (QEMU's pc-dimm properties but "size",
 * which QEMU only reports). */
const struct pc_dimm_prop_info pc_dimm_prop_infos[] = {
    { "memdev", "link<memory-backend>", NULL },
    { "node", "uint32", "0" },
    { "addr", "uint64", "0" },
    { "slot", "int32", "-1" },
    { NULL },
};

static bool parse_one(struct pc_dimm_props *p, const char *key,
                      json_object *v, GError **err)
{
    uint64_t n;

    if (!strcmp(key, "id"))
        return prop_str(v, key, &p->id, err);
    if (!strcmp(key, "memdev"))
        return prop_str(v, key, &p->memdev, err);
    if (!strcmp(key, "slot") || !strcmp(key, "node")) {
        if (!props_uint(v, key, INT32_MAX, &n, err))
            return false;
        if (key[0] == 's')
            p->slot = (uint32_t)n, p->has_slot = true;
        else
            p->node = (uint32_t)n, p->has_node = true;
        return true;
    }
    if (!strcmp(key, "addr")) {
        p->has_addr = true;
        return props_uint(v, key, UINT64_MAX, &p->addr, err);
    }
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "Property 'pc-dimm.%s' not found", key);
    return false;
}

bool pc_dimm_props_parse(json_object *props, struct pc_dimm_props *out,
                         GError **err)
{
    *out = (struct pc_dimm_props){ 0 };
    json_object_object_foreach(props, key, v) {
        if (!strcmp(key, "driver"))
            continue;
        if (!parse_one(out, key, v, err))
            goto fail;
    }
    if (out->id && !props_check_id(out->id, err))
        goto fail;
    if (!out->memdev) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "'memdev' property is not set: a pc-dimm needs a memory "
                    "backend (object-add memory-backend-*)");
        goto fail;
    }
    return true;
fail:
    pc_dimm_props_clear(out);
    return false;
}

void pc_dimm_props_clear(struct pc_dimm_props *p)
{
    g_free(p->id);
    g_free(p->memdev);
    *p = (struct pc_dimm_props){ 0 };
}

/* The first range (by address) that ends after addr. */
static unsigned first_ending_after(const struct pc_dimm_space *s,
                                   uint64_t addr)
{
    unsigned lo = 0, hi = s->nr_used;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (s->used[mid].addr + s->used[mid].size <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct pc_dimm_range *overlap(const struct pc_dimm_space *s,
                                           uint64_t addr, uint64_t size)
{
    unsigned i = first_ending_after(s, addr);

    return i < s->nr_used && s->used[i].addr < addr + size ? &s->used[i]
                                                           : NULL;
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

static bool check_addr(const struct pc_dimm_space *s, uint64_t size,
                       uint64_t align, uint64_t addr, GError **err)
{
    uint64_t end = s->window_base + s->window_size;
    const struct pc_dimm_range *r;

    if (addr % align) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "address 0x%" PRIx64 " is not aligned to 0x%" PRIx64,
                    addr, align);
        return false;
    }
    if (addr < s->window_base || addr > end || size > end - addr) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "DIMM [0x%" PRIx64 ", +0x%" PRIx64 ") is outside the "
                    "device-memory window [0x%" PRIx64 ", 0x%" PRIx64 ")",
                    addr, size, s->window_base, end);
        return false;
    }
    r = overlap(s, addr, size);
    if (r) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "address range [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps "
                    "DIMM '%s' at [0x%" PRIx64 ", 0x%" PRIx64 ")", addr,
                    addr + size, r->id, r->addr, r->addr + r->size);
        return false;
    }
    return true;
}

bool pc_dimm_place(const struct pc_dimm_space *space, uint64_t size,
                   uint64_t align, bool has_addr, uint64_t addr,
                   uint64_t *out, GError **err)
{
    uint64_t end = space->window_base + space->window_size;
    uint64_t cand = align_up(space->window_base, align);

    if (has_addr) {
        if (!check_addr(space, size, align, addr, err))
            return false;
        *out = addr;
        return true;
    }
    /* First fit: the gap before each range in turn, then the tail. */
    if (space->nr_packed)
        cand = align_up(space->used[space->nr_packed - 1].addr +
                        space->used[space->nr_packed - 1].size, align);
    for (unsigned i = space->nr_packed; i < space->nr_used && cand <= end;
         i++) {
        const struct pc_dimm_range *r = &space->used[i];

        if (r->addr + r->size <= cand)
            continue;
        if (r->addr >= cand && size <= r->addr - cand)
            break;
        cand = align_up(r->addr + r->size, align);
    }
    if (cand <= end && size <= end - cand) {
        *out = cand;
        return true;
    }
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "no free range of 0x%" PRIx64 " bytes aligned to 0x%" PRIx64
                " in the device-memory window [0x%" PRIx64 ", 0x%" PRIx64
                ")", size, align, space->window_base, end);
    return false;
}
