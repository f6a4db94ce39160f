/*
 * Unit tests: the memory hot-plug policy hotmem adds to a Linux command line
 * (src/boot/linux_cmdline.c) and the -machine option that turns it off.
 */
#include <string.h>
#include <glib.h>

#include "cli/cli.h"
#include "boot/guest_image.h"
#include "boot/linux_cmdline.h"

#define ADD LINUX_MEMHP_DEFAULT

/* A bzImage setup header: just what the policy code reads. */
static uint8_t *fake_bzimage(uint16_t version, uint32_t cmdline_size,
                             size_t *size)
{
    uint8_t *b = g_malloc0(0x1000);

    b[0x1fe] = 0x55;
    b[0x1ff] = 0xaa;
    memcpy(b + 0x202, "HdrS", 4);
    b[0x206] = (uint8_t)version;
    b[0x207] = (uint8_t)(version >> 8);
    for (int i = 0; i < 4; i++)
        b[0x238 + i] = (uint8_t)(cmdline_size >> (8 * i));
    *size = 0x1000;
    return b;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/*
 * An ELF64 file with one PT_NOTE segment at 0x100 holding one note, whose
 * descriptor is desc; note_len overrides the segment size (0: exact).
 */
static uint8_t *fake_elf(const char *name, uint32_t type, const char *desc,
                         uint64_t note_len, size_t *size)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1;
    uint32_t descsz = (uint32_t)strlen(desc) + 1;
    uint8_t *b = g_malloc0(0x400), *ph = b + 0x40, *n = b + 0x100;

    memcpy(b, "\x7f" "ELF", 4);
    b[4] = 2;                           /* ELFCLASS64 */
    b[5] = 1;                           /* little-endian */
    put64(b + 0x20, 0x40);              /* e_phoff */
    b[0x36] = 0x38;                     /* e_phentsize */
    b[0x38] = 1;                        /* e_phnum */
    put32(ph, 4);                       /* PT_NOTE */
    put64(ph + 8, 0x100);               /* p_offset */
    put32(n, namesz);
    put32(n + 4, descsz);
    put32(n + 8, type);
    memcpy(n + 12, name, namesz);
    memcpy(n + 12 + ((namesz + 3) & ~3u), desc, descsz);
    put64(ph + 32, note_len ? note_len
                            : 12 + ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u));
    *size = 0x400;
    return b;
}

static void test_detect_bzimage(void)
{
    size_t size;
    g_autofree uint8_t *bz = fake_bzimage(0x20f, 2048, &size);

    g_assert_true(linux_image_is_linux(bz, size));
    bz[0x202] = 'X';
    g_assert_false(linux_image_is_linux(bz, size));
}

static void test_detect_elf_notes(void)
{
    size_t size;
    g_autofree uint8_t *linux_note = fake_elf("Linux", 0x100, "6.1.0", 0,
                                              &size);
    g_autofree uint8_t *xen_linux = fake_elf("Xen", 6, "linux", 0, &size);
    g_autofree uint8_t *xen_other = fake_elf("Xen", 6, "hotmem", 0, &size);
    g_autofree uint8_t *gnu = fake_elf("GNU", 3, "abcd", 0, &size);
    g_autofree uint8_t *cut = fake_elf("Linux", 0x100, "6.1.0", 14, &size);
    g_autofree uint8_t *huge = fake_elf("Linux", 0x100, "6.1.0", 1ULL << 40,
                                        &size);

    g_assert_true(linux_image_is_linux(linux_note, size));
    g_assert_true(linux_image_is_linux(xen_linux, size));
    g_assert_false(linux_image_is_linux(xen_other, size));
    g_assert_false(linux_image_is_linux(gnu, size));
    /* A note running past its segment, or a segment past the file. */
    g_assert_false(linux_image_is_linux(cut, size));
    g_assert_false(linux_image_is_linux(huge, size));
    /* Program headers beyond the end of the file. */
    gnu[0x38] = 0xff;
    gnu[0x39] = 0xff;
    g_assert_false(linux_image_is_linux(gnu, size));
}

static void test_detect_banner(void)
{
    size_t size;
    g_autofree uint8_t *elf = fake_elf("GNU", 3, "abcd", 0, &size);

    memcpy(elf + 0x300, "Linux version 6.1.0 (x)", 23);
    g_assert_true(linux_image_is_linux(elf, size));
    /* Not an ELF nor a bzImage: the banner alone does not count. */
    elf[0] = 0;
    g_assert_false(linux_image_is_linux(elf, size));
    g_assert_false(linux_image_is_linux(NULL, 0));
    g_assert_false(linux_image_is_linux((const uint8_t *)"\x7f" "ELF", 4));
}

static void test_detect_bundled_guest(void)
{
    g_assert_false(linux_image_is_linux(hotmem_guest_image,
                                        guest_image_size()));
}

static void test_chooses(void)
{
    static const struct { const char *cmdline; bool chooses; } cases[] = {
        { NULL, false },
        { "", false },
        { "console=ttyS0", false },
        { "memhp_default_state=online", true },
        { "memhp_default_state=offline", true },
        { "memhp-default-state=online_kernel", true },
        { "quiet memory_hotplug.online_policy=auto-movable", true },
        { "memory-hotplug.online-policy=contig-zones", true },
        { "\"memhp_default_state=online\"", true },
        { "movable_node", false },
        { "memhp_default_state", false },
        { "xmemhp_default_state=online", false },
        { "memhp_default_state_x=online", false },
        { "console=ttyS0 -- memhp_default_state=online", false },
        { "a=\"b -- c\" memhp_default_state=online", true },
        { "init=/x\tmemhp_default_state=online", true },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        if (linux_cmdline_chooses_memhp(cases[i].cmdline) != cases[i].chooses)
            g_error("\"%s\": expected chooses=%d", cases[i].cmdline,
                    cases[i].chooses);
    }
}

/* The policy applied to a bzImage with a 2047-byte limit and 4 slots. */
static char *apply(const char *cmdline, uint32_t slots, bool off,
                   bool *appended, GError **err)
{
    size_t size;
    g_autofree uint8_t *bz = fake_bzimage(0x20f, 2047, &size);
    struct linux_cmdline_policy p = { .slots = slots,
                                      .memhp_default_off = off };
    char *out = (char *)"unset";

    if (!linux_cmdline_for_image(bz, size, cmdline, &p, &out, appended, err))
        g_assert_null(out);
    return out;
}

static void test_append(void)
{
    static const struct { const char *in, *out; } cases[] = {
        { NULL, ADD },
        { "", ADD },
        { "console=ttyS0", "console=ttyS0 " ADD },
        { "console=ttyS0  ", "console=ttyS0 " ADD },
        { "movable_node", "movable_node " ADD },
        /* The kernel's parameters end at "--"; the rest goes to init. */
        { "quiet -- single", "quiet " ADD " -- single" },
        { "-- single", ADD " -- single" },
        { "quiet --", "quiet " ADD " --" },
        { "a=\"x -- y\" -- b", "a=\"x -- y\" " ADD " -- b" },
        { "a \"--\" b", "a " ADD " \"--\" b" },
        /* A word that merely contains "--" is an ordinary parameter. */
        { "x--y", "x--y " ADD },
        { "--x", "--x " ADD },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        bool appended = false;
        g_autofree char *out = apply(cases[i].in, 4, false, &appended, &err);

        g_assert_no_error(err);
        g_assert_true(appended);
        g_assert_cmpstr(out, ==, cases[i].out);
    }
}

static void test_unchanged(void)
{
    static const struct {
        const char *in;
        uint32_t slots;
        bool off;
    } cases[] = {
        { "console=ttyS0", 0, false },          /* no hot-plug */
        { NULL, 0, false },
        { "console=ttyS0", 4, true },           /* -machine ...=off */
        { NULL, 4, true },
        { "memhp_default_state=offline", 4, false },    /* user's choice */
        { "memory_hotplug.online_policy=auto-movable", 4, false },
        /* An unterminated quote is harmless when nothing is appended. */
        { "a=\"b", 0, false },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        bool appended = true;
        g_autofree char *out = apply(cases[i].in, cases[i].slots,
                                     cases[i].off, &appended, &err);

        g_assert_no_error(err);
        g_assert_false(appended);
        g_assert_cmpstr(out, ==, cases[i].in);
    }
}

static void test_not_linux(void)
{
    struct linux_cmdline_policy p = { .slots = 4 };
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    bool appended = true;

    g_assert_true(linux_cmdline_for_image(hotmem_guest_image,
                                          guest_image_size(), "x", &p, &out,
                                          &appended, &err));
    g_assert_cmpstr(out, ==, "x");
    g_assert_false(appended);
}

static void test_elf_limit(void)
{
    size_t size;
    g_autofree uint8_t *elf = fake_elf("Linux", 0x100, "6.1.0", 0, &size);
    struct linux_cmdline_policy p = { .slots = 1 };
    size_t fit = LINUX_ELF_CMDLINE_MAX - strlen(" " ADD);
    g_autofree char *user = g_strnfill(fit, 'a');
    g_autofree char *longer = g_strnfill(fit + 1, 'a');
    g_autofree char *out = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_true(linux_cmdline_for_image(elf, size, user, &p, &out, NULL,
                                          &err));
    g_assert_cmpuint(strlen(out), ==, LINUX_ELF_CMDLINE_MAX);
    g_clear_pointer(&out, g_free);
    g_assert_false(linux_cmdline_for_image(elf, size, longer, &p, &out, NULL,
                                           &err));
    g_assert_nonnull(strstr(err->message, "no room for " ADD));
    g_assert_nonnull(strstr(err->message, "limit is 2047"));
}

static void test_errors(void)
{
    size_t size;
    g_autofree uint8_t *old = fake_bzimage(0x205, 0, &size);
    struct linux_cmdline_policy p = { .slots = 2 };
    g_autofree char *user = g_strnfill(230, 'b');
    g_autofree char *out = NULL;
    g_autoptr(GError) err = NULL;
    bool appended = true;

    /* Protocols before 2.06 keep 255 bytes. */
    g_assert_false(linux_cmdline_for_image(old, size, user, &p, &out,
                                           &appended, &err));
    g_assert_null(out);
    g_assert_false(appended);
    g_assert_nonnull(strstr(err->message, "limit is 255"));
    g_assert_nonnull(strstr(err->message, "memhp-default-online=off"));
    g_clear_error(&err);
    /* Appending after an open quote would land inside it. */
    out = apply("init=/bin/sh a=\"b c", 4, false, NULL, &err);
    g_assert_null(out);
    g_assert_nonnull(strstr(err->message, "inside a quoted string"));
}

static bool parse(const char *const *args, struct cli_options *o,
                  GError **err)
{
    GPtrArray *argv = g_ptr_array_new();
    bool ok;

    g_ptr_array_add(argv, (gpointer)"hotmem");
    for (; *args; args++)
        g_ptr_array_add(argv, (gpointer)*args);
    ok = cli_parse((int)argv->len, (char **)argv->pdata, o, err);
    g_ptr_array_free(argv, TRUE);
    return ok;
}

static void test_machine_option(void)
{
    static const struct { const char *arg; bool on; } good[] = {
        { "pc", true },
        { "q35,accel=kvm", true },
        { "type=pc,memhp-default-online=off", false },
        { "memhp-default-online=no", false },
        { "memhp-default-online=false", false },
        { "memhp-default-online=on", true },
        { "pc,memhp-default-online=yes", true },
    };
    static const struct { const char *arg, *msg; } bad[] = {
        { "microvm", "type 'microvm' is not supported" },
        { "pc,accel=tcg", "accel 'tcg' is not supported" },
        { "pc,memhp-default-online=maybe", "'maybe' is not a boolean" },
        { "pc,nvdimm=on", "nvdimm=on is not supported" },
        { "pc,foo=on", "unknown property 'foo'" },
        { "pc,memhp", "element 'memhp'" },
    };
    struct cli_options o;

    g_assert_true(parse((const char *[]){ NULL }, &o, NULL));
    g_assert_true(o.memhp_default_online);
    cli_options_clear(&o);
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_true(parse((const char *[]){ "-machine", good[i].arg, NULL },
                            &o, &err));
        g_assert_no_error(err);
        g_assert_cmpint(o.memhp_default_online, ==, good[i].on);
        cli_options_clear(&o);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_false(parse((const char *[]){ "-M", bad[i].arg, NULL }, &o,
                             &err));
        if (!strstr(err->message, bad[i].msg))
            g_error("-machine %s: \"%s\" lacks \"%s\"", bad[i].arg,
                    err->message, bad[i].msg);
    }
    /* Options accumulate across -machine, as in QEMU. */
    g_assert_true(parse((const char *[]){ "-machine", "memhp-default-online="
                                          "off", "-machine", "q35", NULL },
                        &o, NULL));
    g_assert_false(o.memhp_default_online);
    cli_options_clear(&o);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/linux-cmdline/detect/bzimage", test_detect_bzimage);
    g_test_add_func("/linux-cmdline/detect/elf-notes", test_detect_elf_notes);
    g_test_add_func("/linux-cmdline/detect/banner", test_detect_banner);
    g_test_add_func("/linux-cmdline/detect/bundled-guest",
                    test_detect_bundled_guest);
    g_test_add_func("/linux-cmdline/chooses", test_chooses);
    g_test_add_func("/linux-cmdline/append", test_append);
    g_test_add_func("/linux-cmdline/unchanged", test_unchanged);
    g_test_add_func("/linux-cmdline/not-linux", test_not_linux);
    g_test_add_func("/linux-cmdline/limit/elf", test_elf_limit);
    g_test_add_func("/linux-cmdline/errors", test_errors);
    g_test_add_func("/linux-cmdline/machine-option", test_machine_option);
    return g_test_run();
}
