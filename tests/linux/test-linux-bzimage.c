/*
 * The Linux bzImage loaded through the 64-bit boot protocol: its
 * decompressor (arch/x86/boot/compressed) is the first Linux code to read
 * what hotmem wrote. Debian's kernel is built without
 * CONFIG_X86_VERBOSE_BOOTUP, so the decompressor prints only warnings, and
 * only on a serial port it found through "earlyprintk=serial,..." in the
 * command line. Two of its warnings come from reading boot_params (docs/boot.md
 * lists the fields hotmem fills) before it decompresses anything (which
 * takes minutes where guest kernel code is emulated):
 *
 *  - "KASLR disabled: 'nokaslr' on cmdline.": it entered at the 64-bit entry
 *    with boot_params in RSI, followed cmd_line_ptr, parsed earlyprintk and
 *    found nokaslr in the line hotmem wrote.
 *  - "Physical KASLR disabled: no suitable memory region!": choosing a random
 *    place for the kernel, it walks the e820 table and avoids the initrd
 *    (ramdisk_image, ramdisk_size). RAM is sized so that the kernel fits
 *    above the decompressor with room to spare, unless a 48 MiB initrd
 *    takes the end of RAM (hotmem places it as high as possible): then it
 *    finds no place and says so, while the same machine with a 4 KiB initrd
 *    stays silent. So the decompressor saw the initrd where hotmem put it.
 *    The silent case can only be judged over a time window (8 s after the
 *    other VM spoke; both start together).
 *
 * What these runs cannot show: that the decompressed kernel starts; the
 * loader's unit tests (tests/test-loader.c) check every boot_params field.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "linuxenv.h"
#include "vmrunner.h"

#define MIB                 (1ULL << 20)
#define HDR_PREF_ADDRESS    0x258   /* u64, boot protocol 2.10 */
#define HDR_INIT_SIZE       0x260   /* u32 */
#define BIG_INITRD          (48 * MIB)
#define WAIT_MS             120000
#define SILENCE_MS          8000

#define NOKASLR_MSG     "KASLR disabled: 'nokaslr' on cmdline."
#define NOROOM_MSG      "Physical KASLR disabled: no suitable memory region!"
#define EARLY_SERIAL    "console=ttyS0 earlyprintk=serial,ttyS0,115200"

static struct linux_kernel kernel;
static char *skip_reason;
static char *tmpdir;

static bool need_kernel(void)
{
    static bool tried;
    g_autofree char *why = NULL;
    const char *nokvm = vm_kvm_unavailable();

    if (!tried) {
        tried = true;
        if (nokvm) {
            skip_reason = g_strdup(nokvm);
        } else {
            switch (linux_kernel_get(&kernel, &why)) {
            case LINUX_ENV_SKIP:
                skip_reason = g_strdup_printf("no Linux kernel: %s", why);
                break;
            case LINUX_ENV_FAIL:
                g_error("%s", why);
            case LINUX_ENV_OK:
                break;
            }
        }
        tmpdir = g_dir_make_tmp("hotmem-bzimage-XXXXXX", NULL);
    }
    if (skip_reason)
        g_test_skip(skip_reason);
    return !skip_reason;
}

static char *make_initrd(const char *name, gsize size)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    g_autofree char *data = g_malloc0(size);

    g_assert_true(g_file_set_contents(path, data, (gssize)size, NULL));
    return path;
}

static struct vm *start(const char *ram, const char *initrd,
                        const char *append)
{
    const char *args[] = { "-m", ram, "-kernel", kernel.vmlinuz,
                           "-initrd", initrd, "-append", append, NULL };

    return vm_spawn(args);
}

static void expect_message(struct vm *vm, const char *msg, const char *what)
{
    g_autofree char *line = vm_wait_line(vm, msg, WAIT_MS);

    if (!line)
        g_error("%s: the decompressor did not print \"%s\" within %d s; "
                "console:\n%s\nstderr:\n%s", what, msg, WAIT_MS / 1000,
                vm_console(vm), vm_stderr(vm));
}

static void stop(struct vm *vm)
{
    vm_signal(vm, SIGTERM);
    vm_wait_exit(vm, 10000);
    vm_free(vm);
}

static void test_cmdline(void)
{
    g_autofree char *initrd = NULL;
    struct vm *vm;

    if (!need_kernel())
        return;
    initrd = make_initrd("small.img", 4096);
    vm = start("256M", initrd, EARLY_SERIAL " nokaslr");
    expect_message(vm, NOKASLR_MSG, "nokaslr");
    stop(vm);
}

/* Little-endian header fields of the bzImage. */
static uint64_t header_field(const char *path, unsigned off, unsigned len)
{
    g_autofree char *data = NULL;
    gsize size;
    uint64_t v = 0;

    g_assert_true(g_file_get_contents(path, &data, &size, NULL));
    g_assert_cmpuint(size, >, off + len);
    for (unsigned i = 0; i < len; i++)
        v |= (uint64_t)(uint8_t)data[off + i] << (8 * i);
    return v;
}

static void test_initrd(void)
{
    g_autofree char *small = NULL, *big = NULL, *ram = NULL;
    g_autofree char *silent = NULL;
    uint64_t pref, init_size, zo_end;
    struct vm *blocked, *free_vm;

    if (!need_kernel())
        return;
    /*
     * The decompressor runs from [pref_address, + init_size) and KASLR needs
     * a free range of at most init_size (plus alignment) above it: leave
     * init_size + 24 MiB, which the big initrd cuts to init_size - 24 MiB.
     */
    pref = header_field(kernel.vmlinuz, HDR_PREF_ADDRESS, 8);
    init_size = header_field(kernel.vmlinuz, HDR_INIT_SIZE, 4);
    zo_end = (pref + init_size + 8 * MIB - 1) & ~(8 * MIB - 1);
    ram = g_strdup_printf("%lluM", (unsigned long long)
                          ((zo_end + init_size + 24 * MIB) / MIB + 1));
    g_test_message("init_size %#llx: -m %s", (unsigned long long)init_size,
                   ram);
    small = make_initrd("small.img", 4096);
    big = make_initrd("big.img", BIG_INITRD);
    blocked = start(ram, big, EARLY_SERIAL);
    free_vm = start(ram, small, EARLY_SERIAL);
    expect_message(blocked, NOROOM_MSG, "48 MiB initrd");
    silent = vm_wait_line(free_vm, NOROOM_MSG, SILENCE_MS);
    if (silent)
        g_error("-m %s with a 4 KiB initrd: the decompressor found no room "
                "for the kernel; console:\n%s", ram, vm_console(free_vm));
    stop(blocked);
    stop(free_vm);
}

int main(int argc, char **argv)
{
    int status;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/linux/bzimage/cmdline-earlyprintk-nokaslr",
                    test_cmdline);
    g_test_add_func("/linux/bzimage/initrd", test_initrd);
    status = g_test_run();
    if (tmpdir) {
        g_autofree char *a = g_build_filename(tmpdir, "small.img", NULL);
        g_autofree char *b = g_build_filename(tmpdir, "big.img", NULL);

        g_unlink(a);
        g_unlink(b);
        g_rmdir(tmpdir);
    }
    linux_kernel_clear(&kernel);
    g_free(skip_reason);
    return status;
}
