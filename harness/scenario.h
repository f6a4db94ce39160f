/*
 * Scenario files: loading, variable substitution and step parsing
 * (docs/harness.md, "Scenario format").
 *
 * A scenario is loaded once (comments stripped, keywords checked, every
 * line parsed with its variables replaced by "0" so syntax errors show up
 * before a VM is started, repeat/end paired, QMP clients collected). Steps
 * are parsed again at run time, after the real values of the variables
 * have been substituted.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

#define SCENARIO_ERROR (scenario_error_quark())
GQuark scenario_error_quark(void);

/* The client used by steps that name none. */
#define SCENARIO_DEFAULT_CLIENT "main"

enum step_kind {
    STEP_SET,           /* set timeout SECONDS */
    STEP_CLIENT,        /* client @NAME [auto|raw] */
    STEP_START,         /* start ARGS... */
    STEP_QMP,           /* qmp [@C] {JSON} [-> EXPECT] */
    STEP_QMP_RAW,       /* qmp-raw [@C] "TEXT" [-> EXPECT] */
    STEP_GREETING,      /* greeting [@C] [PATTERN] */
    STEP_EVENT,         /* event [@C] NAME [PATTERN] */
    STEP_NO_EVENT,      /* no-event [@C] NAME [PATTERN] */
    STEP_CONSOLE,       /* console "PREFIX" [as VAR] */
    STEP_SEND,          /* send "TEXT" */
    STEP_SLEEP,         /* sleep MS */
    STEP_EXPECT_EXIT,   /* expect-exit STATUS */
    STEP_KILL,          /* kill SIGNAL */
    STEP_CLOSE,         /* close [@C] */
    STEP_VMM_FDS,       /* vmm-fds N | vmm-fds as VAR */
    STEP_REPEAT,        /* repeat N [as VAR] */
    STEP_END,           /* end */
};

enum reply_expect {
    EXPECT_RETURN,      /* {"return": V}, V matches pattern (if any) */
    EXPECT_ERROR,       /* {"error": {"class", "desc"}} */
    EXPECT_REPLY,       /* the whole reply object matches pattern */
    EXPECT_NOTHING,     /* qmp-raw only: do not wait for a reply */
};

struct step {
    enum step_kind kind;
    char *client;           /* client name without '@' (never NULL where used) */
    char *text;             /* console prefix, send text, qmp-raw bytes,
                               qmp command as written, event name */
    gsize text_len;
    char *var;              /* console/qmp/vmm-fds/repeat ... as VAR */
    bool has_pattern;       /* else anything matches */
    json_object *pattern;   /* NULL is JSON null */
    enum reply_expect expect;
    char *error_class;      /* NULL: any class */
    char *error_desc;       /* NULL: any description; else a substring */
    bool client_raw;        /* client @C raw */
    char **argv;            /* start */
    double seconds;         /* timeout= (or set timeout); < 0: default */
    gint64 number;          /* sleep ms, exit status, signal, repeat count,
                               vmm-fds count */
};

void step_clear(struct step *s);

/* One non-empty line of a scenario file, comment stripped. */
struct scenario_line {
    int lineno;
    enum step_kind kind;
    char *text;             /* the whole line, trimmed, without comment */
    guint end;              /* repeat: index of its end line */
};

struct scenario {
    char *path;
    char *name;             /* basename of path */
    GArray *lines;          /* struct scenario_line */
    GPtrArray *clients;     /* char *: client names used, in order of
                               first mention */
    GPtrArray *raw_clients; /* char *: names declared "client @X raw" */
};

/*
 * Loads and checks a scenario file. defines are the -D NAME=VALUE
 * variables (may be NULL); only their names matter here.
 */
struct scenario *scenario_load(const char *path, GHashTable *defines,
                               GError **err);
/* Same from text already in memory; path is used in messages. */
struct scenario *scenario_load_text(const char *path, const char *text,
                                    GHashTable *defines, GError **err);
void scenario_free(struct scenario *scn);
bool scenario_client_is_raw(const struct scenario *scn, const char *name);

/*
 * Replaces every ${NAME} in text with lookup(NAME); fails on an unknown
 * name or a malformed reference. A '$' not followed by '{' is kept.
 */
typedef const char *(*scenario_lookup)(const char *name, void *opaque);
char *scenario_substitute(const char *text, scenario_lookup lookup,
                          void *opaque, GError **err);

/* Parses one substituted line into out (cleared first). */
bool scenario_parse_step(const char *text, struct step *out, GError **err);

/* The keyword of a step kind ("qmp-raw", ...). */
const char *step_kind_name(enum step_kind kind);
