/*
 * Guest memory inspection: guest-physical and guest-virtual ranges saved to
 * a file (QMP pmemsave and memsave, docs/mmu.md), and the vCPU paging
 * registers the guest-virtual walk starts from.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "machine/machine.h"
#include "mmu/pagewalk.h"

/*
 * CR0, CR3, CR4 and EFER of vCPU cpu (KVM_GET_SREGS). A running machine's
 * vCPUs are paused around the read and resumed after it; a paused or
 * not yet started machine is read as it is. Fails with "CPU N is not
 * present" for a bad index.
 */
bool machine_vcpu_paging_regs(struct machine *m, unsigned cpu,
                              struct pagewalk_regs *regs, GError **err);

/*
 * pmemsave: writes guest-physical [addr, addr + size) to filename (created
 * or truncated, mode 0600, opened non-blocking: a FIFO nobody reads is an
 * error at once). The whole range is checked first: when any byte is not
 * backed by a memory slot, or lies in a DIMM being removed, the error names
 * the first such address and the file is not touched. Memory the host
 * cannot provide (a truncated backing file) fails naming its address.
 * Runs on a thread of its own; done is called exactly once on the main
 * context (maybe before this returns) with NULL or an error it owns.
 */
void machine_pmemsave(struct machine *m, uint64_t addr, uint64_t size,
                      const char *filename, machine_done_fn done,
                      void *opaque);

/*
 * memsave: the same for guest-virtual [addr, addr + size) as vCPU cpu sees
 * it, through that vCPU's page tables (read now, on the calling thread).
 * An unmapped page (or one whose guest-physical page is not backed) fails
 * naming its virtual address.
 */
void machine_memsave(struct machine *m, uint64_t addr, uint64_t size,
                     unsigned cpu, const char *filename, machine_done_fn done,
                     void *opaque);

/*
 * Cancels the saves still running (a write waiting for a slow reader stops
 * at once), waits for their threads and completes them with their error.
 * Main thread; machine_destroy() calls it.
 */
void machine_inspect_cancel_all(struct machine *m);
