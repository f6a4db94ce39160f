/*
 * AML builder: every construct against golden bytes from the reference
 * compiler. Each golden string is the AML iasl 20200925 (`iasl -on`, table
 * revision 2) produced for the ASL in the comment above it, split at token
 * boundaries for reading; a builder function makes the same thing with
 * src/acpi/aml.h.
 */
#include <string.h>
#include <sys/wait.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "acpi/aml.h"
#include "devices/memhp.h"

/* "5b81 10" -> bytes; spaces are for the reader. */
static GByteArray *hex_bytes(const char *hex)
{
    GByteArray *b = g_byte_array_new();

    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        g_assert_true(g_ascii_isxdigit(p[0]) && g_ascii_isxdigit(p[1]));
        uint8_t v = (uint8_t)(g_ascii_xdigit_value(p[0]) << 4 |
                              g_ascii_xdigit_value(p[1]));
        g_byte_array_append(b, &v, 1);
        p += 2;
    }
    return b;
}

static char *dump(const uint8_t *d, size_t len)
{
    GString *s = g_string_new(NULL);

    for (size_t i = 0; i < len; i++)
        g_string_append_printf(s, "%02x", d[i]);
    return g_string_free(s, FALSE);
}

/* Compares a's encoding with the golden hex, then frees a. */
static void check_hex(struct aml *a, const char *hex)
{
    GByteArray *want = hex_bytes(hex);
    size_t len;
    const uint8_t *got = aml_data(a, &len);

    if (len != want->len || memcmp(got, want->data, len)) {
        char *g = dump(got, len), *w = dump(want->data, want->len);

        g_test_message("got  %s\nwant %s", g, w);
        g_free(g);
        g_free(w);
        g_test_fail();
    }
    g_byte_array_unref(want);
    aml_free(a);
}

/* --- PkgLength (20.2.4) --- */

/* The length includes its own bytes, so totals 64 and 4096 cannot occur:
 * a body of 63 bytes needs a 2-byte PkgLength (total 65), and so on. */
static void test_pkglength_encode(void)
{
    static const struct { size_t body; const char *hex; } cases[] = {
        { 0, "01" },
        { 62, "3f" },                   /* total 63: last 1-byte length */
        { 63, "41 04" },                /* total 65 */
        { 4093, "4f ff" },              /* total 4095: last 2-byte */
        { 4094, "81 00 01" },           /* total 4097 */
        { 1048572, "8f ff ff" },        /* total 1048575: last 3-byte */
        { 1048573, "c1 00 00 01" },     /* total 1048577 */
        { 0x0FFFFFFB, "cf ff ff ff" },  /* total 0x0FFFFFFF: the maximum */
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GByteArray *want = hex_bytes(cases[i].hex);
        uint8_t out[4];
        size_t n = aml_pkglength_encode(cases[i].body, out);

        g_test_message("body %zu", cases[i].body);
        g_assert_cmpmem(out, n, want->data, want->len);
        g_byte_array_unref(want);
    }
}

static void test_pkglength_too_long(void)
{
    if (g_test_subprocess()) {
        uint8_t out[4];

        aml_pkglength_encode(0x0FFFFFFC, out);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*exceeds the PkgLength maximum*");
}

/*
 * Scope (\_SB) { Name (S000, "aaa...") ... } with `strings` names sharing
 * body_len - 5 bytes; iasl's encoding of the Scope opcode and PkgLength is
 * `head`. Only the head and the total length are compared, the rest is
 * covered by the small golden cases.
 */
static void check_big_scope(size_t body_len, unsigned strings,
                            const char *head, size_t total)
{
    struct aml *scope = aml_scope("\\_SB");
    size_t left = body_len - 5 - strings * 7;   /* Name S000 "" = 7 bytes */
    GByteArray *want = hex_bytes(head);
    const uint8_t *d;
    size_t len;

    for (unsigned i = 0; i < strings; i++) {
        size_t n = i + 1 < strings ? left / strings
                                   : left - (strings - 1) * (left / strings);
        char *s = g_strnfill(n, 'a');
        char *name = strings > 1 ? g_strdup_printf("S%03X", i)
                                 : g_strdup("S");

        aml_append(scope, aml_name_decl(name, aml_string("%s", s)));
        g_free(name);
        g_free(s);
    }
    d = aml_data(scope, &len);
    g_assert_cmpuint(len, ==, total);
    g_assert_cmpmem(d, want->len, want->data, want->len);
    g_byte_array_unref(want);
    aml_free(scope);
}

/* Buffer (n) {0x00, ...}: iasl's opcode, PkgLength and BufferSize. */
static void check_big_buffer(size_t n, const char *head)
{
    GByteArray *want = hex_bytes(head);
    struct aml *b = aml_buffer(n, NULL);
    const uint8_t *d;
    size_t len;

    d = aml_data(b, &len);
    g_assert_cmpmem(d, want->len, want->data, want->len);
    g_assert_cmpuint(len, ==, want->len + n);
    g_byte_array_unref(want);
    aml_free(b);
}

static void test_pkglength_1byte_boundary(void)
{
    /* Scope (\_SB) { Name (S, "a" x 50) }: body 62, total 63 */
    check_big_scope(62, 1, "10 3f 5c5f53425f", 64);
    /* ... "a" x 51: body 63, PkgLength 65 */
    check_big_scope(63, 1, "10 4104 5c5f53425f", 66);
    check_big_buffer(60, "11 3f 0a3c");     /* Buffer (60) {...} */
    check_big_buffer(61, "11 4104 0a3d");   /* Buffer (61) {...} */
}

static void test_pkglength_2byte_boundary(void)
{
    /* Scope (\_SB) { Name (S, "a" x 4081) }: body 4093, total 4095 */
    check_big_scope(4093, 1, "10 4fff 5c5f53425f", 4096);
    /* ... "a" x 4082: body 4094, PkgLength 4097 */
    check_big_scope(4094, 1, "10 810001 5c5f53425f", 4098);
    check_big_buffer(4090, "11 4fff 0bfa0f");       /* Buffer (4090) */
    check_big_buffer(4091, "11 810001 0bfb0f");     /* Buffer (4091) */
}

static void test_pkglength_3byte_boundary(void)
{
    /* Scope (\_SB) { Name (S000, "aaa...") x 256 }: body 1048572 */
    check_big_scope(1048572, 256, "10 8fffff 5c5f53425f", 1048576);
    check_big_scope(1048573, 256, "10 c1000001 5c5f53425f", 1048578);
}

/* --- Data objects --- */

/* Name (I0, v) for each v; the golden is iasl's bytes after "08 49305f5f" */
static void test_int_widths(void)
{
    static const struct { uint64_t v; const char *hex; } cases[] = {
        { 0, "00" },                                /* ZeroOp */
        { 1, "01" },                                /* OneOp */
        { UINT64_MAX, "ff" },                       /* OnesOp */
        { 2, "0a 02" },
        { 0xFF, "0a ff" },
        { 0x100, "0b 0001" },
        { 0xFFFF, "0b ffff" },
        { 0x10000, "0c 00000100" },
        { 0xFFFFFFFF, "0c ffffffff" },
        { 0x100000000, "0e 0000000001000000" },
        { 0xFFFFFFFFFFFFFFFE, "0e feffffffffffffff" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("0x%" G_GINT64_MODIFIER "x", cases[i].v);
        check_hex(aml_int(cases[i].v), cases[i].hex);
    }
}

static void test_eisaid(void)
{
    /* Name (_HID, EisaId ("PNP0C80")) and so on, without the Name */
    check_hex(aml_eisaid("PNP0C80"), "0c 41d00c80");
    check_hex(aml_eisaid("PNP0A06"), "0c 41d00a06");
    check_hex(aml_eisaid("PNP0000"), "0b 41d0");
}

/* A golden case: path, builder, and the golden hex. */
struct golden {
    const char *path;
    struct aml *(*build)(void);
    const char *hex;
};

static void run_golden(gconstpointer data)
{
    const struct golden *g = data;

    check_hex(g->build(), g->hex);
}

/* Name (S0, "") */
static const char str_empty_hex[] = "08 53305f5f 0d 00";
static struct aml *str_empty(void)
{
    return aml_name_decl("S0", aml_string("%s", ""));
}

/* Name (S1, "MHPC slot 12") */
static const char str_format_hex[] =
    "08 53315f5f 0d 4d48504320736c6f74203132 00";
static struct aml *str_format(void)
{
    return aml_name_decl("S1", aml_string("MHPC slot %u", 12));
}

/* Name (B0, Buffer () {}) */
static const char buf_empty_hex[] = "08 42305f5f 11 02 00";
static struct aml *buf_empty(void)
{
    return aml_name_decl("B0", aml_buffer(0, NULL));
}

/* Name (B1, Buffer (4) {0x01, 0x02, 0x03, 0x04}) */
static const char buf_data_hex[] = "08 42315f5f 11 07 0a04 01020304";
static struct aml *buf_data(void)
{
    static const uint8_t d[] = { 1, 2, 3, 4 };

    return aml_name_decl("B1", aml_buffer(sizeof(d), d));
}

/* Name (B2, Buffer (3) {0x00, 0x00, 0x00}) */
static const char buf_zeroed_hex[] = "08 42325f5f 11 06 0a03 000000";
static struct aml *buf_zeroed(void)
{
    return aml_name_decl("B2", aml_buffer(3, NULL));
}

/* Name (_S5, Package (2) {5, 0}) */
static const char pkg_s5_hex[] = "08 5f53355f 12 05 02 0a05 00";
static struct aml *pkg_s5(void)
{
    struct aml *p = aml_package(2);

    aml_append(p, aml_int(5));
    aml_append(p, aml_int(0));
    return aml_name_decl("_S5", p);
}

/* Name (PK, Package (3) {"a", Package (1) {0x1234}, Buffer (1) {7}}) */
static const char pkg_nested_hex[] =
    "08 504b5f5f 12 0f 03 0d6100 12 05 01 0b3412 11 03 01 07";
static struct aml *pkg_nested(void)
{
    struct aml *p = aml_package(3), *inner = aml_package(1);
    static const uint8_t seven = 7;

    aml_append(inner, aml_int(0x1234));
    aml_append(p, aml_string("a"));
    aml_append(p, inner);
    aml_append(p, aml_buffer(1, &seven));
    return aml_name_decl("PK", p);
}

/* --- Names and namespace blocks --- */

/* Scope (\) { Name (AB, 1) } */
static const char name_root_hex[] = "10 09 5c00 08 41425f5f 01";
static struct aml *name_root(void)
{
    struct aml *s = aml_scope("\\");

    aml_append(s, aml_name_decl("AB", aml_int(1)));
    return s;
}

/* Scope (\_SB) { } */
static const char name_root_seg_hex[] = "10 06 5c 5f53425f";
static struct aml *name_root_seg(void)
{
    return aml_scope("\\_SB");
}

/* Scope (\_SB.MHPC) { Name (X, 1) } */
static const char name_dual_hex[] =
    "10 11 5c 2e 5f53425f 4d485043 08 585f5f5f 01";
static struct aml *name_dual(void)
{
    struct aml *s = aml_scope("\\_SB.%s", "MHPC");

    aml_append(s, aml_name_decl("X", aml_int(1)));
    return s;
}

/* Scope (\_SB.MHPC.MSCN) { } */
static const char name_multi_hex[] =
    "10 10 5c 2f03 5f53425f 4d485043 4d53434e";
static struct aml *name_multi(void)
{
    return aml_scope("\\_SB.MHPC.MSCN");
}

/* Scope (\_SB.MHPC.MSCN) { Method (TST) { Store (^^^ABC, Local0)
 *                                         Store (^^X, Local1) } } */
static const char name_parent_hex[] =
    "10 28 5c 2f03 5f53425f 4d485043 4d53434e"
    " 14 17 5453545f 00 70 5e5e5e 4142435f 60 70 5e5e 585f5f5f 61";
static struct aml *name_parent(void)
{
    struct aml *s = aml_scope("\\_SB.MHPC.MSCN");
    struct aml *m = aml_method("TST", 0, false);

    aml_append(m, aml_store(aml_name("^^^ABC"), aml_local(0)));
    aml_append(m, aml_store(aml_name("^^X"), aml_local(1)));
    aml_append(s, m);
    return s;
}

/* Device (\_SB.MHPC) { Name (_HID, "PNP0A06")
 *                      Name (_UID, "Memory hotplug resources") } */
static const char device_hex[] =
    "5b82 38 5c 2e 5f53425f 4d485043"
    " 08 5f484944 0d 504e5030413036 00"
    " 08 5f554944 0d 4d656d6f727920686f74706c7567207265736f7572636573 00";
static struct aml *device(void)
{
    struct aml *d = aml_device("\\_SB.MHPC");

    aml_append(d, aml_name_decl("_HID", aml_string("PNP0A06")));
    aml_append(d, aml_name_decl("_UID",
                                aml_string("Memory hotplug resources")));
    return d;
}

/* Method (MSCN, 0, NotSerialized) { } */
static const char method_plain_hex[] = "14 06 4d53434e 00";
static struct aml *method_plain(void)
{
    return aml_method("MSCN", 0, false);
}

/* Method (MOST, 4, Serialized) { Return (Arg3) } */
static const char method_serialized_hex[] = "14 08 4d4f5354 0c a4 6b";
static struct aml *method_serialized(void)
{
    struct aml *m = aml_method("MOST", 4, true);

    aml_append(m, aml_return(aml_arg(3)));
    return m;
}

/* Method (M7, 7, NotSerialized) { Return (Arg6) } */
static const char method_seven_hex[] = "14 08 4d375f5f 07 a4 6e";
static struct aml *method_seven(void)
{
    struct aml *m = aml_method("M7", 7, false);

    aml_append(m, aml_return(aml_arg(6)));
    return m;
}

/* Mutex (MLCK, 0) */
static const char mutex0_hex[] = "5b01 4d4c434b 00";
static struct aml *mutex0(void)
{
    return aml_mutex("MLCK", 0);
}

/* Mutex (MLK2, 15) */
static const char mutex15_hex[] = "5b01 4d4c4b32 0f";
static struct aml *mutex15(void)
{
    return aml_mutex("MLK2", 15);
}

/* OperationRegion (MHPR, SystemIO, 0x0A00, 0x18) */
static const char opregion_io_hex[] = "5b80 4d485052 01 0b000a 0a18";
static struct aml *opregion_io(void)
{
    return aml_operation_region("MHPR", AML_SYSTEM_IO, aml_int(0x0A00),
                                aml_int(0x18));
}

/* OperationRegion (GEDR, SystemMemory, 0xFED00000, 0x400) */
static const char opregion_mem_hex[] =
    "5b80 47454452 00 0c0000d0fe 0b0004";
static struct aml *opregion_mem(void)
{
    return aml_operation_region("GEDR", AML_SYSTEM_MEMORY,
                                aml_int(0xFED00000), aml_int(0x400));
}

/* --- Fields (20.2.5.2) --- */

/* Field (MHPR, DWordAcc, NoLock, Preserve) { MRBL, 32, MRBH, 32 } */
static const char field_dword_hex[] =
    "5b81 10 4d485052 03 4d52424c 20 4d524248 20";
static struct aml *field_dword(void)
{
    struct aml *f = aml_field("MHPR", AML_DWORD_ACC, AML_NOLOCK,
                              AML_PRESERVE);

    aml_append(f, aml_named_field("MRBL", 32));
    aml_append(f, aml_named_field("MRBH", 32));
    return f;
}

/* Field (MHPR, AnyAcc, Lock, WriteAsOnes) { MES, 1 } */
static const char field_lock_ones_hex[] = "5b81 0b 4d485052 30 4d45535f 01";
static struct aml *field_lock_ones(void)
{
    struct aml *f = aml_field("MHPR", AML_ANY_ACC, AML_LOCK,
                              AML_WRITE_AS_ONES);

    aml_append(f, aml_named_field("MES", 1));
    return f;
}

/* Field (MHPR, ByteAcc, NoLock, WriteAsZeros) { MINS, 8, , 7, MRMV, 1 } */
static const char field_reserved_hex[] =
    "5b81 12 4d485052 41 4d494e53 08 00 07 4d524d56 01";
static struct aml *field_reserved(void)
{
    struct aml *f = aml_field("MHPR", AML_BYTE_ACC, AML_NOLOCK,
                              AML_WRITE_AS_ZEROS);

    aml_append(f, aml_named_field("MINS", 8));
    aml_append(f, aml_reserved_field(7));
    aml_append(f, aml_named_field("MRMV", 1));
    return f;
}

/* Field (MHPR, WordAcc, NoLock, Preserve) { MW, 16 } */
static const char field_word_hex[] = "5b81 0b 4d485052 02 4d575f5f 10";
static struct aml *field_word(void)
{
    struct aml *f = aml_field("MHPR", AML_WORD_ACC, AML_NOLOCK,
                              AML_PRESERVE);

    aml_append(f, aml_named_field("MW", 16));
    return f;
}

/* Field (MEMR, QWordAcc, NoLock, Preserve) { MQ, 64 }: 64 bits take a
 * 2-byte PkgLength-style count */
static const char field_qword_hex[] = "5b81 0c 4d454d52 04 4d515f5f 4004";
static struct aml *field_qword(void)
{
    struct aml *f = aml_field("MEMR", AML_QWORD_ACC, AML_NOLOCK,
                              AML_PRESERVE);

    aml_append(f, aml_named_field("MQ", 64));
    return f;
}

/* Field (MEMR, BufferAcc, NoLock, Preserve) { MB, 4096 } */
static const char field_buffer_hex[] = "5b81 0d 4d454d52 05 4d425f5f 800001";
static struct aml *field_buffer(void)
{
    struct aml *f = aml_field("MEMR", AML_BUFFER_ACC, AML_NOLOCK,
                              AML_PRESERVE);

    aml_append(f, aml_named_field("MB", 4096));
    return f;
}

/* Field (MHPR, DWordAcc, NoLock, Preserve) { MRBL, 32, Offset (4),
 *     Offset (12), MPX, 32, , 1, MES, 1, Offset (20), MSEL, 32 }
 * Offset (4) is where the field already is: iasl emits nothing for it. */
static const char field_offset_hex[] =
    "5b81 21 4d485052 03 4d52424c 20 00 4004 4d50585f 20 00 01"
    " 4d45535f 01 00 1e 4d53454c 20";
static struct aml *field_offset(void)
{
    struct aml *f = aml_field("MHPR", AML_DWORD_ACC, AML_NOLOCK,
                              AML_PRESERVE);

    aml_append(f, aml_named_field("MRBL", 32));
    aml_append(f, aml_field_offset(4));
    aml_append(f, aml_field_offset(12));
    aml_append(f, aml_named_field("MPX", 32));
    aml_append(f, aml_reserved_field(1));
    aml_append(f, aml_named_field("MES", 1));
    aml_append(f, aml_field_offset(20));
    aml_append(f, aml_named_field("MSEL", 32));
    return f;
}

/* Method (TST, 1) { CreateDWordField (Arg0, 0x04, DW01)
 *     CreateQWordField (Arg0, 0x0E, MINV) Return (DW01) } */
static const char create_field_hex[] =
    "14 1b 5453545f 01 8a 68 0a04 44573031 8f 68 0a0e 4d494e56"
    " a4 44573031";
static struct aml *create_field(void)
{
    struct aml *m = aml_method("TST", 1, false);

    aml_append(m, aml_create_dword_field(aml_arg(0), aml_int(4), "DW01"));
    aml_append(m, aml_create_qword_field(aml_arg(0), aml_int(0x0E),
                                         "MINV"));
    aml_append(m, aml_return(aml_name("DW01")));
    return m;
}

/* --- Statements and expressions --- */

/* Method (TST, 1) { If (LEqual (Arg0, 1)) { Return (One) }
 *     Else { Return (Zero) } } */
static const char if_else_hex[] =
    "14 11 5453545f 01 a0 06 93 68 01 a4 01 a1 03 a4 00";
static struct aml *if_else(void)
{
    struct aml *m = aml_method("TST", 1, false);
    struct aml *i = aml_if(aml_equal(aml_arg(0), aml_int(1)));
    struct aml *e = aml_else();

    aml_append(i, aml_return(aml_int(1)));
    aml_append(e, aml_return(aml_int(0)));
    aml_append(m, i);
    aml_append(m, e);
    return m;
}

/* Method (TST, 1) { Store (Zero, Local0) While (LLess (Local0, Arg0)) {
 *     Increment (Local0) If (LGreater (Local0, 0x10)) { Break } }
 *     Return (Local0) } */
static const char while_break_hex[] =
    "14 19 5453545f 01 70 00 60 a2 0d 95 60 68 75 60"
    " a0 06 94 60 0a10 a5 a4 60";
static struct aml *while_break(void)
{
    struct aml *m = aml_method("TST", 1, false);
    struct aml *w = aml_while(aml_lless(aml_local(0), aml_arg(0)));
    struct aml *i = aml_if(aml_lgreater(aml_local(0), aml_int(0x10)));

    aml_append(m, aml_store(aml_int(0), aml_local(0)));
    aml_append(w, aml_increment(aml_local(0)));
    aml_append(i, aml_break());
    aml_append(w, i);
    aml_append(m, w);
    aml_append(m, aml_return(aml_local(0)));
    return m;
}

/* Method (TST, 2) { Store (Add (Arg0, Arg1), Local0)
 *     Add (Arg0, 1, Local1) Subtract (Arg0, Arg1, Local2)
 *     Multiply (Local0, 0x30, Local3) And (Arg0, 0xFFFFFFFF, Local4)
 *     Or (Local4, 0x100000000, Local5)
 *     Return (Subtract (Local5, Local1)) } */
static const char arith_hex[] =
    "14 32 5453545f 02 70 72 68 69 00 60 72 68 01 61 74 68 69 62"
    " 77 60 0a30 63 7b 68 0cffffffff 64 7d 64 0e0000000001000000 65"
    " a4 74 65 61 00";
static struct aml *arith(void)
{
    struct aml *m = aml_method("TST", 2, false);

    aml_append(m, aml_store(aml_add(aml_arg(0), aml_arg(1), NULL),
                            aml_local(0)));
    aml_append(m, aml_add(aml_arg(0), aml_int(1), aml_local(1)));
    aml_append(m, aml_subtract(aml_arg(0), aml_arg(1), aml_local(2)));
    aml_append(m, aml_multiply(aml_local(0), aml_int(0x30), aml_local(3)));
    aml_append(m, aml_and(aml_arg(0), aml_int(0xFFFFFFFF), aml_local(4)));
    aml_append(m, aml_or(aml_local(4), aml_int(0x100000000),
                         aml_local(5)));
    aml_append(m, aml_return(aml_subtract(aml_local(5), aml_local(1),
                                          NULL)));
    return m;
}

/* Method (TST, 1) { Store (ShiftLeft (Arg0, 4), Local0)
 *     ShiftRight (Arg0, 32, Local1) Decrement (Local1)
 *     Return (Or (Local0, Local1)) } */
static const char shift_hex[] =
    "14 19 5453545f 01 70 79 68 0a04 00 60 7a 68 0a20 61 76 61"
    " a4 7d 60 61 00";
static struct aml *shift(void)
{
    struct aml *m = aml_method("TST", 1, false);

    aml_append(m, aml_store(aml_shiftleft(aml_arg(0), aml_int(4)),
                            aml_local(0)));
    aml_append(m, aml_shiftright(aml_arg(0), aml_int(32), aml_local(1)));
    aml_append(m, aml_decrement(aml_local(1)));
    aml_append(m, aml_return(aml_or(aml_local(0), aml_local(1), NULL)));
    return m;
}

/* Method (TST, 2) { Return (LOr (LAnd (LNot (Arg0), LGreater (Arg1, 2)),
 *     LLess (Arg0, Arg1))) } */
static const char logic_hex[] =
    "14 12 5453545f 02 a4 91 90 92 68 94 69 0a02 95 68 69";
static struct aml *logic(void)
{
    struct aml *m = aml_method("TST", 2, false);

    aml_append(m, aml_return(aml_lor(
        aml_land(aml_lnot(aml_arg(0)), aml_lgreater(aml_arg(1), aml_int(2))),
        aml_lless(aml_arg(0), aml_arg(1)))));
    return m;
}

/* Method (TST, 1) { ToInteger (Arg0, Local0)
 *     Store (DerefOf (Index (Arg0, 1)), Local1)
 *     Store (SizeOf (Arg0), Local2) Return (ToInteger (Local2)) } */
static const char conversion_hex[] =
    "14 18 5453545f 01 99 68 60 70 83 88 68 01 00 61 70 87 68 62"
    " a4 99 62 00";
static struct aml *conversion(void)
{
    struct aml *m = aml_method("TST", 1, false);

    aml_append(m, aml_to_integer(aml_arg(0), aml_local(0)));
    aml_append(m, aml_store(aml_derefof(aml_index(aml_arg(0), aml_int(1))),
                            aml_local(1)));
    aml_append(m, aml_store(aml_sizeof(aml_arg(0)), aml_local(2)));
    aml_append(m, aml_return(aml_to_integer(aml_local(2), NULL)));
    return m;
}

/* Method (TST, 1) { Notify (\_SB.MHPC, 0x80) Notify (\_SB.MHPC, Arg0) } */
static const char notify_hex[] =
    "14 1f 5453545f 01 86 5c2e5f53425f4d485043 0a80"
    " 86 5c2e5f53425f4d485043 68";
static struct aml *notify(void)
{
    struct aml *m = aml_method("TST", 1, false);

    aml_append(m, aml_notify(aml_name("\\_SB.MHPC"), aml_int(0x80)));
    aml_append(m, aml_notify(aml_name("\\_SB.MHPC"), aml_arg(0)));
    return m;
}

/* Method (TST) { Acquire (MLCK, 0xFFFF) Sleep (100) Release (MLCK)
 *     Acquire (MLCK, 0) } */
static const char mutex_ops_hex[] =
    "14 20 5453545f 00 5b23 4d4c434b ffff 5b22 0a64 5b27 4d4c434b"
    " 5b23 4d4c434b 0000";
static struct aml *mutex_ops(void)
{
    struct aml *m = aml_method("TST", 0, false);

    aml_append(m, aml_acquire(aml_name("MLCK"), 0xFFFF));
    aml_append(m, aml_sleep(100));
    aml_append(m, aml_release(aml_name("MLCK")));
    aml_append(m, aml_acquire(aml_name("MLCK"), 0));
    return m;
}

/* Method (TST, 1) { MSCN () MOST (Arg0, 0x80, 0x0A00, "x") } */
static const char call_hex[] =
    "14 17 5453545f 01 4d53434e 4d4f5354 68 0a80 0b000a 0d7800";
static struct aml *call(void)
{
    struct aml *m = aml_method("TST", 1, false);

    aml_append(m, aml_call("MSCN", NULL));
    aml_append(m, aml_call("MOST", aml_arg(0), aml_int(0x80),
                           aml_int(0x0A00), aml_string("x"), NULL));
    return m;
}

/* --- Resource templates (6.4) --- */

/* Name (RT0, ResourceTemplate () { }) */
static const char res_empty_hex[] = "08 5254305f 11 05 0a02 7900";
static struct aml *res_empty(void)
{
    return aml_name_decl("RT0", aml_resource_template());
}

/* Name (_CRS, ResourceTemplate () {
 *     IO (Decode16, 0x0A00, 0x0A00, 0x01, 0x18) }) */
static const char res_io_hex[] =
    "08 5f435253 11 0d 0a0a 47 01 000a 000a 01 18 7900";
static struct aml *res_io(void)
{
    struct aml *rt = aml_resource_template();

    aml_append(rt, aml_io(0x0A00, 0x0A00, 0x01, 0x18));
    return aml_name_decl("_CRS", rt);
}

/* Name (_CRS, ResourceTemplate () {
 *     Memory32Fixed (ReadWrite, 0xFED00000, 0x00000400)
 *     Memory32Fixed (ReadOnly, 0xFEE00000, 0x00001000) }) */
static const char res_mem32_hex[] =
    "08 5f435253 11 1d 0a1a 86 0900 01 0000d0fe 00040000"
    " 86 0900 00 0000e0fe 00100000 7900";
static struct aml *res_mem32(void)
{
    struct aml *rt = aml_resource_template();

    aml_append(rt, aml_memory32_fixed(0xFED00000, 0x400, true));
    aml_append(rt, aml_memory32_fixed(0xFEE00000, 0x1000, false));
    return aml_name_decl("_CRS", rt);
}

/* Name (_CRS, ResourceTemplate () {
 *     DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
 *         Cacheable, ReadWrite, 0x0, 0xC0000000, 0xFEBFFFFF, 0x0, 0x3EC00000)
 *     DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
 *         NonCacheable, ReadOnly, 0x0, 0xA0000, 0xBFFFF, 0x0, 0x20000) }) */
static const char res_dword_hex[] =
    "08 5f435253 11 39 0a36"
    " 87 1700 00 0c 03 00000000 000000c0 ffffbffe 00000000 0000c03e"
    " 87 1700 00 0c 00 00000000 00000a00 ffff0b00 00000000 00000200"
    " 7900";
static struct aml *res_dword(void)
{
    struct aml *rt = aml_resource_template();

    aml_append(rt, aml_dword_memory(0xC0000000, 0xFEBFFFFF, 0x3EC00000,
                                    true, true));
    aml_append(rt, aml_dword_memory(0xA0000, 0xBFFFF, 0x20000, false,
                                    false));
    return aml_name_decl("_CRS", rt);
}

/* Name (_CRS, ResourceTemplate () {
 *     QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
 *         Cacheable, ReadWrite, 0x0, 0x100000000, 0x17FFFFFFF, 0x0,
 *         0x80000000) }) */
static const char res_qword_hex[] =
    "08 5f435253 11 33 0a30 8a 2b00 00 0c 03 0000000000000000"
    " 0000000001000000 ffffff7f01000000 0000000000000000 0000008000000000"
    " 7900";
static struct aml *res_qword(void)
{
    struct aml *rt = aml_resource_template();

    aml_append(rt, aml_qword_memory(0x100000000, 0x17FFFFFFF, 0x80000000,
                                    true, true));
    return aml_name_decl("_CRS", rt);
}

/* Name (_CRS, ResourceTemplate () {
 *     Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, ) { 9 }
 *     Interrupt (ResourceConsumer, Level, ActiveLow, Shared, ,, ) { 5, 7 } }) */
static const char res_irq_hex[] =
    "08 5f435253 11 1b 0a18 89 0600 03 01 09000000"
    " 89 0a00 0d 02 05000000 07000000 7900";
static struct aml *res_irq(void)
{
    static const uint32_t one[] = { 9 }, two[] = { 5, 7 };
    struct aml *rt = aml_resource_template();

    aml_append(rt, aml_interrupt(true, false, false, one, 1));
    aml_append(rt, aml_interrupt(false, true, true, two, 2));
    return aml_name_decl("_CRS", rt);
}

#define GOLDEN(path, fn) { path, fn, fn##_hex }
static const struct golden goldens[] = {
    GOLDEN("/aml/string/empty", str_empty),
    GOLDEN("/aml/string/format", str_format),
    GOLDEN("/aml/buffer/empty", buf_empty),
    GOLDEN("/aml/buffer/data", buf_data),
    GOLDEN("/aml/buffer/zeroed", buf_zeroed),
    GOLDEN("/aml/package/s5", pkg_s5),
    GOLDEN("/aml/package/nested", pkg_nested),
    GOLDEN("/aml/name/root", name_root),
    GOLDEN("/aml/name/root-segment", name_root_seg),
    GOLDEN("/aml/name/dual", name_dual),
    GOLDEN("/aml/name/multi", name_multi),
    GOLDEN("/aml/name/parent", name_parent),
    GOLDEN("/aml/device/hid-uid", device),
    GOLDEN("/aml/method/plain", method_plain),
    GOLDEN("/aml/method/serialized", method_serialized),
    GOLDEN("/aml/method/seven-args", method_seven),
    GOLDEN("/aml/mutex/level-0", mutex0),
    GOLDEN("/aml/mutex/level-15", mutex15),
    GOLDEN("/aml/opregion/system-io", opregion_io),
    GOLDEN("/aml/opregion/system-memory", opregion_mem),
    GOLDEN("/aml/field/dword-acc", field_dword),
    GOLDEN("/aml/field/lock-write-as-ones", field_lock_ones),
    GOLDEN("/aml/field/reserved-write-as-zeros", field_reserved),
    GOLDEN("/aml/field/word-acc", field_word),
    GOLDEN("/aml/field/qword-acc", field_qword),
    GOLDEN("/aml/field/buffer-acc", field_buffer),
    GOLDEN("/aml/field/offset", field_offset),
    GOLDEN("/aml/create-field/dword-qword", create_field),
    GOLDEN("/aml/statement/if-else", if_else),
    GOLDEN("/aml/statement/while-break", while_break),
    GOLDEN("/aml/statement/notify", notify),
    GOLDEN("/aml/statement/acquire-sleep-release", mutex_ops),
    GOLDEN("/aml/statement/call", call),
    GOLDEN("/aml/expr/arithmetic", arith),
    GOLDEN("/aml/expr/shift-inc-dec", shift),
    GOLDEN("/aml/expr/logic", logic),
    GOLDEN("/aml/expr/conversion-index", conversion),
    GOLDEN("/aml/resource/empty", res_empty),
    GOLDEN("/aml/resource/io", res_io),
    GOLDEN("/aml/resource/memory32-fixed", res_mem32),
    GOLDEN("/aml/resource/dword-memory", res_dword),
    GOLDEN("/aml/resource/qword-memory", res_qword),
    GOLDEN("/aml/resource/interrupt", res_irq),
};

/* --- Builder behaviour --- */

/* aml_data() caches the encoding; a later append must be reflected. */
static void test_data_after_append(void)
{
    struct aml *m = aml_method("MSCN", 0, false);
    size_t len;

    aml_data(m, &len);
    g_assert_cmpuint(len, ==, 7);
    aml_append(m, aml_return(aml_arg(3)));
    check_hex(m, "14 08 4d53434e 00 a4 6b");
}

/* A sequence has no opcode: its children are simply joined. */
static void test_sequence(void)
{
    struct aml *s = aml_sequence();

    aml_append(s, aml_int(1));
    aml_append(s, aml_name("\\_SB.AB"));
    aml_append(s, aml_local(7));
    check_hex(s, "01 5c2e5f53425f41425f5f 67");
}

static void test_field_offset_backwards(void)
{
    if (g_test_subprocess()) {
        struct aml *f = aml_field("MHPR", AML_DWORD_ACC, AML_NOLOCK,
                                  AML_PRESERVE);

        aml_append(f, aml_named_field("MRBL", 64));
        aml_append(f, aml_field_offset(4));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*Offset(0x4) is behind*byte 0x8 bit 0*");
}

/* Each one breaks the NameSeg rule (20.2.2) or the NameString grammar. */
static const char *const bad_names[] = {
    "_SB.1ABC", "abcd", "ABCDE", "\\_SB..X", "A-B", "\\^ABC",
};

static void test_name_invalid(gconstpointer data)
{
    if (g_test_subprocess()) {
        aml_free(aml_name("%s", (const char *)data));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*is not 1-4 characters of A-Z, 0-9 and _*");
}

/* --- A DSDT-like table through the reference disassembler --- */

/*
 * Scope (\_SB) { Device (MHPC) {...} Device (GED) {...} } Name (_S5, ...):
 * the memory hot-plug controller exactly as memhp_build_aml() builds it for
 * the machine, with a GED that calls its scan method.
 */
static struct aml *dsdt_body(void)
{
    static const uint32_t ged_irq = 9;
    struct aml *body = aml_sequence(), *sb = aml_scope("\\_SB");
    struct aml *ged = aml_device("GED");
    struct aml *crs = aml_resource_template(), *evt;
    struct aml *s5 = aml_package(2);

    memhp_build_aml(sb, 2);
    aml_append(ged, aml_name_decl("_HID", aml_string("ACPI0013")));
    aml_append(crs, aml_interrupt(true, false, false, &ged_irq, 1));
    aml_append(ged, aml_name_decl("_CRS", crs));
    evt = aml_method("_EVT", 1, true);
    aml_append(evt, aml_call(MEMHP_SCAN_METHOD, NULL));
    aml_append(ged, evt);
    aml_append(sb, ged);
    aml_append(body, sb);
    aml_append(s5, aml_int(5));
    aml_append(s5, aml_int(0));
    aml_append(body, aml_name_decl("_S5", s5));
    return body;
}

/* The 36-byte system description table header (ACPI 6.5, 5.2.6). */
static GByteArray *wrap_table(const char *sig, const uint8_t *body,
                              size_t len)
{
    GByteArray *t = g_byte_array_new();
    uint32_t total = GUINT32_TO_LE((uint32_t)(36 + len)), one = 1;
    uint8_t rev = 2, sum = 0;

    one = GUINT32_TO_LE(one);
    g_byte_array_append(t, (const uint8_t *)sig, 4);        /* Signature */
    g_byte_array_append(t, (const uint8_t *)&total, 4);     /* Length */
    g_byte_array_append(t, &rev, 1);                        /* Revision */
    g_byte_array_append(t, &sum, 1);                        /* Checksum */
    g_byte_array_append(t, (const uint8_t *)"HOTMEM", 6);   /* OEMID */
    g_byte_array_append(t, (const uint8_t *)"HOTMEMVM", 8); /* OEM Table ID */
    g_byte_array_append(t, (const uint8_t *)&one, 4);       /* OEM Revision */
    g_byte_array_append(t, (const uint8_t *)"HMEM", 4);     /* Creator ID */
    g_byte_array_append(t, (const uint8_t *)&one, 4);       /* Creator Rev. */
    g_byte_array_append(t, body, len);
    for (guint i = 0; i < t->len; i++)
        sum = (uint8_t)(sum + t->data[i]);
    t->data[9] = (uint8_t)-sum;     /* the whole table sums to zero */
    return t;
}

/* Runs argv in dir; returns its combined output, status in *status. */
static char *run_tool(const char *dir, char **argv, int *status)
{
    char *out = NULL, *err = NULL, *all;
    GError *error = NULL;

    g_assert_true(g_spawn_sync(dir, argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                               NULL, &out, &err, status, &error));
    g_assert_no_error(error);
    all = g_strconcat(out, err, NULL);
    g_free(out);
    g_free(err);
    return all;
}

/*
 * What iasl read back from memhp_build_aml()'s bytes: the controller with
 * its register block, lock and methods, and per slot a PNP0C80 device
 * whose _CRS, _STA, _PXM, _OST and _EJ0 call the controller's methods.
 */
static void assert_memhp_asl(const char *dsl_path, unsigned slots)
{
    static const char *const want[] = {
        "Device (MHPC)", "Name (_HID, EisaId (\"PNP0A06\")",
        "IO (Decode16,", "0x0A00,", "0x18,",
        "OperationRegion (HPMR, SystemIO, 0x0A00, 0x18)",
        "Mutex (MLCK, 0x00)", "Method (MSCN, 0, Serialized)",
        "Method (MCRS, 1, Serialized)", "Method (MEJ0, 2, Serialized)",
        "Method (MOST, 3, Serialized)", "Method (MNTF, 2, NotSerialized)",
        "\\_SB.MHPC.MSCN ()",
    };
    g_autofree char *asl = NULL;

    g_assert_true(g_file_get_contents(dsl_path, &asl, NULL, NULL));
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        if (!strstr(asl, want[i]))
            g_error("the disassembly lacks '%s':\n%s", want[i], asl);
    }
    for (unsigned i = 0; i < slots; i++) {
        /* iasl writes the integers 0 and 1 as Zero and One. */
        g_autofree char *n = i < 2 ? g_strdup(i ? "One" : "Zero")
                                   : g_strdup_printf("0x%02X", i);
        g_autofree char *dev = g_strdup_printf("Device (MP%02X)", i);
        g_autofree char *ej0 = g_strdup_printf("MEJ0 (%s, Arg0)", n);
        g_autofree char *ost = g_strdup_printf("MOST (%s, Arg0, Arg1)", n);
        const char *d = strstr(asl, dev);

        if (!d || !strstr(d, "EisaId (\"PNP0C80\")") || !strstr(d, ej0) ||
            !strstr(d, ost))
            g_error("slot %u's device is not as expected:\n%s", i, asl);
    }
}

static void test_iasl_disassemble(void)
{
    char *iasl = g_find_program_in_path("iasl");
    char *dir, *file, *output;
    char *argv[] = { "iasl", "-d", "dsdt.aml", NULL };
    struct aml *body;
    GByteArray *table;
    const uint8_t *d;
    size_t len;
    int status;

    if (!iasl) {
        g_test_skip("iasl not found (Debian package acpica-tools)");
        return;
    }
    body = dsdt_body();
    d = aml_data(body, &len);
    table = wrap_table("DSDT", d, len);
    dir = g_dir_make_tmp("test-aml-XXXXXX", NULL);
    g_assert_nonnull(dir);
    file = g_build_filename(dir, "dsdt.aml", NULL);
    g_assert_true(g_file_set_contents(file, (const char *)table->data,
                                      table->len, NULL));
    output = run_tool(dir, argv, &status);
    g_test_message("%s", output);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    g_assert_null(strstr(output, "Error"));
    g_free(output);
    g_unlink(file);
    g_free(file);
    file = g_build_filename(dir, "dsdt.dsl", NULL);
    assert_memhp_asl(file, 2);
    g_unlink(file);
    g_rmdir(dir);
    g_free(file);
    g_free(dir);
    g_byte_array_unref(table);
    aml_free(body);
    g_free(iasl);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/aml/pkglength/encode", test_pkglength_encode);
    g_test_add_func("/aml/pkglength/too-long", test_pkglength_too_long);
    g_test_add_func("/aml/pkglength/1-byte-boundary",
                    test_pkglength_1byte_boundary);
    g_test_add_func("/aml/pkglength/2-byte-boundary",
                    test_pkglength_2byte_boundary);
    g_test_add_func("/aml/pkglength/3-byte-boundary",
                    test_pkglength_3byte_boundary);
    g_test_add_func("/aml/int/widths", test_int_widths);
    g_test_add_func("/aml/eisaid", test_eisaid);
    for (size_t i = 0; i < G_N_ELEMENTS(goldens); i++)
        g_test_add_data_func(goldens[i].path, &goldens[i], run_golden);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_names); i++) {
        char *path = g_strdup_printf("/aml/name/invalid/%zu", i);

        g_test_add_data_func(path, bad_names[i], test_name_invalid);
        g_free(path);
    }
    g_test_add_func("/aml/field/offset-backwards",
                    test_field_offset_backwards);
    g_test_add_func("/aml/data/after-append", test_data_after_append);
    g_test_add_func("/aml/sequence", test_sequence);
    g_test_add_func("/aml/iasl/disassemble", test_iasl_disassemble);
    return g_test_run();
}
