/*
 * Property values, one parser for everyone who takes them: the command
 * line, memory backends, pc-dimm and the monitor. Values come as JSON (a
 * QMP argument, or a -object/-device key=value string kept as a JSON
 * string) and follow QEMU's rules: sizes with binary suffixes, integers in
 * decimal or 0x hex, on/off booleans, identifiers. Errors are HM_ERROR /
 * HM_ERROR_INVALID with QEMU's wording where QEMU has one.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

/*
 * A size as text: decimal digits and an optional B, K, M, G, T, P or E
 * suffix (binary units, either case; QEMU's qemu_strtosz()). Digits alone
 * count in default_unit (0 means bytes). Messages start with "size 'S'".
 */
bool props_parse_size(const char *s, uint64_t default_unit, uint64_t *out,
                      GError **err);

/*
 * Leading decimal digits of s into *v; returns where they end. *overflow
 * says whether they did not fit in 64 bits.
 */
const char *props_parse_digits(const char *s, uint64_t *v, bool *overflow);

/* Bytes: a JSON integer, or a string as props_parse_size() reads it. */
bool props_size(json_object *v, const char *name, uint64_t *out,
                GError **err);
/*
 * An unsigned integer up to max: a JSON integer, or a string in decimal or
 * 0x hexadecimal (as QEMU's keyval parser reads numbers).
 */
bool props_uint(json_object *v, const char *name, uint64_t max,
                uint64_t *out, GError **err);
/* on/off, yes/no, true/false, y/n as text (QEMU's qapi_bool_parse()). */
bool props_parse_bool(const char *s, bool *out);
/* A JSON boolean, or a string as props_parse_bool() reads it. */
bool props_bool(json_object *v, const char *name, bool *out, GError **err);
/* A JSON string; *out is replaced by a copy. */
bool props_string(json_object *v, const char *name, char **out,
                  GError **err);

/* QEMU's identifier rule: a letter, then letters, digits, '-', '.', '_'. */
bool props_id_valid(const char *id);
/* The same as an error naming the parameter 'id' (missing or invalid). */
bool props_check_id(const char *id, GError **err);
