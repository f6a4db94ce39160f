/*
 * What a console command handler gets and the helpers every handler uses
 * (commands.c). Handlers living in other files (dirty.c, hostile.c, ...)
 * include this to parse their arguments the same way.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "boot.h"

struct command {
    const char *name;
    const char *usage;      /* argument synopsis, "" when none */
    const char *help;
    /* args: the text after "name ", unparsed ("" when none). */
    void (*run)(const struct boot_info *info, const struct command *cmd,
                char *args);
};

/* "error usage: NAME ARGS". */
void command_usage_error(const struct command *cmd);

/*
 * Splits args at spaces into at most max words (NUL-terminating them in
 * place). Returns the word count, or max + 1 when there are more words.
 */
unsigned command_split_words(char *args, char **words, unsigned max);

/* Parses a hex word, or says "error WHAT "WORD" is not a 64-bit hex number". */
bool command_parse_hex(const char *what, const char *word, uint64_t *out);

/*
 * Parses a decimal word from 0 to max, or says
 * "error WHAT "WORD" is not a decimal number from 0 to MAX".
 */
bool command_parse_dec(const char *what, const char *word, uint32_t max,
                       uint32_t *out);
