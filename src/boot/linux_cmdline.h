/*
 * The kernel command line hotmem hands to a Linux guest: with DIMM slots,
 * hot-added memory must come online in ZONE_MOVABLE or it can never be
 * removed again, and Debian's kernels leave hot-added memory offline by
 * default. So, unless the user already chose a policy, hotmem appends
 * memhp_default_state=online_movable. The reasons, and what each policy
 * means for hot-remove: docs/linux.md. Pure code, no guest memory.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* What hotmem appends, and the parameter it sets. */
#define LINUX_MEMHP_PARAM       "memhp_default_state"
#define LINUX_MEMHP_DEFAULT     LINUX_MEMHP_PARAM "=online_movable"

/*
 * Longest command line an ELF Linux kernel keeps (x86 COMMAND_LINE_SIZE
 * 2048, with its NUL); a bzImage states its own limit (cmdline_size).
 */
#define LINUX_ELF_CMDLINE_MAX   2047

/*
 * True when the image is Linux: a bzImage (boot signature and "HdrS"), or an
 * ELF with a note named "Linux", a Xen GUEST_OS note saying "linux", or the
 * "Linux version " banner. Never reads outside [image, image + size).
 */
bool linux_image_is_linux(const uint8_t *image, size_t size);

/*
 * True when the command line already decides how hot-added memory comes
 * online: memhp_default_state=... or memory_hotplug.online_policy=... among
 * the kernel's own parameters (not after "--", which go to init). Names
 * compare as the kernel compares them: '-' and '_' are the same.
 */
bool linux_cmdline_chooses_memhp(const char *cmdline);

struct linux_cmdline_policy {
    uint32_t slots;             /* -m slots=; 0: no hot-plug, no change */
    bool memhp_default_off;     /* -machine memhp-default-online=off */
};

/*
 * Sets *out to the command line to boot the image with (g_free it): the
 * user's (NULL = none) with LINUX_MEMHP_DEFAULT inserted before any "--"
 * when the image is Linux, there are slots, the user did not opt out and
 * chose no policy; otherwise a copy of the user's (NULL stays NULL). Fails,
 * naming the ways out, when the result would not fit the kernel's limit or
 * the user's line ends inside quotes. *appended (may be NULL) tells whether
 * anything was added.
 */
bool linux_cmdline_for_image(const uint8_t *image, size_t size,
                             const char *cmdline,
                             const struct linux_cmdline_policy *policy,
                             char **out, bool *appended, GError **err);
