/* The "ring0-mips" console command (bench_ring0.c, docs/linux.md). */
#pragma once

#include "boot.h"

struct command;

/* Iterations of the 4-instruction loop ring 0 runs for SYS_RING0_BENCH. */
#define RING0_BENCH_LOOPS       100000
#define RING0_BENCH_INSNS       (4 * RING0_BENCH_LOOPS)

/* Entered from lowcore.S's syscall gate; returns the TSC delta in rax. */
void ring0_bench_entry(void);

/* ring0-mips: a row of commands.c's table. */
void cmd_ring0_mips(const struct boot_info *info, const struct command *cmd,
                    char *args);
