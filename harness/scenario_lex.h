/*
 * Scenario line lexer (internal to scenario.c): words, "strings" with C
 * escapes, and JSON values, separated by blanks. docs/harness.md,
 * "Lexical rules".
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

enum token_type {
    TOKEN_WORD,     /* a run of non-blank bytes */
    TOKEN_STRING,   /* "..." decoded: text/len hold the bytes */
    TOKEN_JSON,     /* {...} or [...]: text is the source, json the value */
};

struct token {
    enum token_type type;
    char *text;
    gsize len;
    json_object *json;
};

/* Splits a line (comment already stripped) into struct token *. */
GPtrArray *lex_line(const char *line, GError **err);

/*
 * Length of line without its comment: '#' at the start of a word, outside
 * "double quotes" (and, when shell is set, outside 'single quotes' and
 * after no backslash).
 */
gsize lex_comment_start(const char *line, bool shell);
