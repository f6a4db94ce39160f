/*
 * PVH ELF loader. The kernel is an ELF64 x86-64 file whose Xen ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY (type 18, Xen public/elfnote.h) gives a 32-bit
 * physical entry point. The guest starts there in 32-bit protected mode,
 * paging off, with %ebx pointing at struct hvm_start_info (Xen
 * public/arch-x86/hvm/start_info.h, docs/misc/pvh.pandoc).
 *
 * ELF structures are read by offset, as given in the System V gABI ("ELF
 * Header", "Program Header", "Sections", "Note Section") for ELFCLASS64.
 */
#include "boot/loader.h"

#include <stddef.h>

#include "errors.h"
#include "boot/loader_common.h"

#define X "%" G_GINT64_MODIFIER "x"

/* ELF header (gABI "ELF Header"), ELFCLASS64 offsets. */
#define EHDR_SIZE       64
#define EI_CLASS        4
#define EI_DATA         5
#define ELFCLASS64      2
#define ELFDATA2LSB     1
#define E_TYPE          16
#define E_MACHINE       18
#define E_PHOFF         32
#define E_SHOFF         40
#define E_PHENTSIZE     54
#define E_PHNUM         56
#define E_SHENTSIZE     58
#define E_SHNUM         60
#define ET_EXEC         2
#define ET_DYN          3
#define EM_X86_64       62
#define PN_XNUM         0xffff

/* Program header (gABI "Program Header"). */
#define PHDR_SIZE       56
#define PT_LOAD         1
#define PT_NOTE         4

/* Section header (gABI "Sections"). */
#define SHDR_SIZE       64
#define SH_TYPE         4
#define SH_OFFSET       24
#define SH_SIZE         32
#define SH_ADDRALIGN    48
#define SHT_NOTE        7

/* Note header: namesz, descsz, type, then name and desc, each padded. */
#define NOTE_HDR_SIZE   12
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* Xen public/arch-x86/hvm/start_info.h, version 1. */
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578u

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;      /* version 1 */
    uint32_t memmap_entries;    /* version 1 */
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

G_STATIC_ASSERT(sizeof(struct hvm_start_info) == 56);
G_STATIC_ASSERT(offsetof(struct hvm_start_info, memmap_paddr) == 40);
G_STATIC_ASSERT(sizeof(struct hvm_modlist_entry) == 32);
G_STATIC_ASSERT(sizeof(struct hvm_memmap_table_entry) == 24);
G_STATIC_ASSERT(BOOT_START_INFO_ADDR + sizeof(struct hvm_start_info) <=
                BOOT_MODLIST_ADDR);
G_STATIC_ASSERT(BOOT_MODLIST_ADDR + sizeof(struct hvm_modlist_entry) <=
                BOOT_MEMMAP_ADDR);
G_STATIC_ASSERT(BOOT_MEMMAP_ADDR + LAYOUT_MAX_E820 *
                sizeof(struct hvm_memmap_table_entry) <= BOOT_ZERO_PAGE_ADDR);

struct elf_phdr {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz, align;
};

static void phdr_get(const uint8_t *image, unsigned i, struct elf_phdr *ph)
{
    const uint8_t *p = image + ld_le64(image + E_PHOFF) +
                       (uint64_t)i * PHDR_SIZE;

    ph->type = ld_le32(p);
    ph->offset = ld_le64(p + 8);
    ph->paddr = ld_le64(p + 24);
    ph->filesz = ld_le64(p + 32);
    ph->memsz = ld_le64(p + 40);
    ph->align = ld_le64(p + 48);
}

/*
 * The next non-empty PT_LOAD header from *i on (start with *i = 0); false
 * after the last.
 */
static bool next_load(const uint8_t *image, unsigned *i, struct elf_phdr *ph)
{
    unsigned phnum = ld_le16(image + E_PHNUM);

    while (*i < phnum) {
        phdr_get(image, (*i)++, ph);
        if (ph->type == PT_LOAD && ph->memsz != 0)
            return true;
    }
    return false;
}

/* [off, off + len) lies inside a file of size bytes, without overflow. */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

static bool check_ident(const uint8_t *image, size_t size, GError **err)
{
    const char *rule = NULL;

    if (size < EHDR_SIZE)
        rule = "the file is shorter than the 64-byte ELF64 header";
    else if (image[EI_CLASS] != ELFCLASS64)
        rule = "EI_CLASS is not ELFCLASS64 (2)";
    else if (image[EI_DATA] != ELFDATA2LSB)
        rule = "EI_DATA is not ELFDATA2LSB (1, little-endian)";
    else if (ld_le16(image + E_MACHINE) != EM_X86_64)
        rule = "e_machine is not EM_X86_64 (62)";
    else if (ld_le16(image + E_TYPE) != ET_EXEC &&
             ld_le16(image + E_TYPE) != ET_DYN)
        rule = "e_type is neither ET_EXEC (2) nor ET_DYN (3)";
    if (!rule)
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "ELF kernel (%zu bytes) cannot be booted: %s", size, rule);
    return false;
}

static bool check_phdr_table(const uint8_t *image, size_t size, GError **err)
{
    uint64_t phoff = ld_le64(image + E_PHOFF);
    unsigned phnum = ld_le16(image + E_PHNUM);
    unsigned phentsize = ld_le16(image + E_PHENTSIZE);

    if (phnum == 0 || phnum == PN_XNUM) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "ELF e_phnum is %u: a PVH kernel needs between 1 and "
                    "%u program headers", phnum, PN_XNUM - 1);
        return false;
    }
    if (phentsize != PHDR_SIZE) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "ELF e_phentsize is %u; ELF64 program headers are %u "
                    "bytes", phentsize, PHDR_SIZE);
        return false;
    }
    if (!in_file(phoff, (uint64_t)phnum * PHDR_SIZE, size)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "ELF program header table [0x" X ", +0x%x) extends "
                    "beyond the end of the file (0x%zx bytes): truncated or "
                    "corrupt ELF", phoff, phnum * PHDR_SIZE, size);
        return false;
    }
    return true;
}

static bool check_phdr(const struct elf_phdr *ph, unsigned i, size_t size,
                       GError **err)
{
    if (ph->type != PT_LOAD && ph->type != PT_NOTE)
        return true;
    if (!in_file(ph->offset, ph->filesz, size)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "ELF program header %u: file data [0x" X ", +0x" X ") "
                    "extends beyond the end of the file (0x%zx bytes)",
                    i, ph->offset, ph->filesz, size);
        return false;
    }
    if (ph->type == PT_LOAD && ph->filesz > ph->memsz) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "ELF program header %u: p_filesz 0x" X " exceeds "
                    "p_memsz 0x" X, i, ph->filesz, ph->memsz);
        return false;
    }
    return true;
}

static bool note_entry(const uint8_t *desc, uint64_t descsz, uint32_t *entry,
                       GError **err)
{
    uint64_t v;

    /* Linux emits the entry as .long in older and .quad in newer kernels. */
    if (descsz != 4 && descsz != 8) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Xen PVH entry note has a %" G_GUINT64_FORMAT "-byte "
                    "descriptor; expected a 4- or 8-byte address", descsz);
        return false;
    }
    v = descsz == 4 ? ld_le32(desc) : ld_le64(desc);
    if (v >= LOADER_4G) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Xen PVH entry 0x" X " is not a 32-bit address; the PVH "
                    "entry runs in 32-bit protected mode", v);
        return false;
    }
    *entry = (uint32_t)v;
    return true;
}

/* Scans one note area. Returns 1 found, 0 not found, -1 malformed. */
static int scan_notes(const uint8_t *image, uint64_t off, uint64_t len,
                      uint64_t align, uint32_t *entry, GError **err)
{
    const uint8_t *area = image + off;
    uint64_t pos = 0;

    align = align == 8 ? 8 : 4;
    while (pos + NOTE_HDR_SIZE <= len) {
        uint64_t namesz = ld_le32(area + pos);
        uint64_t descsz = ld_le32(area + pos + 4);
        uint32_t type = ld_le32(area + pos + 8);
        uint64_t name = pos + NOTE_HDR_SIZE;
        uint64_t desc = name + loader_align_up(namesz, align);

        if (desc + descsz > len) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "ELF note at file offset 0x" X " (name %"
                        G_GUINT64_FORMAT " bytes, descriptor %"
                        G_GUINT64_FORMAT " bytes) runs past the end of its "
                        "note area [0x" X ", 0x" X ")", off + pos, namesz,
                        descsz, off, off + len);
            return -1;
        }
        if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
            memcmp(area + name, "Xen", 4) == 0)
            return note_entry(area + desc, descsz, entry, err) ? 1 : -1;
        pos = desc + loader_align_up(descsz, align);
    }
    return 0;
}

/* SHT_NOTE sections, for files whose notes are not in a PT_NOTE segment. */
static int scan_note_sections(const uint8_t *image, size_t size,
                              uint32_t *entry, GError **err)
{
    uint64_t shoff = ld_le64(image + E_SHOFF);
    unsigned shnum = ld_le16(image + E_SHNUM);

    if (shoff == 0 || shnum == 0 ||
        ld_le16(image + E_SHENTSIZE) != SHDR_SIZE ||
        !in_file(shoff, (uint64_t)shnum * SHDR_SIZE, size))
        return 0;
    for (unsigned i = 0; i < shnum; i++) {
        const uint8_t *sh = image + shoff + (uint64_t)i * SHDR_SIZE;
        uint64_t off = ld_le64(sh + SH_OFFSET), len = ld_le64(sh + SH_SIZE);
        int r;

        if (ld_le32(sh + SH_TYPE) != SHT_NOTE)
            continue;
        if (!in_file(off, len, size)) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "ELF section %u (SHT_NOTE) [0x" X ", +0x" X ") "
                        "extends beyond the end of the file (0x%zx bytes)",
                        i, off, len, size);
            return -1;
        }
        r = scan_notes(image, off, len, ld_le64(sh + SH_ADDRALIGN), entry,
                       err);
        if (r)
            return r;
    }
    return 0;
}

static int find_pvh_note(const uint8_t *image, size_t size, uint32_t *entry,
                         GError **err)
{
    unsigned phnum = ld_le16(image + E_PHNUM);
    bool have_pt_note = false;
    struct elf_phdr ph;

    for (unsigned i = 0; i < phnum; i++) {
        int r;

        phdr_get(image, i, &ph);
        if (ph.type != PT_NOTE)
            continue;
        have_pt_note = true;
        r = scan_notes(image, ph.offset, ph.filesz, ph.align, entry, err);
        if (r)
            return r;
    }
    return have_pt_note ? 0 : scan_note_sections(image, size, entry, err);
}

/* The entry must be code the loader places, inside a PT_LOAD segment. */
static bool entry_in_segment(const uint8_t *image, uint32_t entry)
{
    unsigned phnum = ld_le16(image + E_PHNUM);
    struct elf_phdr ph;

    for (unsigned i = 0; i < phnum; i++) {
        phdr_get(image, i, &ph);
        if (ph.type == PT_LOAD && entry >= ph.paddr &&
            entry - ph.paddr < ph.memsz)
            return true;
    }
    return false;
}

bool loader_pvh_entry(const uint8_t *image, size_t size, uint32_t *entry,
                      GError **err)
{
    unsigned phnum;
    struct elf_phdr ph;
    int r;

    if (!check_ident(image, size, err) ||
        !check_phdr_table(image, size, err))
        return false;
    phnum = ld_le16(image + E_PHNUM);
    for (unsigned i = 0; i < phnum; i++) {
        phdr_get(image, i, &ph);
        if (!check_phdr(&ph, i, size, err))
            return false;
    }
    r = find_pvh_note(image, size, entry, err);
    if (r < 0)
        return false;
    if (r == 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "ELF kernel has no Xen PVH entry note (name \"Xen\", "
                    "type XEN_ELFNOTE_PHYS32_ENTRY = 18) in its PT_NOTE "
                    "segments or SHT_NOTE sections; hotmem boots ELF kernels "
                    "only through the PVH entry");
        return false;
    }
    if (!entry_in_segment(image, *entry)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Xen PVH entry 0x%x is not inside any PT_LOAD segment",
                    *entry);
        return false;
    }
    return true;
}

/* Checks every PT_LOAD against RAM; returns the kernel's extent. */
static bool check_segments(const uint8_t *image, const struct layout *l,
                           uint64_t *kstart, uint64_t *kend, GError **err)
{
    struct elf_phdr ph;
    unsigned i = 0;

    *kstart = UINT64_MAX;
    *kend = 0;
    while (next_load(image, &i, &ph)) {
        if (!loader_check_ram(l, "segment", ph.paddr, ph.memsz, err))
            return false;
        *kstart = MIN(*kstart, ph.paddr);
        *kend = MAX(*kend, ph.paddr + ph.memsz);
    }
    if (*kend == 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "ELF kernel has no non-empty PT_LOAD segment to load");
        return false;
    }
    return true;
}

static bool write_segments(struct memmap *mm, const uint8_t *image,
                           GError **err)
{
    struct elf_phdr ph;
    unsigned i = 0;

    while (next_load(image, &i, &ph)) {
        if (!loader_write(mm, ph.paddr, image + ph.offset, ph.filesz,
                          "kernel segment", err) ||
            !loader_zero(mm, ph.paddr + ph.filesz, ph.memsz - ph.filesz,
                         "kernel bss", err))
            return false;
    }
    return true;
}

static bool write_memmap(struct memmap *mm, const struct layout *l,
                         uint32_t *count, GError **err)
{
    struct e820_range e[LAYOUT_MAX_E820];
    struct hvm_memmap_table_entry t[LAYOUT_MAX_E820];
    unsigned n = layout_e820(l, e, LAYOUT_MAX_E820);

    for (unsigned i = 0; i < n; i++)
        t[i] = (struct hvm_memmap_table_entry){
            .addr = e[i].addr, .size = e[i].size, .type = e[i].type };
    *count = n;
    return loader_write(mm, BOOT_MEMMAP_ADDR, t, n * sizeof(t[0]),
                        "hvm_memmap_table", err);
}

/* Command line, initrd module, memory map and hvm_start_info itself. */
static bool write_start_info(struct memmap *mm, const struct layout *l,
                             const struct boot_images *img, size_t cmdline_len,
                             uint64_t initrd_addr, GError **err)
{
    struct hvm_start_info si = {
        .magic = XEN_HVM_START_MAGIC_VALUE,
        .version = 1,
        .rsdp_paddr = img->rsdp_addr,
        .memmap_paddr = BOOT_MEMMAP_ADDR,
    };

    if (cmdline_len) {
        if (!loader_write_cmdline(mm, img->cmdline, cmdline_len, err))
            return false;
        si.cmdline_paddr = BOOT_CMDLINE_ADDR;
    }
    if (initrd_addr) {
        struct hvm_modlist_entry mod = { .paddr = initrd_addr,
                                         .size = img->initrd_size };

        if (!loader_write(mm, initrd_addr, img->initrd, img->initrd_size,
                          "initrd", err) ||
            !loader_write(mm, BOOT_MODLIST_ADDR, &mod, sizeof(mod),
                          "hvm_modlist_entry", err))
            return false;
        si.nr_modules = 1;
        si.modlist_paddr = BOOT_MODLIST_ADDR;
    }
    if (!write_memmap(mm, l, &si.memmap_entries, err))
        return false;
    return loader_write(mm, BOOT_START_INFO_ADDR, &si, sizeof(si),
                        "hvm_start_info", err);
}

bool loader_load_pvh(struct memmap *mm, const struct layout *l,
                     const struct boot_images *img, struct boot_entry *entry,
                     GError **err)
{
    uint64_t kstart, kend, initrd_addr = 0;
    size_t cmdline_len;
    uint32_t pvh_entry;

    /* Everything is checked before the first byte of guest memory changes. */
    if (!loader_pvh_entry(img->kernel, img->kernel_size, &pvh_entry, err) ||
        !check_segments(img->kernel, l, &kstart, &kend, err) ||
        !loader_cmdline_len(img->cmdline, BOOT_CMDLINE_MAX - 1,
                            "hotmem's command-line buffer", &cmdline_len,
                            err))
        return false;
    if (img->initrd && img->initrd_size &&
        !loader_place_initrd(img->initrd_size, MIN(l->low_size, LOADER_4G),
                             kstart, kend, &initrd_addr, err))
        return false;
    if (!write_segments(mm, img->kernel, err) ||
        !write_start_info(mm, l, img, cmdline_len, initrd_addr, err))
        return false;
    /* Xen docs/misc/pvh.pandoc: 32-bit flat protected mode, %ebx = info. */
    *entry = (struct boot_entry){ .mode = BOOT_CPU_PROT32, .rip = pvh_entry,
                                  .rbx = BOOT_START_INFO_ADDR };
    return true;
}
