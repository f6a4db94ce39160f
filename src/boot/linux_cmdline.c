/*
 * The memory hot-plug policy hotmem adds to a Linux guest's command line
 * (linux_cmdline.h, docs/linux.md).
 */
#include "boot/linux_cmdline.h"

#include <string.h>

#include "errors.h"

/* Little-endian reads; callers check the bounds. */
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Documentation/arch/x86/boot.rst: boot_flag, header magic, cmdline_size. */
#define BZ_BOOT_FLAG_OFF    0x1fe
#define BZ_HEADER_OFF       0x202
#define BZ_VERSION_OFF      0x206
#define BZ_CMDLINE_SIZE_OFF 0x238   /* protocol 2.06+ */
#define BZ_OLD_CMDLINE_MAX  255     /* before 2.06 */

static bool is_bzimage(const uint8_t *image, size_t size)
{
    return size > BZ_CMDLINE_SIZE_OFF + 4 &&
           image[BZ_BOOT_FLAG_OFF] == 0x55 &&
           image[BZ_BOOT_FLAG_OFF + 1] == 0xaa &&
           memcmp(image + BZ_HEADER_OFF, "HdrS", 4) == 0;
}

/* ELF64 header and program header fields (System V gABI). */
#define ELF_PHOFF       0x20
#define ELF_PHENTSIZE   0x36
#define ELF_PHNUM       0x38
#define ELF_EHDR_SIZE   0x40
#define PHDR_SIZE       0x38
#define PT_NOTE         4
#define XEN_ELFNOTE_GUEST_OS 6      /* xen/include/public/elfnote.h */

static bool is_elf64(const uint8_t *image, size_t size)
{
    return size >= ELF_EHDR_SIZE && memcmp(image, "\x7f" "ELF", 4) == 0 &&
           image[4] == 2;
}

/* One note: name "Linux" (the kernel's own notes) or Xen's GUEST_OS. */
static bool note_says_linux(const uint8_t *name, uint32_t namesz,
                            uint32_t type, const uint8_t *desc,
                            uint32_t descsz)
{
    if (namesz == 6 && memcmp(name, "Linux", 6) == 0)
        return true;
    return namesz == 4 && memcmp(name, "Xen", 4) == 0 &&
           type == XEN_ELFNOTE_GUEST_OS && descsz >= 5 &&
           g_ascii_strncasecmp((const char *)desc, "linux", 5) == 0;
}

/* Walks the notes of one PT_NOTE segment, [p, p + len). */
static bool notes_say_linux(const uint8_t *p, uint64_t len)
{
    uint64_t off = 0;

    while (len - off >= 12) {
        uint32_t namesz = rd32(p + off), descsz = rd32(p + off + 4);
        uint32_t type = rd32(p + off + 8);
        uint64_t name = off + 12;
        uint64_t desc = name + (((uint64_t)namesz + 3) & ~3ULL);
        uint64_t next = desc + (((uint64_t)descsz + 3) & ~3ULL);

        if (next > len)
            return false;
        if (note_says_linux(p + name, namesz, type, p + desc, descsz))
            return true;
        off = next;
    }
    return false;
}

static bool elf_notes_say_linux(const uint8_t *image, size_t size)
{
    uint64_t phoff = rd64(image + ELF_PHOFF);
    unsigned phentsize = image[ELF_PHENTSIZE] | image[ELF_PHENTSIZE + 1] << 8;
    unsigned phnum = image[ELF_PHNUM] | image[ELF_PHNUM + 1] << 8;

    if (phentsize < PHDR_SIZE || phoff > size ||
        (uint64_t)phnum * phentsize > size - phoff)
        return false;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = image + phoff + (uint64_t)i * phentsize;
        uint64_t off = rd64(ph + 8), filesz = rd64(ph + 32);

        if (rd32(ph) != PT_NOTE || off > size || filesz > size - off)
            continue;
        if (notes_say_linux(image + off, filesz))
            return true;
    }
    return false;
}

bool linux_image_is_linux(const uint8_t *image, size_t size)
{
    static const char banner[] = "Linux version ";

    if (!image)
        return false;
    if (is_bzimage(image, size))
        return true;
    if (!is_elf64(image, size))
        return false;
    return elf_notes_say_linux(image, size) ||
           memmem(image, size, banner, sizeof(banner) - 1) != NULL;
}

/*
 * One parameter as the kernel's next_arg() (kernel/params.c) splits them:
 * blanks separate, double quotes protect blanks. [start, end) is the whole
 * word; name is what precedes the first '=', without a leading quote.
 */
struct cmdline_word {
    size_t start, end;
    size_t name, name_len;
    bool has_value;
};

/* Returns false at the end; *open_quote when the line ends inside quotes. */
static bool next_word(const char *s, size_t *pos, struct cmdline_word *w,
                      bool *open_quote)
{
    size_t i = *pos;
    bool quoted = false;

    while (s[i] && g_ascii_isspace(s[i]))
        i++;
    if (!s[i])
        return false;
    *w = (struct cmdline_word){ .start = i, .name = i };
    if (s[i] == '"')
        w->name++;
    for (; s[i] && (quoted || !g_ascii_isspace(s[i])); i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (s[i] == '=' && !w->has_value) {
            w->has_value = true;
            w->name_len = i - w->name;
        }
    }
    w->end = i;
    if (!w->has_value)
        w->name_len = i - w->name - (i > w->name && s[i - 1] == '"');
    *open_quote = quoted;
    *pos = i;
    return true;
}

/* The kernel's parameq(): '-' and '_' are interchangeable in names. */
static bool name_is(const char *s, const struct cmdline_word *w,
                    const char *name)
{
    if (strlen(name) != w->name_len)
        return false;
    for (size_t i = 0; i < w->name_len; i++) {
        char a = s[w->name + i] == '-' ? '_' : s[w->name + i];
        char b = name[i] == '-' ? '_' : name[i];

        if (a != b)
            return false;
    }
    return true;
}

static bool is_separator(const char *s, const struct cmdline_word *w)
{
    return !w->has_value && name_is(s, w, "--");
}

/*
 * Scans the kernel's part of the command line. Returns where the init part
 * ("--") starts (strlen when there is none) and whether a policy was chosen.
 */
static size_t scan_kernel_part(const char *s, bool *chooses, bool *open_quote)
{
    struct cmdline_word w;
    size_t pos = 0;

    *chooses = *open_quote = false;
    while (next_word(s, &pos, &w, open_quote)) {
        if (is_separator(s, &w))
            return w.start;
        if (w.has_value && (name_is(s, &w, LINUX_MEMHP_PARAM) ||
                            name_is(s, &w, "memory_hotplug.online_policy")))
            *chooses = true;
    }
    return strlen(s);
}

bool linux_cmdline_chooses_memhp(const char *cmdline)
{
    bool chooses, open_quote;

    if (!cmdline)
        return false;
    scan_kernel_part(cmdline, &chooses, &open_quote);
    return chooses;
}

static size_t cmdline_limit(const uint8_t *image, size_t size)
{
    if (!is_bzimage(image, size))
        return LINUX_ELF_CMDLINE_MAX;
    if ((image[BZ_VERSION_OFF] | image[BZ_VERSION_OFF + 1] << 8) < 0x206)
        return BZ_OLD_CMDLINE_MAX;
    return rd32(image + BZ_CMDLINE_SIZE_OFF);
}

/* user with LINUX_MEMHP_DEFAULT inserted at offset at. */
static char *insert_default(const char *user, size_t at)
{
    GString *s = g_string_new_len(user, (gssize)at);

    while (s->len && g_ascii_isspace(s->str[s->len - 1]))
        g_string_truncate(s, s->len - 1);
    if (s->len)
        g_string_append_c(s, ' ');
    g_string_append(s, LINUX_MEMHP_DEFAULT);
    if (user[at])
        g_string_append_printf(s, " %s", user + at);
    return g_string_free(s, FALSE);
}

bool linux_cmdline_for_image(const uint8_t *image, size_t size,
                             const char *cmdline,
                             const struct linux_cmdline_policy *policy,
                             char **out, bool *appended, GError **err)
{
    const char *user = cmdline ? cmdline : "";
    bool chooses, open_quote;
    size_t at, limit;
    char *s;

    *out = NULL;
    if (appended)
        *appended = false;
    at = scan_kernel_part(user, &chooses, &open_quote);
    if (!policy->slots || policy->memhp_default_off || chooses ||
        !linux_image_is_linux(image, size)) {
        *out = g_strdup(cmdline);
        return true;
    }
    if (open_quote && !user[at]) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "the kernel command line ends inside a quoted string, so "
                    "hotmem cannot append " LINUX_MEMHP_DEFAULT " (close the "
                    "quote, choose a " LINUX_MEMHP_PARAM "= yourself, or use "
                    "-machine memhp-default-online=off)");
        return false;
    }
    s = insert_default(user, at);
    limit = cmdline_limit(image, size);
    if (strlen(s) > limit) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "the kernel command line has no room for "
                    LINUX_MEMHP_DEFAULT ", which hotmem adds for memory "
                    "hot-plug: it would be %zu bytes, the kernel's limit is "
                    "%zu (shorten -append, choose a " LINUX_MEMHP_PARAM
                    "= yourself, or use -machine memhp-default-online=off)",
                    strlen(s), limit);
        g_free(s);
        return false;
    }
    *out = s;
    if (appended)
        *appended = true;
    return true;
}
