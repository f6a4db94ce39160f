/*
 * Type descriptions in the terms of QEMU's QAPI introspection
 * (qapi/introspect.json SchemaInfo): builtins, enums, arrays, objects
 * (with optional flat-union branches) and alternates. One description
 * serves two readers: the monitor's dispatcher checks arguments against
 * it, and query-qmp-schema prints it, so the two cannot disagree. Events
 * describe their data with it too (machine/machine_events.h).
 *
 * Descriptions are static data; nothing here allocates.
 */
#pragma once

#include <stdbool.h>

enum schema_meta {
    SCHEMA_BUILTIN,
    SCHEMA_ENUM,
    SCHEMA_ARRAY,
    SCHEMA_OBJECT,
    SCHEMA_ALTERNATE,
};

struct schema_type;

/* An object member; optional ones print with "default": null. */
struct schema_member {
    const char *name;
    const struct schema_type *type;
    bool optional;
};

/* One branch of a flat union: when the tag member is value, members of
 * type (an object) apply as well. */
struct schema_variant {
    const char *value;
    const struct schema_type *type;
};

struct schema_type {
    enum schema_meta meta;
    /*
     * Builtins: QAPI's name ("str", "int", ...), printed as is. Others:
     * QAPI's type name, for readers of this code; query-qmp-schema prints
     * opaque numbers instead, as QEMU does.
     */
    const char *name;
    const char *json_type;              /* builtin: introspect's JSONType */
    const char *const *values;          /* enum: NULL-terminated */
    const struct schema_type *element;  /* array */
    const struct schema_member *members;    /* object: { NULL }-ended */
    const char *tag;                    /* object: flat union tag member */
    const struct schema_variant *variants;  /* { NULL }-ended, or NULL */
    const struct schema_type *const *alternatives;  /* NULL-terminated */
};

extern const struct schema_type schema_str, schema_int, schema_number,
    schema_bool, schema_null, schema_any;
/* The object with no members: commands without arguments or result. */
extern const struct schema_type schema_empty;
/* Arrays of builtins used in several places. */
extern const struct schema_type schema_str_list, schema_int_list,
    schema_any_list;

/* The JSON type a value of t must have, as QEMU's input visitor names it
 * in "expected: ..." ("string", "integer", "number", "boolean", "null",
 * "object", "array"); NULL for "any" and alternates (no single type). */
const char *schema_expected_name(const struct schema_type *t);

/* True when value is one of enum t's values. */
bool schema_enum_has(const struct schema_type *t, const char *value);
