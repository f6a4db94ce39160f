/*
 * A hotmem process of a migration test (tests/test-migrate-live.c,
 * tests/test-migrate-cpr.c): the real binary with hotmem-guest, its
 * monitor, and the steps those tests share. Every wait is bounded
 * (MIG_NODE_TIMEOUT_MS); a failure ends the test with what the VMM said.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#define MIG_NODE_TIMEOUT_MS 60000

struct vm;
struct qmp;

struct mig_node {
    struct vm *vm;
    struct qmp *qmp;
};

/*
 * Starts hotmem with -m mem, a monitor on dir/name.sock (negotiated), the
 * extra options (NULL-terminated, may be NULL) and, when given,
 * -incoming incoming.
 */
void mig_node_start(struct mig_node *n, const char *dir, const char *name,
                    const char *mem, const char *const *extra,
                    const char *incoming);
/* Kills it if still running; n may be empty. */
void mig_node_stop(struct mig_node *n);

/* o's member name; the test fails without it. */
json_object *mig_member(json_object *o, const char *name);
/* The next console line starting with prefix; the test fails without. */
char *mig_line(struct mig_node *n, const char *prefix);
/* query-status's status (a new string). */
char *mig_run_state(struct mig_node *n);
void mig_expect_state(struct mig_node *n, const char *want);
/* The next event called name arrives. */
void mig_expect_event(struct mig_node *n, const char *name);
/* The next MIGRATION event has this status. */
void mig_expect_migration_event(struct mig_node *n, const char *status);
/* migrate to uri, which answers {}. */
void mig_migrate(struct mig_node *n, const char *uri);

/*
 * hotmem-guest's pattern writer from seed over ranges ("BASE SIZE ..."),
 * rate pages a second for seconds, once it says it started; and its check
 * of every byte, which must say ok.
 */
void mig_pattern_start(struct mig_node *n, const char *seed, unsigned rate,
                       unsigned seconds, const char *ranges);
void mig_pattern_check(struct mig_node *n, const char *seed,
                       const char *ranges);

/*
 * Turns the MIGRATION event on, hot-adds a 128 MiB DIMM dimm1 of backend
 * mem1 of qom_type, waits for hotmem-guest to online it and returns its
 * guest-physical address.
 */
uint64_t mig_hot_add_dimm(struct mig_node *n, const char *qom_type);
/* "BASE SIZE BASE SIZE": size bytes at boot_base and at dimm (a string). */
char *mig_ranges(uint64_t boot_base, uint64_t dimm, uint64_t size);

/*
 * Zeroes the words of [base, base + size) that hotmem-guest's memory check
 * wrote when it onlined the DIMM at dimm (the first and last word of its
 * first page and the first word of every 2 MiB; docs/guest-console.md "The
 * memory check"), so that the pages a pattern writer has not reached yet
 * read as never written. base and size must lie in that DIMM's first
 * pages, before its last one.
 */
void mig_clear_memcheck(struct mig_node *n, uint64_t dimm, uint64_t base,
                        uint64_t size);

/* Removes dir and the files in it. */
void mig_remove_dir(const char *dir);
