/* The one property parser (src/props.c): every rule, with its message. */
#include <string.h>

#include "errors.h"
#include "props.h"

static json_object *js(const char *s)
{
    return json_object_new_string(s);
}

/* Fails with a message containing want. */
#define ASSERT_FAILS(call, want) do {                                   \
        g_assert_false(call);                                           \
        g_assert_error(err, HM_ERROR, HM_ERROR_INVALID);                \
        if (!strstr(err->message, want))                                \
            g_error("'%s' lacks '%s'", err->message, want);             \
        g_clear_error(&err);                                            \
    } while (0)

static void test_size(void)
{
    GError *err = NULL;
    uint64_t v;
    json_object *o;

    g_assert_true(props_parse_size("1536M", 1, &v, &err));
    g_assert_cmpuint(v, ==, 1536ULL << 20);
    g_assert_true(props_parse_size("2", 1ULL << 20, &v, &err));
    g_assert_cmpuint(v, ==, 2ULL << 20);
    g_assert_true(props_parse_size("1t", 1, &v, &err));
    g_assert_cmpuint(v, ==, 1ULL << 40);
    /* Fractions with a unit, as QEMU's qemu_strtosz() reads them. */
    g_assert_true(props_parse_size("1.5G", 1, &v, &err));
    g_assert_cmpuint(v, ==, 1536ULL << 20);
    g_assert_true(props_parse_size("0.5k", 1ULL << 20, &v, &err));
    g_assert_cmpuint(v, ==, 512);
    g_assert_true(props_parse_size("1.G", 1, &v, &err));
    g_assert_cmpuint(v, ==, 1ULL << 30);
    g_assert_true(props_parse_size("1.1G", 1, &v, &err));
    g_assert_cmpuint(v, ==, 1181116006);    /* 1.1 * 2^30, truncated */
    g_assert_true(props_parse_size("15.5E", 1, &v, &err));
    g_assert_cmpuint(v, ==, 31ULL << 59);
    ASSERT_FAILS(props_parse_size("1.5", 1ULL << 20, &v, &err),
                 "size '1.5' has a fractional part but no unit");
    ASSERT_FAILS(props_parse_size("1.5B", 1, &v, &err),
                 "size '1.5B' has a fractional part but the unit B");
    ASSERT_FAILS(props_parse_size("1.5Q", 1, &v, &err),
                 "size '1.5Q' has a fractional part but an unknown suffix");
    ASSERT_FAILS(props_parse_size(".5G", 1, &v, &err),
                 "size '.5G' does not start with a decimal digit");
    ASSERT_FAILS(props_parse_size("1.5GB", 1, &v, &err),
                 "size '1.5GB' has trailing characters 'B'");
    ASSERT_FAILS(props_parse_size("16.5E", 1, &v, &err),
                 "size '16.5E' does not fit in 64 bits");
    ASSERT_FAILS(props_parse_size("1,5G", 1, &v, &err),
                 "size '1,5G' has a decimal comma");
    ASSERT_FAILS(props_parse_size("0x10", 1, &v, &err),
                 "size '0x10' is hexadecimal");
    ASSERT_FAILS(props_parse_size("16E", 1, &v, &err),
                 "size '16E' does not fit in 64 bits");
    ASSERT_FAILS(props_parse_size("1Q", 1, &v, &err),
                 "size '1Q' has unknown suffix 'Q'");
    o = js("4K");
    g_assert_true(props_size(o, "size", &v, &err));
    g_assert_cmpuint(v, ==, 4096);
    json_object_put(o);
    o = json_object_new_int64(-4096);
    ASSERT_FAILS(props_size(o, "size", &v, &err),
                 "Parameter 'size' expects a non-negative number, got -4096");
    json_object_put(o);
    o = json_object_new_boolean(1);
    ASSERT_FAILS(props_size(o, "size", &v, &err),
                 "Invalid parameter type for 'size', expected: integer");
    json_object_put(o);
}

static void test_uint(void)
{
    GError *err = NULL;
    uint64_t v;
    json_object *o;

    o = js("0x40000000");
    g_assert_true(props_uint(o, "addr", UINT64_MAX, &v, &err));
    g_assert_cmphex(v, ==, 0x40000000);
    json_object_put(o);
    o = js("12");
    g_assert_true(props_uint(o, "slot", 255, &v, &err));
    g_assert_cmpuint(v, ==, 12);
    json_object_put(o);
    o = js("256");
    ASSERT_FAILS(props_uint(o, "slot", 255, &v, &err),
                 "Parameter 'slot' is out of range (0..255)");
    json_object_put(o);
    o = json_object_new_int64(-1);
    ASSERT_FAILS(props_uint(o, "slot", 255, &v, &err),
                 "Parameter 'slot' is out of range (0..255)");
    json_object_put(o);
    o = js("-1");
    ASSERT_FAILS(props_uint(o, "node", 255, &v, &err),
                 "Parameter 'node' expects a number (decimal or 0x "
                 "hexadecimal), got '-1'");
    json_object_put(o);
    o = js("3x");
    ASSERT_FAILS(props_uint(o, "node", 255, &v, &err), "got '3x'");
    json_object_put(o);
}

static void test_bool_string(void)
{
    static const char *const yes[] = { "on", "yes", "true", "y" };
    static const char *const no[] = { "off", "no", "false", "n" };
    GError *err = NULL;
    g_autofree char *str = NULL;
    bool b;
    json_object *o;

    for (unsigned i = 0; i < G_N_ELEMENTS(yes); i++) {
        o = js(yes[i]);
        g_assert_true(props_bool(o, "share", &b, &err) && b);
        json_object_put(o);
        o = js(no[i]);
        g_assert_true(props_bool(o, "share", &b, &err) && !b);
        json_object_put(o);
    }
    o = js("maybe");
    ASSERT_FAILS(props_bool(o, "share", &b, &err),
                 "Parameter 'share' expects 'on' or 'off', got 'maybe'");
    json_object_put(o);
    o = js("/dev/shm/x");
    g_assert_true(props_string(o, "mem-path", &str, &err));
    g_assert_cmpstr(str, ==, "/dev/shm/x");
    json_object_put(o);
    o = json_object_new_int(3);
    ASSERT_FAILS(props_string(o, "mem-path", &str, &err),
                 "Invalid parameter type for 'mem-path', expected: string");
    json_object_put(o);
}

static void test_id(void)
{
    GError *err = NULL;

    g_assert_true(props_id_valid("dimm-1.a_b"));
    g_assert_false(props_id_valid(""));
    g_assert_false(props_id_valid("-x"));
    g_assert_false(props_id_valid("x/y"));
    g_assert_false(props_id_valid(NULL));
    ASSERT_FAILS(props_check_id(NULL, &err), "Parameter 'id' is missing");
    ASSERT_FAILS(props_check_id("1a", &err),
                 "Parameter 'id' expects an identifier (a letter, then "
                 "letters, digits, '-', '.' or '_'), got '1a'");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/props/size", test_size);
    g_test_add_func("/props/uint", test_uint);
    g_test_add_func("/props/bool-string", test_bool_string);
    g_test_add_func("/props/id", test_id);
    return g_test_run();
}
