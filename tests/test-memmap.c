/*
 * The memslot table against a fake KVM that records every
 * KVM_SET_USER_MEMORY_REGION and can be told to refuse one.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "errors.h"
#include "mmu/memmap.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define LOG_DIRTY 1u    /* KVM_MEM_LOG_DIRTY_PAGES */

struct region_call {
    uint32_t slot, flags;
    uint64_t gpa, size;
    void *hva;
};

struct fake_kvm {
    GArray *calls;          /* struct region_call, every call, failed too */
    int fail_next;          /* -errno returned by the next call, then 0 */
};

struct fixture {
    struct fake_kvm kvm;
    struct memmap *mm;
};

static int fake_set_region(void *opaque, uint32_t slot, uint32_t flags,
                           uint64_t gpa, uint64_t size, void *hva)
{
    struct fake_kvm *kvm = opaque;
    struct region_call c = { slot, flags, gpa, size, hva };
    int r = kvm->fail_next;

    g_array_append_val(kvm->calls, c);
    kvm->fail_next = 0;
    return r;
}

static void setup_n(struct fixture *f, uint32_t max_slots)
{
    f->kvm.calls = g_array_new(FALSE, FALSE, sizeof(struct region_call));
    f->kvm.fail_next = 0;
    f->mm = memmap_new(max_slots, fake_set_region, &f->kvm);
}

static void setup(struct fixture *f, gconstpointer data)
{
    setup_n(f, 8);
}

static void teardown(struct fixture *f, gconstpointer data)
{
    memmap_free(f->mm);
    g_array_unref(f->kvm.calls);
}

static const struct region_call *last_call(struct fixture *f)
{
    g_assert_cmpuint(f->kvm.calls->len, >, 0);
    return &g_array_index(f->kvm.calls, struct region_call,
                          f->kvm.calls->len - 1);
}

/* A host address that is never dereferenced. */
static void *fake_hva(uint64_t v)
{
    return (void *)(uintptr_t)(0x7f0000000000ULL + v);
}

static uint32_t add_ok(struct fixture *f, uint64_t gpa, uint64_t size,
                       void *hva, const char *owner)
{
    GError *err = NULL;
    uint32_t id = UINT32_MAX;

    g_assert_true(memmap_add(f->mm, gpa, size, hva, 0, owner, &id, &err));
    g_assert_no_error(err);
    return id;
}

static void add_fails(struct fixture *f, uint64_t gpa, uint64_t size,
                      GQuark domain, int code, const char *needle)
{
    GError *err = NULL;
    uint32_t id = 12345;

    g_assert_false(memmap_add(f->mm, gpa, size, fake_hva(0), 0, "x", &id,
                              &err));
    g_assert_error(err, domain, code);
    g_test_message("%s", err->message);
    if (!strstr(err->message, needle))
        g_error("message \"%s\" lacks \"%s\"", err->message, needle);
    g_assert_cmpuint(id, ==, 12345);
    g_error_free(err);
}

static void remove_ok(struct fixture *f, uint64_t gpa)
{
    GError *err = NULL;

    g_assert_true(memmap_remove(f->mm, gpa, &err));
    g_assert_no_error(err);
}

static void test_add_first(struct fixture *f, gconstpointer data)
{
    const struct memmap_slot *s;
    const struct region_call *c;
    GError *err = NULL;
    uint32_t id = 99;

    g_assert_true(memmap_add(f->mm, 0x100000, 0x4000, fake_hva(0x1000),
                             LOG_DIRTY, "ram-below-4g", &id, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(id, ==, 0);
    g_assert_cmpuint(f->kvm.calls->len, ==, 1);
    c = last_call(f);
    g_assert_cmpuint(c->slot, ==, 0);
    g_assert_cmpuint(c->flags, ==, LOG_DIRTY);
    g_assert_cmphex(c->gpa, ==, 0x100000);
    g_assert_cmphex(c->size, ==, 0x4000);
    g_assert_true(c->hva == fake_hva(0x1000));
    g_assert_cmpuint(memmap_count(f->mm), ==, 1);
    s = memmap_get(f->mm, 0);
    g_assert_nonnull(s);
    g_assert_cmpuint(s->slot, ==, 0);
    g_assert_cmphex(s->gpa, ==, 0x100000);
    g_assert_cmphex(s->size, ==, 0x4000);
    g_assert_true(s->hva == fake_hva(0x1000));
    g_assert_cmpuint(s->flags, ==, LOG_DIRTY);
    g_assert_cmpstr(s->owner, ==, "ram-below-4g");
}

static void test_add_null_owner_and_out(struct fixture *f, gconstpointer d)
{
    GError *err = NULL;

    g_assert_true(memmap_add(f->mm, 0, 0x1000, fake_hva(0), 0, NULL, NULL,
                             &err));
    g_assert_no_error(err);
    g_assert_cmpstr(memmap_get(f->mm, 0)->owner, ==, "");
}

static void test_ids_reused(struct fixture *f, gconstpointer data)
{
    g_assert_cmpuint(add_ok(f, 0x00000, 0x1000, fake_hva(0), "a"), ==, 0);
    g_assert_cmpuint(add_ok(f, 0x10000, 0x1000, fake_hva(0), "b"), ==, 1);
    g_assert_cmpuint(add_ok(f, 0x20000, 0x1000, fake_hva(0), "c"), ==, 2);
    remove_ok(f, 0x10000);
    remove_ok(f, 0x00000);
    /* Lowest free first, whatever order the ids were freed in. */
    g_assert_cmpuint(add_ok(f, 0x30000, 0x1000, fake_hva(0), "d"), ==, 0);
    g_assert_cmpuint(last_call(f)->slot, ==, 0);
    g_assert_cmpuint(add_ok(f, 0x40000, 0x1000, fake_hva(0), "e"), ==, 1);
    g_assert_cmpuint(add_ok(f, 0x50000, 0x1000, fake_hva(0), "f"), ==, 3);
}

static void test_remove_calls_kvm(struct fixture *f, gconstpointer data)
{
    const struct region_call *c;

    add_ok(f, 0x10000, 0x2000, fake_hva(0), "a");
    add_ok(f, 0x20000, 0x2000, fake_hva(0), "b");
    remove_ok(f, 0x20000);
    g_assert_cmpuint(f->kvm.calls->len, ==, 3);
    c = last_call(f);
    /* A zero size deletes the slot (KVM API, KVM_SET_USER_MEMORY_REGION). */
    g_assert_cmpuint(c->slot, ==, 1);
    g_assert_cmphex(c->size, ==, 0);
    g_assert_cmpuint(memmap_count(f->mm), ==, 1);
    g_assert_null(memmap_find(f->mm, 0x20000));
    g_assert_nonnull(memmap_find(f->mm, 0x10000));
}

/* Overlap is refused with no KVM call and no change to the table. */
static void test_overlap(struct fixture *f, gconstpointer data)
{
    static const struct {
        uint64_t gpa, size;
    } bad[] = {
        { 0x10000, 0x4000 },    /* the same range */
        { 0x11000, 0x1000 },    /* inside */
        { 0x0f000, 0x2000 },    /* across the start */
        { 0x13000, 0x2000 },    /* across the end */
        { 0x0f000, 0x6000 },    /* covering */
        { 0x13000, 0x0e000 },   /* across two slots */
        { 0x00000, 0x100000 },  /* covering both */
        { 0x20000, 0x1000 },    /* the first page of the second */
        { 0x23000, 0x1000 },    /* the last page of the second */
    };

    add_ok(f, 0x10000, 0x4000, fake_hva(0), "ram");
    add_ok(f, 0x20000, 0x4000, fake_hva(0), "dimm0");
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        add_fails(f, bad[i].gpa, bad[i].size, HM_ERROR, HM_ERROR_INVALID,
                  "overlaps slot");
        g_assert_cmpuint(f->kvm.calls->len, ==, 2);
        g_assert_cmpuint(memmap_count(f->mm), ==, 2);
    }
    add_fails(f, 0x11000, 0x1000, HM_ERROR, HM_ERROR_INVALID, "of ram");
    add_fails(f, 0x21000, 0x1000, HM_ERROR, HM_ERROR_INVALID,
              "[0x20000, 0x24000) of dimm0");
    /* Touching is not overlapping. */
    add_ok(f, 0x14000, 0xc000, fake_hva(0), "between");
    add_ok(f, 0x0f000, 0x1000, fake_hva(0), "below");
    add_ok(f, 0x24000, 0x1000, fake_hva(0), "above");
    g_assert_cmpuint(memmap_count(f->mm), ==, 5);
}

/*
 * Issue 15, defect 14: -m 16T got KVM's bare "Invalid argument". KVM takes
 * at most 2^31 - 1 pages in one memslot (KVM_MEM_MAX_NR_PAGES); a larger
 * region is refused by name, before KVM is asked.
 */
static void test_too_large(struct fixture *f, gconstpointer data)
{
    add_fails(f, 0x100000000ULL, 0x80000000000ULL, HM_ERROR,
              HM_ERROR_INVALID, "memory region [0x100000000, "
              "+0x80000000000) of x is larger than KVM allows in one memory "
              "slot: at most 0x7fffffff000 bytes (2^31 - 1 pages of 4 KiB)");
    g_assert_cmpuint(f->kvm.calls->len, ==, 0);
    add_ok(f, 0x100000000ULL, 0x7fffffff000ULL, fake_hva(0), "largest");
}

static void test_misaligned(struct fixture *f, gconstpointer data)
{
    static const struct {
        uint64_t gpa, size;
    } bad[] = {
        { 0x10000, 0 },
        { 0x10800, 0x1000 },
        { 0x10000, 0x800 },
        { 0x10000, 0x1800 },
        { 0xfffffffffffff000ULL, 0x2000 },  /* wraps past 2^64 */
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *needle = g_strdup_printf("0x%" G_GINT64_MODIFIER
                                                  "x", bad[i].gpa);

        add_fails(f, bad[i].gpa, bad[i].size, HM_ERROR, HM_ERROR_INVALID,
                  needle);
        add_fails(f, bad[i].gpa, bad[i].size, HM_ERROR, HM_ERROR_INVALID,
                  "aligned");
    }
    g_assert_cmpuint(f->kvm.calls->len, ==, 0);
    g_assert_cmpuint(memmap_count(f->mm), ==, 0);
}

static void test_add_kvm_fails(struct fixture *f, gconstpointer data)
{
    add_ok(f, 0x10000, 0x1000, fake_hva(0), "a");
    f->kvm.fail_next = -EEXIST;
    add_fails(f, 0x20000, 0x1000, HM_ERROR, HM_ERROR_KVM, "slot 1");
    g_assert_cmpuint(f->kvm.calls->len, ==, 2);
    g_assert_cmpuint(memmap_count(f->mm), ==, 1);
    g_assert_null(memmap_find(f->mm, 0x20000));
    f->kvm.fail_next = -EINVAL;
    add_fails(f, 0x20000, 0x1000, HM_ERROR, HM_ERROR_KVM,
              g_strerror(EINVAL));
    /* The refused id was not consumed. */
    g_assert_cmpuint(add_ok(f, 0x20000, 0x1000, fake_hva(0), "b"), ==, 1);
}

static void test_add_kvm_fails_message(struct fixture *f, gconstpointer d)
{
    f->kvm.fail_next = -EEXIST;
    add_fails(f, 0x20000, 0x1000, HM_ERROR, HM_ERROR_KVM,
              "KVM_SET_USER_MEMORY_REGION");
    f->kvm.fail_next = -EEXIST;
    add_fails(f, 0x20000, 0x1000, HM_ERROR, HM_ERROR_KVM, "0x20000");
    f->kvm.fail_next = -EEXIST;
    add_fails(f, 0x20000, 0x1000, HM_ERROR, HM_ERROR_KVM,
              g_strerror(EEXIST));
    g_assert_cmpuint(memmap_count(f->mm), ==, 0);
}

static void test_remove_unknown(struct fixture *f, gconstpointer data)
{
    static const uint64_t bad[] = { 0x0, 0x11000, 0x14000, 0x30000 };

    add_ok(f, 0x10000, 0x4000, fake_hva(0), "a");
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *needle = g_strdup_printf("0x%" G_GINT64_MODIFIER
                                                  "x", bad[i]);
        GError *err = NULL;

        g_assert_false(memmap_remove(f->mm, bad[i], &err));
        g_assert_error(err, HM_ERROR, HM_ERROR_INVALID);
        g_assert_nonnull(strstr(err->message, needle));
        g_error_free(err);
    }
    g_assert_cmpuint(f->kvm.calls->len, ==, 1);
    g_assert_cmpuint(memmap_count(f->mm), ==, 1);
}

static void test_remove_kvm_fails(struct fixture *f, gconstpointer data)
{
    GError *err = NULL;

    add_ok(f, 0x10000, 0x4000, fake_hva(0), "a");
    f->kvm.fail_next = -EINVAL;
    g_assert_false(memmap_remove(f->mm, 0x10000, &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_KVM);
    g_assert_nonnull(strstr(err->message, "slot 0"));
    g_error_free(err);
    g_assert_cmpuint(memmap_count(f->mm), ==, 1);
    g_assert_nonnull(memmap_find(f->mm, 0x10000));
    /* Its id is still taken. */
    g_assert_cmpuint(add_ok(f, 0x20000, 0x1000, fake_hva(0), "b"), ==, 1);
    remove_ok(f, 0x10000);
}

static void test_find_edges(struct fixture *f, gconstpointer data)
{
    const struct memmap_slot *s;

    g_assert_null(memmap_find(f->mm, 0));
    add_ok(f, 0x10000, 0x4000, fake_hva(0), "a");
    add_ok(f, 0x14000, 0x1000, fake_hva(0), "b");
    s = memmap_find(f->mm, 0x10000);
    g_assert_nonnull(s);
    g_assert_cmpstr(s->owner, ==, "a");
    g_assert_true(memmap_find(f->mm, 0x13fff) == s);
    g_assert_cmpstr(memmap_find(f->mm, 0x14000)->owner, ==, "b");
    g_assert_cmpstr(memmap_find(f->mm, 0x14fff)->owner, ==, "b");
    g_assert_null(memmap_find(f->mm, 0x15000));
    g_assert_null(memmap_find(f->mm, 0xffff));
    g_assert_null(memmap_find(f->mm, 0));
    g_assert_null(memmap_find(f->mm, UINT64_MAX));
}

static void test_gpa_to_hva(struct fixture *f, gconstpointer data)
{
    uint8_t *a = fake_hva(0x100000), *b = fake_hva(0x200000);

    add_ok(f, 0x10000, 0x4000, a, "a");
    add_ok(f, 0x14000, 0x1000, b, "b");
    g_assert_true(memmap_gpa_to_hva(f->mm, 0x10000, 1) == a);
    g_assert_true(memmap_gpa_to_hva(f->mm, 0x10000, 0x4000) == a);
    g_assert_true(memmap_gpa_to_hva(f->mm, 0x13fff, 1) == a + 0x3fff);
    g_assert_true(memmap_gpa_to_hva(f->mm, 0x12000, 0x2000) == a + 0x2000);
    g_assert_true(memmap_gpa_to_hva(f->mm, 0x14000, 8) == b);
    /* One byte too many crosses into the next slot: not one host range. */
    g_assert_null(memmap_gpa_to_hva(f->mm, 0x10000, 0x4001));
    g_assert_null(memmap_gpa_to_hva(f->mm, 0x13fff, 2));
    g_assert_null(memmap_gpa_to_hva(f->mm, 0x14fff, 2));
    g_assert_null(memmap_gpa_to_hva(f->mm, 0x15000, 1));
    g_assert_null(memmap_gpa_to_hva(f->mm, 0xffff, 1));
    g_assert_null(memmap_gpa_to_hva(f->mm, 0x10000, UINT64_MAX));
}

static void test_read_write_across(struct fixture *f, gconstpointer data)
{
    g_autofree uint8_t *a = g_malloc0(0x2000);
    g_autofree uint8_t *b = g_malloc0(0x2000);
    uint8_t src[0x100], dst[0x100];

    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 1);
    add_ok(f, 0x10000, 0x2000, a, "a");
    add_ok(f, 0x12000, 0x2000, b, "b");
    g_assert_true(memmap_write(f->mm, 0x11f80, src, sizeof(src)));
    g_assert_cmpmem(a + 0x1f80, 0x80, src, 0x80);
    g_assert_cmpmem(b, 0x80, src + 0x80, 0x80);
    g_assert_cmpuint(a[0x1f7f], ==, 0);
    g_assert_cmpuint(b[0x80], ==, 0);
    memset(dst, 0, sizeof(dst));
    g_assert_true(memmap_read(f->mm, 0x11f80, dst, sizeof(dst)));
    g_assert_cmpmem(dst, sizeof(dst), src, sizeof(src));
    /* Whole slots, first byte to last byte. */
    g_assert_true(memmap_read(f->mm, 0x10000, a, 0));
    g_assert_true(memmap_write(f->mm, 0x13fff, src, 1));
    g_assert_cmpuint(b[0x1fff], ==, src[0]);
}

/*
 * A shared file mapping whose file another process truncated: the second
 * page is gone. A plain read there would be SIGBUS; the no-fault read says
 * where it stopped.
 */
static void test_read_nofault_truncated(struct fixture *f,
                                        gconstpointer data)
{
    g_autofree char *path = NULL;
    uint8_t buf[0x2000];
    uint64_t bad = 0;
    uint8_t *p;
    int fd = g_file_open_tmp("hotmem-memmap-XXXXXX", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 0x2000), ==, 0);
    p = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    g_assert_true(p != MAP_FAILED);
    memset(p, 0x5a, 0x2000);
    add_ok(f, 0x10000, 0x2000, p, "file");
    g_assert_cmpint(memmap_read_nofault(f->mm, 0x10000, buf, 0x2000, &bad),
                    ==, MEMMAP_READ_OK);
    g_assert_cmpuint(buf[0x1fff], ==, 0x5a);
    g_assert_cmpint(ftruncate(fd, 0x1000), ==, 0);
    g_assert_cmpint(memmap_read_nofault(f->mm, 0x10000, buf, 0x1000, &bad),
                    ==, MEMMAP_READ_OK);
    g_assert_cmpint(memmap_read_nofault(f->mm, 0x10800, buf, 0x1000, &bad),
                    ==, MEMMAP_READ_FAULT);
    g_assert_cmphex(bad, ==, 0x11000);
    g_assert_cmpint(memmap_read_nofault(f->mm, 0x20000, buf, 1, &bad), ==,
                    MEMMAP_READ_UNMAPPED);
    munmap(p, 0x2000);
    close(fd);
    g_unlink(path);
}

static void test_read_write_unmapped(struct fixture *f, gconstpointer data)
{
    g_autofree uint8_t *a = g_malloc0(0x1000);
    g_autofree uint8_t *b = g_malloc0(0x1000);
    uint8_t buf[0x20] = { 0 };

    add_ok(f, 0x10000, 0x1000, a, "a");
    add_ok(f, 0x12000, 0x1000, b, "b");    /* hole at [0x11000, 0x12000) */
    g_assert_false(memmap_read(f->mm, 0x20000, buf, sizeof(buf)));
    g_assert_false(memmap_write(f->mm, 0xfff0, buf, sizeof(buf)));
    g_assert_false(memmap_read(f->mm, 0x10ff0, buf, sizeof(buf)));
    g_assert_false(memmap_write(f->mm, 0x10ff0, buf, sizeof(buf)));
    g_assert_false(memmap_read(f->mm, 0x11ff0, buf, sizeof(buf)));
    g_assert_false(memmap_read(f->mm, 0x12ff0, buf, sizeof(buf)));
}

static void test_order(struct fixture *f, gconstpointer data)
{
    static const uint64_t gpas[] = { 0x30000, 0x10000, 0x50000, 0x20000,
                                     0x40000 };

    for (size_t i = 0; i < G_N_ELEMENTS(gpas); i++)
        g_assert_cmpuint(add_ok(f, gpas[i], 0x1000, fake_hva(0), "x"), ==,
                         i);
    g_assert_cmpuint(memmap_count(f->mm), ==, 5);
    for (unsigned i = 0; i < 5; i++)
        g_assert_cmphex(memmap_get(f->mm, i)->gpa, ==, 0x10000 * (i + 1));
    g_assert_cmpuint(memmap_get(f->mm, 0)->slot, ==, 1);
    g_assert_cmpuint(memmap_get(f->mm, 4)->slot, ==, 2);
    g_assert_null(memmap_get(f->mm, 5));
    remove_ok(f, 0x30000);
    g_assert_cmphex(memmap_get(f->mm, 2)->gpa, ==, 0x40000);
    g_assert_null(memmap_get(f->mm, 4));
}

static void test_max_slots(void)
{
    struct fixture f;

    setup_n(&f, 3);
    for (uint64_t i = 0; i < 3; i++)
        g_assert_cmpuint(add_ok(&f, i * 0x10000, 0x1000, fake_hva(0), "x"),
                         ==, i);
    add_fails(&f, 0x40000, 0x1000, HM_ERROR, HM_ERROR_INVALID,
              "all 3 are in use");
    g_assert_cmpuint(f.kvm.calls->len, ==, 3);
    g_assert_cmpuint(memmap_count(f.mm), ==, 3);
    remove_ok(&f, 0x10000);
    g_assert_cmpuint(add_ok(&f, 0x40000, 0x1000, fake_hva(0), "x"), ==, 1);
    teardown(&f, NULL);
}

static void test_zero_slots(void)
{
    struct fixture f;

    setup_n(&f, 0);
    add_fails(&f, 0, 0x1000, HM_ERROR, HM_ERROR_INVALID, "all 0");
    g_assert_cmpuint(f.kvm.calls->len, ==, 0);
    teardown(&f, NULL);
    memmap_free(NULL);
}

#define ADD(path, fn) \
    g_test_add("/memmap/" path, struct fixture, NULL, setup, fn, teardown)

/* Two real 64 KiB slots at 0x10000 and 0x40000 for translation tests. */
static uint8_t *add_real_slots(struct fixture *f)
{
    uint8_t *buf = g_malloc0(128 * KiB);

    g_assert_true(memmap_add(f->mm, 0x10000, 64 * KiB, buf, 0, "ram", NULL,
                             NULL));
    g_assert_true(memmap_add(f->mm, 0x40000, 64 * KiB, buf + 64 * KiB, 0,
                             "dimm1", NULL, NULL));
    return buf;
}

static void test_generation_bumps(struct fixture *f, gconstpointer data)
{
    uint64_t g0 = memmap_generation(f->mm), g1, g2, g3, g4;
    g_autofree uint8_t *buf = add_real_slots(f);

    g1 = memmap_generation(f->mm);
    g_assert_cmpuint(g0, ==, 1);
    g_assert_cmpuint(g1, ==, g0 + 2);
    g_assert_true(memmap_set_flags(f->mm, 0x40000, LOG_DIRTY, NULL));
    g2 = memmap_generation(f->mm);
    g_assert_cmpuint(g2, ==, g1 + 1);
    /* Same flags again: no KVM call, no new generation. */
    g_assert_true(memmap_set_flags(f->mm, 0x40000, LOG_DIRTY, NULL));
    g_assert_cmpuint(memmap_generation(f->mm), ==, g2);
    g_assert_true(memmap_set_removing(f->mm, 0x40000, true));
    g3 = memmap_generation(f->mm);
    g_assert_cmpuint(g3, ==, g2 + 1);
    g_assert_true(memmap_remove(f->mm, 0x40000, NULL));
    g4 = memmap_generation(f->mm);
    g_assert_cmpuint(g4, ==, g3 + 1);
    /* A failed change does not move it. */
    g_assert_false(memmap_remove(f->mm, 0x40000, NULL));
    g_assert_cmpuint(memmap_generation(f->mm), ==, g4);
}

static void test_set_flags_calls_kvm(struct fixture *f, gconstpointer data)
{
    g_autofree uint8_t *buf = add_real_slots(f);
    const struct region_call *c;
    g_autoptr(GError) err = NULL;
    uint64_t gen;

    g_assert_true(memmap_set_flags(f->mm, 0x40000, LOG_DIRTY, NULL));
    c = last_call(f);
    g_assert_cmpuint(c->slot, ==, 1);
    g_assert_cmpuint(c->flags, ==, LOG_DIRTY);
    g_assert_cmpuint(c->gpa, ==, 0x40000);
    g_assert_cmpuint(c->size, ==, 64 * KiB);
    g_assert_cmpuint(memmap_find(f->mm, 0x40000)->flags, ==, LOG_DIRTY);
    /* KVM refuses: flags and generation stay. */
    gen = memmap_generation(f->mm);
    f->kvm.fail_next = -EINVAL;
    g_assert_false(memmap_set_flags(f->mm, 0x40000, 0, &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_KVM);
    g_assert_cmpuint(memmap_find(f->mm, 0x40000)->flags, ==, LOG_DIRTY);
    g_assert_cmpuint(memmap_generation(f->mm), ==, gen);
    g_clear_error(&err);
    g_assert_false(memmap_set_flags(f->mm, 0x50000, 0, &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_INVALID);
}

static void test_cache_hits_until_change(struct fixture *f,
                                         gconstpointer data)
{
    g_autofree uint8_t *buf = add_real_slots(f);
    struct memmap_cache c = { 0 };

    g_assert_true(memmap_translate(f->mm, &c, 0x40010, 8) == buf + 64 * KiB
                  + 0x10);
    g_assert_cmpuint(c.misses, ==, 1);
    g_assert_true(memmap_translate(f->mm, &c, 0x4fff8, 8) == buf + 128 * KiB
                  - 8);
    g_assert_cmpuint(c.hits, ==, 1);
    /* Another slot: a miss that refills the cache. */
    g_assert_true(memmap_translate(f->mm, &c, 0x10000, 1) == buf);
    g_assert_cmpuint(c.misses, ==, 2);
    /* Any table change invalidates it, even for an unrelated slot. */
    g_assert_true(memmap_set_flags(f->mm, 0x40000, LOG_DIRTY, NULL));
    g_assert_true(memmap_translate(f->mm, &c, 0x10000, 1) == buf);
    g_assert_cmpuint(c.misses, ==, 3);
    /* Ranges running past the slot or into a hole are refused. */
    g_assert_null(memmap_translate(f->mm, &c, 0x1fff8, 16));
    g_assert_null(memmap_translate(f->mm, &c, 0x30000, 1));
}

/* A DIMM being removed is never translated, cached or not. */
static void test_removing_not_translated(struct fixture *f,
                                         gconstpointer data)
{
    g_autofree uint8_t *buf = add_real_slots(f);
    struct memmap_cache c = { 0 };
    uint8_t byte = 0x5a;

    g_assert_nonnull(memmap_translate(f->mm, &c, 0x40000, 1));
    g_assert_true(memmap_set_removing(f->mm, 0x40000, true));
    g_assert_null(memmap_translate(f->mm, &c, 0x40000, 1));
    g_assert_null(memmap_gpa_to_hva(f->mm, 0x40000, 1));
    g_assert_false(memmap_write(f->mm, 0x40000, &byte, 1));
    g_assert_false(memmap_read(f->mm, 0x40000, &byte, 1));
    g_assert_cmpuint(buf[64 * KiB], ==, 0);
    /* The guest refused: usable again. */
    g_assert_true(memmap_set_removing(f->mm, 0x40000, false));
    g_assert_nonnull(memmap_translate(f->mm, &c, 0x40000, 1));
    g_assert_true(memmap_write(f->mm, 0x40000, &byte, 1));
    g_assert_false(memmap_set_removing(f->mm, 0x40004, true));
}

struct hook_log {
    GString *text;
};

static void record_write(void *opaque, const struct memmap_slot *s,
                         uint64_t offset, uint64_t len)
{
    struct hook_log *log = opaque;

    g_string_append_printf(log->text, "%s+0x%llx/0x%llx;", s->owner,
                           (unsigned long long)offset,
                           (unsigned long long)len);
}

/* Writes hotmem makes into guest memory are reported, split by slot. */
static void test_write_hook(struct fixture *f, gconstpointer data)
{
    g_autofree uint8_t *buf = g_malloc0(128 * KiB);
    struct hook_log log = { g_string_new(NULL) };
    uint8_t src[8 * KiB] = { 0 };

    g_assert_true(memmap_add(f->mm, 0x10000, 64 * KiB, buf, 0, "a", NULL,
                             NULL));
    g_assert_true(memmap_add(f->mm, 0x20000, 64 * KiB, buf + 64 * KiB, 0,
                             "b", NULL, NULL));
    memmap_set_write_hook(f->mm, record_write, &log);
    g_assert_true(memmap_write(f->mm, 0x1f000, src, sizeof(src)));
    memmap_mark_dirty(f->mm, 0x10010, 4);
    g_assert_true(memmap_read(f->mm, 0x10000, src, 16));
    g_assert_cmpstr(log.text->str, ==,
                    "a+0xf000/0x1000;b+0x0/0x1000;a+0x10/0x4;");
    g_string_free(log.text, TRUE);
}

/*
 * memmap_zero() writes only what is not zero already, and the write hook
 * (dirty tracking for migration) hears of those pieces alone.
 */
static void test_zero_reports_changes(struct fixture *f, gconstpointer data)
{
    /* page-aligned, as guest RAM is: pieces follow host pages */
    uint8_t *buf = mmap(NULL, 128 * KiB, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct hook_log log = { g_string_new(NULL) };

    g_assert_true(memmap_add(f->mm, 0x10000, 64 * KiB, buf, 0, "a", NULL,
                             NULL));
    g_assert_true(memmap_add(f->mm, 0x20000, 64 * KiB, buf + 64 * KiB, 0,
                             "b", NULL, NULL));
    buf[0x3007] = 0x5a;                 /* a: in its 4th page */
    buf[64 * KiB + 0x1000] = 0xa5;      /* b: first byte of its 2nd page */
    memmap_set_write_hook(f->mm, record_write, &log);
    g_assert_true(memmap_zero(f->mm, 0x10800, 0x11000));
    g_assert_cmpuint(buf[0x3007], ==, 0);
    g_assert_cmpuint(buf[64 * KiB + 0x1000], ==, 0);
    g_assert_cmpstr(log.text->str, ==, "a+0x3000/0x1000;b+0x1000/0x800;");
    g_assert_false(memmap_zero(f->mm, 0x2f000, 0x2000));   /* past b */
    g_string_free(log.text, TRUE);
    munmap(buf, 128 * KiB);
}

/* Minor page faults of the calling thread so far. */
static long thread_minor_faults(void)
{
    struct rusage ru;

    g_assert_cmpint(getrusage(RUSAGE_THREAD, &ru), ==, 0);
    return ru.ru_minflt;
}

/*
 * Fresh private anonymous RAM (a guest image's bss at startup): pages the
 * process never touched are known to be zero without a load, so zeroing
 * 1 MiB of it takes no fault per page (it took 256: each load mapped the
 * zero page), and a page that was written is still zeroed.
 */
static void test_zero_fresh_anon_no_faults(struct fixture *f,
                                           gconstpointer data)
{
    uint8_t *buf = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long before;

    g_assert_true(buf != MAP_FAILED);
    /* 4 KiB pages whatever the host's THP mode, so faults count pages */
    g_assert_cmpint(madvise(buf, 2 * MiB, MADV_NOHUGEPAGE), ==, 0);
    g_assert_true(memmap_add(f->mm, 0x100000, 2 * MiB, buf, 0, "ram", NULL,
                             NULL));
    buf[0x80000 + 0x5123] = 0x77;
    /* the read path's first use (stdio, /proc) costs its own faults once */
    g_assert_true(memmap_zero(f->mm, 0x100000 + 0x1000, 0x1000));
    before = thread_minor_faults();
    g_assert_true(memmap_zero(f->mm, 0x100000 + 0x80000, MiB));
    /* 256 pages: one fault each before. A few remain for the /proc reads'
     * own buffers (31 under ASan, whose allocator hands out fresh
     * memory for each; 0 in a plain build). */
    g_test_message("faults: %ld", thread_minor_faults() - before);
    g_assert_cmpint(thread_minor_faults() - before, <, 64);
    g_assert_cmpuint(buf[0x80000 + 0x5123], ==, 0);
    munmap(buf, 2 * MiB);
}

/*
 * File memory is not asked, shared or private: a page written through the
 * file, never mapped by this process, is not in its page table yet holds
 * data, and memmap_zero() must still zero it.
 */
static void test_zero_file_unmapped_data(struct fixture *f,
                                         gconstpointer data)
{
    int fd = memfd_create("zero-test", MFD_CLOEXEC);
    const uint8_t v = 0x5a;
    uint8_t *shared, *private;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 64 * KiB), ==, 0);
    g_assert_cmpint(pwrite(fd, &v, 1, 0x2000), ==, 1);
    shared = mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    private = mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
                   0);
    g_assert_true(shared != MAP_FAILED && private != MAP_FAILED);
    g_assert_true(memmap_add(f->mm, 0x10000, 64 * KiB, private, 0, "private",
                             NULL, NULL));
    g_assert_true(memmap_zero(f->mm, 0x10000, 64 * KiB));
    g_assert_cmpuint(private[0x2000], ==, 0);
    g_assert_cmpuint(shared[0x2000], ==, 0x5a);     /* a private copy */
    g_assert_true(memmap_add(f->mm, 0x20000, 64 * KiB, shared, 0, "shared",
                             NULL, NULL));
    g_assert_true(memmap_zero(f->mm, 0x20000, 64 * KiB));
    g_assert_cmpuint(shared[0x2000], ==, 0);
    munmap(shared, 64 * KiB);
    munmap(private, 64 * KiB);
    close(fd);
}

static void count_slot(void *opaque, const struct memmap_slot *s)
{
    (*(unsigned *)opaque)++;
}

static void test_foreach_generation(struct fixture *f, gconstpointer data)
{
    g_autofree uint8_t *buf = add_real_slots(f);
    unsigned n = 0;

    g_assert_cmpuint(memmap_foreach(f->mm, count_slot, &n), ==,
                     memmap_generation(f->mm));
    g_assert_cmpuint(n, ==, 2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("add/first-slot", test_add_first);
    ADD("add/null-owner-and-out", test_add_null_owner_and_out);
    ADD("add/ids-lowest-free-reused", test_ids_reused);
    ADD("add/overlap", test_overlap);
    ADD("add/misaligned-or-empty", test_misaligned);
    ADD("add/kvm-failure", test_add_kvm_fails);
    ADD("add/kvm-failure-message", test_add_kvm_fails_message);
    ADD("remove/calls-kvm", test_remove_calls_kvm);
    ADD("add/too-large-for-kvm", test_too_large);
    ADD("remove/unknown-gpa", test_remove_unknown);
    ADD("remove/kvm-failure", test_remove_kvm_fails);
    ADD("find/edges", test_find_edges);
    ADD("gpa-to-hva/edges", test_gpa_to_hva);
    ADD("rw/across-slots", test_read_write_across);
    ADD("rw/unmapped", test_read_write_unmapped);
    ADD("order/by-gpa", test_order);
    ADD("generation/bumps", test_generation_bumps);
    ADD("flags/calls-kvm", test_set_flags_calls_kvm);
    ADD("cache/hits-until-change", test_cache_hits_until_change);
    ADD("removing/not-translated", test_removing_not_translated);
    ADD("write-hook/reports-vmm-writes", test_write_hook);
    ADD("zero/writes-and-reports-only-changes", test_zero_reports_changes);
    ADD("zero/fresh-anon-no-faults", test_zero_fresh_anon_no_faults);
    ADD("zero/file-unmapped-data", test_zero_file_unmapped_data);
    ADD("read/nofault-truncated", test_read_nofault_truncated);
    ADD("foreach/generation", test_foreach_generation);
    g_test_add_func("/memmap/max-slots/exhausted", test_max_slots);
    g_test_add_func("/memmap/max-slots/zero", test_zero_slots);
    return g_test_run();
}
