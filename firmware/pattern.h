/* The "pattern" and "pattern-check" console commands (pattern.c). */
#pragma once

#include "boot.h"

struct command;

/* pattern SEED PAGES_PER_SEC SECONDS BASE SIZE [BASE SIZE] */
void cmd_pattern(const struct boot_info *info, const struct command *cmd,
                 char *args);
/* pattern-check SEED BASE SIZE [BASE SIZE] */
void cmd_pattern_check(const struct boot_info *info,
                       const struct command *cmd, char *args);
