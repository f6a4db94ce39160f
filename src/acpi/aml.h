/*
 * AML builder (ACPI 6.5, chapter 20 "ACPI Machine Language Specification").
 * Constructors mirror ASL terms one to one: aml_method() is Method(),
 * aml_if() is If(), and so on. Blocks (scopes, devices, methods, If/Else/
 * While, packages, buffers, fields, resource templates) collect children
 * with aml_append(), which computes package lengths so no caller counts
 * bytes.
 *
 * Ownership: every constructor and aml_append() take ownership of the nodes
 * passed to them (they are encoded into the new node and freed). Only the
 * root a caller built and never passed on needs aml_free().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

struct aml;

void aml_free(struct aml *a);
/* The encoded bytes of a (blocks: including opcode and PkgLength). */
const uint8_t *aml_data(struct aml *a, size_t *len);
/* Appends child to block parent (consumes child). */
void aml_append(struct aml *parent, struct aml *child);

/* PkgLength encoding of a body of body_len bytes (20.2.4); returns bytes. */
size_t aml_pkglength_encode(size_t body_len, uint8_t out[4]);

/* A sequence with no opcode of its own: its children are simply joined. */
struct aml *aml_sequence(void);

/* --- Data objects (20.2.3) --- */
struct aml *aml_int(uint64_t v);            /* Zero/One/Ones or shortest */
struct aml *aml_string(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
struct aml *aml_buffer(size_t len, const uint8_t *data); /* data may be NULL */
struct aml *aml_package(uint8_t num_elements);           /* append elements */
struct aml *aml_eisaid(const char *id);     /* "PNP0C80" -> DWord EISA id */

/* --- Names, arguments, locals --- */
struct aml *aml_name(const char *fmt, ...) G_GNUC_PRINTF(1, 2); /* NameString */
struct aml *aml_name_decl(const char *name, struct aml *value); /* Name() */
struct aml *aml_arg(unsigned n);            /* Arg0..Arg6 */
struct aml *aml_local(unsigned n);          /* Local0..Local7 */

/* --- Namespace modifiers and named objects (20.2.5) --- */
struct aml *aml_scope(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
struct aml *aml_device(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
struct aml *aml_method(const char *name, unsigned argc, bool serialized);
struct aml *aml_mutex(const char *name, uint8_t sync_level);

enum aml_region_space {
    AML_SYSTEM_MEMORY = 0x00,
    AML_SYSTEM_IO = 0x01,
};
struct aml *aml_operation_region(const char *name,
                                 enum aml_region_space space,
                                 struct aml *offset, struct aml *length);

enum aml_field_access {
    AML_ANY_ACC = 0, AML_BYTE_ACC = 1, AML_WORD_ACC = 2, AML_DWORD_ACC = 3,
    AML_QWORD_ACC = 4, AML_BUFFER_ACC = 5,
};
enum aml_field_lock { AML_NOLOCK = 0, AML_LOCK = 1 };
enum aml_field_update {
    AML_PRESERVE = 0, AML_WRITE_AS_ONES = 1, AML_WRITE_AS_ZEROS = 2,
};
/* Field(region, access, lock, update) { append aml_named_field()... } */
struct aml *aml_field(const char *region, enum aml_field_access access,
                      enum aml_field_lock lock,
                      enum aml_field_update update);
struct aml *aml_named_field(const char *name, unsigned bits);
/* Unnamed bits: ASL's ", N" entry. */
struct aml *aml_reserved_field(unsigned bits);
/*
 * ASL's Offset(byte_offset) inside a Field: appending it to a field emits
 * the reserved bits that move the field's position there (error if behind).
 */
struct aml *aml_field_offset(unsigned byte_offset);

struct aml *aml_create_dword_field(struct aml *buffer, struct aml *index,
                                   const char *name);
struct aml *aml_create_qword_field(struct aml *buffer, struct aml *index,
                                   const char *name);

/* --- Statements (20.2.5.3) --- */
struct aml *aml_if(struct aml *predicate);      /* append the body */
struct aml *aml_else(void);                     /* append after an If */
struct aml *aml_while(struct aml *predicate);
struct aml *aml_break(void);
struct aml *aml_return(struct aml *value);
struct aml *aml_notify(struct aml *object, struct aml *value);
struct aml *aml_sleep(uint64_t ms);

/* --- Expressions (20.2.5.4); target may be NULL (no result stored) --- */
struct aml *aml_store(struct aml *src, struct aml *dst);
struct aml *aml_add(struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_subtract(struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_multiply(struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_and(struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_or(struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_shiftleft(struct aml *a, struct aml *count);
struct aml *aml_shiftright(struct aml *a, struct aml *count,
                           struct aml *target);
struct aml *aml_increment(struct aml *a);
struct aml *aml_decrement(struct aml *a);
struct aml *aml_lnot(struct aml *a);
struct aml *aml_land(struct aml *a, struct aml *b);
struct aml *aml_lor(struct aml *a, struct aml *b);
struct aml *aml_equal(struct aml *a, struct aml *b);
struct aml *aml_lless(struct aml *a, struct aml *b);
struct aml *aml_lgreater(struct aml *a, struct aml *b);
struct aml *aml_to_integer(struct aml *a, struct aml *target);
struct aml *aml_index(struct aml *obj, struct aml *index);
struct aml *aml_derefof(struct aml *a);
struct aml *aml_sizeof(struct aml *a);
/* Acquire(mutex, timeout_ms) and Release(mutex). */
struct aml *aml_acquire(struct aml *mutex, uint16_t timeout);
struct aml *aml_release(struct aml *mutex);
/* MethodInvocation: name followed by its arguments (NULL-terminated). */
struct aml *aml_call(const char *method, ...) G_GNUC_NULL_TERMINATED;

/* --- Resource templates (6.4) --- */
struct aml *aml_resource_template(void);   /* append descriptors; adds EndTag */
struct aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t len);
struct aml *aml_memory32_fixed(uint32_t base, uint32_t len, bool writable);
struct aml *aml_dword_memory(uint32_t min, uint32_t max, uint32_t len,
                             bool writable, bool cacheable);
struct aml *aml_qword_memory(uint64_t min, uint64_t max, uint64_t len,
                             bool writable, bool cacheable);
/* Interrupt(ResourceConsumer, edge/level, high/low, exclusive) {irqs} */
struct aml *aml_interrupt(bool edge, bool active_low, bool shared,
                          const uint32_t *irqs, unsigned count);
