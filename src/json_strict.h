/*
 * JSON as QMP clients and the command line hand it to hotmem, checked for
 * what json-c would accept and then change without a word:
 *
 * - "\u0000" in a string: json-c keeps the NUL in values (where every C
 *   string taken from them ends) and cuts member names there;
 * - integers outside -2^63 .. 2^64-1: json-c clamps them to the limit;
 * - NaN, Infinity and comments, which are not JSON (json-c's non-strict
 *   mode, needed for QMP's 'single-quoted' strings, takes them);
 * - a raw line break inside a string (RFC 8259 section 7).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

enum json_lex_event {
    JSON_LEX_OK,
    JSON_LEX_NUL_ESCAPE,     /* this byte ended a \u0000 in a string */
    JSON_LEX_LINE_IN_STRING, /* this byte is CR or LF inside a string */
    JSON_LEX_INT_RANGE,      /* this byte ended an integer json-c would clamp */
    JSON_LEX_SLASH,          /* '/' outside strings: json-c's comments */
};

struct json_lex {
    unsigned depth;         /* bracket nesting */
    char quote;             /* inside a string opened by this quote, or 0 */
    uint8_t escape;         /* 1 after '\'; 2..5 reading \uXXXX's digits */
    uint16_t hex;           /* those digits' value so far */
    bool line_start;        /* only whitespace since the last line feed */
    bool in_number;         /* inside a number (outside strings) */
    bool num_integer;       /* no fraction or exponent so far */
    bool num_negative;
    bool num_overflow;      /* magnitude above 2^64-1 */
    unsigned num_digits;
    uint64_t num_value;     /* magnitude */
    size_t num_len;
    char num_text[24];      /* the number's first bytes, for messages */
};

void json_lex_reset(struct json_lex *lx);
/* Advances over c; the event says whether c is one of the spots above. */
enum json_lex_event json_lex_step(struct json_lex *lx, char c);
/* Why ev is refused (without a "JSON parse error" prefix); g_free() it. */
char *json_lex_message(const struct json_lex *lx, enum json_lex_event ev);

/* A double json-c read from NaN or Infinity (1e400 is not one). */
bool json_has_nan_or_infinity(json_object *v);

/* A whole text, checked as above, then parsed by json-c. */
json_object *json_strict_parse(const char *text, GError **err);
