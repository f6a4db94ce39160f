/* Helpers shared by the command-line parser's files (not a public API). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "cli/cli.h"

/* State shared by the option handlers during one cli_parse() call. */
struct parse_state {
    struct cli_options *o;
    bool serial_given;      /* -serial seen: no default to adjust */
    bool nodefaults;        /* -nodefaults: no default serial */
    GPtrArray *chardevs;    /* -chardev (struct cli_chardev *) */
    GPtrArray *mons;        /* -mon mode=control: chardev ids (char *) */
    char *serial_chardev;   /* -serial chardev:ID, resolved at the end */
};

/* Sets err (CLI_ERROR_INVALID) from a format; returns false. */
bool cli_fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* A decimal count in [min, max] for key of option opt. */
bool cli_parse_count(const char *opt, const char *key, const char *s,
                     uint64_t min, uint64_t max, uint64_t *out,
                     GError **err);

/*
 * Splits "a,k=v,k2=v2" as QEMU does: a first element without '=' belongs to
 * implied_key, ",," is a literal comma. Returns key, value, ... or NULL.
 */
GPtrArray *cli_keyval_split(const char *opt, const char *arg,
                            const char *implied_key, GError **err);

/* One -numa argument. */
bool cli_numa_parse(struct cli_options *o, const char *arg, GError **err);
/*
 * After every option is known: checks the nodes against -m and -smp, splits
 * RAM between nodes that gave no mem=, and assigns every vCPU a node.
 */
bool cli_numa_finish(struct cli_options *o, GError **err);

/* -qmp, -object, -device (cli_props.c). */
bool cli_add_qmp(struct cli_options *o, const char *arg, GError **err);
bool cli_add_object(struct cli_options *o, const char *arg, GError **err);
bool cli_add_device(struct cli_options *o, const char *arg, GError **err);

/* -machine and -accel (cli_machine.c). */
bool cli_machine_parse(struct cli_options *o, const char *arg, GError **err);
bool cli_accel_parse(struct cli_options *o, const char *arg, GError **err);

/* QEMU's spellings of a boolean (on/off, yes/no, true/false) for key. */
bool cli_parse_onoff(const char *opt, const char *key, const char *val,
                     bool *out, GError **err);

/* -chardev, -mon, -monitor, -serial (cli_chardev.c). */
bool cli_chardev_parse(struct parse_state *st, const char *arg,
                       GError **err);
bool cli_mon_parse(struct parse_state *st, const char *arg, GError **err);
bool cli_monitor_parse(struct parse_state *st, const char *arg,
                       GError **err);
bool cli_serial_parse(struct parse_state *st, const char *arg, GError **err);
/* Resolves -mon and -serial chardev:ID once every -chardev is known. */
bool cli_chardev_finish(struct parse_state *st, GError **err);
void cli_chardevs_free(struct parse_state *st);

/* -cpu and -smp (cli_cpu.c). */
bool cli_cpu_parse(struct cli_options *o, const char *arg, GError **err);
bool cli_smp_parse(struct cli_options *o, const char *arg, GError **err);

/*
 * Boot RAM's backend after every option is known (cli_machine.c): the
 * "pc.ram" -object -mem-path/-mem-prealloc imply, -mem-prealloc's default
 * for every backend, and -m's size from memory-backend= when -m gave none.
 */
bool cli_memory_finish(struct cli_options *o, GError **err);

/* Options QEMU has and hotmem accepts with no effect, or refuses saying
 * why (cli_qemu.c). */
bool cli_display_parse(struct parse_state *st, const char *arg,
                       GError **err);
bool cli_quiet_option(const char *opt, const char *arg,
                      const char *const *accepted, GError **err);

/* -readconfig FILE (cli_readconfig.c): QEMU's config file format. */
bool cli_readconfig(struct parse_state *st, const char *path, GError **err);
/* Applies option name (without the dash) with arg, as on the command line. */
bool cli_apply_option(struct parse_state *st, const char *name,
                      const char *arg, GError **err);

/* Option handlers kept outside cli.c's table file: -m (cli_mem.c); -name,
 * -overcommit, -msg, -rtc, -boot, -action (cli_qemu.c). */
bool cli_opt_memory(struct parse_state *st, const char *arg, GError **err);
bool cli_opt_name(struct parse_state *st, const char *arg, GError **err);
bool cli_opt_overcommit(struct parse_state *st, const char *arg,
                        GError **err);
bool cli_opt_msg(struct parse_state *st, const char *arg, GError **err);
bool cli_opt_rtc(struct parse_state *st, const char *arg, GError **err);
bool cli_opt_boot(struct parse_state *st, const char *arg, GError **err);
bool cli_opt_action(struct parse_state *st, const char *arg, GError **err);
