/*
 * Kernel loader tests: synthetic PVH ELF and bzImage files are loaded into a
 * memory map backed by one host buffer (no /dev/kvm), and every field the
 * guest reads is checked against the protocols: Xen hvm_start_info
 * (public/arch-x86/hvm/start_info.h) and Linux boot_params
 * (Documentation/arch/x86/boot.rst, zero-page.rst). Offsets are written out
 * here independently of the loader's own definitions.
 */
#include <string.h>
#include <sys/mman.h>
#include <glib.h>

#include "errors.h"
#include "boot/loader.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TEST_RSDP 0xe0000ULL

/* ---- a guest: layout + memmap over one MAP_NORESERVE host buffer ---- */

struct vm {
    struct layout l;
    struct memmap *mm;
    uint8_t *host;
    size_t host_size;
};

static int fake_set_region(void *opaque, uint32_t slot, uint32_t flags,
                           uint64_t gpa, uint64_t size, void *hva)
{
    return 0;
}

static struct vm *vm_new(uint64_t ram)
{
    struct vm *vm = g_new0(struct vm, 1);
    GError *err = NULL;

    g_assert_true(layout_compute(&vm->l, ram, 0, 0, 46, &err));
    g_assert_no_error(err);
    vm->host_size = vm->l.ram_size;
    /* Reserves address space only; untouched pages cost nothing. */
    vm->host = mmap(NULL, vm->host_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    g_assert_true(vm->host != MAP_FAILED);
    vm->mm = memmap_new(32, fake_set_region, NULL);
    g_assert_true(memmap_add(vm->mm, 0, vm->l.low_size, vm->host, 0,
                             "ram-below-4g", NULL, &err));
    if (vm->l.high_size)
        g_assert_true(memmap_add(vm->mm, 4 * GiB, vm->l.high_size,
                                 vm->host + vm->l.low_size, 0,
                                 "ram-above-4g", NULL, &err));
    g_assert_no_error(err);
    return vm;
}

static void vm_free(struct vm *vm)
{
    memmap_free(vm->mm);
    munmap(vm->host, vm->host_size);
    g_free(vm);
}

static uint8_t *gp(struct vm *vm, uint64_t gpa)
{
    uint8_t *p = memmap_gpa_to_hva(vm->mm, gpa, 1);

    g_assert_nonnull(p);
    return p;
}

static uint64_t rd(struct vm *vm, uint64_t gpa, unsigned width)
{
    uint64_t v = 0;

    g_assert_true(memmap_read(vm->mm, gpa, &v, width));
    return v;   /* x86 hosts: little-endian, like the guest */
}

static void put(uint8_t *buf, size_t off, uint64_t v, unsigned width)
{
    memcpy(buf + off, &v, width);
}

static uint64_t get(const uint8_t *buf, size_t off, unsigned width)
{
    uint64_t v = 0;

    memcpy(&v, buf + off, width);
    return v;
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* ---- synthetic PVH ELF ---- */

/* File: ehdr @0, phdrs @0x40, note @0xc0, shdrs @0x100, code @0x200. */
#define ELF_SIZE        0x300
#define ELF_CODE_OFF    0x200
#define ELF_CODE_SIZE   0x100
#define ELF_ENTRY_OFF   0x10

struct elf_opts {
    uint64_t paddr;         /* default 1 MiB */
    uint64_t memsz;         /* default 0x3000 (code + bss) */
    bool note_in_section;   /* no PT_NOTE: find the note via SHT_NOTE */
    unsigned desc_size;     /* 4 (default) or 8 */
    bool no_note;
};

static void elf_note(uint8_t *f, const struct elf_opts *o, uint64_t entry)
{
    put(f, 0xc0, 4, 4);                         /* namesz */
    put(f, 0xc4, o->desc_size, 4);              /* descsz */
    put(f, 0xc8, o->no_note ? 17 : 18, 4);      /* PHYS32_ENTRY = 18 */
    memcpy(f + 0xcc, "Xen", 4);
    put(f, 0xd0, entry, o->desc_size);
}

static uint8_t *elf_build(struct elf_opts o, size_t *size)
{
    uint8_t *f = g_malloc0(ELF_SIZE);
    unsigned phnum = o.note_in_section ? 1 : 2;

    o.paddr = o.paddr ? o.paddr : MiB;
    o.memsz = o.memsz ? o.memsz : 0x3000;
    o.desc_size = o.desc_size ? o.desc_size : 4;
    memcpy(f, "\x7f" "ELF\x02\x01\x01", 7);     /* ELFCLASS64, LSB, v1 */
    put(f, 16, 2, 2);                           /* ET_EXEC */
    put(f, 18, 62, 2);                          /* EM_X86_64 */
    put(f, 20, 1, 4);
    put(f, 24, o.paddr + ELF_ENTRY_OFF, 8);     /* e_entry (unused) */
    put(f, 32, 0x40, 8);                        /* e_phoff */
    put(f, 52, 64, 2);
    put(f, 54, 56, 2);                          /* e_phentsize */
    put(f, 56, phnum, 2);
    /* PT_LOAD: p_type, p_flags, p_offset, p_vaddr, p_paddr, sizes, align */
    put(f, 0x40, 1, 4);
    put(f, 0x44, 7, 4);
    put(f, 0x48, ELF_CODE_OFF, 8);
    put(f, 0x50, 0xffffffff80000000ULL + o.paddr, 8);
    put(f, 0x58, o.paddr, 8);
    put(f, 0x60, ELF_CODE_SIZE, 8);
    put(f, 0x68, o.memsz, 8);
    put(f, 0x70, 0x1000, 8);
    if (!o.note_in_section) {                   /* PT_NOTE over the note */
        put(f, 0x78, 4, 4);
        put(f, 0x80, 0xc0, 8);
        put(f, 0x98, 16 + o.desc_size, 8);
        put(f, 0xa8, 4, 8);
    } else {                                    /* shdr[1]: SHT_NOTE */
        put(f, 40, 0x100, 8);                   /* e_shoff */
        put(f, 58, 64, 2);
        put(f, 60, 2, 2);
        put(f, 0x140 + 4, 7, 4);
        put(f, 0x140 + 24, 0xc0, 8);
        put(f, 0x140 + 32, 16 + o.desc_size, 8);
        put(f, 0x140 + 48, 4, 8);
    }
    elf_note(f, &o, o.paddr + ELF_ENTRY_OFF);
    fill_pattern(f + ELF_CODE_OFF, ELF_CODE_SIZE, 0x11);
    *size = ELF_SIZE;
    return f;
}

/* ---- synthetic bzImage ---- */

#define BZ_SETUP_SECTS  0           /* 0 means 4: kernel at 5 * 512 */
#define BZ_PM_OFF       0xa00
#define BZ_PM_SIZE      0x2000

struct bz_opts {
    uint16_t version;               /* default 2.15 */
    uint16_t xloadflags;            /* default XLF_KERNEL_64 | ABOVE_4G */
    uint32_t init_size;             /* default 8 MiB */
    uint32_t initrd_addr_max;       /* default 0x7fffffff */
    uint32_t cmdline_size;          /* default 2047 */
};

static uint8_t *bz_build(struct bz_opts o, size_t *size)
{
    uint8_t *f = g_malloc0(BZ_PM_OFF + BZ_PM_SIZE);

    put(f, 0x1f1, BZ_SETUP_SECTS, 1);
    put(f, 0x1f2, 1, 2);                        /* root_flags */
    put(f, 0x1f4, BZ_PM_SIZE / 16, 4);          /* syssize */
    put(f, 0x1fa, 0xfffd, 2);                   /* vid_mode: loader sets */
    put(f, 0x1fe, 0xaa55, 2);
    put(f, 0x200, 0x66eb, 2);                   /* jmp: header ends 0x268 */
    memcpy(f + 0x202, "HdrS", 4);
    put(f, 0x206, o.version ? o.version : 0x020f, 2);
    put(f, 0x20e, 0x1234, 2);                   /* kernel_version */
    put(f, 0x211, 0x01, 1);                     /* LOADED_HIGH */
    put(f, 0x214, MiB, 4);                      /* code32_start */
    put(f, 0x218, 0xdeadbeef, 4);               /* ramdisk_image: loader */
    put(f, 0x22c, o.initrd_addr_max ? o.initrd_addr_max : 0x7fffffff, 4);
    put(f, 0x230, 2 * MiB, 4);                  /* kernel_alignment */
    put(f, 0x234, 1, 1);                        /* relocatable_kernel */
    put(f, 0x236, o.xloadflags ? o.xloadflags : 0x3, 2);
    put(f, 0x238, o.cmdline_size ? o.cmdline_size : 2047, 4);
    put(f, 0x250, 0xdead0000, 8);               /* setup_data: loader */
    put(f, 0x258, 16 * MiB, 8);                 /* pref_address */
    put(f, 0x260, o.init_size ? o.init_size : 8 * MiB, 4);
    put(f, 0x264, 0x190, 4);                    /* handover_offset */
    fill_pattern(f + BZ_PM_OFF, BZ_PM_SIZE, 0x5a);
    *size = BZ_PM_OFF + BZ_PM_SIZE;
    return f;
}

/* ---- shared checks ---- */

static void check_e820_common(struct vm *vm, uint64_t table, unsigned stride,
                              unsigned n)
{
    struct e820_range e[LAYOUT_MAX_E820];
    unsigned want = layout_e820(&vm->l, e, LAYOUT_MAX_E820);

    g_assert_cmpuint(n, ==, want);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmphex(rd(vm, table + i * stride, 8), ==, e[i].addr);
        g_assert_cmphex(rd(vm, table + i * stride + 8, 8), ==, e[i].size);
        g_assert_cmpuint(rd(vm, table + i * stride + 16, 4), ==, e[i].type);
    }
    /* Low RAM from 1 MiB; the big VM also has RAM at 4 GiB. */
    g_assert_cmphex(e[2].addr, ==, MiB);
    g_assert_cmphex(e[2].addr + e[2].size, ==, vm->l.low_size);
    if (vm->l.high_size) {
        g_assert_cmpuint(n, ==, 4);
        g_assert_cmphex(e[3].addr, ==, 4 * GiB);
        g_assert_cmphex(e[3].size, ==, vm->l.high_size);
        g_assert_cmpuint(e[3].type, ==, E820_RAM);
    }
}

static bool load(struct vm *vm, const uint8_t *k, size_t ksize,
                 const uint8_t *initrd, size_t isize, const char *cmdline,
                 struct boot_entry *entry, GError **err)
{
    struct boot_images img = { .kernel = k, .kernel_size = ksize,
                               .initrd = initrd, .initrd_size = isize,
                               .cmdline = cmdline, .rsdp_addr = TEST_RSDP };

    return loader_load(vm->mm, &vm->l, &img, entry, err);
}

/* ---- PVH ---- */

static void check_pvh_modules(struct vm *vm, const uint8_t *initrd,
                              size_t isize, uint64_t kend)
{
    uint64_t si = BOOT_START_INFO_ADDR, want;

    g_assert_cmpuint(rd(vm, si + 12, 4), ==, 1);            /* nr_modules */
    g_assert_cmphex(rd(vm, si + 16, 8), ==, BOOT_MODLIST_ADDR);
    /* Page aligned at the top of low RAM, above the kernel. */
    want = (vm->l.low_size - isize) & ~0xfffULL;
    g_assert_cmphex(rd(vm, BOOT_MODLIST_ADDR, 8), ==, want);
    g_assert_cmphex(want % 4096, ==, 0);
    g_assert_cmphex(want, >=, kend);
    g_assert_cmpuint(rd(vm, BOOT_MODLIST_ADDR + 8, 8), ==, isize);
    g_assert_cmphex(rd(vm, BOOT_MODLIST_ADDR + 16, 8), ==, 0);
    g_assert_cmphex(rd(vm, BOOT_MODLIST_ADDR + 24, 8), ==, 0);
    g_assert_cmpmem(gp(vm, want), isize, initrd, isize);
}

static void check_pvh(struct vm *vm, const uint8_t *elf, size_t isize,
                      const uint8_t *initrd, const struct boot_entry *be)
{
    uint64_t si = BOOT_START_INFO_ADDR;

    /* hvm_start_info, version 1 layout. */
    g_assert_cmphex(rd(vm, si + 0, 4), ==, 0x336ec578);     /* magic */
    g_assert_cmpuint(rd(vm, si + 4, 4), ==, 1);             /* version */
    g_assert_cmphex(rd(vm, si + 8, 4), ==, 0);              /* flags */
    g_assert_cmphex(rd(vm, si + 24, 8), ==, BOOT_CMDLINE_ADDR);
    g_assert_cmphex(rd(vm, si + 32, 8), ==, TEST_RSDP);
    g_assert_cmphex(rd(vm, si + 40, 8), ==, BOOT_MEMMAP_ADDR);
    g_assert_cmphex(rd(vm, si + 52, 4), ==, 0);             /* reserved */
    check_e820_common(vm, BOOT_MEMMAP_ADDR, 24, rd(vm, si + 48, 4));
    for (unsigned i = 0; i < rd(vm, si + 48, 4); i++)
        g_assert_cmphex(rd(vm, BOOT_MEMMAP_ADDR + i * 24 + 20, 4), ==, 0);
    g_assert_cmpstr((char *)gp(vm, BOOT_CMDLINE_ADDR), ==,
                    "console=ttyS0 earlyprintk");
    check_pvh_modules(vm, initrd, isize, MiB + 0x3000);
    /* The segment and its zeroed bss. */
    g_assert_cmpmem(gp(vm, MiB), ELF_CODE_SIZE, elf + ELF_CODE_OFF,
                    ELF_CODE_SIZE);
    for (uint64_t a = MiB + ELF_CODE_SIZE; a < MiB + 0x3000; a++)
        g_assert_cmpuint(*gp(vm, a), ==, 0);
    g_assert_cmpuint(be->mode, ==, BOOT_CPU_PROT32);
    g_assert_cmphex(be->rip, ==, MiB + ELF_ENTRY_OFF);
    g_assert_cmphex(be->rbx, ==, BOOT_START_INFO_ADDR);
}

/*
 * The x86 reset vector (F000:FFF0) holds a real-mode stub that writes the
 * FADT's reset value to its reset register: mov al, 0x0f; mov dx, 0x0b06;
 * out dx, al; then hlt in a loop. Linux without EFI on a hardware-reduced
 * ACPI machine resets through there ("BIOS" reboot), and hung before.
 */
static void check_reset_vector(struct vm *vm)
{
    static const uint8_t want[] = { 0xb0, 0x0f, 0xba, 0x06, 0x0b, 0xee,
                                    0xf4, 0xeb, 0xfd };

    g_assert_cmpmem(gp(vm, 0xffff0), sizeof(want), want, sizeof(want));
}

static void test_pvh(gconstpointer data)
{
    struct vm *vm = vm_new(GPOINTER_TO_SIZE(data) * MiB);
    size_t ksize, isize = 0x12345;
    g_autofree uint8_t *elf = elf_build((struct elf_opts){ 0 }, &ksize);
    g_autofree uint8_t *initrd = g_malloc(isize);
    struct boot_entry be;
    GError *err = NULL;

    g_assert_cmpint(loader_detect(elf, ksize), ==, BOOT_FORMAT_PVH_ELF);
    fill_pattern(initrd, isize, 0x33);
    memset(gp(vm, MiB), 0xcc, 0x3000);  /* bss must be cleared */
    g_assert_true(load(vm, elf, ksize, initrd, isize,
                       "console=ttyS0 earlyprintk", &be, &err));
    g_assert_no_error(err);
    check_pvh(vm, elf, isize, initrd, &be);
    check_reset_vector(vm);
    vm_free(vm);
}

/* Resident KiB of the mapping that starts at start (/proc/self/smaps). */
static uint64_t mapping_rss_kib(const void *start)
{
    g_autofree char *text = NULL;
    g_autofree char *head = g_strdup_printf("\n%lx-", (unsigned long)start);
    const char *m, *rss;

    g_assert_true(g_file_get_contents("/proc/self/smaps", &text, NULL,
                                      NULL));
    m = strstr(text, head);
    g_assert_nonnull(m);
    rss = strstr(m, "\nRss:");
    g_assert_nonnull(rss);
    return g_ascii_strtoull(rss + 5, NULL, 10);
}

/*
 * A large bss over fresh guest RAM: the memory reads as zeros already, so
 * the loader must not write it. Writing would fault in every page (for
 * hotmem-guest's 600 KiB bss, 0.6 MiB of the VMM's RSS at startup and as
 * many page faults). Reading such memory maps the kernel's shared zero
 * page, which RSS does not count.
 */
static void test_pvh_bss_untouched(void)
{
    struct vm *vm = vm_new(64 * MiB);
    size_t ksize;
    g_autofree uint8_t *elf = elf_build((struct elf_opts){ .memsz = 2 * MiB },
                                        &ksize);
    struct boot_entry be;
    GError *err = NULL;

    /* 4 KiB pages whatever the host's THP mode, so RSS counts pages */
    g_assert_cmpint(madvise(vm->host, vm->host_size, MADV_NOHUGEPAGE), ==, 0);
    g_assert_true(load(vm, elf, ksize, NULL, 0, "", &be, &err));
    g_assert_no_error(err);
    for (uint64_t a = MiB + ELF_CODE_SIZE; a < 3 * MiB; a += 8)
        g_assert_cmphex(rd(vm, a, 8), ==, 0);
    /* boot structures, the code page, the reset vector: a few pages */
    g_assert_cmpuint(mapping_rss_kib(vm->host), <, 256);
    vm_free(vm);
}

/* No command line, no initrd; entry note found by variant paths. */
static void test_pvh_variant(const struct elf_opts *o)
{
    struct vm *vm = vm_new(64 * MiB);
    size_t ksize;
    g_autofree uint8_t *elf = elf_build(*o, &ksize);
    struct boot_entry be;
    GError *err = NULL;

    g_assert_cmpint(loader_detect(elf, ksize), ==, BOOT_FORMAT_PVH_ELF);
    g_assert_true(load(vm, elf, ksize, NULL, 0, "", &be, &err));
    g_assert_no_error(err);
    g_assert_cmphex(rd(vm, BOOT_START_INFO_ADDR + 12, 4), ==, 0);
    g_assert_cmphex(rd(vm, BOOT_START_INFO_ADDR + 16, 8), ==, 0);
    g_assert_cmphex(rd(vm, BOOT_START_INFO_ADDR + 24, 8), ==, 0);
    g_assert_cmphex(be.rip, ==, MiB + ELF_ENTRY_OFF);
    vm_free(vm);
}

static void test_pvh_note_in_section(void)
{
    test_pvh_variant(&(struct elf_opts){ .note_in_section = true });
}

static void test_pvh_quad_entry(void)
{
    test_pvh_variant(&(struct elf_opts){ .desc_size = 8 });
}

/* ---- bzImage ---- */

static void check_bz_header_copy(struct vm *vm, const uint8_t *bz)
{
    g_autofree uint8_t *want = g_memdup2(bz, 0x268);
    const uint8_t *bp = gp(vm, BOOT_ZERO_PAGE_ADDR);

    /* The fields a loader writes; everything else is the image's. */
    put(want, 0x1fa, 0xffff, 2);                /* vid_mode */
    put(want, 0x210, 0xff, 1);                  /* type_of_loader */
    put(want, 0x211, 0x81, 1);                  /* LOADED_HIGH|CAN_USE_HEAP */
    put(want, 0x224, 0xfe00, 2);                /* heap_end_ptr */
    put(want, 0x228, BOOT_CMDLINE_ADDR, 4);     /* cmd_line_ptr */
    put(want, 0x218, get(bp, 0x218, 4), 4);     /* ramdisk: checked apart */
    put(want, 0x21c, get(bp, 0x21c, 4), 4);
    put(want, 0x250, 0, 8);                     /* setup_data */
    g_assert_cmpmem(bp + 0x1f1, 0x268 - 0x1f1, want + 0x1f1, 0x268 - 0x1f1);
    for (unsigned off = 0x268; off < 0x290; off++)
        g_assert_cmpuint(bp[off], ==, 0);
}

static void check_bz_paging(struct vm *vm, const struct boot_entry *be)
{
    g_assert_cmpuint(be->mode, ==, BOOT_CPU_LONG64);
    g_assert_cmphex(be->rip, ==, 0x100200);
    g_assert_cmphex(be->rsi, ==, BOOT_ZERO_PAGE_ADDR);
    g_assert_cmphex(be->cr3, ==, BOOT_PML4_ADDR);
    g_assert_cmphex(be->gdt_base, ==, BOOT_GDT_ADDR);
    g_assert_cmpuint(be->gdt_limit, ==, 31);
    /* GDT: null, null, 0x10 64-bit code (L=1, D=0), 0x18 data. */
    g_assert_cmphex(rd(vm, BOOT_GDT_ADDR, 8), ==, 0);
    g_assert_cmphex(rd(vm, BOOT_GDT_ADDR + 8, 8), ==, 0);
    g_assert_cmphex(rd(vm, BOOT_GDT_ADDR + 0x10, 8), ==, 0x00af9b000000ffff);
    g_assert_cmphex(rd(vm, BOOT_GDT_ADDR + 0x18, 8), ==, 0x00cf93000000ffff);
    /* Identity map of 4 GiB in 2 MiB pages. */
    g_assert_cmphex(rd(vm, BOOT_PML4_ADDR, 8), ==, BOOT_PDPT_ADDR | 3);
    for (unsigned i = 1; i < 512; i++)
        g_assert_cmphex(rd(vm, BOOT_PML4_ADDR + i * 8, 8), ==, 0);
    for (unsigned i = 0; i < 512; i++)
        g_assert_cmphex(rd(vm, BOOT_PDPT_ADDR + i * 8, 8), ==,
                        i < 4 ? (BOOT_PD_ADDR + i * 4096) | 3 : 0);
    for (uint64_t i = 0; i < 2048; i++)
        g_assert_cmphex(rd(vm, BOOT_PD_ADDR + i * 8, 8), ==,
                        (i * 2 * MiB) | 0x83);
}

struct bz_case {
    uint64_t ram_mib;
    uint32_t initrd_addr_max;
    uint64_t initrd_limit;      /* expected: end of the initrd area */
};

static void check_bz_zero_page(struct vm *vm, const uint8_t *bz,
                               const struct bz_case *c, size_t isize)
{
    uint64_t zp = BOOT_ZERO_PAGE_ADDR;
    uint64_t addr = (c->initrd_limit - isize) & ~0xfffULL;

    check_bz_header_copy(vm, bz);
    g_assert_cmphex(rd(vm, zp + 0x218, 4), ==, addr);       /* ramdisk */
    g_assert_cmphex(rd(vm, zp + 0x21c, 4), ==, isize);
    g_assert_cmphex(rd(vm, zp + 0x0c0, 4), ==, 0);          /* ext_ */
    g_assert_cmphex(rd(vm, zp + 0x0c4, 4), ==, 0);
    g_assert_cmphex(rd(vm, zp + 0x0c8, 4), ==, 0);
    g_assert_cmphex(rd(vm, zp + 0x070, 8), ==, TEST_RSDP);  /* 2.14+ */
    g_assert_cmphex(rd(vm, zp + 0x1ef, 1), ==, 0);          /* sentinel */
    /* Above the kernel's run-time footprint: 16 MiB + init_size. */
    g_assert_cmphex(addr, >=, 24 * MiB);
    check_e820_common(vm, zp + 0x2d0, 20, rd(vm, zp + 0x1e8, 1));
    g_assert_cmphex(rd(vm, zp + 0x2d0 + rd(vm, zp + 0x1e8, 1) * 20, 8), ==,
                    0);
    g_assert_cmpstr((char *)gp(vm, BOOT_CMDLINE_ADDR), ==, "console=ttyS0");
    g_assert_cmpmem(gp(vm, MiB), BZ_PM_SIZE, bz + BZ_PM_OFF, BZ_PM_SIZE);
}

static void test_bzimage(gconstpointer data)
{
    const struct bz_case *c = data;
    struct vm *vm = vm_new(c->ram_mib * MiB);
    size_t ksize, isize = 0x200123;
    g_autofree uint8_t *bz = bz_build(
        (struct bz_opts){ .initrd_addr_max = c->initrd_addr_max }, &ksize);
    g_autofree uint8_t *initrd = g_malloc(isize);
    struct boot_entry be;
    GError *err = NULL;

    g_assert_cmpint(loader_detect(bz, ksize), ==, BOOT_FORMAT_BZIMAGE);
    fill_pattern(initrd, isize, 0x77);
    g_assert_true(load(vm, bz, ksize, initrd, isize, "console=ttyS0", &be,
                       &err));
    g_assert_no_error(err);
    check_bz_zero_page(vm, bz, c, isize);
    g_assert_cmpmem(gp(vm, rd(vm, BOOT_ZERO_PAGE_ADDR + 0x218, 4)), isize,
                    initrd, isize);
    check_bz_paging(vm, &be);
    check_reset_vector(vm);
    vm_free(vm);
}

/* Protocol 2.12/2.13 has no acpi_rsdp_addr: the loader leaves it zero. */
static void test_bzimage_old_rsdp(void)
{
    struct vm *vm = vm_new(64 * MiB);
    size_t ksize;
    g_autofree uint8_t *bz = bz_build((struct bz_opts){ .version = 0x020c },
                                      &ksize);
    struct boot_entry be;
    GError *err = NULL;

    g_assert_true(load(vm, bz, ksize, NULL, 0, NULL, &be, &err));
    g_assert_no_error(err);
    g_assert_cmphex(rd(vm, BOOT_ZERO_PAGE_ADDR + 0x070, 8), ==, 0);
    g_assert_cmphex(rd(vm, BOOT_ZERO_PAGE_ADDR + 0x218, 4), ==, 0);
    g_assert_cmphex(rd(vm, BOOT_ZERO_PAGE_ADDR + 0x21c, 4), ==, 0);
    g_assert_cmphex(rd(vm, BOOT_ZERO_PAGE_ADDR + 0x228, 4), ==,
                    BOOT_CMDLINE_ADDR);
    g_assert_cmpuint(*gp(vm, BOOT_CMDLINE_ADDR), ==, 0);
    vm_free(vm);
}

/* ---- errors ---- */

enum kind { K_GARBAGE, K_EMPTY, K_ELF, K_BZ };

struct err_case {
    const char *path;
    enum kind kind;
    struct elf_opts elf;
    struct bz_opts bz;
    void (*mangle)(uint8_t *f, size_t *size);
    size_t cmdline_len;
    size_t initrd_size;
    const char *want;           /* substring of the error message */
};

static void phoff_beyond(uint8_t *f, size_t *size) { put(f, 32, 0x2f0, 8); }
static void cut_short(uint8_t *f, size_t *size) { *size = 0x60; }
static void class32(uint8_t *f, size_t *size) { f[4] = 1; }
static void seg_data_beyond(uint8_t *f, size_t *size)
{
    put(f, 0x60, 0x1000, 8);        /* p_filesz past the file end */
    put(f, 0x68, 0x1000, 8);
}
static void note_overrun(uint8_t *f, size_t *size) { put(f, 0xc4, 64, 4); }
static void bad_sects(uint8_t *f, size_t *size) { f[0x1f1] = 200; }

static const struct err_case err_cases[] = {
    { "/loader/errors/unknown-format", K_GARBAGE,
      .want = "not an ELF with a Xen PVH note nor a Linux bzImage" },
    { "/loader/errors/empty", K_EMPTY, .want = "empty (0 bytes)" },
    { "/loader/errors/truncated-elf", K_ELF, .mangle = phoff_beyond,
      .want = "program header table [0x2f0, +0x70) extends beyond the end "
              "of the file (0x300 bytes)" },
    { "/loader/errors/truncated-elf-file", K_ELF, .mangle = cut_short,
      .want = "extends beyond the end of the file (0x60 bytes)" },
    { "/loader/errors/elf-segment-beyond-file", K_ELF,
      .mangle = seg_data_beyond, .want = "ELF program header 0: file data" },
    { "/loader/errors/elf-note-overrun", K_ELF, .mangle = note_overrun,
      .want = "runs past the end of its note area" },
    { "/loader/errors/elf-class32", K_ELF, .mangle = class32,
      .want = "EI_CLASS is not ELFCLASS64" },
    { "/loader/errors/elf-no-pvh-note", K_ELF, .elf.no_note = true,
      .want = "no Xen PVH entry note" },
    { "/loader/errors/segment-outside-ram", K_ELF,
      .elf.paddr = 0xd0000000,
      .want = "segment [0xd0000000, 0xd0003000) is outside guest RAM (RAM "
              "ranges: [0x0, 0x9fc00) [0x100000, 0x4000000))" },
    { "/loader/errors/segment-too-large", K_ELF, .elf.memsz = 0x8000000,
      .want = "the kernel needs 0x8000000 bytes at 0x100000; guest RAM ends "
              "at 0x4000000" },
    { "/loader/errors/segment-over-boot-data", K_ELF, .elf.paddr = 0x8000,
      .want = "overlaps hotmem's boot data [0x500, 0x30000)" },
    { "/loader/errors/pvh-cmdline-too-long", K_ELF, .cmdline_len = 0x10000,
      .want = "command line is 65536 bytes; the limit is 65535" },
    { "/loader/errors/pvh-initrd-too-big", K_ELF, .initrd_size = 63 * MiB,
      .want = "initrd of 0x3f00000 bytes does not fit" },
    { "/loader/errors/bzimage-too-old", K_BZ, .bz.version = 0x020a,
      .want = "boot protocol 2.10 is too old: the 64-bit entry needs "
              "protocol 2.12" },
    { "/loader/errors/bzimage-not-64bit", K_BZ, .bz.xloadflags = 0x2,
      .want = "xloadflags 0x2 lacks XLF_KERNEL_64" },
    { "/loader/errors/bzimage-setup-sects", K_BZ, .mangle = bad_sects,
      .want = "setup_sects 200 puts the protected-mode kernel at 0x19200" },
    { "/loader/errors/bzimage-too-large", K_BZ, .bz.init_size = 0x10000000,
      .want = "kernel needs 0x10f00000 bytes at 0x100000" },
    { "/loader/errors/bzimage-cmdline-size", K_BZ, .bz.cmdline_size = 16,
      .cmdline_len = 17, .want = "command line is 17 bytes; the limit is "
                                 "16 bytes (the smaller of the kernel's "
                                 "cmdline_size" },
    { "/loader/errors/bzimage-initrd-too-big", K_BZ,
      .bz.initrd_addr_max = 0x01ffffff, .initrd_size = 9 * MiB,
      .want = "initrd of 0x900000 bytes does not fit in guest RAM between "
              "0x100000 and 0x2000000 outside the kernel [0x100000, "
              "0x1800000)" },
};

static uint8_t *err_image(const struct err_case *c, size_t *size)
{
    uint8_t *f;

    switch (c->kind) {
    case K_ELF:
        f = elf_build(c->elf, size);
        break;
    case K_BZ:
        f = bz_build(c->bz, size);
        break;
    case K_EMPTY:
        *size = 0;
        return g_malloc0(1);
    default:
        *size = 4096;
        f = g_malloc(*size);
        fill_pattern(f, *size, 0x42);
        return f;
    }
    if (c->mangle)
        c->mangle(f, size);
    return f;
}

static void test_error(gconstpointer data)
{
    const struct err_case *c = data;
    struct vm *vm = vm_new(64 * MiB);
    size_t ksize;
    g_autofree uint8_t *k = err_image(c, &ksize);
    g_autofree uint8_t *initrd = g_malloc0(c->initrd_size + 1);
    g_autofree char *cmdline = g_strnfill(c->cmdline_len, 'a');
    struct boot_entry be = { .rip = 0x1234 };
    GError *err = NULL;

    g_assert_false(load(vm, k, ksize, c->initrd_size ? initrd : NULL,
                        c->initrd_size, cmdline, &be, &err));
    g_assert_error(err, HM_ERROR, HM_ERROR_INVALID);
    if (!strstr(err->message, c->want))
        g_error("%s: message \"%s\" lacks \"%s\"", c->path, err->message,
                c->want);
    g_test_message("%s", err->message);
    /* Nothing was written and the entry state is untouched. */
    g_assert_cmphex(rd(vm, BOOT_START_INFO_ADDR, 4), ==, 0);
    g_assert_cmphex(rd(vm, BOOT_ZERO_PAGE_ADDR + 0x1f1, 8), ==, 0);
    g_assert_cmphex(be.rip, ==, 0x1234);
    g_error_free(err);
    vm_free(vm);
}

static void test_detect(void)
{
    size_t n;
    g_autofree uint8_t *old = bz_build((struct bz_opts){ .version = 0x20b },
                                       &n);
    g_autofree uint8_t *no64 = bz_build((struct bz_opts){ .xloadflags = 2 },
                                        &n);
    g_autofree uint8_t *elf = elf_build((struct elf_opts){ .no_note = 1 },
                                        &n);

    g_assert_cmpint(loader_detect(old, n), ==, BOOT_FORMAT_UNKNOWN);
    g_assert_cmpint(loader_detect(no64, n), ==, BOOT_FORMAT_UNKNOWN);
    g_assert_cmpint(loader_detect(elf, ELF_SIZE), ==, BOOT_FORMAT_UNKNOWN);
    g_assert_cmpint(loader_detect(NULL, 0), ==, BOOT_FORMAT_UNKNOWN);
    g_assert_cmpint(loader_detect((const uint8_t *)"\x7f" "ELF", 4), ==,
                    BOOT_FORMAT_UNKNOWN);
    g_free(elf);
    elf = elf_build((struct elf_opts){ 0 }, &n);
    /* Every truncation of a valid file is rejected, never read past. */
    for (size_t len = 1; len < 0x200; len++) {
        g_autofree uint8_t *cut = g_memdup2(elf, len);

        g_assert_cmpint(loader_detect(cut, len), ==, BOOT_FORMAT_UNKNOWN);
    }
}

int main(int argc, char **argv)
{
    static const struct bz_case bz_small = { 64, 0x7fffffff, 64 * MiB };
    static const struct bz_case bz_big = { 6144, 0x7fffffff, 2 * GiB };
    static const struct bz_case bz_big_4g = { 6144, 0xffffffff, 3 * GiB };

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/loader/detect", test_detect);
    g_test_add_data_func("/loader/pvh/small", GSIZE_TO_POINTER(64),
                         test_pvh);
    g_test_add_data_func("/loader/pvh/multi-gib", GSIZE_TO_POINTER(6144),
                         test_pvh);
    g_test_add_func("/loader/pvh/note-in-section", test_pvh_note_in_section);
    g_test_add_func("/loader/pvh/bss-over-fresh-ram-untouched",
                    test_pvh_bss_untouched);
    g_test_add_func("/loader/pvh/quad-entry", test_pvh_quad_entry);
    g_test_add_data_func("/loader/bzimage/small", &bz_small, test_bzimage);
    g_test_add_data_func("/loader/bzimage/multi-gib", &bz_big, test_bzimage);
    g_test_add_data_func("/loader/bzimage/multi-gib-initrd-max-4g",
                         &bz_big_4g, test_bzimage);
    g_test_add_func("/loader/bzimage/protocol-2.12", test_bzimage_old_rsdp);
    for (size_t i = 0; i < G_N_ELEMENTS(err_cases); i++)
        g_test_add_data_func(err_cases[i].path, &err_cases[i], test_error);
    return g_test_run();
}
