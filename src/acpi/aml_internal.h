/*
 * Private to the AML builder (aml.c, aml_expr.c, aml_resource.c): the node
 * representation and the encoding helpers they share.
 */
#pragma once

#include "acpi/aml.h"

#define AML_BUFFER_OP 0x11      /* 20.2.5.4: DefBuffer */
#define AML_EXT_OP_PREFIX 0x5B  /* 20.2.x: ExtOpPrefix before ExtOp codes */
#define AML_RES_END_TAG 0x79    /* 6.4.2.9: small End Tag, length 1 */

enum aml_kind {
    AML_KIND_PLAIN,         /* op, then PkgLength if pkglen, then body */
    AML_KIND_BUFFER,        /* DefBuffer: BufferSize is added at the end */
    AML_KIND_RESOURCES,     /* a Buffer whose body gets an End Tag */
    AML_KIND_FIELD,         /* DefField; bits is the current bit position */
    AML_KIND_FIELD_UNIT,    /* Named/ReservedField entry; bits is its width */
    AML_KIND_FIELD_OFFSET,  /* ASL Offset(); bits is the target position */
};

/*
 * A growable byte string. Most node bodies are a few bytes, so the first
 * AML_BUF_INLINE live in the node itself: building and encoding a small
 * node then costs one allocation, the node's (the builder makes hundreds
 * of nodes per memory slot at startup).
 */
#define AML_BUF_INLINE 32

struct aml_buf {
    uint8_t *data;          /* inline_bytes, or g_malloc'd once it grew */
    size_t len, cap;
    uint8_t inline_bytes[AML_BUF_INLINE];
};

void aml_buf_init(struct aml_buf *b);
void aml_buf_clear(struct aml_buf *b);     /* frees storage; empty again */
void aml_buf_append(struct aml_buf *b, const void *data, size_t len);
/* Grows or shrinks to len bytes; new bytes are zero. */
void aml_buf_set_size(struct aml_buf *b, size_t len);

struct aml {
    enum aml_kind kind;
    uint8_t op[2];
    uint8_t op_len;
    bool pkglen;
    struct aml_buf *body;   /* final bytes after opcode and PkgLength */
    uint64_t bits;          /* see enum aml_kind */
    struct aml_buf *encoded; /* aml_data() cache; dropped by aml_append() */
    struct aml_buf own_body; /* what body points to */
};

struct aml *aml_node_new(enum aml_kind kind, const uint8_t *op,
                         size_t op_len, bool pkglen);
/* A node without PkgLength whose body starts with op (ExtOpPrefix op). */
struct aml *aml_expr_new(uint8_t op);
struct aml *aml_ext_expr_new(uint8_t op);

void aml_put_byte(struct aml_buf *out, uint8_t b);
void aml_put_le(struct aml_buf *out, uint64_t v, unsigned bytes);
void aml_put_int(struct aml_buf *out, uint64_t v);
void aml_put_namestring(struct aml_buf *out, const char *path);
/* Encodes child (complete, with opcode and PkgLength) into out; frees it. */
void aml_put_node(struct aml_buf *out, struct aml *child);
