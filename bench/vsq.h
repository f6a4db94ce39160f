/*
 * bench/vs-qemu: hotmem next to QEMU (and a bare-KVM floor) in one table.
 * The driver (vs-qemu.c) decides where to run and prints the table; the
 * paused-VM figures come from vsq-paused.c, the Linux guest's from
 * vsq-linux.c. docs/performance.md, "hotmem vs QEMU".
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define VSQ_MAX_ROUNDS 32
#define VSQ_NR_SIZES 3          /* single DIMM sizes; then N at once */

/* Who a figure belongs to. */
enum vsq_vmm { VSQ_HOTMEM, VSQ_QEMU, VSQ_FLOOR, VSQ_NR_VMM };

enum vsq_metric {
    VSQ_GREETING,               /* exec -> QMP greeting, paused, ms */
    VSQ_RSS,                    /* Rss after qmp_capabilities, MiB */
    VSQ_PSS,                    /* Pss, the same */
    VSQ_QUERY_STATUS,           /* round trip, us (median of a burst) */
    VSQ_QMD,                    /* query-memory-devices with N DIMMs, ms */
    VSQ_PREALLOC1,              /* object-add prealloc, 1 thread, ms */
    VSQ_PREALLOC2,              /* 2 threads */
    VSQ_BOOT,                   /* exec -> Linux's /init line, ms */
    VSQ_REPLY,                  /* object-add + device_add replies, ms;
                                 * + size index, VSQ_NR_SIZES = N at once */
    VSQ_MEMTOTAL = VSQ_REPLY + VSQ_NR_SIZES + 1,  /* device_add -> MemTotal */
    VSQ_DELETED = VSQ_MEMTOTAL + VSQ_NR_SIZES + 1, /* device_del -> event */
    VSQ_NR_METRICS = VSQ_DELETED + VSQ_NR_SIZES + 1,
};

struct vsq_config {
    unsigned rounds;
    const char *hotmem;         /* the binaries; qemu NULL: not installed */
    const char *floor;
    const char *qemu;
    const char *dir;            /* scratch directory for sockets */
    unsigned status_calls;      /* query-status round trips per round */
    unsigned dimms;             /* DIMMs for query-memory-devices */
    uint64_t prealloc;          /* bytes preallocated */
    uint64_t sizes[VSQ_NR_SIZES];  /* single DIMMs (Linux) */
    unsigned multi_n;           /* DIMMs added at once (Linux) */
    uint64_t multi_size;
};

/* Samples, per metric and VMM, in the order taken. */
struct vsq_figures {
    double v[VSQ_NR_METRICS][VSQ_NR_VMM][VSQ_MAX_ROUNDS];
    unsigned n[VSQ_NR_METRICS][VSQ_NR_VMM];
};

void vsq_add(struct vsq_figures *f, enum vsq_metric m, enum vsq_vmm w,
             double value);
/* The name of a VMM for progress lines. */
const char *vsq_name(enum vsq_vmm w);

/* Startup, memory, monitor and preallocation with paused VMs. */
void vsq_paused(const struct vsq_config *c, struct vsq_figures *f);

/*
 * The Linux guest (kernel and initramfs of tests/linux): boot, hot-add and
 * hot-remove; one VM at a time, hotmem and QEMU alternating. Returns false
 * (after saying why) when the kernel or initramfs cannot be had.
 */
bool vsq_linux(const struct vsq_config *c, struct vsq_figures *f);
