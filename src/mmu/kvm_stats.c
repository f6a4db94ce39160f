/*
 * KVM binary statistics reader (Documentation/virt/kvm/api.rst,
 * "KVM_GET_STATS_FD"): header and descriptors once, values on demand.
 */
#include "mmu/kvm_stats.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "errors.h"
#include "kvm.h"

#ifndef KVM_GET_STATS_FD
#define KVM_GET_STATS_FD            _IO(KVMIO, 0xce)
#endif
#ifndef KVM_STATS_UNIT_BOOLEAN
#define KVM_STATS_UNIT_BOOLEAN      (0x4 << KVM_STATS_UNIT_SHIFT)
#endif

/*
 * Far above what any kernel exposes (a few dozen statistics, names of 48
 * bytes) and low enough that a corrupt header cannot make us allocate much.
 */
#define KVM_STATS_MAX_DESC      4096
#define KVM_STATS_MAX_NAME      4096

struct kvm_stats {
    int fd;
    char *id;
    struct kvm_stats_header header;
    struct kvm_stat_desc *descs;
    unsigned count;
    GHashTable *by_name;        /* name -> index + 1 */
    size_t data_bytes;          /* extent of the data block we use */
    guint8 *snapshot;           /* data_bytes, NULL before a refresh */
};

/* pread until len bytes arrived; a short file is an error. */
static bool read_exact(int fd, void *buf, size_t len, uint64_t off,
                       const char *what, GError **err)
{
    size_t done = 0;

    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, off + done);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                        "reading the KVM stats %s (%zu bytes at 0x%" PRIx64
                        "): %s", what, len, off, g_strerror(errno));
            return false;
        }
        if (r == 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                        "reading the KVM stats %s: the file ends after %zu "
                        "of %zu bytes at 0x%" PRIx64, what, done, len, off);
            return false;
        }
        done += r;
    }
    return true;
}

static enum kvm_stat_type decode_type(uint32_t flags)
{
    switch (flags & KVM_STATS_TYPE_MASK) {
    case KVM_STATS_TYPE_CUMULATIVE:  return KVM_STAT_CUMULATIVE;
    case KVM_STATS_TYPE_INSTANT:     return KVM_STAT_INSTANT;
    case KVM_STATS_TYPE_PEAK:        return KVM_STAT_PEAK;
    case KVM_STATS_TYPE_LINEAR_HIST: return KVM_STAT_LINEAR_HIST;
    case KVM_STATS_TYPE_LOG_HIST:    return KVM_STAT_LOG2_HIST;
    default:                         return KVM_STAT_TYPE_UNKNOWN;
    }
}

static enum kvm_stat_unit decode_unit(uint32_t flags)
{
    switch (flags & KVM_STATS_UNIT_MASK) {
    case KVM_STATS_UNIT_NONE:    return KVM_STAT_UNIT_NONE;
    case KVM_STATS_UNIT_BYTES:   return KVM_STAT_UNIT_BYTES;
    case KVM_STATS_UNIT_SECONDS: return KVM_STAT_UNIT_SECONDS;
    case KVM_STATS_UNIT_CYCLES:  return KVM_STAT_UNIT_CYCLES;
    case KVM_STATS_UNIT_BOOLEAN: return KVM_STAT_UNIT_BOOLEAN;
    default:                     return KVM_STAT_UNIT_UNKNOWN;
    }
}

static unsigned decode_base(uint32_t flags)
{
    switch (flags & KVM_STATS_BASE_MASK) {
    case KVM_STATS_BASE_POW10: return 10;
    case KVM_STATS_BASE_POW2:  return 2;
    default:                   return 0;
    }
}

static bool check_header(const struct kvm_stats_header *h, GError **err)
{
    if (h->name_size == 0 || h->name_size > KVM_STATS_MAX_NAME) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM stats header: name_size %u is not in [1, %u]",
                    h->name_size, KVM_STATS_MAX_NAME);
        return false;
    }
    if (h->num_desc > KVM_STATS_MAX_DESC) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM stats header: %u descriptors, more than the %u "
                    "this reader accepts", h->num_desc, KVM_STATS_MAX_DESC);
        return false;
    }
    return true;
}

/* One raw descriptor (struct kvm_stats_desc + name) into d. */
static bool parse_desc(const guint8 *raw, uint32_t name_size,
                       struct kvm_stat_desc *d, GError **err)
{
    struct kvm_stats_desc k;
    const char *name = (const char *)raw + sizeof(k);
    size_t len = strnlen(name, name_size);

    memcpy(&k, raw, sizeof(k));
    if (len == 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM stats descriptor at offset %u has an empty name",
                    k.offset);
        return false;
    }
    d->name = g_strndup(name, len);
    /* Values are u64 fields of the kernel's stats structs. */
    if (k.offset % sizeof(uint64_t) != 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM stat '%s': offset 0x%x is not a multiple of 8",
                    d->name, k.offset);
        return false;
    }
    if (k.size == 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM stat '%s' has size 0 (no values)", d->name);
        return false;
    }
    d->flags = k.flags;
    d->type = decode_type(k.flags);
    d->unit = decode_unit(k.flags);
    d->base = decode_base(k.flags);
    d->exponent = k.exponent;
    d->size = k.size;
    d->bucket_size = k.bucket_size;
    d->offset = k.offset;
    return true;
}

static bool read_descs(struct kvm_stats *s, GError **err)
{
    const struct kvm_stats_header *h = &s->header;
    size_t stride = sizeof(struct kvm_stats_desc) + h->name_size;
    g_autofree guint8 *raw = g_malloc(stride * h->num_desc);

    if (!read_exact(s->fd, raw, stride * h->num_desc, h->desc_offset,
                    "descriptors", err))
        return false;
    s->descs = g_new0(struct kvm_stat_desc, h->num_desc);
    for (unsigned i = 0; i < h->num_desc; i++) {
        struct kvm_stat_desc *d = &s->descs[i];
        size_t end;

        s->count = i + 1;       /* so kvm_stats_free() frees d->name */
        if (!parse_desc(raw + i * stride, h->name_size, d, err))
            return false;
        end = d->offset + (size_t)d->size * sizeof(uint64_t);
        s->data_bytes = MAX(s->data_bytes, end);
        if (!g_hash_table_contains(s->by_name, d->name))
            g_hash_table_insert(s->by_name, d->name, GUINT_TO_POINTER(i + 1));
    }
    return true;
}

struct kvm_stats *kvm_stats_from_fd(int stats_fd, GError **err)
{
    struct kvm_stats *s = g_new0(struct kvm_stats, 1);

    s->fd = stats_fd;
    s->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    if (!read_exact(s->fd, &s->header, sizeof(s->header), 0, "header", err) ||
        !check_header(&s->header, err))
        goto fail;
    s->id = g_malloc0(s->header.name_size + 1);
    if (!read_exact(s->fd, s->id, s->header.name_size, s->header.id_offset,
                    "id", err) ||
        !read_descs(s, err))
        goto fail;
    return s;
fail:
    kvm_stats_free(s);
    return NULL;
}

int kvm_stats_get_fd(int kvm_fd, GError **err)
{
    int fd = __kvm_ioctl(kvm_fd, KVM_GET_STATS_FD, NULL);

    if (fd == -ENOTTY || fd == -EINVAL) {
        g_set_error(err, HM_ERROR, HM_ERROR_NOT_SUPPORTED,
                    "KVM_GET_STATS_FD is not supported by this kernel (%s); "
                    "binary stats need Linux 5.14 or later", g_strerror(-fd));
        return -1;
    }
    if (fd < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_GET_STATS_FD failed: %s", g_strerror(-fd));
        return -1;
    }
    return fd;
}

struct kvm_stats *kvm_stats_open(int kvm_fd, GError **err)
{
    int fd = kvm_stats_get_fd(kvm_fd, err);

    return fd < 0 ? NULL : kvm_stats_from_fd(fd, err);
}

void kvm_stats_free(struct kvm_stats *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    for (unsigned i = 0; i < s->count; i++)
        g_free(s->descs[i].name);
    g_free(s->descs);
    g_hash_table_destroy(s->by_name);
    g_free(s->id);
    g_free(s->snapshot);
    g_free(s);
}

const char *kvm_stats_id(const struct kvm_stats *s)
{
    return s->id;
}

unsigned kvm_stats_count(const struct kvm_stats *s)
{
    return s->count;
}

const struct kvm_stat_desc *kvm_stats_desc(const struct kvm_stats *s,
                                           unsigned index)
{
    return index < s->count ? &s->descs[index] : NULL;
}

int kvm_stats_find(const struct kvm_stats *s, const char *name)
{
    return (int)GPOINTER_TO_UINT(g_hash_table_lookup(s->by_name, name)) - 1;
}

bool kvm_stats_read(const struct kvm_stats *s, unsigned index,
                    uint64_t *values, GError **err)
{
    const struct kvm_stat_desc *d = kvm_stats_desc(s, index);

    g_return_val_if_fail(d, false);
    return read_exact(s->fd, values, d->size * sizeof(uint64_t),
                      (uint64_t)s->header.data_offset + d->offset, d->name,
                      err);
}

bool kvm_stats_refresh(struct kvm_stats *s, GError **err)
{
    g_autofree guint8 *buf = g_malloc(MAX(s->data_bytes, 1));

    if (!read_exact(s->fd, buf, s->data_bytes, s->header.data_offset,
                    "values", err))
        return false;
    g_free(s->snapshot);
    s->snapshot = g_steal_pointer(&buf);
    return true;
}

const uint64_t *kvm_stats_values(const struct kvm_stats *s, unsigned index)
{
    const struct kvm_stat_desc *d = kvm_stats_desc(s, index);

    if (!d || !s->snapshot)
        return NULL;
    /* offsets are multiples of 8 (checked in parse_desc) */
    return (const uint64_t *)(s->snapshot + d->offset);
}

const char *kvm_stat_type_name(enum kvm_stat_type t)
{
    static const char *const names[] = {
        [KVM_STAT_CUMULATIVE] = "cumulative",
        [KVM_STAT_INSTANT] = "instant",
        [KVM_STAT_PEAK] = "peak",
        [KVM_STAT_LINEAR_HIST] = "linear-histogram",
        [KVM_STAT_LOG2_HIST] = "log2-histogram",
    };

    return (unsigned)t < G_N_ELEMENTS(names) ? names[t] : NULL;
}

const char *kvm_stat_unit_name(enum kvm_stat_unit u)
{
    static const char *const names[] = {
        [KVM_STAT_UNIT_BYTES] = "bytes",
        [KVM_STAT_UNIT_SECONDS] = "seconds",
        [KVM_STAT_UNIT_CYCLES] = "cycles",
        [KVM_STAT_UNIT_BOOLEAN] = "boolean",
    };

    return (unsigned)u < G_N_ELEMENTS(names) ? names[u] : NULL;
}
