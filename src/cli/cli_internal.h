/* Helpers shared by the command-line parser's files (not a public API). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "cli/cli.h"

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
