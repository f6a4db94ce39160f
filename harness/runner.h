/*
 * Runs a loaded scenario against a VMM and prints TAP (docs/harness.md).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "scenario.h"

struct runner_options {
    const char *vmm;            /* program to start (PATH lookup if no '/') */
    GHashTable *defines;        /* -D NAME=VALUE (may be NULL) */
    double timeout_scale;       /* multiplies every timeout (>= 0.01) */
};

/*
 * Walks the scenario without starting anything: expands repeats, parses
 * every step with its variables substituted. Returns the number of TAP
 * test points, or -1 with err set.
 */
int runner_check(const struct scenario *scn, const struct runner_options *opt,
                 GError **err);

/* Runs the scenario; prints TAP on stdout. Returns the exit status (0/1). */
int runner_run(const struct scenario *scn, const struct runner_options *opt);
