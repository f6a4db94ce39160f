/* The "dirty" console command (dirty.c, docs/mmu-dirty.md). */
#pragma once

#include "boot.h"

struct command;

/* dirty PAGES_PER_SEC BASE SIZE SECONDS: a row of commands.c's table. */
void cmd_dirty(const struct boot_info *info, const struct command *cmd,
               char *args);
