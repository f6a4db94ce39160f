/*
 * What the Linux tests and bench/linux-hotplug need before they can boot a
 * real kernel: Debian's cloud kernel (get-kernel.sh), a busybox initramfs
 * (mkinitramfs.sh), and the guest ring-0 speed measured by hotmem-guest's
 * ring0-mips command. Scripts are found through $HOTMEM_LINUX_DIR (the
 * source directory tests/linux, set by meson).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

/*
 * Ring-0 speed below which a full Linux boot is not attempted: Linux runs
 * a few billion kernel instructions before its shell, minutes at 500 MIPS
 * would still pass; hardware virtualization gives thousands.
 */
#define LINUX_MIN_RING0_MIPS 500

struct linux_kernel {
    char *vmlinuz;      /* the bzImage */
    char *vmlinux;      /* its payload, an ELF with a PVH note */
    char *package;      /* linux-image-...-cloud-amd64 */
    char *version;      /* Debian version */
};

enum linux_env_status { LINUX_ENV_OK, LINUX_ENV_SKIP, LINUX_ENV_FAIL };

/*
 * Runs get-kernel.sh (which caches). SKIP: the package cannot be had; *why
 * says why (g_free it). FAIL: the script broke; *why has its stderr.
 */
enum linux_env_status linux_kernel_get(struct linux_kernel *k, char **why);
void linux_kernel_clear(struct linux_kernel *k);

/* Runs mkinitramfs.sh: *path is the cached initramfs (cpio.gz). */
enum linux_env_status linux_initramfs_get(char **path, char **why);

/*
 * Boots hotmem-guest ($HOTMEM_BIN) and runs ring0-mips. *mips is the
 * measured speed; *line (may be NULL) the guest's whole report line.
 */
enum linux_env_status linux_ring0_mips(double *mips, char **line,
                                       char **why);

/* The skip message for a host that is too slow, naming the speed. */
char *linux_too_slow_message(double mips);

/*
 * A minimal QMP client for the Linux tests and bench: connects (retrying
 * until the socket exists), reads the greeting and negotiates. Events that
 * arrive while waiting for a reply are kept for linux_qmp_event().
 */
struct linux_qmp;

struct linux_qmp *linux_qmp_open(const char *path, int timeout_ms);
void linux_qmp_close(struct linux_qmp *q);
/* Sends one command (JSON text); returns the reply object (NULL on EOF). */
json_object *linux_qmp_execute(struct linux_qmp *q, const char *json);
/* The oldest event called name (whole message), or NULL after timeout. */
json_object *linux_qmp_event(struct linux_qmp *q, const char *name,
                             int timeout_ms);
