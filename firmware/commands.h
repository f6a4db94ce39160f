/* The console's command table (docs/guest-console.md lists every command). */
#pragma once

#include "boot.h"

/* Runs one command line (no newline). Empty lines are ignored. */
void commands_execute(const struct boot_info *info, char *line);
