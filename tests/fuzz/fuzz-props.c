/*
 * Fuzz target: property parsing, the one parser behind -object, -device,
 * object-add and device_add: sizes and values (src/props.c), the two
 * spellings of a property bag (cli_props_parse: "type,key=value,..." or a
 * JSON object), memory backend properties (src/backend/backend_props.c)
 * and pc-dimm properties (src/devices/pc_dimm.c). The first input byte
 * chooses what the rest is:
 *   0  a size for props_parse_size() (default unit from the next byte)
 *   1  an -object argument, parsed as every backend type would be
 *   2  a -device argument, parsed as pc-dimm properties
 *   3  a JSON object, parsed as backend properties of every type and as
 *      pc-dimm properties (the QMP path: JSON types, not strings)
 * Checked: every refusal says why (HM_ERROR, non-empty message; size
 * messages start with "size '" as props.h promises), nothing leaks, and
 * what is accepted keeps the rules backend.h and pc_dimm.h state.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "backend/backend_internal.h"
#include "cli/cli.h"
#include "devices/pc_dimm.h"
#include "errors.h"
#include "fuzzvm.h"
#include "props.h"

static void check_refusal(GError *err, const char *what)
{
    if (!err || !err->message[0])
        fuzz_fail("%s refused without saying why", what);
}

static void fuzz_size(const char *text, uint8_t unit_byte)
{
    static const uint64_t units[] = { 0, 1, 1 << 10, 1 << 20, 1ULL << 30 };
    g_autoptr(GError) err = NULL;
    uint64_t v = 0;

    if (props_parse_size(text, units[unit_byte % G_N_ELEMENTS(units)], &v,
                         &err)) {
        if (err)
            fuzz_fail("props_parse_size accepted '%s' and set an error",
                      text);
        return;
    }
    check_refusal(err, "props_parse_size");
    if (!g_str_has_prefix(err->message, "size '"))
        fuzz_fail("size error does not start with \"size '\": %s",
                  err->message);
}

static void check_backend(enum backend_kind kind,
                          const struct backend_config *cfg)
{
    if (!cfg->has_size || !cfg->size)
        fuzz_fail("%s accepted without a size", backend_kind_name(kind));
    if (kind == BACKEND_FILE && (!cfg->mem_path || !cfg->mem_path[0]))
        fuzz_fail("memory-backend-file accepted without mem-path");
    if (!cfg->prealloc_threads ||
        cfg->prealloc_threads > BACKEND_MAX_PREALLOC_THREADS)
        fuzz_fail("%s accepted with %" PRIu64 " prealloc threads",
                  backend_kind_name(kind), cfg->prealloc_threads);
    if (cfg->prealloc && !cfg->reserve)
        fuzz_fail("%s accepted prealloc=on with reserve=off",
                  backend_kind_name(kind));
    if (cfg->hugetlbsize && !cfg->hugetlb)
        fuzz_fail("%s accepted hugetlbsize without hugetlb",
                  backend_kind_name(kind));
}

/* props: the bag without qom-type and id, as machine_objects.c passes it. */
static void fuzz_backend(json_object *bag)
{
    json_object *props = json_object_new_object();

    json_object_object_foreach(bag, key, v) {
        if (strcmp(key, "qom-type") && strcmp(key, "id"))
            json_object_object_add(props, key, json_object_get(v));
    }
    for (enum backend_kind k = BACKEND_RAM; k <= BACKEND_MEMFD; k++) {
        struct backend_config cfg = { 0 };
        g_autoptr(GError) err = NULL;

        if (backend_parse_props(k, props, &cfg, &err))
            check_backend(k, &cfg);
        else
            check_refusal(err, backend_kind_name(k));
        backend_config_clear(&cfg);
    }
    json_object_put(props);
}

static void fuzz_dimm(json_object *bag)
{
    struct pc_dimm_props p;
    g_autoptr(GError) err = NULL;

    if (pc_dimm_props_parse(bag, &p, &err)) {
        if (!p.memdev)
            fuzz_fail("pc-dimm accepted without memdev");
        if (p.id && !props_id_valid(p.id))
            fuzz_fail("pc-dimm accepted id '%s'", p.id);
        pc_dimm_props_clear(&p);
    } else {
        check_refusal(err, "pc-dimm");
    }
}

static void fuzz_keyval(const char *opt, const char *text,
                        const char *implied)
{
    g_autoptr(GError) err = NULL;
    json_object *bag = cli_props_parse(opt, text, implied, &err);

    if (!bag) {
        check_refusal(err, opt);
        return;
    }
    if (!json_object_is_type(bag, json_type_object))
        fuzz_fail("%s '%s' parsed into a non-object", opt, text);
    if (!strcmp(opt, "-object"))
        fuzz_backend(bag);
    else
        fuzz_dimm(bag);
    json_object_put(bag);
}

static void fuzz_json(const char *text, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *v = json_tokener_parse_ex(tok, text, (int)len);

    if (json_object_is_type(v, json_type_object)) {
        fuzz_backend(v);
        fuzz_dimm(v);
    }
    json_object_put(v);
    json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = NULL;

    if (size < 2)
        return 0;
    text = g_strndup((const char *)data + 2, size - 2);
    switch (data[0] % 4) {
    case 0: fuzz_size(text, data[1]); break;
    case 1: fuzz_keyval("-object", text, "qom-type"); break;
    case 2: fuzz_keyval("-device", text, "driver"); break;
    default: fuzz_json(text, strlen(text)); break;
    }
    return 0;
}
