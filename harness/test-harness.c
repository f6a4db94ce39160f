/*
 * Self-test of hotmem-harness without KVM: unit tests of the scenario
 * lexer, parser, substitution, JSON matching and QMP stream splitting, then
 * the real binary run against fake-vmm on small scenarios that pass, fail
 * and time out on purpose, and on the scenarios in tests/scenarios.
 *
 * Environment (set by harness/meson.build): HARNESS_BIN, FAKE_VMM,
 * SCENARIO_DIR.
 */
#include <string.h>
#include <sys/wait.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "jsonmatch.h"
#include "qmpc.h"
#include "scenario.h"

/* ---- parsing ---- */

static const struct {
    const char *line;
    bool ok;
    enum step_kind kind;
} parse_cases[] = {
    { "set timeout 2.5", true, STEP_SET },
    { "set timeout -1", false, 0 },
    { "set speed 3", false, 0 },
    { "client @b raw", true, STEP_CLIENT },
    { "client b", false, 0 },
    { "start -m 512M,slots=4,maxmem=2G -append 'a b # c'", true, STEP_START },
    { "start -serial file:/tmp/x", false, 0 },
    { "start -serial stdio", true, STEP_START },
    { "start --daemonize", false, 0 },
    { "qmp {\"execute\": \"stop\"}", true, STEP_QMP },
    { "qmp @x {\"execute\": \"stop\"} -> return {}", true, STEP_QMP },
    { "qmp {\"execute\": \"x\"} -> error GenericError \"in use\" timeout=3",
      true, STEP_QMP },
    { "qmp {\"execute\": \"x\"} -> error", true, STEP_QMP },
    { "qmp {\"execute\": \"x\"} -> error \"desc\"", false, 0 },
    { "qmp {\"execute\": \"x\"} -> reply {\"id\": 1}", true, STEP_QMP },
    { "qmp {\"execute\": \"x\"} -> reply", false, 0 },
    { "qmp {\"execute\": \"x\"} -> nothing", false, 0 },
    { "qmp {\"execute\": \"x\"} -> return 5", true, STEP_QMP },
    { "qmp {\"execute\": \"x\"} return {}", false, 0 },
    { "qmp {\"execute\": \"x\"}-> return {}", false, 0 },
    { "qmp {\"execute\": ", false, 0 },
    { "qmp [1]", false, 0 },
    { "qmp \"text\"", false, 0 },
    { "qmp {\"execute\": \"x\"} -> return as v", true, STEP_QMP },
    { "qmp {\"execute\": \"x\"} -> return {} as v", true, STEP_QMP },
    { "qmp {\"execute\": \"x\"} as v", true, STEP_QMP },
    { "qmp {\"execute\": \"x\"} as", false, 0 },
    { "qmp {\"execute\": \"x\"} as 1v", false, 0 },
    { "qmp {\"execute\": \"x\"} -> reply {} as v", false, 0 },
    { "qmp {\"execute\": \"x\"} -> error as v", false, 0 },
    { "qmp-raw @c \"garbage\\n\" -> error GenericError", true, STEP_QMP_RAW },
    { "qmp-raw \"{\\\"exec\" -> nothing", true, STEP_QMP_RAW },
    { "qmp-raw \"\\q\"", false, 0 },
    { "qmp-raw \"unterminated", false, 0 },
    { "greeting @b {\"version\": {}}", true, STEP_GREETING },
    { "event DEVICE_DELETED {\"device\": \"d1\"} timeout=10", true, STEP_EVENT },
    { "event @b STOP", true, STEP_EVENT },
    { "event", false, 0 },
    { "event X timeout=soon", false, 0 },
    { "no-event DEVICE_DELETED {\"device\": \"d1\"}", true, STEP_NO_EVENT },
    { "no-event @b STOP", true, STEP_NO_EVENT },
    { "no-event", false, 0 },
    { "no-event STOP timeout=1", false, 0 },
    { "vmm-fds 12", true, STEP_VMM_FDS },
    { "vmm-fds as fds", true, STEP_VMM_FDS },
    { "vmm-fds", false, 0 },
    { "vmm-fds many", false, 0 },
    { "vmm-fds 3 as x", false, 0 },
    { "vmm-fds as", false, 0 },
    { "console \"hotmem-guest: ready ram=0x\" as ready", true, STEP_CONSOLE },
    { "console \"a\" as 9x", false, 0 },
    { "console prefix", false, 0 },
    { "console \"a\\nb\"", false, 0 },
    { "send \"poweroff\"", true, STEP_SEND },
    { "send \"x\" extra", false, 0 },
    { "sleep 100", true, STEP_SLEEP },
    { "sleep 1.5", false, 0 },
    { "sleep 100 timeout=1", false, 0 },
    { "expect-exit 0 timeout=5", true, STEP_EXPECT_EXIT },
    { "expect-exit 256", false, 0 },
    { "kill TERM", true, STEP_KILL },
    { "kill SIGKILL", true, STEP_KILL },
    { "kill 9", true, STEP_KILL },
    { "kill TERMINATE", false, 0 },
    { "close @b", true, STEP_CLOSE },
    { "repeat 16", true, STEP_REPEAT },
    { "repeat 4 as j", true, STEP_REPEAT },
    { "repeat many", false, 0 },
    { "launch", false, 0 },
};

static void test_parse(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
        g_autoptr(GError) err = NULL;
        struct step s = { 0 };
        bool ok = scenario_parse_step(parse_cases[i].line, &s, &err);

        if (ok != parse_cases[i].ok)
            g_error("\"%s\": expected %s, got %s", parse_cases[i].line,
                    parse_cases[i].ok ? "success" : "an error",
                    err ? err->message : "success");
        if (ok)
            g_assert_cmpint(s.kind, ==, parse_cases[i].kind);
        else
            g_assert_nonnull(err);
        step_clear(&s);
    }
}

static void test_parse_details(void)
{
    struct step s = { 0 };

    g_assert_true(scenario_parse_step("qmp @b2 {\"execute\": \"x\"}  -> "
                  "error DeviceNotFound \"not #found\" timeout=0.5", &s, NULL));
    g_assert_cmpstr(s.client, ==, "b2");
    g_assert_cmpstr(s.text, ==, "{\"execute\": \"x\"}");
    g_assert_cmpint(s.expect, ==, EXPECT_ERROR);
    g_assert_cmpstr(s.error_class, ==, "DeviceNotFound");
    g_assert_cmpstr(s.error_desc, ==, "not #found");
    g_assert_cmpfloat(s.seconds, ==, 0.5);

    g_assert_true(scenario_parse_step("qmp-raw \"a\\x00b\\r\\n\\t\\\\\\\"\"",
                                      &s, NULL));
    g_assert_cmpstr(s.client, ==, SCENARIO_DEFAULT_CLIENT);
    g_assert_cmpuint(s.text_len, ==, 8);
    g_assert_cmpmem(s.text, 8, "a\0b\r\n\t\\\"", 8);
    g_assert_cmpint(s.expect, ==, EXPECT_RETURN);
    g_assert_false(s.has_pattern);

    g_assert_true(scenario_parse_step("event X null", &s, NULL));
    g_assert_true(s.has_pattern);
    g_assert_null(s.pattern);

    g_assert_true(scenario_parse_step("start -m 1G 'a b' \"c d\"", &s, NULL));
    g_assert_cmpuint(g_strv_length(s.argv), ==, 4);
    g_assert_cmpstr(s.argv[2], ==, "a b");
    g_assert_cmpstr(s.argv[3], ==, "c d");

    g_assert_true(scenario_parse_step("repeat 3", &s, NULL));
    g_assert_cmpint(s.number, ==, 3);
    g_assert_cmpstr(s.var, ==, "i");
    step_clear(&s);
}

static const char *test_lookup(const char *name, void *opaque)
{
    if (!strcmp(name, "i"))
        return "7";
    if (!strcmp(name, "addr"))
        return "0x100000000";
    if (!strcmp(name, "word"))
        return "abc";
    if (!strcmp(name, "obj.key"))
        return "[1, 2]";
    return NULL;
}

static void test_substitute(void)
{
    static const struct { const char *in, *out; } cases[] = {
        { "dimm${i}", "dimm7" },
        { "${i}${i}", "77" },
        { "$i ${i} $ {i} $$", "$i 7 $ {i} $$" },
        { "${i+1} ${i-7} ${i*3} ${i+0x10}", "8 0 21 23" },
        { "${addr+8} ${addr-0x1000} ${addr*2}",
          "0x100000008 0xfffff000 0x200000000" },
        { "{\"k\": ${obj.key}}", "{\"k\": [1, 2]}" },
        { "${obj.nope}", NULL },
        { "${.key}", NULL },
        { "${i-8}", NULL },
        { "${word+1}", NULL },
        { "${nope}", NULL },
        { "${i", NULL },
        { "${}", NULL },
        { "${i+}", NULL },
        { "${i+z}", NULL },
    };

    for (gsize k = 0; k < G_N_ELEMENTS(cases); k++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *out = scenario_substitute(cases[k].in, test_lookup,
                                                   NULL, &err);

        g_assert_cmpstr(out, ==, cases[k].out);
        g_assert_true(!out == !!err);
    }
}

/* ---- loading ---- */

static void test_load(void)
{
    static const struct { const char *text, *error; } cases[] = {
        { "start\nrepeat 2\n  repeat 2 as j\n    send \"${i}${j}\"\n  end\n"
          "end\n", NULL },
        { "# only comments\n\n   # and blanks\n", NULL },
        { "start\nrepeat 2\nsend \"x\"\n", ":2: repeat without end" },
        { "start\nend\n", ":2: end without repeat" },
        { "start\nrepeat 2\nend now\n", ":3: end takes no arguments" },
        { "start\nfrobnicate\n", ":2: unknown step \"frobnicate\"" },
        { "send \"x\"\nstart\n", ":1: send needs the VM" },
        { "start\nclient @b\n", ":2: client declarations must come before" },
        { "start\nstart\n", ":2: a scenario runs one VM" },
        { "start\nsend \"${k}\"\n", ":2: undefined variable ${k}" },
        { "start\nrepeat 2\nend\nsend \"${i}\"\n", ":4: undefined variable" },
        { "start\nconsole \"x\" as v\nsend \"${v}\"\n", NULL },
        { "start\nqmp {\"execute\": \"x\"} as r\n"
          "qmp {\"execute\": \"x\"} -> return {\"a\": ${r.a}}\n", NULL },
        { "start\nsend \"${r.a}\"\n", ":2: undefined variable ${r.a}" },
        { "start\nvmm-fds as f\nvmm-fds ${f}\n", NULL },
        { "start\nsend \"${D}\" # ${nope} in a comment\n", NULL },
        { "repeat 1\nstart\nend\n", ":2: start cannot be inside" },
    };
    g_autoptr(GHashTable) defs = g_hash_table_new(g_str_hash, g_str_equal);

    g_hash_table_insert(defs, "D", "1");
    for (gsize k = 0; k < G_N_ELEMENTS(cases); k++) {
        g_autoptr(GError) err = NULL;
        struct scenario *scn = scenario_load_text("t.scn", cases[k].text,
                                                  defs, &err);

        if (!cases[k].error) {
            if (!scn)
                g_error("case %zu: %s", k, err->message);
        } else {
            g_assert_null(scn);
            if (!strstr(err->message, cases[k].error))
                g_error("case %zu: \"%s\" does not contain \"%s\"", k,
                        err->message, cases[k].error);
        }
        scenario_free(scn);
    }
}

static void test_load_clients(void)
{
    struct scenario *scn = scenario_load_text("t.scn",
        "client @r raw\nstart\nevent @b X\nqmp {\"execute\": \"a\"}\n"
        "qmp @b {\"execute\": \"a\"}\n", NULL, NULL);

    g_assert_nonnull(scn);
    g_assert_cmpuint(scn->clients->len, ==, 3);
    g_assert_cmpstr(scn->clients->pdata[0], ==, "r");
    g_assert_cmpstr(scn->clients->pdata[1], ==, "b");
    g_assert_cmpstr(scn->clients->pdata[2], ==, SCENARIO_DEFAULT_CLIENT);
    g_assert_true(scenario_client_is_raw(scn, "r"));
    g_assert_false(scenario_client_is_raw(scn, "b"));
    scenario_free(scn);
}

/* ---- matching ---- */

static void test_match(void)
{
    static const struct { const char *pattern, *value; bool match; } cases[] = {
        { "{}", "{\"a\": 1}", true },
        { "{}", "[]", false },
        { "{\"a\": 1}", "{\"a\": 1, \"b\": 2}", true },
        { "{\"a\": 1}", "{\"a\": 1.0}", true },
        { "{\"a\": 1}", "{\"a\": \"1\"}", false },
        { "{\"a\": 1}", "{\"b\": 1}", false },
        { "{\"a\": {\"b\": [1, {\"c\": true}]}}",
          "{\"a\": {\"b\": [1, {\"c\": true, \"d\": 0}], \"e\": null}}", true },
        { "{\"a\": [1, 2]}", "{\"a\": [1, 2, 3]}", false },
        { "{\"a\": [2, 1]}", "{\"a\": [1, 2]}", false },
        { "[]", "[]", true },
        { "{\"a\": null}", "{\"a\": null}", true },
        { "{\"a\": null}", "{\"a\": 0}", false },
        { "{\"a\": false}", "{\"a\": true}", false },
        { "{\"s\": \"x\"}", "{\"s\": \"xy\"}", false },
        { "{\"n\": 18446744073709551615}", "{\"n\": 18446744073709551615}",
          true },
        { "{\"n\": -1}", "{\"n\": 18446744073709551615}", false },
        { "{\"n\": 4294967296}", "{\"n\": 4294967296}", true },
    };

    for (gsize k = 0; k < G_N_ELEMENTS(cases); k++) {
        json_object *p = json_tokener_parse(cases[k].pattern);
        json_object *v = json_tokener_parse(cases[k].value);
        g_autoptr(GString) why = g_string_new(NULL);

        if (json_match(p, v, why) != cases[k].match)
            g_error("%s vs %s: expected %s (%s)", cases[k].pattern,
                    cases[k].value, cases[k].match ? "a match" : "no match",
                    why->str);
        g_assert_true(cases[k].match == !why->len);
        json_object_put(p);
        json_object_put(v);
    }
}

static void test_match_why(void)
{
    json_object *p = json_tokener_parse("{\"info\": {\"slot\": \"0\"}}");
    json_object *v = json_tokener_parse("{\"info\": {\"slot\": \"1\"}}");
    g_autoptr(GString) why = g_string_new(NULL);

    g_assert_false(json_match(p, v, why));
    g_assert_cmpstr(why->str, ==, ".info.slot: expected \"0\", got \"1\"");
    json_object_put(p);
    json_object_put(v);
}

/* ---- QMP stream ---- */

static void test_qmp_stream(void)
{
    struct qmpc *c = qmpc_new("t", "/nonexistent", false);
    const char *stream = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}"
                         "\r\n{\"return\": {}}\r\n{\"event\": \"STOP\", "
                         "\"data\": {}, \"timestamp\": {\"seconds\": 1}}\r\n"
                         "{\"error\": {\"class\": \"GenericError\", "
                         "\"desc\": \"a } in \\\"text\\\"\"}}\r\n";

    /* Byte by byte: message boundaries never depend on read sizes. */
    for (const char *p = stream; *p; p++)
        qmpc_feed(c, p, 1);
    g_assert_nonnull(c->greeting);
    g_assert_cmpuint(c->replies.length, ==, 2);
    g_assert_cmpuint(c->events.length, ==, 1);
    g_assert_null(c->broken);
    qmpc_feed(c, "{\"return\": 1}{\"return\": 2}\n", 27);
    g_assert_cmpuint(c->replies.length, ==, 4);
    qmpc_feed(c, "}oops\r\n", 7);
    g_assert_nonnull(c->broken);
    qmpc_free(c);
}

/* ---- the binary against fake-vmm ---- */

struct run {
    int status;
    char *out, *err;
    double seconds;
};

static void run_clear(struct run *r)
{
    g_free(r->out);
    g_free(r->err);
}

static struct run run_harness(const char *text, const char *const *extra)
{
    g_autofree char *dir = g_dir_make_tmp("harness-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "t.scn", NULL);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    struct run r = { 0 };
    gint64 t0 = g_get_monotonic_time();
    int wait_status;

    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    g_ptr_array_add(argv, (char *)g_getenv("HARNESS_BIN"));
    g_ptr_array_add(argv, "--vmm");
    g_ptr_array_add(argv, (char *)g_getenv("FAKE_VMM"));
    for (; extra && *extra; extra++)
        g_ptr_array_add(argv, (char *)*extra);
    g_ptr_array_add(argv, path);
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, 0, NULL, NULL,
                      &r.out, &r.err, &wait_status, &err))
        g_error("spawn: %s", err->message);
    r.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    r.seconds = (g_get_monotonic_time() - t0) / 1e6;
    g_unlink(path);
    g_rmdir(dir);
    if (g_test_verbose())
        g_printerr("%s%s", r.out, r.err);
    return r;
}

static void assert_contains(const struct run *r, const char *what)
{
    if (!strstr(r->out, what))
        g_error("output lacks \"%s\":\n%s", what, r->out);
}

static guint count_lines(const char *out, const char *prefix)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    guint n = 0;

    for (guint i = 0; lines[i]; i++)
        n += g_str_has_prefix(lines[i], prefix);
    return n;
}

/* A table of small scenarios: how they must end, what they must print. */
static const struct {
    const char *name, *text;
    int status;
    const char *must[4];
    double max_seconds;
} run_cases[] = {
    { "pass",
      "start -m 512M\n"
      "console \"hotmem-guest: ready ram=0x\"\n"
      "qmp {\"execute\": \"query-status\", \"id\": 7} -> return "
      "{\"status\": \"running\"}\n"
      "qmp {\"execute\": \"nope\"} -> error CommandNotFound \"been found\"\n"
      "qmp {\"execute\": \"stop\"} -> reply {\"return\": {}}\n"
      "event STOP\n"
      "send \"echo a # b\"\n"
      "console \"hotmem-guest: echo a # b\"\n"
      "send \"poweroff\"\n"
      "expect-exit 0\n",
      0, { "1..10\n", "ok 10 - t.scn:10 expect-exit 0",
           "ok 7 - t.scn:7 send \"echo a \\# b\"" }, 10 },
    { "return mismatch",
      "start\nqmp {\"execute\": \"query-status\"} -> return "
      "{\"status\": \"paused\"}\nsend \"poweroff\"\n",
      1, { "not ok 2 - t.scn:2 qmp", "at .status: expected \"paused\", "
           "got \"running\"", "last QMP messages on @main:", "Bail out!" }, 10 },
    { "error expected, return got",
      "start\nqmp {\"execute\": \"query-status\"} -> error\n",
      1, { "expected: an error reply", "got: {\"return\"" }, 10 },
    { "error class mismatch",
      "start\nqmp {\"execute\": \"nope\"} -> error GenericError\n",
      1, { "(class differs)" }, 10 },
    { "error description mismatch",
      "start\nqmp {\"execute\": \"nope\"} -> error CommandNotFound \"zzz\"\n",
      1, { "(description differs)" }, 10 },
    { "console timeout",
      "start\nconsole \"never\" timeout=0.3\n",
      1, { "not ok 2", "timed out", "last console lines:",
           "hotmem-guest: ready" }, 5 },
    { "default timeout",
      "set timeout 0.3\nstart\nevent NEVER\n",
      1, { "not ok 2", "within 0.3 s", "unconsumed events on @main: none" },
      5 },
    { "timeout scale",
      "start\nevent NEVER timeout=3\n",
      1, { "within 0.3 s" }, 2.5 },
    { "VMM exits while a console line is awaited",
      "start\nsend \"exit 3\"\nconsole \"never\"\n",
      1, { "the console was closed (the VMM exited with status 3)" }, 5 },
    { "VMM exits while a reply is awaited",
      "start\nsend \"exit 4\"\nsleep 200\nqmp {\"execute\": \"stop\"}\n",
      1, { "not ok 4", "exited with status 4" }, 5 },
    { "expect-exit status mismatch",
      "start\nsend \"exit 3\"\nexpect-exit 0\n",
      1, { "expected: the VMM to exit with status 0",
           "got: the VMM exited with status 3" }, 5 },
    { "expect-exit timeout",
      "start\nexpect-exit 0 timeout=0.2\n",
      1, { "got: still running" }, 5 },
    { "kill",
      "start\nconsole \"hotmem-guest: ready\"\nkill TERM\nexpect-exit 143\n",
      0, { "ok 4" }, 5 },
    { "start fails: the VMM exits before its socket exists",
      "start -fake-exit 1\nqmp {\"execute\": \"stop\"}\n",
      1, { "not ok 1 - t.scn:1 start", "exited with status 1 before" }, 5 },
    { "slow QMP socket",
      "start -fake-qmp-delay 300\nqmp {\"execute\": \"query-status\"}\n",
      0, { "ok 2" }, 5 },
    { "repeat and variables",
      "start\nrepeat 3\n  repeat 2 as j\n    send \"echo ${i}-${j}-${D}\"\n"
      "    console \"hotmem-guest: echo ${i}-${j}-\" as v\n"
      "    send \"echo got ${v} ${i*2}\"\n"
      "    console \"hotmem-guest: echo got x ${i*2}\"\n"
      "  end\nend\nsend \"poweroff\"\nexpect-exit 0\n",
      0, { "1..27\n", "ok 25 - t.scn:7 console \"hotmem-guest: echo got x 4\"",
           "ok 23 - t.scn:5 console \"hotmem-guest: echo 2-1-\" as v" }, 10 },
    { "console consumes up to the match",
      "start\nsend \"echo 1\"\nsend \"echo 2\"\nsend \"echo 3\"\n"
      "console \"hotmem-guest: echo 2\"\nconsole \"hotmem-guest: echo 3\"\n"
      "console \"hotmem-guest: echo 1\" timeout=0.3\n",
      1, { "ok 6", "not ok 7" }, 5 },
    { "events: subset data, out of order, consumed once",
      "start\nsend \"emit E1 {\\\"a\\\": {\\\"b\\\": 1, \\\"c\\\": [1, 2]}}\"\n"
      "send \"emit E2\"\n"
      "event E2\nevent E1 {\"a\": {\"c\": [1, 2]}}\nevent E1 timeout=0.2\n",
      1, { "ok 5 - t.scn:5 event E1", "not ok 6" }, 5 },
    { "event data mismatch lists the queue",
      "start\nsend \"emit E1 {\\\"x\\\": 1}\"\nevent E1 {\"x\": 2} timeout=0.3\n",
      1, { "unconsumed events on @main:", "\"event\":\"E1\"" }, 5 },
    { "two clients both see events",
      "start\nqmp @b {\"execute\": \"query-status\"}\n"
      "send \"emit HELLO\"\nevent @b HELLO\nevent HELLO\n",
      0, { "1..5", "ok 5" }, 5 },
    { "raw client: greeting, negotiation, split and garbage input",
      "client @r raw\nstart\ngreeting @r {\"capabilities\": []}\n"
      "qmp @r {\"execute\": \"query-status\"} -> error CommandNotFound "
      "\"capabilities\"\n"
      "qmp-raw @r \"{\\\"execute\\\": \\\"qmp_capabilities\\\"}\\r\\n\" -> "
      "return {}\n"
      "qmp-raw @r \"{\\\"execute\\\": \" -> nothing\n"
      "qmp-raw @r \"\\\"query-status\\\"}\\n\" -> return {\"running\": true}\n"
      "qmp-raw @r \"garbage\\n\" -> error GenericError \"JSON parse error\"\n"
      "qmp @r {\"execute\": \"query-status\"}\n",
      0, { "1..8", "ok 8" }, 5 },
    { "VMM sends bad JSON",
      "start\nsend \"garbage\"\nsleep 100\nqmp {\"execute\": \"stop\"}\n",
      1, { "the VMM sent bad JSON" }, 5 },
    { "VMM hangs up",
      "start\nsend \"hangup\"\nsleep 100\nqmp {\"execute\": \"stop\"}\n",
      1, { "closed @main's connection" }, 5 },
    { "closed client",
      "start\nqmp @b {\"execute\": \"stop\"}\nclose @b\n"
      "qmp @b {\"execute\": \"cont\"}\n",
      1, { "not ok 4", "closed by a close step" }, 5 },
    { "last console line without a newline",
      "start\nsend \"tail bye\"\nconsole \"bye\"\nexpect-exit 0\n",
      0, { "ok 4" }, 5 },
    { "scenario ends with the VM running",
      "start\nconsole \"hotmem-guest: ready\"\n",
      0, { "1..2", "ok 2" }, 8 },
    { "bad scenario file",
      "start\nqmp {\"execute\": }\n",
      1, { "Bail out! ", "t.scn:2: bad JSON" }, 5 },
    { "arithmetic on a captured hex number",
      "start\nconsole \"hotmem-guest: ready ram=\" as r\n"
      "send \"echo ${r*2}\"\nsend \"echo ${r+1}\"\n",
      0, { "ok 4 - t.scn:4 send \"echo 0x10000001\"" }, 5 },
    { "qmp ... as: the return value and its members",
      "start\nqmp {\"execute\": \"query-status\"} -> return as st\n"
      "qmp {\"execute\": \"query-status\"} -> return ${st}\n"
      "qmp {\"execute\": \"query-status\"} -> return "
      "{\"status\": ${st.status}}\n"
      "qmp {\"execute\": \"stop\"}\n"
      "qmp {\"execute\": \"query-status\"} -> return ${st}\n",
      1, { "ok 4 - t.scn:4 qmp {\"execute\": \"query-status\"} -> return "
           "{\"status\": \"running\"}", "not ok 6",
           "at .status: expected \"running\", got \"paused\"" }, 5 },
    { "qmp ... as: a member the value does not have",
      "start\nqmp {\"execute\": \"query-status\"} as st\n"
      "send \"echo ${st.nope}\"\n",
      1, { "ok 2", "Bail out! t.scn:3: undefined variable ${st.nope}" }, 5 },
    { "no-event: passes on other events, fails on a queued one",
      "start\nsend \"emit E1 {\\\"x\\\": 1}\"\nsleep 200\n"
      "no-event E2\nno-event E1 {\"x\": 2}\nno-event E1\n",
      1, { "ok 5 - t.scn:5 no-event E1", "not ok 6",
           "expected: no queued event E1 on @main with data matching anything",
           "got: {\"event\":\"E1\",\"data\":{\"x\":1}" }, 5 },
    { "vmm-fds: the count, and a wrong one listed",
      "start\nvmm-fds as f\nvmm-fds ${f}\nvmm-fds ${f+1}\n",
      1, { "ok 3 - t.scn:3 vmm-fds", "not ok 4",
           "the VMM to have", "  0 -> " }, 5 },
    { "arithmetic on a non-number",
      "start\nconsole \"hotmem-guest: \" as w\nsend \"echo ${w+1}\"\n",
      1, { "not ok 3", "${w} is \"ready\", not a number" }, 5 },
};

static void test_run(gconstpointer data)
{
    gsize k = GPOINTER_TO_SIZE(data);
    const char *scale[] = { "--timeout-scale", "0.1", "-D", "D=x", NULL };
    const char *none[] = { "-D", "D=x", NULL };
    struct run r = run_harness(run_cases[k].text, !strcmp(run_cases[k].name,
                               "timeout scale") ? scale : none);
    g_auto(GStrv) lines = NULL;

    if (r.status != run_cases[k].status)
        g_error("exit status %d, expected %d:\n%s%s", r.status,
                run_cases[k].status, r.out, r.err);
    for (gsize m = 0; m < G_N_ELEMENTS(run_cases[k].must) &&
         run_cases[k].must[m]; m++)
        assert_contains(&r, run_cases[k].must[m]);
    if (r.seconds > run_cases[k].max_seconds)
        g_error("took %.1f s, limit %.1f s", r.seconds,
                run_cases[k].max_seconds);
    /* A failure's report reaches stderr too, which meson shows. */
    if (strstr(r.out, "not ok ") && !strstr(r.err, "FAILED at"))
        g_error("no failure report on stderr:\n%s", r.err);
    /* The TAP stream stays well formed: no other lines. */
    lines = g_strsplit(r.out, "\n", -1);
    g_assert_cmpuint(count_lines(r.out, "ok ") + count_lines(r.out, "not ok ")
                     + count_lines(r.out, "# ") + count_lines(r.out, "1..")
                     + count_lines(r.out, "Bail out!") + 1, ==,
                     g_strv_length(lines));
    run_clear(&r);
}

static void test_verbose(void)
{
    const char *v[] = { "--verbose", NULL };
    struct run r = run_harness("start\nqmp {\"execute\": \"stop\"}\n"
                               "send \"poweroff\"\nexpect-exit 0\n", v);

    g_assert_cmpint(r.status, ==, 0);
    assert_contains(&r, "# console: hotmem-guest: ready ram=0x10000000");
    assert_contains(&r, "# qmp @main -> {\"execute\": \"stop\"}");
    assert_contains(&r, "# qmp @main <- {\"event\":\"STOP\"");
    assert_contains(&r, "# console< poweroff");
    assert_contains(&r, "# VMM exited: status 0");
    run_clear(&r);
}

static void test_missing_vmm(void)
{
    const char *argv[] = { g_getenv("HARNESS_BIN"), "--vmm",
                           "/nonexistent/vmm", NULL, NULL };
    g_autofree char *dir = g_dir_make_tmp("harness-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "t.scn", NULL);
    g_autofree char *out = NULL;
    int status;

    g_assert_true(g_file_set_contents(path, "start\n", -1, NULL));
    argv[3] = path;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                               G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                               NULL, &status, NULL));
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    g_assert_nonnull(strstr(out, "cannot run /nonexistent/vmm"));
    g_unlink(path);
    g_rmdir(dir);
}

static GPtrArray *scenario_files(void)
{
    const char *dir = g_getenv("SCENARIO_DIR");
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d)))
        if (g_str_has_suffix(name, ".scn"))
            g_ptr_array_add(files, g_build_filename(dir, name, NULL));
    g_assert_cmpuint(files->len, >, 0);
    return files;
}

/* Every shipped scenario is valid. */
static void test_check_scenarios(void)
{
    g_autoptr(GPtrArray) files = scenario_files();
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *out = NULL, *err = NULL;
    int status;

    g_ptr_array_add(argv, (char *)g_getenv("HARNESS_BIN"));
    g_ptr_array_add(argv, "--check");
    /* Variables the scenario suite defines (harness/meson.build). */
    g_ptr_array_add(argv, "-D");
    g_ptr_array_add(argv, "ROIMG=readonly-dimm.img");
    for (guint i = 0; i < files->len; i++)
        g_ptr_array_add(argv, files->pdata[i]);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, 0, NULL,
                               NULL, &out, &err, &status, NULL));
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        g_error("--check failed:\n%s%s", out, err);
    g_assert_cmpuint(count_lines(out, g_getenv("SCENARIO_DIR")), ==,
                     files->len);
}

/*
 * The shipped scenarios whose flow fake-vmm models, run against it. This
 * proves the scenarios and the runner agree; whether hotmem agrees is what
 * the 'scenario' suite checks.
 */
static void test_shipped_scenario(gconstpointer data)
{
    g_autofree char *path = g_build_filename(g_getenv("SCENARIO_DIR"),
                                             (const char *)data, NULL);
    g_autofree char *text = NULL;
    struct run r;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    r = run_harness(text, NULL);
    if (r.status)
        g_error("%s failed against fake-vmm:\n%s", (const char *)data, r.out);
    g_assert_cmpuint(count_lines(r.out, "not ok"), ==, 0);
    run_clear(&r);
}

int main(int argc, char **argv)
{
    static const char *const shipped[] = {
        "hot-add-one.scn", "cold-plus-hot-all-slots.scn", "hot-remove.scn",
        "remove-refused-then-accepted.scn", "bad-input-noslots.scn",
        "loop-16.scn", "two-clients.scn", "stop-cont.scn",
    };

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/harness/parse/table", test_parse);
    g_test_add_func("/harness/parse/details", test_parse_details);
    g_test_add_func("/harness/substitute", test_substitute);
    g_test_add_func("/harness/load/table", test_load);
    g_test_add_func("/harness/load/clients", test_load_clients);
    g_test_add_func("/harness/match/table", test_match);
    g_test_add_func("/harness/match/why", test_match_why);
    g_test_add_func("/harness/qmp/stream", test_qmp_stream);
    if (!g_getenv("HARNESS_BIN") || !g_getenv("FAKE_VMM") ||
        !g_getenv("SCENARIO_DIR"))
        return g_test_run();
    for (gsize k = 0; k < G_N_ELEMENTS(run_cases); k++) {
        g_autofree char *p = g_strdup_printf("/harness/run/%s",
                                             run_cases[k].name);

        g_strdelimit(p + 13, "/,:", '-');
        g_test_add_data_func(p, GSIZE_TO_POINTER(k), test_run);
    }
    g_test_add_func("/harness/run/verbose", test_verbose);
    g_test_add_func("/harness/run/missing VMM", test_missing_vmm);
    g_test_add_func("/harness/scenarios/check", test_check_scenarios);
    for (gsize k = 0; k < G_N_ELEMENTS(shipped); k++) {
        g_autofree char *p = g_strdup_printf("/harness/scenarios/fake/%s",
                                             shipped[k]);

        g_test_add_data_func(p, shipped[k], test_shipped_scenario);
    }
    return g_test_run();
}
