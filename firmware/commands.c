/*
 * Console commands. To add one: write a handler and add a row to commands[].
 * Every reply line starts with PRINT_PREFIX; failures are "error ..." lines.
 */
#include "commands.h"

#include "acpi.h"
#include "acpi_hw.h"
#include "bench_ring0.h"
#include "command.h"
#include "dirty.h"
#include "pattern.h"
#include "walk.h"
#include "hostile.h"
#include "lib.h"
#include "ospm.h"
#include "paging.h"
#include "power.h"
#include "print.h"
#include "syscall.h"
#include "tsc.h"

void command_usage_error(const struct command *cmd)
{
    print_line("error usage: %s%s%s", cmd->name, cmd->usage[0] ? " " : "",
               cmd->usage);
}

unsigned command_split_words(char *args, char **words, unsigned max)
{
    unsigned n = 0;

    for (;;) {
        while (*args == ' ')
            args++;
        if (!*args)
            return n;
        if (n == max)
            return max + 1;
        words[n++] = args;
        while (*args && *args != ' ')
            args++;
        if (*args)
            *args++ = '\0';
    }
}

bool command_parse_hex(const char *what, const char *word, uint64_t *out)
{
    if (parse_hex_u64(word, out))
        return true;
    print_line("error %s \"%s\" is not a 64-bit hex number", what, word);
    return false;
}

bool command_parse_dec(const char *what, const char *word, uint32_t max,
                       uint32_t *out)
{
    if (parse_dec_u32(word, max, out))
        return true;
    print_line("error %s \"%s\" is not a decimal number from 0 to %u", what,
               word, max);
    return false;
}

static void cmd_help(const struct boot_info *info, const struct command *cmd,
                     char *args);

static void cmd_ping(const struct boot_info *info, const struct command *cmd,
                     char *args)
{
    print_line("pong");
}

/* The TSC now: a restored guest's time goes on from the saved one. */
static void cmd_tsc(const struct boot_info *info, const struct command *cmd,
                    char *args)
{
    print_line("tsc value=0x%lx", tsc_read());
}

static void cmd_echo(const struct boot_info *info, const struct command *cmd,
                     char *args)
{
    print_line("echo%s%s", args[0] ? " " : "", args);
}

static void cmd_mem(const struct boot_info *info, const struct command *cmd,
                    char *args)
{
    uint32_t i;

    for (i = 0; i < info->memmap_kept; i++)
        print_line("mem base=0x%lx size=0x%lx type=%u", info->memmap[i].addr,
                   info->memmap[i].size, info->memmap[i].type);
    if (info->memmap_total > info->memmap_kept)
        print_line("error mem: %u more entries were not kept (limit %u)",
                   info->memmap_total - info->memmap_kept, BOOT_MEMMAP_MAX);
}

static void cmd_info(const struct boot_info *info, const struct command *cmd,
                     char *args)
{
    print_line("info ram=0x%lx ram-end=0x%lx window=0x%lx window-limit=0x%lx "
               "phys-bits=%u rsdp=0x%lx pt-pool-free=%u",
               info->ram_size, info->ram_end, info->window_base,
               info->window_limit, info->phys_bits, info->rsdp_paddr,
               paging_pool_free());
}

/* Guest-physical = virtual. The device-memory window is mapped on first touch. */
static void cmd_peek(const struct boot_info *info, const struct command *cmd,
                     char *args)
{
    char *w[1];
    uint64_t addr;

    if (command_split_words(args, w, 1) != 1) {
        command_usage_error(cmd);
        return;
    }
    if (!command_parse_hex("address", w[0], &addr))
        return;
    print_line("peek addr=0x%lx value=0x%lx", addr,
               *(volatile uint64_t *)addr);
}

/* "ADDR VALUE", both hex: false (having said why) when malformed. */
static bool parse_addr_value(const struct command *cmd, char *args,
                             uint64_t *addr, uint64_t *value)
{
    char *w[2];

    if (command_split_words(args, w, 2) != 2) {
        command_usage_error(cmd);
        return false;
    }
    return command_parse_hex("address", w[0], addr) &&
           command_parse_hex("value", w[1], value);
}

static void cmd_poke(const struct boot_info *info, const struct command *cmd,
                     char *args)
{
    uint64_t addr, value;

    if (!parse_addr_value(cmd, args, &addr, &value))
        return;
    *(volatile uint64_t *)addr = value;
    print_line("poke addr=0x%lx value=0x%lx", addr, value);
}

static void cmd_pokeb(const struct boot_info *info, const struct command *cmd,
                      char *args)
{
    uint64_t addr, value;

    if (!parse_addr_value(cmd, args, &addr, &value))
        return;
    if (value > 0xff) {
        print_line("error value 0x%lx does not fit in a byte", value);
        return;
    }
    *(volatile uint8_t *)addr = (uint8_t)value;
    print_line("pokeb addr=0x%lx value=0x%lx", addr, value);
}

/* Re-runs the boot-time ACPI check; the device-memory window stays as is. */
static void cmd_acpi(const struct boot_info *info, const struct command *cmd,
                     char *args)
{
    static struct acpi_summary summary;
    char *w[1];
    unsigned n = command_split_words(args, w, 1);

    if (n == 0)
        acpi_check(info, &summary);
    else if (n == 1 && !strcmp(w[0], "tables"))
        acpi_list_tables(info);
    else
        command_usage_error(cmd);
}

static void cmd_poweroff(const struct boot_info *info,
                         const struct command *cmd, char *args)
{
    print_line("poweroff");
    power_off();
}

/* Deliberate faults, to test the exception report and the VMM's exits. */
static void cmd_crash(const struct boot_info *info, const struct command *cmd,
                      char *args)
{
    char *w[2];
    unsigned n = command_split_words(args, w, 2);
    uint64_t addr, value;

    if (n == 1 && !strcmp(w[0], "ud")) {
        __asm__ volatile("ud2");
    } else if (n == 1 && !strcmp(w[0], "triple")) {
        sys_triple_fault();
    } else if (n == 2 && !strcmp(w[0], "pf")) {
        if (!command_parse_hex("address", w[1], &addr))
            return;
        value = *(volatile uint64_t *)addr;
        print_line("error crash pf: reading 0x%lx did not fault (value 0x%lx)",
                   addr, value);
    } else {
        command_usage_error(cmd);
    }
}

/* Memory hot-plug (ospm.c): the guest's side of the DIMM lifecycle. */

/* "on" or "off": sets *on and prints "NAME on|off"; else a usage error. */
static bool parse_on_off(const struct command *cmd, char *args, bool *on)
{
    char *w[1];

    if (command_split_words(args, w, 1) != 1 ||
        (strcmp(w[0], "on") && strcmp(w[0], "off"))) {
        command_usage_error(cmd);
        return false;
    }
    *on = !strcmp(w[0], "on");
    print_line("%s %s", cmd->name, w[0]);
    return true;
}

static void cmd_refuse_eject(const struct boot_info *info,
                             const struct command *cmd, char *args)
{
    bool on;

    if (parse_on_off(cmd, args, &on))
        ospm_set_refuse_eject(on);
}

static void cmd_ignore_eject(const struct boot_info *info,
                             const struct command *cmd, char *args)
{
    bool on;

    if (parse_on_off(cmd, args, &on))
        ospm_set_ignore_eject(on);
}

static void cmd_dimms(const struct boot_info *info, const struct command *cmd,
                      char *args)
{
    ospm_print_dimms();
}

static void cmd_memtest(const struct boot_info *info,
                        const struct command *cmd, char *args)
{
    char *w[1];
    uint32_t slot;

    if (command_split_words(args, w, 1) != 1) {
        command_usage_error(cmd);
        return;
    }
    if (!command_parse_dec("slot", w[0], MEMHP_SLOTS_MAX - 1, &slot))
        return;
    ospm_memtest(slot);
}

static void cmd_scan(const struct boot_info *info, const struct command *cmd,
                     char *args)
{
    if (!ospm_slot_count()) {
        print_line("error scan: no memory hot-plug slots");
        return;
    }
    ospm_scan();
    print_line("scan done");
}

static const struct command commands[] = {
    { "help", "", "list the commands", cmd_help },
    { "ping", "", "reply pong", cmd_ping },
    { "tsc", "", "print the time-stamp counter (hex)", cmd_tsc },
    { "echo", "TEXT", "reply \"echo TEXT\"", cmd_echo },
    { "mem", "", "list the PVH memory map", cmd_mem },
    { "info", "", "show RAM total, device-memory window, physical address bits",
      cmd_info },
    { "peek", "ADDR", "read the u64 at guest-physical ADDR (hex)", cmd_peek },
    { "poke", "ADDR VALUE", "write the u64 VALUE at guest-physical ADDR (hex)",
      cmd_poke },
    { "pokeb", "ADDR VALUE", "write the byte VALUE at guest-physical ADDR (hex)",
      cmd_pokeb },
    { "acpi", "[tables]",
      "check the ACPI tables again, or list them with \"tables\"", cmd_acpi },
    { "poweroff", "", "power off through the power port (exit status 0)",
      cmd_poweroff },
    { "crash", "ud|triple|pf ADDR",
      "raise #UD, triple-fault, or read ADDR to raise #PF/#GP", cmd_crash },
    { "dimms", "", "list the DIMMs the guest uses", cmd_dimms },
    { "memtest", "SLOT", "check the memory of the DIMM in SLOT (decimal) again",
      cmd_memtest },
    { "scan", "", "scan the memory slots now, as on a GED memory event",
      cmd_scan },
    { "refuse-eject", "on|off",
      "answer eject requests with _OST 0x81 (in use) instead of ejecting",
      cmd_refuse_eject },
    { "ignore-eject", "on|off",
      "acknowledge eject requests and do nothing else (a lost request)",
      cmd_ignore_eject },
    { "ring0-mips", "", "measure guest ring-0 speed (MIPS)", cmd_ring0_mips },
    { "dirty", "PAGES_PER_SEC BASE SIZE SECONDS",
      "dirty pages at a paced rate from ring 3 (dirty.c)", cmd_dirty },
    { "pattern", "SEED PAGES_PER_SEC SECONDS BASE SIZE [BASE SIZE]",
      "write seeded patterns in passes, going on from the last run "
      "(pattern.c)", cmd_pattern },
    { "pattern-check", "SEED BASE SIZE [BASE SIZE]",
      "check every page a pattern run wrote (pattern.c)",
      cmd_pattern_check },
    { "walk", "BASE SIZE COUNT",
      "COUNT dependent reads at random lines of [BASE, BASE+SIZE) (walk.c)",
      cmd_walk },
    /* The hostile guest (hostile.c). */
    { "inb", "PORT", "read a byte from PORT (hex)", cmd_port_in },
    { "inw", "PORT", "read 16 bits from PORT (hex)", cmd_port_in },
    { "inl", "PORT", "read 32 bits from PORT (hex)", cmd_port_in },
    { "outb", "PORT VALUE", "write a byte to PORT (hex)", cmd_port_out },
    { "outw", "PORT VALUE", "write 16 bits to PORT (hex)", cmd_port_out },
    { "outl", "PORT VALUE", "write 32 bits to PORT (hex)", cmd_port_out },
    { "mmior", "ADDR SIZE",
      "read SIZE (1, 2, 4, 8) bytes at guest-physical ADDR", cmd_mmio_read },
    { "mmiow", "ADDR SIZE VALUE",
      "write SIZE (1, 2, 4, 8) bytes at guest-physical ADDR", cmd_mmio_write },
    { "storm", "SEED COUNT [BLOCK...]",
      "COUNT seeded random accesses to hotmem's register blocks "
      "(memhp ged pm power com1)", cmd_storm },
    { "hp-eject", "SLOT", "eject SLOT through the register block, asked or not",
      cmd_hp_eject },
    { "hp-ignore", "on|off", "drop GED memory events: never acknowledge "
      "hot-plug", cmd_hp_ignore },
    { "ost-flood", "COUNT [SLOT]", "write COUNT _OST calls, to SLOT or to every "
      "slot in turn", cmd_ost_flood },
    { "ged-flood", "COUNT", "write, then read and clear, the GED event register "
      "COUNT times", cmd_ged_flood },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void cmd_help(const struct boot_info *info, const struct command *cmd,
                     char *args)
{
    unsigned i;

    for (i = 0; i < N_COMMANDS; i++)
        print_line("help %s%s%s: %s", commands[i].name,
                   commands[i].usage[0] ? " " : "", commands[i].usage,
                   commands[i].help);
}

void commands_execute(const struct boot_info *info, char *line)
{
    char *args = line;
    unsigned name_len, i;

    while (*args && *args != ' ')
        args++;
    name_len = args - line;
    if (*args)
        *args++ = '\0';
    if (name_len == 0 && !*args)
        return;     /* empty line */
    for (i = 0; i < N_COMMANDS; i++) {
        const struct command *cmd = &commands[i];

        if (strcmp(cmd->name, line))
            continue;
        /* A command without arguments got some? */
        if (!cmd->usage[0] && command_split_words(args, 0, 0))
            command_usage_error(cmd);
        else
            cmd->run(info, cmd, args);
        return;
    }
    print_line("error unknown command \"%s\"", line);
}
