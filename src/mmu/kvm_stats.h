/*
 * A reader for one KVM binary statistics file descriptor (KVM_GET_STATS_FD
 * on a VM or a vCPU fd; Documentation/virt/kvm/api.rst, "KVM_GET_STATS_FD").
 *
 * The file is three blocks: a header (struct kvm_stats_header at offset 0),
 * num_desc descriptors (each a struct kvm_stats_desc followed by a name of
 * header.name_size bytes, at desc_offset) and the values (u64 each, at
 * data_offset + desc.offset). The header and descriptors never change for
 * the life of the fd, so they are read once; values are read on demand with
 * pread. The statistic names come from the running kernel: nothing here
 * knows a fixed list.
 *
 * Not thread-safe: one reader is used by one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

enum kvm_stat_type {
    KVM_STAT_CUMULATIVE,        /* only grows */
    KVM_STAT_INSTANT,           /* goes up and down */
    KVM_STAT_PEAK,              /* highest value seen */
    KVM_STAT_LINEAR_HIST,       /* size buckets of bucket_size each */
    KVM_STAT_LOG2_HIST,         /* bucket i counts values in [2^(i-1), 2^i) */
    KVM_STAT_TYPE_UNKNOWN,      /* a type newer than this reader */
};

enum kvm_stat_unit {
    KVM_STAT_UNIT_NONE,         /* a plain count */
    KVM_STAT_UNIT_BYTES,
    KVM_STAT_UNIT_SECONDS,
    KVM_STAT_UNIT_CYCLES,
    KVM_STAT_UNIT_BOOLEAN,      /* 0 or 1 */
    KVM_STAT_UNIT_UNKNOWN,      /* a unit newer than this reader */
};

struct kvm_stat_desc {
    char *name;
    uint32_t flags;             /* as the kernel gave them */
    enum kvm_stat_type type;
    enum kvm_stat_unit unit;
    unsigned base;              /* 10 or 2 (0: a base newer than us) */
    int exponent;               /* value is in unit * base^exponent */
    unsigned size;              /* number of u64 values (buckets) */
    uint32_t bucket_size;       /* linear histograms only */
    uint32_t offset;            /* of the values inside the data block */
};

struct kvm_stats;

/*
 * Asks KVM for the stats fd of a VM or vCPU fd and reads its header and
 * descriptors. On kernels without binary stats the error is
 * HM_ERROR_NOT_SUPPORTED.
 */
struct kvm_stats *kvm_stats_open(int kvm_fd, GError **err);
/*
 * Only the first step: the stats fd (or -1, with the same errors).
 * KVM_GET_STATS_FD on a vCPU waits for the vCPU's mutex, which KVM_RUN holds
 * while the guest runs or halts, so callers that may run alongside the vCPU
 * threads get the fd before the vCPUs start and parse it later.
 */
int kvm_stats_get_fd(int kvm_fd, GError **err);
/* The same from a stats fd already obtained; takes ownership of stats_fd
 * (closed on error too). */
struct kvm_stats *kvm_stats_from_fd(int stats_fd, GError **err);
void kvm_stats_free(struct kvm_stats *s);

/* The kernel's id string: "kvm-<pid>" or "kvm-<pid>/vcpu-<id>". */
const char *kvm_stats_id(const struct kvm_stats *s);
unsigned kvm_stats_count(const struct kvm_stats *s);
const struct kvm_stat_desc *kvm_stats_desc(const struct kvm_stats *s,
                                           unsigned index);
/* Index of the statistic called name, or -1. */
int kvm_stats_find(const struct kvm_stats *s, const char *name);

/* Reads the desc->size current values of one statistic into values. */
bool kvm_stats_read(const struct kvm_stats *s, unsigned index,
                    uint64_t *values, GError **err);
/*
 * Reads every value with one pread into the reader's snapshot, which
 * kvm_stats_values() then looks into (cheaper than one read per stat).
 */
bool kvm_stats_refresh(struct kvm_stats *s, GError **err);
/* The values of one statistic in the last snapshot (NULL before one). */
const uint64_t *kvm_stats_values(const struct kvm_stats *s, unsigned index);

/* QEMU's StatsType / StatsUnit names ("linear-histogram", "bytes", ...);
 * NULL for the unknown ones (and for KVM_STAT_UNIT_NONE). */
const char *kvm_stat_type_name(enum kvm_stat_type t);
const char *kvm_stat_unit_name(enum kvm_stat_unit u);
