/*
 * Kernel loading: format detection, dispatch, and the placement rules shared
 * by the PVH and bzImage loaders. Guest-physical placement: docs/boot.md.
 */
#include "boot/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "acpi/tables.h"
#include "boot/loader_common.h"

#define X "%" G_GINT64_MODIFIER "x"

static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };

/* Offsets from Documentation/arch/x86/boot.rst, "The Real-Mode Kernel
 * Header": boot_flag and header magic. */
#define BZ_BOOT_FLAG_OFF    0x1fe
#define BZ_HEADER_OFF       0x202
#define BZ_MIN_SIZE         0x206

static bool looks_like_elf(const uint8_t *image, size_t size)
{
    return size >= sizeof(elf_magic) &&
           memcmp(image, elf_magic, sizeof(elf_magic)) == 0;
}

static bool looks_like_bzimage(const uint8_t *image, size_t size)
{
    return size >= BZ_MIN_SIZE &&
           ld_le16(image + BZ_BOOT_FLAG_OFF) == 0xaa55 &&
           memcmp(image + BZ_HEADER_OFF, "HdrS", 4) == 0;
}

enum boot_format loader_detect(const uint8_t *image, size_t size)
{
    uint32_t entry;

    if (!image)
        return BOOT_FORMAT_UNKNOWN;
    if (looks_like_elf(image, size))
        return loader_pvh_entry(image, size, &entry, NULL)
               ? BOOT_FORMAT_PVH_ELF : BOOT_FORMAT_UNKNOWN;
    if (looks_like_bzimage(image, size))
        return loader_bzimage_check(image, size, NULL)
               ? BOOT_FORMAT_BZIMAGE : BOOT_FORMAT_UNKNOWN;
    return BOOT_FORMAT_UNKNOWN;
}

/*
 * Dispatch on the magic numbers alone, so that an ELF without a PVH note or a
 * bzImage that is too old gets the precise error of its own loader rather
 * than a generic "unknown format".
 */
/*
 * A guest that resets "through the BIOS" jumps to the x86 reset vector,
 * F000:FFF0 in real mode (physical 0xffff0). hotmem has no BIOS; this stub
 * resets the way the FADT says to, through the reset register, so such a
 * guest is reset by hotmem instead of running zeros forever. Linux goes
 * there on a hardware-reduced ACPI machine without EFI: its reboot picks
 * EFI (reduced hardware), finds no EFI runtime and falls back to the BIOS
 * (arch/x86/kernel/reboot.c). The range is e820-reserved, so no guest
 * uses it as RAM.
 */
#define RESET_VECTOR_GPA        0xffff0ULL

bool loader_put_reset_vector(struct memmap *mm, GError **err)
{
    const uint8_t stub[] = {
        0xb0, ACPI_RESET_VALUE,                         /* mov al, value */
        0xba, ACPI_RESET_PORT & 0xff, ACPI_RESET_PORT >> 8, /* mov dx, port */
        0xee,                                           /* out dx, al */
        0xf4,                                           /* 1: hlt */
        0xeb, 0xfd,                                     /* jmp 1b */
    };

    G_STATIC_ASSERT(RESET_VECTOR_GPA + sizeof(stub) <= 0x100000);
    return loader_write(mm, RESET_VECTOR_GPA, stub, sizeof(stub),
                        "reset vector", err);
}

bool loader_load(struct memmap *mm, const struct layout *l,
                 const struct boot_images *img, struct boot_entry *entry,
                 GError **err)
{
    if (!loader_put_reset_vector(mm, err))
        return false;
    if (!img->kernel || img->kernel_size == 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "kernel image is empty (0 bytes)");
        return false;
    }
    if (looks_like_elf(img->kernel, img->kernel_size))
        return loader_load_pvh(mm, l, img, entry, err);
    if (looks_like_bzimage(img->kernel, img->kernel_size))
        return loader_load_bzimage(mm, l, img, entry, err);
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "kernel image (%zu bytes) is not an ELF with a Xen PVH note "
                "nor a Linux bzImage: no ELF magic 7f 45 4c 46 at offset 0, "
                "no boot signature 0xaa55 at 0x1fe with \"HdrS\" at 0x202",
                img->kernel_size);
    return false;
}

static char *ram_ranges_string(const struct e820_range *e, unsigned n)
{
    GString *s = g_string_new(NULL);

    for (unsigned i = 0; i < n; i++) {
        if (e[i].type != E820_RAM)
            continue;
        g_string_append_printf(s, "%s[0x" X ", 0x" X ")", s->len ? " " : "",
                               e[i].addr, e[i].addr + e[i].size);
    }
    return g_string_free(s, FALSE);
}

static bool check_boot_data_overlap(const char *what, uint64_t start,
                                    uint64_t end, GError **err)
{
    if (end <= LOADER_BOOT_DATA_START || start >= LOADER_BOOT_DATA_END)
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "%s [0x" X ", 0x" X ") overlaps hotmem's boot data "
                "[0x%llx, 0x%llx) (GDT, hvm_start_info, boot_params, page "
                "tables, command line); it must start at or above 0x%llx",
                what, start, end, LOADER_BOOT_DATA_START,
                LOADER_BOOT_DATA_END, LOADER_BOOT_DATA_END);
    return false;
}

bool loader_check_ram(const struct layout *l, const char *what,
                      uint64_t start, uint64_t size, GError **err)
{
    struct e820_range e[LAYOUT_MAX_E820];
    unsigned n = layout_e820(l, e, LAYOUT_MAX_E820);
    uint64_t end = start + size;
    g_autofree char *ram = NULL;

    if (end < start) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "%s at 0x" X " with size 0x" X " wraps around the "
                    "64-bit address space", what, start, size);
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t r_end = e[i].addr + e[i].size;

        if (e[i].type != E820_RAM || start < e[i].addr || start >= r_end)
            continue;
        if (end <= r_end)
            return check_boot_data_overlap(what, start, end, err);
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "%s [0x" X ", 0x" X ") is outside guest RAM: the kernel "
                    "needs 0x" X " bytes at 0x" X "; guest RAM ends at 0x" X,
                    what, start, end, size, start, r_end);
        return false;
    }
    ram = ram_ranges_string(e, n);
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "%s [0x" X ", 0x" X ") is outside guest RAM (RAM ranges: %s)",
                what, start, end, ram);
    return false;
}

bool loader_write(struct memmap *mm, uint64_t gpa, const void *src,
                  uint64_t len, const char *what, GError **err)
{
    if (len == 0 || memmap_write(mm, gpa, src, len))
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "cannot write %s to guest memory [0x" X ", 0x" X "): the "
                "range is not backed by a memory slot", what, gpa, gpa + len);
    return false;
}

bool loader_zero(struct memmap *mm, uint64_t gpa, uint64_t len,
                 const char *what, GError **err)
{
    if (len == 0 || memmap_zero(mm, gpa, len))
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "cannot zero %s in guest memory [0x" X ", 0x" X "): the "
                "range is not backed by a memory slot", what, gpa, gpa + len);
    return false;
}

bool loader_cmdline_len(const char *cmdline, uint64_t max_len,
                        const char *rule, size_t *len, GError **err)
{
    *len = cmdline ? strlen(cmdline) : 0;
    if (*len <= max_len)
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "kernel command line is %zu bytes; the limit is %"
                G_GUINT64_FORMAT " bytes (%s)", *len, max_len, rule);
    return false;
}

bool loader_write_cmdline(struct memmap *mm, const char *cmdline, size_t len,
                          GError **err)
{
    static const char nul;

    if (!loader_write(mm, BOOT_CMDLINE_ADDR, cmdline, len, "command line",
                      err))
        return false;
    return loader_write(mm, BOOT_CMDLINE_ADDR + len, &nul, 1, "command line",
                        err);
}

bool loader_place_initrd(uint64_t size, uint64_t limit, uint64_t kstart,
                         uint64_t kend, uint64_t *addr, GError **err)
{
    uint64_t a;

    if (size > limit)
        goto fail;
    a = loader_align_down(limit - size, LAYOUT_PAGE_SIZE);
    if (a < kend && a + size > kstart) {
        /* The kernel sits at the top of RAM: try just below it. */
        if (kstart < size)
            goto fail;
        a = loader_align_down(kstart - size, LAYOUT_PAGE_SIZE);
    }
    if (a < LAYOUT_HIGH_START)
        goto fail;
    *addr = a;
    return true;
fail:
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "initrd of 0x" X " bytes does not fit in guest RAM between "
                "0x%llx and 0x" X " outside the kernel [0x" X ", 0x" X ")",
                size, LAYOUT_HIGH_START, limit, kstart, kend);
    return false;
}

static const char *file_kind(mode_t mode)
{
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a file";
}

/* Reads up to size bytes (fewer if the file shrank meanwhile). */
static bool read_whole(int fd, uint8_t *buf, size_t size, size_t *len,
                       GError **err)
{
    size_t done = 0;

    while (done < size) {
        ssize_t n = read(fd, buf + done, MIN(size - done, (size_t)1 << 30));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_IO, "%s", g_strerror(errno));
            return false;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *len = done;
    return true;
}

/*
 * O_NONBLOCK so that opening a FIFO never waits for a writer; only then is
 * the file's type known. A device or a FIFO has no size to bound the read
 * (/dev/zero never ends), and a regular file larger than guest RAM cannot
 * be loaded anyway.
 */
bool loader_read_file(const char *what, const char *path, uint64_t limit,
                      uint8_t **data, size_t *len, GError **err)
{
    g_autoptr(GError) e = NULL;
    struct stat st;
    uint8_t *buf;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "%s %s: %s", what, path,
                    g_strerror(errno));
        return false;
    }
    if (fstat(fd, &st) < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "%s %s: %s", what, path,
                    g_strerror(errno));
        close(fd);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "%s %s: not a regular file (%s): the kernel and the "
                    "initrd are read whole into guest RAM", what, path,
                    file_kind(st.st_mode));
        close(fd);
        return false;
    }
    if ((uint64_t)st.st_size > limit) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "%s %s: the file is 0x" X " bytes, more than the 0x" X
                    " bytes of guest RAM it must be loaded into", what,
                    path, (uint64_t)st.st_size, limit);
        close(fd);
        return false;
    }
    buf = g_malloc((size_t)st.st_size + 1);
    if (!read_whole(fd, buf, (size_t)st.st_size, len, &e)) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "%s %s: %s", what, path,
                    e->message);
        g_free(buf);
        close(fd);
        return false;
    }
    close(fd);
    *data = buf;
    return true;
}
