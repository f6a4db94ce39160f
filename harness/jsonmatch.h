/*
 * JSON subset matching for expectations (docs/harness.md, "Matching").
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

/*
 * True when value matches pattern: an object pattern matches an object
 * that has every key of the pattern with a matching value (other keys are
 * ignored); an array pattern matches an array of the same length whose
 * elements match one by one; scalars must be equal (numbers compare by
 * value, 1 equals 1.0). On a mismatch why (may be NULL) gets one line
 * naming the path, e.g. ".info.slot: expected \"0\", got \"1\"".
 */
bool json_match(json_object *pattern, json_object *value, GString *why);

/* Compact one-line JSON text (static buffer owned by the object). */
const char *json_text(json_object *v);
