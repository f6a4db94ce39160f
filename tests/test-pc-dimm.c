/* pc-dimm properties and placement in the device-memory window. */
#include <string.h>
#include <glib.h>

#include "devices/pc_dimm.h"
#include "props.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define WIN (4 * GiB)

static void parse_ok(const char *json, struct pc_dimm_props *p)
{
    json_object *o = json_tokener_parse(json);
    g_autoptr(GError) err = NULL;

    g_assert_nonnull(o);
    if (!pc_dimm_props_parse(o, p, &err))
        g_error("%s: %s", json, err->message);
    json_object_put(o);
}

static void parse_err(const char *json, const char *needle)
{
    json_object *o = json_tokener_parse(json);
    g_autoptr(GError) err = NULL;
    struct pc_dimm_props p;

    g_assert_false(pc_dimm_props_parse(o, &p, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, needle))
        g_error("'%s' lacks '%s'", err->message, needle);
    g_assert_null(p.id);
    g_assert_null(p.memdev);
    json_object_put(o);
}

static void test_parse_json_types(void)
{
    struct pc_dimm_props p;

    parse_ok("{\"driver\": \"pc-dimm\", \"id\": \"d1\", \"memdev\": \"m1\", "
             "\"slot\": 3, \"addr\": 4294967296, \"node\": 1}", &p);
    g_assert_cmpstr(p.id, ==, "d1");
    g_assert_cmpstr(p.memdev, ==, "m1");
    g_assert_true(p.has_slot && p.slot == 3);
    g_assert_true(p.has_addr && p.addr == 4 * GiB);
    g_assert_true(p.has_node && p.node == 1);
    pc_dimm_props_clear(&p);
}

/* -device gives strings; addr may be hex as in QEMU. */
static void test_parse_strings(void)
{
    struct pc_dimm_props p;

    parse_ok("{\"driver\": \"pc-dimm\", \"memdev\": \"m1\", \"slot\": \"2\", "
             "\"addr\": \"0x140000000\"}", &p);
    g_assert_null(p.id);
    g_assert_true(p.has_slot && p.slot == 2);
    g_assert_true(p.has_addr && p.addr == 0x140000000ULL);
    g_assert_false(p.has_node);
    pc_dimm_props_clear(&p);
}

static void test_parse_errors(void)
{
    parse_err("{\"driver\": \"pc-dimm\"}", "'memdev' property is not set");
    parse_err("{\"memdev\": 5}", "'memdev', expected: string");
    parse_err("{\"memdev\": \"m\", \"size\": 5}", "pc-dimm.size");
    parse_err("{\"memdev\": \"m\", \"slot\": -1}", "'slot' is out of range");
    parse_err("{\"memdev\": \"m\", \"slot\": \"two\"}", "'two'");
    parse_err("{\"memdev\": \"m\", \"slot\": true}", "expected: integer");
    parse_err("{\"memdev\": \"m\", \"id\": \"1bad\"}", "identifier");
    parse_err("{\"memdev\": \"m\", \"id\": \"a b\"}", "identifier");
}

static void test_id_rules(void)
{
    g_assert_true(props_id_valid("dimm-1.a_b"));
    g_assert_false(props_id_valid(""));
    g_assert_false(props_id_valid("-x"));
    g_assert_false(props_id_valid("x/y"));
}

static const struct pc_dimm_range used[] = {
    { WIN, 256 * MiB, "a" },
    { WIN + 1 * GiB, 512 * MiB, "b" },
};

static const struct pc_dimm_space space = {
    .window_base = WIN, .window_size = 4 * GiB,
    .used = used, .nr_used = G_N_ELEMENTS(used),
};

static void test_first_fit(void)
{
    uint64_t addr;

    /* Fits in the gap after "a". */
    g_assert_true(pc_dimm_place(&space, 256 * MiB, 2 * MiB, false, 0, &addr,
                                NULL));
    g_assert_cmpuint(addr, ==, WIN + 256 * MiB);
    /* Too big for that gap (768 MiB), goes after "b". */
    g_assert_true(pc_dimm_place(&space, 1 * GiB, 2 * MiB, false, 0, &addr,
                                NULL));
    g_assert_cmpuint(addr, ==, WIN + 1536 * MiB);
    /* A 1 GiB-aligned DIMM skips to the next 1 GiB boundary. */
    g_assert_true(pc_dimm_place(&space, 1 * GiB, 1 * GiB, false, 0, &addr,
                                NULL));
    g_assert_cmpuint(addr, ==, WIN + 2 * GiB);
}

/* The packed-prefix hint changes where the search starts, not the answer. */
static void test_first_fit_packed(void)
{
    static const struct pc_dimm_range run[] = {
        { WIN, 256 * MiB, "a" },
        { WIN + 256 * MiB, 256 * MiB, "b" },
        { WIN + 1 * GiB, 512 * MiB, "c" },
    };
    struct pc_dimm_space sp = { .window_base = WIN, .window_size = 4 * GiB,
                                .used = run, .nr_used = G_N_ELEMENTS(run) };
    uint64_t size[] = { 256 * MiB, 512 * MiB, 1 * GiB };
    uint64_t want[] = { WIN + 512 * MiB, WIN + 512 * MiB, WIN + 1536 * MiB };

    for (unsigned packed = 0; packed <= 2; packed++) {
        sp.nr_packed = packed;
        for (unsigned i = 0; i < G_N_ELEMENTS(size); i++) {
            uint64_t addr;

            g_assert_true(pc_dimm_place(&sp, size[i], 2 * MiB, false, 0,
                                        &addr, NULL));
            g_assert_cmphex(addr, ==, want[i]);
        }
    }
}

static void test_full(void)
{
    g_autoptr(GError) err = NULL;
    uint64_t addr;

    g_assert_false(pc_dimm_place(&space, 3 * GiB, 2 * MiB, false, 0, &addr,
                                 &err));
    g_assert_nonnull(strstr(err->message, "no free range"));
}

static void place_err(uint64_t size, uint64_t at, const char *needle)
{
    g_autoptr(GError) err = NULL;
    uint64_t addr;

    g_assert_false(pc_dimm_place(&space, size, 2 * MiB, true, at, &addr,
                                 &err));
    if (!strstr(err->message, needle))
        g_error("'%s' lacks '%s'", err->message, needle);
}

static void test_explicit(void)
{
    uint64_t addr;

    g_assert_true(pc_dimm_place(&space, 256 * MiB, 2 * MiB, true,
                                WIN + 256 * MiB, &addr, NULL));
    g_assert_cmpuint(addr, ==, WIN + 256 * MiB);
    place_err(256 * MiB, WIN + 4096, "not aligned");
    place_err(256 * MiB, WIN - 256 * MiB, "outside");
    place_err(256 * MiB, WIN + 4 * GiB - 128 * MiB, "outside");
    place_err(256 * MiB, UINT64_MAX & ~(2 * MiB - 1), "outside");
    place_err(256 * MiB, WIN + 128 * MiB, "overlaps DIMM 'a'");
    place_err(1 * GiB, WIN + 768 * MiB, "overlaps DIMM 'b'");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pc-dimm/props/json-types", test_parse_json_types);
    g_test_add_func("/pc-dimm/props/strings", test_parse_strings);
    g_test_add_func("/pc-dimm/props/errors", test_parse_errors);
    g_test_add_func("/pc-dimm/props/id-rules", test_id_rules);
    g_test_add_func("/pc-dimm/place/first-fit", test_first_fit);
    g_test_add_func("/pc-dimm/place/first-fit-packed",
                    test_first_fit_packed);
    g_test_add_func("/pc-dimm/place/full", test_full);
    g_test_add_func("/pc-dimm/place/explicit", test_explicit);
    return g_test_run();
}
