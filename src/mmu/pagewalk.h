/*
 * Guest page-table walker: turns a guest-virtual (linear) address into a
 * guest-physical one the way the CPU does (Intel SDM vol. 3A chapter 4),
 * reading paging-structure entries through a callback. Pure: no KVM, no
 * locks, no state, so tests can walk tables built in a host buffer.
 *
 * Modes (SDM 4.1.1, chosen by CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57):
 * paging off (identity, 32-bit linear addresses), 32-bit paging (4 KiB and,
 * with CR4.PSE, 4 MiB pages), PAE paging (4 KiB, 2 MiB), 4-level and 5-level
 * paging (4 KiB, 2 MiB, 1 GiB). Only the present bit and the page-size bit
 * steer the walk; access rights (R/W, U/S, XD, protection keys) are not
 * checked, since the walk answers "where is this byte", not "may this
 * access happen". The PS bit where the SDM reserves it is reported.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* The control registers that select and root the walk (KVM_GET_SREGS). */
struct pagewalk_regs {
    uint64_t cr0, cr3, cr4, efer;
};

/* Reads len bytes of guest-physical memory at pa; false when not backed. */
typedef bool (*pagewalk_read_fn)(void *opaque, uint64_t pa, void *buf,
                                 size_t len);

#define PAGEWALK_ERROR (pagewalk_error_quark())
GQuark pagewalk_error_quark(void);

enum pagewalk_error_code {
    PAGEWALK_ERROR_NOT_PRESENT,     /* an entry on the way has P = 0 */
    PAGEWALK_ERROR_NON_CANONICAL,   /* 4/5-level: upper bits not a sign
                                       extension */
    PAGEWALK_ERROR_OUT_OF_RANGE,    /* above 4 GiB in a 32-bit mode */
    PAGEWALK_ERROR_RESERVED,        /* PS set where the SDM reserves it */
    PAGEWALK_ERROR_UNREADABLE,      /* a paging structure is not in RAM */
};

enum pagewalk_mode {
    PAGEWALK_MODE_OFF,
    PAGEWALK_MODE_32BIT,
    PAGEWALK_MODE_PAE,
    PAGEWALK_MODE_4LEVEL,
    PAGEWALK_MODE_5LEVEL,
};

enum pagewalk_mode pagewalk_mode(const struct pagewalk_regs *regs);
/* "paging off", "32-bit paging", "PAE paging", "4-level paging", ... */
const char *pagewalk_mode_name(enum pagewalk_mode mode);

/*
 * Translates va. On success *pa is the guest-physical address of va and
 * *page_size the size of the page that maps it (4 KiB with paging off), so
 * [va, next page boundary) maps to [pa, ...) contiguously. On failure the
 * error (PAGEWALK_ERROR) names va, the mode and the entry that stopped the
 * walk.
 */
bool pagewalk_translate(const struct pagewalk_regs *regs,
                        pagewalk_read_fn read_phys, void *opaque,
                        uint64_t va, uint64_t *pa, uint64_t *page_size,
                        GError **err);
