/* The "dirty" console command (dirty.c, docs/mmu-dirty.md). */
#pragma once

#include "boot.h"

struct command;

/*
 * [base, base + size) is memory a load may use: RAM at or above the
 * guest's own image (2 MiB-aligned), or inside the DIMM window. walk.c
 * uses it too.
 */
bool dirty_range_ok(const struct boot_info *info, uint64_t base,
                    uint64_t size);

/* dirty PAGES_PER_SEC BASE SIZE SECONDS: a row of commands.c's table. */
void cmd_dirty(const struct boot_info *info, const struct command *cmd,
               char *args);
