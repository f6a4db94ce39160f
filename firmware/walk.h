/* The "walk" console command (walk.c, docs/guest-console.md). */
#pragma once

#include "boot.h"

struct command;

/* walk BASE SIZE COUNT: a row of commands.c's table. */
void cmd_walk(const struct boot_info *info, const struct command *cmd,
              char *args);
