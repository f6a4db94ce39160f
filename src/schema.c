/* The builtin types of QAPI introspection and two small helpers. */
#include "schema.h"

#include <string.h>

#define BUILTIN(var, qapi, json) \
    const struct schema_type var = { .meta = SCHEMA_BUILTIN, .name = qapi, \
                                     .json_type = json }

BUILTIN(schema_str, "str", "string");
BUILTIN(schema_int, "int", "int");
BUILTIN(schema_number, "number", "number");
BUILTIN(schema_bool, "bool", "boolean");
BUILTIN(schema_null, "null", "null");
BUILTIN(schema_any, "any", "value");

static const struct schema_member no_members[] = { { NULL } };

const struct schema_type schema_empty = {
    .meta = SCHEMA_OBJECT, .name = "q_empty", .members = no_members,
};

const struct schema_type schema_str_list = {
    .meta = SCHEMA_ARRAY, .name = "strList", .element = &schema_str,
};
const struct schema_type schema_int_list = {
    .meta = SCHEMA_ARRAY, .name = "intList", .element = &schema_int,
};
const struct schema_type schema_any_list = {
    .meta = SCHEMA_ARRAY, .name = "anyList", .element = &schema_any,
};

const char *schema_expected_name(const struct schema_type *t)
{
    switch (t->meta) {
    case SCHEMA_BUILTIN:
        if (!strcmp(t->json_type, "int"))
            return "integer";
        return strcmp(t->json_type, "value") ? t->json_type : NULL;
    case SCHEMA_ENUM:
        return "string";
    case SCHEMA_ARRAY:
        return "array";
    case SCHEMA_OBJECT:
        return "object";
    case SCHEMA_ALTERNATE:
        return NULL;
    }
    return NULL;
}

bool schema_enum_has(const struct schema_type *t, const char *value)
{
    for (const char *const *v = t->values; v && *v; v++)
        if (!strcmp(*v, value))
            return true;
    return false;
}
