/*
 * The hostile guest's console commands (hostile.c, docs/guest-console.md
 * "Hostile guest"): rows of commands.c's table.
 */
#pragma once

#include "boot.h"

struct command;

/* inb/inw/inl PORT, outb/outw/outl PORT VALUE: the size is in the name. */
void cmd_port_in(const struct boot_info *info, const struct command *cmd,
                 char *args);
void cmd_port_out(const struct boot_info *info, const struct command *cmd,
                  char *args);
/* mmior ADDR SIZE, mmiow ADDR SIZE VALUE */
void cmd_mmio_read(const struct boot_info *info, const struct command *cmd,
                   char *args);
void cmd_mmio_write(const struct boot_info *info, const struct command *cmd,
                    char *args);
/* storm SEED COUNT [BLOCK...] */
void cmd_storm(const struct boot_info *info, const struct command *cmd,
               char *args);
/* hp-eject SLOT, hp-ignore on|off */
void cmd_hp_eject(const struct boot_info *info, const struct command *cmd,
                  char *args);
void cmd_hp_ignore(const struct boot_info *info, const struct command *cmd,
                   char *args);
/* ost-flood COUNT [SLOT], ged-flood COUNT */
void cmd_ost_flood(const struct boot_info *info, const struct command *cmd,
                   char *args);
void cmd_ged_flood(const struct boot_info *info, const struct command *cmd,
                   char *args);
