/*
 * The command console on COM1: reads lines, runs them through the command
 * table (commands.c). Protocol: docs/guest-console.md.
 */
#pragma once

#include "boot.h"

/* Longest accepted command line, without its newline. */
#define CONSOLE_LINE_MAX 255

/* Never returns: sleeps in SYS_IDLE whenever no input is pending. */
__attribute__((noreturn)) void console_run(const struct boot_info *info);
