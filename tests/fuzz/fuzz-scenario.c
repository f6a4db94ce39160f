/*
 * Fuzz target: the harness's scenario parser (harness/scenario.c,
 * docs/harness.md "Scenario format"). The input is a scenario file. It is
 * loaded as hotmem-harness loads one (-D ROIMG=... and -D N=... given);
 * when it loads, every step is substituted and parsed again as the runner
 * does at run time, with variables standing for values a console capture
 * could bring (empty, quotes, braces, spaces, a number). Checked: refusals
 * name the file and line, every repeat is paired with an end after it,
 * nothing leaks.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "fuzzvm.h"
#include "scenario.h"

static const char *const values[] = { "0", "", "\"", "}", "a b", "-1",
                                      "${X}", "18446744073709551616" };

static const char *run_lookup(const char *name, void *opaque)
{
    unsigned *next = opaque;

    return values[(*next)++ % G_N_ELEMENTS(values)];
}

static void replay_steps(struct scenario *scn)
{
    unsigned next = 0;

    for (guint i = 0; i < scn->lines->len; i++) {
        const struct scenario_line *l = &g_array_index(
            scn->lines, struct scenario_line, i);
        g_autoptr(GError) err = NULL;
        g_autofree char *text = NULL;
        struct step s = { .seconds = -1 };

        if (l->kind == STEP_REPEAT) {
            const struct scenario_line *end;

            if (l->end <= i || l->end >= scn->lines->len)
                fuzz_fail("repeat on line %d has no end after it", l->lineno);
            end = &g_array_index(scn->lines, struct scenario_line, l->end);
            if (end->kind != STEP_END)
                fuzz_fail("repeat on line %d ends at a %s step", l->lineno,
                          step_kind_name(end->kind));
        }
        if (l->kind == STEP_END)
            continue;
        text = scenario_substitute(l->text, run_lookup, &next, &err);
        if (text && scenario_parse_step(text, &s, &err)) {
            if (s.kind != l->kind)
                fuzz_fail("line %d was a %s step and parses as %s",
                          l->lineno, step_kind_name(l->kind),
                          step_kind_name(s.kind));
        } else if (!err || !err->message[0]) {
            fuzz_fail("line %d refused without saying why", l->lineno);
        }
        step_clear(&s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = g_strndup((const char *)data, size);
    GHashTable *defines = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GError) err = NULL;
    struct scenario *scn;

    g_hash_table_add(defines, "ROIMG");
    g_hash_table_add(defines, "N");
    scn = scenario_load_text("fuzz.scn", text, defines, &err);
    if (scn) {
        replay_steps(scn);
        scenario_free(scn);
    } else if (!err || !g_str_has_prefix(err->message, "fuzz.scn:")) {
        fuzz_fail("scenario refused without naming file and line: %s",
                  err ? err->message : "(no error)");
    }
    g_hash_table_destroy(defines);
    return 0;
}
