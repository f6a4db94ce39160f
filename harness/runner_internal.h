/*
 * Runner internals shared by runner.c (engine) and runner_steps.c.
 */
#pragma once

#include "runner.h"
#include "qmpc.h"
#include "vmproc.h"

struct runner {
    const struct scenario *scn;
    const struct runner_options *opt;
    bool dry;                   /* runner_check(): parse and count only */
    bool used_capture;          /* dry: a lookup fell back to "0" */
    int points;                 /* TAP test points so far */
    double timeout;             /* default wait, seconds (set timeout) */
    GHashTable *vars;           /* name -> value */
    struct vmproc *vm;
    GPtrArray *clients;         /* struct qmpc * in scn->clients order */
    char *tmpdir;
    GString *expected;          /* failure report: what the step wanted */
    GString *got;               /* failure report: what happened instead */
    const char *fail_client;    /* client whose traffic to show, or NULL */
};

/* Appends to r->got (what arrived instead) and returns false. */
bool runner_failf(struct runner *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Deadline for a wait step: its timeout= or the default, scaled. */
gint64 runner_deadline(struct runner *r, double step_seconds);

/* Polls every fd once, for at most until deadline; reaps the VMM. */
void runner_pump(struct runner *r, gint64 deadline);

/* Executes one step (never STEP_SET/CLIENT/REPEAT/END); false = failed,
 * with r->expected and r->got filled. */
bool runner_exec_step(struct runner *r, const struct step *s);

/* Spawns the VMM and connects the clients (STEP_START). */
bool runner_start(struct runner *r, const struct step *s);
