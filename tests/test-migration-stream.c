/*
 * The migration stream without KVM (docs/migration.md): the machine's
 * state through its sections and back, readers refusing what they cannot
 * read, and guest RAM through io_uring to a file and back, zero pages
 * as bits.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "migration/ram.h"
#include "migration/state.h"
#include "migration/stream.h"

static void snapshot_fill(struct machine_snapshot *s)
{
    struct machine_ram_block b = { g_strdup("ram-below-4g"), 0, 1 << 20,
                                   NULL };
    struct machine_dimm_snapshot d = {
        .id = g_strdup("dimm1"), .memdev = g_strdup("mem1"), .slot = 2,
        .node = 1, .addr = 0x100000000ULL, .size = 0x8000000,
        .hotplugged = true,
        .hp = { .removing = true, .unplug_requested = true,
                .ost_event = 3, .ost_status = 0x84 } };

    machine_snapshot_init(s);
    s->ram_size = 1 << 20;
    s->maxmem = 1 << 30;
    s->slots = 4;
    s->smp = 2;
    s->phys_bits = 46;
    s->run_state = MACHINE_PAUSED;
    g_array_append_val(s->blocks, b);
    g_array_append_val(s->dimms, d);
    s->slot_ost_event = g_new0(uint32_t, 5);
    s->slot_ost_status = g_new0(uint32_t, 5);
    s->slot_ost_event[2] = 3;
    s->slot_ost_status[2] = 0x84;
    s->memhp = (struct memhp_state){ .selector = 2, .empty_ost_event = 7 };
    s->ged_pending = 1;
    s->serial = (struct serial_state){ .rx = { 'a', 'b' }, .rx_count = 2,
                                       .ier = 1, .lcr = 3, .fcr = 0xc1,
                                       .divisor = 12, .irq_level = true };
    s->serial_input = g_bytes_new("peek 0x0\n", 9);
}

/* Decodes every section of buf into s (after its "end"). */
static bool decode_all(const GByteArray *buf, struct machine_snapshot *s,
                       GError **err)
{
    size_t pos = 0;

    while (pos + MIG_SECTION_SIZE <= buf->len) {
        struct mig_section sec;

        if (!mig_section_decode(buf->data + pos, &sec, err))
            return false;
        pos += MIG_SECTION_SIZE;
        if (!strcmp(sec.id, "end"))
            return pos == buf->len;
        g_assert_cmpuint(pos + sec.length, <=, buf->len);
        if (!mig_state_get_section(&sec, buf->data + pos, s, err))
            return false;
        pos += sec.length;
    }
    return false;
}

static void test_state_roundtrip(void)
{
    struct machine_snapshot s, back;
    g_autoptr(GByteArray) buf = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    const struct machine_dimm_snapshot *d;

    snapshot_fill(&s);
    mig_state_put_config(buf, &s);
    mig_state_put_devices(buf, &s);
    machine_snapshot_init(&back);
    g_assert_true(decode_all(buf, &back, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(back.ram_size, ==, s.ram_size);
    g_assert_cmpuint(back.maxmem, ==, s.maxmem);
    g_assert_cmpuint(back.smp, ==, 2);
    g_assert_cmpuint(back.phys_bits, ==, 46);
    g_assert_cmpint(back.run_state, ==, MACHINE_PAUSED);
    g_assert_cmpuint(back.blocks->len, ==, 1);
    g_assert_cmpstr(g_array_index(back.blocks, struct machine_ram_block,
                                  0).name, ==, "ram-below-4g");
    g_assert_cmpuint(back.dimms->len, ==, 1);
    d = &g_array_index(back.dimms, struct machine_dimm_snapshot, 0);
    g_assert_cmpstr(d->id, ==, "dimm1");
    g_assert_cmpstr(d->memdev, ==, "mem1");
    g_assert_cmpuint(d->slot, ==, 2);
    g_assert_cmpuint(d->node, ==, 1);
    g_assert_cmphex(d->addr, ==, 0x100000000ULL);
    g_assert_true(d->hotplugged && d->hp.removing && d->hp.unplug_requested);
    g_assert_false(d->hp.inserting);
    g_assert_cmphex(d->hp.ost_status, ==, 0x84);
    g_assert_cmpuint(back.slot_ost_event[2], ==, 3);
    g_assert_cmpuint(back.memhp.selector, ==, 2);
    g_assert_cmpuint(back.memhp.empty_ost_event, ==, 7);
    g_assert_cmpuint(back.ged_pending, ==, 1);
    g_assert_cmpmem(&back.serial, sizeof(back.serial), &s.serial,
                    sizeof(s.serial));
    g_assert_true(g_bytes_equal(back.serial_input, s.serial_input));
    machine_snapshot_clear(&s);
    machine_snapshot_clear(&back);
}

/* A section of id/version with an empty body: what the reader says. */
static void expect_refused(const char *id, uint16_t version,
                           const char *needle)
{
    struct machine_snapshot s;
    uint8_t raw[MIG_SECTION_SIZE];
    struct mig_section sec;
    g_autoptr(GError) err = NULL;

    machine_snapshot_init(&s);
    mig_section_encode(raw, id, version, 0, 0);
    g_assert_true(mig_section_decode(raw, &sec, NULL));
    g_assert_false(mig_state_get_section(&sec, "", &s, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, needle))
        g_error("'%s' lacks '%s'", err->message, needle);
    machine_snapshot_clear(&s);
}

static void test_state_refused(void)
{
    expect_refused("serial", 2, "section 'serial' has version 2; this "
                   "hotmem reads versions 1 to 1");
    expect_refused("virtio", 1, "a section 'virtio' this hotmem does not "
                   "know");
    expect_refused("ged", 1, "section 'ged' is shorter than its fields");
}

static void test_header(void)
{
    uint8_t h[MIG_HEADER_SIZE];
    g_autoptr(GError) e1 = NULL, e2 = NULL;

    mig_header_encode(h);
    g_assert_true(mig_header_decode(h, NULL));
    h[8] = 2;
    g_assert_false(mig_header_decode(h, &e1));
    g_assert_nonnull(strstr(e1->message, "format version 2 is not one "
                                         "this hotmem reads (1)"));
    h[0] = 'X';
    g_assert_false(mig_header_decode(h, &e2));
    g_assert_nonnull(strstr(e2->message, "not a hotmem migration stream"));
}

#define RAM_BLOCK  (3u * MIG_CHUNK_PAGES * MIG_PAGE_SIZE / 2)   /* 1.5 chunks */

static void test_ram_roundtrip(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-mig-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "ram", NULL);
    struct mig_block src[2], dst[2];
    struct mig_counters out = { 0 }, in = { 0 };
    struct mig_file f;
    struct mig_section sec;
    uint8_t raw[MIG_SECTION_SIZE];
    g_autoptr(GError) err = NULL;
    unsigned data_pages = 0;
    int fd;

    for (unsigned b = 0; b < 2; b++) {
        src[b] = (struct mig_block){ RAM_BLOCK,
                                     g_aligned_alloc0(1, RAM_BLOCK, 4096),
                                     -1, 0 };
        dst[b] = (struct mig_block){ RAM_BLOCK,
                                     g_aligned_alloc(1, RAM_BLOCK, 4096),
                                     -1, 0 };
        memset(dst[b].hva, 0xff, RAM_BLOCK);      /* stale memory */
        /* Every seventh page holds data; one word at its end. */
        for (unsigned p = b; p < RAM_BLOCK / MIG_PAGE_SIZE; p += 7) {
            memset(src[b].hva + (size_t)p * MIG_PAGE_SIZE + 4088, p + 1, 8);
            data_pages++;
        }
    }
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(mig_file_init(&f, fd, 100, path, &out, &err));
    g_assert_true(mig_ram_save(&f, src, 2, NULL, &err));
    g_assert_no_error(err);
    mig_file_release(&f);
    g_assert_cmpuint(out.normal, ==, data_pages);
    g_assert_cmpuint(out.duplicate, ==,
                     2 * RAM_BLOCK / MIG_PAGE_SIZE - data_pages);
    /* Data pages, and per section a header and a bitmap: 4 sections. */
    g_assert_cmpuint(out.transferred, ==,
                     data_pages * MIG_PAGE_SIZE +
                     4 * (MIG_SECTION_SIZE + 16 + MIG_CHUNK_PAGES / 8));

    g_assert_true(mig_file_init(&f, fd, 100, path, &in, &err));
    for (unsigned i = 0; i < 4; i++) {
        g_assert_true(mig_file_read(&f, raw, sizeof(raw), &err));
        g_assert_true(mig_section_decode(raw, &sec, &err));
        g_assert_cmpstr(sec.id, ==, "ram");
        g_assert_true(mig_ram_load(&f, &sec, dst, 2, &err));
    }
    g_assert_true(mig_ram_load_wait(&f, &err));
    g_assert_no_error(err);
    /* The end of the stream is an error, not a hang or garbage. */
    g_assert_false(mig_file_read(&f, raw, sizeof(raw), &err));
    g_assert_nonnull(strstr(err->message, "ends early"));
    mig_file_release(&f);
    for (unsigned b = 0; b < 2; b++) {
        g_assert_cmpmem(dst[b].hva, RAM_BLOCK, src[b].hva, RAM_BLOCK);
        g_aligned_free(src[b].hva);
        g_aligned_free(dst[b].hva);
    }
    close(fd);
    g_unlink(path);
    g_rmdir(dir);
}

#define SHARED_BLOCK    (16u << 20)        /* 16 chunks */

/* A shared mapping of a fresh memfd of SHARED_BLOCK bytes. */
static struct mig_block memfd_block(const char *name)
{
    struct mig_block b = { SHARED_BLOCK, NULL, memfd_create(name, 0), 0 };

    g_assert_cmpint(b.fd, >=, 0);
    g_assert_cmpint(ftruncate(b.fd, SHARED_BLOCK), ==, 0);
    b.hva = mmap(NULL, SHARED_BLOCK, PROT_READ | PROT_WRITE, MAP_SHARED,
                 b.fd, 0);
    g_assert_true(b.hva != MAP_FAILED);
    return b;
}

/* Bytes of the memfd that are allocated. */
static uint64_t allocated(const struct mig_block *b)
{
    struct stat st;

    g_assert_cmpint(fstat(b->fd, &st), ==, 0);
    return (uint64_t)st.st_blocks * 512;
}

/*
 * Shared (memfd) RAM that the guest mostly never touched: saving it does
 * not read, so does not allocate, its holes, and loading it into a fresh
 * memfd allocates only the pages with data.
 */
static void test_ram_holes(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-mig-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "ram", NULL);
    struct mig_block src = memfd_block("src"), dst = memfd_block("dst");
    struct mig_counters out = { 0 }, in = { 0 };
    const unsigned pages[] = { 0, 1, 255, 256, 1000, 4095 };
    uint8_t raw[MIG_SECTION_SIZE];
    g_autoptr(GError) err = NULL;
    struct mig_section sec;
    struct mig_file f;
    int fd;

    for (unsigned i = 0; i < G_N_ELEMENTS(pages); i++)
        memset(src.hva + (size_t)pages[i] * MIG_PAGE_SIZE + 7, i + 1, 9);
    /* A written page of zeros is data in the file, sent as a zero page. */
    memset(src.hva + (size_t)2000 * MIG_PAGE_SIZE, 0, MIG_PAGE_SIZE);
    g_assert_cmpuint(allocated(&src), ==, 7 * MIG_PAGE_SIZE);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(mig_file_init(&f, fd, 0, path, &out, &err));
    g_assert_true(mig_ram_save(&f, &src, 1, NULL, &err));
    g_assert_no_error(err);
    mig_file_release(&f);
    g_assert_cmpuint(out.normal, ==, G_N_ELEMENTS(pages));
    g_assert_cmpuint(out.duplicate, ==,
                     SHARED_BLOCK / MIG_PAGE_SIZE - G_N_ELEMENTS(pages));
    /* The source read no hole. */
    g_assert_cmpuint(allocated(&src), ==, 7 * MIG_PAGE_SIZE);

    g_assert_true(mig_file_init(&f, fd, 0, path, &in, &err));
    for (unsigned i = 0; i < SHARED_BLOCK / (MIG_CHUNK_PAGES * MIG_PAGE_SIZE);
         i++) {
        g_assert_true(mig_file_read(&f, raw, sizeof(raw), &err));
        g_assert_true(mig_section_decode(raw, &sec, &err));
        g_assert_true(mig_ram_load(&f, &sec, &dst, 1, &err));
    }
    g_assert_true(mig_ram_load_wait(&f, &err));
    g_assert_no_error(err);
    mig_file_release(&f);
    /* The destination allocated the data pages only. */
    g_assert_cmpuint(allocated(&dst), ==,
                     G_N_ELEMENTS(pages) * MIG_PAGE_SIZE);
    g_assert_cmpmem(dst.hva, SHARED_BLOCK, src.hva, SHARED_BLOCK);
    munmap(src.hva, SHARED_BLOCK);
    munmap(dst.hva, SHARED_BLOCK);
    close(src.fd);
    close(dst.fd);
    close(fd);
    g_unlink(path);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/state/roundtrip", test_state_roundtrip);
    g_test_add_func("/migration/state/refused", test_state_refused);
    g_test_add_func("/migration/header", test_header);
    g_test_add_func("/migration/ram/roundtrip", test_ram_roundtrip);
    g_test_add_func("/migration/ram/holes", test_ram_holes);
    return g_test_run();
}
