/*
 * Where a benchmark that compares hotmem with QEMU runs: on this machine
 * when /dev/kvm runs guest kernel code at hardware speed, else inside the
 * nested KVM host (tests/rig/run), both VMMs there, so that their ratio
 * compares like with like. Used by bench/vs-qemu and bench/migrate.
 */
#pragma once

#include <stdbool.h>

/*
 * Why to move into the nested host (a new string), or NULL to stay: here
 * was asked for, this already is the nested host, or KVM is fast here.
 */
char *bench_rig_reason(bool here);

/*
 * Runs this program again, with the same arguments, inside the nested
 * host; name prefixes the line that says so. Returns only on failure (1).
 * quiet_limit_s: the nested host's watchdog (seconds without output).
 */
int bench_rig_exec(const char *name, const char *why, unsigned quiet_limit_s,
                   char **argv);
