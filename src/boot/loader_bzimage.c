/*
 * Linux bzImage loader, 64-bit boot protocol (Documentation/arch/x86/boot.rst,
 * "64-bit Boot Protocol"). The protected-mode kernel is copied to 1 MiB, a
 * zero page (struct boot_params) carries the setup header, command line,
 * initrd and e820 map, and the CPU starts in long mode at load address +
 * 0x200 with %rsi pointing at the zero page, an identity map of the first
 * 4 GiB and a GDT with __BOOT_CS = 0x10 and __BOOT_DS = 0x18.
 *
 * Only the fields hotmem uses are named, by their offsets in boot.rst ("The
 * Real-Mode Kernel Header", "Details of Header Fields") and
 * Documentation/arch/x86/zero-page.rst.
 */
#include "boot/loader.h"

#include "errors.h"
#include "boot/loader_common.h"

#define X "%" G_GINT64_MODIFIER "x"

/* Setup header, at the same offsets in the image and in boot_params. */
#define HDR_START           0x1f1
#define HDR_SETUP_SECTS     0x1f1   /* u8, 0 means 4 */
#define HDR_VID_MODE        0x1fa   /* u16 */
#define HDR_BOOT_FLAG       0x1fe   /* u16, 0xaa55 */
#define HDR_JUMP_LEN        0x201   /* u8: header ends at 0x202 + this */
#define HDR_HEADER          0x202   /* "HdrS" */
#define HDR_VERSION         0x206   /* u16 */
#define HDR_TYPE_OF_LOADER  0x210   /* u8 */
#define HDR_LOADFLAGS       0x211   /* u8 */
#define HDR_RAMDISK_IMAGE   0x218   /* u32 */
#define HDR_RAMDISK_SIZE    0x21c   /* u32 */
#define HDR_HEAP_END_PTR    0x224   /* u16 */
#define HDR_CMD_LINE_PTR    0x228   /* u32 */
#define HDR_INITRD_ADDR_MAX 0x22c   /* u32, highest byte the initrd may use */
#define HDR_KERNEL_ALIGN    0x230   /* u32 */
#define HDR_RELOCATABLE     0x234   /* u8 */
#define HDR_XLOADFLAGS      0x236   /* u16, 2.12+ */
#define HDR_CMDLINE_SIZE    0x238   /* u32, without the NUL */
#define HDR_SETUP_DATA      0x250   /* u64 */
#define HDR_PREF_ADDRESS    0x258   /* u64 */
#define HDR_INIT_SIZE       0x260   /* u32 */
#define HDR_MIN_END         0x268   /* a 2.12 header reaches this far */

/* boot_params outside the setup header (zero-page.rst). */
#define BP_SIZE             4096
#define BP_ACPI_RSDP_ADDR   0x070   /* u64, 2.14+ */
#define BP_EXT_RAMDISK_IMG  0x0c0   /* u32 */
#define BP_EXT_RAMDISK_SIZE 0x0c4   /* u32 */
#define BP_EXT_CMD_LINE_PTR 0x0c8   /* u32 */
#define BP_E820_ENTRIES     0x1e8   /* u8 */
#define BP_HDR_MAX_END      0x290   /* edd_mbr_sig_buffer follows hdr */
#define BP_E820_TABLE       0x2d0   /* boot_e820_entry[128], 20 bytes each */
#define BP_E820_MAX         128
#define BP_E820_ENTRY_SIZE  20

#define LOADED_HIGH         0x01    /* loadflags */
#define CAN_USE_HEAP        0x80
#define XLF_KERNEL_64       0x0001  /* xloadflags */
#define PROTOCOL_64BIT      0x020c  /* 2.12: xloadflags */
#define PROTOCOL_RSDP       0x020e  /* 2.14: acpi_rsdp_addr */
#define ENTRY_64_OFFSET     0x200   /* startup_64 from the load address */
/* End of the real-mode heap, as modern loaders set it; the 64-bit entry
 * skips the real-mode code, but the protocol asks for it with CAN_USE_HEAP. */
#define HEAP_END            0xfe00

/* GDT descriptors (Intel SDM vol. 3A 3.4.5): flat, base 0, limit 4 GiB. */
#define GDT_CODE64          0x00af9b000000ffffULL  /* P, S, exec/read, L, G */
#define GDT_DATA            0x00cf93000000ffffULL  /* P, S, read/write, D, G */
#define GDT_ENTRIES         4
#define PTE_P_RW            0x03ULL
#define PTE_PS              0x80ULL                /* 2 MiB page in a PDE */

G_STATIC_ASSERT(BP_E820_TABLE + BP_E820_MAX * BP_E820_ENTRY_SIZE <= BP_SIZE);
G_STATIC_ASSERT(BOOT_GDT_ADDR + GDT_ENTRIES * 8 <= BOOT_START_INFO_ADDR);
G_STATIC_ASSERT(BOOT_PD_ADDR + 4 * LAYOUT_PAGE_SIZE <= BOOT_CMDLINE_ADDR);

struct bz_kernel {
    uint16_t version;
    uint64_t pm_offset;     /* protected-mode kernel in the file */
    uint64_t pm_size;
    uint64_t runtime;       /* where it decompresses (boot.rst init_size) */
    uint32_t init_size;
    uint64_t end;           /* first byte above everything it uses */
};

static bool check_signature(const uint8_t *image, size_t size, GError **err)
{
    const char *rule = NULL;
    uint16_t version;

    if (size < HDR_MIN_END)
        rule = "the file is shorter than a protocol 2.12 setup header";
    else if (ld_le16(image + HDR_BOOT_FLAG) != 0xaa55 ||
             memcmp(image + HDR_HEADER, "HdrS", 4) != 0)
        rule = "no boot_flag 0xaa55 at 0x1fe with \"HdrS\" at 0x202";
    if (rule) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "bzImage (%zu bytes) cannot be booted: %s", size, rule);
        return false;
    }
    version = ld_le16(image + HDR_VERSION);
    if (version < PROTOCOL_64BIT) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "bzImage boot protocol %u.%02u is too old: the 64-bit "
                    "entry needs protocol 2.12 or later", version >> 8,
                    version & 0xff);
        return false;
    }
    return true;
}

static bool check_flags(const uint8_t *image, GError **err)
{
    if (!(ld_le16(image + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "bzImage xloadflags 0x%x lacks XLF_KERNEL_64 (bit 0): "
                    "the kernel has no 64-bit entry point",
                    ld_le16(image + HDR_XLOADFLAGS));
        return false;
    }
    if (!(image[HDR_LOADFLAGS] & LOADED_HIGH)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "bzImage loadflags 0x%x lacks LOADED_HIGH (bit 0): a "
                    "zImage cannot be loaded at 1 MiB", image[HDR_LOADFLAGS]);
        return false;
    }
    return true;
}

/* boot.rst, init_size: the run-time start the kernel will decompress to. */
static bool runtime_start(const uint8_t *image, uint64_t *runtime,
                          GError **err)
{
    uint64_t pref = ld_le64(image + HDR_PREF_ADDRESS);
    uint32_t align = ld_le32(image + HDR_KERNEL_ALIGN);

    if (pref == 0)
        pref = BOOT_KERNEL_ADDR;
    if (!image[HDR_RELOCATABLE]) {
        *runtime = pref;
        return true;
    }
    if (align == 0 || (align & (align - 1))) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "bzImage kernel_alignment 0x%x is not a power of two",
                    align);
        return false;
    }
    *runtime = loader_align_up(MAX(BOOT_KERNEL_ADDR, pref), align);
    return true;
}

static bool parse_kernel(const uint8_t *image, size_t size,
                         struct bz_kernel *k, GError **err)
{
    unsigned setup_sects;

    if (!check_signature(image, size, err) || !check_flags(image, err) ||
        !runtime_start(image, &k->runtime, err))
        return false;
    setup_sects = image[HDR_SETUP_SECTS] ? image[HDR_SETUP_SECTS] : 4;
    k->version = ld_le16(image + HDR_VERSION);
    k->pm_offset = (uint64_t)(setup_sects + 1) * 512;
    if (k->pm_offset >= size) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "bzImage is truncated: setup_sects %u puts the "
                    "protected-mode kernel at 0x" X ", beyond the end of the "
                    "file (0x%zx bytes)", setup_sects, k->pm_offset, size);
        return false;
    }
    k->pm_size = size - k->pm_offset;
    k->init_size = ld_le32(image + HDR_INIT_SIZE);
    k->end = MAX(BOOT_KERNEL_ADDR + k->pm_size, k->runtime + k->init_size);
    return true;
}

bool loader_bzimage_check(const uint8_t *image, size_t size, GError **err)
{
    struct bz_kernel k;

    return parse_kernel(image, size, &k, err);
}

static bool check_kernel_fits(const struct bz_kernel *k,
                              const struct layout *l, GError **err)
{
    if (k->end <= l->low_size)
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "kernel needs 0x" X " bytes at 0x%llx (0x" X " bytes of "
                "protected-mode code, init_size 0x%x from its run-time "
                "address 0x" X "); guest RAM below 4 GiB ends at 0x" X,
                (uint64_t)(k->end - BOOT_KERNEL_ADDR), BOOT_KERNEL_ADDR,
                k->pm_size, k->init_size, k->runtime, l->low_size);
    return false;
}

static void fill_e820(uint8_t *bp, const struct layout *l)
{
    struct e820_range e[LAYOUT_MAX_E820];
    unsigned n = layout_e820(l, e, MIN(LAYOUT_MAX_E820, BP_E820_MAX));

    bp[BP_E820_ENTRIES] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *p = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;

        st_le64(p, e[i].addr);
        st_le64(p + 8, e[i].size);
        st_le32(p + 16, e[i].type);
    }
}

/* boot.rst "Details of Header Fields": what a boot loader must write. */
static void fill_zero_page(uint8_t *bp, const uint8_t *image, size_t size,
                           const struct layout *l,
                           const struct boot_images *img,
                           uint64_t initrd_addr)
{
    uint64_t hdr_end = MIN(0x202u + image[HDR_JUMP_LEN], BP_HDR_MAX_END);
    uint64_t initrd_size = initrd_addr ? img->initrd_size : 0;

    memset(bp, 0, BP_SIZE);
    memcpy(bp + HDR_START, image + HDR_START, MIN(hdr_end, size) - HDR_START);
    bp[HDR_TYPE_OF_LOADER] = 0xff;              /* undefined loader */
    bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    st_le16(bp + HDR_HEAP_END_PTR, HEAP_END);
    st_le16(bp + HDR_VID_MODE, 0xffff);         /* "normal" */
    st_le32(bp + HDR_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_ADDR);
    st_le32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(BOOT_CMDLINE_ADDR >> 32));
    st_le32(bp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
    st_le32(bp + BP_EXT_RAMDISK_IMG, (uint32_t)(initrd_addr >> 32));
    st_le32(bp + HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
    st_le32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
    st_le64(bp + HDR_SETUP_DATA, 0);            /* no setup_data list */
    if (ld_le16(image + HDR_VERSION) >= PROTOCOL_RSDP)
        st_le64(bp + BP_ACPI_RSDP_ADDR, img->rsdp_addr);
    fill_e820(bp, l);
}

static bool write_gdt(struct memmap *mm, GError **err)
{
    uint8_t gdt[GDT_ENTRIES * 8] = { 0 };

    /* Entries 0 and 1 are null; __BOOT_CS = 0x10, __BOOT_DS = 0x18. */
    st_le64(gdt + BOOT_CS_SELECTOR, GDT_CODE64);
    st_le64(gdt + BOOT_DS_SELECTOR, GDT_DATA);
    return loader_write(mm, BOOT_GDT_ADDR, gdt, sizeof(gdt), "GDT", err);
}

/* One PML4 entry, four PDPT entries, 4 x 512 2 MiB pages = 4 GiB. */
static bool write_page_tables(struct memmap *mm, GError **err)
{
    g_autofree uint8_t *pages = g_malloc0(6 * LAYOUT_PAGE_SIZE);
    uint8_t *pml4 = pages, *pdpt = pages + LAYOUT_PAGE_SIZE;
    uint8_t *pd = pages + 2 * LAYOUT_PAGE_SIZE;

    G_STATIC_ASSERT(BOOT_PDPT_ADDR == BOOT_PML4_ADDR + LAYOUT_PAGE_SIZE);
    G_STATIC_ASSERT(BOOT_PD_ADDR == BOOT_PDPT_ADDR + LAYOUT_PAGE_SIZE);
    st_le64(pml4, BOOT_PDPT_ADDR | PTE_P_RW);
    for (unsigned i = 0; i < 4; i++)
        st_le64(pdpt + i * 8, (BOOT_PD_ADDR + i * LAYOUT_PAGE_SIZE) |
                              PTE_P_RW);
    for (uint64_t i = 0; i < 4 * 512; i++)
        st_le64(pd + i * 8, (i << 21) | PTE_P_RW | PTE_PS);
    return loader_write(mm, BOOT_PML4_ADDR, pages, 6 * LAYOUT_PAGE_SIZE,
                        "page tables", err);
}

static bool write_everything(struct memmap *mm, const struct layout *l,
                             const struct boot_images *img,
                             const struct bz_kernel *k, size_t cmdline_len,
                             uint64_t initrd_addr, GError **err)
{
    g_autofree uint8_t *bp = g_malloc(BP_SIZE);

    fill_zero_page(bp, img->kernel, img->kernel_size, l, img, initrd_addr);
    if (!loader_write(mm, BOOT_KERNEL_ADDR, img->kernel + k->pm_offset,
                      k->pm_size, "kernel", err) ||
        !loader_write(mm, BOOT_ZERO_PAGE_ADDR, bp, BP_SIZE, "boot_params",
                      err) ||
        !loader_write_cmdline(mm, img->cmdline, cmdline_len, err) ||
        !write_gdt(mm, err) || !write_page_tables(mm, err))
        return false;
    return !initrd_addr ||
           loader_write(mm, initrd_addr, img->initrd, img->initrd_size,
                        "initrd", err);
}

bool loader_load_bzimage(struct memmap *mm, const struct layout *l,
                         const struct boot_images *img,
                         struct boot_entry *entry, GError **err)
{
    const uint8_t *image = img->kernel;
    struct bz_kernel k;
    uint64_t initrd_addr = 0, initrd_limit;
    size_t cmdline_len;

    /* Everything is checked before the first byte of guest memory changes. */
    if (!parse_kernel(image, img->kernel_size, &k, err) ||
        !check_kernel_fits(&k, l, err) ||
        !loader_cmdline_len(img->cmdline,
                            MIN(ld_le32(image + HDR_CMDLINE_SIZE),
                                BOOT_CMDLINE_MAX - 1),
                            "the smaller of the kernel's cmdline_size and "
                            "hotmem's buffer", &cmdline_len, err))
        return false;
    initrd_limit = MIN((uint64_t)ld_le32(image + HDR_INITRD_ADDR_MAX) + 1,
                       l->low_size);
    if (img->initrd && img->initrd_size &&
        !loader_place_initrd(img->initrd_size, initrd_limit, BOOT_KERNEL_ADDR,
                             k.end, &initrd_addr, err))
        return false;
    if (!write_everything(mm, l, img, &k, cmdline_len, initrd_addr, err))
        return false;
    *entry = (struct boot_entry){
        .mode = BOOT_CPU_LONG64,
        .rip = BOOT_KERNEL_ADDR + ENTRY_64_OFFSET,
        .rsi = BOOT_ZERO_PAGE_ADDR,
        .cr3 = BOOT_PML4_ADDR,
        .gdt_base = BOOT_GDT_ADDR,
        .gdt_limit = GDT_ENTRIES * 8 - 1,
    };
    return true;
}
