/*
 * AML builder core (ACPI 6.5, chapter 20): nodes, package lengths, data
 * objects, names and named objects. Statements and expressions live in
 * aml_expr.c, resource descriptors (6.4) in aml_resource.c.
 *
 * A node keeps the encoded bytes of its body and what it needs to finish
 * them: the opcode, whether a PkgLength goes between opcode and body, and for
 * a few kinds (Buffer, ResourceTemplate, Field and its entries) a little
 * extra state. aml_append() finishes the child's encoding into the parent's
 * body and frees the child, so a parent's body only ever holds final bytes.
 */
#include "acpi/aml_internal.h"

#include <stdarg.h>
#include <string.h>

/* Opcodes (20.2.x); the EXT_* ones follow ExtOpPrefix. */
enum {
    ZERO_OP = 0x00, ONE_OP = 0x01, NAME_OP = 0x08, BYTE_PREFIX = 0x0A,
    WORD_PREFIX = 0x0B, DWORD_PREFIX = 0x0C, STRING_PREFIX = 0x0D,
    QWORD_PREFIX = 0x0E, SCOPE_OP = 0x10,
    PACKAGE_OP = 0x12, METHOD_OP = 0x14, DUAL_NAME_PREFIX = 0x2E,
    MULTI_NAME_PREFIX = 0x2F, ROOT_CHAR = 0x5C, PARENT_PREFIX_CHAR = 0x5E,
    LOCAL0_OP = 0x60, ARG0_OP = 0x68, ONES_OP = 0xFF,
    EXT_MUTEX_OP = 0x01, EXT_OP_REGION_OP = 0x80, EXT_FIELD_OP = 0x81,
    EXT_DEVICE_OP = 0x82,
};

#define NULL_NAME 0x00          /* 20.2.2: an empty NameString / Target */
#define RESERVED_FIELD 0x00     /* 20.2.5.2: ReservedField lead byte */
#define PKGLENGTH_MAX 0x0FFFFFFF

/* --- Nodes --- */

struct aml *aml_node_new(enum aml_kind kind, const uint8_t *op,
                         size_t op_len, bool pkglen)
{
    struct aml *a = g_new(struct aml, 1);

    g_assert(op_len <= sizeof(a->op));
    a->kind = kind;
    if (op_len)
        memcpy(a->op, op, op_len);
    a->op_len = (uint8_t)op_len;
    a->pkglen = pkglen;
    a->bits = 0;
    a->encoded = NULL;
    aml_buf_init(&a->own_body);
    a->body = &a->own_body;
    return a;
}

static void drop_encoded(struct aml *a)
{
    if (a->encoded) {
        aml_buf_clear(a->encoded);
        g_free(a->encoded);
        a->encoded = NULL;
    }
}

void aml_free(struct aml *a)
{
    if (!a)
        return;
    aml_buf_clear(a->body);
    drop_encoded(a);
    g_free(a);
}

void aml_put_byte(struct aml_buf *out, uint8_t b)
{
    aml_buf_append(out, &b, 1);
}

/* Little-endian, as every multi-byte AML and resource field is. */
void aml_put_le(struct aml_buf *out, uint64_t v, unsigned bytes)
{
    uint8_t enc[8];

    g_assert(bytes <= sizeof(enc));
    for (unsigned i = 0; i < bytes; i++)
        enc[i] = (uint8_t)(v >> (8 * i));
    aml_buf_append(out, enc, bytes);
}

/*
 * The PkgLength byte layout for value in n bytes (20.2.4): one byte holds six
 * bits; otherwise the lead byte holds the count of following bytes in bits
 * 6-7 and the low nibble, and each following byte eight more bits.
 */
static size_t pkglength_layout(uint32_t value, size_t n, uint8_t out[4])
{
    if (n == 1) {
        out[0] = (uint8_t)value;
        return 1;
    }
    out[0] = (uint8_t)(((n - 1) << 6) | (value & 0x0F));
    for (size_t i = 1; i < n; i++)
        out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
    return n;
}

/* Largest value a PkgLength of n bytes holds: 6, 12, 20 or 28 bits. */
static uint32_t pkglength_limit(size_t n)
{
    return n == 1 ? 0x3F : (1u << (4 + 8 * (n - 1))) - 1;
}

/* The length counts the PkgLength bytes themselves (20.2.4). */
size_t aml_pkglength_encode(size_t body_len, uint8_t out[4])
{
    for (size_t n = 1; n <= 4; n++) {
        if (body_len + n <= pkglength_limit(n))
            return pkglength_layout((uint32_t)(body_len + n), n, out);
    }
    g_error("AML package body of %zu bytes exceeds the PkgLength maximum "
            "0x%x", body_len, PKGLENGTH_MAX);
}

/* A field entry's bit count uses the PkgLength layout for the bare value. */
static void put_field_bits(struct aml_buf *out, uint64_t bits)
{
    uint8_t enc[4];

    if (bits > PKGLENGTH_MAX)
        g_error("AML field width of %" G_GUINT64_FORMAT " bits exceeds the "
                "maximum 0x%x", bits, PKGLENGTH_MAX);
    for (size_t n = 1; n <= 4; n++) {
        if (bits <= pkglength_limit(n)) {
            aml_buf_append(out, enc, pkglength_layout(bits, n, enc));
            return;
        }
    }
}

void aml_put_int(struct aml_buf *out, uint64_t v)
{
    if (v == 0 || v == 1 || v == UINT64_MAX) {
        aml_put_byte(out, v == 0 ? ZERO_OP : v == 1 ? ONE_OP : ONES_OP);
    } else if (v <= UINT8_MAX) {
        aml_put_byte(out, BYTE_PREFIX);
        aml_put_le(out, v, 1);
    } else if (v <= UINT16_MAX) {
        aml_put_byte(out, WORD_PREFIX);
        aml_put_le(out, v, 2);
    } else if (v <= UINT32_MAX) {
        aml_put_byte(out, DWORD_PREFIX);
        aml_put_le(out, v, 4);
    } else {
        aml_put_byte(out, QWORD_PREFIX);
        aml_put_le(out, v, 8);
    }
}

/* DefBuffer's BufferSize, then the bytes (20.2.5.4); a template ends in an
 * EndTag whose checksum 0 means "treat as valid" (6.4.2.9). */
static void encode_buffer_payload(const struct aml *a, struct aml_buf *out)
{
    bool end_tag = a->kind == AML_KIND_RESOURCES;

    aml_put_int(out, a->body->len + (end_tag ? 2 : 0));
    aml_buf_append(out, a->body->data, a->body->len);
    if (end_tag) {
        aml_put_byte(out, AML_RES_END_TAG);
        aml_put_byte(out, 0);
    }
}

/* Appends the complete encoding of a to out. */
static void encode_into(const struct aml *a, struct aml_buf *out)
{
    const struct aml_buf *payload = a->body;
    struct aml_buf buffer;
    uint8_t enc[4];

    if (a->kind == AML_KIND_FIELD_OFFSET)
        return;     /* only meaningful inside a Field, see aml_append() */
    if (a->kind == AML_KIND_BUFFER || a->kind == AML_KIND_RESOURCES) {
        aml_buf_init(&buffer);
        encode_buffer_payload(a, &buffer);
        payload = &buffer;
    }
    aml_buf_append(out, a->op, a->op_len);
    if (a->pkglen)
        aml_buf_append(out, enc, aml_pkglength_encode(payload->len, enc));
    aml_buf_append(out, payload->data, payload->len);
    if (payload == &buffer)
        aml_buf_clear(&buffer);
}

/* Encodes child into out and frees it. */
void aml_put_node(struct aml_buf *out, struct aml *child)
{
    g_assert(child);
    encode_into(child, out);
    aml_free(child);
}

const uint8_t *aml_data(struct aml *a, size_t *len)
{
    if (!a->encoded) {
        a->encoded = g_new(struct aml_buf, 1);
        aml_buf_init(a->encoded);
        encode_into(a, a->encoded);
    }
    *len = a->encoded->len;
    return a->encoded->data;
}

/* ASL's Offset() inside a Field: reserved bits up to the new position. */
static void field_append_offset(struct aml *field, struct aml *offset)
{
    if (offset->bits < field->bits)
        g_error("AML Field Offset(0x%" G_GINT64_MODIFIER "x) is behind the "
                "current field position, byte 0x%" G_GINT64_MODIFIER "x "
                "bit %u", offset->bits / 8, field->bits / 8,
                (unsigned)(field->bits % 8));
    if (offset->bits > field->bits) {
        aml_put_byte(field->body, RESERVED_FIELD);
        put_field_bits(field->body, offset->bits - field->bits);
        field->bits = offset->bits;
    }
}

void aml_append(struct aml *parent, struct aml *child)
{
    bool entry = child->kind == AML_KIND_FIELD_UNIT ||
                 child->kind == AML_KIND_FIELD_OFFSET;

    if (entry != (parent->kind == AML_KIND_FIELD))
        g_error("AML field entries go into a Field, and only there");
    if (child->kind == AML_KIND_FIELD_OFFSET)
        field_append_offset(parent, child);
    else if (child->kind == AML_KIND_FIELD_UNIT)
        parent->bits += child->bits;
    drop_encoded(parent);
    aml_put_node(parent->body, child);
}

struct aml *aml_sequence(void)
{
    return aml_node_new(AML_KIND_PLAIN, NULL, 0, false);
}

struct aml *aml_expr_new(uint8_t op)
{
    struct aml *a = aml_sequence();

    aml_put_byte(a->body, op);
    return a;
}

struct aml *aml_ext_expr_new(uint8_t op)
{
    struct aml *a = aml_expr_new(AML_EXT_OP_PREFIX);

    aml_put_byte(a->body, op);
    return a;
}

/* --- Data objects (20.2.3) --- */

struct aml *aml_int(uint64_t v)
{
    struct aml *a = aml_sequence();

    aml_put_int(a->body, v);
    return a;
}

struct aml *aml_string(const char *fmt, ...)
{
    struct aml *a = aml_expr_new(STRING_PREFIX);
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* String := StringPrefix AsciiCharList NullChar, chars 0x01-0x7F */
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p > 0x7F)
            g_error("AML string \"%s\" holds non-ASCII byte 0x%02x", s,
                    (unsigned char)*p);
    }
    aml_buf_append(a->body, (const uint8_t *)s, strlen(s) + 1);
    g_free(s);
    return a;
}

struct aml *aml_buffer(size_t len, const uint8_t *data)
{
    static const uint8_t op = AML_BUFFER_OP;
    struct aml *a = aml_node_new(AML_KIND_BUFFER, &op, 1, true);

    aml_buf_set_size(a->body, len);     /* zeros */
    if (data && len)
        memcpy(a->body->data, data, len);
    return a;
}

struct aml *aml_package(uint8_t num_elements)
{
    static const uint8_t op = PACKAGE_OP;
    struct aml *a = aml_node_new(AML_KIND_PLAIN, &op, 1, true);

    aml_put_byte(a->body, num_elements);
    return a;
}

/* 6.1.5: three uppercase letters, five bits each, then four hex digits;
 * the resulting 32-bit value is stored byte-swapped. */
struct aml *aml_eisaid(const char *id)
{
    uint32_t v = 0;

    if (strlen(id) != 7)
        g_error("EISAID \"%s\" is not 7 characters (AAA####)", id);
    for (int i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z')
            g_error("EISAID \"%s\": vendor must be 3 letters A-Z", id);
        v = (v << 5) | (uint32_t)(id[i] - 0x40);
    }
    for (int i = 3; i < 7; i++) {
        if (!g_ascii_isxdigit(id[i]))
            g_error("EISAID \"%s\": product must be 4 hex digits", id);
        v = (v << 4) | (uint32_t)g_ascii_xdigit_value(id[i]);
    }
    return aml_int(GUINT32_SWAP_LE_BE(v));
}

/* --- Names (20.2.2) --- */

static bool nameseg_valid(const char *seg, size_t len)
{
    if (len < 1 || len > 4 || g_ascii_isdigit(seg[0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isupper(seg[i]) && !g_ascii_isdigit(seg[i]) &&
            seg[i] != '_')
            return false;
    }
    return true;
}

/* NameSeg: four characters, a shorter name padded with '_'. */
static void put_nameseg(struct aml_buf *out, const char *seg, size_t len,
                        const char *path)
{
    uint8_t enc[4] = { '_', '_', '_', '_' };

    if (!nameseg_valid(seg, len))
        g_error("AML name segment \"%.*s\" of \"%s\" is not 1-4 characters "
                "of A-Z, 0-9 and _ starting with a non-digit", (int)len, seg,
                path);
    memcpy(enc, seg, len);
    aml_buf_append(out, enc, sizeof(enc));
}

/*
 * NameString := <RootChar NamePath> | <PrefixPath NamePath>. The path is
 * walked in place (it is built for every name of every table at startup).
 */
void aml_put_namestring(struct aml_buf *out, const char *path)
{
    const char *p = path;
    guint n = 1;

    if (*p == '\\') {
        aml_put_byte(out, ROOT_CHAR);
        p++;
    } else {
        for (; *p == '^'; p++)
            aml_put_byte(out, PARENT_PREFIX_CHAR);
    }
    if (!*p) {
        aml_put_byte(out, NULL_NAME);
        return;
    }
    for (const char *c = p; *c; c++)
        n += *c == '.';
    if (n > 255)
        g_error("AML name \"%s\" has %u segments, more than 255", path, n);
    if (n == 2) {
        aml_put_byte(out, DUAL_NAME_PREFIX);
    } else if (n > 2) {
        const uint8_t multi[2] = { MULTI_NAME_PREFIX, (uint8_t)n };

        aml_buf_append(out, multi, sizeof(multi));
    }
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);

        put_nameseg(out, p, len, path);
        if (!dot)
            break;
        p = dot + 1;
    }
}

/*
 * A name from a printf-style format: most are plain ("MSTA"), and only
 * those with a conversion ("MP%02X") pay for formatting. Free with g_free()
 * only when it differs from fmt.
 */
static char *name_vformat(const char *fmt, va_list ap)
{
    return strchr(fmt, '%') ? g_strdup_vprintf(fmt, ap) : (char *)fmt;
}

static void name_free(char *name, const char *fmt)
{
    if (name != fmt)
        g_free(name);
}

struct aml *aml_name(const char *fmt, ...)
{
    struct aml *a = aml_sequence();
    va_list ap;
    char *path;

    va_start(ap, fmt);
    path = name_vformat(fmt, ap);
    va_end(ap);
    aml_put_namestring(a->body, path);
    name_free(path, fmt);
    return a;
}

/* DefName := NameOp NameString DataRefObject */
struct aml *aml_name_decl(const char *name, struct aml *value)
{
    struct aml *a = aml_expr_new(NAME_OP);

    aml_put_namestring(a->body, name);
    aml_put_node(a->body, value);
    return a;
}

struct aml *aml_arg(unsigned n)
{
    g_assert(n <= 6);
    return aml_expr_new((uint8_t)(ARG0_OP + n));
}

struct aml *aml_local(unsigned n)
{
    g_assert(n <= 7);
    return aml_expr_new((uint8_t)(LOCAL0_OP + n));
}

/* --- Namespace modifiers and named objects (20.2.5.1, 20.2.5.2) --- */

/* A block: opcode (ExtOpPrefix'd if ext), PkgLength, then a NameString. */
static struct aml *named_block(bool ext, uint8_t op, const char *path)
{
    const uint8_t ops[2] = { ext ? AML_EXT_OP_PREFIX : op, op };
    struct aml *a = aml_node_new(AML_KIND_PLAIN, ops, ext ? 2 : 1, true);

    aml_put_namestring(a->body, path);
    return a;
}

/* named_block() with a printf-style path. */
static struct aml *named_block_v(bool ext, uint8_t op, const char *fmt,
                                 va_list ap)
{
    char *path = name_vformat(fmt, ap);
    struct aml *a = named_block(ext, op, path);

    name_free(path, fmt);
    return a;
}

struct aml *aml_scope(const char *fmt, ...)
{
    struct aml *a;
    va_list ap;

    va_start(ap, fmt);
    a = named_block_v(false, SCOPE_OP, fmt, ap);
    va_end(ap);
    return a;
}

struct aml *aml_device(const char *fmt, ...)
{
    struct aml *a;
    va_list ap;

    va_start(ap, fmt);
    a = named_block_v(true, EXT_DEVICE_OP, fmt, ap);
    va_end(ap);
    return a;
}

/* MethodFlags: ArgCount bits 0-2, SerializeFlag bit 3, SyncLevel 0. */
struct aml *aml_method(const char *name, unsigned argc, bool serialized)
{
    struct aml *a = named_block(false, METHOD_OP, name);

    g_assert(argc <= 7);
    aml_put_byte(a->body, (uint8_t)(argc | (serialized ? 1u << 3 : 0)));
    return a;
}

/* DefMutex := MutexOp NameString SyncFlags (SyncLevel in bits 0-3) */
struct aml *aml_mutex(const char *name, uint8_t sync_level)
{
    struct aml *a = aml_ext_expr_new(EXT_MUTEX_OP);

    g_assert(sync_level <= 15);
    aml_put_namestring(a->body, name);
    aml_put_byte(a->body, sync_level);
    return a;
}

/* DefOpRegion := OpRegionOp NameString RegionSpace RegionOffset RegionLen */
struct aml *aml_operation_region(const char *name,
                                 enum aml_region_space space,
                                 struct aml *offset, struct aml *length)
{
    struct aml *a = aml_ext_expr_new(EXT_OP_REGION_OP);

    aml_put_namestring(a->body, name);
    aml_put_byte(a->body, (uint8_t)space);
    aml_put_node(a->body, offset);
    aml_put_node(a->body, length);
    return a;
}

/* FieldFlags: AccessType bits 0-3, LockRule bit 4, UpdateRule bits 5-6. */
struct aml *aml_field(const char *region, enum aml_field_access access,
                      enum aml_field_lock lock,
                      enum aml_field_update update)
{
    static const uint8_t ops[2] = { AML_EXT_OP_PREFIX, EXT_FIELD_OP };
    struct aml *a = aml_node_new(AML_KIND_FIELD, ops, 2, true);

    aml_put_namestring(a->body, region);
    aml_put_byte(a->body, (uint8_t)(access | lock << 4 | update << 5));
    return a;
}

/* NamedField := NameSeg PkgLength, the PkgLength holding the bit count. */
struct aml *aml_named_field(const char *name, unsigned bits)
{
    struct aml *a = aml_node_new(AML_KIND_FIELD_UNIT, NULL, 0, false);

    put_nameseg(a->body, name, strlen(name), name);
    put_field_bits(a->body, bits);
    a->bits = bits;
    return a;
}

/* ReservedField := 0x00 PkgLength */
struct aml *aml_reserved_field(unsigned bits)
{
    struct aml *a = aml_node_new(AML_KIND_FIELD_UNIT, NULL, 0, false);

    aml_put_byte(a->body, RESERVED_FIELD);
    put_field_bits(a->body, bits);
    a->bits = bits;
    return a;
}

struct aml *aml_field_offset(unsigned byte_offset)
{
    struct aml *a = aml_node_new(AML_KIND_FIELD_OFFSET, NULL, 0, false);

    a->bits = (uint64_t)byte_offset * 8;
    return a;
}
